"""The register on both databases: operator and transaction imports, amendments, scoping."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from interdict.alerts.models import Alert
from interdict.db.session import unit_of_work
from interdict.errors import Forbidden, InvalidData
from interdict.precursors import service
from interdict.precursors.models import Batch, Operator, Transaction, TransactionVersion
from interdict.precursors.records import FileRejected
from interdict.reference.registry import Registry

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
