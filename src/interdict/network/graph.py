"""The in-memory graph every analysis reads, and its conversions to networkit and networkx.

A :class:`Graph` keeps the ties *as recorded* (one record per matrix cell, edge-list line or
stored link, with its weight, optional period and free-text attributes) so that a path shown
to an analyst can cite the records behind each link, and so that a time slice is just a
subset of records. Analyses need a simple graph instead (one edge per pair, no self-loops):
:meth:`Graph.adjacency` builds that view, an :class:`Adjacency`, once per weight semantics.

Weight semantics (``weight_as``) are explicit because the same number means opposite things:
a count of intercepted calls is a *strength* (more calls = closer), a travel time is a
*distance*. Every edge of an :class:`Adjacency` carries both readings, ``strength`` and
``distance = 1 / strength``, so walk measures (PageRank, eigenvector, Katz, communities,
strength) always read strengths and path measures (betweenness, closeness, shortest paths)
always read distances, whichever way the input was given.

Node indices are positions in :attr:`Graph.ids` (input order); every score array in this
package is aligned with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from interdict.errors import FieldError, InvalidData

if TYPE_CHECKING:
    import networkit as nk
    import networkx as nx
    import scipy.sparse as sp

WeightAs = Literal["strength", "distance"]
WEIGHT_AS: tuple[WeightAs, ...] = ("strength", "distance")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EdgeRecord:
    """One tie as recorded: an arc (or edge, in an undirected graph) with its evidence."""

    source: str
    target: str
    weight: float = 1.0
    period: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)


def check_weight_as(weight_as: str) -> WeightAs:
    """The validated ``weight_as``; library callers get the same error the CLI shows."""
    if weight_as == "strength":
        return "strength"
    if weight_as == "distance":
        return "distance"
    raise InvalidData("unknown weight semantics", errors=[
        FieldError("weight_as", f"{weight_as!r} is not one of strength, distance")])


class Graph:
    """Nodes with ids, labels and attributes, and the recorded ties between them.

    ``weighted=False`` means weights are ignored by every analysis (each pair with at least
    one record is one edge of length 1); the recorded weights are kept for evidence and
    export. ``notes`` lists what a reader found odd in the input (duplicate labels, an
    asymmetric matrix read as undirected, ...) so that it can be shown next to the results.
    """

    def __init__(self, ids: Sequence[str], *, directed: bool, weighted: bool,
                 source: npt.ArrayLike, target: npt.ArrayLike,
                 weight: npt.ArrayLike | None = None, period: npt.ArrayLike | None = None,
                 periods: Sequence[str] = (),
                 link_attrs: Sequence[Mapping[str, str]] | None = None,
                 labels: Mapping[str, str] | None = None,
                 node_attrs: Mapping[str, Mapping[str, str]] | None = None,
                 name: str = "", notes: Sequence[str] = ()) -> None:
        self.ids: tuple[str, ...] = tuple(ids)
        self.index: dict[str, int] = {node: i for i, node in enumerate(self.ids)}
        if len(self.index) != len(self.ids):
            dups = sorted(x for x, c in Counter(self.ids).items() if c > 1)
            raise InvalidData("node ids must be unique", errors=[
                FieldError("nodes", f"id {d!r} appears more than once") for d in dups[:20]])
        self.directed = directed
        self.weighted = weighted
        self.source: IntArray = np.asarray(source, dtype=np.int64).reshape(-1)
        self.target: IntArray = np.asarray(target, dtype=np.int64).reshape(-1)
        m = len(self.source)
        self.weight: FloatArray = (np.ones(m) if weight is None
                                   else np.asarray(weight, dtype=np.float64).reshape(-1))
        self.period: IntArray = (np.full(m, -1, dtype=np.int64) if period is None
                                 else np.asarray(period, dtype=np.int64).reshape(-1))
        self.periods: tuple[str, ...] = tuple(periods)
        self.link_attrs: list[Mapping[str, str]] | None = (
            None if link_attrs is None else list(link_attrs))
        self.labels: dict[str, str] = dict(labels or {})
        self.node_attrs: dict[str, dict[str, str]] = {
            k: dict(v) for k, v in (node_attrs or {}).items()}
        self.name = name
        self.notes: list[str] = list(notes)
        self._check(m)
        self._adjacency: dict[WeightAs, Adjacency] = {}
        self._pairs: dict[tuple[int, int], list[int]] | None = None

    def _check(self, m: int) -> None:
        n = len(self.ids)
        if not (len(self.target) == len(self.weight) == len(self.period) == m):
            raise ValueError("source, target, weight and period must have the same length")
        if self.link_attrs is not None and len(self.link_attrs) != m:
            raise ValueError("link_attrs must have one entry per record")
        if m and (self.source.min() < 0 or self.target.min() < 0
                  or self.source.max() >= n or self.target.max() >= n):
            raise ValueError("record endpoints must be node indices")
        if m and (self.period.max() >= len(self.periods) or self.period.min() < -1):
            raise ValueError("period codes must index periods (or be -1)")
        bad = ~np.isfinite(self.weight) | (self.weight <= 0)
        if bad.any():
            raise InvalidData("weights must be positive numbers", errors=[
                FieldError(f"link {self.ids[self.source[i]]} -> {self.ids[self.target[i]]}",
                           f"weight {self.weight[i]!r} is not a positive number")
                for i in np.flatnonzero(bad)[:20]])

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_records(cls, records: Iterable[EdgeRecord], *, directed: bool, weighted: bool,
                     nodes: Iterable[str] = (), labels: Mapping[str, str] | None = None,
                     node_attrs: Mapping[str, Mapping[str, str]] | None = None,
                     name: str = "", notes: Sequence[str] = ()) -> Graph:
        """A graph from records by node id; ``nodes`` adds isolates and fixes the order."""
        index: dict[str, int] = {}
        for node in nodes:
            index.setdefault(node, len(index))
        periods: dict[str, int] = {}
        src: list[int] = []
        dst: list[int] = []
        wts: list[float] = []
        per: list[int] = []
        attrs: list[Mapping[str, str]] = []
        for r in records:
            src.append(index.setdefault(r.source, len(index)))
            dst.append(index.setdefault(r.target, len(index)))
            wts.append(r.weight)
            per.append(-1 if r.period is None else periods.setdefault(r.period, len(periods)))
            attrs.append(r.attrs)
        return cls(list(index), directed=directed, weighted=weighted, source=src, target=dst,
                   weight=wts, period=per, periods=list(periods),
                   link_attrs=attrs if any(attrs) else None, labels=labels,
                   node_attrs=node_attrs, name=name, notes=notes)

    # --- reading --------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def number_of_records(self) -> int:
        return len(self.source)

    def label(self, node: str) -> str:
        return self.labels.get(node, node)

    def record(self, i: int) -> EdgeRecord:
        p = int(self.period[i])
        return EdgeRecord(source=self.ids[self.source[i]], target=self.ids[self.target[i]],
                          weight=float(self.weight[i]),
                          period=None if p < 0 else self.periods[p],
                          attrs=dict(self.link_attrs[i]) if self.link_attrs else {})

    def records(self) -> Iterator[EdgeRecord]:
        for i in range(self.number_of_records):
            yield self.record(i)

    def records_between(self, u: int, v: int) -> list[EdgeRecord]:
        """The records behind the link u-v (u->v if directed): the evidence for a path step."""
        if self._pairs is None:
            pairs: dict[tuple[int, int], list[int]] = {}
            for i, (a, b) in enumerate(zip(self.source.tolist(), self.target.tolist(),
                                           strict=True)):
                key = (a, b) if self.directed else (min(a, b), max(a, b))
                pairs.setdefault(key, []).append(i)
            self._pairs = pairs
        key = (u, v) if self.directed else (min(u, v), max(u, v))
        return [self.record(i) for i in self._pairs.get(key, [])]

    def node_index(self, node: str) -> int:
        try:
            return self.index[node]
        except KeyError:
            raise InvalidData("unknown node", errors=[
                FieldError("node", f"no node with id {node!r}")]) from None

    # --- derived graphs -------------------------------------------------------------------

    def select(self, keep: BoolArray, *, active_only: bool = False,
               notes: Sequence[str] = ()) -> Graph:
        """The graph with only the records in ``keep``; ``active_only`` drops idle nodes."""
        idx = np.flatnonzero(keep)
        src, dst = self.source[idx], self.target[idx]
        if active_only:
            used = np.zeros(self.n, dtype=bool)
            used[src] = True
            used[dst] = True
            new = np.cumsum(used) - 1
            ids = [x for x, u in zip(self.ids, used, strict=True) if u]
            src, dst = new[src], new[dst]
        else:
            ids = list(self.ids)
        kept = set(ids)
        return Graph(ids, directed=self.directed, weighted=self.weighted, source=src,
                     target=dst, weight=self.weight[idx], period=self.period[idx],
                     periods=self.periods,
                     link_attrs=None if self.link_attrs is None
                     else [self.link_attrs[i] for i in idx],
                     labels={k: v for k, v in self.labels.items() if k in kept},
                     node_attrs={k: v for k, v in self.node_attrs.items() if k in kept},
                     name=self.name, notes=[*self.notes, *notes])

    def with_options(self, *, directed: bool | None = None,
                     weighted: bool | None = None) -> Graph:
        """The same records read as (un)directed or (un)weighted."""
        return Graph(self.ids, directed=self.directed if directed is None else directed,
                     weighted=self.weighted if weighted is None else weighted,
                     source=self.source, target=self.target, weight=self.weight,
                     period=self.period, periods=self.periods, link_attrs=self.link_attrs,
                     labels=self.labels, node_attrs=self.node_attrs, name=self.name,
                     notes=self.notes)

    def adjacency(self, weight_as: WeightAs = "strength") -> Adjacency:
        """The simple graph analyses read (cached per ``weight_as``).

        Parallel records of one pair (several calls, both directions of an undirected tie)
        become one edge: as strengths their weights add up (two records of 3 calls are 6
        calls); as distances the shortest one counts (two roads, the quicker is the link).
        Self-loops are dropped: no centrality here is defined with them.
        """
        weight_as = check_weight_as(weight_as)
        if weight_as not in self._adjacency:
            self._adjacency[weight_as] = self._build_adjacency(weight_as)
        return self._adjacency[weight_as]

    def _build_adjacency(self, weight_as: WeightAs) -> Adjacency:
        n = self.n
        loops = self.source == self.target
        a, b, w = self.source[~loops], self.target[~loops], self.weight[~loops]
        if not self.directed:
            a, b = np.minimum(a, b), np.maximum(a, b)
        key = a * max(n, 1) + b
        uniq, inv = np.unique(key, return_inverse=True)
        if weight_as == "strength":
            agg = np.bincount(inv, weights=w, minlength=len(uniq))
        else:
            agg = np.full(len(uniq), np.inf)
            np.minimum.at(agg, inv, w)
        u, v = uniq // max(n, 1), uniq % max(n, 1)
        return Adjacency.read(n=n, directed=self.directed, weighted=self.weighted,
                              weight_as=weight_as, u=u.astype(np.int64), v=v.astype(np.int64),
                              weight=agg.astype(np.float64), self_loops=int(loops.sum()))

    def to_networkx(self, weight_as: WeightAs = "strength",
                    node_data: Mapping[str, Sequence[Any]] | None = None) -> nx.Graph:
        """A networkx graph of the simple view: nodes by id with label and attributes,
        edges with ``weight`` (aggregated as recorded), ``strength``, ``distance``, the
        periods they were recorded in, and the number of records behind them.

        ``node_data`` adds per-node values (aligned with :attr:`ids`), e.g. metrics for an
        export; None values are left out because GraphML and GEXF have no null.
        """
        import networkx as nx

        adj = self.adjacency(weight_as)
        g: nx.Graph = nx.DiGraph() if self.directed else nx.Graph()
        g.graph.update({"name": self.name, "directed": self.directed,
                        "weighted": self.weighted, "weight_as": weight_as})
        for i, node in enumerate(self.ids):
            data: dict[str, Any] = {"label": self.label(node)}
            data.update(self.node_attrs.get(node, {}))
            for key, values in (node_data or {}).items():
                if values[i] is not None:
                    data[key] = values[i]
            g.add_node(node, **data)
        periods = self._pair_periods()
        for k in range(adj.m):
            u, v = int(adj.u[k]), int(adj.v[k])
            recs, pers = periods.get((u, v), (0, set()))
            g.add_edge(self.ids[u], self.ids[v], weight=float(adj.weight[k]),
                       strength=float(adj.strength[k]), distance=float(adj.distance[k]),
                       records=recs, periods=" ".join(sorted(pers)))
        return g

    def _pair_periods(self) -> dict[tuple[int, int], tuple[int, set[str]]]:
        out: dict[tuple[int, int], tuple[int, set[str]]] = {}
        for a, b, p in zip(self.source.tolist(), self.target.tolist(), self.period.tolist(),
                           strict=True):
            key = (a, b) if self.directed else (min(a, b), max(a, b))
            count, pers = out.get(key, (0, set()))
            if p >= 0:
                pers.add(self.periods[p])
            out[key] = (count + 1, pers)
        return out


class Adjacency:
    """A simple graph over node indices ``0..n-1``: one edge per pair, no self-loops.

    For undirected graphs each edge is stored once with ``u < v``. ``weight`` is the
    aggregated recorded weight; ``strength`` and ``distance`` are its two readings (both 1
    when the graph is unweighted). Conversions to networkit and scipy are cached because
    disruption and time slices call them repeatedly.
    """

    def __init__(self, *, n: int, directed: bool, weighted: bool, weight_as: WeightAs,
                 u: IntArray, v: IntArray, weight: FloatArray, strength: FloatArray,
                 distance: FloatArray, self_loops: int = 0) -> None:
        self.n = n
        self.directed = directed
        self.weighted = weighted
        self.weight_as = weight_as
        self.u = u
        self.v = v
        self.weight = weight
        self.strength = strength
        self.distance = distance
        self.self_loops = self_loops
        self._nk: dict[tuple[str, bool], nk.Graph] = {}
        self._csr: sp.csr_array | None = None
        self._lookup: dict[tuple[int, int], int] | None = None

    @classmethod
    def read(cls, *, n: int, directed: bool, weighted: bool, weight_as: WeightAs,
             u: IntArray, v: IntArray, weight: FloatArray, self_loops: int = 0) -> Adjacency:
        """Edges whose aggregated weights are read as ``weight_as`` (both 1 if unweighted)."""
        if not weighted:
            strength, distance = np.ones(len(u)), np.ones(len(u))
        elif weight_as == "strength":
            strength, distance = weight, 1.0 / weight
        else:
            strength, distance = 1.0 / weight, weight
        return cls(n=n, directed=directed, weighted=weighted, weight_as=weight_as, u=u, v=v,
                   weight=weight, strength=strength, distance=distance, self_loops=self_loops)

    @property
    def m(self) -> int:
        return len(self.u)

    def nk_graph(self, kind: Literal["plain", "strength", "distance"] = "plain", *,
                 transpose: bool = False) -> nk.Graph:
        """The networkit graph with the given edge weights (``plain``: unweighted).

        ``transpose`` reverses arcs: networkx measures closeness and harmonic centrality on
        *incoming* distances, networkit on outgoing ones, so those run on the transpose.
        """
        import networkit as nk

        key = (kind, transpose and self.directed)
        if key not in self._nk:
            u, v = (self.v, self.u) if key[1] else (self.u, self.v)
            if kind == "plain" or not self.weighted:
                g = nk.GraphFromCoo((u, v), n=self.n, weighted=False, directed=self.directed)
            else:
                w = self.strength if kind == "strength" else self.distance
                g = nk.GraphFromCoo((w, (u, v)), n=self.n, weighted=True,
                                    directed=self.directed)
            self._nk[key] = g
        return self._nk[key]

    def matrix(self) -> sp.csr_array:
        """The n x n strength matrix, A[u, v] = strength of u->v (symmetric if undirected)."""
        import scipy.sparse as sp

        if self._csr is None:
            u, v, s = self.u, self.v, self.strength
            if not self.directed:
                u, v, s = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([s, s])
            self._csr = sp.csr_array((s, (u, v)), shape=(self.n, self.n))
        return self._csr

    def undirected(self) -> Adjacency:
        """The undirected view: u-v exists if u->v or v->u; strengths add, the shorter
        distance counts. Used where a measure is only defined without direction
        (communities, k-core, collective influence)."""
        if not self.directed:
            return self
        a, b = np.minimum(self.u, self.v), np.maximum(self.u, self.v)
        key = a * max(self.n, 1) + b
        uniq, inv = np.unique(key, return_inverse=True)
        strength = np.bincount(inv, weights=self.strength,
                               minlength=len(uniq)).astype(np.float64)
        distance = np.full(len(uniq), np.inf)
        np.minimum.at(distance, inv, self.distance)
        return Adjacency(n=self.n, directed=False, weighted=self.weighted,
                         weight_as=self.weight_as, u=uniq // max(self.n, 1),
                         v=uniq % max(self.n, 1),
                         weight=strength if self.weight_as == "strength" else distance,
                         strength=strength, distance=distance)

    def without(self, removed: BoolArray) -> Adjacency:
        """The same node set with every edge of a removed node dropped (they become
        isolates, so indices stay aligned with the original graph)."""
        keep = ~(removed[self.u] | removed[self.v])
        return Adjacency(n=self.n, directed=self.directed, weighted=self.weighted,
                         weight_as=self.weight_as, u=self.u[keep], v=self.v[keep],
                         weight=self.weight[keep], strength=self.strength[keep],
                         distance=self.distance[keep])

    def in_out_degree(self) -> tuple[IntArray, IntArray]:
        """Distinct in- and out-neighbours per node (both the degree if undirected)."""
        out_deg = np.bincount(self.u, minlength=self.n).astype(np.int64)
        in_deg = np.bincount(self.v, minlength=self.n).astype(np.int64)
        if not self.directed:
            both = out_deg + in_deg
            return both, both
        return in_deg, out_deg

    def in_out_strength(self) -> tuple[FloatArray, FloatArray]:
        out_s = np.bincount(self.u, weights=self.strength, minlength=self.n).astype(np.float64)
        in_s = np.bincount(self.v, weights=self.strength, minlength=self.n).astype(np.float64)
        if not self.directed:
            both = out_s + in_s
            return both, both
        return in_s, out_s

    def components(self) -> tuple[int, IntArray]:
        """Number of (weakly, if directed) connected components and each node's label."""
        from scipy.sparse.csgraph import connected_components

        count, labels = connected_components(self.matrix(), directed=self.directed,
                                             connection="weak")
        return int(count), labels.astype(np.int64)

    def edge(self, a: int, b: int) -> int | None:
        """Position of the edge a->b (a-b if undirected) in the arrays, or None."""
        if self._lookup is None:
            self._lookup = {(x, y): k for k, (x, y) in
                            enumerate(zip(self.u.tolist(), self.v.tolist(), strict=True))}
        key = (a, b) if self.directed else (min(a, b), max(a, b))
        return self._lookup.get(key)

    def neighbours(self) -> tuple[list[list[int]], list[list[int]]]:
        """Successor and predecessor lists (the same lists if undirected)."""
        succ: list[list[int]] = [[] for _ in range(self.n)]
        pred: list[list[int]] = [[] for _ in range(self.n)] if self.directed else succ
        for a, b in zip(self.u.tolist(), self.v.tolist(), strict=True):
            succ[a].append(b)
            pred[b].append(a)
        return succ, pred
