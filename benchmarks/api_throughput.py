"""API read throughput and tail latency on the embedded default (a SQLite file).

What a user of a fresh ``interdict serve`` gets: the demo scenario in a SQLite file, a
targeter's API token, and dashboards or integrations polling the alert queue. The server
runs in its own process exactly as ``serve`` runs it; the load comes from another process
(wrk, else httpx) over keep-alive connections to 127.0.0.1.

The baseline is a bare FastAPI app served and loaded the same way in the same run: the
ceiling a team would start from if they wrote their own, so the gap between the two is the
cost of what Interdict does per request.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from benchmarks import _serve
from benchmarks.figures import Baseline, Better, Figure
from benchmarks.http_load import Job, LoadGenerator, LoadResult, choose_generator
from interdict.auth import service as auth
from interdict.auth.models import User
from interdict.auth.roles import Role
from interdict.auth.schemas import TokenCreate
from interdict.config import get_settings
from interdict.db import migrate
from interdict.db.engine import make_database
from interdict.db.session import unit_of_work
from interdict.demo import scenario

NAME = "api_throughput"

USER = "targeter@nl-customs"
LIST_PATH = "/api/v1/alerts?limit=20"
SUMMARY_PATH = "/api/v1/alerts/summary"
CONCURRENCY = 16
WARMUP_CONCURRENCY = 2

#: The product's published targets for API reads on the embedded database.
TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0

BASELINE_NAME = "bare FastAPI, one sync GET returning a constant list, same server and load"


@dataclass(frozen=True)
class Limits:
    """How long to load; whichever of requests or seconds is reached first ends a run."""

    max_requests: int
    max_seconds: float
    warmup_requests: int
    warmup_seconds: float


FULL = Limits(max_requests=20_000, max_seconds=30, warmup_requests=1_000, warmup_seconds=3)
QUICK = Limits(max_requests=2_000, max_seconds=10, warmup_requests=200, warmup_seconds=1)


def _log(message: str) -> None:
    print(f"[{NAME}] {message}", file=sys.stderr, flush=True)


def prepare_database(data_dir: Path) -> str:
    """Migrate a new SQLite database, load the demo and return a targeter's API token."""
    settings = get_settings(data_dir=data_dir, mode="development", database_url=None)
    db = make_database(settings.effective_database_url)
    try:
        migrate.upgrade(db)
        with unit_of_work(db) as session:
            scenario.load(session, settings=settings)
        with unit_of_work(db) as session:
            user = session.scalar(select(User).where(User.username == USER))
            if user is None:
                raise RuntimeError(f"the demo has no user {USER}")
            secret, _token = auth.create_token(
                session, actor=auth.system_actor(user.agency), user=user,
                data=TokenCreate(name="benchmark", role=Role.targeter, expires_in_days=None))
    finally:
        db.dispose()  # the server opens its own connections; none may stay open here
    return secret


def _check(url: str, headers: dict[str, str]) -> None:
    """Refuse to measure an endpoint that does not answer 200: errors are fast."""
    response = httpx.get(url, headers=headers, timeout=10.0)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    if isinstance(body, dict) and "items" in body and not body["items"]:
        raise RuntimeError(f"GET {url} returned no items; the demo did not load")


def _measure(generator: LoadGenerator, path: str, headers: dict[str, str], limits: Limits,
             workdir: Path, data_dir: Path | None) -> LoadResult:
    """Serve a fresh server, check the endpoint, warm it up, then load it.

    Each endpoint gets a server of its own so a stall in one measurement (a server that
    is still stuck when its load ends) cannot leak into the next. The warm-up uses few
    connections: it is there to import lazily loaded code and open database connections,
    and a cold-start pile-up is not what the steady-state figures are about.
    """
    log = workdir / f"server{re.sub(r'[^a-z0-9]+', '-', path.split('?')[0])}.log"
    ready = _serve.BASELINE_PATH if data_dir is None else "/healthz"
    with _serve.served(log=log, data_dir=data_dir, ready_path=ready) as base:
        url = base + path
        _check(url, headers)
        generator.run(Job(url=url, headers=headers, concurrency=WARMUP_CONCURRENCY,
                          max_requests=limits.warmup_requests,
                          max_seconds=limits.warmup_seconds), workdir)
        result = generator.run(Job(url=url, headers=headers, concurrency=CONCURRENCY,
                                   max_requests=limits.max_requests,
                                   max_seconds=limits.max_seconds), workdir)
    _log(f"{path}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
         f"p99 {result.p99_ms:.1f} ms, {result.errors} errors, {result.responses} responses "
         f"in {result.seconds:.1f} s")
    return result


def _figures(prefix: str, endpoint: str, result: LoadResult, baseline: LoadResult,
             generator: str, *, targets: bool) -> list[Figure]:
    params = {"endpoint": endpoint, "concurrency": CONCURRENCY,
              "responses": result.responses, "seconds": round(result.seconds, 2),
              "request_timeout_s": Job.timeout_seconds,
              "database": "sqlite file (embedded default)", "server": "uvicorn, 1 process"}

    def figure(name: str, value: float, unit: str, better: Better, base: float | None,
               target: float | None) -> Figure:
        return Figure(benchmark=NAME, figure=f"{prefix}_{name}", value=round(value, 2),
                      unit=unit, better=better,
                      baseline=None if base is None else Baseline(BASELINE_NAME, round(base, 2)),
                      target=target if targets else None, generator=generator,
                      params=params)

    return [
        figure("rps", result.rps, "req/s", "higher", baseline.rps, TARGET_RPS),
        figure("p50_ms", result.p50_ms, "ms", "lower", baseline.p50_ms, None),
        figure("p99_ms", result.p99_ms, "ms", "lower", baseline.p99_ms, TARGET_P99_MS),
        figure("errors", result.errors, "count", "lower", None, 0),
    ]


def run(*, quick: bool) -> list[Figure]:
    """Measure the baseline, then the alert list and the dashboard summary endpoints."""
    limits = QUICK if quick else FULL
    generator = choose_generator()
    _log(f"load generator: {generator.name}; {limits}")
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        _log("migrating and loading the demo into a new SQLite database")
        bearer = {"Authorization": f"Bearer {prepare_database(data_dir)}"}
        baseline = _measure(generator, _serve.BASELINE_PATH, {}, limits, workdir, None)
        listed = _measure(generator, LIST_PATH, bearer, limits, workdir, data_dir)
        summary = _measure(generator, SUMMARY_PATH, bearer, limits, workdir, data_dir)

    return (_figures("alerts_list", f"GET {LIST_PATH}", listed, baseline, generator.name,
                     targets=True)
            + _figures("alerts_summary", f"GET {SUMMARY_PATH}", summary, baseline,
                       generator.name, targets=False))
