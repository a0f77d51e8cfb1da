"""The intelligence file on both databases: imports, provenance, scoping, exports, judgements."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select

from interdict.audit.models import AuditEvent
from interdict.db.session import unit_of_work
from interdict.errors import Forbidden, InvalidData, NotFound
from interdict.network import service
from interdict.network.models import Entity, EntityValue, Link, ResolutionJudgement
from interdict.network.provenance import Provenance
from interdict.reference.registry import Registry

REGISTRY = Registry()
POLICE = Provenance(originator="AG-A", source_grade="B", information_grade="2", handling="H1",
                    observed_on="2024-03-01")
CUSTOMS = Provenance(originator="AG-C", source_grade="A", information_grade="1", handling="H0")


def _lines(*objs: dict) -> bytes:
    return ("\n".join(json.dumps(o) for o in objs) + "\n").encode()


PEOPLE = _lines(
    {"id": "p1", "schema": "Person", "properties": {"name": ["Jan de Vries"],
                                                      "birthDate": ["1980-02-01"]}},
    {"id": "p2", "schema": "Person", "properties": {"name": ["Piet Bakker"]}},
    {"id": "c1", "schema": "Company", "properties": {"name": ["Chem Trade BV"]}},
    {"id": "o1", "schema": "Ownership", "properties": {"owner": ["p1"], "asset": ["c1"]}},
    {"id": "a1", "schema": "Associate", "properties": {"person": ["p1"], "associate": ["p2"]}},
)


def _import(world, data: bytes, provenance: Provenance = POLICE, user: str = "analyst@a",
            kind: str = "ftm", filename: str = "case.jsonl"):
    with unit_of_work(world.db) as session:
        return service.import_file(session, actor=world.actor(user), registry=REGISTRY,
                                   kind=kind, filename=filename, data=data,
                                   provenance=provenance)


def test_ftm_import_links_and_idempotence(world):
    first = _import(world, PEOPLE)
    assert (first.entities, first.links) == (3, 2) and not first.already_imported
    again = _import(world, PEOPLE)
    assert again.already_imported and again.batch_id == first.batch_id
    with unit_of_work(world.db, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Entity)) == 5
        assert session.scalar(select(func.count()).select_from(Link)) == 2


def test_conflicting_values_are_all_kept_with_their_provenance(world):
    _import(world, PEOPLE)
    other = _lines({"id": "p1", "schema": "Person",
                    "properties": {"name": ["Jan de Vries"], "birthDate": ["1980-01-02"]}})
    result = _import(world, other, provenance=CUSTOMS, filename="customs.jsonl")
    assert result.values_added == 2  # same name from another source is a second statement
    with unit_of_work(world.db) as session:
        p1 = session.scalar(select(Entity).where(Entity.ftm_id == "p1"))
        assert p1 is not None
        page = service.entity(session, actor=world.actor("analyst@a"), entity_id=p1.id,
                              purpose="case 24/117")
    births = {(v["value"], v["provenance"]) for v in page["values"]["birthDate"]}
    assert births == {("1980-02-01", "AG-A B2 H1 2024-03-01"), ("1980-01-02", "AG-C A1 H0")}
    assert page["conflicts"] == ["birthDate"]
    with unit_of_work(world.db, readonly=True) as session:
        viewed = session.scalar(select(AuditEvent).where(AuditEvent.action == "record.viewed"))
        assert viewed is not None and viewed.justification == "case 24/117"


@pytest.mark.parametrize("line, field, words", [
    ({"id": "x", "schema": "Spaceship", "properties": {}}, "line 2: schema", "unknown FtM"),
    ({"id": "x", "schema": "Person", "properties": {"wingspan": ["3"]}},
     "line 2: properties.wingspan", "not a property of Person"),
    ({"id": "x", "schema": "Person", "properties": {"birthDate": ["1980-13-45"]}},
     "line 2: properties.birthDate", "not a valid date"),
    ({"id": "o", "schema": "Ownership", "properties": {"owner": ["nobody"], "asset": ["c1"]}},
     "line 2: properties.owner", "neither in the file nor in the store"),
])
def test_bad_ftm_input_names_line_and_field_and_imports_nothing(world, line, field, words):
    data = _lines({"id": "c1", "schema": "Company", "properties": {"name": ["Ok BV"]}}, line)
    with pytest.raises(InvalidData) as caught:
        _import(world, data)
    assert any(e.field == field and words in e.reason for e in caught.value.errors), \
        caught.value.errors
    with unit_of_work(world.db, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Entity)) == 0


def test_malformed_json_and_bad_provenance(world):
    with pytest.raises(InvalidData) as caught:
        _import(world, b'{"id": "a", "schema": "Person"\nnot json\n')
    assert caught.value.errors[0].field == "line 1"
    bad = Provenance(originator="AG-A", source_grade="Z", information_grade="9",
                     handling="H7", observed_on="yesterday")
    with pytest.raises(InvalidData) as caught:
        _import(world, PEOPLE, provenance=bad)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"source_grade", "information_grade", "handling", "observed_on"}
    uk = Provenance(originator="AG-A", scheme="3x5x2", source_grade="2",
                    information_grade="B", handling="P")
    assert _import(world, PEOPLE, provenance=uk).entities == 3


def test_call_detail_records_become_phones_and_calls(world):
    cdr = (b"caller,callee,start,duration,cell\n"
           b"+32470000001,+32470000002,2024-03-01T10:00:00,65,BXL-12\n"
           b"+32470000002,+32470000003,2024-03-02T11:30:00,12,\n"
           b"+32470000001,+32470000002,2024-03-03T09:15:00,300,BXL-12\n")
    result = _import(world, cdr, kind="cdr", filename="cdr.csv")
    assert (result.entities, result.links) == (3, 3)
    with unit_of_work(world.db, readonly=True) as session:
        calls = list(session.scalars(select(Link)))
        assert all(c.directed and c.schema == "Call" for c in calls)
        assert {c.period for c in calls} == {"2024-03-01", "2024-03-02", "2024-03-03"}
    with pytest.raises(InvalidData) as caught:
        _import(world, b"caller,callee,start\n1,2,not-a-date\n", kind="cdr", filename="b.csv")
    assert caught.value.errors[0].field == "line 2: start"


def test_scoping_roles_and_neighbours(world):
    _import(world, PEOPLE)
    with unit_of_work(world.db) as session:
        p1 = session.scalar(select(Entity).where(Entity.ftm_id == "p1"))
        assert p1 is not None
        with pytest.raises(NotFound):
            service.entity(session, actor=world.actor("analyst@b"), entity_id=p1.id)
        assert service.search(session, actor=world.actor("analyst@b"), q="jan") == []
        with pytest.raises(Forbidden):
            service.search(session, actor=world.actor("operator@a"))
        near = service.neighbours(session, actor=world.actor("analyst@a"), entity_id=p1.id)
    assert {n["caption"] for n in near["nodes"]} == {"Jan de Vries", "Piet Bakker",
                                                     "Chem Trade BV"}
    assert {e["schema"] for e in near["edges"]} == {"Ownership", "Associate"}


def test_ftm_export_reimports_to_the_same_graph_and_anx_is_xml(world):
    _import(world, PEOPLE)
    with unit_of_work(world.db) as session:
        exported = service.export_ftm(session, actor=world.actor("analyst@a"))
        anx = service.export_anx(session, actor=world.actor("analyst@a"))
    root = ET.fromstring(anx.split("?>", 1)[1])
    assert len(root.findall(".//Entity")) == 5 and len(root.findall(".//Link")) == 2
    result = _import(world, exported.encode(), user="analyst@b", filename="from-a.jsonl")
    assert (result.entities, result.links) == (3, 2)

    def graph(agency_code: str) -> set[tuple[str, str, str]]:
        with unit_of_work(world.db, readonly=True) as session:
            ids = {e.id: e.ftm_id for e in session.scalars(select(Entity).where(
                Entity.agency_id == world.agencies[agency_code].id))}
            return {(ids[x.source_id], ids[x.target_id], x.schema)
                    for x in session.scalars(select(Link)) if x.source_id in ids}
    assert graph("A") == graph("B")


def test_judgements_are_attributed_and_reversible(world):
    _import(world, PEOPLE)
    with unit_of_work(world.db) as session:
        ids = {e.ftm_id: e.id for e in session.scalars(select(Entity))}
        actor = world.actor("analyst@a")
        service.judge(session, actor=actor, left_id=ids["p2"], right_id=ids["p1"],
                      decision="accept", reason="same passport")
        service.judge(session, actor=actor, left_id=ids["p1"], right_id=ids["p2"],
                      decision="reject", reason="different fathers")
        with pytest.raises(InvalidData):
            service.judge(session, actor=actor, left_id=ids["p1"], right_id=ids["p1"],
                          decision="accept")
    with unit_of_work(world.db, readonly=True) as session:
        rows = list(session.scalars(select(ResolutionJudgement).order_by(ResolutionJudgement.id)))
        assert [r.decision for r in rows] == ["accept", "reject"]
        assert {(r.left_id, r.right_id) for r in rows} == {tuple(sorted((ids["p1"], ids["p2"])))}
        assert all(r.username == "analyst@a" for r in rows)
        assert session.scalar(select(func.count()).select_from(EntityValue)) > 0


def test_resolution_suggests_explains_and_judgements_drive_canonical_ids(world):
    people = [
        {"id": "r1", "schema": "Person", "properties": {
            "name": ["Jan de Vries"], "birthDate": ["1980-02-01"],
            "passportNumber": ["NX1234567"], "country": ["nl"]}},
        {"id": "r2", "schema": "Person", "properties": {
            "name": ["DE VRIES, Jan"], "birthDate": ["1980-02-01"],
            "passportNumber": ["NX 1234567"], "country": ["nl"]}},
        {"id": "r3", "schema": "Person", "properties": {
            "name": ["Maria Jansen"], "birthDate": ["1975-07-12"], "country": ["be"]}},
        {"id": "r4", "schema": "Person", "properties": {
            "name": ["Piet Bakker"], "birthDate": ["1969-03-30"], "country": ["nl"]}},
    ]
    _import(world, _lines(*people))
    actor = world.actor("analyst@a")
    with unit_of_work(world.db) as session:
        summary = service.run_resolution(session, actor=actor)
        queue = service.pending(session, actor=actor)
    assert summary["records"] == 4 and summary["suggested"] >= 1
    top = queue[0]
    assert {top["left"], top["right"]} == {"Jan de Vries", "DE VRIES, Jan"}
    assert top["probability"] > 0.9
    passport = next(c for c in top["explanation"] if c["feature"] == "identifier")
    assert passport["weight"] > 0 and "NX1234567" in passport["sentence"]
    with unit_of_work(world.db) as session:
        service.judge(session, actor=actor, left_id=top["left_id"], right_id=top["right_id"],
                      decision="accept", reason="same passport")
        ids = service.canonical(session, actor=actor)
        assert ids[top["left_id"]] == ids[top["right_id"]]
        assert service.pending(session, actor=actor) == []  # judged pairs leave the queue
        # Reversing is judging again: the latest judgement on the pair wins.
        service.judge(session, actor=actor, left_id=top["left_id"], right_id=top["right_id"],
                      decision="reject", reason="passport was a forgery")
        ids = service.canonical(session, actor=actor)
        assert ids[top["left_id"]] != ids[top["right_id"]]
        # The source entities are never merged or changed.
        assert session.scalar(select(func.count()).select_from(Entity)) == 4


def test_network_files_import_as_people_and_links_across_phases(world):
    from pathlib import Path

    caviar = Path(service.__file__).parent / "demo_data" / "caviar"
    actor = world.actor("analyst@a")
    for phase in (1, 2):
        data = (caviar / f"phase{phase}.csv").read_bytes()
        with unit_of_work(world.db) as session:
            result = service.import_network(
                session, actor=actor, registry=REGISTRY, filename=f"phase{phase}.csv",
                data=data, provenance=POLICE, namespace="caviar", period=f"phase {phase}",
                label_prefix="n")
        assert result.kind == "matrix" and result.links > 0
    with unit_of_work(world.db, readonly=True) as session:
        g1 = service.graph(session, actor=actor, period="phase 1")
        both = service.graph(session, actor=actor)
        # Phase 1 of CAVIAR: 15 actors, 26 arcs (shared/data/networks/SOURCES.md).
        assert (g1.n, g1.number_of_records, g1.directed) == (15, 26, True)
        assert both.n > g1.n and "n1" in {both.label(x) for x in both.ids}
    bad = b'"",a,b\n"a",0,1\n"c",1,0\n'
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_network(session, actor=actor, registry=REGISTRY, filename="bad.csv",
                               data=bad, provenance=POLICE)
    assert any("does not match column" in e.reason for e in caught.value.errors)


MAPPING = """
entities:
  person:
    schema: Person
    keys: [passport]
    properties:
      name: {column: full_name}
      birthDate: {column: dob}
      passportNumber: {column: passport}
  company:
    schema: Company
    keys: [company]
    properties:
      name: {column: company}
  directorship:
    schema: Directorship
    keys: [passport, company]
    properties:
      director: {entity: person}
      organization: {entity: company}
