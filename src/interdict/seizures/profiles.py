"""Chemical-profile comparison: from a lab report to scored candidate links between seizures.

Forensic drug profiling links seizures that came from the same production batch through the
relative amounts of the compounds production left behind: alkaloids co-extracted from the
plant (cocaine, heroin) or by-products of the synthesis route (amphetamine, MDMA). The steps
below follow the practice of the profiling literature:

1. :func:`parse_report` turns a lab report into a :class:`Profile`, refusing what cannot be
   compared (negative amounts, mixed units, purity outside 0-100 %).
2. :func:`vectorise` puts profiles on a fixed list of *target compounds*, as the harmonised
   CHAMP/ENFSI amphetamine method and the heroin and cocaine methods of the Lausanne school
   (Esseiva, Dujourdy, Guéniat) do; a target not reported is taken as absent (0).
3. A :class:`Pretreatment` (row normalisation, then a transform) and a measure make the score.
   Normalising each profile (to its sum or its largest peak) removes dilution: cutting with a
   diluent scales every impurity by the same factor, so amounts per gram of sample follow the
   purity while their ratios keep the batch. Root and log transforms damp the few large
   peaks so that the many minor ones count. Andersson et al. (2007, "Development of a
   harmonised method for the profiling of amphetamines VI") compared such pretreatments with
   Pearson, cosine, Euclidean, Manhattan and Canberra measures on linked (same batch) and
   unlinked pairs; normalisation to the sum with a fourth root or a log did best, and Pearson
   correlation after normalisation plus fourth root found most links. ``zscore`` instead
   standardises each target over a reference population.
4. :func:`choose_threshold` sets the link threshold from the score distributions of known
   linked and unlinked pairs, the approach of Esseiva et al. (2003) for heroin seizures in
   large databases: the threshold is where the share of unlinked pairs called linked (false
   links) stays under an accepted rate. :func:`evaluate_methods` ranks pretreatment x measure
   combinations on the analyst's own data by ROC AUC and true-link rate at that false-link rate.
5. :func:`link_candidates` lists pairs above the threshold with the evidence an analyst reads.

Cutting agents are kept out of the comparison vector by default: cutting happens at every
distribution level (Broséus et al. 2015 found cocaine and heroin cut both before and after
import into Switzerland), so the cut says little about the production batch. They are reported
as supporting evidence instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, cast, get_args

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import cdist
from scipy.stats import rankdata

from interdict.errors import FieldError, InvalidData

FloatArray = npt.NDArray[np.float64]

Normalisation = Literal["none", "sum", "max", "zscore"]
Transform = Literal["none", "sqrt", "fourth_root", "log"]
Measure = Literal["pearson", "cosine", "euclidean", "manhattan", "canberra"]
Kind = Literal["similarity", "distance"]

NORMALISATIONS: tuple[Normalisation, ...] = get_args(Normalisation)
TRANSFORMS: tuple[Transform, ...] = get_args(Transform)
MEASURES: tuple[Measure, ...] = get_args(Measure)

# Lab reports spell units many ways; each maps to one of three canonical units. Amounts in
# different units (area % of the chromatogram, mg per g of sample, peak area relative to the
# main drug or an internal standard) are not on one scale, so a profile must use one only.
_UNIT_ALIASES: dict[str, str] = {
    "area%": "area%", "area %": "area%", "%area": "area%", "% area": "area%",
    "area_percent": "area%", "area percent": "area%",
    "mg/g": "mg/g", "mg g-1": "mg/g", "mg per g": "mg/g", "mg/g sample": "mg/g",
    "relative": "relative", "relative area": "relative", "relative_area": "relative",
    "relative peak area": "relative", "rpa": "relative",
}
UNITS: frozenset[str] = frozenset(_UNIT_ALIASES.values())

# A centred or plain vector shorter than this has no direction; correlation is then undefined.
_NORM_EPS = 1e-12
# Components whose shares differ by less than 20 % are within the repeatability usually
# reported for impurity peak areas, so they are not listed as disagreeing.
_DISAGREE_LOG2 = math.log2(1.2)


def canonical_name(name: str) -> str:
    """Compound names compare case- and spacing-insensitively (``"Cis-Cinnamoylcocaine "``)."""
    return " ".join(name.split()).lower()


def canonical_unit(unit: str) -> str | None:
    return _UNIT_ALIASES.get(" ".join(unit.split()).lower())


# --------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """One seizure's chemical profile as reported by the lab.

    ``components`` holds every quantified compound (impurities, alkaloids, cutting agents,
    adulterants) in one ``unit``; ``cutting_agents`` names those that were added after
    production (they may be quantified in ``components`` or only named). ``purity`` is the
    main drug in % w/w. Names are stored canonical (see :func:`canonical_name`).
    """

    substance: str
    components: dict[str, float]
    unit: str
    purity: float | None = None
    form: str | None = None
    cutting_agents: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        errors = _value_errors(self.substance, self.components, self.unit, self.purity,
                               self.cutting_agents)
        if errors:
            raise InvalidData("invalid chemical profile", errors=errors)
        object.__setattr__(self, "substance", canonical_name(self.substance))
        object.__setattr__(self, "unit", canonical_unit(self.unit))
        object.__setattr__(self, "components", {canonical_name(k): float(v)
                                                for k, v in self.components.items()})
        agents = dict.fromkeys(canonical_name(a) for a in self.cutting_agents)
        object.__setattr__(self, "cutting_agents", list(agents))
        if self.purity is not None:
            object.__setattr__(self, "purity", float(self.purity))

    @property
    def target_components(self) -> dict[str, float]:
        """Components that come from production (not cut): what batch comparison uses."""
        cut = set(self.cutting_agents)
        return {k: v for k, v in self.components.items() if k not in cut}

    def as_report(self) -> dict[str, object]:
        """The report mapping that :func:`parse_report` reads back into this profile."""
        return {"substance": self.substance, "purity": self.purity, "form": self.form,
                "unit": self.unit, "components": dict(self.components),
                "cutting_agents": list(self.cutting_agents)}


def _value_errors(substance: object, components: Mapping[str, object], unit: object,
                  purity: object, cutting_agents: Sequence[object]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(substance, str) or not substance.strip():
        errors.append(FieldError("substance", "required: the main drug, e.g. 'cocaine'"))
    if not isinstance(unit, str) or canonical_unit(unit) is None:
        errors.append(FieldError("unit", f"unknown unit {unit!r}; use one of {sorted(UNITS)}"))
    if purity is not None:
        if not isinstance(purity, int | float) or isinstance(purity, bool) \
                or not math.isfinite(purity) or not 0 <= purity <= 100:
            errors.append(FieldError("purity", f"must be a % between 0 and 100, got {purity!r}"))
    if not components:
        errors.append(FieldError("components", "at least one quantified component is required"))
    seen: dict[str, str] = {}
    for name, amount in components.items():
        where = f"components.{name}"
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("components", f"component name {name!r} is empty"))
            continue
        key = canonical_name(name)
        if key in seen:
            errors.append(FieldError(where, f"same compound as {seen[key]!r}"))
        seen[key] = name
        if not isinstance(amount, int | float) or isinstance(amount, bool) \
                or not math.isfinite(amount):
            errors.append(FieldError(where, f"amount must be a finite number, got {amount!r}"))
        elif amount < 0:
            errors.append(FieldError(where, f"amount must not be negative, got {amount!r}"))
    for i, agent in enumerate(cutting_agents):
        if not isinstance(agent, str) or not agent.strip():
            errors.append(FieldError(f"cutting_agents[{i}]", "must be a non-empty name"))
    return errors


def _number(value: object) -> float | object:
    """Numbers pass; numeric strings (CSV or LIMS exports) become floats; the rest is kept so
    that the validation reports it as given."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _parse_components(raw: object, report_unit: object,
                      errors: list[FieldError]) -> tuple[dict[str, object], object]:
    """Components as ``{name: amount}``, ``{name: {"amount", "unit"}}`` or a list of
    ``{"name", "amount", "unit"}``; returns the amounts and the single unit they share."""
    items: list[tuple[str, object, object, str]] = []  # name, amount, unit, field
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            where = f"components.{name}"
            if isinstance(value, Mapping):
                items.append((str(name), value.get("amount"), value.get("unit"), where))
            else:
                items.append((str(name), value, None, where))
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        for i, entry in enumerate(raw):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                errors.append(FieldError(f"components[{i}]",
                                         "must be a mapping with 'name' and 'amount'"))
                continue
            items.append((entry["name"], entry.get("amount"), entry.get("unit"),
                          f"components.{entry['name']}"))
    elif raw is not None:
        errors.append(FieldError("components", "must be a mapping of compound to amount"))
    amounts: dict[str, object] = {}
    unit: object = report_unit
    first_where = "unit"
    for name, amount, own_unit, where in items:
        amounts[name] = _number(amount)
        if own_unit is None:
            continue
        if not isinstance(own_unit, str) or canonical_unit(own_unit) is None:
            errors.append(FieldError(f"{where}.unit", f"unknown unit {own_unit!r}"))
        elif unit is None:
            unit, first_where = own_unit, f"{where}.unit"
        elif not isinstance(unit, str) or canonical_unit(own_unit) != canonical_unit(unit):
            errors.append(FieldError(f"{where}.unit", f"unit {own_unit!r} differs from "
                                     f"{unit!r} ({first_where}); mixed units are not comparable"))
    return amounts, unit


