"""Library search: rank every entry of an in-memory library against one query spectrum.

A :class:`Library` holds its spectra already processed (:mod:`interdict.spectra.processing`)
as one float32 matrix, one row per entry, plus the processing options so that queries are
processed the same way. Each similarity measure then needs the rows prepared once (centred,
normalised, weighted); :meth:`Library.prepared` does that lazily and keeps the result, so a
query costs one processing run and one matrix-vector product. On one core that is about
2 ms for 10,000 Raman spectra of 1,501 points (memory bandwidth, not arithmetic, is the limit).

Scores are "higher is better" and lie in [0, 1]. Definitions (q = query, l = library row,
both as processed; x̄ = mean over points; ‖·‖ = Euclidean norm):

Vibrational (Raman, IR):

* ``correlation``: hit quality index HQI = r², with the Pearson correlation
  r = Σ(q - q̄)(l - l̄) / (‖q - q̄‖ ‖l - l̄‖), the mean-centred "correlation" algorithm of
  commercial search software (Thermo OMNIC, for one; Agilent OpenLab's similarity match
  factor is 1000 r²). Mean-centring makes it blind to intensity scale and to a constant
  offset. An anti-correlated spectrum (r < 0) scores 0, not r²: it is not a match.
* ``euclidean``: with unit vectors q̂ = q/‖q‖ and l̂ = l/‖l‖ (not centred), the distance
  d = ‖q̂ - l̂‖ (0 for identical shapes, √2 for spectra with no overlap, 2 at most);
  score = 1 - d/2. Unlike correlation it is not centred, so an offset left by an imperfect
  baseline costs score. (Ranking is that of the cosine; the score is the distance.)
* ``derivative``: r² as for ``correlation`` but between the Savitzky-Golay first derivatives
  (9-point window, cubic) of q and l: sensitive to peak positions and shapes, blind to any
  remaining baseline slope. Negative r scores 0. (On a library processed with
  ``derivative=True`` this compares second derivatives; use ``correlation`` there.)

Mass spectra (nominal m/z, relative abundances):

* ``cosine``: cosine of w = I^0.5 (square-root abundance, no m/z weight); the usual baseline.
* ``weighted_dot``: cosine of w = I^0.6 · (m/z)^3, the weighting Stein & Scott (1994) found
  best for EI identity search. Their normalised dot product NDP is the square of this score.
* ``entropy``: weighted spectral entropy similarity (Li et al. 2021, Nature Methods 18:1524)
  computed by ms-entropy's Flash entropy search over the whole library, peaks matched within
  0.02 m/z (nominal masses match exactly).

``retention_index`` with ``ri_window`` restricts mass-spectrum candidates to entries whose
retention index lies within the window; entries without one are kept (most library
spectra lack an RI, and excluding them would hide the right answer), unless
``keep_unknown_ri=False``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from ms_entropy import FlashEntropySearch
from scipy import sparse

from interdict.spectra.processing import (
    MassOptions,
    ProcessingOptions,
    VibrationalOptions,
    default_options,
    first_derivative,
    process,
    process_many,
    weight_peaks,
)
from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Peak-match tolerance for the entropy similarity; below 0.5 so nominal masses never merge.
ENTROPY_TOLERANCE = 0.02


class Metric(StrEnum):
    CORRELATION = "correlation"
    EUCLIDEAN = "euclidean"
    DERIVATIVE = "derivative"
    COSINE = "cosine"
    WEIGHTED_DOT = "weighted_dot"
    ENTROPY = "entropy"


VIBRATIONAL_METRICS = (Metric.CORRELATION, Metric.EUCLIDEAN, Metric.DERIVATIVE)
MASS_METRICS = (Metric.COSINE, Metric.WEIGHTED_DOT, Metric.ENTROPY)

#: Stein & Scott peak weights (intensity power, m/z power) for the two dot-product measures.
MASS_WEIGHTS: dict[Metric, tuple[float, float]] = {
    Metric.COSINE: (0.5, 0.0),
    Metric.WEIGHTED_DOT: (0.6, 3.0),
}


@dataclass(frozen=True)
class Hit:
    rank: int  # 1 = best
    index: int  # row in the library
    id: str
    name: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits plus what produced them, so a stored result can be explained later."""

    metric: Metric
    processing: dict[str, Any]
    candidates: int  # library entries compared after filters and exclusions
    hits: list[Hit]


