"""``interdict precursors`` on a real database: import contract, alerts as JSON lines."""

from __future__ import annotations

import json

from click.testing import CliRunner

from interdict.cli.main import cli
from tests.precursors.test_register import OPERATORS, _csv

GOOD = _csv(
    "S-1,BE-P-1,sale,Acetone,100,kg,2025-03-01T10:00:00+01:00,2025-03-01T12:00:00+01:00,"
    "BE-P-3,BE,,,transfer,paint thinner,",
    "S-2,BE-P-1,sale,1-Phenyl-2-propanone,50,kg,2025-03-02T10:00:00+01:00,"
    "2025-03-04T10:00:00+01:00,Anon Trading,BE,,,cash,resale,",
)


def test_import_report_and_alerts(database_url, tmp_path):
    env = {"INTERDICT_DATABASE_URL": database_url}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    ops = tmp_path / "operators.csv"
    ops.write_bytes(OPERATORS)
    r = run("--json", "precursors", "import-operators", str(ops))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(GOOD.replace(b"50,kg", b"50,stone"))
    r = run("--json", "precursors", "import", str(bad))
    assert r.exit_code == 2
    out = json.loads(r.stdout)
    assert out["accepted"] == 0 and out["rejected"] == [
        {"row": 3, "field": "unit", "reason": "'stone' is not one of kg, g, t, L, mL"}]
    r = run("precursors", "import", str(bad))
    assert r.exit_code == 2 and "row 3: unit" in r.output
    r = run("--json", "precursors", "import", str(bad), "--partial")
    assert r.exit_code == 0 and json.loads(r.stdout)["accepted"] == 1
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD)
    r = run("--json", "precursors", "import", str(good))
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and (out["added"], out["unchanged"]) == (1, 1)
    assert out["alerts"] >= 2 and out["rejected_rows"] == []
    r = run("--json", "precursors", "alerts")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = {a["kind"]: a for a in lines}
    # S-1 went to a registered buyer who never recorded the purchase; S-2 is late, in cash,
    # category 1 to an unlicensed first-time customer.
    assert set(kinds) == {"unmatched_transfer", "late_registration",
                          "unlicensed_counterparty", "suspicious_order"}
    assert kinds["unmatched_transfer"]["references"] == ["S-1"]
    assert {r["rule"] for r in kinds["suspicious_order"]["reasons"]} == {
        "cash_payment", "new_customer_category1"}
    for alert in lines:
        assert alert["operator"] == "BE-P-1" and set(alert["references"]) <= {"S-1", "S-2"}
        assert 0 < alert["score"] <= 1 and alert["reasons"]
    r = run("--json", "precursors", "returns", "BE-P-1", "--period", "2025-Q1")
    assert r.exit_code == 0 and {x["substance"] for x in json.loads(r.stdout)} == {
        "Acetone", "1-Phenyl-2-propanone"}
    r = run("--json", "precursors", "check")
    assert r.exit_code == 0 and json.loads(r.stdout)["new_alerts"] == 0
    r = run("--json", "precursors", "reconcile")
    assert r.exit_code == 0 and json.loads(r.stdout)["discrepancies"] == []
