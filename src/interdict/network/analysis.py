"""Centrality, communities, cores, brokerage, key players and paths.

networkit does the heavy lifting (shortest-path measures, PageRank, cores, communities);
eigenvector and Katz centrality use scipy's sparse algebra instead, because networkit's
versions follow other conventions (Katz without the constant term, out-edges, its own
alpha) and the scores must be the ones networkx gives.

Every score follows networkx's definition *and normalisation* exactly (the tests compare
each metric with networkx on small graphs and on every shared criminal network), so that a
figure from Interdict can be checked with the tool most analysts already know:

- degree, in- and out-degree: distinct neighbours / (n - 1) (``degree_centrality``). In a
  directed graph ``degree`` is in + out, so a reciprocated pair counts twice; in an undirected
  graph in- and out-degree are the degree.
- strength: sum of tie strengths (calls), not normalised; ``in_strength``/``out_strength``.
- betweenness: share of shortest paths through a node, normalised by 2/((n-1)(n-2))
  undirected and 1/((n-1)(n-2)) directed, endpoints excluded (networkx ``normalized=True``).
- closeness: Wasserman-Faust: (r-1)/(n-1) * (r-1)/sum of distances, r = nodes that reach
  the node (networkx ``wf_improved=True``); in a directed graph, *incoming* distances.
- harmonic: sum of 1/distance from every other node, not normalised (networkx), incoming.
- eigenvector: leading left eigenvector (in-edges), unit Euclidean norm, by power iteration
  on A + I from a uniform start exactly as networkx, so bipartite graphs converge too.
- PageRank: damping 0.85, dangling nodes' rank spread uniformly, weights as strengths.
- Katz: x = alpha A^T x + beta, unit norm; alpha defaults to 0.85 / spectral radius (inside
  the convergence range whatever the weights; networkx's fixed 0.1 diverges once the largest
  eigenvalue passes 10, as it does for call counts) and is stated in every output.
- collective influence (Morone & Makse 2015): (k_i - 1) * sum of (k_j - 1) over the nodes j
  at distance exactly l (default 2), on the undirected view; no networkx equivalent.
- k-core: core number on the undirected view (networkx ``core_number`` of ``to_undirected``).
- communities: Leiden or Louvain (networkit ParallelLeiden / PLM) on the undirected view with
  strengths, modularity as networkx ``modularity``; seeded and single-threaded, so the same
  seed gives the same partition.
- brokerage roles (Gould & Fernandez 1989), when every actor's group is known.

Path measures read ``distance`` and walk measures ``strength`` (see ``graph``), so
``weight_as`` decides what a weight means once for all of them.

Exact algorithms run while n * m <= :data:`EXACT_WORK`; above it betweenness, closeness and
harmonic are *estimated*, as is collective influence once hubs make its two-hop rings too
large (:data:`CI_EXACT_WORK`); ``methods`` in the result states each estimator and its
error. Everything else is exact (iterative ones to ``tol``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.network.graph import (
    Adjacency,
    EdgeRecord,
    FloatArray,
    Graph,
    IntArray,
    WeightAs,
    check_weight_as,
)

#: n * m above which betweenness and closeness switch from exact to estimated (a few
#: seconds of exact Brandes on two cores).
EXACT_WORK = 1e8
UNREACHABLE = 1e300
Method = Literal["leiden", "louvain"]
ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison")


@dataclass(frozen=True)
class Options:
    """How to analyse; every field is echoed in the output's ``params``."""

    weight_as: WeightAs = "strength"
    #: None: exact when n * m <= EXACT_WORK, estimated above.
    exact: bool | None = None
    #: KADABRA's additive error on normalised betweenness and its failure probability.
    epsilon: float = 0.01
    delta: float = 0.1
    #: Sources sampled to estimate closeness/harmonic (and weighted or directed betweenness).
    pivots: int = 128
    seed: int = 0
    communities: Method = "leiden"
    resolution: float = 1.0
    pagerank_alpha: float = 0.85
    katz_alpha: float | None = None
    katz_beta: float = 1.0
    ci_radius: int = 2
    #: Node attribute naming each actor's group, for brokerage roles.
    groups: str | None = None
    top: int = 10
    tol: float = 1e-10


