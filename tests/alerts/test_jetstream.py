"""Alerts published to the real NATS JetStream server on 127.0.0.1:4222."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pytest

from interdict.alerts import service
from interdict.alerts.jetstream import JetStreamPublisher
from interdict.alerts.schemas import AlertCreate
from interdict.db.engine import make_database
from interdict.db.session import unit_of_work

NATS_URL = "nats://127.0.0.1:4222"


def _raise(world, db, username: str, title: str) -> int:
    with unit_of_work(db) as s:
        return service.raise_alert(s, actor=world.actor(username), data=AlertCreate(
            source="targeting", kind="k", title=title, severity="high")).id


async def _publish_and_read(publisher: JetStreamPublisher, subject: str) -> tuple[int, list]:
    nc = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        js = nc.jetstream()
        await publisher.ensure_stream(js)
        published = await publisher.publish_pending(js)
        sub = await js.pull_subscribe(subject, durable=None)
        try:
            msgs = await sub.fetch(10, timeout=2)
        except nats.errors.TimeoutError:
            msgs = []
        return published, [(m.subject, json.loads(m.data)) for m in msgs]
    finally:
        await nc.close()


async def _delete_stream(name: str) -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


@pytest.fixture
def stream_names():
    token = uuid.uuid4().hex[:10]
    names = (f"TEST_{token}", f"interdict_test_{token}.alerts")
    yield names
    asyncio.run(_delete_stream(names[0]))


def test_alerts_reach_jetstream_once_across_restarts(world, db, settings, stream_names):
    stream, prefix = stream_names
    first = _raise(world, db, "analyst@a", "to the stream")
    _raise(world, db, "analyst@b", "agency B alert")
    publisher = JetStreamPublisher(db, url=NATS_URL, subject_prefix=prefix, stream_name=stream)
    published, msgs = asyncio.run(_publish_and_read(publisher, f"{prefix}.AG-A.>"))
    assert published == 2
    assert [(s, m["id"], m["title"]) for s, m in msgs] == [
        (f"{prefix}.AG-A.targeting", first, "to the stream")]
    # A restarted publisher (new engine) resumes after the cursor: nothing is sent twice.
    restarted = make_database(settings.effective_database_url)
    try:
        again = JetStreamPublisher(restarted, url=NATS_URL, subject_prefix=prefix,
                                   stream_name=stream)
        third = _raise(world, db, "analyst@a", "after restart")
        published, msgs = asyncio.run(_publish_and_read(again, f"{prefix}.>"))
        assert published == 1
        ids = [m["id"] for _s, m in msgs]
        assert len(ids) == 3 and ids == sorted(set(ids)) and ids[0] == first and ids[-1] == third
        assert sorted(m["title"] for _s, m in msgs) == ["after restart", "agency B alert",
                                                       "to the stream"]
    finally:
        restarted.dispose()
