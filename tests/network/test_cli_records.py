"""``interdict network`` commands on the intelligence file (a real database)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from interdict.cli.main import cli
from tests.network.test_store import PEOPLE


def test_import_export_resolve_judge(database_url, tmp_path):
    env = {"INTERDICT_DATABASE_URL": database_url}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    case = tmp_path / "case.jsonl"
    case.write_bytes(PEOPLE)
    r = run("--json", "network", "import", str(case), "--grade", "B2", "--handling", "H1")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["links"] == 2
    r = run("network", "import", str(case), "--grade", "B2")
    assert "already imported" in r.output
    r = run("network", "import", str(case), "--grade", "Q7", "--handling", "H1")
    assert r.exit_code == 2 and "source_grade" in r.output
    out = tmp_path / "out.anx"
    r = run("network", "export-records", "--format", "anx", "--out", str(out))
    assert r.exit_code == 0 and out.read_text().startswith("<?xml")
    r = run("--json", "network", "resolve")
    assert r.exit_code == 0 and json.loads(r.stdout)["records"] == 3
    r = run("--json", "network", "judge", "1", "2", "reject", "--reason", "different people")
    assert r.exit_code == 0 and json.loads(r.stdout)["decision"] == "reject"