def _unit_rows(matrix: npt.NDArray[Any]) -> Float32Array:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _centred_unit_rows(matrix: npt.NDArray[Any]) -> Float32Array:
    return _unit_rows(matrix - matrix.mean(axis=1, keepdims=True))


def _peaks(row: npt.NDArray[Any]) -> Float32Array:
    """A nominal-mass vector as the (m/z, intensity) pairs ms-entropy expects."""
    mz = np.flatnonzero(row > 0)
    return np.column_stack([mz, row[mz]]).astype(np.float32)


@dataclass(eq=False)
class Library:
    """Processed spectra, one row each, with their ids, names and optional retention indices.

    Build it with :meth:`from_spectra`; the constructor takes an already processed matrix
    (rows must come from the same ``options``).
    """

    matrix: Float32Array
    options: ProcessingOptions
    ids: list[str]
    names: list[str]
    retention_index: FloatArray | None = None
    _cache: dict[Metric, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.float32)
        rows = self.matrix.shape[0]
        if self.matrix.ndim != 2 or len(self.ids) != rows or len(self.names) != rows:
            raise ValueError("the matrix needs one row per id and per name")
        if self.retention_index is not None and len(self.retention_index) != rows:
            raise ValueError("retention_index needs one value (NaN if unknown) per entry")

    @classmethod
    def from_spectra(cls, spectra: Sequence[Spectrum], options: ProcessingOptions | None = None,
                     *, ids: Sequence[str] | None = None,
                     retention_index: Sequence[float] | None = None) -> Library:
        if not spectra:
            raise ValueError("a library needs at least one spectrum")
        chosen = options or default_options(spectra[0].technique)
        return cls(matrix=process_many(spectra, chosen), options=chosen,
                   ids=list(ids) if ids is not None else [str(i) for i in range(len(spectra))],
                   names=[s.name for s in spectra],
                   retention_index=(None if retention_index is None
                                    else np.asarray(retention_index, dtype=np.float64)))

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def is_mass(self) -> bool:
        return isinstance(self.options, MassOptions)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return MASS_METRICS if self.is_mass else VIBRATIONAL_METRICS

    @property
    def default_metric(self) -> Metric:
        return Metric.COSINE if self.is_mass else Metric.CORRELATION

    def subset(self, rows: Iterable[int] | npt.NDArray[Any]) -> Library:
        """A library of the chosen rows (boolean mask or indices), e.g. to leave entries out."""
        index = np.asarray(rows)
        if index.dtype == np.bool_:
            index = np.flatnonzero(index)
        ri = None if self.retention_index is None else self.retention_index[index]
        return Library(matrix=self.matrix[index], options=self.options,
                       ids=[self.ids[i] for i in index], names=[self.names[i] for i in index],
                       retention_index=ri)

    def prepared(self, metric: Metric) -> Any:
        """The rows as ``metric`` compares them, computed on first use and kept."""
        metric = Metric(metric)
        if metric not in self.metrics:
            raise ValueError(f"metric {metric.value!r} does not apply to this library "
                             f"(use one of {', '.join(m.value for m in self.metrics)})")
        with self._lock:
            if metric not in self._cache:
                self._cache[metric] = self._prepare(metric)
            return self._cache[metric]

    def _prepare(self, metric: Metric) -> Any:
        if metric is Metric.CORRELATION:
            return _centred_unit_rows(self.matrix)
        if metric is Metric.EUCLIDEAN:
            return _unit_rows(self.matrix)
        if metric is Metric.DERIVATIVE:
            return _centred_unit_rows(_derivative_rows(self.matrix, self.options))
        if metric is Metric.ENTROPY:
            return _EntropyIndex(self.matrix)
        power, mz_power = MASS_WEIGHTS[metric]
        # Sparse: an EI spectrum fills ~100 of 1,001 bins, so this is ~10x less work.
        return sparse.csr_array(_unit_rows(weight_peaks(self.matrix, power, mz_power)))


