"""Writing to the intelligence file: FtM JSON lines, call detail records, network files.

Every import is all or nothing (the whole file is validated before a row is written, and
every problem is reported with its line and field) and idempotent (the same file again is a
no-op; a value already held with the same provenance is not duplicated). Every value carries
the provenance the importer states for the batch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from followthemoney import model
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from interdict.auth.actor import Actor
from interdict.errors import FieldError, InvalidData
from interdict.network.models import Entity, EntityValue, ImportBatch, Link
from interdict.network.provenance import Provenance

#: Relationship schemata whose endpoints FtM does not declare as an edge: (source, target).
EXTRA_EDGES = {"Call": ("caller", "receiver")}
MAX_ERRORS = 50


@dataclass
class Parsed:
    """An entity as read from a file, before it touches the database."""

    ftm_id: str
    schema: str
    properties: dict[str, list[str]]
    line: int
    weight: float = 1.0
    period: str | None = None


@dataclass
class ImportResult:
    batch_id: int
    kind: str
    filename: str
    entities: int
    links: int
    values_added: int
    already_imported: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def edge_props(schema_name: str) -> tuple[str, str] | None:
    """The (source, target) properties of a relationship schema, None for node schemata."""
    schema = model.get(schema_name)
    if schema is None:
        return None
    if schema.edge and schema.edge_source and schema.edge_target:
        return str(schema.edge_source), str(schema.edge_target)
    return EXTRA_EDGES.get(schema.name)


def parse_ftm(data: bytes, filename: str) -> list[Parsed]:
    """FtM entities, one JSON object per line; every error names the line and the field."""
    problems: list[FieldError] = []
    out: list[Parsed] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{filename} is not UTF-8 text",
                          errors=[FieldError("file", f"byte {exc.start}: not UTF-8")]) from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(FieldError(where, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        except (RecursionError, ValueError):
            problems.append(FieldError(where, "not JSON an entity can be (nested too deeply)"))
            continue
        if not isinstance(obj, dict):
            problems.append(FieldError(where, "not a JSON object"))
            continue
        entity_id, schema_name = obj.get("id"), obj.get("schema")
        schema = model.get(schema_name) if isinstance(schema_name, str) else None
        if not isinstance(entity_id, str) or not entity_id or len(entity_id) > 200:
            problems.append(FieldError(f"{where}: id", "missing, not a string or too long"))
            continue
        if schema is None or schema.abstract:
            problems.append(FieldError(f"{where}: schema", f"unknown FtM schema {schema_name!r}"
                                       if schema is None else f"{schema.name} is abstract"))
            continue
        props = obj.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(FieldError(f"{where}: properties", "not an object"))
            continue
        clean: dict[str, list[str]] = {}
        for prop_name, values in props.items():
            prop = schema.get(prop_name)
            if prop is None:
                problems.append(FieldError(f"{where}: properties.{prop_name}",
                                           f"not a property of {schema.name}"))
                continue
            for value in values if isinstance(values, list) else [values]:
                if not isinstance(value, str | int | float) or isinstance(value, bool) \
                        or value != value:  # None, lists, objects, NaN are not values
                    problems.append(FieldError(f"{where}: properties.{prop_name}",
                                               f"{value!r} is not a text or number value"))
                    continue
                text_value = str(value)
                if prop.type.name != "entity" and prop.type.clean(text_value) is None:
                    problems.append(FieldError(f"{where}: properties.{prop_name}",
                                               f"{text_value[:60]!r} is not a valid "
                                               f"{prop.type.name}"))
                    continue
                clean.setdefault(prop_name, []).append(text_value[:5000])
        out.append(Parsed(ftm_id=entity_id, schema=schema.name, properties=clean, line=number))
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise InvalidData(f"{filename}: {len(problems)} problem(s); nothing was imported",
                          errors=problems)
    return out


def parse_cdr(data: bytes, filename: str) -> list[Parsed]:
    """Call detail records (CSV: caller, callee, start, duration[, cell]) as phones and calls.

    Each number becomes a LegalEntity holding it as ``phone`` (FtM has no phone schema); each
    record becomes a Call between them.
    """
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower(): f for f in reader.fieldnames or []}
    missing = [c for c in ("caller", "callee", "start") if c not in fields]
    if missing:
        raise InvalidData(f"{filename}: missing column(s) {', '.join(missing)}",
                          errors=[FieldError(c, "column missing") for c in missing])
    problems: list[FieldError] = []
    phones: dict[str, Parsed] = {}
    calls: list[Parsed] = []
    date_type = model.get("Call").get("date").type  # type: ignore[union-attr]
    for number, row in enumerate(reader, start=2):
        caller = (row.get(fields["caller"]) or "").strip()
        callee = (row.get(fields["callee"]) or "").strip()
        start = (row.get(fields["start"]) or "").strip()
        duration = (row.get(fields.get("duration", "")) or "").strip()
        where = f"line {number}"
        if not caller or not callee:
            problems.append(FieldError(f"{where}: caller/callee", "empty"))
            continue
        if date_type.clean(start) is None:
            problems.append(FieldError(f"{where}: start", f"{start!r} is not a date/time"))
            continue
        if duration and not duration.replace(".", "", 1).isdigit():
            problems.append(FieldError(f"{where}: duration", f"{duration!r} is not seconds"))
            continue
        for phone in (caller, callee):
            phones.setdefault(phone, Parsed(ftm_id=f"phone:{phone}", schema="LegalEntity",
                                            properties={"name": [phone], "phone": [phone]},
                                            line=number))
        props = {"caller": [f"phone:{caller}"], "receiver": [f"phone:{callee}"],
                 "callerNumber": [caller], "receiverNumber": [callee], "date": [start]}
        if duration:
            props["duration"] = [duration]
        cell = (row.get(fields.get("cell", "")) or "").strip()
        if cell:
            props["summary"] = [f"cell {cell}"]
        calls.append(Parsed(ftm_id=f"call:{caller}:{callee}:{start}", schema="Call",
                            properties=props, line=number, period=start[:10]))
    if problems:
        raise InvalidData(f"{filename}: {len(problems)} problem(s); nothing was imported",
                          errors=problems[:MAX_ERRORS])
    return list(phones.values()) + calls


def from_edges(nodes: Iterable[tuple[str, str]],
               edges: Iterable[tuple[str, str, float, str | None]], *,
               namespace: str, node_schema: str = "Person",
               link_schema: str = "UnknownLink") -> list[Parsed]:
    """Nodes (id, name) and weighted edges of a network file as entities and links."""
    out = [Parsed(ftm_id=f"{namespace}:{n}", schema=node_schema,
                  properties={"name": [name]}, line=0) for n, name in nodes]
    source, target = edge_props(link_schema) or ("subject", "object")
    for i, (a, b, weight, period) in enumerate(edges):
        out.append(Parsed(ftm_id=f"{namespace}:{a}>{b}:{period or ''}:{i}", schema=link_schema,
                          properties={source: [f"{namespace}:{a}"], target: [f"{namespace}:{b}"]},
                          line=0, weight=weight, period=period))
    return out


#: Ids per ``IN (...)`` look-up: below every driver's bind-parameter limit (PostgreSQL 65,535).
CHUNK = 5000
MAX_ID = 200


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _merge_duplicates(parsed: list[Parsed]) -> tuple[list[Parsed], list[FieldError]]:
    """One entry per id within a file (values gathered); an id given two schemata is an error."""
    merged: dict[str, Parsed] = {}
    problems: list[FieldError] = []
    for p in parsed:
        if len(p.ftm_id) > MAX_ID:
            problems.append(FieldError(f"line {p.line}: id" if p.line else "id",
                                       f"longer than {MAX_ID} characters"))
            continue
        first = merged.get(p.ftm_id)
        if first is None:
            merged[p.ftm_id] = p
        elif first.schema != p.schema:
            problems.append(FieldError(f"line {p.line}: schema" if p.line else p.ftm_id,
                                       f"entity {p.ftm_id!r} is a {first.schema} on line "
                                       f"{first.line} and a {p.schema} here"))
        else:
            for prop, values in p.properties.items():
                into = first.properties.setdefault(prop, [])
                into.extend(v for v in values if v not in into)
    return list(merged.values()), problems


def write(session: Session, *, actor: Actor, kind: str, filename: str, data: bytes,
          parsed: list[Parsed], provenance: Provenance, directed: bool = False) -> ImportResult:
    """Store parsed entities and their links under one batch (no-op for a file seen before).

    Re-imports are idempotent beyond the file checksum: an entity keeps its id, a value with
    the same provenance is not added twice, and a link already recorded for the same
    relationship and endpoints is not recorded again (overlapping call-record exports).
    """
    checksum = hashlib.sha256(data).hexdigest()
    previous = session.scalar(select(ImportBatch).where(ImportBatch.agency_id == actor.agency_id,
                                                        ImportBatch.checksum == checksum))
    if previous is not None:
        return ImportResult(batch_id=previous.id, kind=previous.kind, filename=filename,
                            entities=previous.entities, links=previous.links, values_added=0,
                            already_imported=True)
    parsed, problems = _merge_duplicates(parsed)
    file_ids = {p.ftm_id for p in parsed}
    wanted = sorted(file_ids | _endpoint_ids(parsed))
    existing: dict[str, Entity] = {}
    for chunk in _chunks(wanted):
        existing.update((e.ftm_id, e) for e in session.scalars(select(Entity).where(
            Entity.agency_id == actor.agency_id, Entity.ftm_id.in_(chunk))))
    # Everything is checked before anything is written: every endpoint in the file or the
    # store, and an entity already held keeps its schema.
    problems += [FieldError(f"line {p.line}: properties.{prop}" if p.line else f"{p.ftm_id}",
                            f"entity {ref!r} is neither in the file nor in the store")
                 for p in parsed for prop, ref in _endpoints(p)
                 if ref not in existing and ref not in file_ids]
    problems += [FieldError(f"line {p.line}: schema" if p.line else p.ftm_id,
                            f"entity {p.ftm_id!r} is held as a {existing[p.ftm_id].schema}, "
                            f"not a {p.schema}")
                 for p in parsed if p.ftm_id in existing
                 and existing[p.ftm_id].schema != p.schema]
    if problems:
        raise InvalidData(f"{filename}: {len(problems)} problem(s); nothing was imported",
                          errors=problems[:MAX_ERRORS])
    batch = ImportBatch(agency_id=actor.agency_id, kind=kind, filename=filename[:300],
                        checksum=checksum, provenance=provenance.as_dict(),
                        created_by=actor.username)
    session.add(batch)
    session.flush()
    new = [p for p in parsed if p.ftm_id not in existing]
    if new:
        session.execute(insert(Entity), [
            {"agency_id": actor.agency_id, "ftm_id": p.ftm_id, "schema": p.schema,
             "caption": _caption(p), "batch_id": batch.id} for p in new])
        for chunk in _chunks([p.ftm_id for p in new]):
            existing.update((e.ftm_id, e) for e in session.scalars(select(Entity).where(
                Entity.agency_id == actor.agency_id, Entity.ftm_id.in_(chunk))))
    added = _write_values(session, parsed, existing, batch, provenance)
    links = _write_links(session, actor, parsed, existing, batch, directed)
    batch.entities = sum(1 for p in parsed if edge_props(p.schema) is None)
    batch.links = links
    session.flush()
    return ImportResult(batch_id=batch.id, kind=kind, filename=filename,
                        entities=batch.entities, links=links, values_added=added)


def _write_links(session: Session, actor: Actor, parsed: list[Parsed],
                 entities: dict[str, Entity], batch: ImportBatch, directed: bool) -> int:
    relations = [entities[p.ftm_id].id for p in parsed if edge_props(p.schema) is not None]
    held: set[tuple[int, int, int]] = set()
    for start in range(0, len(relations), CHUNK):
        held.update((r[0], r[1], r[2]) for r in session.execute(
            select(Link.relation_id, Link.source_id, Link.target_id)
            .where(Link.relation_id.in_(relations[start:start + CHUNK]))))
    rows = []
    for p in parsed:
        pair = edge_props(p.schema)
        if pair is None:
            continue
        for source in p.properties.get(pair[0], []):
            for target in p.properties.get(pair[1], []):
                key = (entities[p.ftm_id].id, entities[source].id, entities[target].id)
                if key in held:
                    continue
                held.add(key)
                rows.append({"agency_id": actor.agency_id, "relation_id": key[0],
                             "schema": p.schema, "source_id": key[1], "target_id": key[2],
                             "weight": p.weight, "directed": directed or p.schema == "Call",
                             "period": (p.period or None) and p.period[:40],
                             "batch_id": batch.id})
    if rows:
        session.execute(insert(Link), rows)
    return len(rows)


def _endpoints(p: Parsed) -> list[tuple[str, str]]:
    schema = model.get(p.schema)
    if schema is None:
        return []
    return [(prop, ref) for prop, values in p.properties.items()
            if (sp := schema.get(prop)) is not None and sp.type.name == "entity"
            for ref in values]


def _endpoint_ids(parsed: list[Parsed]) -> set[str]:
    return {ref for p in parsed for _prop, ref in _endpoints(p)}


def _caption(p: Parsed) -> str:
    for prop in ("name", "title", "registrationNumber", "phone", "imoNumber", "publicKey",
                 "username", "iban", "full"):
        if p.properties.get(prop):
            return p.properties[prop][0][:300]
    return p.schema


def _write_values(session: Session, parsed: list[Parsed], entities: dict[str, Entity],
                  batch: ImportBatch, provenance: Provenance) -> int:
    """Add each value unless the same value with the same provenance is already held."""
    ids = [entities[p.ftm_id].id for p in parsed]
    held: set[tuple[Any, ...]] = set()
    for start in range(0, len(ids), CHUNK):
        held.update(tuple(row) for row in session.execute(select(
            EntityValue.entity_id, EntityValue.prop, EntityValue.value, EntityValue.originator,
            EntityValue.scheme, EntityValue.source_grade, EntityValue.information_grade,
            EntityValue.handling, EntityValue.observed_on).where(
                EntityValue.entity_id.in_(ids[start:start + CHUNK]))))
    rows = []
    for p in parsed:
        entity_id = entities[p.ftm_id].id
        for prop, values in p.properties.items():
            for value in values:
                key = (entity_id, prop, value, provenance.originator, provenance.scheme,
                       provenance.source_grade, provenance.information_grade,
                       provenance.handling, provenance.observed_on)
                if key in held:
                    continue
                held.add(key)
                rows.append({
                    "entity_id": entity_id, "prop": prop, "value": value,
                    "originator": provenance.originator, "scheme": provenance.scheme,
                    "source_grade": provenance.source_grade,
                    "information_grade": provenance.information_grade,
                    "handling": provenance.handling, "observed_on": provenance.observed_on,
                    "source_record": (provenance.source_record or batch.filename
                                      + (f" line {p.line}" if p.line else ""))[:300],
                    "batch_id": batch.id})
    if rows:
        session.execute(insert(EntityValue), rows)
    return len(rows)


def _tabular_rows(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and rows (with their line numbers) of a CSV or XLSX (first sheet) file."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a damaged workbook
            raise InvalidData(f"{filename} is not a readable XLSX workbook",
                              errors=[FieldError("file", str(exc)[:200])]) from exc
        sheet = book.worksheets[0]
        cells = [["" if v is None else str(v) for v in row]
                 for row in sheet.iter_rows(values_only=True)]
        book.close()
        header = [c.strip() for c in (cells[0] if cells else [])]
        return header, [(i, dict(zip(header, row, strict=False)))
                        for i, row in enumerate(cells[1:], start=2)]
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace")))
    rows = list(reader)
    header = [c.strip() for c in (rows[0] if rows else [])]
    return header, [(i, dict(zip(header, row, strict=False)))
                    for i, row in enumerate(rows[1:], start=2)]


def _mapping_shape(query: dict[str, Any]) -> list[FieldError]:
    """Structural problems FtM's own mapping parser would crash on rather than report."""
    problems = []
    for name, spec in (query.get("entities") or {}).items():
        if not isinstance(spec, dict):
            problems.append(FieldError(f"mapping: entities.{name}", "must be a mapping"))
            continue
        if not isinstance(spec.get("keys", []), list):
            problems.append(FieldError(f"mapping: entities.{name}.keys", "must be a list"))
        props = spec.get("properties", {})
        if not isinstance(props, dict) or not all(isinstance(v, dict) for v in props.values()):
            problems.append(FieldError(f"mapping: entities.{name}.properties",
                                       "must map property names to {column: ...} mappings"))
    for key in ("filters", "filters_not"):
        if not isinstance(query.get(key) or {}, dict):
            problems.append(FieldError(f"mapping: {key}", "must be a mapping"))
    return problems


