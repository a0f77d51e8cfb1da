"""``interdict seizures`` on a real database: import, match-mark, link, import-aggregates."""

from __future__ import annotations

import json

from click.testing import CliRunner

from interdict.cli.main import cli
from tests.seizures.test_service import GOOD, _photo


def test_import_match_mark_link_and_aggregates(db, database_url, tmp_path):
    env = {"INTERDICT_DATABASE_URL": database_url, "INTERDICT_AGENCY": "NL-P"}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    assert run("agencies", "create", "NL-P", "--name", "Police", "--country", "NL",
               "--kind", "police").exit_code == 0
    path = tmp_path / "seizures.csv"
    path.write_bytes(GOOD)
    r = run("--json", "seizures", "import", str(path))
    assert r.exit_code == 0, r.output
    receipt = json.loads(r.stdout)
    assert receipt["created"] == 2 and receipt["already_imported"] is False
    r = run("seizures", "import", str(path))
    assert r.exit_code == 0 and "already imported" in r.output
    # A refused file: exit 2, every row error named, nothing stored.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(GOOD.replace(b"NL-24-002,2026-04-02T14:00:00Z,BE",
                                 b"NL-24-003,2026-04-02T14:00:00Z,XX"))
    r = run("--json", "seizures", "import", str(bad))
    assert r.exit_code == 2
    errors = json.loads(r.stdout)["errors"]
    assert {"row": 4, "field": "country"} == {k: errors[0][k] for k in ("row", "field")}
    r = run("seizures", "import", str(bad))
    assert r.exit_code == 2 and "row 4: country" in r.output
    # Marks: the first seizure gets one through the API-less path (the service), then the CLI
    # ranks it for another photo of the same stamp; a text file is refused with exit 2.
    from interdict.auth import service as auth
    from interdict.db.session import unit_of_work
    from interdict.seizures import service

    with unit_of_work(db) as session:
        actor = auth.system_actor(auth.get_agency(session, code="NL-P"))
        service.add_mark(session, actor=actor, seizure_id=receipt["seizure_ids"][0],
                         data=_photo(9, 1))
        service.add_mark(session, actor=actor, seizure_id=receipt["seizure_ids"][1],
                         data=_photo(10, 1))
    query = tmp_path / "query.png"
    query.write_bytes(_photo(9, 4))
    r = run("--json", "seizures", "match-mark", str(query), "--top", "2")
    assert r.exit_code == 0, r.output
    ranked = json.loads(r.stdout)
    assert ranked[0]["seizure"]["reference"] == "NL-24-001" and ranked[0]["stage"] == "verified"
    assert ranked[0]["score"] > ranked[1]["score"]
    text = tmp_path / "note.png"
    text.write_text("not a picture")
    r = run("--json", "seizures", "match-mark", str(text))
    assert r.exit_code == 2 and json.loads(r.stdout)["errors"][0]["field"] == "image"
    r = run("--json", "seizures", "link")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []  # two different stamps, no lab reports: no link
    r = run("seizures", "link")
    assert r.exit_code == 0 and "chemistry threshold" in r.output
    # Aggregates: a malformed file is refused naming the row; the shipped copy loads.
    agg = tmp_path / "cbp.csv"
    agg.write_text("FY,Month (abbv),Component,Region,Land Filter,Area of Responsibility,"
                   "Drug Type,Count of Event,Sum Qty (lbs)\n2021,FOO,Office of Field "
                   "Operations,Coastal/Interior,Other,X,Cocaine,1,2.0\n")
    r = run("--json", "seizures", "import-aggregates", str(agg))
    assert r.exit_code == 2 and "Month (abbv)" in r.stdout
    r = run("--json", "seizures", "import-aggregates")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rows"] == 17987
