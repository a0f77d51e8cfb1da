"""Unit of work: the caller owns the transaction.

Services only ``flush()``; the API dependency or CLI command that opened the unit commits it
on success and rolls it back on any error, so a change and its audit record land together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from interdict.db.engine import Database

AFTER_COMMIT_KEY = "interdict_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the unit of work has committed (e.g. push notifications).

    Notifications must never announce a change that was rolled back.
    """
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


@contextmanager
def unit_of_work(db: Database, *, readonly: bool = False) -> Iterator[Session]:
    session = db.sessions()
    if readonly:
        session.connection(execution_options={"interdict_readonly": True})
    try:
        yield session
        if readonly:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
        session.close()
    for callback in callbacks if not readonly else []:
        callback()