def parse_report(obj: Mapping[str, object]) -> Profile:
    """A :class:`Profile` from one lab report, or :class:`InvalidData` naming every bad field.

    Keys read: ``substance`` (required), ``purity`` (% w/w, optional), ``form``, ``unit``
    (required unless every component carries its own), ``components`` and ``cutting_agents``.
    Other keys (case numbers, dates) are ignored.
    """
    if not isinstance(obj, Mapping):
        raise InvalidData("a lab report must be a mapping",
                          errors=[FieldError("report", f"got {type(obj).__name__}")])
    errors: list[FieldError] = []
    amounts, unit = _parse_components(obj.get("components"), obj.get("unit"), errors)
    if unit is None:
        errors.append(FieldError("unit", f"required; one of {sorted(UNITS)}"))
    agents_raw = obj.get("cutting_agents") or []
    if isinstance(agents_raw, str) or not isinstance(agents_raw, Sequence):
        errors.append(FieldError("cutting_agents", "must be a list of names"))
        agents_raw = []
    form = obj.get("form")
    if form is not None and not isinstance(form, str):
        errors.append(FieldError("form", "must be text, e.g. 'powder'"))
    purity = _number(obj.get("purity"))
    substance = obj.get("substance")
    value_errors = _value_errors(substance, amounts, unit if unit is not None else "", purity,
                                 agents_raw)
    errors.extend(e for e in value_errors if not (e.field == "unit" and unit is None))
    if errors:
        raise InvalidData("invalid lab report", errors=errors)
    return Profile(substance=cast(str, substance),
                   components={k: cast(float, v) for k, v in amounts.items()},
                   unit=cast(str, unit), purity=cast("float | None", purity),
                   form=cast("str | None", form), cutting_agents=[str(a) for a in agents_raw])


