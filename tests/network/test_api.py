"""Network routes: import with provenance, search, entity, export, judgements."""

from __future__ import annotations

from tests.network.test_store import PEOPLE


def test_api_import_search_entity_export_judge(client, world):
    headers = world.headers("analyst@a")
    r = client.post("/api/v1/network/import", headers=headers,
                    files={"file": ("case.jsonl", PEOPLE)},
                    data={"source_grade": "B", "information_grade": "2", "handling": "H2"})
    assert r.status_code == 200, r.text
    assert r.json()["entities"] == 3 and r.json()["links"] == 2
    bad = client.post("/api/v1/network/import", headers=headers,
                      files={"file": ("x.jsonl", PEOPLE)}, data={"handling": "H9"})
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "handling"
    found = client.get("/api/v1/network/entities", headers=headers, params={"q": "piet"}).json()
    assert [e["caption"] for e in found] == ["Piet Bakker"]
    piet = found[0]["id"]
    page = client.get(f"/api/v1/network/entities/{piet}", headers=headers,
                      params={"purpose": "case 1"}).json()
    assert page["values"]["name"][0]["provenance"] == "AG-A B2 H2"
    near = client.get(f"/api/v1/network/entities/{piet}/neighbours", headers=headers).json()
    assert len(near["edges"]) == 1
    ftm = client.get("/api/v1/network/export", headers=headers, params={"format": "ftm"})
    assert ftm.status_code == 200 and ftm.text.count("\n") == 5
    anx = client.get("/api/v1/network/export", headers=headers, params={"format": "anx"})
    assert anx.text.startswith("<?xml") and "<Chart>" in anx.text
    jan = client.get("/api/v1/network/entities", headers=headers, params={"q": "jan"}).json()
    judged = client.post("/api/v1/network/judgements", headers=headers,
                         json={"left_id": piet, "right_id": jan[0]["id"], "decision": "reject",
                               "reason": "different people"})
    assert judged.status_code == 200 and judged.json()["username"] == "analyst@a"
    lab = client.get("/api/v1/network/entities", headers=world.headers("lab@a"))
    assert lab.status_code == 403


def test_api_resolution_queue_and_canonical(client, world):
    from tests.network.test_store import _lines

    headers = world.headers("analyst@a")
    data = _lines(
        {"id": "r1", "schema": "Person", "properties": {"name": ["Ana Lopez"],
                                                          "birthDate": ["1990-05-06"],
                                                          "idNumber": ["ES-55512"]}},
        {"id": "r2", "schema": "Person", "properties": {"name": ["LOPEZ Ana"],
                                                          "birthDate": ["1990-05-06"],
                                                          "idNumber": ["ES55512"]}})
    assert client.post("/api/v1/network/import", headers=headers,
                       files={"file": ("p.jsonl", data)}).status_code == 200
    run = client.post("/api/v1/network/resolution/run", headers=headers).json()
    assert run["suggested"] == 1
    queue = client.get("/api/v1/network/resolution/pending", headers=headers).json()
    assert len(queue) == 1 and queue[0]["explanation"]
    pair = queue[0]
    client.post("/api/v1/network/judgements", headers=headers,
                json={"left_id": pair["left_id"], "right_id": pair["right_id"],
                      "decision": "accept"})
    ids = client.get("/api/v1/network/resolution/canonical", headers=headers).json()
    assert ids[str(pair["left_id"])] == ids[str(pair["right_id"])]
    assert client.post("/api/v1/network/resolution/run",
                       headers=world.headers("targeter@a")).status_code == 403


def test_api_imports_a_matrix_and_a_mapped_table(client, world):
    from tests.network.test_store import MAPPING, TABLE

    headers = world.headers("analyst@a")
    matrix = b'"",a,b,c\n"a",0,2,0\n"b",1,0,3\n"c",0,0,0\n'
    r = client.post("/api/v1/network/import", headers=headers,
                    files={"file": ("ring.csv", matrix)},
                    data={"kind": "matrix", "namespace": "ring", "period": "2024-Q1"})
    assert r.status_code == 200, r.text
    assert r.json()["links"] == 3 and r.json()["kind"] == "matrix"
    bad = client.post("/api/v1/network/import", headers=headers,
                      files={"file": ("bad.csv", b'"",a,b\n"a",0,x\n"b",1,0\n')},
                      data={"kind": "matrix"})
    assert bad.status_code == 422 and "not a number" in bad.text
    r = client.post("/api/v1/network/import", headers=headers,
                    files={"file": ("reg.csv", TABLE.encode()),
                           "mapping": ("reg.yml", MAPPING.encode())},
                    data={"kind": "mapping"})
    assert r.status_code == 200 and r.json()["links"] == 2


