"""Publish alerts to a NATS JetStream subject, from the alerts table as an outbox.

The alerts table is the source of truth. A cursor row records the last alert published, so a
restart resumes where it stopped; each message carries ``Nats-Msg-Id: <alert id>`` so JetStream
drops a duplicate if the process died between publishing and moving the cursor.

Subjects: ``<prefix>.<agency code>.<source module>``, e.g.
``interdict.alerts.NL-CUSTOMS.targeting``, so a subscriber can take one agency's or one
module's alerts.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

import structlog
from sqlalchemy import select

from interdict.alerts.models import Alert, StreamCursor
from interdict.alerts.schemas import AlertRead
from interdict.auth.models import Agency
from interdict.db.base import utcnow
from interdict.db.engine import Database
from interdict.db.session import unit_of_work

log = structlog.get_logger(__name__)


class JetStreamPublisher:
    def __init__(self, db: Database, *, url: str, subject_prefix: str,
                 stream_name: str | None = None, poll_seconds: float = 1.0,
                 batch: int = 500) -> None:
        self.db = db
        self.url = url
        self.prefix = subject_prefix
        # One stream per subject prefix, so two installations on one NATS server stay apart.
        self.stream_name = stream_name or re.sub(r"[^A-Za-z0-9_-]", "_", subject_prefix).upper()
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.cursor_name = f"nats:{subject_prefix}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass ------------------------------------------------------------------------------

    def _pending(self) -> list[tuple[str, dict[str, Any]]]:
        with unit_of_work(self.db, readonly=True) as session:
            cursor = session.get(StreamCursor, self.cursor_name)
            after = cursor.last_alert_id if cursor else 0
            rows = session.execute(
                select(Alert, Agency.code).join(Agency, Agency.id == Alert.agency_id)
                .where(Alert.id > after).order_by(Alert.id).limit(self.batch)).all()
            return [(code, AlertRead.model_validate(a).model_dump(mode="json"))
                           for a, code in rows]

    def _advance(self, last_id: int) -> None:
        with unit_of_work(self.db) as session:
            cursor = session.get(StreamCursor, self.cursor_name)
            if cursor is None:
                session.add(StreamCursor(name=self.cursor_name, last_alert_id=last_id))
            elif last_id > cursor.last_alert_id:
                cursor.last_alert_id, cursor.updated_at = last_id, utcnow()

    async def ensure_stream(self, js: Any) -> None:
        from nats.js.errors import NotFoundError

        try:
            await js.stream_info(self.stream_name)
        except NotFoundError:
            await js.add_stream(name=self.stream_name, subjects=[f"{self.prefix}.>"])

    async def publish_pending(self, js: Any) -> int:
        """Publish every alert after the cursor; returns how many were published."""
        total = 0
        while True:
            items = self._pending()
            if not items:
                return total
            for agency_code, alert in items:
                subject = f"{self.prefix}.{agency_code}.{alert['source']}"
                await js.publish(subject, json.dumps(alert).encode(),
                                 headers={"Nats-Msg-Id": str(alert["id"])})
            self._advance(items[-1][1]["id"])
            total += len(items)

    # --- background thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name="interdict-jetstream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _main(self) -> None:
        import nats

        while not self._stop.is_set():
            try:
                nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=-1)
                try:
                    js = nc.jetstream()
                    await self.ensure_stream(js)
                    while not self._stop.is_set():
                        await self.publish_pending(js)
                        await asyncio.sleep(self.poll_seconds)
                finally:
                    await nc.close()
            except Exception as exc:  # keep trying; the cursor keeps our place
                log.warning("jetstream.error", error=str(exc), url=self.url)
                await asyncio.sleep(min(5.0, self.poll_seconds * 5))
