"""Disruption simulation: curves against a networkx re-implementation, modes, seeds."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from interdict.errors import InvalidData
from interdict.network.disruption import simulate
from interdict.network.graph import EdgeRecord, Graph
from interdict.network.readers import read_graph, read_matrix

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "networks"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared networks not found at {DATA}")


def graph_of(edges, *, directed=False, weighted=False, nodes=()) -> Graph:
    return Graph.from_records([EdgeRecord(str(e[0]), str(e[1]), *e[2:]) for e in edges],
                              directed=directed, weighted=weighted,
                              nodes=[str(n) for n in nodes])


def _ci(g: nx.Graph) -> dict:
    out = {}
    for node in g:
        ring = [v for v, d in nx.single_source_shortest_path_length(g, node, cutoff=2).items()
                if d == 2]
        out[node] = (g.degree(node) - 1) * sum(g.degree(v) - 1 for v in ring) \
            if g.degree(node) else 0
    return out


def _katz(g: nx.Graph) -> dict:
    a = nx.to_numpy_array(g, nodelist=list(g))
    rho = float(np.max(np.abs(np.linalg.eigvals(a)))) if len(g) else 0.0
    if rho == 0:
        return dict.fromkeys(g, 1.0)
    return nx.katz_centrality_numpy(g, alpha=0.85 / rho, beta=1.0)


def reference_curve(g: nx.Graph, strategy: str, order: list) -> tuple[list[int], list]:
    """Sequential removal re-implemented on networkx: remove the best-scoring node (ties
    to more neighbours, then input order), recompute, record the largest component."""
    g = g.copy()
    position = {node: i for i, node in enumerate(order)}
    curve = [max((len(c) for c in nx.connected_components(g)), default=0)]
    removed = []
    while curve[-1] > 1:
        scores = {"degree": lambda: dict(g.degree()),
                  "betweenness": lambda: nx.betweenness_centrality(g, normalized=False),
                  "collective_influence": lambda: _ci(g),
                  "katz": lambda: _katz(g)}[strategy]()
        top = max(map(abs, scores.values())) or 1.0
        best = min(g, key=lambda n: (-round(scores[n] / top, 9), -g.degree(n), position[n]))
        g.remove_node(best)
        removed.append(best)
        curve.append(max((len(c) for c in nx.connected_components(g)), default=0))
    return curve, removed


@pytest.mark.parametrize("strategy", ["degree", "betweenness", "collective_influence", "katz"])
@pytest.mark.parametrize("seed", [3, 8])
def test_sequential_curves_match_a_networkx_reimplementation(strategy, seed):
    g = nx.gnp_random_graph(45, 0.07, seed=seed)
    graph = graph_of(g.edges(), nodes=g.nodes())
    ref = nx.relabel_nodes(g, str)
    curve, removed = reference_curve(ref, strategy, list(graph.ids))
    result = simulate(graph, strategy=strategy)
    assert result.lcc == curve
    assert result.removed == removed
    assert result.to_dict()["lcc_of"] == "connected components"


def test_star_and_path():
    star = graph_of([(0, i) for i in range(1, 6)] + [(5, 6), (6, 7)])
    result = simulate(star, strategy="degree")
    assert result.removed[0] == "0"
    assert result.lcc[:2] == [8, 3]
    assert result.lcc[-1] == 1 and len(result.lcc) == len(result.steps) + 1
    data = result.to_dict()
    assert set(data) >= {"strategy", "mode", "lcc", "removed"}
    assert data["removed"] == result.removed and 0 < data["robustness"] < 1


def test_block_mode_removes_k_at_a_time_and_recomputes():
    g = nx.barabasi_albert_graph(60, 2, seed=1)
    graph = graph_of(g.edges(), nodes=g.nodes())
    block = simulate(graph, strategy="betweenness", mode="block", block_size=4)
    assert all(len(step) == 4 for step in block.steps[:-1])
    assert block.block_size == 4 and block.to_dict()["mode"] == "block"
    one = simulate(graph, strategy="betweenness", mode="block", block_size=1)
    seq = simulate(graph, strategy="betweenness")
    assert one.lcc == seq.lcc and one.removed == seq.removed
    # A block's members are the top of the scores computed before the block.
    first = simulate(graph, strategy="degree", mode="block", block_size=3, max_steps=1)
    top3 = sorted(g.degree(), key=lambda x: (-x[1], x[0]))[:3]
    assert first.steps == [[str(n) for n, _ in top3]]


def test_random_strategy_is_seeded():
    g = nx.gnp_random_graph(40, 0.1, seed=2)
    graph = graph_of(g.edges(), nodes=g.nodes())
    a = simulate(graph, strategy="random", seed=5)
    b = simulate(graph, strategy="random", seed=5)
    c = simulate(graph, strategy="random", seed=6)
    assert a.removed == b.removed and a.lcc == b.lcc
    assert a.removed != c.removed
    order = [str(i) for i in np.random.default_rng(5).permutation(40)]
    assert a.removed == order[:len(a.removed)]


def test_directed_graphs_use_weak_components():
    chain = graph_of([("a", "b"), ("b", "c"), ("d", "c"), ("e", "f")], directed=True)
    result = simulate(chain, strategy="degree", max_steps=1)
    assert result.lcc == [4, 2]
    assert result.removed == ["b"]  # b and c both have two arcs: the first listed goes
    assert result.to_dict()["lcc_of"] == "weakly connected components (directed graph)"


def test_weighted_degree_means_strength():
    graph = graph_of([("a", "b", 1.0), ("a", "c", 1.0), ("d", "e", 9.0), ("e", "f", 1.0)],
                     weighted=True)
    assert simulate(graph, strategy="degree", max_steps=1).removed == ["e"]
    unweighted = graph.with_options(weighted=False)
    assert simulate(unweighted, strategy="degree", max_steps=1).removed == ["a"]


def test_stops_and_limits():
    graph = graph_of([("a", "b")], nodes=["c"])
    result = simulate(graph, strategy="degree")
    assert result.lcc == [2, 1] and result.removed == ["a"]
    assert simulate(graph, strategy="degree", max_steps=0).lcc == [2]
    empty = simulate(graph_of([], nodes=["x"]), strategy="katz")
    assert empty.lcc == [1] and empty.removed == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"strategy": "fame"}, "strategy"),
    ({"strategy": "degree", "mode": "bulk"}, "mode"),
    ({"strategy": "degree", "mode": "block", "block_size": 0}, "block_size"),
    ({"strategy": "degree", "max_steps": -1}, "max_steps"),
])
def test_invalid_settings(kwargs, field):
    with pytest.raises(InvalidData) as exc:
        simulate(graph_of([("a", "b")]), **kwargs)
    assert exc.value.errors[0].field == field


@needs_data
def test_caviar_and_montagna():
    caviar = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv")
    result = simulate(caviar, strategy="betweenness", max_steps=3)
    assert result.lcc[0] == 110 and result.removed[0] == "1"
    assert result.lcc[1] < 110
    meetings = read_graph(DATA / "montagna/Montagna_meetings_edgelist.csv")
    targeted = simulate(meetings, strategy="betweenness")
    random = simulate(meetings, strategy="random", seed=0)
    assert targeted.lcc[0] == 92
    assert targeted.robustness < random.robustness
