"""``interdict substances``: check one substance or screen a file."""

from __future__ import annotations

import json
import sys

import click

from interdict.cli.context import CliContext, pass_ctx
from interdict.reference.registry import Registry
from interdict.substances import service
from interdict.substances.schemas import CheckQuery, Verdict


def _human(v: Verdict) -> str:
    lines = [f"{v.input}: {'CONTROLLED' if v.controlled else 'WATCH' if v.watch else 'not listed'}"]
    if v.parent_smiles:
        lines.append(f"  parent {v.parent_smiles}  {v.inchikey}")
    for m in v.matches:
        lines.append(f"  [{m.basis.value}] {m.jurisdiction} {m.list_title} / {m.schedule}: "
                     f"{m.substance}\n      {m.explanation}")
    for s in v.similar:
        lines.append(f"  similar: {s.substance} ({s.list}, {s.schedule}) tanimoto {s.tanimoto}")
    if v.suggestions:
        lines.append("  did you mean: " + ", ".join(v.suggestions))
    return "\n".join(lines)


@click.group("substances")
def substances() -> None:
    """Control status of substances: check, screen, lists."""


@substances.command("check")
@click.option("--smiles")
@click.option("--name")
@click.option("--cas")
@click.option("--inchikey")
@pass_ctx
def check(obj: CliContext, smiles: str | None, name: str | None, cas: str | None,
          inchikey: str | None) -> None:
    """Is this substance controlled, where, and why? Give exactly one identifier."""
    query = CheckQuery(smiles=smiles, name=name, cas=cas, inchikey=inchikey)
    index = service.get_index(Registry(override=obj.settings.reference_path))
    verdict = service.check(index=index, query=query)
    obj.emit(verdict.model_dump(mode="json"), _human(verdict))


@substances.command("screen")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def screen(obj: CliContext, path: str) -> None:
    """Screen a .smi, .csv (smiles column) or .sdf file; one result per line, never stops."""
    index = service.get_index(Registry(override=obj.settings.reference_path))
    flagged = errors = total = 0
    for row in service.screen(index=index, rows=service.read_structures(path)):
        total += 1
        if row.error:
            errors += 1
            data = {"row": row.row, "error": row.error}
            human = f"row {row.row}: ERROR {row.error}"
        else:
            assert row.verdict is not None
            flagged += row.verdict.controlled or row.verdict.watch
            data = {"row": row.row, **row.verdict.model_dump(mode="json")}
            human = f"row {row.row}: " + _human(row.verdict)
        click.echo(json.dumps(data) if obj.json_output else human)
    click.echo(f"screened {total}: {flagged} flagged, {errors} unreadable", err=True)
    sys.stdout.flush()


@substances.command("lists")
@pass_ctx
def lists(obj: CliContext) -> None:
    """The substance lists in force, with versions and checksums."""
    index = service.get_index(Registry(override=obj.settings.reference_path))
    rows = service.list_summaries(index=index)
    obj.emit(rows, "\n".join(f"{r['name']:<40} {r['entries']:>5}  v{r['version']}"
                             for r in rows))
