"""Webhooks against a real HTTP receiver on loopback: signature, retries, restart."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from sqlalchemy import select

from interdict.alerts import service, webhooks
from interdict.alerts.models import WebhookDelivery
from interdict.alerts.schemas import AlertCreate, WebhookCreate
from interdict.db.engine import make_database
from interdict.db.session import unit_of_work
from tests.conftest import _free_port

SECRET = "receiver-shared-secret"


class Receiver:
    """A subscriber that answers 503 to the first ``fail_first`` deliveries."""

    def __init__(self, fail_first: int = 0, port: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[dict] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _subscribe_and_raise(world, db, url: str) -> int:
    sup = world.actor("supervisor@a")
    with unit_of_work(db) as s:
        service.create_webhook(s, actor=sup, data=WebhookCreate(url=url, secret=SECRET))
        alert = service.raise_alert(s, actor=sup, data=AlertCreate(
            source="targeting", kind="k", title="Container via TR", severity="high"))
    return alert.id


def _deliver(db, **kw) -> webhooks.DeliveryReport:
    with httpx.Client(timeout=2) as client:
        return webhooks.deliver_due(db, client=client, max_attempts=kw.get("max_attempts", 5),
                                    backoff_seconds=kw.get("backoff", 0.01))


def test_signed_delivery(world, db):
    with Receiver() as rx:
        alert_id = _subscribe_and_raise(world, db, rx.url)
        report = _deliver(db)
        assert report.delivered == 1
        got = rx.received[0]
        body = got["body"]
        assert json.loads(body)["alert"]["id"] == alert_id
        assert json.loads(body)["event"] == "alert.created"
        assert webhooks.verify_signature(SECRET, got["headers"]["X-Interdict-Timestamp"], body,
                                         got["headers"]["X-Interdict-Signature"])
        assert not webhooks.verify_signature("wrong-secret",
                                             got["headers"]["X-Interdict-Timestamp"], body,
                                             got["headers"]["X-Interdict-Signature"])
        assert _deliver(db).delivered == 0  # delivered once, not again


def test_retries_with_backoff_until_the_subscriber_recovers(world, db):
    with Receiver(fail_first=2) as rx:
        _subscribe_and_raise(world, db, rx.url)
        assert _deliver(db, backoff=0.2).failed == 1
        # Not due yet: the backoff holds the next attempt back.
        assert _deliver(db, backoff=0.2).failed == 0 and rx.attempts == 1
        time.sleep(0.25)
        assert _deliver(db, backoff=0.2).failed == 1
        time.sleep(0.45)  # the second delay doubles
        assert _deliver(db, backoff=0.2).delivered == 1
        with unit_of_work(db, readonly=True) as s:
            row = s.scalar(select(WebhookDelivery))
            assert row.status == "delivered" and row.attempts == 3


def test_delivery_survives_a_restart_while_subscriber_down(world, db, settings):
    port = _free_port()  # nothing listens here yet: the subscriber is down
    _subscribe_and_raise(world, db, f"http://127.0.0.1:{port}/hook")
    assert _deliver(db).failed == 1
    db.dispose()  # "restart": a new engine and worker; nothing in memory survives
    restarted = make_database(settings.effective_database_url)
    worker = webhooks.DeliveryWorker(restarted, poll_seconds=0.05, timeout_seconds=2,
                                     max_attempts=5, backoff_seconds=0.01)
    try:
        with Receiver(port=port) as rx:
            worker.start()
            deadline = time.monotonic() + 10
            while not rx.received and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(rx.received) == 1
    finally:
        worker.stop()
        restarted.dispose()


def test_dead_after_max_attempts_and_retry(world, db):
    with Receiver(fail_first=100) as rx:
        _subscribe_and_raise(world, db, rx.url)
        for _ in range(3):
            _deliver(db, max_attempts=3, backoff=0.0)
        with unit_of_work(db, readonly=True) as s:
            row = s.scalar(select(WebhookDelivery))
            assert row.status == "dead" and "503" in row.last_error
        with unit_of_work(db) as s:
            assert webhooks.retry_dead(s, agency_id=world.agencies["A"].id) == 1
        rx.fail_first = 0
        assert _deliver(db).delivered == 1
