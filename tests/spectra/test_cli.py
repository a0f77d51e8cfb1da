"""``interdict spectra`` on a real database: import a folder, identify a file, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from interdict.cli.main import cli
from interdict.spectra import service

DEMO = Path(service.__file__).parent / "demo_data"


def test_library_import_identify_and_errors(database_url, tmp_path):
    env = {"INTERDICT_DATABASE_URL": database_url}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    folder = tmp_path / "refs"
    folder.mkdir()
    for name in ("fructose_raman.csv", "lactose_raman.csv", "ribose_raman.csv", "index.csv"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    r = run("--json", "spectra", "library", "import", str(folder), "--name", "Sugars",
            "--technique", "raman")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 3
    r = run("--json", "spectra", "library", "import", str(folder), "--name", "Sugars",
            "--technique", "raman")
    assert json.loads(r.stdout)["added"] == 0 and json.loads(r.stdout)["already_present"] == 3
    r = run("--json", "spectra", "identify", str(DEMO / "ribose_raman.csv"), "--technique",
            "raman", "--top", "2")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["candidates"][0]["name"] == "D-Ribose" and len(out["candidates"]) == 2
    assert out["mixture"]["components"][0]["name"] == "D-Ribose"
    bad = tmp_path / "bad.jdx"
    bad.write_text("##TITLE=bad\n##JCAMP-DX=4.24\n##DATA TYPE=INFRARED SPECTRUM\n"
                   "##XYDATA=(X++(Y..Y))\n100 x\n##END=\n")
    r = run("spectra", "identify", str(bad))
    assert r.exit_code == 2 and "bad.jdx line 5" in r.output
    r = run("spectra", "library", "list")
    assert "Sugars" in r.output and "raman" in r.output
