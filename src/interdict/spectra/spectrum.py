"""The one in-memory shape every parser produces and every algorithm consumes.

Vibrational spectra (Raman, IR) are continuous curves on a wavenumber axis; EI mass spectra
are peak lists on an m/z axis. Both are held as two float arrays so that the search and
mixture code need no format knowledge; ``technique`` says how to compare them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Technique(StrEnum):
    """How a spectrum was measured, which decides how it is processed and compared."""

    RAMAN = "raman"
    IR = "ir"
    MS = "ms"  # electron-ionisation mass spectrum (peak list on nominal or exact m/z)
    OTHER = "other"  # parsed but not searchable (NMR from a JCAMP test file, for example)


@dataclass(frozen=True)
class Spectrum:
    """A spectrum with its axis, intensities and whatever identity the file carried.

    ``x`` is ascending after construction (files list Raman/IR axes either way); ``y`` follows.
    ``metadata`` keeps the file's own header labels (JCAMP ``##TITLE`` etc.) verbatim so that
    nothing the instrument recorded is lost.
    """

    x: FloatArray
    y: FloatArray
    technique: Technique
    name: str = ""
    x_units: str = ""
    y_units: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        y = np.asarray(self.y, dtype=np.float64)
        if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
            raise ValueError(
                f"x and y must be 1-D arrays of equal length, got {x.shape} and {y.shape}")
        if x.size == 0:
            raise ValueError("a spectrum needs at least one point")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("spectrum values must be finite numbers")
        if x.size > 1 and x[0] > x[-1]:
            x, y = x[::-1], y[::-1]
        object.__setattr__(self, "x", np.ascontiguousarray(x))
        object.__setattr__(self, "y", np.ascontiguousarray(y))

    @property
    def is_mass_spectrum(self) -> bool:
        return self.technique is Technique.MS
