"""Engine construction: the one place that knows how each database must be configured."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from interdict.errors import ConfigurationError

log = logging.getLogger(__name__)


@dataclass
class Database:
    """An engine and its session factory, owned by the app or CLI context that made it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


WAL_AUTOCHECKPOINT_PAGES = 20_000


class WalCheckpointer:
    """Checkpoint a SQLite WAL every few seconds from a thread of its own.

    PASSIVE mode copies what it can without waiting for readers or writers, so requests never
    wait on it; the WAL file is reused from its start once a checkpoint caught up.
    """

    def __init__(self, db: Database, every_seconds: float = 2.0) -> None:
        self.db = db
        self.every = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def checkpoint(self) -> None:
        raw = self.db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - a missed checkpoint is retried next round
                log.warning("wal checkpoint failed", exc_info=True)

    def start(self) -> None:
        if self.db.dialect != "sqlite" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        # 64 MiB of page cache per connection (default 2 MiB): bulk imports update several
        # B-trees at random places, and with the default cache most of that work is I/O.
        cur.execute("PRAGMA cache_size=-65536")
        # SQLite checkpoints the WAL inside whichever commit crosses the threshold (1,000
        # pages by default): one request in thirty paid several milliseconds for it. A server
        # checkpoints in the background (WalCheckpointer); this larger threshold is the
        # safety net for processes without one (CLI imports).
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
        # read first and writes later fails with SQLITE_BUSY when another writer committed in
        # between, instead of waiting. Read-only units keep plain BEGIN so readers never queue.
        if conn.get_execution_options().get("interdict_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_database(url: str, *, echo: bool = False) -> Database:
    """Create the engine for ``url`` with the settings Interdict relies on."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # As many connections as the server's worker threads (anyio's default is 40).
            kwargs["pool_size"] = 20
            kwargs["max_overflow"] = 30
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
        # Bound every statement so a runaway query cannot hold a connection forever.
        kwargs["connect_args"] = {"options": "-c statement_timeout=60000"}
    else:
        raise ConfigurationError(
            f"unsupported database {backend!r}: use sqlite:/// or postgresql://"
        )
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
