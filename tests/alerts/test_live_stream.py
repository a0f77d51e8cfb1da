"""Server-Sent Events from a real server: new alerts arrive, other agencies' do not."""

from __future__ import annotations

import json
import threading
import time

import httpx


def _read_events(url: str, headers: dict[str, str], wanted: int, out: list[dict],
                 ready: threading.Event, timeout: float = 15) -> None:
    try:
        _read(url, headers, wanted, out, ready, timeout)
    except httpx.ReadTimeout:
        return  # a quiet stream: nothing arrived in time, which some tests expect


def _read(url: str, headers: dict[str, str], wanted: int, out: list[dict],
          ready: threading.Event, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=timeout) as c, c.stream("GET", url, headers=headers) as r:
        event: dict[str, str] = {}
        for line in r.iter_lines():
            if line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = event.get("data", "") + line[6:]
            elif line.startswith("id: "):
                event["id"] = line[4:]
            elif line == "" and event:
                if event.get("event") == "ready":
                    ready.set()
                else:
                    out.append(event)
                event = {}
                if len(out) >= wanted or time.monotonic() > deadline:
                    return


def test_sse_pushes_new_alerts_to_their_agency_only(live_server, world):
    a = world.headers("analyst@a")
    b = world.headers("analyst@b")
    got_a: list[dict] = []
    got_b: list[dict] = []
    ready_a, ready_b = threading.Event(), threading.Event()
    ta = threading.Thread(target=_read_events, args=(
        f"{live_server.url}/api/v1/alerts/stream", a, 2, got_a, ready_a))
    tb = threading.Thread(target=_read_events, args=(
        f"{live_server.url}/api/v1/alerts/stream", b, 1, got_b, ready_b, 4))
    ta.start()
    tb.start()
    assert ready_a.wait(10) and ready_b.wait(10)
    for title in ("first live alert", "second live alert"):
        r = httpx.post(f"{live_server.url}/api/v1/alerts", headers=a, json={
            "source": "targeting", "kind": "k", "title": title, "severity": "high"})
        assert r.status_code == 201
    ta.join(20)
    tb.join(20)
    assert [json.loads(e["data"])["title"] for e in got_a] == ["first live alert",
                                                               "second live alert"]
    assert got_a[1]["id"] == str(json.loads(got_a[1]["data"])["id"])
    assert got_b == []


def test_sse_resumes_after_last_event_id(live_server, world):
    a = world.headers("analyst@a")
    ids = [httpx.post(f"{live_server.url}/api/v1/alerts", headers=a, json={
        "source": "targeting", "kind": "k", "title": f"alert {i}", "severity": "low"}).json()["id"]
        for i in range(3)]
    got: list[dict] = []
    ready = threading.Event()
    _read_events(f"{live_server.url}/api/v1/alerts/stream",
                 {**a, "Last-Event-ID": str(ids[0])}, 2, got, ready)
    assert [int(e["id"]) for e in got] == ids[1:]