@dataclass
class Analysis:
    """Scores aligned with ``ids``, the partition, key players and how each was computed."""

    name: str
    ids: tuple[str, ...]
    directed: bool
    weighted: bool
    weight_as: WeightAs
    edges: int
    components: int
    scores: dict[str, FloatArray]
    community: IntArray
    modularity: float
    key_players: list[str]
    methods: dict[str, str]
    params: dict[str, Any]
    brokerage: dict[str, IntArray] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints (``metrics`` keyed by node id)."""
        metrics: dict[str, dict[str, Any]] = {}
        for i, node in enumerate(self.ids):
            row: dict[str, Any] = {k: _num(v[i]) for k, v in self.scores.items()}
            row["k_core"] = int(self.scores["k_core"][i])
            row["community"] = int(self.community[i])
            if self.brokerage is not None:
                row["brokerage"] = {r: int(self.brokerage[r][i]) for r in ROLES}
            metrics[node] = row
        return {"name": self.name, "nodes": len(self.ids), "edges": self.edges,
                "components": self.components, "directed": self.directed,
                "weighted": self.weighted, "weight_as": self.weight_as,
                "modularity": self.modularity, "communities": int(self.community.max() + 1)
                if len(self.community) else 0,
                "key_players": self.key_players, "key_player_rule": KEY_PLAYER_RULE,
                "methods": self.methods, "params": self.params, "notes": self.notes,
                "metrics": metrics}

    def top(self, k: int) -> list[int]:
        index = {node: i for i, node in enumerate(self.ids)}
        return [index[node] for node in self.key_players[:k]]


def _num(x: Any) -> float | int | None:
    if isinstance(x, np.integer | int):
        return int(x)
    value = float(x)
    return value if np.isfinite(value) else None


# --- degree and strength -------------------------------------------------------------------


def degree_centrality(adj: Adjacency) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Degree, in-degree and out-degree centrality: distinct neighbours / (n - 1)."""
    if adj.n <= 1:
        ones = np.ones(adj.n)
        return ones, ones, ones
    in_deg, out_deg = adj.in_out_degree()
    total = in_deg + out_deg if adj.directed else in_deg
    scale = 1.0 / (adj.n - 1)
    return ((total * scale).astype(np.float64), (in_deg * scale).astype(np.float64),
            (out_deg * scale).astype(np.float64))


