"""Demo step: police analysts load the CAVIAR wiretap network and a small case file.

CAVIAR (11 two-month phases of a Montreal importation ring, MIT copy, see
``demo_data/SOURCES.md``) goes in phase by phase, so the link chart can be sliced by period
and actors ranked per phase. A short FtM file then adds a company and two records of the same
person from different sources, which entity resolution suggests as duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path

from interdict.demo.registry import DemoContext, register_step
from interdict.network import service
from interdict.network.provenance import Provenance
from interdict.reference.registry import Registry

CAVIAR = Path(__file__).parent / "demo_data" / "caviar"

CASE_FILE = [
    {"id": "case-p1", "schema": "Person", "properties": {
        "name": ["Marc Delorme"], "birthDate": ["1961-04-11"],
        "passportNumber": ["CA8812345"], "country": ["ca"]}},
    {"id": "case-p2", "schema": "Person", "properties": {
        "name": ["DELORME, Marc"], "birthDate": ["1961-04-11"],
        "passportNumber": ["CA 8812345"], "country": ["ca"]}},
    {"id": "case-c1", "schema": "Company", "properties": {
        "name": ["Rive-Sud Import Export Inc."], "country": ["ca"]}},
    {"id": "case-d1", "schema": "Directorship", "properties": {
        "director": ["case-p1"], "organization": ["case-c1"], "role": ["director"]}},
]


def _step(ctx: DemoContext) -> None:
    analyst = ctx.actors["analyst@nl-police"]
    registry = Registry()
    wiretap = Provenance(originator=analyst.agency_code, source_grade="B",
                         information_grade="2", handling="H1")
    for phase in range(1, 12):
        path = CAVIAR / f"phase{phase}.csv"
        service.import_network(ctx.session, actor=analyst, registry=registry,
                               filename=f"caviar_{path.name}", data=path.read_bytes(),
                               provenance=wiretap, namespace="caviar",
                               period=f"phase {phase:02d}", label_prefix="n")
    registry_record = Provenance(originator="CA-REGISTRY", source_grade="A",
                                 information_grade="1", handling="H0")
    data = "\n".join(json.dumps(e) for e in CASE_FILE).encode()
    service.import_file(ctx.session, actor=analyst, registry=registry, kind="ftm",
                        filename="case_delorme.jsonl", data=data, provenance=registry_record)
    summary = service.run_resolution(ctx.session, actor=analyst)
    ctx.summary["network links"] = len(service.links(ctx.session, actor=analyst))
    ctx.summary["duplicate suggestions"] = summary["suggested"]


register_step("network.caviar_case", _step, order=40)
