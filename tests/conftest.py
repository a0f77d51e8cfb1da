"""Fixtures for every test suite.

Strategy (read before adding fixtures):
- The database is SQLite unless ``INTERDICT_TEST_DATABASE_URL`` names a PostgreSQL database;
  ``scripts/run-tests`` runs the whole suite once each way. Tests never choose a dialect
  themselves; the few that need one use the ``dialect`` fixture to branch assertions only.
- SQLite: migrations run once into a template file; each test gets a fresh copy.
  PostgreSQL: the test database is dropped and recreated once per run, migrated, and every table
  is emptied after each test.
- ``app``/``client`` build the real application with ``create_app(settings)``; the client talks
  HTTPS to the test server so that Secure cookies behave as in production. Every response the
  client sees is checked: a 5xx fails the test that caused it.
- ``world`` creates two agencies (A and B) with users per role, and logs in helpers.
- Browser tests use ``live_server`` (uvicorn on 127.0.0.1 in a thread) and Debian's Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

import interdict.domains  # noqa: F401
from interdict.all_models import metadata
from interdict.api.app import create_app
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.models import Agency, User
from interdict.auth.roles import Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, TokenCreate, UserCreate
from interdict.config import Mode, Settings
from interdict.db import migrate
from interdict.db.dialect import truncate_all
from interdict.db.engine import Database, make_database
from interdict.db.session import unit_of_work

PASSWORD = "correct-horse-battery"
PG_URL = os.environ.get("INTERDICT_TEST_DATABASE_URL") or ""


def _recreate_pg_database(url: str) -> None:
    u = make_url(url)
    with psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432,
                         user=u.username or "postgres", password=u.password, dbname="postgres",
                         autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite template file, or the PostgreSQL test database."""
    if PG_URL:
        _recreate_pg_database(PG_URL)
        db = make_database(PG_URL)
        migrate.upgrade(db)
        db.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = make_database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        yield PG_URL
        db = make_database(PG_URL)
        with unit_of_work(db) as session:
            truncate_all(session, [t.name for t in metadata.sorted_tables])
        db.dispose()
    else:
        target = tmp_path / "interdict.sqlite3"
        shutil.copy(database_template, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def dialect(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(mode=Mode.test, database_url=database_url, data_dir=tmp_path,
                    webhook_poll_seconds=0.05, webhook_backoff_seconds=0.05,
                    sse_poll_seconds=0.2,
                    # Cheap hashes keep fixtures fast; production cost is tested separately.
                    password_time_cost=1, password_memory_kib=8192, password_parallelism=1)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = make_database(settings.effective_database_url)
    yield database
    database.dispose()


def _no_server_errors(response: httpx.Response) -> None:
    if response.status_code >= 500:
        response.read()
        raise AssertionError(f"{response.request.method} {response.request.url} answered "
                             f"{response.status_code}: {response.text[:500]}")


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings, start_workers=False)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        c.event_hooks = {"request": [], "response": [_no_server_errors]}
        yield c


@dataclass
class World:
    """Two agencies with users per role; helpers to get tokens and browser logins."""

    db: Database
    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        with unit_of_work(self.db, readonly=True) as session:
            user = session.get(User, self.users[username].id)
            assert user is not None
            return auth.actor_for_user(user)

    def token(self, username: str, role: Role | str | None = None) -> str:
        with unit_of_work(self.db) as session:
            user = session.get(User, self.users[username].id)
            assert user is not None
            chosen = Role(role) if role else Role(user.roles[0])
            secret, _ = auth.create_token(session, actor=auth.actor_for_user(user), user=user,
                                          data=TokenCreate(name="test", role=chosen))
        return secret

    def headers(self, username: str, role: Role | str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username, role)}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the web form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token.group(1), "next": "/"},
                       follow_redirects=False)
    assert resp.status_code == 303, resp.text
    home = client.get("/profile")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf
    return csrf.group(1)


WORLD_USERS = [
    ("admin@a", "A", [Role.admin]),
    ("supervisor@a", "A", [Role.supervisor]),
    ("analyst@a", "A", [Role.analyst]),
    ("targeter@a", "A", [Role.targeter]),
    ("operator@a", "A", [Role.operator]),
    ("officer@a", "A", [Role.precursor_officer]),
    ("officer@b", "B", [Role.precursor_officer]),
    ("lab@a", "A", [Role.lab]),
    ("multi@a", "A", [Role.analyst, Role.supervisor]),
    ("analyst@b", "B", [Role.analyst]),
    ("supervisor@b", "B", [Role.supervisor]),
]


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    settings.apply_password_cost()
    w = World(db=db)
    with unit_of_work(db) as session:
        for code, name, country, kind in [("A", "Agency A customs", "NL", AgencyKind.customs),
                                          ("B", "Agency B police", "BE", AgencyKind.police)]:
            w.agencies[code] = auth.create_agency(session, data=AgencyCreate(
                code=f"AG-{code}", name=name, country=country, kind=kind))
        for username, code, roles in WORLD_USERS:
            w.users[username] = auth.create_user(
                session, agency=w.agencies[code],
                data=UserCreate(username=username, full_name=username.title(),
                                password=PASSWORD, roles=roles))
    return w


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn on a loopback port, in a thread, with its workers running.

    Cookies stay Secure: Chromium treats http://127.0.0.1 as a secure context.
    """
    import threading
    import time

    import uvicorn

    port = _free_port()
    app = create_app(settings, start_workers=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings)
    server.should_exit = True
    thread.join(timeout=15)


# Browser fixtures (Playwright + Debian's Chromium), shared by every package's browser tests.
from tests.browser_fixtures import browser, page  # noqa: E402, F401
