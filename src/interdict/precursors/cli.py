"""``interdict precursors``: the register from the command line (``--json`` for machines)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from interdict.cli.context import CliContext, err, pass_ctx
from interdict.precursors import authorisations, service
from interdict.reference.registry import Registry
from interdict.tabular import FileRejected


@click.group("precursors")
def precursors() -> None:
    """Precursor traceability: operators, the 24-hour register, checks, returns."""


def _registry(obj: CliContext) -> Registry:
    return Registry(override=obj.settings.reference_path)


@precursors.command("import-operators")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def import_operators(obj: CliContext, path: Path) -> None:
    """Import the operator registry CSV (licence,name,country,categories,kind,valid_from,
    valid_to,activities,sector): all or nothing; the same file again changes nothing."""
    with obj.session() as session:
        result = service.import_operators(session, actor=obj.system_actor(session),
                                          data=path.read_bytes(), filename=path.name)
    obj.emit(result, f"{path.name}: {result['added']} added, {result['changed']} changed, "
                     f"{result['unchanged']} unchanged")


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise click.BadParameter("give a UTC offset, e.g. 2026-01-31T00:00:00+00:00")
    return parsed


@precursors.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True,
              help="Keep the good rows of a file with errors (default: refuse the file).")
@click.option("--as-of", help="Time the deadline checks run at (default: now), ISO 8601.")
@pass_ctx
def import_(obj: CliContext, path: Path, partial: bool, as_of: str | None) -> None:
    """Import transactions (CSV or JSON lines), store them and run every check.

    Prints the accepted count, each rejected row (row number, field, reason) and the alerts
    created. Exit code 2 when the file was refused.
    """
    progress = None if obj.json_output else err
    try:
        with obj.session() as session:
            result = service.import_transactions(
                session, actor=obj.system_actor(session), registry=_registry(obj),
                data=path.read_bytes(), filename=path.name, partial=partial,
                as_of=_time(as_of), progress=progress)
    except FileRejected as exc:
        rows = [e.as_dict() for e in exc.rows]
        if obj.json_output:
            click.echo(json.dumps({"accepted": 0, "rejected": rows, "alerts": 0,
                                   "error": exc.detail}))
        else:
            err(f"error: {exc.detail}")
            for e in exc.rows[:200]:
                err(f"  row {e.row}: {e.field}: {e.reason}")
            if len(exc.rows) > 200:
                err(f"  ... and {len(exc.rows) - 200} more")
        sys.exit(exc.exit_code)
    result["rejected_rows"] = result.pop("errors")
    human = (f"{path.name}: already imported (batch {result['batch']})" if result["duplicate"]
             else f"{path.name}: {result['accepted']} accepted ({result['added']} new, "
                  f"{result['amended']} amended, {result['unchanged']} unchanged), "
                  f"{result['rejected']} rejected, {result['alerts']} alert(s) created")
    for e in result["rejected_rows"][:200] if not obj.json_output else []:
        human += f"\n  rejected row {e['row']}: {e['field']}: {e['reason']}"
    obj.emit(result, human)


@precursors.command("alerts")
@click.option("--kind", help="Only this check, e.g. stock_discrepancy.")
@click.option("--operator", help="Only this operator's licence.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@pass_ctx
def alerts(obj: CliContext, kind: str | None, operator: str | None, limit: int) -> None:
    """The checks' alerts, newest first; with --json one JSON object per line."""
    with obj.session() as session:
        rows = service.findings(session, actor=obj.system_actor(session), kind=kind,
                                licence=operator, limit=limit)
    if obj.json_output:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    for row in rows:
        click.echo(f"#{row['alert_id']} {row['kind']:<28} {row['operator']:<16} "
                   f"{row['score']:.2f}  {row['title']}")
    if not rows:
        click.echo("no alerts")


@precursors.command("check")
@click.option("--as-of", help="Time the deadline checks run at (default: now), ISO 8601.")
@click.option("--all-records", is_flag=True,
              help="Repeat every per-record check too (after the settings changed).")
@pass_ctx
def check(obj: CliContext, as_of: str | None, all_records: bool) -> None:
    """Run the checks over the whole register (overdue purchases, stock balances)."""
    with obj.session() as session:
        result = service.recheck(session, actor=obj.system_actor(session),
                                 registry=_registry(obj), as_of=_time(as_of),
                                 all_records=all_records)
    obj.emit(result, f"{result['transactions']} transactions checked: {result['findings']} "
                     f"findings, {result['new_alerts']} new alert(s) in {result['seconds']} s")


@precursors.command("reconcile")
@click.option("--operator", help="One operator's licence (default: all).")
@pass_ctx
def reconcile(obj: CliContext, operator: str | None) -> None:
    """Stock balances: every gap between books and counts beyond tolerance (no alerts)."""
    with obj.session() as session:
        result = service.reconcile(session, actor=obj.system_actor(session),
                                   registry=_registry(obj), licence=operator)
    lines = [f"{result['operators']} operators, {result['transactions']} transactions, "
             f"{len(result['discrepancies'])} gap(s) in {result['seconds']} s"]
    lines += [f"  {d['title']}" for d in result["discrepancies"][:200]]
    obj.emit(result, "\n".join(lines))


@precursors.command("returns")
@click.argument("licence")
@click.option("--period", required=True, help="A year (2025) or a quarter (2025-Q3).")
@pass_ctx
def returns_(obj: CliContext, licence: str, period: str) -> None:
    """An operator's return: per substance produced, acquired, used, imported, exported,
    stock."""
    with obj.session() as session:
        rows = service.operator_return(session, actor=obj.system_actor(session),
                                       licence=licence, period=period)
    header = f"{'substance':<40} {'opening':>10} {'in':>10} {'out':>10} {'closing':>10}"
    lines = [header] + [
        f"{r['substance'][:40]:<40} {r['opening_stock'] or 0:>10.1f} "
        f"{r['produced'] + r['acquired'] + r['imported']:>10.1f} "
        f"{r['used'] + r['sold'] + r['exported'] + r['lost'] + r['destroyed']:>10.1f} "
        f"{r['closing_stock'] or 0:>10.1f}" for r in rows]
    obj.emit(rows, "\n".join(lines))


@precursors.command("link-user")
@click.argument("username")
@click.argument("licence")
@pass_ctx
def link_user(obj: CliContext, username: str, licence: str) -> None:
    """Let an operator user submit records for the company with this licence."""
    with obj.session() as session:
        service.link_user(session, actor=obj.system_actor(session), username=username,
                          licence=licence)
    obj.emit({"username": username, "licence": licence}, f"{username} submits for {licence}")


@precursors.command("notifications")
@pass_ctx
def notifications(obj: CliContext) -> None:
    """Pre-export notifications: outgoing, incoming and overdue."""
    with obj.session() as session:
        box = authorisations.inbox(session, actor=obj.system_actor(session))
    lines = []
    for name in ("outgoing", "incoming", "overdue"):
        lines.append(f"{name}: {len(box[name])}")
        lines += [f"  {a['number']} {a['substance']} {a['quantity_kg']} kg -> "
                  f"{a['destination_country']}: {a['notification_status']}"
                  f"{' (OVERDUE)' if a['overdue'] else ''}" for a in box[name][:50]]
    obj.emit(box, "\n".join(lines))