def _derivative_rows(matrix: npt.NDArray[Any], options: ProcessingOptions) -> Float32Array:
    step = options.step if isinstance(options, VibrationalOptions) else 1.0
    out = np.empty(matrix.shape, dtype=np.float32)
    for i, row in enumerate(matrix):
        out[i] = first_derivative(row.astype(np.float64), step)
    return out


class _EntropyIndex:
    """ms-entropy's Flash index over the library, with its row order mapped back to ours.

    The index sorts spectra by precursor m/z; EI spectra have none, so each entry's row
    number stands in for it, which keeps the order. Precursor-ion removal is switched off
    (it is an MS/MS convention) and ms-entropy's own 1 % noise filter too: the library's
    processing already chose a threshold.
    """

    def __init__(self, matrix: Float32Array) -> None:
        self.size = matrix.shape[0]
        entries = [{"precursor_mz": float(i), "peaks": _peaks(row), "row": i}
                   for i, row in enumerate(matrix) if np.any(row > 0)]
        self.search = FlashEntropySearch(max_ms2_tolerance_in_da=ENTROPY_TOLERANCE * 1.2)
        indexed = self.search.build_index(entries, max_indexed_mz=float(matrix.shape[1] + 1),
                                          precursor_ions_removal_da=None, noise_threshold=0.0,
                                          min_ms2_difference_in_da=2 * ENTROPY_TOLERANCE)
        self.rows = np.array([e["row"] for e in indexed], dtype=np.int64)

    def scores(self, vector: npt.NDArray[Any]) -> Float32Array:
        out = np.zeros(self.size, dtype=np.float32)
        peaks = _peaks(np.asarray(vector))
        if self.rows.size == 0 or peaks.shape[0] == 0:
            return out
        found = self.search.search(precursor_mz=float(vector.shape[-1] + 10), peaks=peaks,
                                   method="open", ms2_tolerance_in_da=ENTROPY_TOLERANCE,
                                   precursor_ions_removal_da=None, noise_threshold=0.0,
                                   min_ms2_difference_in_da=2 * ENTROPY_TOLERANCE)
        out[self.rows] = np.clip(np.asarray(found["open_search"], dtype=np.float32), 0, 1)
        return out


def query_vector(query: Spectrum | npt.NDArray[Any], library: Library) -> FloatArray:
    """The query processed like the library (a vector is taken as already processed)."""
    if isinstance(query, Spectrum):
        if (query.technique is Technique.MS) != library.is_mass:
            raise ValueError("query and library are of different kinds (mass vs vibrational)")
        return process(query, library.options)
    vector = np.asarray(query, dtype=np.float64)
    if vector.shape != (library.matrix.shape[1],):
        raise ValueError(f"a processed query must have {library.matrix.shape[1]} points, "
                         f"got shape {vector.shape}")
    return vector


def scores(query: Spectrum | npt.NDArray[Any], library: Library,
           metric: Metric | str | None = None) -> Float32Array:
    """The score of every library entry (row order), as defined in the module docstring."""
    chosen = Metric(metric) if metric is not None else library.default_metric
    prepared = library.prepared(chosen)
    vector = query_vector(query, library)
    if chosen is Metric.ENTROPY:
        return np.asarray(prepared.scores(vector), dtype=np.float32)
    if chosen in MASS_WEIGHTS:
        power, mz_power = MASS_WEIGHTS[chosen]
        q = _unit_rows(weight_peaks(vector, power, mz_power)[None, :])[0]
        return np.clip(np.asarray(prepared @ q, dtype=np.float32), 0.0, 1.0)
    if chosen is Metric.EUCLIDEAN:
        cosine = prepared @ _unit_rows(vector[None, :])[0]
        distance = np.sqrt(np.clip(2.0 - 2.0 * cosine, 0.0, 4.0))
        return np.asarray(1.0 - distance / 2.0, dtype=np.float32)
    if chosen is Metric.DERIVATIVE:
        step = library.options.step if isinstance(library.options, VibrationalOptions) else 1.0
        vector = first_derivative(vector, step)
    r = prepared @ _centred_unit_rows(vector[None, :])[0]
    return np.asarray(np.square(np.clip(r, 0.0, 1.0)), dtype=np.float32)


