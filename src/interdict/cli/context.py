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


pass_ctx = click.make_pass_decorator(CliContext)
