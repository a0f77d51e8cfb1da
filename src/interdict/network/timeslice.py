"""Time slices: the network of each period, and how each actor's rank moves across them.

Ties may carry a period: an investigation phase (the 11 two-month CAVIAR wiretap phases), a
date or a timestamp. A slice is the graph of one period's ties among the actors active in
it, which is how phase matrices are coded; ranks are therefore comparable in order, not in
absolute value, when the cast changes between periods.

Phase files come one per period: :func:`combine` joins them into one graph whose records
carry the file's period label, matching actors by id across files. Dates are grouped with
:func:`bin_by_time` (day, week, month, quarter, year) before slicing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.network import analysis
from interdict.network.graph import Graph, WeightAs, check_weight_as
from interdict.network.readers import natural_key

Every = Literal["day", "week", "month", "quarter", "year"]
EVERY: tuple[Every, ...] = ("day", "week", "month", "quarter", "year")


def periods(graph: Graph) -> list[str]:
    """The period labels that occur on some record, in natural order (phase2 < phase10)."""
    used = {graph.periods[p] for p in np.unique(graph.period) if p >= 0}
    return sorted(used, key=natural_key)


def slice_graph(graph: Graph, period: str | Sequence[str], *,
                active_only: bool = True) -> Graph:
    """The records of one period (or several), by default among the actors active in it."""
    wanted = {period} if isinstance(period, str) else set(period)
    unknown = wanted - set(graph.periods)
    if unknown:
        raise InvalidData("unknown period", errors=[
            FieldError("period", f"no record has period {p!r}") for p in sorted(unknown)])
    codes = [i for i, p in enumerate(graph.periods) if p in wanted]
    keep = np.isin(graph.period, codes)
    label = period if isinstance(period, str) else "+".join(sorted(wanted, key=natural_key))
    sliced = graph.select(keep, active_only=active_only)
    sliced.name = f"{graph.name} [{label}]"
    return sliced


def slices(graph: Graph, *, active_only: bool = True) -> dict[str, Graph]:
    return {p: slice_graph(graph, p, active_only=active_only) for p in periods(graph)}


def combine(parts: Mapping[str, Graph], *, name: str = "") -> Graph:
    """One graph from per-period graphs (e.g. phase files), each record tagged with its
    period label; actors are matched by id, their order is first appearance."""
    if not parts:
        raise InvalidData("nothing to combine", errors=[FieldError("slices", "empty")])
    first = next(iter(parts.values()))
    ids: dict[str, int] = {}
    src, dst, wts, per = [], [], [], []
    labels: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    link_attrs: list[Mapping[str, str]] = []
    for code, (label, g) in enumerate(parts.items()):
        if g.directed != first.directed:
            raise InvalidData("slices disagree on direction", errors=[
                FieldError(label, "directed" if g.directed else "undirected")])
        local = np.array([ids.setdefault(node, len(ids)) for node in g.ids], dtype=np.int64)
        src.append(local[g.source])
        dst.append(local[g.target])
        wts.append(g.weight)
        per.append(np.full(g.number_of_records, code, dtype=np.int64))
        labels.update(g.labels)
        for node, values in g.node_attrs.items():
            attrs.setdefault(node, {}).update(values)
        link_attrs.extend(g.link_attrs or [{}] * g.number_of_records)
    notes = [f"{label}: {note}" for label, g in parts.items() for note in g.notes]
    return Graph(list(ids), directed=first.directed, weighted=first.weighted,
                 source=np.concatenate(src), target=np.concatenate(dst),
                 weight=np.concatenate(wts), period=np.concatenate(per),
                 periods=list(parts), link_attrs=link_attrs if any(link_attrs) else None,
                 labels=labels, node_attrs=attrs, name=name or first.name, notes=notes)


def _bin(moment: dt.datetime, every: Every) -> str:
    if every == "day":
        return moment.date().isoformat()
    if every == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if every == "month":
        return f"{moment.year}-{moment.month:02d}"
    if every == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


def bin_by_time(graph: Graph, every: Every) -> Graph:
    """The graph with each record's date or timestamp replaced by its day, ISO week,
    month, quarter or year; a period that is not an ISO 8601 date is an error."""
    if every not in EVERY:
        raise InvalidData("unknown time bin", errors=[
            FieldError("every", f"{every!r} is not one of {', '.join(EVERY)}")])
    bins: list[str] = []
    errors: list[FieldError] = []
    for label in graph.periods:
        try:
            moment = dt.datetime.fromisoformat(label.replace("Z", "+00:00"))
        except ValueError:
            errors.append(FieldError(f"period {label!r}", "is not an ISO 8601 date or time"))
            continue
        bins.append(_bin(moment, every))
    if errors:
        raise InvalidData("periods cannot be binned by time", errors=errors[:20])
    names = sorted(set(bins), key=natural_key)
    code = {b: i for i, b in enumerate(names)}
    remap = np.array([code[b] for b in bins] + [-1], dtype=np.int64)
    return Graph(graph.ids, directed=graph.directed, weighted=graph.weighted,
                 source=graph.source, target=graph.target, weight=graph.weight,
                 period=remap[graph.period], periods=names, link_attrs=graph.link_attrs,
                 labels=graph.labels, node_attrs=graph.node_attrs, name=graph.name,
                 notes=graph.notes)


@dataclass
class RankChanges:
    """Each actor's rank (1 = most central) and score per period; None when absent."""

    metric: str
    weight_as: WeightAs
    periods: list[str]
    ranks: dict[str, list[int | None]]
    scores: dict[str, list[float | None]]

    def change(self, node: str) -> int | None:
        """Rank gained from the first to the last period the actor appears in (> 0 rose)."""
        present = [r for r in self.ranks[node] if r is not None]
        return present[0] - present[-1] if len(present) > 1 else None

    def leaders(self, k: int) -> list[str]:
        """Actors in the top ``k`` of at least one period, best rank first."""
        best = {node: min(r for r in ranks if r is not None)
                for node, ranks in self.ranks.items() if any(r is not None for r in ranks)}
        return sorted((n for n, r in best.items() if r <= k), key=lambda n: (best[n], n))

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "weight_as": self.weight_as, "periods": self.periods,
                "actors": {node: {"ranks": self.ranks[node], "scores": self.scores[node],
                                  "change": self.change(node),
                                  "periods_present": sum(r is not None
                                                         for r in self.ranks[node])}
                           for node in self.ranks}}