def test_api_paths_carry_their_evidence(client, world):
    from tests.network.test_store import PEOPLE

    headers = world.headers("analyst@a")
    client.post("/api/v1/network/import", headers=headers, files={"file": ("c.jsonl", PEOPLE)})
    found = {e["caption"]: e["id"] for e in
             client.get("/api/v1/network/entities", headers=headers).json()}
    r = client.get("/api/v1/network/paths", headers=headers,
                   params={"source": found["Piet Bakker"], "target": found["Chem Trade BV"]})
    assert r.status_code == 200, r.text
    best = r.json()["shortest"][0]
    assert best["hops"] == 2
    schemas = [step["records"][0]["attrs"]["schema"] for step in best["steps"]]
    assert schemas == ["Associate", "Ownership"]
    lonely = client.post("/api/v1/network/import", headers=headers, files={"file": (
        "x.jsonl", b'{"id": "z", "schema": "Person", "properties": {"name": ["Zed"]}}\n')})
    assert lonely.status_code == 200
    zed = client.get("/api/v1/network/entities", headers=headers, params={"q": "zed"}).json()
    r = client.get("/api/v1/network/paths", headers=headers,
                   params={"source": zed[0]["id"], "target": found["Chem Trade BV"]})
    assert r.status_code == 404


def test_api_graph_exports_carry_metrics_and_reread(client, world):
    from xml.etree import ElementTree as ET

    from interdict.network.readers import read_edgelist
    from tests.network.test_store import PEOPLE

    headers = world.headers("analyst@a")
    client.post("/api/v1/network/import", headers=headers, files={"file": ("c.jsonl", PEOPLE)})
    graphml = client.get("/api/v1/network/export", headers=headers,
                         params={"format": "graphml"})
    assert graphml.status_code == 200
    root = ET.fromstring(graphml.text)
    keys = {k.get("attr.name") for k in root.iter("{http://graphml.graphdrawing.org/xmlns}key")}
    assert {"betweenness", "community", "label"} <= keys
    gexf = client.get("/api/v1/network/export", headers=headers, params={"format": "gexf"})
    assert gexf.status_code == 200 and "<gexf" in gexf.text
    csv_text = client.get("/api/v1/network/export", headers=headers,
                          params={"format": "csv"}).text
    again = read_edgelist(csv_text.encode(), directed=False, weighted=True)
    assert (again.n, again.number_of_records) == (3, 2)


def test_api_analysis_and_disruption(client, world):
    from tests.network.test_store import PEOPLE

    headers = world.headers("analyst@a")
    client.post("/api/v1/network/import", headers=headers, files={"file": ("c.jsonl", PEOPLE)})
    result = client.get("/api/v1/network/analysis", headers=headers).json()
    assert result["nodes"] == 3 and result["weight_as"] == "strength"
    jan = next(r for r in result["rows"] if r["label"] == "Jan de Vries")
    assert jan["rank"] == 1 and jan["betweenness"] == 1.0  # the only broker of the three
    curves = client.get("/api/v1/network/disruption", headers=headers).json()
    by = {c["strategy"]: c for c in curves}
    assert by["betweenness"]["removed_labels"][0] == "Jan de Vries"
    assert by["betweenness"]["lcc"][:2] == [3, 1]


def test_graph_reads_are_audited_as_consultations(client, world):
    from sqlalchemy import select

    from interdict.audit.models import AuditEvent
    from interdict.db.session import unit_of_work
    from tests.network.test_store import PEOPLE

    headers = world.headers("analyst@a")
    client.post("/api/v1/network/import", headers=headers, files={"file": ("c.jsonl", PEOPLE)})
    found = {e["caption"]: e["id"] for e in
             client.get("/api/v1/network/entities", headers=headers).json()}
    client.get(f"/api/v1/network/entities/{found['Jan de Vries']}/neighbours", headers=headers)
    client.get("/api/v1/network/paths", headers=headers,
               params={"source": found["Piet Bakker"], "target": found["Chem Trade BV"]})
    client.get("/api/v1/network/analysis", headers=headers)
    with unit_of_work(world.db, readonly=True) as session:
        viewed = {e.resource_id for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "record.viewed"))}
    assert {f"neighbours:{found['Jan de Vries']}", "analysis"} <= viewed
    assert f"paths:{found['Piet Bakker']}-{found['Chem Trade BV']}" in viewed