def candidate_mask(library: Library, *, retention_index: float | None = None,
                   ri_window: float = 50.0, keep_unknown_ri: bool = True,
                   exclude: Iterable[int] = ()) -> npt.NDArray[np.bool_]:
    """Entries a search may return: within the RI window (if given) and not excluded."""
    mask = np.ones(len(library), dtype=np.bool_)
    if retention_index is not None and library.retention_index is not None:
        ri = library.retention_index
        known = ~np.isnan(ri)
        inside = np.zeros_like(mask)
        inside[known] = np.abs(ri[known] - retention_index) <= ri_window
        mask = inside | (~known & keep_unknown_ri)
    excluded = np.fromiter(exclude, dtype=np.int64)
    mask[excluded] = False
    return mask


def search(query: Spectrum | npt.NDArray[Any], library: Library,
           metric: Metric | str | None = None, top: int = 10, *,
           retention_index: float | None = None, ri_window: float = 50.0,
           keep_unknown_ri: bool = True, exclude: Iterable[int] = ()) -> SearchResult:
    """The ``top`` best entries for ``query``; ``exclude`` leaves rows out (leave-one-out).

    ``metric`` defaults to correlation for vibrational and cosine for mass libraries.
    """
    chosen = Metric(metric) if metric is not None else library.default_metric
    values = scores(query, library, chosen)
    mask = candidate_mask(library, retention_index=retention_index, ri_window=ri_window,
                          keep_unknown_ri=keep_unknown_ri, exclude=exclude)
    candidates = np.flatnonzero(mask)
    count = min(top, candidates.size)
    if count <= 0:
        return SearchResult(chosen, library.options.describe(), int(candidates.size), [])
    pool = values[candidates]
    if count < pool.size:
        part = np.argpartition(-pool, count - 1)[:count]
    else:
        part = np.arange(pool.size)
    best = part[np.argsort(-pool[part], kind="stable")]
    hits = [Hit(rank=r + 1, index=int(candidates[i]), id=library.ids[candidates[i]],
                name=library.names[candidates[i]], score=float(pool[i]))
            for r, i in enumerate(best)]
    return SearchResult(chosen, library.options.describe(), int(candidates.size), hits)


# --- class prediction --------------------------------------------------------------------


def mass_distances(a: npt.NDArray[Any], b: npt.NDArray[Any], *,
                   intensity_power: float) -> npt.NDArray[np.float64]:
    """‖â - b̂‖² = 2 - 2·cos between nominal-mass spectra (rows), â = unit vector of I^p."""
    ua = _unit_rows(weight_peaks(np.asarray(a, np.float64), intensity_power)).astype(np.float64)
    ub = _unit_rows(weight_peaks(np.asarray(b, np.float64), intensity_power)).astype(np.float64)
    return np.asarray(np.clip(2.0 - 2.0 * ua @ ub.T, 0.0, 4.0), dtype=np.float64)


def mass_kernel(a: npt.NDArray[Any], b: npt.NDArray[Any], *, gamma: float,
                intensity_power: float) -> npt.NDArray[np.float64]:
    """exp(-gamma · ‖â - b̂‖²) between nominal-mass spectra (rows), see :func:`mass_distances`.

    A Gaussian kernel on the unit sphere, hence positive definite. A low power p (0.25) lets
    the small fragments that tell chemical classes apart count.
    """
    return np.exp(-gamma * mass_distances(a, b, intensity_power=intensity_power))


#: Hyperparameters tried when :meth:`ClassModel.fit` chooses them by leave-one-out.
CLASS_GRID: tuple[tuple[float, float, float], ...] = tuple(
    (p, g, lam) for p in (0.25, 0.5) for g in (0.5, 1.0, 2.0, 4.0)
    for lam in (1e-3, 1e-2, 1e-1, 1.0))


@dataclass(frozen=True)
class ClassPrediction:
    label: str
    scores: dict[str, float]  # least-squares class scores; the predicted class has the largest


