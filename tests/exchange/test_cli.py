"""``interdict exchange`` on a real database: send, inbox, holdings, hit-query, keys."""

from __future__ import annotations

import json

from click.testing import CliRunner

from interdict.cli.main import cli


def test_send_holdings_hit_query_and_keys(db, database_url, tmp_path):
    def run(agency: str, *args: str):
        env = {"INTERDICT_DATABASE_URL": database_url, "INTERDICT_AGENCY": agency}
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("NL-P", "db", "upgrade").exit_code == 0
    for code, kind in (("NL-P", "police"), ("BE-C", "customs")):
        assert run(code, "agencies", "create", code, "--name", code, "--country",
                   code[:2], "--kind", kind).exit_code == 0
    body = tmp_path / "body.txt"
    body.write_text("Container MSKU 123 on its way.")
    r = run("NL-P", "--json", "exchange", "send", "--to", "BE-C", "--subject", "Heads-up",
            "--body-file", str(body), "--handling", "H2")
    assert r.exit_code == 0, r.output
    sent = json.loads(r.stdout)
    assert sent["to"][0]["agency"] == "BE-C" and sent["handling"] == "H2"
    r = run("BE-C", "--json", "exchange", "inbox")
    assert [m["id"] for m in json.loads(r.stdout)] == [sent["id"]]
    r = run("NL-P", "exchange", "send", "--to", "XX-NOPE", "--subject", "x")
    assert r.exit_code == 2 and "to[0]" in r.output
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("kind,value,reference,country\nphone,0612345678,NLP-77,NL\n"
                        "vehicle_plate,AB-12-CD,NLP-78,NL\n")
    r = run("NL-P", "--json", "exchange", "holdings", str(holdings))
    assert r.exit_code == 0 and json.loads(r.stdout)["distinct"] == 2
    query = tmp_path / "query.csv"
    query.write_text("kind,value,country\nphone,+31 6 12345678,\nphone,+32 470 12 34 56,\n"
                     "vehicle_plate,ab12cd,NL\n")
    r = run("BE-C", "--json", "exchange", "hit-query", str(query), "--justification",
            "case 5")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert sorted((h["row"], h["holder"], h["reference"]) for h in out["hits"]) == [
        (2, "NL-P", "NLP-77"), (4, "NL-P", "NLP-78")]
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,value,country\niban,NL00 BANK 0000 0000 00,\n")
    r = run("BE-C", "--json", "exchange", "hit-query", str(bad), "--justification", "x")
    assert r.exit_code == 2 and json.loads(r.stdout)["errors"][0]["field"] == "value"
    r = run("NL-P", "--json", "exchange", "keys", "list")
    keys = json.loads(r.stdout)
    assert len(keys) == 1 and keys[0]["active"] and len(keys[0]["fingerprint"]) == 39
    assert run("NL-P", "exchange", "keys", "rotate").exit_code == 0
    r = run("NL-P", "--json", "exchange", "keys", "list")
    assert [k["active"] for k in json.loads(r.stdout)] == [False, True]
    r = run("BE-C", "exchange", "keys", "import-partner", "NL-P", "not-base64!")
    assert r.exit_code == 2 and "public_key" in r.output