def rank_changes(graph: Graph, *, metric: str = "betweenness",
                 weight_as: WeightAs = "strength",
                 options: analysis.Options | None = None) -> RankChanges:
    """Rank of every actor by ``metric`` in each period's slice (competition ranking:
    tied actors share the better rank)."""
    from scipy.stats import rankdata

    weight_as = check_weight_as(weight_as)
    if metric not in analysis.METRICS:
        raise InvalidData("unknown metric", errors=[
            FieldError("metric", f"{metric!r} is not one of {', '.join(analysis.METRICS)}")])
    labels = periods(graph)
    if not labels:
        raise InvalidData("no periods", errors=[
            FieldError("period", "no record carries a period; give several files or a "
                                 "period column")])
    ranks: dict[str, list[int | None]] = {node: [None] * len(labels) for node in graph.ids}
    scores: dict[str, list[float | None]] = {node: [None] * len(labels) for node in graph.ids}
    for t, label in enumerate(labels):
        part = slice_graph(graph, label)
        values = analysis.metric(part.adjacency(weight_as), metric, options)
        order = rankdata(-values, method="min")
        for i, node in enumerate(part.ids):
            ranks[node][t] = int(order[i])
            scores[node][t] = float(values[i])
    return RankChanges(metric=metric, weight_as=weight_as, periods=labels, ranks=ranks,
                       scores=scores)
