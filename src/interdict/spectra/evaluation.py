"""The spectral-identification evaluation reports, computed from the shared evaluation data.

Each function returns a plain dataclass that holds the figure, the baseline computed in the
same run and enough detail to see where it fails; ``benchmarks/spectra_identification.py``
turns them into benchmark figures and ``tests/spectra/test_evaluation.py`` guards them.

1. :func:`gcms_class_loo`: NPS class of 891 SWGDRUG EI spectra (Wong et al. 2023, 7 classes)
   by leave-one-out. Baseline: the class of the nearest neighbour by square-root cosine.
   Method: the kernel class model of :class:`~interdict.spectra.search.ClassModel`, with its
   hyperparameters chosen inside each leave-one-out fold (nested), so the left-out spectrum
   never influences the model that classifies it. Three compound names occur twice with
   different spectra; "leave one out" leaves out every spectrum of the compound (by name),
   otherwise the twin would be found. Row-wise figures are reported alongside.
2. :func:`fentanyl_analogue_share`: share of the fentanyl analogues in the NIST
   FentanylClassifier example spectra classified as fentanyl-class with their own entry, and
   any copy of it, left out of a library made of the Wong set and the other analogues.
3. :func:`raman_mixture_rmse`: RMSE of the fractions found in the 21 mdatools carbohydrate
   mixtures (fructose, lactose, ribose), against plain NNLS.
4. :func:`robustness`: how often a library spectrum is still ranked first after noise,
   baseline drift, axis shift or a fluorescence background of increasing size.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from interdict.spectra.mixture import (
    MixtureOptions,
    fit_components,
    plain_nnls_fractions,
    unmix,
)
from interdict.spectra.processing import (
    BaselineMethod,
    MassOptions,
    Normalisation,
    VibrationalOptions,
    process_mass,
)
from interdict.spectra.search import (
    CLASS_GRID,
    VIBRATIONAL_METRICS,
    ClassModel,
    Library,
    Metric,
    loo_predictions,
    mass_distances,
    mass_kernel,
    scores,
    search,
)
from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

IntArray = npt.NDArray[np.int64]

#: Class labels of the Wong et al. set (wong2023_mmc2_dataset_description.txt).
WONG_CLASSES = ("cannabinoid", "cathinone", "phenethylamine", "piperazine", "tryptamine",
                "fentanyl", "other")
FENTANYL = "fentanyl"


# --- 1. GC-MS class leave-one-out ----------------------------------------------------------


@dataclass(frozen=True)
class MassSet:
    """Named, labelled mass spectra already binned to nominal m/z (row i = spectrum i)."""

    names: list[str]
    labels: list[str]
    matrix: npt.NDArray[np.float32]  # base peak 1, column = m/z
    options: MassOptions

    def library(self) -> Library:
        return Library(matrix=self.matrix, options=self.options,
                       ids=[str(i) for i in range(len(self.names))], names=list(self.names))


def read_wong_csv(path: Path, options: MassOptions | None = None) -> MassSet:
    """The Wong et al. CSV: ``Name``, abundances at m/z 1..600, ``label`` (0-6)."""
    opts = options or MassOptions()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        mz = np.array([float(h) for h in header[1:-1]])
        names, labels, rows = [], [], []
        for row in reader:
            names.append(row[0])
            labels.append(WONG_CLASSES[int(row[-1])])
            intensity = np.array([float(v) for v in row[1:-1]])
            rows.append(process_mass(Spectrum(mz, intensity, Technique.MS), opts))
    return MassSet(names, labels, np.asarray(rows, dtype=np.float32), opts)


@dataclass(frozen=True)
class ClassScores:
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    n: int


def class_scores(truth: Sequence[str], predicted: Sequence[str],
                 classes: Sequence[str]) -> ClassScores:
    """Accuracy and macro-F1 (unweighted mean of per-class F1; a class never predicted
    correctly has F1 0)."""
    t = np.asarray(truth)
    p = np.asarray(predicted)
    f1 = {}
    for c in classes:
        tp = int(np.sum((p == c) & (t == c)))
        wrong = int(np.sum((p == c) & (t != c)) + np.sum((p != c) & (t == c)))
        f1[c] = 2 * tp / (2 * tp + wrong) if tp else 0.0
    return ClassScores(accuracy=float(np.mean(t == p)), macro_f1=float(np.mean(list(f1.values()))),
                       per_class_f1=f1, n=int(t.size))


@dataclass(frozen=True)
class GcmsClassReport:
    method: ClassScores  # kernel class model, nested leave-compound-out
    baseline: ClassScores  # 1-NN, square-root cosine, leave-compound-out
    others: dict[str, ClassScores]  # other nearest-neighbour measures, row-wise variants
    chosen: dict[str, int]  # how often each (p, gamma, lambda) was chosen across folds
    duplicated_names: list[str]


def _groups(names: Sequence[str]) -> list[IntArray]:
    members: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        members.setdefault(name, []).append(i)
    return [np.array(members[name], dtype=np.int64) for name in names]


def _nearest_labels(library: Library, labels: Sequence[str], metric: Metric,
                    leave_out: Sequence[IntArray]) -> list[str]:
    out = []
    for i, group in enumerate(leave_out):
        hit = search(library.matrix[i], library, metric, top=1, exclude=group.tolist()).hits
        out.append(labels[hit[0].index] if hit else "")
    return out


def _inner_accuracy(inverse: npt.NDArray[Any], onehot: npt.NDArray[np.float64],
                    y: IntArray, groups: Sequence[IntArray]) -> FloatArray:
    """For each row i: the leave-one-out accuracy on the training set without i's group.

    That is what :meth:`ClassModel.fit` maximises when the model is trained without i, so
    comparing it across the grid reproduces the fit's choice inside each fold. Removing a
    set G from (K + λI) changes the inverse to M_TT - M_TG M_GG⁻¹ M_GT (block downdate), so no
    fold needs a new inversion. Rows with singleton groups are done together (vectorised);
    the few duplicated compounds are handled one by one.
    """
    n = inverse.shape[0]
    my = inverse @ onehot
    diagonal = np.diag(inverse)
    pairs = [g for i, g in enumerate(groups) if g.size > 1 and g[0] == i]
    in_pair = np.zeros(n, dtype=np.bool_)
    for g in pairs:
        in_pair[g] = True
    acc = np.empty(n)
    for start in range(0, n, 128):
        rows = np.arange(start, min(start + 128, n))
        ratio = inverse[rows] / diagonal[rows, None]  # M_ij / M_ii
        alpha = my[None, :, :] - ratio[:, :, None] * my[rows][:, None, :]
        d = diagonal[None, :] - ratio * inverse[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            predicted = onehot[None, :, :] - alpha / d[:, :, None]
        correct = (predicted.argmax(axis=2) == y[None, :]).astype(np.float64)
        correct[np.arange(rows.size), rows] = 0.0
        for g in pairs:  # members of a duplicated compound are left out together
            m_g = inverse[rows][:, g]  # M_ig for every row i of the chunk
            block = (inverse[np.ix_(g, g)][None, :, :]
                     - m_g[:, :, None] * m_g[:, None, :] / diagonal[rows, None, None])
            a = my[g][None, :, :] - m_g[:, :, None] * my[rows][:, None, :] / diagonal[
                rows, None, None]
            member = np.isin(rows, g)  # those folds are redone below; keep the solve regular
            block[member] = np.eye(g.size)
            pred = onehot[g][None, :, :] - np.linalg.solve(block, a)
            correct[:, g] = pred.argmax(axis=2) == y[g][None, :]
        acc[rows] = correct.sum(axis=1) / (n - 1)
    for g in pairs:  # outer folds that leave out a duplicated compound: downdate by the pair
        keep = np.setdiff1d(np.arange(n), g)
        reduced = (inverse[np.ix_(keep, keep)]
                   - inverse[np.ix_(keep, g)] @ np.linalg.solve(inverse[np.ix_(g, g)],
                                                                inverse[np.ix_(g, keep)]))
        position = {int(j): k for k, j in enumerate(keep)}
        inner_groups = [np.array([position[int(j)] for j in groups[int(i)]]) for i in keep]
        inner = loo_predictions(reduced, onehot[keep], inner_groups)
        acc[g] = float(np.mean(inner.argmax(axis=1) == y[keep]))
    return acc


def nested_class_loo(data: MassSet, grid: Sequence[tuple[float, float, float]] = CLASS_GRID,
                     *, by_name: bool = True) -> tuple[list[str], dict[str, int]]:
    """Leave-one-out predictions of :class:`ClassModel`, hyperparameters chosen per fold."""
    classes = sorted(set(data.labels))
    y = np.array([classes.index(label) for label in data.labels], dtype=np.int64)
    onehot = np.eye(len(classes))[y]
    n = y.size
    groups = _groups(data.names) if by_name else [np.array([i]) for i in range(n)]
    inner = np.empty((n, len(grid)))
    outer = np.empty((n, len(grid)), dtype=np.int64)
    distances: dict[float, FloatArray] = {}  # ‖â - b̂‖² per intensity power, reused per gamma
    for c, (power, gamma, lam) in enumerate(grid):
        if power not in distances:
            distances[power] = mass_distances(data.matrix, data.matrix,
                                              intensity_power=power)
        kernel = np.exp(-gamma * distances[power])
        inverse = np.linalg.inv(kernel + lam * np.eye(n))
        outer[:, c] = loo_predictions(inverse, onehot, groups).argmax(axis=1)
        inner[:, c] = _inner_accuracy(inverse, onehot, y, groups)
    best = inner.argmax(axis=1)  # first best, as ClassModel.fit
    predicted = [classes[k] for k in outer[np.arange(n), best]]
    chosen: dict[str, int] = {}
    for b in best:
        key = "p={:g} gamma={:g} lambda={:g}".format(*grid[b])
        chosen[key] = chosen.get(key, 0) + 1
    return predicted, chosen


def gcms_class_loo(data: MassSet, grid: Sequence[tuple[float, float, float]] = CLASS_GRID,
                   *, row_wise: bool = True) -> GcmsClassReport:
    """Both classifiers leaving out each compound; ``row_wise`` adds the one-row variants
    (another nested run for the kernel model, about as long as the first)."""
    classes = sorted(set(data.labels))
    library = data.library()
    by_name = _groups(data.names)
    by_row = [np.array([i]) for i in range(len(data.names))]
    predicted, chosen = nested_class_loo(data, grid, by_name=True)
    others = {
        f"nn_{m.value}": class_scores(data.labels, _nearest_labels(library, data.labels, m,
                                                                   by_name), classes)
        for m in (Metric.WEIGHTED_DOT, Metric.ENTROPY)}
    if row_wise:
        others["nn_cosine_row_loo"] = class_scores(
            data.labels, _nearest_labels(library, data.labels, Metric.COSINE, by_row), classes)
        others["kernel_row_loo"] = class_scores(
            data.labels, nested_class_loo(data, grid, by_name=False)[0], classes)
    return GcmsClassReport(
        method=class_scores(data.labels, predicted, classes),
        baseline=class_scores(data.labels,
                              _nearest_labels(library, data.labels, Metric.COSINE, by_name),
                              classes),
        others=others, chosen=chosen,
        duplicated_names=sorted({n for n in data.names if data.names.count(n) > 1}))


# --- 2. fentanyl analogues -----------------------------------------------------------------


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True)
class FentanylReport:
    n: int
    share_model: float  # classified fentanyl by the kernel class model
    share_nearest: float  # nearest neighbour (square-root cosine) is a fentanyl-class entry
    left_out_copies: int  # Wong/other entries left out because they are the same compound
    missed: list[str]  # analogues the class model did not call fentanyl
    hyperparameters: dict[str, float]


def fentanyl_analogue_share(wong: MassSet, analogues: Sequence[Spectrum], *,
                            same_spectrum: float = 0.999) -> FentanylReport:
    """Leave each analogue out of (Wong set + the other analogues) and classify it.

    "Its own entry" is the analogue itself plus any entry that is the same compound: the same
    name (ignoring case and punctuation) or a practically identical spectrum (square-root
    cosine ≥ ``same_spectrum``; SWGDRUG records appear in both sets). The class model's
    hyperparameters are chosen on the Wong set alone, so the analogues take no part in it.
    """
    opts = wong.options
    rows = np.asarray([process_mass(s, opts) for s in analogues], dtype=np.float32)
    combined = MassSet(names=wong.names + [s.name for s in analogues],
                       labels=wong.labels + [FENTANYL] * len(analogues),
                       matrix=np.vstack([wong.matrix, rows]), options=opts)
    library = combined.library()
    cosine = np.vstack([scores(row, library, Metric.COSINE) for row in rows])
    keys = [_name_key(n) for n in combined.names]
    offset = len(wong.names)
    leave_out = []
    copies = 0
    for a in range(len(analogues)):
        same = {j for j, k in enumerate(keys) if k and k == keys[offset + a]}
        same |= set(np.flatnonzero(cosine[a] >= same_spectrum).tolist())
        same.add(offset + a)
        copies += len(same) - 1
        leave_out.append(np.array(sorted(same), dtype=np.int64))

    model = ClassModel.fit(wong.library(), wong.labels, groups=wong.names)
    classes = sorted(set(combined.labels))
    onehot = np.eye(len(classes))[[classes.index(label) for label in combined.labels]]
    kernel = mass_kernel(combined.matrix, combined.matrix, gamma=model.gamma,
                         intensity_power=model.intensity_power)
    inverse = np.linalg.inv(kernel + model.lam * np.eye(len(combined.names)))
    # loo_predictions wants one group per row; only the analogue rows are read back.
    groups = [np.array([i]) for i in range(offset)] + leave_out
    predicted = loo_predictions(inverse, onehot, groups)[offset:].argmax(axis=1)
    is_fentanyl = np.array([classes[k] == FENTANYL for k in predicted])

    nearest = []
    for a, group in enumerate(leave_out):
        values = cosine[a].copy()
        values[group] = -np.inf
        nearest.append(combined.labels[int(values.argmax())] == FENTANYL)
    return FentanylReport(
        n=len(analogues), share_model=float(is_fentanyl.mean()),
        share_nearest=float(np.mean(nearest)), left_out_copies=copies,
        missed=[s.name for s, ok in zip(analogues, is_fentanyl, strict=True) if not ok],
        hyperparameters={"intensity_power": model.intensity_power, "gamma": model.gamma,
                         "lambda": model.lam})


# --- 3. Raman mixtures ---------------------------------------------------------------------


@dataclass(frozen=True)
class MixtureSet:
    x: FloatArray  # ascending
    mixtures: FloatArray  # one spectrum per row
    pure: FloatArray  # one pure-component spectrum per column
    fractions: FloatArray  # true fractions, one row per mixture
    names: list[str]


def read_carbs(path: Path) -> MixtureSet:
    """The mdatools ``carbs`` data (R data file); needs the test extra's ``rdata``."""
    import rdata  # only the tests and benchmarks have it

    carbs = rdata.read_rda(str(path))["carbs"]
    x = np.asarray(carbs["S"].coords["dim_0"].values, dtype=np.float64)
    order = np.argsort(x)
    return MixtureSet(x=x[order],
                      mixtures=np.asarray(carbs["D"], dtype=np.float64)[:, order],
                      pure=np.asarray(carbs["S"], dtype=np.float64)[order],
                      fractions=np.asarray(carbs["C"], dtype=np.float64),
                      names=[str(v) for v in carbs["S"].coords["dim_1"].values])


