"""A burst of concurrent requests larger than the connection pool completes without errors.

Regression test: a request once held two pooled connections (actor look-up inside its own unit
of work), so enough concurrent requests could exhaust the pool waiting on themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx


def test_burst_beyond_pool_size(live_server, world):
    headers = world.headers("analyst@a")
    httpx.post(f"{live_server.url}/api/v1/alerts", headers=headers, json={
        "source": "targeting", "kind": "k", "title": "t", "severity": "low"})
    pool_limit = 20 + 30  # pool_size + max_overflow of the SQLite engine
    n = pool_limit + 30

    def one(_: int) -> int:
        with httpx.Client(timeout=20) as c:
            return c.get(f"{live_server.url}/api/v1/alerts", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(one, range(n * 2)))
    assert statuses.count(200) == len(statuses), statuses
