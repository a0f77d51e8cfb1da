"""Configuration, routes and audit events are documented (datasette's tested-docs practice)."""

from __future__ import annotations

from pathlib import Path

from interdict.api.app import create_app
from interdict.audit.events import AuditAction
from interdict.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [f"INTERDICT_{n.upper()}" for n in Settings.model_fields
               if f"INTERDICT_{n.upper()}" not in text]
    assert not missing, f"undocumented settings: {missing}"


def test_every_api_path_is_documented(tmp_path):
    app = create_app(Settings(mode="test", database_url=f"sqlite:///{tmp_path}/d.sqlite3"),
                     start_workers=False)
    text = (DOCS / "api.md").read_text()
    missing = [p for p in app.openapi()["paths"] if p not in text]
    assert not missing, f"undocumented routes: {missing}"


def test_every_audit_event_is_documented():
    text = (DOCS / "audit.md").read_text()
    missing = [a.value for a in AuditAction if a.value not in text]
    assert not missing, f"undocumented audit events: {missing}"


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    quick = text[text.index("## Quick start"):][:1500]
    assert "make run" in quick and "make test" in quick
