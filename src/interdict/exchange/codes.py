"""Handling codes and grading as the reference files define them, and what they allow.

The exchange enforces two properties of a handling code: ``onward_sharing`` (may a recipient
pass the item on without the originator's permission: not for H2, H3, TLP:RED and
TLP:AMBER+STRICT) and ``court_use`` (H1: not for use in judicial proceedings). Both come from
``platform/handling_codes.yaml``, so an agency checking the rules reads them there.
"""

from __future__ import annotations

from dataclasses import dataclass

from interdict.errors import FieldError, InvalidData
from interdict.reference.registry import Registry
from interdict.reference.specs import CodeList

HANDLING = "platform/handling_codes"
SCHEMES = {"4x4": "platform/source_grading", "3x5x2": "platform/grading_3x5x2"}


@dataclass(frozen=True)
class Handling:
    code: str
    label: str
    onward_sharing: bool
    court_use: bool


def _list(registry: Registry, name: str) -> CodeList:
    content = registry.get(name).content
    assert isinstance(content, CodeList)
    return content


def handling(registry: Registry, code: str, field: str = "handling") -> Handling:
    """The handling code's rules, or InvalidData naming ``field``."""
    for e in _list(registry, HANDLING).entries:
        if e.code == code:
            return Handling(e.code, e.label, bool(e.onward_sharing),
                            e.court_use is not False)
    known = ", ".join(e.code for e in _list(registry, HANDLING).entries)
    raise InvalidData(f"unknown handling code {code!r}",
                      errors=[FieldError(field, f"{code!r} is not one of {known}")])


def grading(registry: Registry, value: dict[str, str] | None, field: str = "grading"
            ) -> dict[str, str]:
    """A grading ``{"scheme", "source", "information"}`` checked against its scheme
    (4x4: source A-C or X, information 1-4; 3x5x2: source 1-3 and information A-E)."""
    if not value:
        return {"scheme": "4x4", "source": "X", "information": "4"}
    scheme = value.get("scheme", "4x4")
    if scheme not in SCHEMES:
        raise InvalidData("unknown grading scheme", errors=[
            FieldError(f"{field}.scheme", f"one of {', '.join(SCHEMES)}")])
    entries = _list(registry, SCHEMES[scheme]).entries
    problems = []
    out = {"scheme": scheme}
    for axis in ("source", "information"):
        allowed = {e.code for e in entries if e.axis == axis}
        given = str(value.get(axis, ""))
        if given not in allowed:
            problems.append(FieldError(f"{field}.{axis}", f"{given!r} is not a {scheme} "
                                       f"{axis} grade ({', '.join(sorted(allowed))})"))
        out[axis] = given
    extra = sorted(set(value) - {"scheme", "source", "information"})
    problems += [FieldError(f"{field}.{k}", "not part of a grading") for k in extra]
    if problems:
        raise InvalidData("grading is not valid", errors=problems)
    return out
