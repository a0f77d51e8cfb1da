"""Seizures through the API on both databases: the import contract, entry, parties in the
entity graph, marks, lab profiles, links confirmed into the graph with a series alert, scoping.
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from interdict.alerts.models import Alert
from interdict.db.session import unit_of_work
from interdict.network.models import Entity, Link
from interdict.seizures.marks_generate import distort, stamp
from interdict.seizures.models import Seizure, SeizureLine, SeizureParty
from interdict.seizures.profiles_generate import generate_seizures

S = "/api/v1/seizures"
HEADER = ("reference,seized_at,country,place,latitude,longitude,operation,transport_mode,"
          "concealment,packaging,origin,transit,destination,consignment,handling,persons,"
          "companies,vehicles,vessels,phones,notes,substance,quantity,unit,purity,form")


def csv_file(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


GOOD = csv_file(
    "NL-24-001,2026-03-14T09:30:00+01:00,NL,Rotterdam port,51.95,4.05,OP-TULIP,sea,"
    "banana boxes,taped bricks,EC,PA,NL,,H1,Jan Visser | 1980-05-01,Fruit Import BV | 12345678,"
    "Scania truck | AB-12-CD,MSC Example | IMO 9321483,+31 6 1234 5678,,cocaine,120,kg,82,brick",
    "NL-24-001,,,,,,,,,,,,,,,,,,,,,heroin,3,kg,,powder",
    "NL-24-002,2026-04-02T14:00:00Z,BE,Antwerp,51.22,4.40,,sea,container wall,,EC,,BE,,H0,,,,,"
    "0032 470 12 34 56,,cannabis resin,40,kg,,slab",
)


def _import(client, h, data=GOOD, name="seizures.csv"):
    return client.post(f"{S}/import", headers=h, files={"file": (name, data)})


def test_import_is_all_or_nothing_idempotent_and_resolves_substances(client, world, db):
    h = world.headers("analyst@a")
    r = _import(client, h)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["seizures"] == 2 and receipt["created"] == 2 and receipt["lines"] == 3
    assert receipt["parties"] == 6 and receipt["already_imported"] is False
    again = _import(client, h).json()
    assert again["already_imported"] is True and again["import_id"] == receipt["import_id"]
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Seizure)) == 2
        lines = {ln.substance_input: (ln.status, ln.quantity_kg, ln.substance)
                 for ln in s.scalars(select(SeizureLine))}
        parties = {(p.role, p.identifier) for p in s.scalars(select(SeizureParty))}
    # Control status and the lists' name come from the substances service.
    assert lines["cocaine"][:2] == ("controlled", 120)
    assert lines["cannabis resin"][2] == "Cannabis resin"
    assert {("phone", "+31612345678"), ("phone", "+32470123456"), ("vessel", "9321483"),
            ("vehicle", "AB12CD"), ("company", "12345678")} <= parties
    detail = client.get(f"{S}/{receipt['seizure_ids'][0]}", headers=h).json()
    assert detail["substances"][0]["schedules"]
    assert detail["origin"] == "EC" and detail["destination"] == "NL"
    assert detail["transit"] == ["PA"] and detail["offset"] == "+01:00"
    assert detail["seized_at"].startswith("2026-03-14T08:30:00")


def test_bad_rows_refuse_the_file_naming_row_and_field(client, world, db):
    h = world.headers("analyst@a")
    bad = csv_file(
        "X-1,2026-03-14T09:30:00,NL,,91,4,,,,,,,,,,,,,,,,cocaine,1,kg,,powder",
        "X-2,2026-03-14T09:30:00+01:00,XX,,,,,boat,,,,,,,H9,,,,,12345,,kryptonite,1,"
        "bushels,120,granules",
        "X-3,2026-03-14T09:30:00+01:00,NL,,,,,,,,,,,,,,,,,,,cocaine,-2,kg,,powder",
    )
    r = _import(client, h, bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["errors"]}
    assert {"row 2: seized_at", "row 2: latitude", "row 3: country",
            "row 3: transport_mode", "row 3: handling", "row 3: phones", "row 3: substance",
            "row 3: unit", "row 3: purity", "row 3: form", "row 4: quantity"} <= fields
    reasons = {e["field"]: e["reason"] for e in r.json()["error"]["errors"]}
    assert "no UTC offset" in reasons["row 2: seized_at"]
    assert "out of range" in reasons["row 2: latitude"]
    assert "kryptonite" in reasons["row 3: substance"]
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Seizure)) == 0
    # Two rows of one seizure that disagree on the seizure's own columns.
    clash = csv_file("Y-1,2026-03-14T09:30:00+01:00,NL,,,,,,,,,,,,,,,,,,,cocaine,1,kg,,powder",
                     "Y-1,2026-03-15T09:30:00+01:00,NL,,,,,,,,,,,,,,,,,,,heroin,1,kg,,powder")
    r = _import(client, h, clash)
    assert r.status_code == 422 and "differs from row 2" in r.text
    # Malformed CSV and unknown columns are named too.
    r = _import(client, h, b"reference,seized_at,colour\nA,B,C\n")
    assert r.status_code == 422
    assert {"colour", "substance"} <= {e["field"] for e in r.json()["error"]["errors"]}
    assert _import(client, h, b"\xff\xfe\x00garbage").status_code == 422
    # A held reference with other content is refused; the held record is unchanged.
    assert _import(client, h).status_code == 200
    changed = GOOD.replace(b"Rotterdam port", b"Vlissingen")
    r = _import(client, h, changed, "changed.csv")
    assert r.status_code == 422 and "already recorded with other content" in r.text
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(Seizure.place).where(Seizure.reference == "NL-24-001")) \
            == "Rotterdam port"


def test_json_lines_import_and_nested_entry(client, world):
    h = world.headers("targeter@a")
    rows = [{"reference": "J-1", "seized_at": "2026-05-01T10:00:00+02:00", "country": "DE",
             "transit": ["NL", "BE"], "phones": ["+49 1512 3456789"], "substance": "heroin",
             "quantity": 2.5, "unit": "kg", "form": "powder", "purity": 41},
            {"reference": "J-1", "substance": "MDMA", "quantity": 900, "unit": "tablets",
             "form": "tablet"}]
    data = "\n".join(json.dumps(r) for r in rows).encode()
    r = _import(client, h, data, "seizures.jsonl")
    assert r.status_code == 200, r.text
    assert r.json()["lines"] == 2
    body = {"reference": "F-1", "seized_at": "2026-05-02T08:00:00Z", "country": "fr",
            "substances": [{"substance": "cocaine", "quantity": "1.5", "unit": "kg",
                            "form": "powder"},
                           {"substance": "amphetamine", "quantity": 3, "unit": "bags",
                            "form": "powder"}]}
    r = client.post(S, headers=h, json=body)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["error"]["errors"]] == ["substances[1].unit"]
    body["substances"][1]["unit"] = "g"
    made = client.post(S, headers=h, json=body)
    assert made.status_code == 200 and made.json()["created"] is True
    assert client.post(S, headers=h, json=body).json() == {"id": made.json()["id"],
                                                           "created": False}
    body["place"] = "Lyon"
    assert client.post(S, headers=h, json=body).status_code == 409
    r = client.post(S, headers=h, json={"reference": "F-2", "seized_at": "2026-05-02",
                                        "country": "FR", "latitude": 10, "substances": []})
    assert r.status_code == 422


def test_parties_enter_the_entity_graph_and_join_call_records(client, world, db):
    h = world.headers("analyst@a")
    receipt = _import(client, h).json()
    assert receipt["graph"]["links"] == 6
    with unit_of_work(db, readonly=True) as s:
        phone = s.scalar(select(Entity).where(Entity.ftm_id == "phone:+31612345678"))
        event = s.scalar(select(Entity).where(Entity.schema == "Event"))
        assert phone is not None and phone.schema == "LegalEntity"
        assert event is not None and event.caption.startswith("Seizure ")
        n_links = s.scalar(select(func.count()).select_from(Link))
    assert n_links == 6
    detail = client.get(f"{S}/{receipt['seizure_ids'][0]}", headers=h).json()
    assert all(p["entity_id"] for p in detail["parties"])
    # The same number in a call-record file is the same node.
    cdr = b"caller,callee,start,duration\n+31612345678,+32470123456,2026-03-13T20:00:00Z,60\n"
    r = client.post("/api/v1/network/import", headers=h, data={"kind": "cdr", "originator":
                    world.agencies["A"].code}, files={"file": ("calls.csv", cdr)})
    assert r.status_code == 200, r.text
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Entity).where(
            Entity.ftm_id == "phone:+31612345678")) == 1


def _png(img: np.ndarray) -> bytes:
    out = io.BytesIO()
    arr = img[:, :, ::-1] if img.ndim == 3 else img
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


def _photo(logo: int, salt: int) -> bytes:
    return _png(distort(stamp(logo, 5), np.random.default_rng([logo, salt]), strength=0.6))


def _seizure(client, h, ref, country, substance="cannabis resin", **extra):
    body = {"reference": ref, "seized_at": "2026-06-01T10:00:00+00:00", "country": country,
            "substances": [{"substance": substance, "quantity": 10, "unit": "kg",
                            "form": "brick"}], **extra}
    r = client.post(S, headers=h, json=body)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_marks_are_stored_checked_and_found_again(client, world):
    h = world.headers("analyst@a")
    ids = [_seizure(client, h, f"M-{i}", c) for i, c in enumerate(["ES", "FR", "NL", "MA"])]
    for seizure_id, logo in zip(ids[:3], (1, 2, 3), strict=True):
        r = client.post(f"{S}/{seizure_id}/marks", headers=h,
                        files={"image": ("m.png", _photo(logo, 0))},
                        data={"kind": "stamp", "shape": "round", "width_mm": "40"})
        assert r.status_code == 200, r.text
        assert r.json()["created"] and len(r.json()["checksum"]) == 64
    # Same picture again: the stored mark, not a second one.
    again = client.post(f"{S}/{ids[0]}/marks", headers=h,
                        files={"image": ("m.png", _photo(1, 0))}).json()
    assert again["created"] is False
    thumb = client.get(f"{S}/marks/{again['id']}/image?thumbnail=true", headers=h)
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256
    # Another photo of logo 2 (rotated, lit and cropped otherwise) finds seizure M-1 first.
    r = client.post(f"{S}/marks/search", headers=h, files={"image": ("q.png", _photo(2, 9))})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["seizure"]["reference"] == "M-1" and results[0]["stage"] == "verified"
    assert [x["score"] for x in results] == sorted((x["score"] for x in results), reverse=True)
    # Attribute filters apply before ranking.
    r = client.post(f"{S}/marks/search", headers=h, data={"shape": "square"},
                    files={"image": ("q.png", _photo(2, 9))})
    assert r.json()["results"] == [] and r.json()["searched"] == 0
    # Bad pictures are refused with the field and the reason; nothing is stored.
    for data, reason in ((b"%PDF-1.4 not an image", "not an image"),
                         (_bomb(), "decompression bomb")):
        r = client.post(f"{S}/{ids[3]}/marks", headers=h, files={"image": ("x.png", data)})
        assert r.status_code == 422
        err = r.json()["error"]["errors"][0]
        assert err["field"] == "image" and reason in err["reason"]
    assert client.get(f"{S}/{ids[3]}", headers=h).json()["marks"] == []
    r = client.post(f"{S}/{ids[3]}/marks", headers=h, data={"width_mm": "-3"},
                    files={"image": ("m.png", _photo(4, 0))})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "width_mm"


def _bomb() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_links_from_marks_and_chemistry_confirmed_into_graph_with_series_alert(
        client, world, db):
    h = world.headers("analyst@a")
    a = _seizure(client, h, "L-ES", "ES", origin="MA", destination="ES")
    b = _seizure(client, h, "L-FR", "FR", origin="MA", destination="FR")
    c = _seizure(client, h, "L-NL", "NL", substance="cocaine")
    d = _seizure(client, h, "L-BE", "BE", substance="cocaine")
    for seizure_id, salt in ((a, 1), (b, 2)):
        assert client.post(f"{S}/{seizure_id}/marks", headers=h,
                           files={"image": ("m.png", _photo(9, salt))}).status_code == 200
    assert client.post(f"{S}/{c}/marks", headers=h,
                       files={"image": ("m.png", _photo(10, 1))}).status_code == 200
    # Two seizures of one cocaine batch (generated lab reports) and nothing else.
    batch = [g for g in generate_seizures(3, seizures_per_batch=(2, 2), drugs=("cocaine",),
                                          seed=3, within_sd=0.03, keep_cut_prob=1.0,
                                          missing_minor_prob=0.0, loq=0.0) if g.batch_id == "B001"]
    for seizure_id, g in zip((c, d), batch, strict=True):
        r = client.post(f"{S}/{seizure_id}/profiles", headers=h, json=g.profile.as_report())
        assert r.status_code == 200, r.text
    bad = client.post(f"{S}/{c}/profiles", headers=h,
                      json={"substance": "cocaine", "unit": "mg/g", "purity": 140,
                            "components": {"norcocaine": -1}})
    assert bad.status_code == 422
    assert {"purity", "components.norcocaine"} <= {e["field"] for e in
                                                    bad.json()["error"]["errors"]}
    found = client.post(f"{S}/links/find", headers=h).json()
    pairs = {(x["a"]["reference"], x["b"]["reference"]): x for x in found["links"]}
    mark_link = pairs[("L-ES", "L-FR")]
    assert "mark" in mark_link["kinds"] and "route" in mark_link["kinds"]
    assert mark_link["evidence"]["marks"][0]["inliers"] >= 6
    chem_link = pairs[("L-NL", "L-BE")]
    assert chem_link["kinds"][0] == "chemistry"
    assert chem_link["evidence"]["chemistry"]["score"] >= found["threshold"]["value"]
    assert 0 <= found["threshold"]["false_link_rate"] <= 0.01
    assert not any("L-NL" in p and "L-ES" in p for p in pairs)
    # Finding again does not duplicate candidates.
    again = client.post(f"{S}/links/find", headers=h).json()
    assert sorted(x["id"] for x in again["links"]) == sorted(x["id"] for x in found["links"])
    # Confirm: a link between the two seizure events in the graph, and a series alert.
    r = client.post(f"{S}/links/{mark_link['id']}/decision", headers=h,
                    json={"decision": "confirm", "note": "same press"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["graph"]["links"] == 1
    with unit_of_work(db, readonly=True) as s:
        events = dict(s.execute(select(Entity.caption, Entity.id).where(
            Entity.schema == "Event")).all())
        link = s.scalar(select(Link).where(Link.source_id == events["Seizure L-ES"],
                                           Link.target_id == events["Seizure L-FR"]))
        assert link is not None and link.schema == "UnknownLink"
        alert = s.get(Alert, r.json()["alert_id"])
        assert alert is not None and "stamp series" in alert.title
        assert "2 countries (ES, FR)" in alert.title
    near = client.get(f"/api/v1/network/entities/{events['Seizure L-ES']}/neighbours",
                      headers=h)
    assert near.status_code == 200 and str(events["Seizure L-FR"]) in near.text
    series = client.get(f"{S}/{a}/series", headers=h).json()
    assert series["countries"] == ["ES", "FR"] and len(series["seizures"]) == 2
    assert len(series["marks"]) == 2
    r = client.post(f"{S}/links/{chem_link['id']}/decision", headers=h,
                    json={"decision": "reject"})
    assert r.json()["status"] == "rejected" and r.json()["alert_id"] is None
    assert [x["status"] for x in client.get(f"{S}/links?status=rejected",
                                            headers=h).json()] == ["rejected"]


def test_agencies_see_only_their_seizures_and_roles_are_enforced(client, world):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    sid = _seizure(client, ha, "A-1", "NL")
    assert client.get(f"{S}/{sid}", headers=hb).status_code == 404
    assert client.get(S, headers=hb).json() == []
    assert client.post(f"{S}/{sid}/marks", headers=hb,
                       files={"image": ("m.png", _photo(1, 0))}).status_code == 404
    # A lab may add profiles but not confirm links; an operator sees nothing.
    assert client.post(f"{S}/links/find", headers=world.headers("lab@a")).status_code == 403
    assert client.get(S, headers=world.headers("operator@a")).status_code == 403


def test_map_and_dashboard(client, world):
    h = world.headers("analyst@a")
    _import(client, h)
    m = client.get(f"{S}/map", headers=h).json()
    refs = {p["reference"]: p for p in m["points"]}
    assert refs["NL-24-001"]["lat"] == 51.95 and refs["NL-24-001"]["approximate"] is False
    legs = {(f["from"], f["to"]): f["count"] for f in m["flows"]}
    assert legs[("EC", "PA")] == 1 and legs[("PA", "NL")] == 1 and legs[("EC", "BE")] == 1
    d = client.get(f"{S}/dashboard", headers=h).json()
    assert {r["substance"] for r in d["by_substance"]} >= {"Cocaine", "Cannabis resin"}
    assert {r["country"]: r["seizures"] for r in d["by_country"]} == {"NL": 1, "BE": 1}


def test_sharing_under_the_handling_code_lets_a_partner_see_and_search(client, world, db):
    ha, hb = world.headers("supervisor@a"), world.headers("analyst@b")
    analyst = world.headers("analyst@a")
    sid = _seizure(client, analyst, "SH-1", "NL", handling="H2")
    assert client.post(f"{S}/{sid}/marks", headers=analyst,
                       files={"image": ("m.png", _photo(9, 1))}).status_code == 200
    assert client.get(f"{S}/{sid}", headers=hb).status_code == 404
    r = client.post(f"{S}/{sid}/share", headers=ha, json={"agency": "AG-B",
                                                          "justification": "joint case"})
    assert r.status_code == 200, r.text
    assert r.json()["handling_code"] == "H2"
    seen = client.get(f"{S}/{sid}", headers=hb).json()
    assert seen["owner"] == "AG-A" and seen["handling"] == "H2" and seen["shares"] == []
    assert client.get(f"{S}/{sid}", headers=ha).json()["shares"][0]["agency"] == "AG-B"
    found = client.post(f"{S}/marks/search", headers=hb,
                        files={"image": ("q.png", _photo(9, 3))}).json()["results"]
    assert found[0]["seizure"]["reference"] == "SH-1"
    # The partner cannot pass it on, add to it or link it; a justification is required.
    r = client.post(f"{S}/{sid}/share", headers=world.headers("supervisor@b"),
                    json={"agency": "AG-A", "justification": "x"})
    assert r.status_code == 404
    assert client.post(f"{S}/{sid}/marks", headers=hb,
                       files={"image": ("m.png", _photo(10, 1))}).status_code == 404
    r = client.post(f"{S}/{sid}/share", headers=ha, json={"agency": "AG-B",
                                                          "justification": ""})
    assert r.status_code == 422
    with unit_of_work(db, readonly=True) as s:
        from interdict.audit.models import AuditEvent
        disclosed = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "record.disclosed",
            AuditEvent.resource_type == "seizures.seizure")).all()
        assert [(e.recipient, e.justification) for e in disclosed] == [("AG-B", "joint case")]


def test_a_seizure_is_corrected_with_its_old_values_in_the_audit_log(client, world, db):
    h = world.headers("analyst@a")
    receipt = _import(client, h).json()
    sid = receipt["seizure_ids"][0]
    body = client.get(f"{S}/{sid}", headers=h).json()
    form = {"reference": "NL-24-001", "seized_at": "2026-03-14T09:30:00+01:00",
            "country": "NL", "place": "Vlissingen", "latitude": 51.44, "longitude": 3.57,
            "transport_mode": "sea", "origin": "EC", "transit": ["PA"], "destination": "NL",
            "handling": "H1", "phones": ["+31 6 1234 5678", "+32 470 99 88 77"],
            "substances": [{"substance": "cocaine", "quantity": 121, "unit": "kg",
                            "purity": 82, "form": "brick"}]}
    r = client.put(f"{S}/{sid}", headers=h, json=form)
    assert r.status_code == 200 and r.json() == {"id": sid, "changed": True}
    after = client.get(f"{S}/{sid}", headers=h).json()
    assert after["place"] == "Vlissingen" and len(after["substances"]) == 1
    assert {p["identifier"] for p in after["parties"]} == {"+31612345678", "+32470998877"}
    assert all(p["entity_id"] for p in after["parties"])
    assert body["place"] == "Rotterdam port"
    assert client.put(f"{S}/{sid}", headers=h, json=form).json()["changed"] is False
    r = client.put(f"{S}/{sid}", headers=h, json={**form, "reference": "OTHER"})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "reference"
    r = client.put(f"{S}/{sid}", headers=h, json={**form, "latitude": 100})
    assert r.status_code == 422
    assert client.put(f"{S}/{sid}", headers=world.headers("analyst@b"),
                      json=form).status_code == 404
    with unit_of_work(db, readonly=True) as s:
        from interdict.audit.models import AuditEvent
        changes = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "record.changed",
            AuditEvent.resource_type == "seizures.seizure")).all()
        assert len(changes) == 1
        details = changes[0].details
        assert details["before"]["place"] == "Rotterdam port"
        assert "substances" in details["changed"] and "place" in details["changed"]
    # The file with the old content is now refused for that reference, saying how to correct.
    r = _import(client, h, GOOD.replace(b"H0,,,,,", b"H0,,,,, "), "old.csv")
    assert r.status_code == 422 and "correct it on its page" in r.text
