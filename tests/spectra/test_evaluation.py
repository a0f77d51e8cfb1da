"""Evaluation reports on the shared spectra (floors guard against regressions).

The figures themselves are reported by ``benchmarks/spectra_identification.py``; the
measured values are noted next to each floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interdict.spectra.evaluation import (
    MassSet,
    class_scores,
    fentanyl_analogue_share,
    gcms_class_loo,
    nested_class_loo,
    perturb,
    read_carbs,
    read_wong_csv,
    robustness,
)
from interdict.spectra.processing import MassOptions
from interdict.spectra.search import ClassModel
from interdict.spectra.spectrum import Spectrum, Technique

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spectra"
WONG = DATA / "gcms_ei" / "wong2023_swgdrug" / "wong2023_mmc1_swgdrug311_nps_class_spectra.csv"
FENTANYL = DATA / "gcms_ei" / "fentanyl_classifier_nist"
CARBS = DATA / "raman" / "mdatools_carbs_fructose_lactose_ribose_mixtures.RData"
needs_data = pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")


def test_class_scores_by_hand() -> None:
    scores = class_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    # a: tp 1, fn 1 -> F1 2/3; b: tp 2, fp 1 -> 4/5; c: never present or predicted -> 0
    assert scores.accuracy == 0.75
    assert scores.per_class_f1 == pytest.approx({"a": 2 / 3, "b": 0.8, "c": 0.0})
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0.8) / 3)


def test_perturbations() -> None:
    x = np.arange(100.0, 200.0)
    s = Spectrum(x, np.sin(x / 10) + 2, Technique.RAMAN, name="s")
    rng = np.random.default_rng(0)
    assert np.array_equal(perturb(s, "noise", 0.0, rng).y, s.y)
    shifted = perturb(s, "axis_shift", 4.0, rng)
    assert abs(shifted.x[0] - 100.0) == 4.0 and np.array_equal(shifted.y, s.y)
    hump = perturb(s, "fluorescence", 1.0, rng).y - s.y
    assert hump.min() > 0 and hump.max() <= (s.y.max() - s.y.min()) + 1e-12
    with pytest.raises(ValueError):
        perturb(s, "cosmic rays", 1.0, rng)


@needs_data
def test_gcms_class_leave_one_out_meets_target() -> None:
    report = gcms_class_loo(read_wong_csv(WONG), row_wise=False)
    assert report.method.n == 891 and len(report.duplicated_names) == 3
    assert report.method.accuracy >= 0.92  # measured 0.9416 (nested, leave-compound-out)
    assert report.method.macro_f1 >= 0.90  # 0.9307
    assert 0.85 <= report.baseline.accuracy <= 0.89  # 1-NN square-root cosine: 0.8721
    assert report.others["nn_entropy"].accuracy > report.baseline.accuracy  # 0.8844
    assert sum(report.chosen.values()) == 891


@needs_data
def test_fentanyl_analogues_classified_with_their_entry_left_out() -> None:
    from interdict.spectra.formats import read_spectra

    analogues = [s for f in sorted(FENTANYL.rglob("*.MSP"))
                 for s in read_spectra(f.read_bytes(), f.name)]
    assert len(analogues) == 84
    report = fentanyl_analogue_share(read_wong_csv(WONG), analogues)
    assert report.share_model >= 0.95  # measured 1.0
    assert report.share_nearest >= 0.95  # 1.0
    assert report.left_out_copies >= 68  # 68 analogues are also in the Wong set by name


@needs_data
def test_robustness_curves() -> None:
    from interdict.spectra.formats import read_spectra

    carbs = read_carbs(CARBS)
    spectra = [Spectrum(carbs.x, carbs.pure[:, k], Technique.RAMAN, name=n)
               for k, n in enumerate(carbs.names)]
    for f in sorted((DATA / "ir_rruff").glob("*.txt")):
        spectra += read_spectra(f.read_bytes(), f.name)
    curves = robustness(spectra, repeats=1, perturbations={
        "noise": ("sd / range", (0.0, 0.05)), "axis_shift": ("cm-1", (0.0, 2.0)),
        "fluorescence": ("height / range", (0.0, 1.0)),
        "baseline_drift": ("amplitude / range", (0.0, 1.0))})
    assert len(spectra) == 12 and [c.perturbation for c in curves] == [
        "noise", "axis_shift", "fluorescence", "baseline_drift"]
    for curve in curves:
        for metric, rates in curve.rates.items():
            assert rates[0] == 1.0, (curve.perturbation, metric)
            assert rates[1] >= 0.9, (curve.perturbation, metric)


def test_nested_leave_one_out_equals_refitting_the_model_per_fold() -> None:
    """The closed-form nested evaluation makes the same predictions as refitting
    ClassModel (with its own hyperparameter choice) without each compound."""
    rng = np.random.default_rng(1)
    markers = {"a": [58, 72], "b": [91, 65], "c": [105, 77]}
    names, labels, rows = [], [], []
    for i in range(30):
        label = "abc"[i % 3]
        row = np.zeros(121, dtype=np.float32)
        row[rng.integers(30, 120, 10)] = rng.uniform(0.05, 0.7, 10)
        row[markers[label]] = rng.uniform(0.05, 0.5, 2)  # weak markers: some folds go wrong
        names.append(f"compound {i}")
        labels.append(label)
        rows.append(row / row.max())
    names[7] = names[4]  # one compound measured twice, left out together
    data = MassSet(names, labels, np.array(rows), MassOptions(max_mz=120))
    grid = [(0.5, 0.5, 0.1), (0.25, 2.0, 0.01), (1.0, 4.0, 1.0)]
    predicted, chosen = nested_class_loo(data, grid)
    assert len(chosen) == 2 and sum(chosen.values()) == 30  # folds differ in their choice
    assert 0 < sum(p != t for p, t in zip(predicted, labels, strict=True)) < 10
    library = data.library()
    for i in range(30):
        keep = [j for j in range(30) if names[j] != names[i]]
        model = ClassModel.fit(library.subset(keep), [labels[j] for j in keep],
                               groups=[names[j] for j in keep], grid=grid)
        assert model.predict(data.matrix[i]).label == predicted[i], i
