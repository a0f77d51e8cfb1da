"""Storage: engine, unit of work, declarative base and migrations (SQLite and PostgreSQL)."""

from interdict.db.base import Base, UTCDateTime, utcnow
from interdict.db.engine import Database, make_database
from interdict.db.session import unit_of_work

__all__ = ["Base", "Database", "UTCDateTime", "make_database", "unit_of_work", "utcnow"]
