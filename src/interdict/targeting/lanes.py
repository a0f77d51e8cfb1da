"""Lane selection under inspection capacity, with a random exploration share.

Lanes, as in ASYCUDA selectivity: red (physical examination), yellow (documentary check),
blue (post-clearance audit), green (release). Red and yellow cost officers' time and are
capped per office and day; blue and green are not.

Order of decisions, the same for one consignment (``select_one``, as it arrives) and for a
day's batch (``select_batch``, planned together):

1. A lane forced by a rule profile wins and is honoured even over capacity: mandatory
   profiles (a legal obligation, a court order, an alert from a partner) are not traded
   against the day's workload. The reasons say when capacity was exceeded.
2. Otherwise the combined score picks the lane by threshold (score >= red, >= yellow,
   >= blue, else green).
3. When red or yellow is full at the office, the consignment steps down red -> yellow -> blue,
   saying so.
4. Exploration: a share of the consignments that would go green is sent to the exploration
   lane (default yellow) at random, while it has room. Without it, the model only ever learns
   from consignments it already found risky, and its blind spots never get inspected.

In a batch, the highest scores get the capacity (a consignment arriving later in the day
cannot take a slot from a riskier one planned earlier), and ``exploration_share`` x the
exploration lane's capacity is held back from score-based picks, so that a busy day still
explores. The number of exploration picks per office and day is the share of its would-be
green consignments, rounded at random so that many small offices still get their share on
average.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

LANES = ("red", "yellow", "blue", "green")
CAPPED = ("red", "yellow")
_STEP = {"red": "yellow", "yellow": "blue"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Lowest combined score for each lane; below ``blue`` is green."""

    red: float = Field(0.8, gt=0, le=1)
    yellow: float = Field(0.6, gt=0, le=1)
    blue: float = Field(0.4, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.red >= self.yellow >= self.blue:
            raise ValueError(f"thresholds must fall red >= yellow >= blue "
                             f"(got {self.red}, {self.yellow}, {self.blue})")
        return self

    def lane(self, score: float) -> str:
        if score >= self.red:
            return "red"
        if score >= self.yellow:
            return "yellow"
        return "blue" if score >= self.blue else "green"


class Capacity(_Strict):
    """Consignments per day an office can examine (red) and check on documents (yellow)."""

    red: int = Field(20, ge=0)
    yellow: int = Field(40, ge=0)


class CapacityOverride(_Strict):
    red: int | None = Field(None, ge=0)
    yellow: int | None = Field(None, ge=0)


class LaneSettings(_Strict):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    default_capacity: Capacity = Field(default_factory=Capacity)
    office_capacity: dict[str, CapacityOverride] = Field(
        default_factory=dict, description="Per office id; a lane left out keeps the default.")
    exploration_share: float = Field(
        0.05, ge=0, le=0.5, description="Share of would-be-green consignments sent at random "
                                        "to the exploration lane, while it has room.")
    exploration_lane: Literal["red", "yellow"] = Field(
        "yellow", description="Exploration needs an inspection outcome, so red or yellow.")
    alert_threshold: float = Field(0.7, gt=0, le=1,
                                   description="Combined score from which an alert is raised.")

    def capacity(self, office: str | None) -> dict[str, int]:
        cap = {"red": self.default_capacity.red, "yellow": self.default_capacity.yellow}
        override = self.office_capacity.get(office) if office is not None else None
        if override is not None:
            cap.update({k: v for k, v in (("red", override.red), ("yellow", override.yellow))
                        if v is not None})
        return cap


@dataclass
class Selection:
    lane: str
    reasons: list[str] = field(default_factory=list)
    exploration: bool = False
    alert: bool = False


def _score_text(score: float, th: Thresholds) -> str:
    """Two decimals, more when two decimals would print a score equal to a threshold it
    does not reach ("score 0.80 < red 0.80")."""
    text = f"{score:.2f}"
    if any(text == f"{t:.2f}" and score < t for t in (th.red, th.yellow, th.blue)):
        text = f"{score:.4f}"
    return text


def threshold_reason(score: float, th: Thresholds) -> tuple[str, str]:
    lane = th.lane(score)
    s = _score_text(score, th)
    if lane == "green":
        return lane, f"score {s} < blue {th.blue:.2f}: green"
    return lane, f"score {s} ≥ {lane} {getattr(th, lane):.2f}"


def _share_text(share: float) -> str:
    return f"exploration ({share * 100:g}% random share)"


def _forced_reason(lane: str, forced_by: str | None) -> str:
    return f"forced {lane} by rule {forced_by}" if forced_by else f"forced {lane} by a rule profile"


def select_one(score: float, forced_lane: str | None, office: str | None,
               used: Mapping[str, int], settings: LaneSettings, rng: random.Random, *,
               forced_by: str | None = None) -> Selection:
    """The lane of one consignment as it arrives.

    ``used``: red and yellow selections already made today at ``office`` (the caller counts
    the returned lane in). ``rng`` draws the exploration; seed it for reproducible tests.
    """
    cap = settings.capacity(office)
    alert = score >= settings.alert_threshold
    if forced_lane is not None:
        if forced_lane not in LANES:
            raise ValueError(f"unknown lane {forced_lane!r}")
        reasons = [_forced_reason(forced_lane, forced_by)]
        n = used.get(forced_lane, 0)
        if forced_lane in CAPPED and n >= cap[forced_lane]:
            reasons.append(f"{forced_lane} capacity at office {office} already used "
                           f"({n}/{cap[forced_lane]}): mandatory profile honoured")
        return Selection(forced_lane, reasons, False, alert)
    lane, why = threshold_reason(score, settings.thresholds)
    reasons = [why]
    while lane in CAPPED and used.get(lane, 0) >= cap[lane]:
        lower = _STEP[lane]
        reasons.append(f"{lane} capacity at office {office} reached "
                       f"({used.get(lane, 0)}/{cap[lane]}): {lower}")
        lane = lower
    if lane == "green" and settings.exploration_share > 0:
        target = settings.exploration_lane
        if rng.random() < settings.exploration_share and used.get(target, 0) < cap[target]:
            reasons.append(_share_text(settings.exploration_share))
            return Selection(target, reasons, True, alert)
    return Selection(lane, reasons, False, alert)


def _random_round(x: float, rng: random.Random) -> int:
    """floor(x) plus one with probability frac(x): right on average for small groups."""
    whole = math.floor(x)
    return whole + (1 if rng.random() < x - whole else 0)


@dataclass
class _Group:
    office: str | None
    cap: dict[str, int]
    used: dict[str, int]
    rows: list[int]


def _plan_group(g: _Group, scores: list[float], forced: list[str | None],
                forced_by: list[str | None], settings: LaneSettings, rng: random.Random,
                lane: list[str], reasons: list[list[str]], explored: list[bool]) -> None:
    th, office, cap, used = settings.thresholds, g.office, g.cap, g.used
    free: list[int] = []
    for i in g.rows:
        f = forced[i]
        if f is None:
            free.append(i)
            continue
        lane[i] = f
        reasons[i].append(_forced_reason(f, forced_by[i]))
        if f in CAPPED:
            if used[f] >= cap[f]:
                reasons[i].append(f"{f} capacity at office {office} already used "
                                  f"({used[f]}/{cap[f]}): mandatory profile honoured")
            used[f] += 1
    free.sort(key=lambda i: (-scores[i], i))
    by_lane: dict[str, list[int]] = {k: [] for k in LANES}
    for i in free:
        wanted, why = threshold_reason(scores[i], th)
        reasons[i].append(why)
        by_lane[wanted].append(i)
    greens = by_lane["green"]
    share, target_lane = settings.exploration_share, settings.exploration_lane
    picks = _random_round(share * len(greens), rng) if share > 0 else 0
    reserve = min(math.ceil(share * cap[target_lane]), picks,
                  max(cap[target_lane] - used[target_lane], 0))
    overflow: list[int] = []
    for current in CAPPED:
        queue = overflow + by_lane[current]       # stepped-down ones score higher
        overflow = []
        held = reserve if current == target_lane else 0
        room = cap[current] - used[current] - held
        for i in queue:
            if room > 0:
                lane[i] = current
                used[current] += 1
                room -= 1
                continue
            kept = f", {held} kept for exploration" if held else ""
            reasons[i].append(f"{current} capacity at office {office} reached "
                              f"({used[current]}/{cap[current]}{kept}): {_STEP[current]}")
            overflow.append(i)
    for i in overflow + by_lane["blue"]:
        lane[i] = "blue"
    for i in greens:
        lane[i] = "green"
    room = max(cap[target_lane] - used[target_lane], 0)
    for i in rng.sample(greens, min(picks, room, len(greens))):
        lane[i] = target_lane
        explored[i] = True
        reasons[i].append(_share_text(share))
        used[target_lane] += 1


def select_batch(frame: pl.DataFrame, settings: LaneSettings, seed: int, *,
                 used: Mapping[tuple[str | None, date | None], Mapping[str, int]] | None = None
                 ) -> pl.DataFrame:
    """A planned selection per office and day: ``frame`` plus lane, reasons, exploration and
    alert.

    ``frame`` has ``score`` (null: 0), ``forced_lane``, ``office`` and ``day`` (or
    ``declared_at``, whose UTC date is used), optionally ``forced_by``. ``used`` gives red and
    yellow selections already made per (office, day) before this batch. The result depends
    only on the rows, their order and ``seed``.
    """
    if "day" in frame.columns:
        days = frame["day"].to_list()
    elif "declared_at" in frame.columns:
        days = frame["declared_at"].dt.date().to_list()
    else:
        raise ValueError("select_batch needs a day or declared_at column")
    scores = [0.0 if s is None else float(s) for s in frame["score"].to_list()]
    forced = _column(frame, "forced_lane")
    forced_by = _column(frame, "forced_by")
    offices = _column(frame, "office")
    for f in set(forced) - {None}:
        if f not in LANES:
            raise ValueError(f"unknown lane {f!r} in forced_lane")

    groups: dict[tuple[str | None, date | None], _Group] = {}
    for i, key in enumerate(zip(offices, days, strict=True)):
        g = groups.get(key)
        if g is None:
            before = (used or {}).get(key, {})
            g = groups[key] = _Group(key[0], settings.capacity(key[0]),
                                     {k: int(before.get(k, 0)) for k in CAPPED}, [])
        g.rows.append(i)
    n = frame.height
    lane = ["green"] * n
    reasons: list[list[str]] = [[] for _ in range(n)]
    explored = [False] * n
    rng = random.Random(seed)
    for key in sorted(groups, key=lambda k: (str(k[0]), str(k[1]))):
        _plan_group(groups[key], scores, forced, forced_by, settings, rng, lane, reasons,
                    explored)
    alert = [s >= settings.alert_threshold for s in scores]
    return frame.with_columns(
        pl.Series("lane", lane, dtype=pl.String),
        _string_lists("reasons", reasons),
        pl.Series("exploration", explored, dtype=pl.Boolean),
        pl.Series("alert", alert, dtype=pl.Boolean))


def _string_lists(name: str, lists: list[list[str]]) -> pl.Series:
    """A List(String) Series from offsets and one flat array: building it from Python lists
    row by row takes ten times as long."""
    flat: list[str] = []
    offsets = [0]
    for items in lists:
        flat.extend(items)
        offsets.append(len(flat))
    array = pa.ListArray.from_arrays(pa.array(offsets, pa.int64()), pa.array(flat, pa.string()))
    series = pl.Series(name, array)
    return series.cast(pl.List(pl.String))


def _column(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame[name].to_list() if name in frame.columns else [None] * frame.height
