"""Processing steps against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from interdict.spectra.processing import (
    BaselineMethod,
    MassOptions,
    Normalisation,
    VibrationalOptions,
    bin_nominal,
    default_options,
    first_derivative,
    normalise,
    process_many,
    process_mass,
    process_vibrational,
    remove_baseline,
    resample,
    scale_to_base_peak,
    smooth,
    weight_peaks,
)
from interdict.spectra.spectrum import Spectrum, Technique


def test_linear_resampling_of_three_points() -> None:
    # Source coarser than the grid: straight-line interpolation, NaN outside the range.
    out = resample(np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 0.0]),
                   np.array([-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5]))
    np.testing.assert_allclose(out[1:6], [0.0, 5.0, 10.0, 5.0, 0.0])
    assert np.isnan(out[0]) and np.isnan(out[6])


def test_finer_source_is_averaged_over_each_cell() -> None:
    x = np.arange(0.0, 10.0001, 0.1)
    out = resample(x, x.copy(), np.arange(0.0, 11.0, 1.0))
    # On a straight line the cell mean is the centre value, except at the edges where the
    # cell is clipped to the measured range: [0, 0.5] has mean 0.25, [9.5, 10] mean 9.75.
    np.testing.assert_allclose(out, [0.25, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9.75], atol=1e-9)


def test_repeated_x_values_are_averaged() -> None:
    out = resample(np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 2.0, 4.0, 0.0]),
                   np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(out, [0.0, 3.0, 0.0])


def test_normalisations() -> None:
    np.testing.assert_allclose(normalise(np.array([3.0, 4.0]), "vector"), [0.6, 0.8])
    np.testing.assert_allclose(normalise(np.array([-2.0, 1.0]), "max"), [-1.0, 0.5])
    # area = sum(|y|) x step = 4 x 0.5 = 2
    np.testing.assert_allclose(normalise(np.array([1.0, 3.0]), "area", step=0.5), [0.5, 1.5])
    np.testing.assert_allclose(normalise(np.zeros(3), "vector"), np.zeros(3))
    rows = normalise(np.array([[3.0, 4.0], [0.0, 2.0]], dtype=np.float32), "vector")
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 1.0]])


def test_savitzky_golay_keeps_a_cubic_and_differentiates_a_line() -> None:
    x = np.linspace(-1, 1, 41)
    cubic = 2 * x**3 - x + 0.5
    np.testing.assert_allclose(smooth(cubic, 9, 3), cubic, atol=1e-12)
    np.testing.assert_allclose(first_derivative(3 * x + 2, step=x[1] - x[0]), 3.0, atol=1e-9)
    assert np.array_equal(smooth(cubic, 0, 3), cubic)  # window 0: smoothing off


@pytest.mark.parametrize("method", [BaselineMethod.ARPLS, BaselineMethod.ASLS])
def test_baseline_removed_from_line_plus_peak(method: BaselineMethod) -> None:
    x = np.arange(0.0, 1000.0)
    peak = 10 * np.exp(-0.5 * ((x - 500) / 5) ** 2)
    line = 5 + 0.01 * x
    corrected, baseline = remove_baseline(line + peak, method, lam=1e6, p=0.001)
    assert np.abs(corrected - peak).max() < 0.1  # 1 % of the peak height
    assert np.abs(baseline - line).max() < 0.1


def test_vibrational_pipeline_on_the_grid() -> None:
    options = VibrationalOptions(start=100, stop=300, step=2)
    x = np.arange(150.0, 250.0, 0.5)
    y = 100 + 0.2 * x + 50 * np.exp(-0.5 * ((x - 200) / 4) ** 2)
    out = process_vibrational(Spectrum(x, y, Technique.RAMAN), options)
    grid = options.grid()
    assert grid[0] == 100 and grid[-1] == 300 and out.size == 101
    assert np.all(out[grid < 150] == 0) and np.all(out[grid > 249.5] == 0)  # not measured
    assert np.linalg.norm(out) == pytest.approx(1.0)
    assert grid[np.argmax(out)] == 200  # the peak, its sloping background gone


def test_pipeline_records_its_options() -> None:
    options = VibrationalOptions.ir(derivative=True, normalisation="max")
    described = options.describe()
    assert described["start"] == 400 and described["normalisation"] == "max"
    assert described["baseline"] == "arpls" and described["derivative"] is True
    assert default_options(Technique.MS).describe() == {"kind": "mass", "max_mz": 1000,
                                                        "noise_threshold": 0.0}
    with pytest.raises(ValueError):
        VibrationalOptions(smooth_window=8)
    with pytest.raises(ValueError):
        default_options(Technique.OTHER)


def test_no_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="hardly overlaps"):
        process_vibrational(Spectrum(np.arange(5000.0, 6000.0), np.ones(1000), Technique.IR),
                            VibrationalOptions.ir())


def test_mass_binning_threshold_and_weights() -> None:
    binned = bin_nominal(np.array([41.0, 41.2, 43.4, 700.0]), np.array([10.0, 5.0, 50.0, 1.0]),
                         max_mz=600)
    assert binned.size == 601 and binned[41] == 15 and binned[43] == 50 and binned.sum() == 65
    scaled = scale_to_base_peak(binned, noise_threshold=0.5)
    assert scaled[43] == 1.0 and scaled[41] == 0.0  # 15/50 = 0.3 < 0.5: dropped as noise
    # intensity^0.5 x mz^1 at m/z 0, 1, 2 with intensities 0, 0.25, 1
    np.testing.assert_allclose(weight_peaks(np.array([0.0, 0.25, 1.0]), 0.5, 1.0), [0, 0.5, 2])
    spectrum = Spectrum(np.array([43.0, 58.0]), np.array([999.0, 333.0]), Technique.MS)
    vector = process_mass(spectrum, MassOptions(max_mz=100))
    assert vector[43] == 1.0 and vector[58] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        process_mass(Spectrum(np.array([1.0, 2.0]), np.ones(2), Technique.RAMAN), MassOptions())


def test_process_many_is_a_float32_matrix() -> None:
    spectra = [Spectrum(np.arange(200.0, 3201.0, 2.0), np.random.default_rng(i).random(1501),
                        Technique.RAMAN) for i in range(3)]
    matrix = process_many(spectra, VibrationalOptions.raman(normalisation=Normalisation.NONE,
                                                            baseline=BaselineMethod.NONE,
                                                            smooth_window=0))
    assert matrix.shape == (3, 1501) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[0], spectra[0].y, rtol=1e-6)  # on the grid already
