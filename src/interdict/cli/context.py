"""What every command shares: settings, the database, the acting agency, output mode."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from sqlalchemy.orm import Session

from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.config import Settings
from interdict.db.engine import Database, make_database
from interdict.db.session import unit_of_work
from interdict.errors import InvalidData
from interdict.tabular import FileRejected


@dataclass
class CliContext:
    settings: Settings
    agency_code: str | None
    json_output: bool = False
    _db: Database | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = make_database(self.settings.effective_database_url)
        return self._db

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        with unit_of_work(self.db, readonly=readonly) as session:
            yield session

    def system_actor(self, session: Session) -> Actor:
        """The platform acting for the chosen agency (``--agency`` or INTERDICT_AGENCY)."""
        return auth.system_actor(auth.get_agency(session, code=self.agency_code))

    def emit(self, data: Any, human: str | None = None) -> None:
        if self.json_output:
            click.echo(json.dumps(data, default=str, indent=None))
        else:
            click.echo(human if human is not None else json.dumps(data, default=str, indent=2))

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def err(message: str) -> None:
    click.echo(message, err=True)
    sys.stderr.flush()


def refused(obj: CliContext, exc: InvalidData) -> None:
    """Report a refused file or input with every error (row, field, reason), and exit with
    the error's code (2): in JSON, ``{"error", "errors": [...]}`` on stdout."""
    rows = [e.as_dict() for e in exc.rows] if isinstance(exc, FileRejected) else \
        [e.as_dict() for e in exc.errors]
    if obj.json_output:
        click.echo(json.dumps({"error": exc.detail, "errors": rows}))
    else:
        err(f"error: {exc.detail}")
        for e in rows[:200]:
            where = f"row {e['row']}: " if "row" in e else ""
            err(f"  {where}{e['field']}: {e['reason']}")
        if len(rows) > 200:
            err(f"  ... and {len(rows) - 200} more")
    sys.exit(exc.exit_code)


pass_ctx = click.make_pass_decorator(CliContext)
