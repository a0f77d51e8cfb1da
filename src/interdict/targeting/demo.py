"""Demo step and live feed: a customs targeting centre with history, a model and arrivals.

The demo agency NL-CUSTOMS receives the KCS synthetic declarations (MIT, shipped gzipped in
``data/``): 2020 and 2021 Q1 with their inspection outcomes as history, dates shifted so the
history ends yesterday. A model is trained on them, then arrivals from 2021 Q2 are submitted
one by one as they would come from the declaration system, with a few private flights and
pleasure craft that the rule profiles alone score. Some red-lane consignments get their
inspection result, so rule hit rates and the drift report have outcomes to show.

``replay`` is the live stream: ``interdict targeting replay`` posts further arrivals at a
steady pace, and the queue page shows them as they are scored.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from interdict.auth.actor import Actor
from interdict.demo.registry import DemoContext, register_step
from interdict.reference.registry import Registry
from interdict.targeting import management, service
from interdict.targeting.frames import CSV_COLUMNS
from interdict.targeting.schemas import (
    AviationIn,
    CraftIn,
    DeclarationIn,
    InspectionIn,
    InspectionResult,
)

HISTORY_END = dt.date(2021, 3, 31)


def shipped_csv(split: str) -> bytes:
    """One of the shipped KCS files (train, valid, test), as CSV bytes."""
    blob = resources.files("interdict.targeting").joinpath(f"data/kcs_{split}.csv.gz")
    return gzip.decompress(blob.read_bytes())


def shift_dates(data: bytes, days: int) -> bytes:
    """The same CSV with every ``Date`` moved by ``days``."""
    frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    frame = frame.with_columns((pl.col("Date").str.to_date() + pl.duration(days=days))
                               .dt.strftime("%Y-%m-%d").alias("Date"))
    out = io.BytesIO()
    frame.write_csv(out)
    return out.getvalue()


def arrivals(now: dt.datetime, *, start: int = 0) -> Iterator[tuple[DeclarationIn, int, int]]:
    """2021 Q2 declarations as new arrivals at ``now`` (outcomes held back: returned beside)."""
    frame = pl.read_csv(io.BytesIO(shipped_csv("test")), infer_schema=False)
    for record in frame.slice(start).iter_rows(named=True):
        values: dict[str, Any] = {CSV_COLUMNS[k]: (v if v != "" else None)
                                  for k, v in record.items()}
        fraud, critical = int(values.pop("fraud")), int(values.pop("critical"))
        values["declared_at"] = now
        values["reference"] = f"{values['reference']}-L"
        yield DeclarationIn.model_validate(values), fraud, critical


def _flights(now: dt.datetime) -> list[Any]:
    h = dt.timedelta(hours=1)
    return [
        AviationIn(kind="aviation", reference="GA-PH-DMO-001", declared_at=now,
                   office="SCHIPHOL-GA", aircraft_registration="PH-DMO",
                   operator="Demo Air Charter BV", pilot="J. de Vries",
                   passengers=["A. Jansen", "M. Bakker"], departure_airport="SKBO",
                   arrival_airport="EHAM", departure_country="CO", route=["CO", "PT"],
                   actual_departure=now - 11 * h, arrived_at_departure=now - 15 * h,
                   actual_arrival=now),
        AviationIn(kind="aviation", reference="GA-D-IXYZ-002", declared_at=now,
                   office="SCHIPHOL-GA", aircraft_registration="D-IXYZ",
                   operator="Example Flugdienst GmbH", pilot="K. Weber",
                   departure_airport="EDDF", arrival_airport="EHAM", departure_country="DE",
                   actual_departure=now - 2 * h, arrived_at_departure=now - 50 * h,
                   actual_arrival=now),
        CraftIn(kind="craft", reference="YACHT-NL-0193", declared_at=now, office="IJMUIDEN",
                vessel_name="Zeemeeuw", vessel_id="244123456", flag="NL", skipper="P. Smit",
                crew=["R. Smit"], departure_port="Tanger", departure_country="MA",
                route=["MA", "ES"], departed_at=now - 400 * h,
                arrived_at_departure=now - 410 * h),
    ]


def replay(session_factory: Callable[[], Any], actor: Actor, registry: Registry, *,
           count: int, interval: float, start: int = 0,
           say: Callable[[str], None] | None = None) -> int:
    """Submit ``count`` arrivals, one every ``interval`` seconds (the demo's live stream)."""
    sent = 0
    for item, _fraud, _critical in arrivals(dt.datetime.now(dt.UTC), start=start):
        if sent >= count:
            break
        item = item.model_copy(update={"declared_at": dt.datetime.now(dt.UTC)})
        with session_factory() as session:
            result = service.submit(session, actor=actor, registry=registry, item=item)
        if say:
            say(f"{result['reference']}: {result['lane']} ({result['score']:.2f})")
        sent += 1
        time.sleep(interval)
    return sent


def _step(ctx: DemoContext) -> None:
    targeter = ctx.actors["targeter@nl-customs"]
    registry = Registry()
    session: Session = ctx.session
    shift = (ctx.now.date() - dt.timedelta(days=1) - HISTORY_END).days
    for split in ("train", "valid"):
        service.import_file(session, actor=targeter, registry=registry,
                            data=shift_dates(shipped_csv(split), shift),
                            filename=f"kcs-{split}-history.csv")
    trained = management.train(session, actor=targeter, registry=registry)
    red, sent = 0, 0
    outcomes = []
    for i, (item, fraud, critical) in enumerate(arrivals(ctx.now)):
        if i >= 400:
            break
        item = item.model_copy(update={
            "declared_at": ctx.now - dt.timedelta(minutes=2 * (400 - i))})
        result = service.submit(session, actor=targeter, registry=registry, item=item)
        sent += 1
        if result["lane"] in ("red", "yellow"):
            outcomes.append((result["id"], fraud, critical))
            red += 1
    for item in _flights(ctx.now):
        service.submit(session, actor=targeter, registry=registry, item=item)
    # Inspections of the first half of the selected consignments have come back.
    for consignment_id, fraud, critical in outcomes[: len(outcomes) // 2]:
        found = InspectionResult.nothing_found if not fraud else (
            InspectionResult.seized if critical == 2 else InspectionResult.documentary_fraud)
        service.record_inspection(session, actor=targeter, consignment_id=consignment_id,
                                  data=InspectionIn(
                                      result=found, critical=critical == 2,
                                      substance="undeclared goods" if critical == 2 else "",
                                      notes="demo: outcome from the KCS label"))
    ctx.summary["targeting history"] = trained["n_train"] + trained["n_valid"]
    ctx.summary["targeting arrivals"] = sent + 3
    ctx.summary["targeting red/yellow"] = red


register_step("targeting.customs_centre", _step, order=50)
