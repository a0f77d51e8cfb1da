"""Spectral identification: search speed and the evaluation figures on the shared spectra.

Search speed: milliseconds per query against a 10,000-spectrum Raman library on one core
(BLAS limited to one thread). The library is built from every real Raman/IR spectrum in
``shared/data/spectra`` (about 40, processed once) augmented in processed space: each entry
mixes two real spectra (0-50 %), shifts the axis by up to 6 cm⁻¹, modulates band heights by
up to 20 % and adds noise, so neighbouring entries are realistically similar. Queries are
lightly perturbed copies of library entries. Baseline measured in the same run: what one
would write without a prepared matrix, a loop over the entries computing ``np.corrcoef``
for each.

Evaluation (see ``interdict.spectra.evaluation``): GC-MS leave-one-out NPS class accuracy
and macro-F1 on the 891 Wong et al. SWGDRUG spectra (baseline: nearest neighbour by
square-root cosine), share of the 84 NIST fentanyl analogues classified fentanyl-class with
their own entry left out (baseline: nearest neighbour's class), and RMSE of the fractions
found in the 21 carbohydrate Raman mixtures (baseline: plain NNLS).
"""

from __future__ import annotations

import contextlib
import importlib
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.figures import Baseline, Figure
from interdict.spectra import evaluation
from interdict.spectra.processing import VibrationalOptions, process_vibrational
from interdict.spectra.search import Library, search
from interdict.spectra.spectrum import Spectrum, Technique

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spectra"
WONG = DATA / "gcms_ei" / "wong2023_swgdrug" / "wong2023_mmc1_swgdrug311_nps_class_spectra.csv"
CARBS = DATA / "raman" / "mdatools_carbs_fructose_lactose_ribose_mixtures.RData"
NAME = "spectra_identification"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _one_core() -> Iterator[str]:
    """Limit BLAS to one thread while timing (threadpoolctl comes with the scientific stack)."""
    try:  # untyped and not a direct dependency: looked up, not imported by name
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # timing then uses whatever BLAS chooses, and says so
        yield "BLAS threads not limited (threadpoolctl missing)"
        return
    with threadpoolctl.threadpool_limits(limits=1):
        yield "BLAS limited to one thread"


def _real_vibrational() -> list[Spectrum]:
    from interdict.spectra.formats import SpectrumFormatError, read_spectra

    carbs = evaluation.read_carbs(CARBS)
    found = [Spectrum(carbs.x, carbs.pure[:, k], Technique.RAMAN, name=n)
             for k, n in enumerate(carbs.names)]
    found += [Spectrum(carbs.x, row, Technique.RAMAN, name=f"carbs mixture {i + 1}")
              for i, row in enumerate(carbs.mixtures)]
    paracetamol = DATA / "raman" / "paracetamol_tablet_renishaw_hyperSpec.txt"
    found += read_spectra(paracetamol.read_bytes(), paracetamol.name, technique=Technique.RAMAN)
    for path in sorted((DATA / "ir_rruff").glob("*.txt")) + sorted(
            (DATA / "jcamp_dx_examples").rglob("*")):
        if not path.is_file():
            continue
        try:
            spectra = read_spectra(path.read_bytes(), path.name)
        except SpectrumFormatError:
            continue  # an index file or a deliberately odd test file
        found += [s for s in spectra if s.technique in (Technique.RAMAN, Technique.IR)]
    return found


