"""Turn parsed spectra into comparable vectors, recording every choice made on the way.

Two spectra can only be compared point by point once they share an axis and once whatever
differs between instruments rather than between substances (baseline, fluorescence, overall
intensity, noise, for mass spectra the exact m/z and the abundance scale) has been taken out.
This module does that, and nothing else: search, mixture analysis and evaluation all call it,
so a library and the queries searched against it are guaranteed to be processed alike.

Vibrational spectra (Raman, IR), in this order (:func:`process_vibrational`):

1. **Resample** onto a uniform grid (:meth:`VibrationalOptions.grid`, by default 200-3200 cm⁻¹
   for Raman and 400-4000 cm⁻¹ for IR, step 2 cm⁻¹). A source coarser than the grid is
   interpolated linearly; a finer one is averaged over each grid cell (integral of the
   linear interpolant divided by the cell width) so that its noise is averaged rather than
   aliased. Grid points outside the measured range are not invented: they stay 0 in the
   result and are excluded from every step below.
2. **Smooth** with a Savitzky-Golay filter (scipy; default 9 points, cubic), which removes
   noise with less peak broadening than a moving average.
3. **Remove the baseline** with arPLS (asymmetrically reweighted penalised least squares,
   Baek et al. 2015) from pybaselines, or AsLS (Eilers & Boelens 2005). Both fit a smooth
   curve that hugs the spectrum from below; arPLS needs no asymmetry parameter, which is why
   it is the default. ``baseline_lam`` is counted in grid points: the default 1e6 on the
   2 cm⁻¹ grid follows fluorescence humps a few hundred cm⁻¹ wide but not the envelope of a
   dense band cluster. (Measured on the shared data: 1e5 recognises spectra under a 10x
   fluorescence hump more often, but distorts band clusters enough to put mixture fractions
   off by 0.03; 1e7 and stiffer leave strong fluorescence in.) For a grid step s multiply it
   by (2 / s)⁴ to keep the same stiffness in cm⁻¹.
4. Optionally take the **first derivative** (Savitzky-Golay, same window), which removes what
   is left of a sloping baseline at the cost of noise.
5. **Normalise**: unit vector (default; what correlation and cosine scores assume), maximum
   or area, so that concentration and laser power do not matter.

Mass spectra (:func:`process_mass`): peaks are **binned to nominal m/z** (intensities in one
bin summed), scaled to base peak 1, and peaks below ``noise_threshold`` of the base peak are
dropped. The intensity transformation a similarity measure needs (square root, or Stein &
Scott's m/z-weighted power) is applied by :func:`weight_peaks` when a library is searched,
not stored, because each measure wants a different one.

Every function is vectorised with numpy; libraries are held as float32 matrices (a 10,000
entry Raman library on the default grid is 10,000 x 1,501 x 4 bytes = 60 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from pybaselines import Baseline
from scipy.signal import savgol_filter

from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

BoolArray = npt.NDArray[np.bool_]


class Normalisation(StrEnum):
    """How a processed vibrational spectrum is scaled (see :func:`normalise`)."""

    VECTOR = "vector"  # Euclidean norm 1
    MAX = "max"  # largest absolute value 1
    AREA = "area"  # sum of |y| times the grid step equals 1
    NONE = "none"


class BaselineMethod(StrEnum):
    ARPLS = "arpls"
    ASLS = "asls"
    NONE = "none"


@dataclass(frozen=True)
class VibrationalOptions:
    """Every parameter of the vibrational pipeline; stored with each library and result.

    ``smooth_window`` is in grid points (odd; 0 or 1 turns smoothing off).
    ``baseline_p`` is the AsLS asymmetry (weight of points above the baseline); arPLS
    ignores it.
    """

    start: float = 200.0
    stop: float = 3200.0
    step: float = 2.0
    smooth_window: int = 9
    smooth_polyorder: int = 3
    baseline: BaselineMethod = BaselineMethod.ARPLS
    baseline_lam: float = 1e6
    baseline_p: float = 0.01
    derivative: bool = False
    normalisation: Normalisation = Normalisation.VECTOR

    def __post_init__(self) -> None:
        if not (self.step > 0 and self.stop > self.start):
            raise ValueError("the grid needs start < stop and a positive step")
        if self.smooth_window > 1 and (self.smooth_window % 2 == 0
                                       or self.smooth_window <= self.smooth_polyorder):
            raise ValueError("smooth_window must be odd and larger than smooth_polyorder")
        object.__setattr__(self, "baseline", BaselineMethod(self.baseline))
        object.__setattr__(self, "normalisation", Normalisation(self.normalisation))

    @classmethod
    def raman(cls, **changes: Any) -> VibrationalOptions:
        """Defaults for Raman: 200-3200 cm⁻¹ covers the fingerprint and C-H stretch region."""
        return cls(**changes)

    @classmethod
    def ir(cls, **changes: Any) -> VibrationalOptions:
        """Defaults for mid-IR (ATR-FTIR): 400-4000 cm⁻¹."""
        return cls(**{"start": 400.0, "stop": 4000.0, **changes})

    def grid(self) -> FloatArray:
        """The common axis, start and stop included."""
        count = int(round((self.stop - self.start) / self.step)) + 1
        return self.start + self.step * np.arange(count, dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        """Plain values for a result record (JSON-ready)."""
        return {"kind": "vibrational", **{k: (str(v) if isinstance(v, StrEnum) else v)
                                          for k, v in asdict(self).items()}}


@dataclass(frozen=True)
class MassOptions:
    """Parameters of the mass-spectrum pipeline.

    ``max_mz``: bins run from m/z 0 to ``max_mz`` (peaks above are dropped; EI spectra of
    seized drugs end well below 1000). ``noise_threshold``: peaks below this fraction of the
    base peak are removed. The default 0 keeps every peak, because library spectra (SWGDRUG,
    NIST) are already thresholded and small peaks carry class information; raise it (0.01
    is common) for noisy deconvoluted spectra from a run.
    """

    max_mz: int = 1000
    noise_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.max_mz < 1 or not 0.0 <= self.noise_threshold < 1.0:
            raise ValueError("max_mz must be positive and noise_threshold in [0, 1)")

    def describe(self) -> dict[str, Any]:
        return {"kind": "mass", **asdict(self)}


#: What a library or a result records about its processing.
ProcessingOptions = VibrationalOptions | MassOptions


def default_options(technique: Technique) -> ProcessingOptions:
    """The pipeline used when the caller does not choose one."""
    if technique is Technique.MS:
        return MassOptions()
    if technique is Technique.IR:
        return VibrationalOptions.ir()
    if technique is Technique.RAMAN:
        return VibrationalOptions.raman()
    raise ValueError(f"spectra of technique {technique.value!r} cannot be searched")


# --- vibrational steps -------------------------------------------------------------------


def _collapse_repeats(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sort by x and average the y of repeated x values (merged scan windows repeat them)."""
    if x.size > 1 and np.all(np.diff(x) > 0):
        return x, y
    xu, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=y)
    counts = np.bincount(inverse)
    return xu, sums / counts