@dataclass(frozen=True)
class MixtureReport:
    rmse: float  # unmix() against a library of the pure spectra as measured
    rmse_plain_nnls: float  # baseline
    rmse_known_components: float  # the three components given, background fitted
    rmse_default_processing: float  # unmix() after the default Raman pipeline (arPLS etc.)
    estimated: list[list[float]]  # unmix() fractions per mixture, in ``names`` order
    options: dict[str, Any] = field(default_factory=dict)


def _unmix_all(data: MixtureSet, pipeline: VibrationalOptions,
               options: MixtureOptions) -> FloatArray:
    spectra = [Spectrum(data.x, data.pure[:, k], Technique.RAMAN, name=n)
               for k, n in enumerate(data.names)]
    library = Library.from_spectra(spectra, pipeline)
    out = np.zeros_like(data.fractions)
    for i, row in enumerate(data.mixtures):
        result = unmix(Spectrum(data.x, row, Technique.RAMAN), library, options)
        for c in result.components:
            out[i, c.index] = c.fraction
    return out


def raman_mixture_rmse(data: MixtureSet, options: MixtureOptions | None = None) -> MixtureReport:
    """Fractions from :func:`~interdict.spectra.mixture.unmix` against the truth.

    The library holds the pure spectra as measured (no baseline removal or normalisation:
    they were recorded like the mixtures, so their scale is per unit mass); the mixtures go
    through the same identity pipeline. No parameter is fitted to the mixtures.
    """
    opts = options or MixtureOptions()

    def rmse(estimate: FloatArray) -> float:
        return float(np.sqrt(np.mean((estimate - data.fractions) ** 2)))

    step = float(np.median(np.diff(data.x)))
    as_measured = VibrationalOptions(start=float(data.x[0]), stop=float(data.x[-1]), step=step,
                                     smooth_window=0, baseline=BaselineMethod.NONE,
                                     normalisation=Normalisation.NONE)
    method = _unmix_all(data, as_measured, opts)
    default = _unmix_all(data, VibrationalOptions.raman(start=float(data.x[0]),
                                                        stop=float(data.x[-1]),
                                                        normalisation=Normalisation.NONE), opts)
    plain = np.array([plain_nnls_fractions(row, data.pure) for row in data.mixtures])
    known = np.array([fit_components(row, data.pure, background_degree=opts.background_degree)
                      .fractions() for row in data.mixtures])
    return MixtureReport(rmse=rmse(method), rmse_plain_nnls=rmse(plain),
                         rmse_known_components=rmse(known),
                         rmse_default_processing=rmse(default),
                         estimated=method.round(4).tolist(),
                         options={"pipeline": as_measured.describe(), **vars(opts)})