# ---------------------------------------------------------------------------------- vectors


def vectorise(profiles: Sequence[Profile], targets: Sequence[str] | None = None, *,
              include_cutting_agents: bool = False) -> tuple[list[str], FloatArray]:
    """The target names and a profiles x targets matrix of amounts (missing = 0).

    Without ``targets`` the targets are the sorted union of the profiles' production
    components (cutting agents too with ``include_cutting_agents``). All profiles must share
    one unit.
    """
    if not profiles:
        raise InvalidData("no profiles to vectorise", errors=[FieldError("profiles", "empty")])
    unit = profiles[0].unit
    for i, p in enumerate(profiles):
        if p.unit != unit:
            raise InvalidData("profiles use different units", errors=[FieldError(
                f"profiles[{i}].unit", f"{p.unit!r} differs from {unit!r}")])
    if targets is None:
        names = sorted({k for p in profiles
                        for k in (p.components if include_cutting_agents
                                  else p.target_components)})
    else:
        names = [canonical_name(t) for t in targets]
        if len(set(names)) != len(names):
            raise InvalidData("duplicate target compounds",
                              errors=[FieldError("targets", "each compound once")])
    if not names:
        raise InvalidData("no target compounds", errors=[FieldError("targets", "empty")])
    matrix = np.array([[p.components.get(t, 0.0) for t in names] for p in profiles],
                      dtype=np.float64)
    return names, matrix


