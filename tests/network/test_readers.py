"""Reading matrices, edge lists and attribute tables: every shared network loads with the
counts its SOURCES.md states, and bad input is refused whole with the row and column named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interdict.errors import InvalidData
from interdict.network.graph import EdgeRecord, Graph
from interdict.network.readers import (
    detect_format,
    natural_key,
    read_edgelist,
    read_graph,
    read_matrix,
    read_node_attributes,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "networks"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared networks not found at {DATA}")

# file: (n, arcs read as directed, undirected edges, weak components, largest), from
# SOURCES.md (CAVIAR7 of Anastasiadis has the duplicated actor 9: one node and arc more).
EXPECTED = {
    **{f"caviar/phases_mitx/phase{k}.csv": v for k, v in enumerate([
        (15, 26, 18, 1, 15), (24, 35, 28, 1, 24), (33, 68, 56, 1, 33), (33, 65, 48, 1, 33),
        (32, 50, 39, 1, 32), (27, 68, 47, 1, 27), (36, 63, 49, 2, 30), (42, 75, 58, 1, 42),
        (34, 60, 44, 1, 34), (42, 68, 50, 3, 31), (41, 72, 50, 2, 39)], start=1)},
    "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv": (110, 295, 205, 1, 110),
    "caviar/anastasiadis2024/CAVIAR_FULL_Undirected.csv": (110, 410, 205, 1, 110),
    "caviar/anastasiadis2024/CAVIAR7.csv": (37, 64, 50, 2, 31),
    "ciel/CIELNET.csv": (25, 45, 35, 1, 25),
    "natarajan_heroin/natajaran_heroin.csv": (38, 168, 87, 1, 38),
    "natarajan_cocaine/natajaran_cocaine.csv": (28, 40, 40, 1, 28),
    "cocaine_smuggling_spain/COCAINE_ACERO.csv": (25, 70, 37, 1, 25),
    "cocaine_smuggling_spain/COCAINE_JAKE.csv": (38, 68, 50, 1, 38),
    "cocaine_smuggling_spain/COCAINE_JUANES.csv": (51, 171, 93, 1, 51),
    "cocaine_smuggling_spain/COCAINE_MAMBO.csv": (31, 110, 58, 1, 31),
    "montagna/Montagna_meetings_edgelist.csv": (101, 289, 256, 5, 92),
    "montagna/Montagna_phonecalls_edgelist.csv": (100, 150, 124, 5, 89),
    "oversize/berlusconietal_oversize.csv": (89, 292, 146, 2, 85),
    "siren/SIREN.csv": (44, 206, 103, 1, 44),
    "togo/morselli_togo.csv": (33, 94, 47, 1, 33),
    "french_connection/macdonald_tfc.csv": (112, 722, 361, 1, 112),
    "drugnet/DRUGNET.csv": (293, 337, 284, 90, 193),
}
for _k in range(1, 12):
    if _k != 7:
        EXPECTED[f"caviar/anastasiadis2024/CAVIAR{_k}.csv"] = \
            EXPECTED[f"caviar/phases_mitx/phase{_k}.csv"]


def _largest(graph: Graph) -> int:
    _, labels = graph.adjacency().components()
    return int(np.bincount(labels).max())


@needs_data
def test_every_shared_file_is_covered():
    files = {str(p.relative_to(DATA)) for p in DATA.rglob("*.csv")}
    special = {"drugnet/DRUGATTR.csv", "montagna/montagna_kinship_macdonald.csv"}
    assert files - special == set(EXPECTED)


@needs_data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_networks_load_with_their_documented_counts(name):
    n, arcs, edges, components, largest = EXPECTED[name]
    directed = read_graph(DATA / name, directed=True, weighted=True)
    undirected = read_graph(DATA / name, directed=False, weighted=True)
    assert directed.n == undirected.n == n
    assert directed.adjacency().m == arcs
    assert undirected.adjacency().m == edges
    assert undirected.adjacency().components()[0] == components
    assert _largest(undirected) == largest


@needs_data
def test_caviar_weights_and_symmetrisation():
    full = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv")
    adj = full.adjacency()
    assert adj.weight.sum() == 3546
    assert adj.weight[adj.edge(full.index["1"], full.index["3"])] == 337
    # Read as undirected, both directions add up: the published A + A^T matrix.
    und = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv",
                      directed=False)
    sym = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Undirected.csv",
                      directed=False)
    assert und.ids == sym.ids
    assert np.array_equal(und.adjacency().weight, sym.adjacency().weight)
    assert sym.adjacency().weight.max() == 489
    assert any("not symmetric" in n for n in und.notes) and not sym.notes
    maxed = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv",
                        directed=False, symmetrize="max")
    assert maxed.adjacency().weight.max() == 337


@needs_data
def test_caviar7_duplicate_label_is_loaded_and_reported():
    path = DATA / "caviar/anastasiadis2024/CAVIAR7.csv"
    g = read_matrix(path)
    assert g.n == 37 and "9" in g.index and "9#2" in g.index
    assert g.label("9#2") == "9"
    assert any("'9' at rows/columns 9, 15" in n for n in g.notes)
    assert [r.source for r in g.records_between(g.index["3"], g.index["9#2"])] == ["3"]
    merged = read_matrix(path, duplicate_labels="merge")
    assert merged.n == 36
    assert merged.records_between(merged.index["3"], merged.index["9"])[0].weight == 13
    with pytest.raises(InvalidData) as exc:
        read_matrix(path, duplicate_labels="error")
    assert exc.value.errors[0].field == "label '9'"


@needs_data
def test_phase_files_agree_between_the_two_copies():
    for k in (1, 5, 11):
        a = read_matrix(DATA / f"caviar/phases_mitx/phase{k}.csv")
        b = read_matrix(DATA / f"caviar/anastasiadis2024/CAVIAR{k}.csv")
        assert a.ids == b.ids
        assert np.array_equal(a.adjacency().weight, b.adjacency().weight)


@needs_data
def test_kinship_edge_list_keeps_relations_as_attributes():
    g = read_graph(DATA / "montagna/montagna_kinship_macdonald.csv")
    assert detect_format(DATA / "montagna/montagna_kinship_macdonald.csv") == "edgelist"
    assert g.n == 19 and g.number_of_records == 24
    first = g.record(0)
    assert (first.source, first.target, first.weight) == ("N11", "N13", 1.0)
    assert first.attrs == {"relation": "uncle-nephew"}


@needs_data
def test_montagna_rows_both_ways_add_up_when_undirected():
    g = read_edgelist(DATA / "montagna/Montagna_phonecalls_edgelist.csv", weighted=True)
    adj = g.adjacency()
    assert adj.weight[adj.edge(g.index["18"], g.index["19"])] == 5 + 6
    d = read_edgelist(DATA / "montagna/Montagna_phonecalls_edgelist.csv", directed=True,
                      weighted=True).adjacency()
    assert d.m == 150


@needs_data
def test_drugnet_attributes():
    attrs = read_node_attributes(DATA / "drugnet/DRUGATTR.csv")
    g = read_matrix(DATA / "drugnet/DRUGNET.csv")
    assert set(attrs) == set(g.ids)
    assert set(attrs["1"]) == {"Ethnicity", "Gender", "HasTie"}
    with pytest.raises(InvalidData, match="not a valid adjacency matrix"):
        read_matrix(DATA / "drugnet/DRUGATTR.csv")


# --- bad matrices ---------------------------------------------------------------------------


def _fields(exc: pytest.ExceptionInfo[InvalidData]) -> dict[str, str]:
    return {e.field: e.reason for e in exc.value.errors}


def test_matrix_not_square():
    with pytest.raises(InvalidData, match="nothing was loaded") as exc:
        read_matrix(b",a,b,c\na,0,1,0\nb,1,0,1\n")
    assert "3 column labels but 2 rows" in _fields(exc)["matrix"]


def test_matrix_label_row_does_not_match_columns():
    with pytest.raises(InvalidData) as exc:
        read_matrix(b",a,b,c\na,0,1,0\nc,1,0,1\nb,0,1,0\n")
    fields = _fields(exc)
    assert "label 'c' does not match column 2 label 'b'" in fields["row 3"]
    assert "same order" in fields["row 3"]


def test_matrix_ragged_row():
    with pytest.raises(InvalidData) as exc:
        read_matrix(b",a,b\na,0,1\nb,1\n")
    assert _fields(exc)["row 3 ('b')"] == "has 1 values, expected 2"


def test_matrix_non_numeric_negative_and_empty_cells_name_row_and_column():
    with pytest.raises(InvalidData) as exc:
        read_matrix(b",a,b,c\na,0,x,0\nb,-2,0,\nc,0,inf,0\n")
    fields = _fields(exc)
    assert fields["row 2 ('a'), column 3 ('b')"] == "'x' is not a number"
    assert fields["row 3 ('b'), column 2 ('a')"] == "negative weight -2"
    assert fields["row 3 ('b'), column 4 ('c')"] == "empty cell"
    assert fields["row 4 ('c'), column 3 ('b')"] == "'inf' is not a number"
    assert "4 problem(s)" in exc.value.detail


def test_matrix_errors_are_capped_but_counted():
    size = 30
    header = "," + ",".join(f"n{i}" for i in range(size))
    rows = [f"n{i}," + ",".join("x" for _ in range(size)) for i in range(size)]
    with pytest.raises(InvalidData) as exc:
        read_matrix("\n".join([header, *rows]).encode())
    assert len(exc.value.errors) == 20 and "900 problem(s) (first 20 listed)" in exc.value.detail


def test_matrix_formats_bom_crlf_quotes_corner_and_tabs():
    text = '\ufeff"players","a b","c"\r\n"a b",0,2\r\n"c",1,0\r\n'.encode()
    g = read_matrix(text)
    assert g.ids == ("a b", "c") and g.number_of_records == 2
    tabbed = read_matrix(b"a\tb\na\t0\t3\nb\t0\t0\n")  # no corner cell
    assert tabbed.ids == ("a", "b") and tabbed.record(0).weight == 3
    assert detect_format(text) == "matrix"
    assert detect_format(b"a b\nb a\n") == "edgelist"


def test_matrix_diagonal_is_kept_but_noted():
    g = read_matrix(b",a,b\na,4,1\nb,0,0\n")
    assert g.number_of_records == 2 and g.adjacency().m == 1
    assert g.adjacency().self_loops == 1 and "diagonal" in g.notes[0]


def test_non_utf8_is_refused():
    with pytest.raises(InvalidData, match="not UTF-8"):
        read_matrix(b",a\n\xff,0\n")


# --- edge lists -----------------------------------------------------------------------------


def test_edgelist_plain_whitespace_and_comments():
    g = read_edgelist(b"# calls\n1 2 3\n2  3\n% other comment\n\n3\t1\t2.5\n",
                      weighted=True, directed=True)
    assert g.ids == ("1", "2", "3")
    assert [r.weight for r in g.records()] == [3.0, 1.0, 2.5]


def test_edgelist_header_names_period_and_attributes():
    text = (b"Caller,Callee,Calls,Date,Handset\n"
            b"a,b,2,2024-01-03,imei-1\nb,c,1,2024-02-10,\n")
    g = read_edgelist(text, weighted=True)
    assert g.periods == ("2024-01-03", "2024-02-10")
    first, second = g.records()
    assert first.period == "2024-01-03" and first.attrs == {"handset": "imei-1"}
    assert second.attrs == {} and second.weight == 1.0
    assert detect_format(text) == "edgelist"


def test_edgelist_fourth_column_is_the_period_without_header():
    g = read_edgelist(b"a b 2 phase1\nb c 1 phase2\n")
    assert [r.period for r in g.records()] == ["phase1", "phase2"]


@pytest.mark.parametrize(("text", "field", "reason"), [
    (b"a,b,x\n", "line 1, column 3 (weight)", "'x' is not a number"),
    (b"a,b,1\nb,c,0\n", "line 2, column 3 (weight)", "weight 0 must be positive"),
    (b"a,b,1\nb,c,-1\n", "line 2, column 3 (weight)", "weight -1 must be positive"),
    (b"a b 1 p extra\n", "line 1", "has 5 fields"),
    (b"source,target,weight\na,b\n", "line 2", "has 2 fields, the header has 3"),
    (b"a,,1\n", "line 1", "empty source or target"),
])
def test_edgelist_errors_name_the_line(text, field, reason):
    with pytest.raises(InvalidData, match="nothing was loaded") as exc:
        read_edgelist(text)
    assert reason in _fields(exc)[field]


def test_edgelist_header_required_when_asked():
    with pytest.raises(InvalidData):
        read_edgelist(b"a,b\n", header=True)
    g = read_edgelist(b"source,target\n", header=False)  # the first row is data then
    assert g.ids == ("source", "target")


def test_edgelist_self_ties_noted():
    g = read_edgelist(b"a a\na b\n")
    assert g.adjacency().m == 1 and "self-tie" in g.notes[0]


def test_attribute_table_errors():
    with pytest.raises(InvalidData) as exc:
        read_node_attributes(b",group\na,1\na,2\nb\n")
    fields = _fields(exc)
    assert "listed twice" in fields["line 3"] and "has 1 fields" in fields["line 4"]


def test_unknown_format_refused():
    with pytest.raises(InvalidData):
        read_graph(b"a b\n", format="pajek")  # type: ignore[arg-type]


# --- the graph ------------------------------------------------------------------------------


def test_graph_from_records_and_checks():
    g = Graph.from_records([EdgeRecord("x", "y", 2.0, "p1", {"k": "v"}),
                            EdgeRecord("y", "x", 3.0, "p2")],
                           directed=False, weighted=True, nodes=["z"])
    assert g.ids == ("z", "x", "y")
    assert g.adjacency().weight.tolist() == [5.0]
    assert g.adjacency("distance").weight.tolist() == [2.0]
    assert [r.period for r in g.records_between(2, 1)] == ["p1", "p2"]
    with pytest.raises(InvalidData, match="unique"):
        Graph(["a", "a"], directed=False, weighted=False, source=[], target=[])
    with pytest.raises(InvalidData, match="positive"):
        Graph(["a", "b"], directed=False, weighted=True, source=[0], target=[1], weight=[0])
    with pytest.raises(InvalidData, match="unknown node"):
        g.node_index("nobody")
    with pytest.raises(InvalidData, match="weight semantics"):
        g.adjacency("closeness")  # type: ignore[arg-type]


def test_natural_order():
    assert sorted(["phase10", "phase2", "phase1"], key=natural_key) == \
        ["phase1", "phase2", "phase10"]
