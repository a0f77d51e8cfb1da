"""``interdict network`` commands on the intelligence file: import, export, resolve, judge.

The analysis commands on files (``analyze``, ``disrupt``) live in ``cli.py``; these work on
the database and are attached to the same ``network`` group by ``add_commands``.
"""

from __future__ import annotations

from pathlib import Path

import click

from interdict.cli.context import CliContext, err, pass_ctx
from interdict.network import service
from interdict.network.provenance import Provenance
from interdict.reference.registry import Registry


def _provenance(obj: CliContext, originator: str | None, scheme: str, grade: str,
                handling: str, observed_on: str | None) -> Provenance:
    source, information = (grade[0], grade[1:]) if len(grade) >= 2 else (grade, "")
    return Provenance(originator=originator or obj.agency_code or "LOCAL", scheme=scheme,
                      source_grade=source, information_grade=information,
                      handling=handling, observed_on=observed_on)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice([*service.IMPORT_KINDS, "matrix", "edgelist"]),
              default="ftm", show_default=True,
              help="ftm: FtM JSON lines; cdr: call detail records (caller,callee,start,...); "
                   "mapping: CSV/XLSX with --mapping; matrix, edgelist: network files")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path),
              help="FtM mapping YAML for --kind mapping.")
@click.option("--namespace", help="matrix/edgelist: network name (same actors across files).")
@click.option("--period", help="matrix/edgelist: period label of every link (a phase).")
@click.option("--undirected", is_flag=True, help="matrix/edgelist: ties have no direction.")
@click.option("--grade", default="X4", show_default=True,
              help="Source and information grade, e.g. B2 (4x4) or 2B (3x5x2).")
@click.option("--scheme", type=click.Choice(["4x4", "3x5x2"]), default="4x4", show_default=True)
@click.option("--handling", default="H0", show_default=True, help="H0-H3, TLP:..., or P/C.")
@click.option("--observed-on", help="Date the information refers to (YYYY-MM-DD).")
@click.option("--originator", help="Originating agency code (default: the acting agency).")
@pass_ctx
def import_(obj: CliContext, path: Path, kind: str, mapping_path: Path | None,
            namespace: str | None, period: str | None, undirected: bool, grade: str,
            scheme: str, handling: str, observed_on: str | None,
            originator: str | None) -> None:
    """Import a file into the intelligence file: all or nothing, idempotent."""
    registry = Registry(override=obj.settings.reference_path)
    with obj.session() as session:
        actor = obj.system_actor(session)
        provenance = _provenance(obj, originator or actor.agency_code, scheme, grade,
                                 handling, observed_on)
        if kind in ("matrix", "edgelist"):
            result = service.import_network(session, actor=actor, registry=registry,
                                            filename=path.name, data=path.read_bytes(),
                                            provenance=provenance, fmt=kind,
                                            directed=not undirected, namespace=namespace,
                                            period=period)
        else:
            result = service.import_file(
                session, actor=actor, registry=registry, kind=kind, filename=path.name,
                data=path.read_bytes(), provenance=provenance,
                mapping=mapping_path.read_text(encoding="utf-8") if mapping_path else None)
    obj.emit(result.as_dict(), f"{path.name}: " + (
        "already imported" if result.already_imported else
        f"{result.entities} entities, {result.links} links, {result.values_added} values"))


@click.command("export-records")
@click.option("--format", "fmt", type=click.Choice(["ftm", "anx", "graphml", "gexf", "csv"]),
              default="ftm", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_ctx
def export(obj: CliContext, fmt: str, out: Path) -> None:
    """Export the agency's file: FtM JSON lines, an i2 ANX chart, or the network as GraphML,
    GEXF or CSV with every metric (an audited disclosure)."""
    with obj.session() as session:
        actor = obj.system_actor(session)
        if fmt in ("graphml", "gexf", "csv"):
            written = service.export_graph_files(session, actor=actor, to=fmt, out=out)
            err("wrote " + ", ".join(str(p) for p in written))
            return
        text = (service.export_anx(session, actor=actor) if fmt == "anx"
                else service.export_ftm(session, actor=actor))
    out.write_text(text, encoding="utf-8")
    err(f"wrote {out}")


@click.command("resolve")
@pass_ctx
def resolve(obj: CliContext) -> None:
    """Look for duplicate entities; the suggestions wait for an analyst's decision."""
    with obj.session() as session:
        actor = obj.system_actor(session)
        summary = service.run_resolution(session, actor=actor)
        queue = service.pending(session, actor=actor, limit=20)
    obj.emit({**summary, "pending": queue}, "\n".join(
        [f"{summary['records']} entities, {summary['candidates']} candidate pairs, "
         f"{summary['suggested']} suggested"] +
        [f"  {q['probability']:.3f}  #{q['left_id']} {q['left']}  ~  #{q['right_id']} "
         f"{q['right']}" for q in queue]))


@click.command("judge")
@click.argument("left_id", type=int)
@click.argument("right_id", type=int)
@click.argument("decision", type=click.Choice(list(service.DECISIONS)))
@click.option("--reason", default="")
@pass_ctx
def judge(obj: CliContext, left_id: int, right_id: int, decision: str, reason: str) -> None:
    """Decide whether two entities are the same (a later decision on the pair replaces it)."""
    with obj.session() as session:
        row = service.judge(session, actor=obj.system_actor(session), left_id=left_id,
                            right_id=right_id, decision=decision, reason=reason)
    obj.emit({"id": row.id, "decision": row.decision},
             f"{decision}: #{left_id} ~ #{right_id}")


def add_commands(group: click.Group) -> None:
    for command in (import_, export, resolve, judge):
        group.add_command(command)
