"""``interdict seizures``: import seizures, search marks, propose links, load aggregates.

Every command takes ``--json`` (on the root command) for machine output and acts for the
chosen agency (``--agency`` or INTERDICT_AGENCY). A refused file or picture exits with 2 and
names every problem.
"""

from __future__ import annotations

from pathlib import Path

import click

from interdict.cli.context import CliContext, err, pass_ctx, refused
from interdict.errors import InvalidData
from interdict.reference.registry import Registry
from interdict.seizures import cbp, service

PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("seizures")
def seizures() -> None:
    """Seizures and forensic profiling: records, marks, chemical profiles, links."""


def _registry(obj: CliContext) -> Registry:
    return Registry(override=obj.settings.reference_path)


@seizures.command("import")
@click.argument("path", type=PATH)
@pass_ctx
def import_(obj: CliContext, path: Path) -> None:
    """Import seizures from CSV or JSON lines (one row per substance line), all or nothing.

    The same file again changes nothing; see docs/seizures-formats.md for the columns.
    """
    try:
        with obj.session() as session:
            result = service.import_file(session, actor=obj.system_actor(session),
                                         registry=_registry(obj), data=path.read_bytes(),
                                         filename=path.name,
                                         progress=None if obj.json_output else err)
    except InvalidData as exc:
        refused(obj, exc)
        return
    human = (f"{path.name}: already imported (import {result['import_id']})"
             if result["already_imported"] else
             f"{path.name}: {result['seizures']} seizure(s): {result['created']} new, "
             f"{result['unchanged']} unchanged; {result['lines']} substance line(s), "
             f"{result['parties']} part(y/ies)")
    obj.emit(result, human)


@seizures.command("match-mark")
@click.argument("image", type=PATH)
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--kind", default="", help="Only marks of this kind (logo, stamp, toolmark).")
@click.option("--shape", default="", help="Only marks of this described shape.")
@pass_ctx
def match_mark(obj: CliContext, image: Path, top: int, kind: str, shape: str) -> None:
    """Rank earlier marks by similarity to a photo of a logo, stamp or tool-mark."""
    try:
        with obj.session() as session:
            result = service.search_marks(session, actor=obj.system_actor(session),
                                          data=image.read_bytes(), top=top,
                                          filters=service.MarkFilters(kind=kind, shape=shape),
                                          purpose=f"cli match-mark {image.name}")
    except InvalidData as exc:
        refused(obj, exc)
        return
    lines = [f"{image.name}: {result['searched']} mark(s) searched"]
    for i, r in enumerate(result["results"], start=1):
        lines.append(f"{i:3d}. mark {r['mark']['id']} ({r['mark']['kind']}) of seizure "
                     f"{r['seizure']['reference']} ({r['seizure']['country']}): score "
                     f"{r['score']:.3f}, {r['inliers']} inliers, {r['stage']}")
    obj.emit(result["results"], "\n".join(lines))


@seizures.command("link")
@pass_ctx
def link(obj: CliContext) -> None:
    """Propose links between seizures from marks and chemistry, each with its evidence."""
    with obj.session() as session:
        result = service.find_links(session, actor=obj.system_actor(session),
                                    progress=None if obj.json_output else err)
    t = result["threshold"]
    lines = [f"chemistry threshold {t['value']:.3f} (false-link rate "
             f"{t['false_link_rate']:.3f}, from {t['basis']})"]
    for ln in result["links"]:
        lines.append(f"link {ln['id']}: {ln['a']['reference']} - {ln['b']['reference']} "
                     f"score {ln['score']:.3f} [{', '.join(ln['kinds'])}] {ln['status']}")
    obj.emit(result["links"], "\n".join(lines))


@seizures.command("import-aggregates")
@click.argument("path", type=PATH, required=False)
@pass_ctx
def import_aggregates(obj: CliContext, path: Path | None) -> None:
    """Load CBP monthly drug-seizure aggregates (the shipped copy without PATH)."""
    try:
        rows = cbp.parse(path.read_bytes(), path.name) if path else cbp.shipped()
        with obj.session() as session:
            result = service.import_aggregates(session, actor=obj.system_actor(session),
                                               rows=rows, source="cbp",
                                               filename=path.name if path else "shipped")
    except InvalidData as exc:
        refused(obj, exc)
        return
    obj.emit(result, f"cbp: {result['rows']} monthly rows, {result['events']} events, "
                     f"{result['kg']:,} kg")