def _as_matrix(values: npt.ArrayLike, what: str) -> FloatArray:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise InvalidData(f"{what} must be a non-empty 2-D matrix",
                          errors=[FieldError(what, f"shape {matrix.shape}")])
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise InvalidData(f"{what} holds negative or non-finite amounts",
                          errors=[FieldError(what, "amounts must be finite and >= 0")])
    return matrix


# ---------------------------------------------------------------------------- pretreatment


def _transform(x: FloatArray, transform: Transform) -> FloatArray:
    if transform == "sqrt":
        return np.sqrt(x)
    if transform == "fourth_root":
        return np.sqrt(np.sqrt(x))
    if transform == "log":
        # log10(1 + x) keeps absent compounds at 0; on sum-normalised data (all <= 1) it is
        # close to linear, which is why the literature usually pairs log with larger scales.
        return np.log10(1.0 + x)
    return x


@dataclass(frozen=True)
class Pretreatment:
    """Row normalisation then transform; ``zscore`` instead transforms, then standardises
    each target by the mean and sample standard deviation of a reference population."""

    normalisation: Normalisation = "sum"
    transform: Transform = "fourth_root"

    def __post_init__(self) -> None:
        errors = []
        if self.normalisation not in NORMALISATIONS:
            errors.append(FieldError("normalisation", f"one of {list(NORMALISATIONS)}"))
        if self.transform not in TRANSFORMS:
            errors.append(FieldError("transform", f"one of {list(TRANSFORMS)}"))
        if errors:
            raise InvalidData("unknown pretreatment", errors=errors)

    @property
    def name(self) -> str:
        return f"{self.normalisation}+{self.transform}"

    @classmethod
    def parse(cls, spec: Pretreatment | str) -> Pretreatment:
        """``"sum+fourth_root"``, ``"zscore+log"``, or ``"sum"`` (no transform)."""
        if isinstance(spec, Pretreatment):
            return spec
        norm, _, transform = spec.strip().partition("+")
        return cls(cast(Normalisation, norm), cast(Transform, transform or "none"))

    def apply(self, matrix: npt.ArrayLike, reference: npt.ArrayLike | None = None) -> FloatArray:
        """The pretreated matrix; ``zscore`` uses ``reference`` (default: ``matrix`` itself)."""
        x = _as_matrix(matrix, "matrix")
        if self.normalisation in ("sum", "max"):
            scale = x.sum(axis=1) if self.normalisation == "sum" else x.max(axis=1)
            safe = np.where(scale > 0, scale, 1.0)
            x = x / safe[:, np.newaxis]
        x = _transform(x, self.transform)
        if self.normalisation == "zscore":
            ref = x if reference is None else _transform(_as_matrix(reference, "reference"),
                                                         self.transform)
            if ref.shape[1] != x.shape[1]:
                raise InvalidData("reference has other targets", errors=[FieldError(
                    "reference", f"{ref.shape[1]} targets, profiles have {x.shape[1]}")])
            mean = ref.mean(axis=0)
            sd = ref.std(axis=0, ddof=1) if ref.shape[0] > 1 else np.zeros(ref.shape[1])
            # A target constant over the reference carries no information: it scores 0.
            x = np.where(sd > 0, (x - mean) / np.where(sd > 0, sd, 1.0), 0.0)
        return np.asarray(x, dtype=np.float64)


# -------------------------------------------------------------------------------- measures