def _augmented_library(bases: list[Spectrum], options: VibrationalOptions, size: int,
                       rng: np.random.Generator) -> Library:
    processed = []
    names = []
    for s in bases:
        try:
            processed.append(process_vibrational(s, options))
            names.append(s.name or "unnamed")
        except ValueError:  # no overlap with the Raman range (e.g. a far-IR file)
            continue
    base = np.array(processed)
    grid = options.grid()
    a = rng.integers(0, len(base), size)
    b = rng.integers(0, len(base), size)
    weight = rng.uniform(0.0, 0.5, size)[:, None]
    mixed = (1 - weight) * base[a] + weight * base[b]
    shifts = rng.uniform(-6.0, 6.0, size)
    out = np.empty((size, grid.size), dtype=np.float32)
    for i in range(size):
        row = np.interp(grid, grid + shifts[i], mixed[i])
        row *= 1 + 0.2 * np.sin(grid / rng.uniform(50, 400) + rng.uniform(0, 6.3))
        row += rng.normal(0, 0.01 * np.abs(row).max(), grid.size)
        out[i] = row / np.linalg.norm(row)
    return Library(matrix=out, options=options, ids=[str(i) for i in range(size)],
                   names=[f"{names[a[i]]} variant {i}" for i in range(size)])


def _search_figure(quick: bool) -> Figure:
    rng = np.random.default_rng(1)
    options = VibrationalOptions.raman()
    bases = _real_vibrational()
    _log(f"building a 10,000-entry library from {len(bases)} real spectra")
    library = _augmented_library(bases, options, 10_000, rng)
    count = 10 if quick else 50
    picks = rng.integers(0, len(library), count)
    queries = library.matrix[picks].astype(np.float64)
    queries += rng.normal(0, 0.002, queries.shape)
    with _one_core() as threads:
        search(queries[0], library)  # prepares the centred matrix (once per library)
        times, right = [], 0
        for pick, query in zip(picks, queries, strict=True):
            start = time.perf_counter()
            hits = search(query, library, top=10).hits
            times.append(time.perf_counter() - start)
            right += hits[0].index == pick
        raw = [s for s in bases if s.technique is Technique.RAMAN][:count]
        start = time.perf_counter()
        for spectrum in raw:
            search(spectrum, library, top=10)
        with_processing = (time.perf_counter() - start) / len(raw)

        naive_queries = queries[:2 if quick else 5]
        start = time.perf_counter()
        for query in naive_queries:
            r2 = np.empty(len(library))
            for i, row in enumerate(library.matrix):
                r2[i] = np.corrcoef(query, row)[0, 1] ** 2
            np.argsort(-r2)[:10]
        naive = (time.perf_counter() - start) / len(naive_queries)
    return Figure(
        benchmark=NAME, figure="search_ms_per_query_10000_raman",
        value=round(1000 * statistics.median(times), 3), unit="ms/query", better="lower",
        baseline=Baseline(name="per-entry loop with np.corrcoef (r²), same library",
                          value=round(1000 * naive, 1)),
        target=10.0,
        params={"library": len(library), "points": int(library.matrix.shape[1]),
                "metric": "correlation", "queries": count, "core": "one", "threads": threads,
                "top1_correct": right / count,
                "ms_with_query_processing": round(1000 * with_processing, 2),
                "real_spectra": len(bases)})


def _gcms_figures(quick: bool) -> list[Figure]:
    data = evaluation.read_wong_csv(WONG)
    _log("GC-MS nested leave-one-out on 891 spectra")
    report = evaluation.gcms_class_loo(data, row_wise=not quick)
    base_name = "nearest neighbour, square-root cosine, compound left out"
    params: dict[str, Any] = {
        "file": WONG.name, "n": report.method.n, "classes": 7,
        "method": "kernel regularised least squares (Gaussian kernel on fourth-root/"
                  "square-root spectra), hyperparameters chosen inside each fold",
        "leave_out": "every spectrum of the compound (3 names occur twice)",
        "chosen": report.chosen,
        "others": {k: {"accuracy": round(v.accuracy, 4), "macro_f1": round(v.macro_f1, 4)}
                   for k, v in report.others.items()}}
    return [
        Figure(benchmark=NAME, figure="gcms_nps_class_loo_accuracy",
               value=round(report.method.accuracy, 4), unit="share", better="higher",
               baseline=Baseline(base_name, round(report.baseline.accuracy, 4)), target=0.92,
               params=params),
        Figure(benchmark=NAME, figure="gcms_nps_class_loo_macro_f1",
               value=round(report.method.macro_f1, 4), unit="macro-F1", better="higher",
               baseline=Baseline(base_name, round(report.baseline.macro_f1, 4)),
               params={**params, "per_class_f1": {k: round(v, 4) for k, v in
                                                  report.method.per_class_f1.items()}}),
    ]


