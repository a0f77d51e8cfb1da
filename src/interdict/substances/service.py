"""The substances library API: check one substance, screen many, browse the lists."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from rapidfuzz import process
from rdkit import Chem

from interdict.errors import FieldError, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.substances.chem import parse_molblock, parse_smiles, standardise
from interdict.substances.identifiers import cas_problem, normalise_name
from interdict.substances.index import IndexedEntry, SubstanceIndex, build_index
from interdict.substances.schemas import Basis, CheckQuery, Match, ScreenRow, Verdict
from interdict.substances.screening import entry_match, screen_mol, verdict_for_structure

_cache: dict[tuple[str, ...], SubstanceIndex] = {}
_lock = threading.Lock()
INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")


def get_index(registry: Registry) -> SubstanceIndex:
    """The index for the registry's current files (rebuilt when a file's checksum changes)."""
    key = tuple(f"{n}:{registry.get(n).checksum}" for n in registry.names())
    with _lock:  # one build at a time; concurrent first requests wait for it
        if key not in _cache:
            _cache.clear()
            _cache[key] = build_index(registry)
        return _cache[key]


def _entry_matches(items: list[IndexedEntry], basis: Basis, how: str) -> list[Match]:
    return [entry_match(i, basis, f"{how} {i.entry.name}, listed in {i.entry.schedule} of "
                             f"{i.info.title}.") for i in items]


def _controls(matches: list[Match]) -> bool:
    """Whether any match puts the substance under control (watch lists only flag it)."""
    return any(m.control != "monitoring" for m in matches)


def check(*, index: SubstanceIndex, query: CheckQuery) -> Verdict:
    """Resolve the query to a structure where possible and explain its control status."""
    kind, value = query.kind, query.value.strip()
    if kind == "smiles":
        s = standardise(parse_smiles(value), tautomer=False)
        return verdict_for_structure(index, s, input_text=value, input_kind=kind)
    if kind == "molblock":
        s = standardise(parse_molblock(query.value), tautomer=False)
        return verdict_for_structure(index, s, input_text="(MOL block)", input_kind=kind)
    if kind == "cas":
        problem = cas_problem(value)
        if problem:
            raise InvalidData(f"CAS number {value!r}: {problem}",
                              errors=[FieldError("cas", problem)])
        items = index.by_cas.get(value, [])
        extra = _entry_matches(items, Basis.cas, f"CAS {value} is")
    elif kind == "inchikey":
        key = value.upper()
        if not INCHIKEY.match(key):
            raise InvalidData(f"{value!r} is not an InChIKey",
                              errors=[FieldError("inchikey", "not in the form "
                                                 "XXXXXXXXXXXXXX-XXXXXXXXXX-X")])
        items = index.by_inchikey.get(key, [])
        if items:
            extra = _entry_matches(items, Basis.exact, f"InChIKey {key} is")
        else:
            # Same skeleton, other stereo: the exact structure is unknown, so report the
            # skeleton matches and do not screen a listed structure in its place.
            skeleton = index.by_connectivity.get(key.split("-")[0], [])
            extra = _entry_matches(skeleton, Basis.stereoisomer,
                                   f"InChIKey {key} has the skeleton (first block) of")
            extra = [m for m, i in zip(extra, skeleton, strict=True)
                     if i.info.includes_stereoisomers]
            return Verdict(input=value, input_kind=kind, parent_smiles=None, inchikey=key,
                           formula=None, controlled=_controls(extra),
                           watch=bool(extra) and not _controls(extra), matches=extra,
                           similar=[], reference_versions=dict(index.versions))
    else:
        items = index.by_name.get(normalise_name(value), [])
        extra = _entry_matches(items, Basis.name, "Named")
    structured = next((i for i in items if i.structure is not None), None)
    if structured is not None and structured.structure is not None:
        verdict = verdict_for_structure(index, structured.structure, input_text=value,
                                        input_kind=kind)
        known = {(m.list, m.substance) for m in verdict.matches}
        verdict.matches = [m for m in extra if (m.list, m.substance) not in known] \
            + verdict.matches
        verdict.controlled = verdict.controlled or _controls(extra)
        verdict.watch = verdict.watch and not verdict.controlled
        return verdict
    suggestions: list[str] = []
    if not items and kind == "name":
        found = process.extract(normalise_name(value), list(index.names), limit=5,
                                score_cutoff=70)
        suggestions = [index.names[k] for k, _score, _i in found]
    return Verdict(input=value, input_kind=kind, parent_smiles=None, inchikey=None,
                   formula=None, controlled=_controls(extra),
                   watch=bool(extra) and not _controls(extra), matches=extra,
                   similar=[], suggestions=suggestions,
                   reference_versions=dict(index.versions))


def screen(*, index: SubstanceIndex, rows: Iterable[tuple[int, str | None, str]],
           tautomer: bool = False) -> Iterator[ScreenRow]:
    """Screen (row number, SMILES or None, label) tuples; a bad row yields an error row.

    Never stops on one bad row. Batch screening skips tautomer canonicalisation for speed
    (see ``chem.py``).
    """
    for row, smiles, label in rows:
        if smiles is None:
            yield ScreenRow(row=row, error=label)
            continue
        try:
            mol = parse_smiles(smiles)
            yield ScreenRow(row=row, verdict=screen_mol(index, mol, input_text=label or smiles,
                                                        tautomer=tautomer,
                                                        single="." not in smiles))
        except InvalidData as exc:
            yield ScreenRow(row=row, error=exc.detail)


def read_structures(path: str) -> Iterator[tuple[int, str | None, str]]:
    """Rows of a .smi, .csv (column smiles) or .sdf file as (row, SMILES or None, label)."""
    import csv

    if path.lower().endswith(".sdf"):
        try:
            supplier = Chem.SDMolSupplier(path, sanitize=True)
        except OSError as exc:
            yield 1, None, f"file cannot be read as SDF: {exc}"
            return
        for i, mol in enumerate(supplier, start=1):
            if mol is None:
                yield i, None, f"record {i}: MOL block cannot be read"
            else:
                label = mol.GetProp("_Name") if mol.HasProp("_Name") else f"record {i}"
                yield i, Chem.MolToSmiles(mol), label
        return
    # Undecodable bytes become U+FFFD: the row then fails to parse and is reported, instead of
    # one bad byte stopping the whole file.
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        if path.lower().endswith(".csv"):
            reader = csv.DictReader(fh)
            fields = {f.strip().lower(): f for f in reader.fieldnames or []}
            if "smiles" not in fields:
                raise InvalidData(f"{path}: a CSV needs a 'smiles' column",
                                  errors=[FieldError("smiles", "column missing")])
            name_col = fields.get("name") or fields.get("compound")
            for i, rec in enumerate(reader, start=2):
                smi = (rec.get(fields["smiles"]) or "").strip()
                label = (rec.get(name_col) or "") if name_col else smi
                yield (i, smi, label) if smi else (i, None, f"line {i}: empty smiles")
        else:
            for i, line in enumerate(fh, start=1):
                parts = line.strip().split(maxsplit=1)
                if parts:
                    yield i, parts[0], parts[1] if len(parts) > 1 else parts[0]


def list_summaries(*, index: SubstanceIndex) -> list[dict[str, Any]]:
    out = []
    for name, info in sorted(index.lists.items()):
        n = sum(1 for e in index.entries if e.info.name == name)
        out.append({"name": name, "id": info.id, "title": info.title, "version": info.version,
                    "jurisdiction": info.jurisdiction, "kind": info.kind_of_control,
                    "entries": n, "checksum": info.checksum})
    return out


def list_entries(*, index: SubstanceIndex, list_name: str) -> list[dict[str, Any]]:
    if list_name not in index.lists:
        raise NotFound(f"no substance list {list_name!r}")
    return [{"name": e.entry.name, "schedule": e.entry.schedule, "cas": e.entry.cas,
             "smiles": e.entry.smiles, "synonyms": e.entry.synonyms,
             "hs_codes": e.entry.hs_codes, "code": e.entry.code, "notes": e.entry.notes}
            for e in index.entries if e.info.name == list_name]


def identifier_problem(*, cas: str) -> str | None:
    """Why a CAS number is malformed (None when it is well formed), for other domains that
    store identifiers they did not type themselves."""
    return cas_problem(cas)


def precursor_hs_codes(*, index: SubstanceIndex) -> dict[str, list[dict[str, str]]]:
    """HS6 code -> the precursors and watch-listed chemicals classified under it, each with
    its list and schedule (category or table), for the caller to choose from.

    Customs targeting screens declarations by tariff code, not by structure: this is the
    bridge from the precursor lists (CN/HS codes written ``NNNN.NN.NN``) to HS6 codes.
    """
    out: dict[str, dict[tuple[str, str, str], None]] = {}
    for item in index.entries:
        if item.info.kind_of_control not in ("precursor", "monitoring"):
            continue
        for code in item.entry.hs_codes:
            digits = code.replace(".", "").replace(" ", "")
            if len(digits) >= 6 and digits[:6].isdigit():
                out.setdefault(digits[:6], {})[(item.entry.name, item.info.name,
                                                str(item.entry.schedule))] = None
    return {code: [{"name": n, "list": lst, "schedule": sch} for n, lst, sch in found]
            for code, found in sorted(out.items())}