def strength(adj: Adjacency) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Total, in- and out-strength (sum of tie strengths; weighted degree)."""
    in_s, out_s = adj.in_out_strength()
    return (in_s + out_s if adj.directed else in_s), in_s, out_s


# --- path measures -------------------------------------------------------------------------


def _nk() -> Any:
    import networkit as nk

    return nk


@contextmanager
def _seeded_single_thread(seed: int, *, per_thread: bool = False) -> Iterator[None]:
    """networkit's randomised algorithms (KADABRA, Leiden, Louvain) only give the same
    result for the same seed on one thread: set both, restore the thread count after."""
    nk = _nk()
    threads = nk.getMaxNumberOfThreads()
    nk.setNumberOfThreads(1)
    try:
        nk.engineering.setSeed(seed, per_thread)
        yield
    finally:
        nk.setNumberOfThreads(threads)


def betweenness(adj: Adjacency, *, exact: bool = True, epsilon: float = 0.01,
                delta: float = 0.1, pivots: int = 128, seed: int = 0) -> tuple[FloatArray, str]:
    """Normalised betweenness and how it was computed.

    networkit counts ordered (s, t) pairs in both graph kinds; networkx halves undirected
    counts and then doubles them in its normalisation, so both reduce to
    raw / ((n - 1)(n - 2)). Estimates: KADABRA (Borassi & Natale) for unweighted undirected
    graphs, with an additive error guarantee; pivot sampling otherwise (KADABRA does not
    handle weights or directions in networkit).
    """
    nk = _nk()
    n = adj.n
    if n <= 2 or adj.m == 0:
        return np.zeros(n), "exact"
    scale = 1.0 / ((n - 1) * (n - 2))
    g = adj.nk_graph("distance")
    if exact:
        raw = np.asarray(nk.centrality.Betweenness(g, normalized=False).run().scores())
        return raw * scale, "exact (Brandes, networkit)"
    if not adj.directed and not adj.weighted:
        # KADABRA refuses to run without per-thread seeds, and its adaptive stopping point
        # varies between runs on several threads even with ``deterministic``.
        with _seeded_single_thread(seed, per_thread=True):
            algo = nk.centrality.KadabraBetweenness(g, epsilon, delta,
                                                    deterministic=True).run()
        # KADABRA reports 2 * (paths through v) / (n (n - 1)) for undirected graphs.
        est = np.asarray(algo.scores()) * n / (2.0 * (n - 2))
        bound = epsilon * n / (n - 2)
        return est, (f"estimated (KADABRA adaptive path sampling): each score within "
                     f"+/-{bound:.4g} of the exact value with probability >= {1 - delta:g}")
    k = min(pivots, n)
    with _seeded_single_thread(seed):
        raw = np.asarray(nk.centrality.EstimateBetweenness(g, k, False, False).run().scores())
    return raw * scale, (f"estimated (pivot sampling, Geisberger-Sanders-Schultes, {k} "
                         "sources): unbiased, no worst-case error bound")


def closeness_harmonic(adj: Adjacency, *, exact: bool = True, pivots: int = 128,
                       seed: int = 0) -> tuple[FloatArray, FloatArray, str]:
    """Wasserman-Faust closeness and harmonic centrality on incoming distances (networkx).

    The estimate runs k single-source searches from random pivots p; d(p, u) are samples of
    u's incoming distances, so with c pivots reaching u at total distance D:
    closeness ~ c^2 / (k' D) and harmonic ~ (n - 1)/k' * sum 1/d (k' = pivots other than u).
    Eppstein & Wang: the mean distance is then within eps * diameter, eps = sqrt(ln n / k),
    with high probability.
    """
    nk = _nk()
    n = adj.n
    if n <= 1:
        return np.zeros(n), np.zeros(n), "exact"
    if exact:
        gt = adj.nk_graph("distance", transpose=True)
        variant = nk.centrality.ClosenessVariant.GENERALIZED
        close = np.asarray(nk.centrality.Closeness(gt, True, variant).run().scores())
        harm = np.asarray(nk.centrality.HarmonicCloseness(gt, False).run().scores())
        return close, harm, "exact (networkit)"
    g = adj.nk_graph("distance")
    k = min(pivots, n)
    chosen = np.random.default_rng(seed).choice(n, size=k, replace=False)
    reached = np.zeros(n)
    total = np.zeros(n)
    inverse = np.zeros(n)
    is_pivot = np.zeros(n)
    for p in chosen.tolist():
        search = (nk.distance.Dijkstra(g, p, False, False) if adj.weighted
                  else nk.distance.BFS(g, p, False, False))
        d = np.asarray(search.run().getDistances())
        ok = (d > 0) & (d < UNREACHABLE)
        reached += ok
        total += np.where(ok, d, 0.0)
        inverse += np.where(ok, 1.0 / np.where(ok, d, 1.0), 0.0)
        is_pivot[p] = 1
    others = k - is_pivot
    with np.errstate(divide="ignore", invalid="ignore"):
        close = np.where(total > 0, reached**2 / (others * total), 0.0)
        harm = np.where(others > 0, (n - 1) / others * inverse, 0.0)
    eps = float(np.sqrt(np.log(n) / k))
    return close, harm, (f"estimated ({k} random pivots, Eppstein-Wang): mean distance within "
                         f"+/-{eps:.2f} x diameter with high probability")


# --- walk measures -------------------------------------------------------------------------


def pagerank(adj: Adjacency, *, alpha: float = 0.85, tol: float = 1e-10) -> FloatArray:
    """PageRank as networkx: teleport ``1 - alpha``, dangling rank spread uniformly.

    networkit only redistributes the rank of sinks in directed graphs. In an undirected
    graph the only sinks are isolates, and spreading their rank uniformly adds the same
    amount to every node as the teleport does, so networkx's vector is networkit's
    sink-less fixed point rescaled to sum 1 (no symmetric directed copy of the graph needed).
    """
    nk = _nk()
    if adj.n == 0:
        return np.zeros(0)
    g = adj.nk_graph("strength")
    if adj.directed:
        sinks = nk.centrality.SinkHandling.DistributeSinks
        return np.asarray(nk.centrality.PageRank(g, alpha, tol, distributeSinks=sinks)
                          .run().scores())
    scores = np.asarray(nk.centrality.PageRank(g, alpha, tol).run().scores(),
                        dtype=np.float64)
    return scores / float(scores.sum())


def eigenvector(adj: Adjacency, *, tol: float = 1e-10,
                max_iter: int = 10000) -> tuple[FloatArray, bool]:
    """Eigenvector centrality as networkx computes it, and whether it converged.

    Power iteration with x <- (A^T + I) x from the uniform vector: adding I keeps the
    iteration from oscillating on bipartite graphs without changing the eigenvector. On a
    disconnected graph the result is concentrated on the component with the largest
    eigenvalue, and on a directed graph that is not strongly connected it is degenerate
    (nodes reached only from acyclic parts score 0): prefer Katz or PageRank there.
    """
    n = adj.n
    if n == 0:
        return np.zeros(0), True
    at = adj.matrix().T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = last + at @ last
        norm = float(np.linalg.norm(x)) or 1.0
        x = x / norm
        if float(np.abs(x - last).sum()) < n * tol:
            return x, True
    return x, False


def spectral_radius(adj: Adjacency) -> float:
    """Largest eigenvalue modulus of the strength matrix (the Perron root)."""
    if adj.m == 0:
        return 0.0
    a = adj.matrix()
    if adj.n <= 600:
        return float(np.max(np.abs(np.linalg.eigvals(a.toarray()))))
    from scipy.sparse.linalg import ArpackNoConvergence, eigs, eigsh

    try:
        if adj.directed:
            value = eigs(a, k=1, which="LM", return_eigenvectors=False, tol=1e-8)
        else:
            value = eigsh(a, k=1, which="LA", return_eigenvectors=False, tol=1e-8)
        return float(np.max(np.abs(value)))
    except ArpackNoConvergence:
        # Gershgorin-style bound: never smaller than the radius, so alpha stays convergent.
        return float(max(np.max(a.sum(axis=0)), np.max(a.sum(axis=1))))


def katz(adj: Adjacency, *, alpha: float | None = None, beta: float = 1.0,
         tol: float = 1e-10) -> tuple[FloatArray, float]:
    """Katz centrality (unit norm, in-edges, as networkx) and the alpha used.

    Solved directly for small graphs and by the fixed-point iteration otherwise; both give
    networkx's answer for the same alpha and beta.
    """
    n = adj.n
    if alpha is None:
        rho = spectral_radius(adj)
        alpha = 0.85 / rho if rho > 0 else 0.1
    if n == 0:
        return np.zeros(0), alpha
    import scipy.sparse as sp

    at = adj.matrix().T.tocsr()
    b = np.full(n, float(beta))
    if n <= 5000:
        from scipy.sparse.linalg import spsolve

        x = np.asarray(spsolve((sp.identity(n, format="csc") - alpha * at).tocsc(), b))
    else:
        x = b.copy()
        for _ in range(100000):
            last = x
            x = alpha * (at @ last) + b
            if float(np.abs(x - last).sum()) < n * tol:
                break
    norm = float(np.linalg.norm(x)) or 1.0
    return x / norm, alpha


# --- structure -----------------------------------------------------------------------------


#: Two-hop walks (sum of squared degrees) above which radius-2 collective influence is
#: estimated: exact CI must list every node's distance-2 ring, which hubs make huge.
CI_EXACT_WORK = 3e7


def collective_influence(adj: Adjacency, *, radius: int = 2,
                         exact: bool | None = None) -> tuple[FloatArray, str]:
    """CI_l(i) = (k_i - 1) * sum over j at distance exactly l of (k_j - 1), undirected view,
    and how it was computed.

    Exact: sparse boolean frontiers in row blocks sized so that no block's neighbourhood
    holds more than a few million entries. Estimate (radius 2, when the two-hop walks exceed
    :data:`CI_EXACT_WORK`): the ring is replaced by the non-backtracking two-step walks,
    (k_i - 1) * (sum over neighbours j of S_j - k_i (k_i - 1)) with S_j the sum of (k - 1)
    over j's neighbours. Both are equal where i's two-hop neighbourhood is a tree; a triangle
    or a node reached twice is counted more than once, so the estimate is an upper bound.
    """
    und = adj.undirected()
    n = und.n
    if n == 0 or und.m == 0:
        return np.zeros(n), "exact"
    a = (und.matrix() > 0).astype(np.float64).tocsr()
    k = np.asarray(a.sum(axis=1)).ravel()
    if exact is None:
        exact = radius != 2 or float((k * k).sum()) <= CI_EXACT_WORK
    if not exact:
        walks = a @ (a @ (k - 1)) - k * (k - 1)
        return np.where(k > 0, (k - 1) * walks, 0.0), (
            "estimated (non-backtracking two-step walks; exact on tree-like "
            "neighbourhoods, an upper bound where triangles or squares close)")
    return _ci_exact(a, k, radius), "exact"


def _ci_exact(a: Any, k: FloatArray, radius: int) -> FloatArray:
    import scipy.sparse as sp

    n = len(k)
    bound = k.copy()
    for _ in range(max(radius - 1, 0)):
        bound = np.minimum(a @ bound, n)
    budget, out, start = 4_000_000, np.zeros(n), 0
    while start < n:
        stop = start + 1
        total = bound[start]
        while stop < n and total + bound[stop] <= budget:
            total += bound[stop]
            stop += 1
        rows = np.arange(start, stop)
        seen = sp.csr_array((np.ones(len(rows)), (np.arange(len(rows)), rows)),
                            shape=(len(rows), n))
        frontier = seen
        for _ in range(radius):
            reach = (frontier @ a) > 0
            new = reach.astype(np.float64) - reach.multiply(seen > 0).astype(np.float64)
            new.eliminate_zeros()
            frontier = new.tocsr()
            seen = (seen + frontier).tocsr()
        out[start:stop] = (k[rows] - 1) * (frontier @ (k - 1))
        start = stop
    out[k == 0] = 0.0
    return out


def k_core(adj: Adjacency) -> IntArray:
    """Core number of each node on the undirected view (self-loops are never present)."""
    nk = _nk()
    und = adj.undirected()
    if und.n == 0:
        return np.zeros(0, dtype=np.int64)
    scores = nk.centrality.CoreDecomposition(und.nk_graph("plain")).run().scores()
    return np.asarray(scores).astype(np.int64)


def communities(adj: Adjacency, *, method: Method = "leiden", seed: int = 0,
                resolution: float = 1.0) -> tuple[IntArray, float]:
    """Community of each node (0 = largest) and the partition's modularity.

    Runs on the undirected view weighted by strength. networkit's community algorithms are
    only reproducible with one thread and a fixed seed, so both are set for the call and the
    thread count restored afterwards.
    """
    nk = _nk()
    und = adj.undirected()
    n = und.n
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    if und.m == 0:
        return np.arange(n, dtype=np.int64), 0.0
    g = und.nk_graph("strength")
    with _seeded_single_thread(seed):
        if method == "leiden":
            algo = nk.community.ParallelLeiden(g, randomize=True, iterations=3,
                                               gamma=resolution)
        elif method == "louvain":
            algo = nk.community.PLM(g, refine=True, gamma=resolution, par="none")
        else:
            raise InvalidData("unknown community method", errors=[
                FieldError("communities", f"{method!r} is not one of leiden, louvain")])
        partition = algo.run().getPartition()
    raw = np.asarray(partition.getVector(), dtype=np.int64)
    labels = _relabel(raw)
    return labels, _modularity(und, labels, resolution)


def _relabel(raw: IntArray) -> IntArray:
    """Community ids by size, largest first; ties by the first member's index."""
    uniq, first, inverse, counts = np.unique(raw, return_index=True, return_inverse=True,
                                             return_counts=True)
    order = np.lexsort((first, -counts))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[inverse]


def _modularity(und: Adjacency, labels: IntArray, resolution: float) -> float:
    """Newman modularity with resolution, exactly networkx ``modularity`` (undirected)."""
    w = und.strength
    total = float(w.sum())
    if total == 0:
        return 0.0
    inside = float(w[labels[und.u] == labels[und.v]].sum())
    deg = np.bincount(und.u, weights=w, minlength=und.n) + \
        np.bincount(und.v, weights=w, minlength=und.n)
    per = np.bincount(labels, weights=deg)
    return inside / total - resolution * float((per**2).sum()) / (4 * total**2)


def brokerage(adj: Adjacency, groups: Sequence[str | None]) -> dict[str, IntArray]:
    """Gould-Fernandez brokerage counts per node.

    For every two-path a -> v -> c with a != c and no tie a -> c, the broker v gets one count
    in a role decided by group membership: coordinator (a, v, c in one group), itinerant
    (a and c together, v outside), representative (a with v, c outside), gatekeeper
    (v with c, a outside), liaison (all different). Triads with an actor of unknown group are
    skipped. In an undirected graph each tie counts both ways, so every open pair is seen
    from both ends (representative and gatekeeper counts are then equal).
    """
    n = adj.n
    out = {role: np.zeros(n, dtype=np.int64) for role in ROLES}
    succ, pred = adj.neighbours()
    succ_sets = [set(s) for s in succ]
    for v in range(n):
        gv = groups[v]
        if gv is None:
            continue
        for a in pred[v]:
            ga = groups[a]
            if ga is None:
                continue
            sa = succ_sets[a]
            for c in succ[v]:
                gc = groups[c]
                if c == a or c in sa or gc is None:
                    continue
                if ga == gv == gc:
                    role = "coordinator"
                elif ga == gc:
                    role = "itinerant"
                elif ga == gv:
                    role = "representative"
                elif gv == gc:
                    role = "gatekeeper"
                else:
                    role = "liaison"
                out[role][v] += 1
    return out


# --- key players ---------------------------------------------------------------------------

KEY_PLAYER_RULE = ("mean rank over betweenness, PageRank and degree (strength when "
                   "weighted), average ranks for ties; equal means ordered by betweenness, "
                   "then PageRank, then input order")


def key_player_order(bet: FloatArray, pr: FloatArray, deg: FloatArray) -> IntArray:
    """Node indices, most central first, by the composite :data:`KEY_PLAYER_RULE`.

    A rank aggregate rather than a weighted sum: the three measures live on different
    scales, and a broker (high betweenness, few ties) should rise as surely as a hub.
    """
    from scipy.stats import rankdata

    if len(bet) == 0:
        return np.zeros(0, dtype=np.int64)
    mean_rank = (rankdata(-bet) + rankdata(-pr) + rankdata(-deg)) / 3.0
    order = np.lexsort((np.arange(len(bet)), -pr, -bet, mean_rank))
    return order.astype(np.int64)


# --- the whole analysis --------------------------------------------------------------------


def analyze(graph: Graph, options: Options | None = None) -> Analysis:
    """Every metric, communities and key players of ``graph`` under ``options``."""
    opts = options or Options()
    weight_as = check_weight_as(opts.weight_as)
    adj = graph.adjacency(weight_as)
    n = adj.n
    exact = opts.exact if opts.exact is not None else n * adj.m <= EXACT_WORK
    notes = list(graph.notes)
    if adj.self_loops:
        notes.append(f"{adj.self_loops} self-tie record(s) ignored")
    deg, in_deg, out_deg = degree_centrality(adj)
    total_s, in_s, out_s = strength(adj)
    bet, bet_method = betweenness(adj, exact=exact, epsilon=opts.epsilon, delta=opts.delta,
                                  pivots=opts.pivots, seed=opts.seed)
    close, harm, close_method = closeness_harmonic(adj, exact=exact, pivots=opts.pivots,
                                                   seed=opts.seed)
    eig, converged = eigenvector(adj, tol=opts.tol, max_iter=10000 if exact else 1000)
    if not converged:
        notes.append("eigenvector centrality did not converge: scores are the last iterate")
    if adj.directed and n and _strong_components(adj) > 1:
        notes.append("directed graph not strongly connected: eigenvector centrality is "
                     "degenerate (zero for actors no cycle reaches); prefer Katz or PageRank")
    pr = pagerank(adj, alpha=opts.pagerank_alpha, tol=opts.tol)
    kz, alpha = katz(adj, alpha=opts.katz_alpha, beta=opts.katz_beta, tol=opts.tol)
    ci, ci_method = collective_influence(adj, radius=opts.ci_radius, exact=opts.exact)
    core = k_core(adj)
    community, modularity = communities(adj, method=opts.communities, seed=opts.seed,
                                        resolution=opts.resolution)
    broker = None
    if opts.groups is not None:
        broker = brokerage(adj, [graph.node_attrs.get(node, {}).get(opts.groups) or None
                                 for node in graph.ids])
    order = key_player_order(bet, pr, total_s if adj.weighted else deg)
    components, _ = adj.components()
    iterative = f"exact (iterative, tolerance {opts.tol:g})"
    methods = {
        "degree": "exact", "strength": "exact", "betweenness": bet_method,
        "closeness": close_method, "harmonic": close_method, "eigenvector": iterative,
        "pagerank": iterative, "katz": "exact (linear solve)" if n <= 5000 else iterative,
        "collective_influence": ci_method, "k_core": "exact",
        "community": f"{opts.communities} (heuristic: modularity is a lower bound of the "
                     "optimum), seeded and single-threaded",
    }
    params = {"exact": exact, "epsilon": opts.epsilon, "delta": opts.delta,
              "pivots": opts.pivots, "seed": opts.seed, "community_method": opts.communities,
              "resolution": opts.resolution, "pagerank_alpha": opts.pagerank_alpha,
              "katz_alpha": alpha, "katz_beta": opts.katz_beta, "ci_radius": opts.ci_radius,
              "groups": opts.groups, "tol": opts.tol,
              "path_length": "1/weight" if weight_as == "strength" and adj.weighted
              else "weight" if adj.weighted else "1 per tie"}
    scores = {"degree": deg, "in_degree": in_deg, "out_degree": out_deg,
              "strength": total_s, "in_strength": in_s, "out_strength": out_s,
              "betweenness": bet, "closeness": close, "harmonic": harm, "eigenvector": eig,
              "pagerank": pr, "katz": kz, "collective_influence": ci,
              "k_core": core.astype(np.float64)}
    return Analysis(name=graph.name, ids=graph.ids, directed=adj.directed,
                    weighted=adj.weighted, weight_as=weight_as, edges=adj.m,
                    components=components, scores=scores, community=community,
                    modularity=modularity,
                    key_players=[graph.ids[i] for i in order[:max(opts.top, 0)]],
                    methods=methods, params=params, brokerage=broker, notes=notes)


def _strong_components(adj: Adjacency) -> int:
    from scipy.sparse.csgraph import connected_components

    count, _ = connected_components(adj.matrix(), directed=True, connection="strong")
    return int(count)


METRICS = ("degree", "in_degree", "out_degree", "strength", "betweenness", "closeness",
           "harmonic", "eigenvector", "pagerank", "katz", "collective_influence", "k_core")


def metric(adj: Adjacency, name: str, options: Options | None = None) -> FloatArray:
    """One metric alone (time slices and rankings need one, not the whole analysis)."""
    opts = options or Options()
    exact = opts.exact if opts.exact is not None else adj.n * adj.m <= EXACT_WORK
    if name in ("degree", "in_degree", "out_degree"):
        return degree_centrality(adj)[("degree", "in_degree", "out_degree").index(name)]
    if name == "strength":
        return strength(adj)[0]
    if name == "betweenness":
        return betweenness(adj, exact=exact, epsilon=opts.epsilon, delta=opts.delta,
                           pivots=opts.pivots, seed=opts.seed)[0]
    if name in ("closeness", "harmonic"):
        both = closeness_harmonic(adj, exact=exact, pivots=opts.pivots, seed=opts.seed)
        return both[0] if name == "closeness" else both[1]
    if name == "eigenvector":
        return eigenvector(adj, tol=opts.tol)[0]
    if name == "pagerank":
        return pagerank(adj, alpha=opts.pagerank_alpha, tol=opts.tol)
    if name == "katz":
        return katz(adj, alpha=opts.katz_alpha, beta=opts.katz_beta, tol=opts.tol)[0]
    if name == "collective_influence":
        return collective_influence(adj, radius=opts.ci_radius, exact=opts.exact)[0]
    if name == "k_core":
        return k_core(adj).astype(np.float64)
    raise InvalidData("unknown metric", errors=[
        FieldError("metric", f"{name!r} is not one of {', '.join(METRICS)}")])


# --- paths ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One link of a path with the records behind it (the evidence an analyst cites)."""

    source: str
    target: str
    weight: float
    distance: float
    records: tuple[EdgeRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "weight": self.weight,
                "distance": self.distance,
                "records": [{"source": r.source, "target": r.target, "weight": r.weight,
                             "period": r.period, **({"attrs": dict(r.attrs)} if r.attrs
                                                    else {})} for r in self.records]}


@dataclass(frozen=True)
class Path:
    nodes: tuple[str, ...]
    length: float
    steps: tuple[Step, ...]

    @property
    def hops(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "hops": self.hops, "length": self.length,
                "steps": [s.to_dict() for s in self.steps]}


def _path(graph: Graph, adj: Adjacency, nodes: Sequence[int]) -> Path:
    steps = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        k = adj.edge(a, b)
        assert k is not None
        steps.append(Step(graph.ids[a], graph.ids[b], float(adj.weight[k]),
                          float(adj.distance[k]), tuple(graph.records_between(a, b))))
    return Path(tuple(graph.ids[i] for i in nodes), float(sum(s.distance for s in steps)),
                tuple(steps))


def shortest_paths(graph: Graph, source: str, target: str, *,
                   weight_as: WeightAs = "strength", limit: int = 20) -> list[Path]:
    """Every shortest path from ``source`` to ``target`` (up to ``limit``), arcs followed
    in their direction. Lengths are distances: 1/weight when weights are strengths, so the
    path over the most frequent contacts is the shortest."""
    adj = graph.adjacency(check_weight_as(weight_as))
    s, t = graph.node_index(source), graph.node_index(target)
    if s == t:
        return [Path((source,), 0.0, ())]
    nk = _nk()
    g = adj.nk_graph("distance")
    search = (nk.distance.Dijkstra(g, s, True, False, t) if adj.weighted
              else nk.distance.BFS(g, s, True, False, t))
    search.run()
    if search.distance(t) >= UNREACHABLE:
        return []
    found: list[list[int]] = []
    stack: list[list[int]] = [[t]]
    while stack and len(found) < limit:
        suffix = stack.pop()
        head = suffix[-1]
        if head == s:
            found.append(suffix[::-1])
            continue
        for p in sorted(search.getPredecessors(head), reverse=True):
            stack.append([*suffix, p])
    return [_path(graph, adj, nodes) for nodes in found]


def short_paths(graph: Graph, source: str, target: str, *, max_hops: int = 4,
                limit: int = 100, weight_as: WeightAs = "strength") -> list[Path]:
    """Every simple path of at most ``max_hops`` links, fewest hops first (then shortest).

    Intermediaries an investigator may have missed sit on the slightly longer paths too.
    The search only extends a path towards nodes from which the target is still reachable
    within the hops left, so its cost follows the number of paths, not the graph's size.
    """
    adj = graph.adjacency(check_weight_as(weight_as))
    s, t = graph.node_index(source), graph.node_index(target)
    succ, pred = adj.neighbours()
    to_target = np.full(adj.n, adj.n + 1, dtype=np.int64)
    to_target[t] = 0
    frontier = [t]
    while frontier:
        nxt = []
        for v in frontier:
            for w in pred[v]:
                if to_target[w] > to_target[v] + 1:
                    to_target[w] = to_target[v] + 1
                    nxt.append(w)
        frontier = nxt
    found: list[list[int]] = []
    for hops in range(1, max_hops + 1):
        stack: list[list[int]] = [[s]]
        while stack and len(found) < limit:
            path = stack.pop()
            v = path[-1]
            left = hops - (len(path) - 1)
            if v == t:
                if left == 0:
                    found.append(path)
                continue
            for w in sorted(succ[v], reverse=True):
                if w not in path and to_target[w] <= left - 1:
                    stack.append([*path, w])
        if len(found) >= limit:
            break
    paths = [_path(graph, adj, nodes) for nodes in found]
    return sorted(paths, key=lambda p: (p.hops, p.length))
