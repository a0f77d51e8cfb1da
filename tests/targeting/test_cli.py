"""``interdict targeting`` on a real database: import, train, score, evaluate, rules."""

from __future__ import annotations

import json

from click.testing import CliRunner

from interdict.cli.main import cli
from tests.targeting import kcs


def test_import_train_score_evaluate_and_rules(db, database_url, tmp_path):
    env = {"INTERDICT_DATABASE_URL": database_url, "INTERDICT_AGENCY": "NL-C"}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    assert run("agencies", "create", "NL-C", "--name", "Customs", "--country", "NL",
               "--kind", "customs").exit_code == 0
    files = {}
    for name, data in {"history": kcs.head("train", 2500),
                       "valid": kcs.head("train", 800, skip=2500),
                       "test": kcs.head("train", 800, skip=3300),
                       "arrivals": kcs.head("valid", 200, unlabelled=True)}.items():
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_bytes(data)
    r = run("--json", "targeting", "import", str(files["history"]))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["history"] == 2500
    r = run("--json", "targeting", "import", str(files["history"]))
    assert json.loads(r.stdout)["repeat"] is True
    # A refused file: exit 2, every row error named.
    bad = tmp_path / "bad.csv"
    lines = kcs.head("valid", 2).decode().splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[1], "2021-02-30", 1)
    bad.write_text("\n".join(lines) + "\n")
    r = run("--json", "targeting", "import", str(bad))
    assert r.exit_code == 2
    out = json.loads(r.stdout)
    assert (out["errors"][0]["row"], out["errors"][0]["field"]) == (2, "Date")
    r = run("targeting", "import", str(bad))
    assert r.exit_code == 2 and "row 2: Date" in r.output
    r = run("--json", "targeting", "train")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["version"] == 1
    r = run("--json", "targeting", "train", "--train", str(files["history"]),
            "--valid", str(files["valid"]), "--no-activate")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["active"] is False
    r = run("targeting", "score", str(files["arrivals"]))
    assert r.exit_code == 0, r.output
    scored = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(scored) == 200
    assert {"reference", "score", "lane", "lane_reasons", "rule_hits",
            "contributions"} <= set(scored[0])
    r = run("--json", "targeting", "evaluate", "--train", str(files["history"]), "--valid",
            str(files["valid"]), "--test", str(files["test"]))
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["label"] == "fraud" and result["n_test"] == 800
    assert set(result["precision_at"]) == {"1", "2", "5", "10"} == set(result["recall_at"])
    assert 0.5 < result["auc"] <= 1
    r = run("--json", "targeting", "evaluate", "--train", str(files["history"]), "--valid",
            str(files["valid"]), "--test", str(files["test"]), "--label", "critical")
    assert r.exit_code == 0 and json.loads(r.stdout)["label"] == "critical"
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: x\n    title: X\n    owner: me\n    weight: 2\n"
                     "    when: [{field: office, equals: '40'}]\n")
    r = run("targeting", "rules", "--save", str(rules))
    assert r.exit_code == 2 and "line 5" in r.output, r.output
    rules.write_text(rules.read_text().replace("weight: 2", "weight: 0.5"))
    r = run("--json", "targeting", "rules", "--save", str(rules))
    assert r.exit_code == 0 and json.loads(r.stdout)["version"] == 1, r.output
    r = run("targeting", "rules")
    assert r.exit_code == 0 and "x " in r.output
    r = run("--json", "targeting", "drift")
    assert r.exit_code == 0 and "psi" in json.loads(r.stdout)
