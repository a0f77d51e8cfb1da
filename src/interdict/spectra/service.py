"""The spectra library API: build libraries, identify a spectrum, tie results to control status.

Libraries belong to an agency (shared read-only through the platform's record shares). A
search runs against an in-memory matrix built from the stored spectra once per library
version (``_library``); identifying a spectrum stores the whole result with the library version
it used, asks ``substances`` for the control status of every candidate, and puts an alert on the
queue when a controlled substance is identified with confidence.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.audit.events import AuditAction
from interdict.audit.service import record as audit
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.auth.scoping import visible_to
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.spectra.formats import SpectrumFormatError, read_spectra
from interdict.spectra.mixture import unmix
from interdict.spectra.models import Identification, LibrarySpectrum, SpectralLibrary
from interdict.spectra.processing import (
    VibrationalOptions,
    coverage,
    default_options,
    process,
)
from interdict.spectra.schemas import (
    Candidate,
    Confidence,
    ControlStatus,
    IdentificationOut,
    ImportReport,
    LibraryEntryOut,
    LibraryOut,
    MixtureComponentOut,
    MixtureOut,
)
from interdict.spectra.search import Library, Metric, query_vector, search
from interdict.spectra.spectrum import Spectrum, Technique
from interdict.substances.schemas import CheckQuery
from interdict.substances.service import check as check_substance
from interdict.substances.service import get_index as substance_index
from interdict.substances.service import identifier_problem

RESOURCE = "spectra.library"
SEARCHABLE = (Technique.RAMAN, Technique.IR, Technique.MS)
#: How each metric's score is defined, shown with every result (see ``search.py``).
METRIC_DEFINITIONS = {
    Metric.CORRELATION: "hit quality index r² (squared Pearson correlation of the processed "
                        "spectra; negative correlation scores 0)",
    Metric.EUCLIDEAN: "1 - d/2, d the Euclidean distance between unit-length spectra",
    Metric.DERIVATIVE: "r² between the first derivatives (Savitzky-Golay, 9 points)",
    Metric.COSINE: "cosine of square-root abundances",
    Metric.WEIGHTED_DOT: "cosine of abundance^0.6 x (m/z)^3 (Stein & Scott 1994)",
    Metric.ENTROPY: "weighted spectral entropy similarity (Li et al. 2021)",
}
#: Scores at which an identification is called high / medium / low confidence.
HIGH, MEDIUM, LOW = 0.95, 0.85, 0.60
#: A high-confidence hit must also beat the best other substance by this much.
HIGH_MARGIN = 0.02
#: Hits searched (at least) so that confidence sees the best other substance.
CONFIDENCE_DEPTH = 10
PLOT_SERIES = 3


# --- libraries ---------------------------------------------------------------------------


def _visible_libraries(actor: Actor) -> Select[SpectralLibrary]:
    return select(SpectralLibrary).where(visible_to(
        actor, agency_column=SpectralLibrary.agency_id, id_column=SpectralLibrary.id,
        resource_type=RESOURCE))


def list_libraries(session: Session, *, actor: Actor) -> list[LibraryOut]:
    actor.require(Permission.spectra_identify)
    rows = session.scalars(_visible_libraries(actor).order_by(SpectralLibrary.name))
    return [LibraryOut.model_validate(r) for r in rows]


def get_library(session: Session, *, actor: Actor, name: str) -> SpectralLibrary:
    """A library the actor may see, by name (its own agency's first)."""
    actor.require(Permission.spectra_identify)
    rows = list(session.scalars(_visible_libraries(actor).where(SpectralLibrary.name == name)))
    if not rows:
        raise NotFound(f"no spectral library {name!r}")
    return next((r for r in rows if r.agency_id == actor.agency_id), rows[0])


def library_entries(session: Session, *, actor: Actor, name: str) -> list[LibraryEntryOut]:
    lib = get_library(session, actor=actor, name=name)
    rows = session.scalars(select(LibrarySpectrum).where(LibrarySpectrum.library_id == lib.id)
                           .order_by(LibrarySpectrum.name))
    return [LibraryEntryOut.model_validate(r) for r in rows]


@dataclass(frozen=True)
class Identifiers:
    """What an import names a spectrum as; anything missing is read from the file's header."""

    name: str | None = None
    cas: str | None = None
    smiles: str | None = None
    inchikey: str | None = None


INDEX_FILE = "index.csv"


def read_index(text: str) -> dict[str, Identifiers]:
    """An import folder's ``index.csv``: file,name,cas,smiles,inchikey (only ``file`` needed)."""
    reader = csv.DictReader(io.StringIO(text))
    if "file" not in (reader.fieldnames or []):
        raise InvalidData(f"{INDEX_FILE} needs a 'file' column",
                          errors=[FieldError(INDEX_FILE, "column 'file' missing")])
    return {row["file"]: Identifiers(
        name=row.get("name") or None, cas=row.get("cas") or None,
        smiles=row.get("smiles") or None, inchikey=row.get("inchikey") or None)
        for row in reader if row.get("file")}


def read_folder(folder: Path) -> tuple[list[tuple[str, bytes]], dict[str, Identifiers]]:
    """Every spectrum file under ``folder`` (names relative to it) and its ``index.csv``."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != INDEX_FILE
                   and not p.name.startswith(".") and p.suffix.lower() != ".md")
    index = folder / INDEX_FILE
    identifiers = read_index(index.read_text(encoding="utf-8-sig")) if index.exists() else {}
    return [(str(p.relative_to(folder)), p.read_bytes()) for p in paths], identifiers


# Header labels that carry identifiers, per format (keys compared case-insensitively).
_NAME_KEYS = ("name", "title", "names", "##names", "##title")
_CAS_KEYS = ("cas#", "cas", "cas registry no", "casno", "cas_number")
_INCHIKEY_KEYS = ("inchikey", "inchi key")
_SMILES_KEYS = ("smiles",)
_RI_KEYS = ("retentionindex", "retention_index", "ri")


def _header(metadata: Mapping[str, str], keys: Sequence[str]) -> str | None:
    lowered = {k.lower().strip(): v for k, v in metadata.items()}
    for key in keys:
        value = lowered.get(key)
        if value and value.strip():
            return value.strip()
    return None


def _checksum(spectrum: Spectrum) -> str:
    """Of the data only: the same measurement under another file or entry name is the same
    library entry."""
    digest = hashlib.sha256()
    digest.update(spectrum.x.astype("<f8").tobytes())
    digest.update(spectrum.y.astype("<f8").tobytes())
    return digest.hexdigest()


_INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")


def _clean_identifiers(cas: str | None, smiles: str | None, inchikey: str | None
                       ) -> tuple[str | None, str | None, str | None, list[str]]:
    """Identifiers from a library file, kept only when well formed.

    Headers in the wild hold "50-36-2; 53-21-4 (hydrochloride)" or "InChIKey=..."; a value
    that is not one valid identifier is set aside (and noted on the entry) rather than stored
    where a check would choke on it.
    """
    ignored = []
    key = (inchikey or "").strip().upper().removeprefix("INCHIKEY=") or None
    if key and not _INCHIKEY.match(key):
        ignored.append(f"InChIKey {inchikey}")
        key = None
    number = (cas or "").strip() or None
    if number and identifier_problem(cas=number):
        ignored.append(f"CAS {cas}")
        number = None
    structure = (smiles or "").strip() or None
    if structure and len(structure) > 1000:
        ignored.append("SMILES longer than 1,000 characters")
        structure = None
    return number, structure, key, ignored


def _retention_index(metadata: Mapping[str, str]) -> float | None:
    text = _header(metadata, _RI_KEYS)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def import_library(session: Session, *, actor: Actor, name: str,
                   files: Sequence[tuple[str, bytes]], technique: Technique | None = None,
                   description: str = "",
                   identifiers: Mapping[str, Identifiers] | None = None) -> ImportReport:
    """Add the spectra in ``files`` to the agency's library ``name`` (created if new).

    All or nothing: every file is parsed first and any unreadable file, unsupported technique
    or mixed techniques fail the whole import with each problem named, before anything is
    written. Idempotent: a spectrum already in the library (same name and data) is skipped;
    the version increases only when something was added.
    """
    actor.require(Permission.spectra_manage)
    if not name.strip() or len(name) > 120 or "/" in name:
        raise InvalidData("library name must be 1-120 characters without '/'",
                          errors=[FieldError("name", "1-120 characters, no '/'")])
    if not files:
        raise InvalidData("no files to import", errors=[FieldError("files", "empty")])
    problems: list[FieldError] = []
    parsed: list[tuple[str, Spectrum]] = []
    given = identifiers or {}
    for filename, data in files:
        try:
            spectra = read_spectra(data, filename, technique=technique)
        except SpectrumFormatError as exc:
            problems.append(FieldError(filename, exc.detail))
            continue
        if filename in given and len(spectra) > 1:
            problems.append(FieldError(filename, f"{INDEX_FILE} names one substance but the file "
                                       f"holds {len(spectra)} spectra"))
        parsed += [(filename, s) for s in spectra]
    # Lock the library row: two concurrent imports must not both claim the next version.
    library = session.scalar(select(SpectralLibrary).where(
        SpectralLibrary.agency_id == actor.agency_id, SpectralLibrary.name == name)
        .with_for_update())
    kinds = {s.technique for _f, s in parsed}
    if library is not None:
        kinds.add(Technique(library.technique))
    if any(k not in SEARCHABLE for k in kinds):
        problems.append(FieldError("technique", "the files do not say whether they are Raman, IR "
                                   "or MS spectra; give the technique"))
    elif len(kinds) > 1:
        problems.append(FieldError("technique", "a library holds one technique; these files "
                                   f"hold {', '.join(sorted(k.value for k in kinds))}"))
    if not problems:
        # A spectrum the search pipeline cannot process (outside the axis, one point, values
        # that overflow) would break every later search of the library: refuse it now.
        technique_used = next(iter(kinds))
        for filename, spectrum in parsed:
            try:
                process(spectrum, default_options(technique_used))
            except ValueError as exc:
                problems.append(FieldError(filename, f"{spectrum.name or 'spectrum'}: cannot be "
                                           f"searched as {technique_used.value}: {exc}"))
    if problems:
        raise InvalidData(f"library import refused ({len(problems)} problem"
                          f"{'s' if len(problems) > 1 else ''}); nothing was imported",
                          errors=problems)
    if library is None:
        library = SpectralLibrary(agency_id=actor.agency_id, name=name,
                                  technique=kinds.pop().value, description=description,
                                  version=0, entry_count=0)
        session.add(library)
        session.flush()
    existing = set(session.scalars(select(LibrarySpectrum.checksum)
                                   .where(LibrarySpectrum.library_id == library.id)))
    added = 0
    new_version = library.version + 1
    for filename, spectrum in parsed:
        ids = given.get(filename, Identifiers())
        entry_name = (ids.name or _header(spectrum.metadata, _NAME_KEYS) or spectrum.name
                      or filename)[:300]
        checksum = _checksum(spectrum)
        if checksum in existing:
            continue  # the same spectrum, under this or another name, is already held
        existing.add(checksum)
        cas, smiles, inchikey, ignored = _clean_identifiers(
            ids.cas or _header(spectrum.metadata, _CAS_KEYS),
            ids.smiles or _header(spectrum.metadata, _SMILES_KEYS),
            ids.inchikey or _header(spectrum.metadata, _INCHIKEY_KEYS))
        metadata = {k: str(v)[:500] for k, v in list(spectrum.metadata.items())[:100]}
        if ignored:
            metadata["ignored identifiers"] = "; ".join(ignored)[:500]
        session.add(LibrarySpectrum(
            library_id=library.id, name=entry_name, cas=cas, smiles=smiles, inchikey=inchikey,
            retention_index=_retention_index(spectrum.metadata),
            x=spectrum.x.astype("<f8").tobytes(), y=spectrum.y.astype("<f8").tobytes(),
            points=int(spectrum.x.size), x_units=spectrum.x_units[:40],
            y_units=spectrum.y_units[:40], source_file=filename[:500], checksum=checksum,
            file_metadata=metadata, added_in_version=new_version))
        added += 1
    if added:
        library.version = new_version
        library.entry_count += added
        library.updated_at = utcnow()
    session.flush()
    audit(session, actor=actor, action=AuditAction.record_changed, resource_type=RESOURCE,
          resource_id=library.id, details={"library": name, "added": added,
                                           "already_present": len(parsed) - added,
                                           "version": library.version})
    return ImportReport(library=LibraryOut.model_validate(library), added=added,
                        already_present=len(parsed) - added, files=len(files))


# --- in-memory search matrices -----------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    library: Library
    entries: dict[int, LibrarySpectrum]  # detached copies of the rows' identifiers


_cache: dict[tuple[str, int, int, str], _Loaded] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def _library(session: Session, lib: SpectralLibrary) -> _Loaded:
    """The library's search matrix, built once per version (and per database)."""
    key = (str(session.get_bind().engine.url), lib.id, lib.version, lib.updated_at.isoformat())
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    rows = list(session.scalars(select(LibrarySpectrum)
                                .where(LibrarySpectrum.library_id == lib.id)
                                .order_by(LibrarySpectrum.id)))
    if not rows:
        raise InvalidData(f"library {lib.name!r} is empty; import spectra first",
                          errors=[FieldError("library", "empty")])
    technique = Technique(lib.technique)
    spectra = [Spectrum(np.frombuffer(r.x, dtype="<f8"), np.frombuffer(r.y, dtype="<f8"),
                        technique, name=r.name) for r in rows]
    ri = [r.retention_index if r.retention_index is not None else float("nan") for r in rows]
    try:
        built = Library.from_spectra(spectra, default_options(technique),
                                     ids=[str(r.id) for r in rows],
                                     retention_index=ri if technique is Technique.MS else None)
    except ValueError as exc:  # a spectrum stored before imports checked processability
        raise InvalidData(f"library {lib.name!r} holds a spectrum that cannot be searched: "
                          f"{exc}", errors=[FieldError("library", str(exc))]) from exc
    for r in rows:
        session.expunge(r)
    loaded = _Loaded(library=built, entries={r.id: r for r in rows})
    with _cache_lock:
        for old in [k for k in _cache if k[:2] == key[:2]]:
            del _cache[old]  # an earlier version of the same library: never served again
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = loaded
    return loaded


# --- control status ------------------------------------------------------------------------


#: Salt and form words a library entry's name may carry ("Cocaine HCl", "Fentanyl citrate");
#: the lists name the base and cover its salts.
_SALT_WORDS = re.compile(
    r"\b(hcl|hbr|hydrochloride|hydrobromide|sulfate|sulphate|citrate|tartrate|bitartrate|"
    r"fumarate|maleate|oxalate|phosphate|mesylate|acetate|base|free base|salt|monohydrate|"
    r"dihydrate|hydrate)\b", re.IGNORECASE)


def _queries(entry: LibrarySpectrum) -> list[tuple[str, str]]:
    names = [entry.name]
    bare = " ".join(_SALT_WORDS.sub(" ", entry.name).replace("(", " ").replace(")", " ").split())
    if bare and bare.lower() != entry.name.lower():
        names.append(bare)
    return [(k, v) for k, v in [("inchikey", entry.inchikey), ("smiles", entry.smiles),
                                ("cas", entry.cas)] if v] + [("name", n) for n in names]


def control_status(registry: Registry, entry: LibrarySpectrum) -> ControlStatus | None:
    """What ``substances`` says of a library entry, by its best identifier; None if unknown.

    ``screened`` is True only when a structure was actually screened (a SMILES that parsed):
    an entry known by unlisted identifiers alone may still be a class member.
    """
    index = substance_index(registry)
    screened = False
    for kind, value in _queries(entry):
        try:
            verdict = check_substance(index=index, query=CheckQuery.model_validate({kind: value}))
        except (InvalidData, ValidationError):
            continue  # a malformed identifier in a library file: try the next one
        screened = screened or (kind == "smiles" and verdict.parent_smiles is not None)
        if not verdict.matches:
            continue  # e.g. an InChIKey no list holds: the name may still be listed
        first = verdict.matches[0]
        return ControlStatus(controlled=verdict.controlled, watch=verdict.watch,
                             summary=f"{first.list_title}: {first.schedule} "
                                     f"({first.basis.value})",
                             matches=[{"list": m.list, "schedule": m.schedule,
                                       "substance": m.substance, "basis": m.basis.value}
                                      for m in verdict.matches[:5]])
    if screened:
        return ControlStatus(controlled=False, watch=False, summary="")
    return ControlStatus(controlled=False, watch=False, screened=False,
                         summary="identifiers on no list; no structure to screen for class "
                                 "membership")


# --- identification ------------------------------------------------------------------------


def _choose_library(session: Session, actor: Actor, name: str | None,
                    technique: Technique) -> SpectralLibrary:
    if name:
        return get_library(session, actor=actor, name=name)
    if technique not in SEARCHABLE:
        raise InvalidData("the file does not say whether it is a Raman, IR or mass spectrum; "
                          "choose a library (or the technique)",
                          errors=[FieldError("library", "needed: technique unknown")])
    rows = list(session.scalars(_visible_libraries(actor).where(
        SpectralLibrary.technique == technique.value).order_by(
        SpectralLibrary.entry_count.desc(), SpectralLibrary.name)))
    if not rows:
        raise InvalidData(f"no {technique.value} library to search; import one first "
                          "(interdict spectra library import)",
                          errors=[FieldError("library", f"no {technique.value} library")])
    return rows[0]


def _confidence(hits: list[Candidate]) -> tuple[Confidence, str]:
    if not hits:
        return Confidence.none, "no candidate"
    best = hits[0]
    other = next((h for h in hits[1:] if h.name.lower() != best.name.lower()), None)
    margin = best.score - (other.score if other else 0.0)
    if best.score >= HIGH and margin >= HIGH_MARGIN:
        return Confidence.high, (f"score {best.score:.3f} >= {HIGH} and {margin:.3f} above the "
                                 "next substance")
    if best.score >= MEDIUM:
        why = f"score {best.score:.3f} >= {MEDIUM}"
        if best.score >= HIGH:
            why += f", but only {margin:.3f} above {other.name if other else 'the next'}"
        return Confidence.medium, why
    if best.score >= LOW:
        return Confidence.low, f"score {best.score:.3f} between {LOW} and {MEDIUM}"
    return Confidence.none, f"best score {best.score:.3f} below {LOW}: no identification"


def _plot(loaded: _Loaded, query: Spectrum, hits: list[Candidate], label: str) -> dict[str, Any]:
    """Processed query and best hits on the library's axis, thinned to at most 1,500 points."""
    lib = loaded.library
    vector = query_vector(query, lib)
    if isinstance(lib.options, VibrationalOptions):
        axis = lib.options.grid()
        keep = np.flatnonzero(coverage(query, lib.options))  # where the query was measured
    else:
        axis = np.arange(vector.size, dtype=np.float64)
        keep = np.flatnonzero(vector > 0)
    if keep.size:
        window = slice(int(keep[0]), int(keep[-1]) + 1)
        axis, vector = axis[window], vector[window]
    else:
        window = slice(None)
    step = max(1, axis.size // 1500)
    rows = {str(e): i for i, e in enumerate(lib.ids)}
    series = [{"name": f"query: {query.name or label}", "y": np.round(vector[::step], 5).tolist()}]
    for hit in hits[:PLOT_SERIES]:
        row = lib.matrix[rows[str(hit.entry_id)]][window]
        series.append({"name": hit.name, "y": np.round(row[::step].astype(float), 5).tolist()})
    return {"x": np.round(axis[::step], 3).tolist(), "series": series,
            "kind": "mass" if lib.is_mass else "vibrational"}


def identify(session: Session, *, actor: Actor, registry: Registry, data: bytes, filename: str,
             library: str | None = None, technique: Technique | None = None,
             metric: Metric | None = None, top: int = 10, case_reference: str = "",
             mixture: bool = True) -> IdentificationOut:
    """Rank library spectra against the (first) spectrum in the file; unmix Raman/IR spectra.

    Every candidate and mixture component carries its control status. The result is stored
    with the library version and audited; a controlled substance identified with high or
    medium confidence also goes on the alert queue.
    """
    actor.require(Permission.spectra_identify)
    if not 1 <= top <= 50:
        raise InvalidData("top must be 1-50", errors=[FieldError("top", "1-50")])
    spectra = read_spectra(data, filename, technique=technique)
    query = spectra[0]
    lib_row = _choose_library(session, actor, library, query.technique)
    lib_technique = Technique(lib_row.technique)
    if query.technique is Technique.OTHER:
        query = Spectrum(query.x, query.y, lib_technique, name=query.name,
                         x_units=query.x_units, y_units=query.y_units, metadata=query.metadata)
    elif query.technique is not lib_technique:
        raise InvalidData(f"{filename} is a {query.technique.value} spectrum but library "
                          f"{lib_row.name!r} holds {lib_technique.value} spectra",
                          errors=[FieldError("library", "technique differs from the file's")])
    loaded = _library(session, lib_row)
    chosen = metric or loaded.library.default_metric
    try:
        # Confidence needs the best *other* substance even when fewer hits are shown.
        found = search(query, loaded.library, chosen, top=max(top, CONFIDENCE_DEPTH))
        result = unmix(query, loaded.library) if mixture and not loaded.library.is_mass \
            else None
    except ValueError as exc:  # e.g. no overlap between the file's axis and the library's
        raise InvalidData(f"{filename}: {exc}", errors=[FieldError("file", str(exc))]) from exc
    status_cache: dict[int, ControlStatus | None] = {}

    def status(entry_id: int) -> ControlStatus | None:
        if entry_id not in status_cache:
            status_cache[entry_id] = control_status(registry, loaded.entries[entry_id])
        return status_cache[entry_id]

    ranked = [Candidate(rank=h.rank, entry_id=int(h.id), name=h.name,
                        score=round(h.score, 4), library=lib_row.name,
                        cas=loaded.entries[int(h.id)].cas,
                        inchikey=loaded.entries[int(h.id)].inchikey,
                        control=status(int(h.id))) for h in found.hits]
    candidates = ranked[:top]
    mix: MixtureOut | None = None
    if result is not None:
        mix = MixtureOut(
            components=[MixtureComponentOut(entry_id=int(c.id), name=c.name,
                                            fraction=round(c.fraction, 4),
                                            control=status(int(c.id)))
                        for c in result.components],
            residual_norm=round(result.residual_norm, 6),
            explained_variance=round(result.explained_variance, 4), method=result.method)
    confidence, reason = _confidence(ranked)
    # Candidates scoring as well as the best (within the margin a high confidence needs) are
    # equally the answer: if any of them is controlled, so is the finding.
    tied = [c for c in ranked if ranked and ranked[0].score - c.score < HIGH_MARGIN]
    controlled = any(c.control and c.control.controlled for c in tied) or any(
        c.control and c.control.controlled for c in (mix.components if mix else []))
    row = Identification(
        agency_id=actor.agency_id, user_id=actor.user_id, filename=filename[:300],
        checksum=hashlib.sha256(data).hexdigest(), technique=lib_technique.value,
        library_id=lib_row.id, library_version=lib_row.version,
        case_reference=case_reference[:120], best_name=candidates[0].name if candidates else "",
        best_score=candidates[0].score if candidates else None, controlled=controlled)
    session.add(row)
    session.flush()
    out = IdentificationOut(
        id=row.id, filename=row.filename, technique=row.technique, library=lib_row.name,
        library_version=lib_row.version, metric=chosen.value,
        metric_definition=METRIC_DEFINITIONS[chosen], confidence=confidence,
        confidence_reason=reason, candidates=candidates, mixture=mix, controlled=controlled,
        case_reference=row.case_reference, spectra_in_file=len(spectra),
        processing=found.processing, created_at=utcnow(),
        plot=_plot(loaded, query, candidates, filename))
    row.result = out.model_dump(mode="json")
    row.created_at = out.created_at
    audit(session, actor=actor, action=AuditAction.record_created,
          resource_type="spectra.identification", resource_id=row.id,
          details={"file": row.filename, "library": lib_row.name,
                   "library_version": lib_row.version, "best": row.best_name,
                   "score": row.best_score, "controlled": controlled})
    if controlled and confidence in (Confidence.high, Confidence.medium) \
            and actor.can(Permission.alerts_create):
        _raise_alert(session, actor, out)
    return out


def _raise_alert(session: Session, actor: Actor, out: IdentificationOut) -> None:
    best = out.candidates[0].score if out.candidates else 0.0
    found = [(c.name, c.control) for c in out.candidates if best - c.score < HIGH_MARGIN] + [
        (c.name, c.control) for c in (out.mixture.components if out.mixture else [])]
    controlled = [(n, c) for n, c in found if c and c.controlled]
    names = ", ".join(dict.fromkeys(n for n, _c in controlled))
    alerts.raise_alert(session, actor=actor, data=AlertCreate(
        source="spectra", kind="identification.controlled",
        title=f"{out.filename}: {names} identified ({out.confidence.value} confidence)"[:300],
        severity=Severity.high if out.confidence is Confidence.high else Severity.medium,
        score=max(0.0, min(1.0, out.candidates[0].score)) if out.candidates else None,
        reasons=[Reason(rule=f"spectra:{out.metric}", contribution=1.0,
                        values={"substance": n, "status": c.summary if c else ""},
                        detail=f"{out.metric_definition}; {out.confidence_reason}")
                 for n, c in controlled[:5]],
        subjects=[SubjectRef(type="spectra.identification", id=str(out.id),
                             label=out.case_reference or out.filename)],
        dedup_key=f"spectra-identification-{out.id}"))


def get_identification(session: Session, *, actor: Actor, identification_id: int
                       ) -> dict[str, Any]:
    actor.require(Permission.spectra_identify)
    row = session.get(Identification, identification_id)
    if row is None or row.agency_id != actor.agency_id:
        raise NotFound(f"no identification {identification_id}")
    return dict(row.result)


def recent_identifications(session: Session, *, actor: Actor, limit: int = 20
                           ) -> list[Identification]:
    actor.require(Permission.spectra_identify)
    return list(session.scalars(select(Identification)
                                .where(Identification.agency_id == actor.agency_id)
                                .order_by(Identification.id.desc()).limit(limit)))


# --- evaluation reports ----------------------------------------------------------------------

#: The evaluation reports, by the name the CLI uses, and the files each reads (relative to
#: the project's shared spectra data directory).
REPORTS = {
    "gcms-class": "gcms_ei/wong2023_swgdrug/wong2023_mmc1_swgdrug311_nps_class_spectra.csv",
    "fentanyl": "gcms_ei/fentanyl_classifier_nist",
    "raman-mixtures": "raman/mdatools_carbs_fructose_lactose_ribose_mixtures.RData",
    "robustness": "ir_rruff",
}


def evaluate(report: str, *, data: Path) -> dict[str, Any]:
    """Run one evaluation report on the shared evaluation data under ``data``.

    The figures are those of ``benchmarks/spectra_identification.py``; this entry point lets
    a lab re-run them on its own copy of the data and read the details (per-class scores,
    missed analogues, estimated fractions, recognition curves).
    """
    from dataclasses import asdict

    from interdict.spectra import evaluation

    if report not in REPORTS:
        raise InvalidData(f"unknown report {report!r}; choose one of {', '.join(REPORTS)}",
                          errors=[FieldError("report", "unknown")])
    source = data / REPORTS[report]
    if not source.exists():
        raise InvalidData(f"{source} not found: give the shared spectra data directory",
                          errors=[FieldError("data", f"{REPORTS[report]} missing")])
    wong_path = data / REPORTS["gcms-class"]
    result: Any
    if report == "gcms-class":
        result = evaluation.gcms_class_loo(evaluation.read_wong_csv(wong_path))
    elif report == "fentanyl":
        analogues = [s for p in sorted(source.rglob("*.MSP"))
                     for s in read_spectra(p.read_bytes(), p.name)]
        result = evaluation.fentanyl_analogue_share(evaluation.read_wong_csv(wong_path),
                                                    analogues)
    elif report == "raman-mixtures":
        result = evaluation.raman_mixture_rmse(evaluation.read_carbs(source))
    else:
        spectra = [s for p in sorted(source.glob("*.txt"))
                   for s in read_spectra(p.read_bytes(), p.name)]
        result = evaluation.robustness(spectra, repeats=2)
    return {"report": report, "data": str(source),
            "result": [asdict(r) for r in result] if isinstance(result, list) else asdict(result)}