def _scores(x: FloatArray, y: FloatArray, measure: Measure, kind: Kind) -> FloatArray:
    """Scores between the rows of ``x`` and ``y``.

    Direction: a *similarity* is higher for more alike profiles, a *distance* lower. Pearson
    and cosine similarities are the coefficients (range -1..1; 0..1 for cosine on amounts)
    and their distances ``1 - coefficient``; for Euclidean, Manhattan and Canberra the
    distance is the metric and the similarity ``1 / (1 + distance)`` (range 0..1], a
    monotone map, so ranks, ROC AUC and thresholds carry over between the two kinds. After
    normalisation to the sum and a square root every profile has unit length, so Euclidean
    (then the Hellinger distance, up to a factor) and cosine rank pairs identically. A
    profile without variation (all targets equal) or without any target has no correlation
    with anything: its Pearson and cosine similarity is 0.
    """
    if measure in ("pearson", "cosine"):
        if measure == "pearson":
            x = x - x.mean(axis=1, keepdims=True)
            y = y - y.mean(axis=1, keepdims=True)
        nx = np.linalg.norm(x, axis=1)
        ny = np.linalg.norm(y, axis=1)
        denom = np.outer(nx, ny)
        ok = (nx[:, np.newaxis] > _NORM_EPS) & (ny[np.newaxis, :] > _NORM_EPS)
        sim = np.where(ok, (x @ y.T) / np.where(ok, denom, 1.0), 0.0)
        sim = np.clip(sim, -1.0, 1.0)
        return np.asarray(sim if kind == "similarity" else 1.0 - sim, dtype=np.float64)
    metric = {"euclidean": "euclidean", "manhattan": "cityblock", "canberra": "canberra"}
    if measure not in metric:
        raise InvalidData("unknown measure",
                          errors=[FieldError("measure", f"one of {list(MEASURES)}")])
    # Canberra: sum |a - b| / (|a| + |b|), a term with both 0 counts 0 (scipy's convention).
    dist = np.asarray(cdist(x, y, metric[measure]), dtype=np.float64)
    return dist if kind == "distance" else 1.0 / (1.0 + dist)


def _check_kind(kind: str) -> Kind:
    if kind not in ("similarity", "distance"):
        raise InvalidData("unknown score kind",
                          errors=[FieldError("kind", "'similarity' or 'distance'")])
    return cast(Kind, kind)


def pairwise(matrix: npt.ArrayLike, *, pretreatment: Pretreatment | str = "sum+fourth_root",
             measure: Measure = "pearson", reference: npt.ArrayLike | None = None,
             kind: Kind = "similarity") -> FloatArray:
    """The n x n score matrix between the rows of ``matrix`` (see :func:`_scores` for the
    direction of each measure); ``zscore`` standardises over ``reference`` or the rows."""
    x = Pretreatment.parse(pretreatment).apply(matrix, reference)
    return _scores(x, x, measure, _check_kind(kind))


def compare(a: npt.ArrayLike | Profile, b: npt.ArrayLike | Profile, *,
            pretreatment: Pretreatment | str = "sum+fourth_root", measure: Measure = "pearson",
            reference: npt.ArrayLike | Sequence[Profile] | None = None,
            kind: Kind = "similarity") -> float:
    """The score of two target vectors (or two profiles, put on the union of their targets).

    ``zscore`` needs ``reference``: two samples are no population to standardise over.
    """
    pre = Pretreatment.parse(pretreatment)
    ref: npt.ArrayLike | None
    if isinstance(a, Profile) and isinstance(b, Profile):
        names, matrix = vectorise([a, b])
        if reference is not None and not isinstance(reference, np.ndarray) \
                and all(isinstance(r, Profile) for r in cast(Sequence[object], reference)):
            ref = vectorise(cast(Sequence[Profile], reference), names)[1]
        else:
            ref = cast("npt.ArrayLike | None", reference)
    else:
        va = np.asarray(a, dtype=np.float64).ravel()
        vb = np.asarray(b, dtype=np.float64).ravel()
        if va.shape != vb.shape:
            raise InvalidData("vectors differ in length",
                              errors=[FieldError("b", f"{vb.size} targets, a has {va.size}")])
        matrix, ref = np.vstack([va, vb]), cast("npt.ArrayLike | None", reference)
    if pre.normalisation == "zscore" and ref is None:
        raise InvalidData("zscore needs a reference population",
                          errors=[FieldError("reference", "required for zscore")])
    return float(pairwise(matrix, pretreatment=pre, measure=measure, reference=ref,
                          kind=kind)[0, 1])


