"""Mixture analysis: exact fits on constructed data, cut combinations, the carbohydrate set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interdict.spectra.evaluation import raman_mixture_rmse, read_carbs
from interdict.spectra.mixture import (
    MixtureOptions,
    fit_components,
    plain_nnls_fractions,
    unmix,
)
from interdict.spectra.processing import BaselineMethod, Normalisation, VibrationalOptions
from interdict.spectra.search import Library
from interdict.spectra.spectrum import Spectrum, Technique

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spectra"
CARBS = DATA / "raman" / "mdatools_carbs_fructose_lactose_ribose_mixtures.RData"
X = np.arange(150.0, 3300.0, 1.0)
STREET = ["cocaine HCl", "levamisole", "phenacetin", "caffeine", "lidocaine", "heroin",
          "paracetamol", "procaine", "benzocaine", "mannitol", "lactose", "glucose",
          "sucrose", "inositol", "boric acid", "diltiazem", "hydroxyzine", "dextromethorphan",
          "noscapine", "papaverine", "acetylcodeine", "6-MAM", "creatine", "starch"]


def _band(centre: float, width: float) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + ((X - centre) / width) ** 2))


def _substance(seed: int) -> np.ndarray:
    """A made-up Raman spectrum: 15-35 Lorentzian bands in the fingerprint region and a few
    C-H stretches, unit norm on the 2 cm⁻¹ grid (so library fractions are signal shares)."""
    rng = np.random.default_rng(seed)
    y = sum(rng.uniform(0.05, 1.0) ** 2 * _band(rng.uniform(250, 1750), rng.uniform(3, 12))
            for _ in range(rng.integers(15, 35)))
    y = y + sum(rng.uniform(0.1, 0.6) * _band(rng.uniform(2850, 3100), rng.uniform(8, 20))
                for _ in range(rng.integers(2, 6)))
    return np.asarray(y / np.linalg.norm(y[50::2]))


@pytest.fixture(scope="module")
def street_library() -> tuple[Library, dict[str, np.ndarray]]:
    pure = {name: _substance(i) for i, name in enumerate(STREET)}
    # Cocaine base: the salt's spectrum with a third of the bands moved a few cm⁻¹, the kind
    # of near-duplicate that must not turn up as a second component.
    rng = np.random.default_rng(99)
    shifted = np.interp(X + rng.uniform(2, 5), X, pure["cocaine HCl"])
    pure["cocaine base"] = 0.6 * pure["cocaine HCl"] + 0.4 * shifted
    spectra = [Spectrum(X, y, Technique.RAMAN, name=n) for n, y in pure.items()]
    return Library.from_spectra(spectra, ids=list(pure)), pure


def test_background_fit_recovers_exact_coefficients() -> None:
    a, b = _band(600, 5), _band(1000, 8)
    components = np.column_stack([a, b])
    y = 0.3 * a + 0.7 * b + 5.0 + 0.001 * X  # offset and slope the pure spectra lack
    fit = fit_components(y, components, background_degree=1)
    np.testing.assert_allclose(fit.coefficients, [0.3, 0.7], atol=1e-9)
    assert fit.rss == pytest.approx(0.0, abs=1e-12) and fit.explained_variance == 1.0
    plain = plain_nnls_fractions(y, components)
    assert abs(plain[0] - 0.3) > 0.05  # plain NNLS mistakes the offset for signal


def test_response_factors_turn_signal_shares_into_amounts(street_library) -> None:
    library, pure = street_library
    y = 0.5 * pure["heroin"] + 1.0 * pure["caffeine"]  # caffeine twice as strong per unit
    shares = {c.id: c.fraction for c in unmix(Spectrum(X, y, Technique.RAMAN),
                                              library).components}
    assert shares == pytest.approx({"caffeine": 2 / 3, "heroin": 1 / 3}, abs=0.01)
    amounts = {c.id: c.fraction for c in unmix(Spectrum(X, y, Technique.RAMAN), library,
                                               response={"caffeine": 2.0}).components}
    assert amounts == pytest.approx({"caffeine": 0.5, "heroin": 0.5}, abs=0.01)


@pytest.mark.parametrize("recipe", [
    {"cocaine HCl": 0.7, "levamisole": 0.3},
    {"cocaine HCl": 0.5, "phenacetin": 0.3, "caffeine": 0.2},
    {"cocaine HCl": 0.6, "lidocaine": 0.25, "levamisole": 0.15},
    {"heroin": 0.4, "paracetamol": 0.4, "caffeine": 0.2},
    {"heroin": 0.2, "paracetamol": 0.7, "caffeine": 0.1},
    {"cocaine HCl": 1.0},
    {"cocaine base": 0.7, "levamisole": 0.3},  # the base, not its near-duplicate salt
])
def test_cut_combinations_are_unmixed(street_library, recipe: dict[str, float]) -> None:
    library, pure = street_library
    rng = np.random.default_rng(len(recipe) * 31 + int(100 * max(recipe.values())))
    y = sum(f * pure[name] for name, f in recipe.items())
    peak = float(y.max())
    y = (y + 2.0 * peak * np.exp(-0.5 * ((X - rng.uniform(800, 2500)) / 600) ** 2)  # fluorescence
         + rng.normal(0, 0.01 * peak, X.size))
    result = unmix(Spectrum(X, y, Technique.RAMAN, name="seizure"), library)
    found = {c.id: c.fraction for c in result.components}
    assert set(found) == set(recipe)
    assert found == pytest.approx(recipe, abs=0.02)
    assert sum(found.values()) == pytest.approx(1.0)
    assert result.explained_variance > 0.95
    assert result.method["background_degree"] == 15 and result.processing["kind"] == "vibrational"


def test_nothing_reported_for_an_empty_spectrum(street_library) -> None:
    library, _ = street_library
    result = unmix(Spectrum(X, np.full(X.size, 3.0), Technique.RAMAN), library)
    assert result.components == [] and result.explained_variance == 0.0


def test_unmix_refuses_mass_libraries() -> None:
    from interdict.spectra.processing import MassOptions

    library = Library(matrix=np.zeros((1, 11), dtype=np.float32), options=MassOptions(max_mz=10),
                      ids=["a"], names=["a"])
    with pytest.raises(ValueError, match="Raman and IR"):
        unmix(np.zeros(11), library)


@pytest.mark.skipif(not CARBS.exists(), reason="shared evaluation data not present")
def test_carbohydrate_mixtures_within_target() -> None:
    data = read_carbs(CARBS)
    assert data.mixtures.shape == (21, 1401) and data.names == ["fructose", "lactose", "ribose"]
    report = raman_mixture_rmse(data)
    assert report.rmse <= 0.01  # measured 0.0022
    assert report.rmse_known_components <= 0.01  # 0.0039
    assert report.rmse_default_processing <= 0.01  # 0.0027, through arPLS and smoothing
    assert report.rmse_plain_nnls >= 0.03  # the baseline the method improves on: 0.041
    # Without the background term the same selection procedure is no better than plain NNLS.
    library = Library.from_spectra(
        [Spectrum(data.x, data.pure[:, k], Technique.RAMAN, name=n)
         for k, n in enumerate(data.names)],
        VibrationalOptions(start=200, stop=1600, step=1, smooth_window=0,
                           baseline=BaselineMethod.NONE, normalisation=Normalisation.NONE))
    no_background = unmix(Spectrum(data.x, data.mixtures[8], Technique.RAMAN), library,
                          MixtureOptions(background_degree=None))
    with_background = unmix(Spectrum(data.x, data.mixtures[8], Technique.RAMAN), library)
    truth = dict(zip(data.names, data.fractions[8], strict=True))
    error = [max(abs(c.fraction - truth[c.name]) for c in r.components)
             for r in (no_background, with_background)]
    assert error[1] < 0.01 < error[0]
