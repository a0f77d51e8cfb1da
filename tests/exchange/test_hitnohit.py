"""Hit/no-hit by OPRF: right answers, and what crosses between the parties reveals nothing else.

The privacy tests look at the data actually exchanged (blinded points, evaluated points, the
published table) rather than at internal state, because that is what a partner sees.
"""

from __future__ import annotations

import os

import pytest
from nacl import bindings as sodium

from interdict.errors import InvalidData
from interdict.exchange import hitnohit
from interdict.exchange.hitnohit import (
    Hit,
    HolderKey,
    Unblinded,
    blind,
    evaluate,
    finish,
    hash_to_group,
    hits,
    holder_table,
    pack_points,
    unblind,
    unpack_points,
)

HOLDINGS = [
    ("phone", "+31612345678", "NL-POL/2026/0012"),
    ("phone", "+31612345678", "NL-POL/2026/0470"),  # two cases, one identifier
    ("iban", "NL91ABNA0417164300", "NL-FIOD/88"),
    ("vessel_imo", "9321483", "NL-KMAR/V/7"),
    ("person", "de jan vries|1980-01-31", "NL-POL/P/1"),
]
ABSENT = [("phone", "+31687654321"), ("iban", "DE89370400440532013000"),
          ("vessel_imo", "9074729")]


@pytest.fixture(scope="module")
def key() -> HolderKey:
    return HolderKey.generate()


@pytest.fixture(scope="module")
def table(key) -> dict[bytes, bytes]:
    return holder_table(key, HOLDINGS)


def query(key: HolderKey, table: dict[bytes, bytes], items) -> list[Hit]:
    request, state = blind(items)
    return finish(state, evaluate(key, request.points), table)


def test_hits_carry_the_holders_references_and_misses_nothing(key, table):
    items = [ABSENT[0], ("phone", "+31612345678"), ABSENT[1], ("vessel_imo", "9321483"),
             ("person", "de jan vries|1980-01-31"), ABSENT[2]]
    found = query(key, table, items)
    assert [(h.index, h.reference) for h in found] == [
        (1, "NL-POL/2026/0012"), (1, "NL-POL/2026/0470"), (3, "NL-KMAR/V/7"),
        (4, "NL-POL/P/1")]
    assert found[0] == Hit(1, "phone", "+31612345678", "NL-POL/2026/0012")
    assert query(key, table, ABSENT) == []
    assert query(key, table, []) == []


def test_the_same_value_under_another_kind_is_another_identifier(key, table):
    assert query(key, table, [("company_number", "9321483"), ("vehicle_plate", "9321483")]) == []


def test_one_entry_per_identifier_however_many_references(table):
    assert len(table) == 4


def test_blinded_points_hide_the_identifier_and_differ_on_every_query():
    item = ("phone", "+31612345678")
    first, _ = blind([item, item])
    second, _ = blind([item])
    sent = [*first.points, *second.points]
    assert len(set(sent)) == 3  # same identifier, three unrelated points
    wire = pack_points(sent)
    assert item[1].encode() not in wire and b"31612345678" not in wire
    assert hash_to_group(*item) not in sent  # not even the unkeyed hash of it is sent
    assert all(sodium.crypto_core_ed25519_is_valid_point(p) for p in sent)


def test_evaluated_points_are_not_the_holders_tags_nor_its_prf_outputs(key, table):
    request, state = blind([("phone", "+31612345678"), ("iban", "NL91ABNA0417164300")])
    answer = evaluate(key, request.points)
    outputs = [sodium.crypto_scalarmult_ed25519_noclamp(key.scalar, hash_to_group(k, v))
               for k, v in state.items]
    for point in answer:
        assert point not in outputs  # still blinded: useless without the querier's r
        assert all(point[:hitnohit.TAG_BYTES] != tag and tag not in point for tag in table)
    # Only the querier, with its unblinding scalars, turns them into tags of the table.
    assert all(tag in table for tag in unblind(state, answer).tags)


def test_a_table_made_with_another_key_gives_no_hits(key):
    other_table = holder_table(HolderKey.generate(), HOLDINGS)
    items = [(kind, value) for kind, value, _ in HOLDINGS]
    assert query(key, other_table, items) == []


def test_the_table_shows_neither_identifiers_nor_references(table):
    blob = b"".join(k + v for k, v in table.items())
    for _kind, value, reference in HOLDINGS:
        assert value.encode() not in blob and reference.encode() not in blob
    assert {len(v) for v in table.values()} == {24 + 16 + hitnohit.SEAL_BLOCK}  # padded


