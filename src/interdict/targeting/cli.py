"""``interdict targeting``: consignments, scoring, models and rules from the command line.

Every command takes ``--json`` (on the root command) for machine output. ``train`` and
``evaluate`` with files work on the files alone; the others act for the chosen agency
(``--agency`` or INTERDICT_AGENCY).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from interdict.cli.context import CliContext, err, pass_ctx, refused
from interdict.errors import InvalidData
from interdict.reference.registry import Registry
from interdict.targeting import engines, evaluation, management, records, service

PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("targeting")
def targeting() -> None:
    """Risk-based targeting: score consignments, select lanes, learn from inspections."""


def _registry(obj: CliContext) -> Registry:
    return Registry(override=obj.settings.reference_path)


def _frame(path: Path) -> records.Parsed:
    return records.parse(path.read_bytes(), path.name)


@targeting.command("import")
@click.argument("path", type=PATH)
@pass_ctx
def import_(obj: CliContext, path: Path) -> None:
    """Import declarations (KCS CSV layout or JSON lines), all or nothing.

    A file whose rows all carry outcomes (Fraud) is history: stored and counted. A file
    without outcomes is new arrivals: scored, laned and alerted. The same file again
    changes nothing.
    """
    progress = None if obj.json_output else err
    try:
        with obj.session() as session:
            result = service.import_file(session, actor=obj.system_actor(session),
                                         registry=_registry(obj), data=path.read_bytes(),
                                         filename=path.name, progress=progress)
    except InvalidData as exc:
        refused(obj, exc)
        return
    human = (f"{path.name}: already imported (batch {result['batch']})"
             if result.get("repeat") else
             f"{path.name}: {result['rows']} rows: {result['history']} history, "
             f"{result['scored']} scored, {result['unchanged']} unchanged, "
             f"{result['alerts']} alert(s)")
    obj.emit(result, human)


@targeting.command("score")
@click.argument("path", type=PATH)
@pass_ctx
def score(obj: CliContext, path: Path) -> None:
    """Score a file against the agency's history, profiles and model without storing it:
    one JSON object per consignment (score, lane, reasons)."""
    try:
        with obj.session(readonly=True) as session:
            rows = service.score_file(session, actor=obj.system_actor(session),
                                      registry=_registry(obj), data=path.read_bytes(),
                                      filename=path.name)
    except InvalidData as exc:
        refused(obj, exc)
        return
    for row in rows:
        click.echo(json.dumps(row, default=str))


@targeting.command("train")
@click.option("--train", "train_path", type=PATH, help="Training declarations (with outcomes).")
@click.option("--valid", "valid_path", type=PATH, help="Validation declarations, later in "
              "time: stop training and calibrate.")
@click.option("--label", type=click.Choice(["fraud", "critical"]), default="fraud",
              show_default=True)
@click.option("--no-activate", is_flag=True, help="Keep the active model; store this one.")
@pass_ctx
def train(obj: CliContext, train_path: Path | None, valid_path: Path | None, label: str,
          no_activate: bool) -> None:
    """Train a model and store it as the agency's next version (active unless told).

    With --train and --valid, from those files; without, from the agency's own labelled
    consignments (imported history and recorded inspections).
    """
    if (train_path is None) != (valid_path is None):
        raise click.UsageError("give both --train and --valid, or neither")
    progress = None if obj.json_output else err
    started = time.perf_counter()
    try:
        frames = (_frame(train_path).frame, _frame(valid_path).frame) \
            if train_path and valid_path else (None, None)
        with obj.session() as session:
            result = management.train(session, actor=obj.system_actor(session),
                                      registry=_registry(obj), train_frame=frames[0],
                                      valid_frame=frames[1], label=label,
                                      activate=not no_activate, progress=progress)
    except InvalidData as exc:
        refused(obj, exc)
        return
    result["seconds"] = round(time.perf_counter() - started, 2)
    m = result["metrics"]
    obj.emit(result, f"model version {result['version']} ({label}) trained in "
                     f"{result['seconds']} s on {result['n_train']} declarations; validation "
                     f"AUC {m.get('auc', float('nan')):.3f}, precision@5% "
                     f"{m.get('precision_at', {}).get('5', float('nan')):.3f}"
                     + ("" if no_activate else "; active"))


@targeting.command("evaluate")
@click.option("--train", "train_path", type=PATH, required=True)
@click.option("--valid", "valid_path", type=PATH, required=True)
@click.option("--test", "test_path", type=PATH, required=True)
@click.option("--label", type=click.Choice(["fraud", "critical"]), default="fraud",
              show_default=True, help="critical: Critical Fraud == 2 is the positive class.")
@pass_ctx
def evaluate(obj: CliContext, train_path: Path, valid_path: Path, test_path: Path,
             label: str) -> None:
    """Train on train/valid, score test time-aware; precision and recall at 1, 2, 5, 10 %."""
    try:
        frames = [_frame(p).frame for p in (train_path, valid_path, test_path)]
    except InvalidData as exc:
        refused(obj, exc)
        return
    settings = engines.settings(_registry(obj))
    result = evaluation.evaluate(*frames, label=label,
                                 settings=settings.model.model_copy(update={"label": label}),
                                 feature_settings=settings.features,
                                 progress=None if obj.json_output else err)
    if obj.json_output:
        click.echo(json.dumps(result))
        return
    click.echo(f"label {result['label']}, {result['n_test']} test declarations, "
               f"AUC {result['auc']:.4f}")
    for n in ("1", "2", "5", "10"):
        click.echo(f"  top {n:>2}%: precision {result['precision_at'][n]:.4f}, "
                   f"recall {result['recall_at'][n]:.4f}")


@targeting.command("rules")
@click.option("--save", "save_path", type=PATH, help="Validate this rule file and make it the "
              "active version.")
@click.option("--note", default="", help="What changed (kept with the version).")
@pass_ctx
def rules(obj: CliContext, save_path: Path | None, note: str) -> None:
    """Show the rule profiles in force with hit rates, or save a new version."""
    try:
        with obj.session() as session:
            actor = obj.system_actor(session)
            if save_path is not None:
                saved = management.save_rules(session, actor=actor,
                                              text=save_path.read_text("utf-8"), note=note)
                obj.emit(saved, f"rule profiles version {saved['version']} active "
                                f"({saved['rules']} rules)")
                return
            current = management.active_rules(session, actor=actor, registry=_registry(obj))
    except InvalidData as exc:
        refused(obj, exc)
        return
    lines = [f"version {current['version']}"
             + (" (shipped default)" if current["shipped_default"] else "")]
    for r in current["rules"]:
        rate = "-" if r["hit_rate"] is None else f"{r['hit_rate']:.2f}"
        lines.append(f"  {r['id']:<32} weight {r['weight']:.2f} lane {r['lane'] or '-':<6} "
                     f"hits {r['hits']:>6} inspected {r['inspected']:>5} hit rate {rate}")
    obj.emit(current, "\n".join(lines))


@targeting.command("drift")
@pass_ctx
def drift(obj: CliContext) -> None:
    """Recent score distribution and hit rate against the active model's training period."""
    with obj.session(readonly=True) as session:
        report = management.drift(session, actor=obj.system_actor(session),
                                  registry=_registry(obj))
    recent = report["recent"]
    psi = "-" if report["psi"] is None else f"{report['psi']:.3f}"
    rate = "-" if recent["hit_rate"] is None else f"{recent['hit_rate']:.2f}"
    obj.emit(report, f"last {report['period_days']} days: {recent['scored']} scored, "
                     f"{recent['inspected']} inspected, hit rate {rate}, "
                     f"PSI {psi}{' (drifted)' if report['drifted'] else ''}")


@targeting.command("replay")
@click.option("--count", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--interval", type=click.FloatRange(0, 3600), default=2.0, show_default=True,
              help="Seconds between two consignments.")
@click.option("--start", type=click.IntRange(0), default=400, show_default=True,
              help="First row of the shipped 2021 Q2 declarations (the demo used the first "
                   "400).")
@pass_ctx
def replay(obj: CliContext, count: int, interval: float, start: int) -> None:
    """The demo's live stream: submit shipped 2021 Q2 declarations as arrivals, one at a time.

    Open /targeting to watch them arrive and get their lanes.
    """
    from interdict.targeting.demo import replay as run

    with obj.session(readonly=True) as session:
        actor = obj.system_actor(session)
    sent = run(obj.session, actor, _registry(obj), count=count, interval=interval,
               start=start, say=None if obj.json_output else err)
    obj.emit({"sent": sent}, f"{sent} consignments submitted")
