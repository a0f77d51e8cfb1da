"""``interdict spectra``: identify a spectrum, build libraries, run the evaluation reports."""

from __future__ import annotations

from pathlib import Path

import click

from interdict.cli.context import CliContext, err, pass_ctx
from interdict.reference.registry import Registry
from interdict.spectra import service
from interdict.spectra.schemas import IdentificationOut
from interdict.spectra.search import Metric
from interdict.spectra.spectrum import Technique

TECHNIQUES = click.Choice([t.value for t in (Technique.RAMAN, Technique.IR, Technique.MS)])


def _human(out: IdentificationOut) -> str:
    lines = [f"{out.filename}: {out.confidence.value} confidence ({out.confidence_reason})",
             f"  library {out.library} v{out.library_version}, {out.metric}: "
             f"{out.metric_definition}"]
    for c in out.candidates:
        status = c.control.summary if c.control and c.control.summary else "not listed"
        flag = "CONTROLLED" if c.control and c.control.controlled else ""
        lines.append(f"  {c.rank:>2}. {c.score:.4f}  {c.name}  [{status}] {flag}")
    if out.mixture:
        lines.append(f"  mixture (explained variance {out.mixture.explained_variance:.3f}):")
        for m in out.mixture.components:
            flag = " CONTROLLED" if m.control and m.control.controlled else ""
            lines.append(f"    {m.fraction:6.1%}  {m.name}{flag}")
    return "\n".join(lines)


@click.group("spectra")
def spectra() -> None:
    """Identify substances from Raman, IR and GC-MS spectra."""


@spectra.command("identify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--library", help="Library to search (default: the largest of the technique).")
@click.option("--technique", type=TECHNIQUES, help="For files that do not say (two-column text).")
@click.option("--metric", type=click.Choice([m.value for m in Metric]))
@click.option("--top", default=10, show_default=True)
@click.option("--case", "case_reference", default="", help="Seizure or case reference.")
@click.option("--no-mixture", is_flag=True, help="Skip mixture analysis.")
@pass_ctx
def identify(obj: CliContext, path: Path, library: str | None, technique: str | None,
             metric: str | None, top: int, case_reference: str, no_mixture: bool) -> None:
    """Ranked identifications, mixture components and control status for one spectrum file."""
    registry = Registry(override=obj.settings.reference_path)
    with obj.session() as session:
        out = service.identify(session, actor=obj.system_actor(session), registry=registry,
                               data=path.read_bytes(), filename=path.name, library=library,
                               technique=Technique(technique) if technique else None,
                               metric=Metric(metric) if metric else None, top=top,
                               case_reference=case_reference, mixture=not no_mixture)
    obj.emit(out.model_dump(mode="json", exclude={"plot"}), _human(out))


@spectra.group("library")
def library() -> None:
    """Spectral libraries of the agency."""


@library.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Library name (created if new).")
@click.option("--technique", type=TECHNIQUES, help="For files that do not say.")
@click.option("--description", default="")
@pass_ctx
def import_(obj: CliContext, folder: Path, name: str, technique: str | None,
            description: str) -> None:
    """Import every spectrum file under FOLDER (all or nothing; re-running adds only new ones).

    An optional index.csv (file,name,cas,smiles,inchikey) names the substance of each file;
    otherwise names and identifiers come from the files' headers.
    """
    files, identifiers = service.read_folder(folder)
    err(f"read {len(files)} files from {folder}")
    with obj.session() as session:
        report = service.import_library(
            session, actor=obj.system_actor(session), name=name, files=files,
            technique=Technique(technique) if technique else None, description=description,
            identifiers=identifiers)
    obj.emit(report.model_dump(mode="json"),
             f"{report.library.name}: {report.added} added, {report.already_present} already "
             f"present; now {report.library.entry_count} spectra, version "
             f"{report.library.version}")


@library.command("list")
@pass_ctx
def list_(obj: CliContext) -> None:
    """Libraries the agency can search."""
    with obj.session(readonly=True) as session:
        rows = service.list_libraries(session, actor=obj.system_actor(session))
    obj.emit([r.model_dump(mode="json") for r in rows],
             "\n".join(f"{r.name:<30} {r.technique:<6} {r.entry_count:>6} spectra  v{r.version}"
                       for r in rows) or "no libraries")


@spectra.command("evaluate")
@click.argument("report", type=click.Choice(list(service.REPORTS)))
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default="../shared/data/spectra", show_default=True,
              help="The shared spectra evaluation data directory.")
@pass_ctx
def evaluate(obj: CliContext, report: str, data: Path) -> None:
    """Evaluation reports: GC-MS class accuracy, fentanyl analogues, Raman mixtures, robustness."""
    err(f"running {report} on {data}")
    out = service.evaluate(report, data=data)
    obj.emit(out)
