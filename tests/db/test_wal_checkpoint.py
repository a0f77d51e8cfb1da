"""The server's background WAL checkpoint: commits no longer pay for checkpoints."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from interdict.db.engine import WAL_AUTOCHECKPOINT_PAGES, WalCheckpointer, make_database


def test_checkpointer_copies_the_wal_into_the_database(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite mechanism; PostgreSQL checkpoints itself")
    db = make_database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with db.engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() \
                == WAL_AUTOCHECKPOINT_PAGES
            conn.execute(text("CREATE TABLE t (x TEXT)"))
        for i in range(200):
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "y" * 2000 + str(i)})
        wal = tmp_path / "wal.db-wal"
        main = tmp_path / "wal.db"
        assert wal.stat().st_size > 200 * 2000  # nothing was checkpointed by the commits
        assert main.stat().st_size < 200 * 2000
        WalCheckpointer(db).checkpoint()
        assert main.stat().st_size > 200 * 2000  # the rows are in the database file now
        checkpointer = WalCheckpointer(db, every_seconds=0.05)
        checkpointer.start()
        checkpointer.stop()
    finally:
        db.dispose()