"""
TABLE = ("full_name,dob,passport,company\n"
         "Jan de Vries,1980-02-01,NX1234567,Chem Trade BV\n"
         "Jan de Vries,1980-02-01,NX1234567,Rotterdam Solvents BV\n")


def test_csv_and_xlsx_through_a_ftm_mapping(world, tmp_path):
    import openpyxl

    with unit_of_work(world.db) as session:
        result = service.import_file(session, actor=world.actor("analyst@a"),
                                     registry=REGISTRY, kind="mapping", filename="reg.csv",
                                     data=TABLE.encode(), provenance=POLICE, mapping=MAPPING)
    assert (result.entities, result.links) == (3, 2)  # one person, two companies
    book = openpyxl.Workbook()
    for row in TABLE.strip().splitlines():
        book.active.append(row.split(","))
    path = tmp_path / "reg.xlsx"
    book.save(path)
    with unit_of_work(world.db) as session:
        again = service.import_file(session, actor=world.actor("analyst@b"),
                                    registry=REGISTRY, kind="mapping", filename="reg.xlsx",
                                    data=path.read_bytes(), provenance=POLICE, mapping=MAPPING)
    assert (again.entities, again.links) == (3, 2)
    broken = MAPPING.replace("{column: dob}", "{column: date_of_birth}")
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_file(session, actor=world.actor("analyst@a"), registry=REGISTRY,
                            kind="mapping", filename="reg2.csv", data=TABLE.encode(),
                            provenance=POLICE, mapping=broken)
    assert caught.value.errors[0].field == "mapping: column date_of_birth"
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_file(session, actor=world.actor("analyst@a"), registry=REGISTRY,
                            kind="mapping", filename="reg3.csv", data=TABLE.encode(),
                            provenance=POLICE, mapping=MAPPING.replace("Company", "Starship"))
    assert "Invalid schema" in caught.value.detail


def test_review_regressions_scoping_idempotence_and_bad_input(world, client):
    # Another agency's entity is not reachable through its neighbours.
    _import(world, PEOPLE, user="analyst@b")
    with unit_of_work(world.db) as session:
        theirs = session.scalar(select(Entity).where(Entity.ftm_id == "p1"))
        assert theirs is not None
        with pytest.raises(NotFound):
            service.neighbours(session, actor=world.actor("analyst@a"), entity_id=theirs.id)
    # The same content again (a different file by one byte) adds no link; a repeated CDR row
    # in an overlapping export adds no call.
    _import(world, PEOPLE, user="analyst@a")
    _import(world, PEOPLE + b"\n", user="analyst@a", filename="again.jsonl")
    cdr = b"caller,callee,start\n+1,+2,2024-01-01T10:00:00\n"
    _import(world, cdr, kind="cdr", filename="jan.csv")
    _import(world, cdr + b"+2,+3,2024-02-01T10:00:00\n", kind="cdr", filename="jan-feb.csv")
    with unit_of_work(world.db, readonly=True) as session:
        mine = select(Link).where(Link.agency_id == world.agencies["A"].id)
        assert len(list(session.scalars(mine))) == 2 + 2
    # A later observation of the same value is a new statement with its own date.
    later = Provenance(originator="AG-A", source_grade="B", information_grade="2",
                       handling="H1", observed_on="2025-06-01")
    result = _import(world, _lines({"id": "p2", "schema": "Person",
                                    "properties": {"name": ["Piet Bakker"]}}),
                     provenance=later, filename="later.jsonl")
    assert result.values_added == 1
    # An id given another schema, values that are not values, deep nesting: refused.
    for data, field in [
        (_lines({"id": "p1", "schema": "Vessel", "properties": {"name": ["X"]}}),
         "line 1: schema"),
        (_lines({"id": "q", "schema": "Person", "properties": {"name": [None]}}),
         "line 1: properties.name"),
        (b"[" * 50000 + b"]" * 50000 + b"\n", "line 1"),
    ]:
        with pytest.raises(InvalidData) as caught:
            _import(world, data, filename="bad.jsonl")
        assert caught.value.errors[0].field == field
    # Mappings of the wrong shape and ids beyond 64 bits are clear errors, not crashes.
    with pytest.raises(InvalidData) as caught:
        with unit_of_work(world.db) as session:
            service.import_file(session, actor=world.actor("analyst@a"), registry=REGISTRY,
                                kind="mapping", filename="t.csv", data=b"a\n1\n",
                                provenance=POLICE, mapping="entities: {p: foo}")
    assert caught.value.errors[0].field == "mapping: entities.p"
    headers = world.headers("analyst@a")
    assert client.get(f"/api/v1/network/entities/{2**64}", headers=headers).status_code == 422
    assert client.post("/api/v1/network/judgements", headers=headers, json={
        "left_id": 2**64, "right_id": 1, "decision": "accept"}).status_code == 422