def resample(x: FloatArray, y: FloatArray, grid: FloatArray) -> FloatArray:
    """``y`` on ``grid`` (uniform, ascending); NaN where the grid lies outside ``x``'s range.

    Linear interpolation when the source is at least as coarse as the grid. When the source
    is finer (median spacing below the grid step), each grid value is the mean of the linear
    interpolant over the cell ``[g - step/2, g + step/2]`` clipped to the measured range, so
    noise is averaged instead of sampled; on a linear stretch this equals the interpolated
    value, so peaks are not shifted.
    """
    xs, ys = _collapse_repeats(np.asarray(x, np.float64), np.asarray(y, np.float64))
    out = np.full(grid.shape, np.nan)
    inside = (grid >= xs[0]) & (grid <= xs[-1])
    if xs.size == 1:
        out[inside] = ys[0]
        return out
    step = float(grid[1] - grid[0]) if grid.size > 1 else 0.0
    if step <= 0 or float(np.median(np.diff(xs))) >= step:
        out[inside] = np.interp(grid[inside], xs, ys)
        return out
    # Cumulative integral of the piecewise-linear interpolant, evaluated at cell edges.
    cumulative = np.concatenate([[0.0], np.cumsum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2)])
    g = grid[inside]
    lo = np.clip(g - step / 2, xs[0], xs[-1])
    hi = np.clip(g + step / 2, xs[0], xs[-1])

    def integral(at: FloatArray) -> FloatArray:
        i = np.clip(np.searchsorted(xs, at, side="right") - 1, 0, xs.size - 2)
        dx = at - xs[i]
        slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
        return np.asarray(cumulative[i] + dx * (ys[i] + slope * dx / 2), dtype=np.float64)

    out[inside] = (integral(hi) - integral(lo)) / (hi - lo)
    return out