@dataclass(frozen=True)
class Method:
    """A pretreatment and a measure: one way of scoring pairs, named like
    ``"sum+fourth_root/pearson"``."""

    pretreatment: Pretreatment = field(default_factory=Pretreatment)
    measure: Measure = "pearson"

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise InvalidData("unknown measure",
                              errors=[FieldError("measure", f"one of {list(MEASURES)}")])

    @property
    def name(self) -> str:
        return f"{self.pretreatment.name}/{self.measure}"

    @classmethod
    def parse(cls, spec: Method | str) -> Method:
        if isinstance(spec, Method):
            return spec
        pre, _, measure = spec.strip().rpartition("/")
        if not pre:
            raise InvalidData("method must read 'pretreatment/measure'",
                              errors=[FieldError("method", f"got {spec!r}")])
        return cls(Pretreatment.parse(pre), cast(Measure, measure))

    def pairwise(self, matrix: npt.ArrayLike, reference: npt.ArrayLike | None = None,
                 kind: Kind = "similarity") -> FloatArray:
        return pairwise(matrix, pretreatment=self.pretreatment, measure=self.measure,
                        reference=reference, kind=kind)


ALL_METHODS: tuple[Method, ...] = tuple(
    Method(Pretreatment(n, t), m) for n in NORMALISATIONS for t in TRANSFORMS for m in MEASURES)
# The combination Andersson et al. (2007) found best at finding same-batch amphetamine.
DEFAULT_METHOD = Method(Pretreatment("sum", "fourth_root"), "pearson")


# ------------------------------------------------------------------------------ thresholds


def _score_array(values: Iterable[float], what: str) -> FloatArray:
    arr = np.asarray(list(values), dtype=np.float64).ravel()
    if arr.size == 0:
        raise InvalidData(f"no {what} scores", errors=[FieldError(what, "at least one score")])
    if not np.isfinite(arr).all():
        raise InvalidData(f"{what} scores must be finite",
                          errors=[FieldError(what, "NaN or infinite score")])
    return arr


@dataclass(frozen=True)
class Threshold:
    """A link threshold and how it did on the known pairs it was chosen from.

    A pair is called linked when its similarity is >= ``value`` (distance <= ``value`` when
    ``kind`` is ``"distance"``). ``false_link_rate``: share of the ``n_unlinked`` known
    unlinked pairs called linked; ``true_link_rate``: share of the ``n_linked`` known linked
    pairs called linked.
    """

    value: float
    false_link_rate: float
    true_link_rate: float
    n_linked: int
    n_unlinked: int
    kind: Kind = "similarity"

    def links(self, score: float) -> bool:
        return score >= self.value if self.kind == "similarity" else score <= self.value


def choose_threshold(linked: Iterable[float], unlinked: Iterable[float], *,
                     max_false_link_rate: float = 0.01,
                     kind: Kind = "similarity") -> Threshold:
    """The threshold that calls the most known linked pairs linked while calling at most
    ``max_false_link_rate`` of the known unlinked pairs linked.

    The threshold is always one of the linked scores: the loosest one whose false-link rate is
    within the limit (ties with an unlinked score count as links). Among thresholds with that
    true-link rate it is the strictest, so it also has the lowest false-link rate. When no
    linked score qualifies, the threshold sits just beyond every score (true-link rate 0).
    """
    if not 0 <= max_false_link_rate <= 1:
        raise InvalidData("rate out of range", errors=[FieldError(
            "max_false_link_rate", f"must be between 0 and 1, got {max_false_link_rate}")])
    sign = 1.0 if _check_kind(kind) == "similarity" else -1.0
    pos = sign * _score_array(linked, "linked")
    neg = np.sort(sign * _score_array(unlinked, "unlinked"))
    candidates = np.unique(pos)
    false_rates = (neg.size - np.searchsorted(neg, candidates, side="left")) / neg.size
    ok = np.flatnonzero(false_rates <= max_false_link_rate + 1e-12)
    if ok.size:
        value = float(candidates[ok[0]])
        flr = float(false_rates[ok[0]])
        tlr = float(np.mean(pos >= value))
    else:
        value = float(np.nextafter(max(pos.max(), neg.max()), np.inf))
        flr, tlr = 0.0, 0.0
    return Threshold(sign * value, flr, tlr, int(pos.size), int(neg.size), kind)