def _mapping_columns(query: dict[str, Any]) -> set[str]:
    """Every column a FtM mapping query reads (keys, property columns, filters)."""
    columns: set[str] = set()
    for spec in (query.get("entities") or {}).values():
        columns.update(spec.get("keys") or [])
        for prop in (spec.get("properties") or {}).values():
            if isinstance(prop, dict):
                if prop.get("column"):
                    columns.add(prop["column"])
                columns.update(prop.get("columns") or [])
    for key in ("filters", "filters_not"):
        columns.update((query.get(key) or {}).keys())
    return columns


def parse_mapped(data: bytes, filename: str, mapping_text: str) -> list[Parsed]:
    """Rows of a CSV or XLSX file turned into entities by a FtM mapping (Aleph's YAML).

    The mapping is either one query (``entities: ...``) or Aleph's form, a dataset holding
    ``queries``; the first query is used. Every column it names must be in the file.
    """
    import yaml
    from followthemoney.exc import InvalidMapping
    from followthemoney.mapping.csv import CSVSource

    try:
        spec = yaml.safe_load(mapping_text)
    except yaml.YAMLError as exc:
        raise InvalidData("the mapping is not valid YAML",
                          errors=[FieldError("mapping", str(exc)[:300])]) from exc
    if isinstance(spec, dict) and "entities" not in spec:
        queries = spec.get("queries") or next(
            (v.get("queries") for v in spec.values() if isinstance(v, dict)), None)
        spec = queries[0] if queries else spec
    if not isinstance(spec, dict) or not isinstance(spec.get("entities"), dict):
        raise InvalidData("the mapping needs an 'entities' section",
                          errors=[FieldError("mapping", "no entities")])
    shape = _mapping_shape(spec)
    if shape:
        raise InvalidData("the mapping is not valid", errors=shape)
    header, rows = _tabular_rows(data, filename)
    missing = sorted(_mapping_columns(spec) - set(header))
    if missing:
        raise InvalidData(f"the mapping names column(s) {', '.join(missing)} that "
                          f"{filename} does not have; nothing was imported",
                          errors=[FieldError(f"mapping: column {c}", "not in the file")
                                  for c in missing])
    try:
        query = model.make_mapping({**spec, "csv_url": filename})
    except InvalidMapping as exc:
        raise InvalidData(f"the mapping is not valid: {exc}",
                          errors=[FieldError("mapping", str(exc))]) from exc
    out: dict[str, Parsed] = {}
    for line, row in rows:
        source = query.source
        if isinstance(source, CSVSource) and not source.check_filters(row):
            continue
        for entity in query.map(row).values():
            props = {k: [str(v) for v in vs] for k, vs in entity.to_dict()["properties"].items()
                     if k != "namesMentioned"}
            if entity.id in out:  # the same entity from several rows: gather its values
                for k, vs in props.items():
                    merged = out[entity.id].properties.setdefault(k, [])
                    merged.extend(v for v in vs if v not in merged)
            else:
                out[str(entity.id)] = Parsed(ftm_id=str(entity.id), schema=entity.schema.name,
                                             properties=props, line=line)
    return list(out.values())