def smooth(y: FloatArray, window: int, polyorder: int) -> FloatArray:
    """Savitzky-Golay smoothing; a window wider than the data shrinks to fit."""
    window = _fit_window(window, polyorder, y.size)
    if window <= 1:
        return y.copy()
    return np.asarray(savgol_filter(y, window, polyorder, mode="interp"), dtype=np.float64)


def _fit_window(window: int, polyorder: int, size: int) -> int:
    window = min(window, size if size % 2 else size - 1)
    return window if window > polyorder else 1


def remove_baseline(y: FloatArray, method: BaselineMethod | str = BaselineMethod.ARPLS, *,
                    lam: float = 1e6, p: float = 0.01) -> tuple[FloatArray, FloatArray]:
    """``(y - baseline, baseline)`` with the baseline fitted by pybaselines.

    arPLS and AsLS with second-order difference penalty, at most 50 iterations, tolerance
    1e-3 (pybaselines' defaults); ``lam`` in points of ``y``.
    """
    method = BaselineMethod(method)
    if method is BaselineMethod.NONE or y.size < 4:
        return y.copy(), np.zeros_like(y)
    fitter = Baseline()
    if method is BaselineMethod.ARPLS:
        fitted, _ = fitter.arpls(y, lam=lam, diff_order=2, max_iter=50, tol=1e-3)
    else:
        fitted, _ = fitter.asls(y, lam=lam, p=p, diff_order=2, max_iter=50, tol=1e-3)
    base = np.asarray(fitted, dtype=np.float64)
    return y - base, base


def first_derivative(y: FloatArray, step: float, window: int = 9,
                     polyorder: int = 3) -> FloatArray:
    """dy/dx by Savitzky-Golay (a smoothed derivative); central differences without a window."""
    window = _fit_window(window, polyorder, y.size)
    if window <= 1:
        return np.asarray(np.gradient(y, step), dtype=np.float64)
    return np.asarray(savgol_filter(y, window, polyorder, deriv=1, delta=step, mode="interp"),
                      dtype=np.float64)


def normalise(y: npt.NDArray[Any], how: Normalisation | str = Normalisation.VECTOR, *,
              step: float = 1.0) -> npt.NDArray[Any]:
    """Scale ``y`` (one spectrum, or one per row of a matrix); all-zero rows stay zero.

    ``area`` divides by sum(|y|) x step, the rectangle-rule area under |y|, so that
    baseline-corrected spectra dipping slightly below zero still get a positive scale.
    """
    how = Normalisation(how)
    if how is Normalisation.NONE:
        return y.copy()
    arr = np.asarray(y)
    if how is Normalisation.VECTOR:
        scale = np.linalg.norm(arr, axis=-1, keepdims=True)
    elif how is Normalisation.MAX:
        scale = np.max(np.abs(arr), axis=-1, keepdims=True)
    else:
        scale = np.sum(np.abs(arr), axis=-1, keepdims=True) * step
    safe = np.where(scale > 0, scale, 1.0)
    return np.asarray(arr / safe, dtype=arr.dtype)


def coverage(spectrum: Spectrum, options: VibrationalOptions) -> BoolArray:
    """Grid points inside the spectrum's measured range (the others are 0 after processing)."""
    grid = options.grid()
    return np.asarray((grid >= spectrum.x[0]) & (grid <= spectrum.x[-1]), dtype=np.bool_)