def _fentanyl_figure() -> Figure:
    from interdict.spectra.formats import read_spectra

    folder = DATA / "gcms_ei" / "fentanyl_classifier_nist"
    analogues = [s for f in sorted(folder.rglob("*.MSP"))
                 for s in read_spectra(f.read_bytes(), f.name)]
    _log(f"fentanyl analogues: {len(analogues)}")
    report = evaluation.fentanyl_analogue_share(evaluation.read_wong_csv(WONG), analogues)
    return Figure(
        benchmark=NAME, figure="fentanyl_analogues_fentanyl_class_share",
        value=round(report.share_model, 4), unit="share", better="higher",
        baseline=Baseline("nearest neighbour's class (square-root cosine)",
                          round(report.share_nearest, 4)),
        params={"n": report.n, "library": "Wong set + the other analogues",
                "left_out_copies": report.left_out_copies, "missed": report.missed,
                "hyperparameters": report.hyperparameters})


def _mixture_figure() -> Figure:
    report = evaluation.raman_mixture_rmse(evaluation.read_carbs(CARBS))
    return Figure(
        benchmark=NAME, figure="raman_mixture_fraction_rmse",
        value=round(report.rmse, 5), unit="RMSE (fraction)", better="lower",
        baseline=Baseline("plain NNLS on the pure spectra", round(report.rmse_plain_nnls, 5)),
        target=0.01,
        params={"file": CARBS.name, "mixtures": len(report.estimated),
                "known_components_with_background": round(report.rmse_known_components, 5),
                "default_raman_processing": round(report.rmse_default_processing, 5),
                "method": "forward-selected NNLS with Legendre background"})


def _robustness_figures(quick: bool) -> list[Figure]:
    """One figure per perturbation: the recognition rate at a stated, moderate level, with
    the whole curve (every level, every score) in ``params``. Library: the 3 pure carbohydrate
    Raman spectra and the 9 RRUFF IR spectra; baseline: the derivative score, at the same
    level, in the same run."""
    from interdict.spectra.formats import read_spectra

    carbs = evaluation.read_carbs(CARBS)
    spectra = [Spectrum(carbs.x, carbs.pure[:, k], Technique.RAMAN, name=n)
               for k, n in enumerate(carbs.names)]
    for path in sorted((DATA / "ir_rruff").glob("*.txt")):
        spectra += read_spectra(path.read_bytes(), path.name)
    curves = evaluation.robustness(spectra, repeats=1 if quick else 3)
    reference = {"noise": 0.1, "baseline_drift": 2.0, "axis_shift": 4.0, "fluorescence": 2.0}
    figures = []
    for curve in curves:
        at = curve.levels.index(reference[curve.perturbation])
        figures.append(Figure(
            benchmark=NAME, figure=f"robustness_{curve.perturbation}",
            value=curve.rates["correlation"][at], unit="share ranked first", better="higher",
            baseline=Baseline("derivative score at the same level",
                              curve.rates["derivative"][at]),
            params={"level": reference[curve.perturbation], "unit": curve.unit,
                    "spectra": len(spectra), "curve": {"levels": curve.levels,
                                                       **curve.rates}}))
    return figures


def run(*, quick: bool) -> list[Figure]:
    figures = [_search_figure(quick)]
    figures += _gcms_figures(quick)
    figures.append(_fentanyl_figure())
    figures.append(_mixture_figure())
    figures += _robustness_figures(quick)
    return figures
