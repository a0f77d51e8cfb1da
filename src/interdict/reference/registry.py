"""Find, load and validate reference files; expose each with its version and checksum.

Shipped files live in ``reference/data/``. ``INTERDICT_REFERENCE_PATH`` names a directory whose
files override shipped files with the same relative path (a national or restricted list, such
as the confidential EU voluntary monitoring list) or add new ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from interdict.errors import FieldError, InvalidData, NotFound
from interdict.reference.specs import Meta, spec_for

SHIPPED = Path(__file__).parent / "data"


@dataclass(frozen=True)
class ReferenceFile:
    name: str  # relative path without suffix, e.g. "platform/handling_codes"
    path: Path
    meta: Meta
    checksum: str  # sha256 of the file's bytes
    overridden: bool
    content: BaseModel

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.meta.id, "kind": self.meta.kind,
                "version": self.meta.version, "checksum": self.checksum,
                "source": self.meta.source, "licence": self.meta.licence,
                "path": str(self.path), "overridden": self.overridden}


def _errors_from(exc: ValidationError) -> list[FieldError]:
    return [FieldError(".".join(str(p) for p in e["loc"]) or "(file)", e["msg"])
            for e in exc.errors()]


def load_file(path: Path, *, name: str, overridden: bool = False) -> ReferenceFile:
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "unknown line"
        raise InvalidData(f"{path}: not valid YAML at {where}: {exc}",
                          errors=[FieldError("(file)", f"YAML syntax error at {where}")]) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("meta"), dict):
        raise InvalidData(f"{path}: a reference file must be a mapping with a meta block",
                          errors=[FieldError("meta", "missing")])
    kind = doc["meta"].get("kind")
    spec = spec_for(str(kind))
    if spec is None:
        raise InvalidData(f"{path}: unknown reference kind {kind!r}",
                          errors=[FieldError("meta.kind", f"unknown kind {kind!r}")])
    try:
        content = spec.model_validate(doc)
    except ValidationError as exc:
        errors = _errors_from(exc)
        first = errors[0]
        raise InvalidData(f"{path}: {first.field}: {first.reason}", errors=errors) from exc
    meta = Meta.model_validate(doc["meta"])
    return ReferenceFile(name=name, path=path, meta=meta,
                         checksum=hashlib.sha256(raw).hexdigest(), overridden=overridden,
                         content=content)


class Registry:
    """All reference files visible under the shipped directory and the override directory."""

    def __init__(self, override: Path | None = None, shipped: Path = SHIPPED) -> None:
        self.shipped = shipped
        self.override = override
        self._cache: dict[str, ReferenceFile] = {}

    def _paths(self) -> dict[str, tuple[Path, bool]]:
        found: dict[str, tuple[Path, bool]] = {}
        for base, overridden in ((self.shipped, False), (self.override, True)):
            if base is None:
                continue
            if not base.is_dir():
                raise InvalidData(
                    f"reference directory {base} does not exist",
                    errors=[FieldError("INTERDICT_REFERENCE_PATH", "not a directory")])
            for path in sorted(base.rglob("*.yaml")):
                name = path.relative_to(base).with_suffix("").as_posix()
                found[name] = (path, overridden)
        return found

    def names(self) -> list[str]:
        return sorted(self._paths())

    def get(self, name: str) -> ReferenceFile:
        if name not in self._cache:
            paths = self._paths()
            if name not in paths:
                raise NotFound(f"no reference file {name!r}")
            path, overridden = paths[name]
            self._cache[name] = load_file(path, name=name, overridden=overridden)
        return self._cache[name]

    def check_all(self) -> tuple[list[ReferenceFile], list[tuple[str, InvalidData]]]:
        """Load every file; returns the good ones and the problems, without stopping early."""
        good: list[ReferenceFile] = []
        bad: list[tuple[str, InvalidData]] = []
        for name, (path, overridden) in self._paths().items():
            try:
                good.append(load_file(path, name=name, overridden=overridden))
            except InvalidData as exc:
                bad.append((name, exc))
        return good, bad
