"""Every metric against networkx (small graphs and every shared criminal network), the
estimates against exact values, communities, key players, paths and time slices."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from interdict.errors import InvalidData
from interdict.network import analysis as an
from interdict.network import timeslice
from interdict.network.graph import EdgeRecord, Graph
from interdict.network.readers import read_graph, read_matrix

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "networks"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared networks not found at {DATA}")
SHARED = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.csv")
                if p.name != "DRUGATTR.csv") if DATA.is_dir() else []


def graph_of(edges: Iterable[tuple], *, directed: bool, weighted: bool = False,
             nodes: Iterable[str] = ()) -> Graph:
    return Graph.from_records([EdgeRecord(str(e[0]), str(e[1]), *e[2:]) for e in edges],
                              directed=directed, weighted=weighted,
                              nodes=[str(n) for n in nodes])


def reference(graph: Graph, weight_as: str = "strength") -> nx.Graph:
    """The networkx graph built independently from the records: strengths add up over
    parallel records, distances take the shortest; path lengths in ``distance``."""
    g: nx.Graph = nx.DiGraph() if graph.directed else nx.Graph()
    g.add_nodes_from(graph.ids)
    for r in graph.records():
        if r.source == r.target:
            continue
        if weight_as == "strength":
            w = g[r.source][r.target]["w"] + r.weight if g.has_edge(r.source, r.target) \
                else r.weight
        else:
            w = min(g[r.source][r.target]["w"], r.weight) if g.has_edge(r.source, r.target) \
                else r.weight
        g.add_edge(r.source, r.target, w=w)
    for _, _, d in g.edges(data=True):
        strength = d["w"] if weight_as == "strength" else 1.0 / d["w"]
        d["strength"] = strength if graph.weighted else 1.0
        d["distance"] = 1.0 / strength if graph.weighted else 1.0
    return g


def ci_reference(g: nx.Graph, radius: int) -> dict:
    u = g.to_undirected() if g.is_directed() else g
    out = {}
    for node in u:
        ring = [v for v, d in nx.single_source_shortest_path_length(u, node, cutoff=radius)
                .items() if d == radius]
        out[node] = (u.degree(node) - 1) * sum(u.degree(v) - 1 for v in ring) \
            if u.degree(node) else 0
    return out


def assert_matches_networkx(graph: Graph, weight_as: str = "strength") -> an.Analysis:
    result = an.analyze(graph, an.Options(weight_as=weight_as))
    g = reference(graph, weight_as)
    ids = list(graph.ids)
    walk = "strength" if graph.weighted else None
    path = "distance" if graph.weighted else None
    expected = {
        "degree": nx.degree_centrality(g),
        "strength": dict(g.degree(weight="strength")),
        "betweenness": nx.betweenness_centrality(g, weight=path),
        "closeness": nx.closeness_centrality(g, distance=path),
        "harmonic": nx.harmonic_centrality(g, distance=path),
        "pagerank": nx.pagerank(g, weight=walk, tol=1e-12, max_iter=10000),
        "katz": nx.katz_centrality(g, alpha=result.params["katz_alpha"], weight=walk,
                                   tol=1e-12, max_iter=100000),
        "k_core": nx.core_number(g.to_undirected()),
        "collective_influence": ci_reference(g, 2),
    }
    if graph.directed:
        expected["in_degree"] = nx.in_degree_centrality(g)
        expected["out_degree"] = nx.out_degree_centrality(g)
        expected["in_strength"] = dict(g.in_degree(weight="strength"))
    tolerance = {"pagerank": 1e-8, "katz": 1e-8, "eigenvector": 1e-5}
    try:
        # networkx's pure-Python iteration is slow where the spectral gap is small
        # (DRUGNET); its stopping rule then leaves ~1e-6 of error, hence 1e-5 below.
        expected["eigenvector"] = nx.eigenvector_centrality(g, weight=walk, tol=1e-9,
                                                            max_iter=5000)
    except nx.PowerIterationFailedConvergence:
        pass
    for name, ref in expected.items():
        ours = result.scores[name]
        worst = max(abs(ours[i] - ref[node]) for i, node in enumerate(ids))
        assert worst <= tolerance.get(name, 1e-9) * max(1.0, max(map(abs, ref.values()))), \
            f"{graph.name} {name}: differs from networkx by {worst}"
    # Modularity of our partition, as networkx scores it on the undirected view.
    und = nx.Graph()
    und.add_nodes_from(ids)
    for a, b, d in g.edges(data=True):
        prior = und[a][b]["s"] if und.has_edge(a, b) else 0.0
        und.add_edge(a, b, s=prior + d["strength"])
    parts = [{ids[i] for i in np.flatnonzero(result.community == c)}
             for c in range(int(result.community.max()) + 1)]
    if und.number_of_edges():
        assert result.modularity == pytest.approx(nx.community.modularity(und, parts,
                                                                          weight="s"),
                                                  abs=1e-12)
    assert result.components == (nx.number_weakly_connected_components(g) if graph.directed
                                 else nx.number_connected_components(g))
    return result


# --- small graphs ---------------------------------------------------------------------------

SMALL = {
    "path": dict(edges=[(i, i + 1) for i in range(5)], directed=False),
    "star": dict(edges=[(0, i) for i in range(1, 7)], directed=False),
    "bipartite": dict(edges=[(a, b) for a in "xy" for b in "pqr"], directed=False),
    "isolates": dict(edges=[(0, 1), (1, 2), (3, 4)], directed=False, nodes=[9, 8]),
    "sinks": dict(edges=[(0, 1), (1, 2), (2, 0), (2, 3), (4, 0), (3, 5)], directed=True,
                  nodes=[7]),
    "weighted": dict(edges=[("a", "b", 5.0), ("b", "c", 5.0), ("a", "c", 1.0),
                            ("c", "d", 2.0), ("b", "a", 1.0), ("d", "e", 3.0)],
                     directed=False, weighted=True),
    "weighted_directed": dict(edges=[("a", "b", 5.0), ("b", "c", 5.0), ("a", "c", 1.0),
                                     ("c", "d", 2.0), ("b", "a", 1.0), ("d", "a", 3.0),
                                     ("a", "b", 2.0)], directed=True, weighted=True),
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("weight_as", ["strength", "distance"])
def test_small_graphs_match_networkx(name, weight_as):
    graph = graph_of(**SMALL[name])
    graph.name = name
    assert_matches_networkx(graph, weight_as)


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_weighted_graphs_match_networkx(directed, seed):
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(40, 0.1, seed=seed, directed=directed)
    edges = [(u, v, float(rng.integers(1, 9))) for u, v in g.edges()]
    for weighted in (False, True):
        assert_matches_networkx(graph_of(edges, directed=directed, weighted=weighted,
                                         nodes=g.nodes()))


def test_degenerate_graphs():
    empty = graph_of([], directed=False)
    result = an.analyze(empty)
    assert result.to_dict()["nodes"] == 0 and result.key_players == []
    single = an.analyze(graph_of([], directed=True, nodes=["x"]))
    assert single.scores["degree"].tolist() == [1.0]  # networkx's convention for n = 1
    assert single.scores["pagerank"].tolist() == [1.0]
    pair = an.analyze(graph_of([("a", "b")], directed=False))
    assert pair.scores["betweenness"].tolist() == [0.0, 0.0]
    assert pair.modularity == 0.0 or pair.modularity == pytest.approx(0.0)


def test_weights_mean_opposite_things_for_paths():
    # a-b-c with heavy ties versus a direct light a-c tie.
    graph = graph_of([("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 1.0)], directed=False,
                     weighted=True)
    as_strength = an.analyze(graph, an.Options(weight_as="strength"))
    as_distance = an.analyze(graph, an.Options(weight_as="distance"))
    b = graph.index["b"]
    assert as_strength.scores["betweenness"][b] == 1.0  # 0.1 + 0.1 < 1: through b
    assert as_distance.scores["betweenness"][b] == 0.0  # 1 < 20: direct
    assert as_strength.to_dict()["weight_as"] == "strength"
    assert as_distance.params["path_length"] == "weight"
    with pytest.raises(InvalidData):
        an.analyze(graph, an.Options(weight_as="sideways"))  # type: ignore[arg-type]


def test_collective_influence_larger_radius():
    g = nx.barabasi_albert_graph(60, 2, seed=4)
    graph = graph_of(g.edges(), directed=False)
    for radius in (1, 3):
        ref = ci_reference(reference(graph), radius)
        ours, how = an.collective_influence(graph.adjacency(), radius=radius)
        assert how == "exact"
        assert [ours[graph.index[n]] for n in graph.ids] == [ref[n] for n in graph.ids]


def test_collective_influence_estimate_for_hub_heavy_graphs():
    tree = graph_of(nx.random_labeled_tree(80, seed=2).edges(), directed=False).adjacency()
    exact, _ = an.collective_influence(tree, exact=True)
    estimate, how = an.collective_influence(tree, exact=False)
    assert how.startswith("estimated") and np.array_equal(exact, estimate)
    dense = graph_of(nx.gnp_random_graph(50, 0.2, seed=1).edges(), directed=False).adjacency()
    exact, _ = an.collective_influence(dense, exact=True)
    estimate, _ = an.collective_influence(dense, exact=False)
    assert (estimate >= exact).all() and (estimate > exact).any()
    assert an.collective_influence(dense)[1] == "exact"  # small: exact by default


def brokerage_reference(g: nx.DiGraph, group: dict) -> dict:
    roles = {n: dict.fromkeys(an.ROLES, 0) for n in g}
    for a, v, c in itertools.permutations(g, 3):
        if g.has_edge(a, v) and g.has_edge(v, c) and not g.has_edge(a, c):
            ga, gv, gc = group[a], group[v], group[c]
            role = ("coordinator" if ga == gv == gc else "itinerant" if ga == gc else
                    "representative" if ga == gv else "gatekeeper" if gv == gc else "liaison")
            roles[v][role] += 1
    return roles


def test_brokerage_roles():
    g = nx.gnp_random_graph(25, 0.15, seed=3, directed=True)
    group = {n: "ABC"[n % 3] for n in g}
    graph = graph_of(g.edges(), directed=True, nodes=g.nodes())
    for node in graph.ids:
        graph.node_attrs[node] = {"team": group[int(node)]}
    result = an.analyze(graph, an.Options(groups="team"))
    assert result.brokerage is not None
    ref = brokerage_reference(g, group)
    for role in an.ROLES:
        assert [int(result.brokerage[role][graph.index[str(n)]]) for n in g] == \
            [ref[n][role] for n in g]
    assert sum(int(result.brokerage[r].sum()) for r in an.ROLES) > 0
    assert set(result.to_dict()["metrics"]["0"]["brokerage"]) == set(an.ROLES)
    # Actors of unknown group are left out of every triad.
    graph.node_attrs["0"] = {}
    partial = an.analyze(graph, an.Options(groups="team"))
    assert partial.brokerage is not None
    assert all(partial.brokerage[r][graph.index["0"]] == 0 for r in an.ROLES)


def test_communities_are_reproducible_and_labelled_by_size():
    g = nx.planted_partition_graph(4, 15, 0.6, 0.02, seed=5)
    graph = graph_of(g.edges(), directed=False, nodes=g.nodes())
    adj = graph.adjacency()
    for method in ("leiden", "louvain"):
        first, q1 = an.communities(adj, method=method, seed=11)
        again, q2 = an.communities(adj, method=method, seed=11)
        assert np.array_equal(first, again) and q1 == q2
        sizes = np.bincount(first)
        assert list(sizes) == sorted(sizes, reverse=True)
        assert q1 > 0.5
    with pytest.raises(InvalidData):
        an.communities(adj, method="spectral")  # type: ignore[arg-type]


def test_key_players_composite():
    # On a path the middle is first on all three measures; its neighbours tie and keep the
    # input order; the ends come last.
    graph = graph_of(nx.path_graph(5).edges(), directed=False)
    result = an.analyze(graph, an.Options(top=5))
    assert result.key_players == ["2", "1", "3", "0", "4"]
    assert an.analyze(graph, an.Options(top=2)).key_players == ["2", "1"]
    order = an.key_player_order(np.array([1.0, 0.0, 0.0]), np.array([0.1, 0.5, 0.5]),
                                np.array([0.0, 1.0, 1.0]))
    assert order.tolist() == [1, 2, 0]  # equal mean ranks: betweenness, PageRank, then index


def test_json_shape():
    graph = graph_of([("a", "b"), ("b", "c")], directed=True)
    data = an.analyze(graph).to_dict()
    assert {"nodes", "edges", "components", "weight_as", "metrics", "key_players"} <= set(data)
    assert {"degree", "in_degree", "out_degree", "strength", "betweenness", "closeness",
            "eigenvector", "pagerank", "katz", "community"} <= set(data["metrics"]["b"])
    assert isinstance(data["metrics"]["b"]["k_core"], int)
    assert data["methods"]["betweenness"].startswith("exact")


# --- estimates ------------------------------------------------------------------------------


def test_estimates_stay_within_their_stated_error():
    g = nx.barabasi_albert_graph(1500, 2, seed=7)
    graph = graph_of(g.edges(), directed=False)
    adj = graph.adjacency()
    exact = an.betweenness(adj, exact=True)[0]
    est, method = an.betweenness(adj, exact=False, epsilon=0.01, seed=3)
    assert method.startswith("estimated (KADABRA")
    assert np.abs(est - exact).max() <= 0.01 * 1500 / 1498
    assert set(np.argsort(-est)[:5]) == set(np.argsort(-exact)[:5])
    for _ in range(3):  # the same seed gives the same estimate (KADABRA runs on one thread)
        assert np.array_equal(an.betweenness(adj, exact=False, seed=3)[0], est)
    close, harm, _ = an.closeness_harmonic(adj, exact=True)
    close_est, harm_est, how = an.closeness_harmonic(adj, exact=False, pivots=200, seed=1)
    assert "200 random pivots" in how
    assert np.median(np.abs(close_est - close) / close) < 0.05
    assert np.median(np.abs(harm_est - harm) / harm) < 0.05
    # Directed (KADABRA cannot): pivot sampling, still close on the leading actors.
    d = graph_of([(u, v) for u, v in g.edges()] + [(v, u) for u, v in g.edges()][::3],
                 directed=True).adjacency()
    exact_d = an.betweenness(d, exact=True)[0]
    est_d, how_d = an.betweenness(d, exact=False, pivots=300, seed=2)
    assert "pivot sampling" in how_d
    assert np.corrcoef(exact_d, est_d)[0, 1] > 0.95


def test_auto_mode_switches_to_estimates_on_large_graphs(monkeypatch):
    graph = graph_of(nx.path_graph(30).edges(), directed=False)
    monkeypatch.setattr(an, "EXACT_WORK", 10)
    result = an.analyze(graph)
    assert result.params["exact"] is False
    assert result.methods["betweenness"].startswith("estimated")
    assert result.methods["closeness"].startswith("estimated")


# --- every shared network -------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("name", SHARED)
def test_shared_networks_match_networkx(name):
    for directed, weighted in itertools.product((False, True), repeat=2):
        graph = read_graph(DATA / name, directed=directed, weighted=weighted)
        result = assert_matches_networkx(graph)
        assert len(result.key_players) == min(10, graph.n)


@needs_data
def test_caviar_key_players_and_weighted_distance_semantics():
    graph = read_matrix(DATA / "caviar/anastasiadis2024/CAVIAR_FULL_Directed.csv")
    result = an.analyze(graph)
    assert result.key_players[:3] == ["1", "3", "12"]  # Serero, Morales' circle: the hubs
    assert result.scores["strength"][graph.index["1"]] == max(result.scores["strength"])
    assert any("strongly connected" in n for n in result.notes)


# --- paths ----------------------------------------------------------------------------------


def test_shortest_paths_match_networkx_and_carry_evidence():
    edges = [("a", "b", 1.0, "p1"), ("b", "d", 1.0, "p1"), ("a", "c", 2.0, "p2"),
             ("c", "d", 2.0, "p2"), ("a", "d", 4.0, None), ("a", "b", 1.0, "p3")]
    for weighted in (False, True):
        graph = graph_of(edges, directed=True, weighted=weighted)
        for weight_as in ("strength", "distance"):
            ours = an.shortest_paths(graph, "a", "d", weight_as=weight_as)
            g = reference(graph, weight_as)
            expected = sorted(nx.all_shortest_paths(g, "a", "d",
                                                    weight="distance" if weighted else None))
            assert sorted(list(p.nodes) for p in ours) == expected
    graph = graph_of(edges, directed=True, weighted=True)
    (best,) = an.shortest_paths(graph, "a", "d", weight_as="distance")
    assert best.nodes == ("a", "b", "d") and best.length == 2.0
    first = best.steps[0]  # two records a->b of length 1: the link's length is 1
    assert first.weight == 1.0 and [r.period for r in first.records] == ["p1", "p3"]
    (strong,) = an.shortest_paths(graph, "a", "d", weight_as="strength")
    assert strong.nodes == ("a", "d") and strong.length == 0.25  # 4 contacts: closest
    assert best.to_dict()["steps"][0]["records"][0]["period"] == "p1"
    assert an.shortest_paths(graph, "d", "a") == []  # arcs are followed in their direction
    assert an.shortest_paths(graph, "a", "a")[0].hops == 0


def test_short_paths_match_networkx():
    g = nx.gnp_random_graph(25, 0.2, seed=9)
    graph = graph_of(g.edges(), directed=False, nodes=g.nodes())
    for hops in (2, 3, 4):
        ours = an.short_paths(graph, "0", "7", max_hops=hops, limit=10_000)
        expected = {tuple(str(x) for x in p) for p in
                    nx.all_simple_paths(g, 0, 7, cutoff=hops)}
        assert {p.nodes for p in ours} == expected
        assert [p.hops for p in ours] == sorted(p.hops for p in ours)
    assert len(an.short_paths(graph, "0", "7", max_hops=4, limit=5)) == 5


# --- time slices ----------------------------------------------------------------------------


@needs_data
def test_caviar_phases_rank_changes():
    parts = {f"phase{k}": read_matrix(DATA / f"caviar/phases_mitx/phase{k}.csv")
             for k in range(1, 12)}
    graph = timeslice.combine(parts, name="CAVIAR")
    assert graph.n == 107 and timeslice.periods(graph)[-1] == "phase11"
    phase3 = timeslice.slice_graph(graph, "phase3")
    assert phase3.n == 33 and phase3.number_of_records == 68
    changes = timeslice.rank_changes(graph, metric="betweenness")
    assert changes.ranks["1"][0] == 1  # the organiser leads the first phase
    assert changes.ranks["12"][0] is None and changes.ranks["12"][-1] == 1
    assert changes.change("12") > 0
    assert "1" in changes.leaders(1)
    data = changes.to_dict()
    assert data["actors"]["12"]["periods_present"] == 10
    # The slice's ranks are the whole analysis's ranks on that phase.
    alone = an.analyze(parts["phase4"])
    assert changes.ranks["1"][3] == 1 + int((alone.scores["betweenness"] >
                                             alone.scores["betweenness"][0]).sum())


def test_time_bins_and_errors():
    graph = graph_of([("a", "b", 1.0, "2024-01-03"), ("b", "c", 1.0, "2024-02-10T10:00:00Z"),
                      ("c", "a", 1.0, "2024-02-11")], directed=False)
    monthly = timeslice.bin_by_time(graph, "month")
    assert timeslice.periods(monthly) == ["2024-01", "2024-02"]
    assert timeslice.periods(timeslice.bin_by_time(graph, "quarter")) == ["2024-Q1"]
    assert timeslice.periods(timeslice.bin_by_time(graph, "week")) == ["2024-W01", "2024-W06"]
    feb = timeslice.slice_graph(monthly, "2024-02")
    assert feb.ids == ("a", "b", "c") and feb.number_of_records == 2
    everyone = timeslice.slice_graph(monthly, "2024-01", active_only=False)
    assert everyone.n == 3
    with pytest.raises(InvalidData):
        timeslice.bin_by_time(graph_of([("a", "b", 1.0, "phase1")], directed=False), "month")
    with pytest.raises(InvalidData):
        timeslice.slice_graph(monthly, "2023-12")
    with pytest.raises(InvalidData):
        timeslice.rank_changes(graph_of([("a", "b")], directed=False))
    with pytest.raises(InvalidData):
        timeslice.rank_changes(monthly, metric="fame")
