"""The register on both databases: operator and transaction imports, amendments, scoping."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from interdict.alerts.models import Alert
from interdict.db.session import unit_of_work
from interdict.errors import Forbidden, InvalidData, NotFound
from interdict.precursors import service
from interdict.precursors.models import Batch, Operator, Transaction, TransactionVersion
from interdict.reference.registry import Registry
from interdict.tabular import FileRejected

REGISTRY = Registry()
OPERATORS = b"""licence,name,country,categories,kind,valid_from,valid_to,activities,sector
BE-P-1,Alpha Chemicals NV,BE,1;2A;3,licence,2020-01-01,,trade;import;export,chemical_distribution
BE-P-2,Beta Pharma BV,BE,1;3,licence,2020-01-01,2030-12-31,use;manufacture,pharmaceutical
BE-P-3,Gamma Paints,BE,3,registration,2021-06-01,,use,paints_coatings
"""
HEADER = ("reference,operator,kind,substance,quantity,unit,occurred_at,registered_at,"
          "counterparty,counterparty_country,destination_country,transit_countries,payment,"
          "end_use,site\n")


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def _ops(world, user: str = "officer@a") -> dict:
    with unit_of_work(world.db) as session:
        return service.import_operators(session, actor=world.actor(user), data=OPERATORS,
                                        filename="operators.csv")


def _tx(world, data: bytes, user: str = "officer@a", partial: bool = False,
        filename: str = "tx.csv") -> dict:
    with unit_of_work(world.db) as session:
        return service.import_transactions(session, actor=world.actor(user), registry=REGISTRY,
                                           data=data, filename=filename, partial=partial)


CLEAN = _csv(
    "S-1,BE-P-1,sale,Acetone,100,kg,2025-03-01T10:00:00+01:00,2025-03-01T12:00:00+01:00,"
    "BE-P-3,BE,,,transfer,paint thinner,",
    "P-1,BE-P-3,purchase,67-64-1,127.55,L,2025-03-01T11:00:00+01:00,2025-03-01T13:00:00+01:00,"
    "BE-P-1,BE,,,transfer,paint thinner,",
)


def test_operator_import_is_idempotent_and_validated(world):
    assert _ops(world)["added"] == 3
    assert _ops(world) == {"rows": 3, "added": 0, "changed": 0, "unchanged": 3}
    bad = OPERATORS.replace(b"1;3,licence,2020", b"1;3,registration,2020") \
        .replace(b",BE,3,", b",XX,3,")
    with pytest.raises(FileRejected) as exc:
        with unit_of_work(world.db) as session:
            service.import_operators(session, actor=world.actor("officer@a"), data=bad,
                                     filename="bad.csv")
    fields = {(e.row, e.field) for e in exc.value.rows}
    assert fields == {(3, "kind"), (4, "country")}


def test_transactions_import_resolve_convert_and_are_idempotent(world):
    _ops(world)
    first = _tx(world, CLEAN)
    assert (first["added"], first["rejected"], first["alerts"]) == (2, 0, 0)
    with unit_of_work(world.db, readonly=True) as session:
        rows = {t.reference: t for t in session.scalars(select(Transaction))}
        assert rows["P-1"].substance == "Acetone" and rows["P-1"].category == "3"
        assert rows["P-1"].quantity_kg == pytest.approx(127.55 * 0.784)
        assert rows["S-1"].counterparty_operator_id is not None
    again = _tx(world, CLEAN)
    assert again["duplicate"] and again["batch"] == first["batch"]
    # The same records in another file: unchanged, nothing added.
    other = _tx(world, CLEAN.replace(b"\n", b"\r\n"), filename="again.csv")
    assert (other["added"], other["unchanged"], other["amended"]) == (0, 2, 0)


def _count(world, model) -> int:
    with unit_of_work(world.db, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_bad_row_refuses_the_whole_file_and_names_row_field_reason(world):
    _ops(world)
    data = _csv(
        "S-1,BE-P-1,sale,Acetone,100,kg,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-2,BE-P-1,sale,Unobtainium,5,kg,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-3,BE-P-1,sale,Acetone,5,lbs,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-4,BE-P-1,sale,Acetone,5,kg,2025-03-01T10:00:00,,BE-P-3,BE,,,transfer,,",
        "S-5,BE-P-9,sale,Acetone,5,kg,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-6,BE-P-1,sale,Heroin,5,kg,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-7,BE-P-1,sale,Piperonal,5,L,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,transfer,,",
        "S-8,BE-P-1,sale,Acetone,1,kg,2025-03-01T10:00:00+01:00,,BE-P-3,BE,,,bitcoin,,",
    )
    with pytest.raises(FileRejected) as exc:
        _tx(world, data)
    got = {(e.row, e.field): e.reason for e in exc.value.rows}
    assert set(got) == {(3, "substance"), (4, "unit"), (5, "occurred_at"), (6, "operator"),
                        (7, "substance"), (8, "unit"), (9, "payment")}
    assert "no precursor or watch list" in got[(3, "substance")]
    assert "no UTC offset" in got[(5, "occurred_at")]
    assert "controlled drug" in got[(7, "substance")]
    assert "density" in got[(8, "unit")]
    assert _count(world, Transaction) == 0 and _count(world, Batch) == 0
    kept = _tx(world, data, partial=True)
    assert (kept["added"], kept["rejected"]) == (1, 7)
    assert {e["row"] for e in kept["errors"]} == {3, 4, 5, 6, 7, 8, 9}


def test_malformed_files_are_refused_with_the_reason(world):
    _ops(world)
    cases = {
        b"reference,operator,kind\nS-1,BE-P-1,sale\n": "column missing",
        HEADER.replace("site", "sight").encode() + b"x\n": "not a column",
        b"\xff\xfe\x00garbage": "UTF-8",
        b"": "empty",
        (HEADER + 'S-1,BE-P-1,sale,"Acetone\n').encode(): "",
        _csv("S-1,BE-P-1,sale,Acetone,100,kg"): "fields",
    }
    for data, reason in cases.items():
        with pytest.raises(InvalidData) as exc:
            _tx(world, data)
        text = exc.value.detail + " ".join(e.reason for e in exc.value.errors)
        assert reason in text, (data, text)
    jsonl = b'{"reference": "S-1", "operator": "BE-P-1"}\n[1, 2]\n'
    with pytest.raises(InvalidData):
        _tx(world, jsonl, filename="x.jsonl")
    assert _count(world, Transaction) == 0


def test_amendment_keeps_history_and_rechecks(world):
    _ops(world)
    _tx(world, CLEAN)
    amended = CLEAN.replace(b"S-1,BE-P-1,sale,Acetone,100,", b"S-1,BE-P-1,sale,Acetone,101,")
    result = _tx(world, amended, filename="amended.csv")
    assert (result["added"], result["amended"], result["unchanged"]) == (0, 1, 1)
    with unit_of_work(world.db, readonly=True) as session:
        row = session.scalar(select(Transaction).where(Transaction.reference == "S-1"))
        assert row is not None and row.version == 2 and row.quantity == 101
        old = session.scalars(select(TransactionVersion)).all()
        assert [(v.version, v.record["quantity"]) for v in old] == [(1, 100.0)]


def test_jsonl_and_the_json_api_path_give_the_same_register(world):
    _ops(world)
    record = {"reference": "J-1", "operator": "BE-P-1", "kind": "stock_count",
              "substance": "Acetone", "quantity": 0, "unit": "kg",
              "occurred_at": "2025-01-01T00:00:00+00:00", "transit_countries": []}
    result = _tx(world, (json.dumps(record) + "\n").encode(), filename="t.jsonl")
    assert result["added"] == 1


def test_operators_submit_only_their_own_records_and_see_no_alerts(world):
    _ops(world)
    with unit_of_work(world.db) as session:
        service.link_user(session, actor=world.actor("officer@a"), username="operator@a",
                          licence="BE-P-1")
    late = _csv("S-9,BE-P-1,sale,Acetone,10,kg,2025-03-01T10:00:00+01:00,"
                "2025-03-04T10:00:00+01:00,Some Buyer,BE,,,transfer,cleaning,")
    result = _tx(world, late, user="operator@a")
    assert result["alerts"] == 1
    with pytest.raises(FileRejected) as exc:
        _tx(world, _csv("S-10,BE-P-2,stock_count,Acetone,0,kg,2025-03-01T10:00:00+01:00,,,,,,,,"),
            user="operator@a")
    assert "only for BE-P-1" in exc.value.rows[0].reason
    with unit_of_work(world.db, readonly=True) as session:
        alert = session.scalar(select(Alert))
        assert alert is not None and alert.agency_id == world.agencies["A"].id
        assert alert.source == "precursors" and alert.kind == "late_registration"
        with pytest.raises(Forbidden):
            service.findings(session, actor=world.actor("operator@a"))
        own = service.batches(session, actor=world.actor("operator@a"))
        assert [b["added"] for b in own] == [1]
        with pytest.raises(NotFound):
            service.get_operator(session, actor=world.actor("operator@a"), licence="BE-P-2")


def test_registers_are_per_agency(world):
    _ops(world)
    _tx(world, CLEAN)
    with unit_of_work(world.db, readonly=True) as session:
        assert service.search_operators(session, actor=world.actor("officer@b")) == []
        assert session.scalar(select(func.count()).select_from(Operator)) == 3
    with pytest.raises(FileRejected):  # B's officer: A's licences are unknown in B
        _tx(world, CLEAN, user="officer@b")


def test_unmatched_waits_for_the_window_then_is_raised_once(world):
    _ops(world)
    sale = _csv("S-1,BE-P-1,sale,Acetone,100,kg,2025-03-01T10:00:00+00:00,"
                "2025-03-01T10:30:00+00:00,BE-P-3,BE,,,transfer,paint,")
    import datetime as dt
    t0 = dt.datetime(2025, 3, 1, 11, tzinfo=dt.UTC)
    with unit_of_work(world.db) as session:
        r = service.import_transactions(session, actor=world.actor("officer@a"),
                                        registry=REGISTRY, data=sale, filename="s.csv",
                                        as_of=t0)
    assert r["alerts"] == 0
    for hours, expected in ((70, 0), (72, 1), (200, 0)):  # the sale was an hour before t0
        with unit_of_work(world.db) as session:
            run = service.recheck(session, actor=world.actor("officer@a"), registry=REGISTRY,
                                  as_of=t0 + dt.timedelta(hours=hours))
        assert run["new_alerts"] == expected, hours


def test_a_killed_import_leaves_the_register_as_it_was(database_url, tmp_path):
    """SIGKILL the CLI in the middle of a large import: nothing of it may remain."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from interdict.db import migrate
    from interdict.db.engine import make_database
    from interdict.precursors.generate import generate_year

    year = generate_year(operators=200, transactions=60_000, anomalies=0)
    (tmp_path / "ops.csv").write_text(year.operators_csv())
    (tmp_path / "tx.csv").write_text(year.transactions_csv())
    env = {**os.environ, "INTERDICT_DATABASE_URL": database_url}
    cli = [sys.executable, "-m", "interdict.cli.main"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "precursors", "import-operators", str(tmp_path / "ops.csv")],
                   env=env, check=True, capture_output=True)
    proc = subprocess.Popen([*cli, "precursors", "import", str(tmp_path / "tx.csv")],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # progress lines; kill once rows are being written
        if line.startswith("stored") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    db = make_database(database_url)
    try:
        with unit_of_work(db, readonly=True) as session:
            assert session.scalar(select(func.count()).select_from(Transaction)) == 0
            assert session.scalar(select(func.count()).select_from(Batch)) == 0
        assert migrate.is_up_to_date(db)
    finally:
        db.dispose()
    done = subprocess.run([*cli, "--json", "precursors", "import", str(tmp_path / "tx.csv")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == len(year.transactions)


def test_watch_lists_flag_without_controlling():
    from interdict.substances.schemas import CheckQuery
    from interdict.substances.service import check, get_index

    verdict = check(index=get_index(REGISTRY), query=CheckQuery(name="Nitroethane"))
    assert not verdict.controlled and verdict.watch
    assert {m.control for m in verdict.matches} == {"monitoring"}
    assert service.resolve_substance(REGISTRY, "79-24-3").category == "watch"
    assert service.resolve_substance(REGISTRY, "Acetone").category == "3"
