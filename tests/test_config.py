"""Settings: environment prefix, defaults, and refusal of default secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from interdict.config import DEVELOPMENT_SECRET, Settings


def test_env_prefix_and_sqlite_default(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INTERDICT_DATABASE_URL", raising=False)
    s = Settings()
    assert s.effective_database_url == f"sqlite:///{tmp_path.resolve()}/interdict.sqlite3"
    monkeypatch.setenv("INTERDICT_DATABASE_URL", "postgresql://u@h/db")
    assert Settings().effective_database_url == "postgresql://u@h/db"


def test_production_refuses_development_secret():
    with pytest.raises(ValidationError) as exc:
        Settings(mode="production", secret_key=DEVELOPMENT_SECRET)
    assert "INTERDICT_SECRET_KEY" in str(exc.value)
    with pytest.raises(ValidationError):
        Settings(mode="production", secret_key="short")
    assert Settings(mode="production", secret_key="x" * 40).mode.value == "production"


def test_development_allows_default_secret():
    assert Settings(mode="development").secret_key == DEVELOPMENT_SECRET