# --- 4. robustness -------------------------------------------------------------------------


#: Perturbation levels; sizes are relative to the spectrum's intensity range (max - min),
#: the shift is in cm⁻¹.
PERTURBATIONS: dict[str, tuple[str, tuple[float, ...]]] = {
    "noise": ("Gaussian noise sd / intensity range", (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)),
    "baseline_drift": ("drift amplitude / intensity range", (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)),
    "axis_shift": ("shift in cm-1", (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)),
    "fluorescence": ("background height / intensity range", (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)),
}


@dataclass(frozen=True)
class RobustnessCurve:
    perturbation: str
    unit: str
    levels: list[float]
    rates: dict[str, list[float]]  # metric -> share ranked first, one per level


def perturb(spectrum: Spectrum, kind: str, level: float,
            rng: np.random.Generator) -> Spectrum:
    """``spectrum`` with one perturbation of the given size (see :data:`PERTURBATIONS`)."""
    x, y = spectrum.x, spectrum.y
    span = float(y.max() - y.min()) or 1.0
    t = (x - x[0]) / ((x[-1] - x[0]) or 1.0)  # 0..1 across the measured range
    if kind == "noise":
        y = y + rng.normal(0.0, level * span, y.size)
    elif kind == "baseline_drift":  # a random tilt and bow, as from sample or detector drift
        a, b = rng.uniform(-1.0, 1.0, 2)
        y = y + level * span * (a * t + b * (4 * t * (1 - t)))
    elif kind == "axis_shift":
        x = x + level * rng.choice([-1.0, 1.0])
    elif kind == "fluorescence":  # a broad hump, wider than any band
        centre = rng.uniform(0.2, 0.8)
        y = y + level * span * np.exp(-0.5 * ((t - centre) / 0.3) ** 2)
    else:
        raise ValueError(f"unknown perturbation {kind!r}")
    return Spectrum(x, y, spectrum.technique, name=spectrum.name)


