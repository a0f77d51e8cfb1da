"""``interdict network`` on files: analyze, disrupt, paths, timeline, export.

Runs through the root ``interdict`` command (its ``--json`` flag and its error handling)
once the ``network`` group is registered there; until then through the group itself with
the same context object the root command would build.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner, Result

from interdict.cli.context import CliContext
from interdict.cli.main import cli
from interdict.config import Settings
from interdict.errors import InvalidData
from interdict.network.cli import network
from interdict.network.readers import read_edgelist

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "networks"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared networks not found at {DATA}")
REGISTERED = "network" in cli.commands

MATRIX = ",a,b,c,d\na,0,3,0,0\nb,1,0,2,0\nc,0,0,0,1\nd,0,0,0,0\n"


def run(*args: str, json_output: bool = True) -> Result:
    if REGISTERED:
        root = ["--json"] if json_output else []
        return CliRunner().invoke(cli, [*root, "network", *args])
    obj = CliContext(settings=Settings(), agency_code=None, json_output=json_output)
    return CliRunner().invoke(network, list(args), obj=obj)


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    path = tmp_path / "net.csv"
    path.write_text(MATRIX)
    return path


def test_analyze_json(matrix: Path):
    r = run("analyze", str(matrix), "--directed", "--weighted")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["nodes"], data["edges"], data["components"]) == (4, 4, 1)
    assert data["weight_as"] == "strength" and data["directed"] is True
    assert set(data["metrics"]["b"]) >= {"degree", "in_degree", "out_degree", "strength",
                                         "betweenness", "closeness", "eigenvector",
                                         "pagerank", "katz", "community"}
    g = nx.DiGraph()
    for u, v, w in [("a", "b", 3), ("b", "a", 1), ("b", "c", 2), ("c", "d", 1)]:
        g.add_edge(u, v, distance=1 / w)
    bet = nx.betweenness_centrality(g, weight="distance")
    assert {n: data["metrics"][n]["betweenness"] for n in g} == pytest.approx(bet)
    assert data["metrics"]["b"]["degree"] == pytest.approx(3 / 3)  # in 2 + out 1, n - 1 = 3
    assert data["metrics"]["b"]["strength"] == 6
    assert data["key_players"][0] == "b"
    r = run("analyze", str(matrix), "--weight-as", "distance", "--communities", "louvain")
    assert json.loads(r.stdout)["weight_as"] == "distance"


def test_analyze_table(matrix: Path):
    r = run("analyze", str(matrix), "--top", "2", json_output=False)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("net.csv: 4 nodes, 3 edges, 1 component(s), undirected")
    assert "betweenness" in lines[2] and lines[3].split()[:2] == ["1", "b"]
    assert "key players: mean rank" in r.stdout
    assert "not symmetric" in r.stdout


def test_analyze_with_groups(tmp_path: Path, matrix: Path):
    groups = tmp_path / "groups.csv"
    groups.write_text(",team\na,x\nb,y\nc,x\nd,x\n")
    r = run("analyze", str(matrix), "--directed", "--groups", str(groups), "--group-by", "team")
    assert r.exit_code == 0, r.output
    roles = json.loads(r.stdout)["metrics"]["b"]["brokerage"]
    assert roles["itinerant"] == 1  # a -> b -> c: a and c in x, b in y
    r = run("analyze", str(matrix), "--groups", str(groups))
    assert r.exit_code == 2 and "--group-by" in r.output


def test_disrupt(matrix: Path):
    r = run("disrupt", str(matrix), "--strategy", "betweenness", "--mode", "sequential")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["strategy"] == "betweenness" and data["mode"] == "sequential"
    assert data["lcc"] == [4, 2, 1] and data["removed"] == ["b", "c"]
    r = run("disrupt", str(matrix), "--strategy", "random", "--mode", "block",
            "--block-size", "2", "--directed", "--seed", "4")
    data = json.loads(r.stdout)
    assert data["lcc"][0] == 4 and len(data["removed"]) % 2 == 0
    assert data["lcc_of"].startswith("weakly")
    r = run("disrupt", str(matrix), "--strategy", "degree", json_output=False)
    assert "step" in r.stdout and "robustness R" in r.stdout
    r = run("disrupt", str(matrix), "--strategy", "fame")
    assert r.exit_code == 2


def test_paths_with_evidence(tmp_path: Path):
    edges = tmp_path / "calls.csv"
    edges.write_text("caller,callee,calls,phase\na,b,2,p1\nb,c,4,p2\na,c,1,p3\na,b,1,p2\n")
    r = run("paths", str(edges), "a", "c", "--weighted", "--max-hops", "2")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    # 3 calls a-b and 4 calls b-c make them closer (1/3 + 1/4) than the single call a-c.
    assert [p["nodes"] for p in data["shortest"]] == [["a", "b", "c"]]
    assert data["shortest"][0]["steps"][0]["records"][0]["period"] == "p1"
    assert sorted(p["nodes"] for p in data["short"]) == [["a", "b", "c"], ["a", "c"]]
    r = run("paths", str(edges), "a", "c", json_output=False)
    assert "a -> c" in r.stdout and "record(s)" in r.stdout


@needs_data
def test_timeline_caviar_phases():
    files = [str(DATA / f"caviar/phases_mitx/phase{k}.csv") for k in range(1, 12)]
    r = run("timeline", *files, "--directed", "--weighted", "--metric", "betweenness")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["periods"][0] == "phase1" and data["periods"][-1] == "phase11"
    assert data["actors"]["1"]["ranks"][0] == 1
    r = run("timeline", *files[:3], "--top", "2", json_output=False)
    assert "phase1" in r.stdout.splitlines()[1]


def test_export_formats(tmp_path: Path, matrix: Path):
    out = tmp_path / "net.graphml"
    r = run("export", str(matrix), "--to", "graphml", str(out), "--metrics", "--directed",
            "--weighted")
    assert r.exit_code == 0, r.output
    g = nx.read_graphml(out)
    assert g.is_directed() and g.nodes["b"]["label"] == "b"
    assert "betweenness" in g.nodes["b"] and "community" in g.nodes["b"]
    assert g["a"]["b"]["weight"] == 3.0
    gexf = tmp_path / "net.gexf"
    assert run("export", str(matrix), "--to", "gexf", str(gexf)).exit_code == 0
    assert nx.read_gexf(gexf).number_of_edges() == 3
    csv_out = tmp_path / "edges.csv"
    r = run("export", str(matrix), "--to", "csv", str(csv_out), "--metrics", "--directed")
    assert json.loads(r.stdout)["written"] == [str(csv_out), str(tmp_path / "edges.nodes.csv")]
    back = read_edgelist(csv_out, directed=True, weighted=True)
    assert back.number_of_records == 4 and back.record(0).weight == 3.0
    assert "pagerank" in (tmp_path / "edges.nodes.csv").read_text().splitlines()[0]


def test_bad_input_names_row_and_column(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text(",a,b\na,0,x\nb,1,0\n")
    r = run("analyze", str(bad))
    if REGISTERED:
        assert r.exit_code == 2
        assert "row 2 ('a'), column 3 ('b'): 'x' is not a number" in r.stderr
    else:
        assert isinstance(r.exception, InvalidData)
        assert r.exception.errors[0].field == "row 2 ('a'), column 3 ('b')"
    r = run("analyze", str(tmp_path / "missing.csv"))
    assert r.exit_code == 2
