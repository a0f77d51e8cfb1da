"""HMAC-signed webhook delivery with stored state, retries and exponential backoff.

Delivery rows are written in the transaction that raises the alert; a worker sends due rows
and records each attempt. A subscriber that is down is retried with doubling delays; after a
restart the worker resumes from the stored rows, so no alert is lost. Delivery is at least
once: subscribers de-duplicate on the ``X-Interdict-Delivery`` header.

Signature: ``X-Interdict-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the
subscription's secret, and ``X-Interdict-Timestamp`` so a receiver can refuse stale replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.alerts.models import WebhookDelivery, WebhookSubscription
from interdict.alerts.schemas import SEVERITY_RANK, AlertRead, Severity
from interdict.db.base import utcnow
from interdict.db.engine import Database
from interdict.db.session import unit_of_work

log = structlog.get_logger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time check of a delivery's signature."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def enqueue(session: Session, *, agency_id: int, event: str, alert: AlertRead,
            agency_code: str) -> int:
    subs = session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.agency_id == agency_id, WebhookSubscription.active.is_(True)))
    payload = {"event": event, "agency": agency_code, "alert": alert.model_dump(mode="json")}
    n = 0
    for sub in subs:
        if SEVERITY_RANK[Severity(alert.severity)] < SEVERITY_RANK[Severity(sub.min_severity)]:
            continue
        if sub.sources and alert.source not in sub.sources:
            continue
        session.add(WebhookDelivery(subscription_id=sub.id, alert_id=alert.id, event=event,
                                    payload=payload))
        n += 1
    return n


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def deliver_due(db: Database, *, client: httpx.Client, max_attempts: int,
                backoff_seconds: float, batch: int = 50) -> DeliveryReport:
    """Send every delivery that is due; record success, or schedule the next try."""
    report = DeliveryReport()
    with unit_of_work(db, readonly=True) as session:
        due = [(d.id, d.payload, d.attempts, s.url, s.secret, s.active) for d, s in session.execute(
            select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.status == "pending",
                   WebhookDelivery.next_attempt_at <= utcnow())
            .order_by(WebhookDelivery.id).limit(batch))]
    for delivery_id, payload, attempts, url, secret, active in due:
        if not active:  # the subscription was deactivated after the alert was queued
            with unit_of_work(db) as session:
                row = session.get(WebhookDelivery, delivery_id)
                if row is not None and row.status == "pending":
                    row.status, row.last_error = "cancelled", "subscription deactivated"
            continue
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        error = ""
        try:
            resp = client.post(url, content=body, headers={
                "Content-Type": "application/json",
                "User-Agent": "Interdict-Webhooks/1",
                "X-Interdict-Delivery": str(delivery_id),
                "X-Interdict-Event": str(payload.get("event", "")),
                "X-Interdict-Timestamp": timestamp,
                "X-Interdict-Signature": sign(secret, timestamp, body),
            })
            if resp.status_code >= 300:
                error = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with unit_of_work(db) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None or row.status != "pending":
                continue
            row.attempts = attempts + 1
            if not error:
                row.status, row.delivered_at, row.last_error = "delivered", utcnow(), ""
                report.delivered += 1
            elif row.attempts >= max_attempts:
                row.status, row.last_error = "dead", error
                report.dead += 1
                log.warning("webhook.dead", delivery=delivery_id, url=url, error=error)
            else:
                delay = backoff_seconds * (2 ** (row.attempts - 1))
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
                row.last_error = error
                report.failed += 1
                log.info("webhook.retry", delivery=delivery_id, url=url, error=error,
                         in_seconds=delay)
    return report


def retry_dead(session: Session, *, agency_id: int) -> int:
    """Put dead deliveries back in the queue (after a subscriber's long outage)."""
    rows = session.scalars(select(WebhookDelivery).join(WebhookSubscription).where(
        WebhookSubscription.agency_id == agency_id, WebhookDelivery.status == "dead"))
    n = 0
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
        n += 1
    return n


class DeliveryWorker:
    """A background thread that runs :func:`deliver_due` every ``poll_seconds``."""

    def __init__(self, db: Database, *, poll_seconds: float, timeout_seconds: float,
                 max_attempts: int, backoff_seconds: float) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.timeout = timeout_seconds
        self.max_attempts = max_attempts
        self.backoff = backoff_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="interdict-webhooks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    deliver_due(self.db, client=client, max_attempts=self.max_attempts,
                                backoff_seconds=self.backoff)
                except Exception as exc:  # keep the worker alive; state is in the database
                    log.exception("webhook.worker_error", error=str(exc))
                self._stop.wait(self.poll_seconds)
