"""Disruption simulation: remove actors by a strategy and follow the largest component.

The question an investigation asks is which arrests would break the network apart. The
simulation removes actors in the order a strategy ranks them and records the size of the
largest connected component after every step (weakly connected for directed graphs: two
actors stay in one piece if messages can pass between them in either direction, which is
how intercepted calls keep an organisation working).

Modes:

- ``sequential``: one actor per step, scores recomputed after each removal (the adaptive
  attack of Morselli & Petit 2007 and Cavallaro et al. 2020);
- ``block``: the K highest-ranked actors removed together, then scores recomputed (a
  batch removal, as when a round of arrests is carried out at once).

Strategies rank the remaining actors by degree (strength when weighted), betweenness, Katz,
collective influence, or at random (seeded: the baseline any targeted strategy must beat).
Ties go to the actor with more ties, then to the one listed first, so results are
reproducible and a strategy whose scores have all fallen to zero (collective influence on
stars and pairs, betweenness on pairs) still removes hubs before leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.network import analysis
from interdict.network.graph import (
    Adjacency,
    BoolArray,
    FloatArray,
    Graph,
    WeightAs,
    check_weight_as,
)

Strategy = Literal["degree", "betweenness", "katz", "collective_influence", "random"]
STRATEGIES: tuple[Strategy, ...] = ("degree", "betweenness", "katz", "collective_influence",
                                    "random")
Mode = Literal["sequential", "block"]
MODES: tuple[Mode, ...] = ("sequential", "block")


@dataclass
class Disruption:
    """The largest-component curve: ``lcc[0]`` before any removal, then after each step."""

    strategy: Strategy
    mode: Mode
    block_size: int
    directed: bool
    weighted: bool
    weight_as: WeightAs
    seed: int
    nodes: int
    lcc: list[int]
    steps: list[list[str]]

    @property
    def removed(self) -> list[str]:
        return [node for step in self.steps for node in step]

    @property
    def robustness(self) -> float:
        """Schneider et al.'s R over the steps taken: mean largest-component share after
        each step (lower = the strategy breaks the network faster)."""
        if self.nodes == 0 or len(self.lcc) < 2:
            return 0.0
        return float(np.mean(self.lcc[1:]) / self.nodes)

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "mode": self.mode, "block_size": self.block_size,
                "lcc": self.lcc, "removed": self.removed, "steps": self.steps,
                "lcc_of": ("weakly connected components (directed graph)" if self.directed
                           else "connected components"),
                "nodes": self.nodes, "directed": self.directed, "weighted": self.weighted,
                "weight_as": self.weight_as, "seed": self.seed,
                "robustness": self.robustness}


def largest_component(adj: Adjacency, removed: BoolArray) -> int:
    """Size of the largest (weakly) connected component among the remaining actors."""
    if removed.all():
        return 0
    _, labels = adj.without(removed).components()
    return int(np.bincount(labels[~removed]).max())


def removal_scores(adj: Adjacency, strategy: str, *, removed: BoolArray, seed: int = 0,
                   exact: bool = True) -> FloatArray:
    """The score a strategy ranks the remaining actors by (higher goes first).

    Removed actors stay in the index as isolates, which changes no other actor's score.
    """
    current = adj.without(removed)
    if strategy == "degree":
        return (analysis.strength(current)[0] if adj.weighted
                else analysis.degree_centrality(current)[0])
    if strategy == "betweenness":
        return analysis.betweenness(current, exact=exact, seed=seed)[0]
    if strategy == "katz":
        return analysis.katz(current)[0]
    if strategy == "collective_influence":
        return analysis.collective_influence(current)[0]
    raise InvalidData("unknown strategy", errors=[
        FieldError("strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}")])


def _comparable(scores: FloatArray) -> FloatArray:
    """Scores rounded to 9 significant digits of the largest: actors in symmetric positions
    then tie exactly and the documented tie-breaks decide, not floating-point noise."""
    top = float(np.max(np.abs(scores))) if len(scores) else 0.0
    return np.round(scores / top, 9) if top > 0 else scores


def simulate(graph: Graph, *, strategy: str, mode: str = "sequential", block_size: int = 1,
             weight_as: WeightAs = "strength", seed: int = 0, max_steps: int | None = None,
             exact: bool | None = None) -> Disruption:
    """Remove actors step by step until no tie is left (or ``max_steps`` steps).

    Stopping once the largest component is a single actor keeps the curve to the part that
    differs between strategies; every later step would record 1.
    """
    problems = []
    if strategy not in STRATEGIES:
        problems.append(FieldError("strategy",
                                   f"{strategy!r} is not one of {', '.join(STRATEGIES)}"))
    if mode not in MODES:
        problems.append(FieldError("mode", f"{mode!r} is not one of sequential, block"))
    if block_size < 1:
        problems.append(FieldError("block_size", "must be at least 1"))
    if max_steps is not None and max_steps < 0:
        problems.append(FieldError("max_steps", "must not be negative"))
    if problems:
        raise InvalidData("invalid disruption settings", errors=problems)
    adj = graph.adjacency(check_weight_as(weight_as))
    n = adj.n
    per_step = 1 if mode == "sequential" else block_size
    exact_bc = exact if exact is not None else n * adj.m <= analysis.EXACT_WORK
    removed = np.zeros(n, dtype=bool)
    lcc = [largest_component(adj, removed)]
    steps: list[list[str]] = []
    shuffled = np.random.default_rng(seed).permutation(n)
    while lcc[-1] > 1 and (max_steps is None or len(steps) < max_steps):
        if strategy == "random":
            chosen = [int(i) for i in shuffled[~removed[shuffled]][:per_step]]
        else:
            scores = _comparable(removal_scores(adj, strategy, removed=removed, seed=seed,
                                                exact=exact_bc))
            scores = np.where(removed, -np.inf, scores)
            degree = analysis.degree_centrality(adj.without(removed))[0]
            order = np.lexsort((np.arange(n), -degree, -scores))
            chosen = [int(i) for i in order[:per_step] if not removed[i]]
        removed[chosen] = True
        steps.append([graph.ids[i] for i in chosen])
        lcc.append(largest_component(adj, removed))
    return Disruption(strategy=strategy,  # type: ignore[arg-type]
                      mode=mode, block_size=per_step,  # type: ignore[arg-type]
                      directed=adj.directed, weighted=adj.weighted, weight_as=adj.weight_as,
                      seed=seed, nodes=n, lcc=lcc, steps=steps)