def process_vibrational(spectrum: Spectrum, options: VibrationalOptions) -> FloatArray:
    """The spectrum on ``options.grid()`` after every step in the module docstring."""
    if spectrum.technique is Technique.MS:
        raise ValueError("a mass spectrum cannot go through the vibrational pipeline")
    values = resample(spectrum.x, spectrum.y, options.grid())
    covered = np.flatnonzero(~np.isnan(values))
    if covered.size < 5:
        raise ValueError(f"spectrum {spectrum.name!r} ({spectrum.x[0]:g}-{spectrum.x[-1]:g}) "
                         f"hardly overlaps the processing range "
                         f"{options.start:g}-{options.stop:g}")
    lo, hi = covered[0], covered[-1] + 1  # one contiguous stretch: the range is an interval
    segment = values[lo:hi]
    if options.smooth_window > 1:
        segment = smooth(segment, options.smooth_window, options.smooth_polyorder)
    segment, _ = remove_baseline(segment, options.baseline, lam=options.baseline_lam,
                                 p=options.baseline_p)
    if options.derivative:
        segment = first_derivative(segment, options.step, max(options.smooth_window, 5),
                                   options.smooth_polyorder)
    out = np.zeros_like(values)
    out[lo:hi] = segment
    return np.asarray(normalise(out, options.normalisation, step=options.step),
                      dtype=np.float64)


# --- mass spectra --------------------------------------------------------------------------


def bin_nominal(mz: FloatArray, intensity: FloatArray, max_mz: int) -> FloatArray:
    """Intensities summed into integer m/z bins 0..``max_mz`` (index = nominal m/z).

    Rounding to the nearest integer is right for organic ions below m/z 1000, whose mass
    defects stay within ±0.5. Peaks beyond ``max_mz`` or with negative intensity are dropped.
    """
    nominal = np.rint(np.asarray(mz, np.float64)).astype(np.int64)
    values = np.asarray(intensity, np.float64)
    keep = (nominal >= 0) & (nominal <= max_mz) & (values > 0)
    return np.bincount(nominal[keep], weights=values[keep], minlength=max_mz + 1).astype(
        np.float64)


def scale_to_base_peak(binned: FloatArray, noise_threshold: float = 0.0) -> FloatArray:
    """Divide by the base peak and zero the peaks below ``noise_threshold`` of it."""
    top = float(binned.max(initial=0.0))
    if top <= 0:
        return np.zeros_like(binned)
    out = binned / top
    if noise_threshold > 0:
        out[out < noise_threshold] = 0.0
    return out


def process_mass(spectrum: Spectrum, options: MassOptions) -> FloatArray:
    """Nominal-mass vector of relative abundances (base peak 1), noise peaks removed."""
    if spectrum.technique is not Technique.MS:
        raise ValueError(f"spectrum {spectrum.name!r} is not a mass spectrum")
    return scale_to_base_peak(bin_nominal(spectrum.x, spectrum.y, options.max_mz),
                              options.noise_threshold)


def weight_peaks(values: npt.NDArray[Any], intensity_power: float = 0.5,
                 mz_power: float = 0.0) -> npt.NDArray[Any]:
    """Stein & Scott's peak weights ``intensity ** a * mz ** b`` for nominal-mass vectors.

    ``values`` is one binned spectrum or a matrix with one per row (index = m/z). a = 0.5,
    b = 0 is the square-root cosine; a = 0.6, b = 3 the weighting Stein & Scott (1994,
    J. Am. Soc. Mass Spectrom. 5:859) found best for EI library search and NIST MS Search
    uses. Powers below 1 lift small fragment peaks; the m/z factor favours the heavier,
    more specific ions.
    """
    arr = np.asarray(values)
    weighted = np.power(arr, intensity_power) if intensity_power != 1 else arr.copy()
    if mz_power:
        mz = np.arange(arr.shape[-1], dtype=np.float64) ** mz_power
        weighted = weighted * mz.astype(arr.dtype)
    return np.asarray(weighted, dtype=arr.dtype)


def process(spectrum: Spectrum, options: ProcessingOptions) -> FloatArray:
    """Dispatch to the pipeline that matches ``options``."""
    if isinstance(options, MassOptions):
        return process_mass(spectrum, options)
    return process_vibrational(spectrum, options)


def process_many(spectra: Sequence[Spectrum], options: ProcessingOptions) -> np.ndarray[
        Any, np.dtype[np.float32]]:
    """One processed spectrum per row, float32 (half the memory; ample for similarity)."""
    width = (options.max_mz + 1 if isinstance(options, MassOptions) else options.grid().size)
    out = np.empty((len(spectra), width), dtype=np.float32)
    for row, spectrum in enumerate(spectra):
        out[row] = process(spectrum, options)
    return out
