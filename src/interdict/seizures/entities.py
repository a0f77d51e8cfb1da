"""Seizures, their parties and confirmed links as FollowTheMoney entities for the entity graph.

A seizure becomes an ``Event`` (FtM's schema for something that happened at a time and place;
it is a ``Thing``, so links can end on it). Each party becomes a ``Person``, ``Company``,
``Vehicle``, ``Vessel`` or, for a phone number, a ``LegalEntity`` holding it as ``phone`` with
the id ``phone:<E.164>``: the id the call-record importer gives numbers, so a phone found on
a seizure joins the same number in intercepted call networks. Each involvement is an
``UnknownLink`` from the party to the seizure with its role, and a confirmed link between two
seizures is an ``UnknownLink`` between their events.

Ids are stable (derived from what identifies the thing), so writing a seizure twice changes
nothing in the graph, and the same vehicle plate on two seizures is one node.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from interdict.seizures.records import Party, SeizureRecord

_SCHEMA = {"person": "Person", "company": "Company", "vehicle": "Vehicle",
           "vessel": "Vessel", "phone": "LegalEntity"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "x"


def seizure_id(agency_code: str, reference: str) -> str:
    return f"seizure:{agency_code}:{_slug(reference)}"


def party_id(p: Party) -> str:
    if p.role == "phone":
        return f"phone:{p.identifier}"
    key = p.identifier or p.name
    return f"{p.role}:{_slug(key)}" if p.identifier else f"{p.role}:name:{_slug(key)}"


def _party_entity(p: Party) -> dict[str, Any]:
    props: dict[str, list[str]] = {"name": [p.name]}
    if p.role == "phone":
        props["phone"] = [p.identifier]
    elif p.role == "vehicle" and p.identifier:
        props["registrationNumber"] = [p.identifier]
    elif p.role == "vessel" and p.identifier:
        props["imoNumber"] = [p.identifier]
    elif p.role == "company" and p.identifier:
        props["registrationNumber"] = [p.identifier]
    elif p.role == "person" and p.identifier:
        props["idNumber"] = [p.identifier]
    return {"id": party_id(p), "schema": _SCHEMA[p.role], "properties": props}


def _link_id(*parts: str) -> str:
    return "link:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def seizure_entities(agency_code: str, r: SeizureRecord) -> list[dict[str, Any]]:
    """The seizure's event, its parties and their involvement links."""
    event = seizure_id(agency_code, r.reference)
    summary = "; ".join(f"{ln.quantity:g} {ln.unit} {ln.substance} ({ln.form})"
                        for ln in r.lines)
    props: dict[str, list[str]] = {
        "name": [f"Seizure {r.reference}"], "date": [r.seized_at.date().isoformat()],
        "country": [r.country.lower()], "summary": [summary[:1000]]}
    if r.place:
        props["location"] = [r.place]
    out = [{"id": event, "schema": "Event", "properties": props}]
    for p in r.parties:
        out.append(_party_entity(p))
        out.append({"id": _link_id(event, party_id(p)), "schema": "UnknownLink",
                    "properties": {"subject": [party_id(p)], "object": [event],
                                   "role": [f"{p.role} in seizure {r.reference}"],
                                   "date": [r.seized_at.date().isoformat()]}})
    return out


def link_entity(event_a: str, event_b: str, kinds: list[str], note: str) -> dict[str, Any]:
    """A confirmed link between two seizures' events."""
    role = f"linked seizures ({', '.join(kinds)})" + (f": {note}" if note else "")
    return {"id": _link_id(event_a, event_b, "seizure-link"), "schema": "UnknownLink",
            "properties": {"subject": [event_a], "object": [event_b], "role": [role[:500]]}}


def as_jsonl(entities: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, sort_keys=True) + "\n" for e in entities).encode()
