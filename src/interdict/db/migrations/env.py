"""Alembic environment: the engine comes from the caller (see ``db/migrate.py``)."""

from __future__ import annotations

from alembic import context

from interdict.all_models import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    context.run_migrations()
