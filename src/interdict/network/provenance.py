"""Where a value came from and how far to trust it: originator, grading, handling.

Grading schemes and handling codes are reference data (``platform/source_grading.yaml`` for
4x4, ``platform/grading_3x5x2.yaml`` for 3x5x2, ``platform/handling_codes.yaml``), so an
agency can check them and the code never hard-codes a scale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from interdict.errors import FieldError, InvalidData
from interdict.reference.registry import Registry
from interdict.reference.specs import CodeList

SCHEMES = {"4x4": "platform/source_grading", "3x5x2": "platform/grading_3x5x2"}
HANDLING = "platform/handling_codes"


@dataclass(frozen=True)
class Provenance:
    """The provenance an importer states for a batch (every value of the batch carries it)."""

    originator: str  # agency code
    scheme: str = "4x4"
    source_grade: str = "X"
    information_grade: str = "4"
    handling: str = "H0"
    observed_on: str | None = None  # ISO date the information refers to
    source_record: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _codes(registry: Registry, name: str, axis: str | None) -> set[str]:
    content = registry.get(name).content
    assert isinstance(content, CodeList)
    return {e.code for e in content.entries if axis is None or e.axis == axis}


def validate(registry: Registry, p: Provenance) -> Provenance:
    """The provenance if every code is valid for its scheme; else InvalidData naming each."""
    problems: list[FieldError] = []
    if p.scheme not in SCHEMES:
        raise InvalidData(f"grading scheme {p.scheme!r} is not one of {', '.join(SCHEMES)}",
                          errors=[FieldError("scheme", f"one of {', '.join(SCHEMES)}")])
    scheme_file = SCHEMES[p.scheme]
    for field, axis, value in (("source_grade", "source", p.source_grade),
                               ("information_grade", "information", p.information_grade)):
        allowed = _codes(registry, scheme_file, axis)
        if value not in allowed:
            problems.append(FieldError(field, f"{value!r} is not a {p.scheme} {axis} grade "
                                              f"({', '.join(sorted(allowed))})"))
    handling = _codes(registry, HANDLING, None)
    if p.scheme == "3x5x2":
        handling |= _codes(registry, scheme_file, "handling")
    if p.handling not in handling:
        problems.append(FieldError("handling", f"{p.handling!r} is not a handling code "
                                               f"({', '.join(sorted(handling))})"))
    if p.observed_on:
        try:
            dt.date.fromisoformat(p.observed_on)
        except ValueError:
            problems.append(FieldError("observed_on", f"{p.observed_on!r} is not a date "
                                                      "(YYYY-MM-DD)"))
    if not p.originator.strip() or len(p.originator) > 32:
        problems.append(FieldError("originator", "an agency code of 1-32 characters"))
    if len(p.source_record) > 300:
        problems.append(FieldError("source_record", "longer than 300 characters"))
    if problems:
        raise InvalidData("provenance is not valid", errors=problems)
    return p


def label(value: Any) -> str:
    """A compact provenance label for pages and exports, e.g. ``NL-POLICE B2 H1 2024-03-01``."""
    grade = f"{value.source_grade}{value.information_grade}"
    when = f" {value.observed_on}" if value.observed_on else ""
    return f"{value.originator} {grade} {value.handling}{when}"
