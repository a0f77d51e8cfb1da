"""Entity resolution, part 4: the Fellegi-Sunter model, its estimation, and explanations.

Scoring. For each feature level, m = P(level | match) and u = P(level | non-match). A pair's
match weight is ``log2(λ / (1 - λ)) + Σ log2(m / u)`` over its features (a missing feature
adds 0), and its match probability is ``1 / (1 + 2^-weight)``. λ is the share of matches
among *candidate pairs* (the population actually scored), so the probability is what it
says for the pairs blocking produced. Each term is an analyst-readable piece of evidence:
"dates of birth identical: +14.1, 17,000 times more likely for the same person".

Why Fellegi-Sunter with these estimators (rather than a trained classifier):

* Agencies rarely have labelled pairs when they start, and a model that needs them would
  not run on day one. Fellegi-Sunter parameters can be estimated without labels.
* **u by random sampling**: random pairs are almost all non-matches, so the level shares
  among them estimate u directly and robustly (the approach splink takes). EM's own u
  estimates are biased by blocking, which selects pairs that already agree.
* **m and λ by expectation-maximisation** over the candidate pairs with u held fixed: the
  candidates contain many matches, and with u fixed EM has one stable solution instead of
  the label-switching it is prone to when everything is free.
* **Labels when there are some** (:func:`fit_labelled`): analysts' accepted judgements give m
  directly. Their rejected pairs are not used for u: reviewers see the doubtful pairs near
  the threshold, a sample that says nothing about non-matches in general.
* Priors (:data:`~interdict.network.resolution_compare.FEATURES`) act as pseudo-counts, so a
  level seen rarely is pulled toward a sensible value instead of 0 or 1, and they are the
  model when there is too little data to estimate anything (a few dozen records).
* A level never seen among N random pairs gets u ≥ 0.5 / N: "not seen in 100,000 pairs" is
  evidence for u ≈ 1/100,000, not for u = 10⁻⁹, and keeps any single feature from
  overwhelming all others by an artefact of the sample.

The default decision threshold is a match probability of 0.5 ("more likely the same than
not"), the threshold that minimises errors when a false merge and a missed link cost the
same. Suggestions are reviewed, not merged, so a deployment that prefers more recall can
lower it; the benchmark uses the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from interdict.errors import FieldError, InvalidData
from interdict.network.resolution_blocking import KEY_BITS, KEY_FEATURES
from interdict.network.resolution_compare import FEATURES
from interdict.network.resolution_records import Corpus

DEFAULT_THRESHOLD = 0.5

#: Prior share of matches among candidate pairs, used until EM estimates it.
DEFAULT_PRIOR = 0.1

#: Fewer candidate pairs than this and EM is not attempted (the priors stay).
MIN_PAIRS_FOR_EM = 200

#: Fewer random pairs with a feature present than this and its u priors stay.
MIN_PAIRS_FOR_U = 1000

#: Pseudo-pairs the priors are worth when estimating m (EM, labels) and u (random pairs).
M_PSEUDO_COUNT = 1.0
U_PSEUDO_COUNT = 100.0

_EPS = 1e-9


def _normalised(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    values = np.clip(values, _EPS, None)
    return tuple(float(v) for v in values / values.sum())


@dataclass(frozen=True)
class Model:
    """m and u per level of every feature, and λ; serialisable with :meth:`to_dict`.

    ``method`` says how it was obtained (``prior``, ``em``, ``labelled``) and ``details``
    records the numbers behind it (iterations, pairs used), so a stored model explains
    itself.
    """

    m: Mapping[str, tuple[float, ...]]
    u: Mapping[str, tuple[float, ...]]
    prior: float = DEFAULT_PRIOR
    method: str = "prior"
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Model:
        return cls(m={f.name: _normalised(np.array([lv.m for lv in f.levels]))
                      for f in FEATURES},
                   u={f.name: _normalised(np.array([lv.u for lv in f.levels]))
                      for f in FEATURES})

    def weights(self, feature: str) -> npt.NDArray[np.float64]:
        """log2(m/u) per level of one feature."""
        ratio: npt.NDArray[np.float64] = np.array(self.m[feature]) / np.array(self.u[feature])
        return np.log2(ratio)

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def to_dict(self) -> dict[str, Any]:
        return {"m": {k: list(v) for k, v in self.m.items()},
                "u": {k: list(v) for k, v in self.u.items()},
                "prior": self.prior, "method": self.method, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        try:
            model = cls(m={k: tuple(float(x) for x in v) for k, v in data["m"].items()},
                        u={k: tuple(float(x) for x in v) for k, v in data["u"].items()},
                        prior=float(data["prior"]), method=str(data.get("method", "prior")),
                        details=dict(data.get("details") or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidData(f"not a resolution model: {exc}",
                              errors=[FieldError("model", "malformed")]) from exc
        for f in FEATURES:
            for side in (model.m, model.u):
                if len(side.get(f.name, ())) != len(f.levels):
                    raise InvalidData(f"model has no levels for feature {f.name}",
                                      errors=[FieldError(f.name, "missing or wrong length")])
                if not all(0 < p <= 1 for p in side[f.name]):
                    raise InvalidData(f"probabilities of {f.name} must lie in (0, 1]",
                                      errors=[FieldError(f.name, "out of range")])
        if not 0 < model.prior < 1:
            raise InvalidData("prior must lie strictly between 0 and 1",
                              errors=[FieldError("prior", "out of range")])
        return model


def match_weights(model: Model, levels: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """Total match weight (log2 odds) per row of a levels matrix."""
    total = np.full(len(levels), model.prior_weight, dtype=np.float64)
    for f, feature in enumerate(FEATURES):
        # The appended 0 is where level -1 (missing) indexes: no evidence.
        table = np.append(model.weights(feature.name), 0.0)
        total += table[levels[:, f]]
    return total


def probabilities(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp2(-np.clip(weights, -200, 200)))


# --- estimation ------------------------------------------------------------------------------


def estimate_u(random_levels: npt.NDArray[np.int8], model: Model) -> Model:
    """u from the levels of random pairs (see the module docstring for the floor)."""
    u = dict(model.u)
    used: dict[str, int] = {}
    for f, feature in enumerate(FEATURES):
        column = random_levels[:, f]
        present = column[column >= 0]
        used[feature.name] = int(len(present))
        if len(present) < MIN_PAIRS_FOR_U:
            continue
        counts = np.bincount(present, minlength=len(feature.levels)).astype(np.float64)
        prior = np.array(model.u[feature.name])
        estimate = (counts + U_PSEUDO_COUNT * prior) / (len(present) + U_PSEUDO_COUNT)
        u[feature.name] = _normalised(np.maximum(estimate, 0.5 / len(present)))
    details = {**model.details, "random_pairs": int(len(random_levels)),
               "random_pairs_per_feature": used}
    return Model(m=model.m, u=u, prior=model.prior, method=model.method, details=details)


Vector = npt.NDArray[np.float64]


def _em_session(levels: npt.NDArray[np.int8], free: list[int], m: dict[str, Vector],
                u: Mapping[str, tuple[float, ...]], prior: float, *, max_iterations: int,
                tolerance: float) -> tuple[dict[str, Vector], dict[str, float], float, int,
                                           bool]:
    """EM over ``levels`` using and estimating only the features in ``free``.

    Returns the new m of the free features, the expected number of matches with each free
    feature present (the weight of this session's estimate), λ, iterations, convergence.
    """
    log_u = {FEATURES[f].name: np.log2(np.array(u[FEATURES[f].name])) for f in free}
    m = {FEATURES[f].name: m[FEATURES[f].name].copy() for f in free}
    priors = Model.default().m
    expected: dict[str, float] = {}
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 (returned)
        weight = np.full(len(levels), math.log2(prior / (1 - prior)))
        for f in free:
            name = FEATURES[f].name
            weight += np.append(np.log2(m[name]) - log_u[name], 0.0)[levels[:, f]]
        gamma = probabilities(weight)
        change = 0.0
        for f in free:
            name = FEATURES[f].name
            column = levels[:, f]
            present = column >= 0
            counts = np.bincount(column[present], weights=gamma[present],
                                 minlength=len(FEATURES[f].levels))
            expected[name] = float(gamma[present].sum())
            new = (counts + M_PSEUDO_COUNT * np.array(priors[name])) / (
                expected[name] + M_PSEUDO_COUNT)
            new = np.clip(new, _EPS, None) / np.clip(new, _EPS, None).sum()
            change = max(change, float(np.abs(new - m[name]).max()))
            m[name] = new
        new_prior = float(np.clip(gamma.mean(), 1e-6, 1 - 1e-6))
        change = max(change, abs(new_prior - prior))
        prior = new_prior
        if change < tolerance:
            converged = True
            break
    return m, expected, prior, iteration, converged


def estimate_prior(levels: npt.NDArray[np.int8], model: Model, *,
                   max_iterations: int = 200) -> float:
    """λ on the given pairs by EM with m and u fixed: the mean posterior, to a fixed point."""
    if not len(levels):
        return model.prior
    base = match_weights(model, levels) - model.prior_weight
    prior = model.prior
    for _ in range(max_iterations):
        share = float(np.clip(probabilities(base + math.log2(prior / (1 - prior))).mean(),
                              1e-6, 1 - 1e-6))
        if abs(share - prior) < 1e-8:
            return share
        prior = share
    return prior


def fit_em(levels: npt.NDArray[np.int8], kinds: npt.NDArray[np.uint8], model: Model, *,
           max_iterations: int = 100, tolerance: float = 1e-5) -> Model:
    """m by EM over candidate pairs, one session per blocking key, u held fixed; then λ.

    Blocking makes features agree among non-matches: every pair of a ``dob`` block shares a
    date of birth, so EM over all candidates at once mistakes "same date, different name"
    non-matches for matches and inflates m where blocking forced agreement. As in splink,
    EM therefore runs once per kind of blocking key on the pairs that key found, estimating
    only the features that key does not constrain
    (:data:`~interdict.network.resolution_blocking.KEY_FEATURES`). Each feature's m is the
    average of its sessions' estimates weighted by their expected matches. λ is then
    re-estimated over all candidates with m and u fixed. Pairs without a key mask (``kinds``
    all 0) form one session with every feature free.
    """
    if len(levels) < MIN_PAIRS_FOR_EM:
        return Model(m=model.m, u=model.u, prior=model.prior, method=model.method,
                     details={**model.details, "em": f"skipped: {len(levels)} candidate "
                              f"pairs, fewer than {MIN_PAIRS_FOR_EM}"})
    start = {k: np.array(v) for k, v in model.m.items()}
    everything = list(range(len(FEATURES)))
    sessions: list[tuple[str, npt.NDArray[np.bool_], list[int]]] = [
        (kind, (kinds & bit) != 0,
         [f for f in everything if FEATURES[f].name not in KEY_FEATURES[kind]])
        for kind, bit in KEY_BITS.items()]
    if not kinds.any():
        sessions = [("all", np.ones(len(levels), dtype=np.bool_), everything)]
    sums = {f.name: np.zeros(len(f.levels)) for f in FEATURES}
    totals = {f.name: 0.0 for f in FEATURES}
    report: dict[str, dict[str, Any]] = {}
    for kind, rows, free in sessions:
        if rows.sum() < MIN_PAIRS_FOR_EM:
            report[kind] = {"pairs": int(rows.sum()), "skipped": "too few pairs"}
            continue
        m, expected, share, iterations, converged = _em_session(
            levels[rows], free, start, model.u, model.prior,
            max_iterations=max_iterations, tolerance=tolerance)
        for name, values in m.items():
            sums[name] += expected[name] * values
            totals[name] += expected[name]
        report[kind] = {"pairs": int(rows.sum()), "match_share": round(share, 4),
                        "iterations": iterations, "converged": converged,
                        "estimated": sorted(m)}
    fitted_m = {name: (_normalised(sums[name] / totals[name]) if totals[name] >= 1.0
                       else model.m[name]) for name in sums}
    fitted = Model(m=fitted_m, u=model.u, prior=model.prior, method="em",
                   details={**model.details, "em_sessions": report,
                            "candidate_pairs": int(len(levels))})
    return Model(m=fitted.m, u=fitted.u, prior=estimate_prior(levels, fitted), method="em",
                 details=fitted.details)


def fit_labelled(levels: npt.NDArray[np.int8], labels: npt.NDArray[np.bool_],
                 model: Model, *, candidate_levels: npt.NDArray[np.int8] | None = None
                 ) -> Model:
    """m from pairs analysts accepted (``labels`` True); λ re-estimated on the candidates.

    ``levels``/``labels`` are the judged pairs; rejected ones only count toward how many
    were judged (see the module docstring for why they do not give u). λ is estimated by EM
    with m and u fixed over ``candidate_levels`` when given, else kept.
    """
    matches = levels[labels]
    m = dict(model.m)
    for f, feature in enumerate(FEATURES):
        column = matches[:, f]
        present = column[column >= 0]
        counts = np.bincount(present, minlength=len(feature.levels)).astype(np.float64)
        prior = np.array(model.m[feature.name])
        m[feature.name] = _normalised((counts + M_PSEUDO_COUNT * prior)
                                      / (len(present) + M_PSEUDO_COUNT))
    fitted = Model(m=m, u=model.u, prior=model.prior, method="labelled",
                   details={**model.details, "accepted_pairs": int(labels.sum()),
                            "judged_pairs": int(len(labels))})
    if candidate_levels is not None:
        fitted = Model(m=m, u=model.u, prior=estimate_prior(candidate_levels, fitted),
                       method="labelled", details=fitted.details)
    return fitted


# --- explanations ----------------------------------------------------------------------------


def _factor_words(weight: float) -> str:
    factor = 2.0 ** abs(weight)
    amount = f"{factor:,.1f}" if factor < 10 else f"{factor:,.0f}"
    if weight >= 0:
        return f"{amount} times more likely if they are the same"
    return f"{amount} times more likely if they are different"


@dataclass(frozen=True)
class Contribution:
    """One feature's evidence for one pair: what was compared, the level, and its weight.

    ``weight`` is the log-likelihood ratio log2(m/u) in bits: +1 doubles the odds of a
    match, -1 halves them; 0 for a feature missing on either side.
    """

    feature: str
    label: str
    level: str
    description: str
    left: str | None
    right: str | None
    similarity: float | None
    weight: float
    m: float | None
    u: float | None

    @property
    def sentence(self) -> str:
        if self.left is None or self.right is None:
            return f"{self.label}: not known on both sides, no evidence (+0.0)"
        sim = "" if self.similarity is None else f", similarity {self.similarity:.2f}"
        return (f"{self.label} {self.left!r} vs {self.right!r}: {self.description}{sim}: "
                f"{self.weight:+.1f} ({_factor_words(self.weight)})")

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "level": self.level, "description": self.description,
                "left": self.left, "right": self.right, "similarity": self.similarity,
                "weight": round(self.weight, 4), "m": self.m, "u": self.u,
                "sentence": self.sentence}


@dataclass(frozen=True)
class ScoredPair:
    """A model suggestion for one candidate pair, with the evidence behind its score.

    This is model output only: whether the pair *is* the same entity is for an analyst's
    :class:`~interdict.network.resolution_judgements.Judgement`. ``suggested`` says whether
    the probability reached the decision threshold of the run that produced it.
    """

    left: str
    right: str
    probability: float
    match_weight: float
    prior_weight: float
    contributions: tuple[Contribution, ...]
    suggested: bool

    @property
    def pair(self) -> tuple[str, str]:
        return (self.left, self.right)

    @property
    def explanation(self) -> tuple[str, ...]:
        """The score in words: the prior, every feature, then the total."""
        prior = 1 / (1 + 2.0 ** -self.prior_weight)
        lines = [f"prior: about {prior:.1%} of candidate pairs are matches "
                 f"({self.prior_weight:+.1f})"]
        lines.extend(c.sentence for c in self.contributions)
        lines.append(f"total {self.match_weight:+.1f}: match probability "
                     f"{self.probability:.3f}"
                     f" ({'suggested as a match' if self.suggested else 'not suggested'})")
        return tuple(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"left": self.left, "right": self.right, "probability": self.probability,
                "match_weight": round(self.match_weight, 4),
                "prior_weight": round(self.prior_weight, 4), "suggested": self.suggested,
                "contributions": [c.as_dict() for c in self.contributions],
                "explanation": list(self.explanation)}


def explain_pair(corpus: Corpus, model: Model, i: int, j: int, *,
                 threshold: float = DEFAULT_THRESHOLD) -> ScoredPair:
    """Score and explain corpus records ``i`` and ``j`` (runs the comparisons again)."""
    a, b = corpus.records[i], corpus.records[j]
    contributions = []
    total = model.prior_weight
    for feature in FEATURES:
        level, sim, li, ri = feature.compare(a, b, corpus)
        if level < 0:
            contributions.append(Contribution(
                feature=feature.name, label=feature.label, level="missing",
                description="missing on one side", left=None, right=None, similarity=None,
                weight=0.0, m=None, u=None))
            continue
        m, u = model.m[feature.name][level], model.u[feature.name][level]
        weight = math.log2(m / u)
        total += weight
        spec = feature.levels[level]
        contributions.append(Contribution(
            feature=feature.name, label=feature.label, level=spec.key,
            description=spec.description, left=feature.show(a, li), right=feature.show(b, ri),
            similarity=None if math.isnan(sim) else round(sim, 4), weight=weight, m=m, u=u))
    probability = float(probabilities(np.array([total]))[0])
    left, right = sorted((a.record.id, b.record.id))
    if left != a.record.id:  # keep each contribution's left/right with its record
        contributions = [Contribution(**{**c.__dict__, "left": c.right, "right": c.left})
                         for c in contributions]
    return ScoredPair(left=left, right=right, probability=probability, match_weight=total,
                      prior_weight=model.prior_weight, contributions=tuple(contributions),
                      suggested=probability >= threshold)