@dataclass(eq=False)
class ClassModel:
    """Which class (cathinone, fentanyl...) an unknown EI spectrum belongs to.

    Nearest-neighbour search answers "which known compound is this"; a new analogue is by
    definition not in the library, and its nearest neighbour is often from another class
    that shares a fragment. This model is kernel regularised least squares: one-hot class
    vectors Y are regressed on the library through the kernel of :func:`mass_kernel`,
    α = (K + λI)⁻¹ Y, and a query q gets class scores k(q)ᵀα. It uses every library spectrum
    at once, weighting them by similarity, and is solved in closed form (numpy only).

    ``fit`` picks (p, γ, λ) from :data:`CLASS_GRID` by exact leave-one-out accuracy, with
    ``groups`` (e.g. compound names) left out together.
    """

    library: Library
    classes: list[str]
    alpha: npt.NDArray[np.float64]
    intensity_power: float
    gamma: float
    lam: float

    @classmethod
    def fit(cls, library: Library, labels: Sequence[str], *,
            groups: Sequence[str] | None = None,
            grid: Sequence[tuple[float, float, float]] = CLASS_GRID) -> ClassModel:
        if not library.is_mass:
            raise ValueError("the class model is for mass-spectrum libraries")
        classes = sorted(set(labels))
        y = np.array([classes.index(label) for label in labels])
        onehot = np.eye(len(classes))[y]
        best: tuple[float, float, float, float] | None = None
        distances: dict[float, npt.NDArray[np.float64]] = {}  # per power, reused per gamma
        for power, gamma, lam in grid:
            if power not in distances:
                distances[power] = mass_distances(library.matrix, library.matrix,
                                                  intensity_power=power)
            inverse = np.linalg.inv(np.exp(-gamma * distances[power])
                                    + lam * np.eye(len(library)))
            predicted = loo_predictions(inverse, onehot, _group_index(groups, len(library)))
            accuracy = float(np.mean(predicted.argmax(axis=1) == y))
            if best is None or accuracy > best[0]:
                best = (accuracy, power, gamma, lam)
        assert best is not None, "the grid is empty"
        _, power, gamma, lam = best
        kernel = mass_kernel(library.matrix, library.matrix, gamma=gamma, intensity_power=power)
        alpha = np.linalg.solve(kernel + lam * np.eye(len(library)), onehot)
        return cls(library, classes, alpha, power, gamma, lam)

    def predict(self, query: Spectrum | npt.NDArray[Any]) -> ClassPrediction:
        vector = query_vector(query, self.library)
        k = mass_kernel(vector[None, :], self.library.matrix, gamma=self.gamma,
                        intensity_power=self.intensity_power)
        values = (k @ self.alpha)[0]
        return ClassPrediction(self.classes[int(values.argmax())],
                               {c: float(v) for c, v in zip(self.classes, values, strict=True)})


def _group_index(groups: Sequence[str] | None, size: int) -> list[IntArray]:
    """For each row, the rows that must be left out with it (itself and same-group rows)."""
    if groups is None:
        return [np.array([i]) for i in range(size)]
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    return [np.array(members[g]) for g in groups]


def loo_predictions(inverse: npt.NDArray[Any], targets: npt.NDArray[np.float64],
                    leave_out: Sequence[IntArray]) -> npt.NDArray[np.float64]:
    """Exact leave-(group-)out predictions of kernel ridge regression without refitting.

    With M = (K + λI)⁻¹ the fit's residuals are Y - KMY = λMY and the hat matrix is
    H = KM = I - λM, so for a left-out set G the usual identity e_(-G) = (I - H_GG)⁻¹ e_G
    becomes Y_G - f_(-G)(x_G) = (M_GG)⁻¹ (MY)_G. Cost: one solve of size |G| per row.
    """
    my = inverse @ targets
    out = np.empty_like(targets)
    diagonal = np.diag(inverse)
    for i, group in enumerate(leave_out):
        if group.size == 1:
            out[i] = targets[i] - my[i] / diagonal[i]
            continue
        errors = np.linalg.solve(inverse[np.ix_(group, group)], my[group])
        out[i] = targets[i] - errors[int(np.flatnonzero(group == i)[0])]
    return out
