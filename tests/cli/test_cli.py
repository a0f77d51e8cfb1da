"""The interdict command on a real database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from interdict.cli.main import cli
from interdict.db import migrate
from interdict.db.engine import make_database


@pytest.fixture
def run(database_url):
    def invoke(*args: str, env: dict | None = None, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input,
                                  env={"INTERDICT_DATABASE_URL": database_url,
                                       "INTERDICT_PASSWORD_MEMORY_KIB": "8192",
                                       "INTERDICT_PASSWORD_TIME_COST": "1",
                                       "INTERDICT_PASSWORD_PARALLELISM": "1", **(env or {})})
    return invoke


def test_new_database_gets_one_default_agency(run):
    r = run("--json", "db", "upgrade")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["default_agency"] == "LOCAL"
    # Single-agency use needs no --agency flag.
    r = run("--json", "users", "create", "officer", "--full-name", "Officer One",
            "--role", "analyst", "--role", "supervisor", "--password", "a-long-password")
    assert r.exit_code == 0, r.output
    user = json.loads(r.stdout)
    assert user["agency"]["code"] == "LOCAL" and user["roles"] == ["analyst", "supervisor"]
    r = run("--json", "tokens", "create", "--user", "officer", "--role", "analyst")
    assert r.exit_code == 0 and json.loads(r.stdout)["token"].startswith("idt_")


def test_agency_flag_needed_with_several_agencies(run):
    run("db", "upgrade")
    r = run("agencies", "create", "NL-X", "--name", "Agency X", "--country", "NL",
            "--kind", "police")
    assert r.exit_code == 0, r.output
    r = run("users", "list")
    assert r.exit_code == 2 and "--agency" in r.stderr
    assert run("--agency", "NL-X", "users", "list").exit_code == 0
    assert run("users", "list", env={"INTERDICT_AGENCY": "NL-X"}).exit_code == 0
    r = run("--agency", "NOPE", "users", "list")
    assert r.exit_code == 3 and "no agency with code 'NOPE'" in r.stderr


def test_invalid_input_names_the_field(run):
    run("db", "upgrade")
    r = run("users", "create", "x", "--full-name", "X", "--role", "analyst",
            "--password", "short")
    assert r.exit_code == 2 and "password" in r.stderr
    r = run("agencies", "create", "lower", "--name", "X", "--country", "NLD",
            "--kind", "police")
    assert r.exit_code == 2 and "code" in r.stderr and "country" in r.stderr


def test_demo_load_and_alert_listing(run, database_url):
    r = run("--json", "demo", "load")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["summary"]["agencies"] >= 4 and out["summary"]["alerts"] > 20
    # Customs' queue holds real targeting results: history, a model, scored arrivals.
    assert out["summary"]["targeting history"] == 45_519
    assert out["summary"]["targeting arrivals"] == 403
    roles = {role for login in out["logins"] for role in login["roles"].split(", ")}
    assert roles >= {"admin", "supervisor", "analyst", "targeter", "precursor_officer",
                     "liaison", "lab", "operator"}
    r = run("--json", "--agency", "NL-CUSTOMS", "alerts", "list", "--limit", "50")
    assert r.exit_code == 0 and json.loads(r.stdout)["total"] > 0
    # Its own targeting alerts, and the police unit's seizure-series alerts shared with it.
    sources = {a["source"] for a in json.loads(r.stdout)["items"]}
    assert "targeting" in sources and sources <= {"targeting", "seizures"}
    # Demo loads only into a new database.
    r = run("demo", "load")
    assert r.exit_code == 5 and "already has users" in r.stderr
    assert run("audit", "verify").exit_code == 0


def test_demo_is_deterministic(database_url, tmp_path):
    from interdict.config import Settings
    from interdict.db.session import unit_of_work
    from interdict.demo import scenario

    titles = []
    for i in range(2):
        db = make_database(f"sqlite:///{tmp_path}/demo{i}.sqlite3")
        migrate.upgrade(db)
        with unit_of_work(db) as s:
            scenario.load(s, settings=Settings(mode="test", password_time_cost=1,
                                               password_memory_kib=8192,
                                               password_parallelism=1))
        with unit_of_work(db, readonly=True) as s:
            from sqlalchemy import text
            titles.append(s.execute(text("SELECT title, severity FROM alerts ORDER BY id"))
                          .all())
        db.dispose()
    assert titles[0] == titles[1] and len(titles[0]) > 50


def test_demo_refused_in_production(run):
    r = run("demo", "load", env={"INTERDICT_MODE": "production",
                                 "INTERDICT_SECRET_KEY": "k" * 40})
    assert r.exit_code == 4 and "production" in r.stderr


def test_production_refuses_default_secret(run):
    r = run("db", "current", env={"INTERDICT_MODE": "production"})
    assert r.exit_code == 78 and "INTERDICT_SECRET_KEY" in r.stderr


def test_reference_check(run, tmp_path):
    r = run("--json", "reference", "check")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"]
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "handling_codes.yaml").write_text(
        "meta:\n  id: x\n  kind: code_list\n  title: t\n  version: '1'\n  source: s\n"
        "  retrieved: 2026-01-01\n  licence: l\nscheme: handling\nentries: []\n")
    r = run("--json", "reference", "check", env={"INTERDICT_REFERENCE_PATH": str(tmp_path)})
    assert r.exit_code == 2
    err = json.loads(r.stdout)["errors"][0]
    assert err["name"] == "platform/handling_codes" and err["errors"][0]["field"] == "entries"


def test_db_downgrade_and_current(run):
    run("db", "upgrade")
    r = run("--json", "db", "current")
    assert json.loads(r.stdout)["current"] == json.loads(r.stdout)["head"]


def test_deactivate_and_reset_password(run, database_url):
    run("db", "upgrade")
    run("users", "create", "officer", "--full-name", "Officer", "--role", "analyst",
        "--password", "first-password-1")
    token = json.loads(run("--json", "tokens", "create", "--user", "officer", "--role",
                           "analyst").stdout)["token"]
    from fastapi.testclient import TestClient

    from interdict.api.app import create_app
    from interdict.config import Settings

    app = create_app(Settings(mode="test", database_url=database_url), start_workers=False)
    with TestClient(app, base_url="https://testserver") as c:
        h = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/me", headers=h).status_code == 200
        r = run("users", "deactivate", "officer")
        assert r.exit_code == 0, r.output
        assert c.get("/api/v1/me", headers=h).status_code == 401
        assert run("users", "activate", "officer").exit_code == 0
        assert c.get("/api/v1/me", headers=h).status_code == 200
    r = run("users", "set-password", "officer", "--password", "short")
    assert r.exit_code == 2 and "password" in r.stderr
    assert run("users", "set-password", "officer", "--password", "second-password-2") \
        .exit_code == 0
    assert run("users", "deactivate", "nobody").exit_code == 3
    events = json.loads(run("--json", "audit", "list", "--limit", "5").stdout)
    assert any(e["action"] == "user.changed" for e in events)