def robustness(spectra: Sequence[Spectrum], options: VibrationalOptions | None = None, *,
               metrics: Sequence[Metric] = VIBRATIONAL_METRICS, repeats: int = 5,
               seed: int = 0,
               perturbations: dict[str, tuple[str, tuple[float, ...]]] | None = None,
               ) -> list[RobustnessCurve]:
    """Recognition rate (correct entry ranked first) of each spectrum, perturbed, against a
    library of all of them unperturbed; ``repeats`` random draws per spectrum and level."""
    opts = options or VibrationalOptions(start=200.0, stop=4000.0)
    library = Library.from_spectra(spectra, opts)
    rng = np.random.default_rng(seed)
    curves = []
    for kind, (unit, levels) in (perturbations or PERTURBATIONS).items():
        rates: dict[str, list[float]] = {m.value: [] for m in metrics}
        for level in levels:
            right = dict.fromkeys(rates, 0)
            for index, spectrum in enumerate(spectra):
                for _ in range(repeats):
                    query = perturb(spectrum, kind, level, rng)
                    for m in metrics:
                        hits = search(query, library, m, top=1).hits
                        right[m.value] += bool(hits) and hits[0].index == index
            for name in rates:
                rates[name].append(right[name] / (len(spectra) * repeats))
        curves.append(RobustnessCurve(kind, unit, list(levels), rates))
    return curves