def roc_auc(linked: Iterable[float], unlinked: Iterable[float], *,
            kind: Kind = "similarity") -> float:
    """Probability that a random linked pair scores better than a random unlinked pair (ties
    count half): the Mann-Whitney form of the area under the ROC curve."""
    sign = 1.0 if _check_kind(kind) == "similarity" else -1.0
    pos = sign * _score_array(linked, "linked")
    neg = sign * _score_array(unlinked, "unlinked")
    ranks = rankdata(np.concatenate([pos, neg]))
    u = float(ranks[: pos.size].sum()) - pos.size * (pos.size + 1) / 2.0
    return u / (pos.size * neg.size)


@dataclass(frozen=True)
class MethodEvaluation:
    """How well one method separates same-batch pairs from the rest on the analyst's data."""

    method: Method
    auc: float
    threshold: Threshold
    linked_median: float
    unlinked_median: float


def _groups(profiles: Sequence[Profile]) -> dict[str, list[int]]:
    """Indices by substance: only profiles of the same drug are compared."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(profiles):
        groups.setdefault(p.substance, []).append(i)
    return groups


def evaluate_methods(profiles: Sequence[Profile], batch_ids: Sequence[str],
                     methods: Sequence[Method | str] | None = None, *,
                     max_false_link_rate: float = 0.01,
                     reference: Sequence[Profile] | None = None) -> list[MethodEvaluation]:
    """Rank pretreatment x measure combinations, best first, on profiles of known batches.

    Pairs of the same substance are scored; a pair is linked when both come from the same
    batch. Each method gets its ROC AUC and the threshold of :func:`choose_threshold` with its
    true-link rate at ``max_false_link_rate``; ranking is by AUC, then true-link rate.
    ``zscore`` standardises over ``reference`` (same substance) or else the evaluated
    profiles themselves, which is slightly optimistic. Several substances are pooled into one
    ranking and one threshold; since score scales differ between drugs, evaluating one drug
    at a time gives the threshold to use for that drug.
    """
    if len(profiles) != len(batch_ids):
        raise InvalidData("one batch id per profile", errors=[FieldError(
            "batch_ids", f"{len(batch_ids)} ids for {len(profiles)} profiles")])
    chosen = [Method.parse(m) for m in (methods if methods is not None else ALL_METHODS)]
    if not chosen:
        raise InvalidData("no methods", errors=[FieldError("methods", "empty")])
    blocks: list[tuple[FloatArray, FloatArray | None, npt.NDArray[np.bool_]]] = []
    for substance, idx in _groups(profiles).items():
        if len(idx) < 2:
            continue
        names, matrix = vectorise([profiles[i] for i in idx])
        refs = [r for r in reference or () if r.substance == substance]
        ref = vectorise(refs, names)[1] if refs else None
        ids = np.asarray([batch_ids[i] for i in idx], dtype=object)
        iu = np.triu_indices(len(idx), k=1)
        blocks.append((matrix, ref, (ids[iu[0]] == ids[iu[1]]).astype(bool)))
    if not blocks:
        raise InvalidData("need two profiles of one substance",
                          errors=[FieldError("profiles", "no comparable pairs")])
    labels = np.concatenate([b[2] for b in blocks])
    if labels.all() or not labels.any():
        raise InvalidData("need both same-batch and different-batch pairs", errors=[
            FieldError("batch_ids", "all pairs share a batch" if labels.all()
                       else "no two profiles share a batch")])
    results = []
    for method in chosen:
        scores = np.concatenate([
            method.pairwise(matrix, ref)[np.triu_indices(matrix.shape[0], k=1)]
            for matrix, ref, _ in blocks])
        pos, neg = scores[labels], scores[~labels]
        results.append(MethodEvaluation(
            method, roc_auc(pos, neg),
            choose_threshold(pos, neg, max_false_link_rate=max_false_link_rate),
            float(np.median(pos)), float(np.median(neg))))
    results.sort(key=lambda r: (-r.auc, -r.threshold.true_link_rate, r.method.name))
    return results


# ----------------------------------------------------------------------------------- links


@dataclass(frozen=True)
class ComponentComparison:
    """One target in two profiles, as shares of each profile's target total (so dilution
    cancels); ``log2_ratio`` is log2(share_a / share_b), +-inf when absent from one."""

    component: str
    share_a: float
    share_b: float
    log2_ratio: float


@dataclass(frozen=True)
class LinkEvidence:
    shared_cutting_agents: tuple[str, ...]
    cutting_agents_only_a: tuple[str, ...]
    cutting_agents_only_b: tuple[str, ...]
    agreeing: tuple[ComponentComparison, ...]
    disagreeing: tuple[ComponentComparison, ...]
    purity_a: float | None
    purity_b: float | None


class CandidateLink(NamedTuple):
    id_a: str
    id_b: str
    score: float
    evidence: LinkEvidence


def _evidence(a: Profile, b: Profile, names: Sequence[str], row_a: FloatArray,
              row_b: FloatArray, top: int) -> LinkEvidence:
    share_a = row_a / row_a.sum() if row_a.sum() > 0 else row_a
    share_b = row_b / row_b.sum() if row_b.sum() > 0 else row_b
    rows = []
    for name, sa, sb in zip(names, share_a, share_b, strict=True):
        if sa == 0 and sb == 0:
            continue
        ratio = math.inf if sb == 0 else -math.inf if sa == 0 else math.log2(sa / sb)
        rows.append(ComponentComparison(name, float(sa), float(sb), ratio))
    both = [r for r in rows if r.share_a > 0 and r.share_b > 0]
    # Larger peaks first among equals: their agreement is better measured.
    agreeing = sorted(both, key=lambda r: (abs(r.log2_ratio), -(r.share_a + r.share_b)))[:top]
    rest = [r for r in rows if r not in agreeing and abs(r.log2_ratio) > _DISAGREE_LOG2]
    disagreeing = sorted(rest, key=lambda r: (-abs(r.log2_ratio),
                                              -(r.share_a + r.share_b)))[:top]
    cut_a, cut_b = set(a.cutting_agents), set(b.cutting_agents)
    return LinkEvidence(tuple(sorted(cut_a & cut_b)), tuple(sorted(cut_a - cut_b)),
                        tuple(sorted(cut_b - cut_a)), tuple(agreeing), tuple(disagreeing),
                        a.purity, b.purity)


def link_candidates(profiles_with_ids: Mapping[str, Profile] | Iterable[tuple[str, Profile]],
                    threshold: Threshold | float, method: Method | str = DEFAULT_METHOD, *,
                    reference: Sequence[Profile] | None = None,
                    top: int = 3) -> list[CandidateLink]:
    """Pairs of profiles of the same substance whose score passes ``threshold``, best first.

    A bare float threshold is a similarity. ``zscore`` methods standardise over ``reference``
    (profiles of the same substance) or else over the profiles given, which needs many.
    Evidence names the shared cutting agents and the ``top`` targets that agree and disagree
    most between the two profiles.
    """
    pairs = list(profiles_with_ids.items() if isinstance(profiles_with_ids, Mapping)
                 else profiles_with_ids)
    ids = [str(i) for i, _ in pairs]
    if len(set(ids)) != len(ids):
        raise InvalidData("duplicate seizure ids", errors=[FieldError("profiles_with_ids",
                                                                     "ids must be unique")])
    limit = threshold if isinstance(threshold, Threshold) else Threshold(
        float(threshold), math.nan, math.nan, 0, 0)
    chosen = Method.parse(method)
    profiles = [p for _, p in pairs]
    links: list[CandidateLink] = []
    for substance, idx in _groups(profiles).items():
        if len(idx) < 2:
            continue
        group = [profiles[i] for i in idx]
        names, matrix = vectorise(group)
        refs = [r for r in reference or () if r.substance == substance]
        ref = vectorise(refs, names)[1] if refs else None
        scores = chosen.pairwise(matrix, ref, kind=limit.kind)
        for i, j in zip(*np.triu_indices(len(idx), k=1), strict=True):
            score = float(scores[i, j])
            if limit.links(score):
                links.append(CandidateLink(ids[idx[i]], ids[idx[j]], score, _evidence(
                    group[i], group[j], names, matrix[i], matrix[j], top)))
    sign = -1.0 if limit.kind == "similarity" else 1.0
    links.sort(key=lambda link: (sign * link.score, link.id_a, link.id_b))
    return links