def test_a_sealed_reference_opens_only_for_an_evaluation_of_its_identifier(key, table):
    kind, value = "iban", "NL91ABNA0417164300"
    request, state = blind([(kind, value)])
    honest = unblind(state, evaluate(key, request.points))
    tag = honest.tags[0]
    assert tag in table
    # Knowing the tag (the table is public to the querier) is not enough: the sealed entry
    # needs F(x) = k·H1(x) itself. Try the unkeyed hash, another key's output, and the
    # output for a neighbouring identifier.
    wrong_outputs = [
        hash_to_group(kind, value),
        sodium.crypto_scalarmult_ed25519_noclamp(HolderKey.generate().scalar,
                                                 hash_to_group(kind, value)),
        sodium.crypto_scalarmult_ed25519_noclamp(key.scalar,
                                                 hash_to_group(kind, "NL91ABNA0417164301")),
    ]
    for output in wrong_outputs:
        forged = Unblinded(items=honest.items, tags=honest.tags, outputs=(output,))
        with pytest.raises(InvalidData) as caught:
            hits(forged, table)
        assert caught.value.errors[0].field == "table"
    assert [h.reference for h in hits(honest, table)] == ["NL-FIOD/88"]


def _mixed_order_point() -> bytes:
    """A point on the curve but outside the prime-order subgroup (plus a 4-torsion point)."""
    return sodium.crypto_core_ed25519_add(hash_to_group("phone", "+31612345678"), bytes(32))


@pytest.mark.parametrize("bad", [
    bytes([1]) + bytes(31),  # the identity
    bytes.fromhex("ec" + "ff" * 30 + "7f"),  # (0, -1), order 2
    bytes(32),  # order 4
    bytes.fromhex("ee" + "ff" * 30 + "7f"),  # y >= p: non-canonical
    "mixed",
    b"\x01" * 31,  # too short
    "not bytes",
])
def test_evaluate_refuses_invalid_and_small_subgroup_points(key, bad):
    point = _mixed_order_point() if bad == "mixed" else bad
    good = blind([("phone", "+31612345678")])[0].points[0]
    with pytest.raises(InvalidData) as caught:
        evaluate(key, [good, point, good])
    assert [e.field for e in caught.value.errors] == ["points[1]"]


def test_evaluate_bounds_the_work_of_one_request(key, monkeypatch):
    points = blind([("vessel_imo", "9321483")] * 3)[0].points
    monkeypatch.setattr(hitnohit, "MAX_POINTS", 2)
    with pytest.raises(InvalidData) as caught:
        evaluate(key, points)
    assert caught.value.errors[0].field == "points"


def test_unblind_checks_the_holders_answer(key):
    request, state = blind([("phone", "+31612345678"), ("vessel_imo", "9321483")])
    answer = evaluate(key, request.points)
    with pytest.raises(InvalidData) as caught:
        unblind(state, answer[:1])
    assert caught.value.errors[0].field == "evaluated"
    with pytest.raises(InvalidData) as caught:
        unblind(state, [answer[0], _mixed_order_point()])
    assert caught.value.errors[0].field == "evaluated[1]"


def test_items_must_be_known_kinds_with_values():
    with pytest.raises(InvalidData) as caught:
        blind([("email", "a@b.example")])
    assert caught.value.errors[0].field == "items[0].kind"
    with pytest.raises(InvalidData) as caught:
        holder_table(HolderKey.generate(), [("phone", "+31612345678", "")])
    assert caught.value.errors[0].field == "items[0].reference"


def test_holder_keys_are_checked_and_kept_out_of_repr(key):
    assert key.scalar.hex() not in repr(key)
    assert len(key.key_id) == 16 and key.key_id == HolderKey(key.scalar).key_id
    for bad in (bytes(32), b"\xff" * 32, b"\x01" * 31):
        with pytest.raises(InvalidData):
            HolderKey(bad)
    _, state = blind([("phone", "+31612345678")])
    assert state.unblinders[0].hex() not in repr(state)


def test_threads_build_the_same_table_as_one():
    key = HolderKey.generate()
    items = [("phone", f"+316{n:08d}", f"R{n}") for n in range(2_500)]
    one, two = holder_table(key, items), holder_table(key, items, workers=2)
    assert one.keys() == two.keys()
    request, state = blind([("phone", "+31600001234")])
    assert finish(state, evaluate(key, request.points), two)[0].reference == "R1234"


def test_points_pack_into_bytes_and_back():
    points = list(blind([("phone", "+31612345678"), ("vessel_imo", "9321483")])[0].points)
    assert unpack_points(pack_points(points)) == points
    with pytest.raises(InvalidData) as caught:
        unpack_points(os.urandom(33))
    assert caught.value.errors[0].field == "points"
