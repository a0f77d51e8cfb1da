"""Lane selection: thresholds and their edges, forced lanes, capacity step-down, exploration
share, and a day's planned batch that never exceeds capacity except for mandatory profiles."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import polars as pl
import pytest
from pydantic import ValidationError

from interdict.targeting.lanes import LaneSettings, select_batch, select_one

NO_EXPLORATION = LaneSettings(exploration_share=0)
SETTINGS = LaneSettings(office_capacity={"40": {"red": 5}})


def one(score: float, forced: str | None = None, used: dict[str, int] | None = None,
        settings: LaneSettings = NO_EXPLORATION, **kw):
    return select_one(score, forced, "40", used or {}, settings, random.Random(1), **kw)


@pytest.mark.parametrize("score, lane", [
    (1.0, "red"), (0.8, "red"), (0.7999, "yellow"), (0.6, "yellow"), (0.5999, "blue"),
    (0.4, "blue"), (0.3999, "green"), (0.0, "green")])
def test_threshold_edges(score, lane):
    assert one(score).lane == lane


def test_reasons_name_score_and_threshold():
    assert one(0.86).reasons == ["score 0.86 ≥ red 0.80"]
    assert one(0.2).reasons == ["score 0.20 < blue 0.40: green"]
    assert one(0.7999).reasons == ["score 0.7999 ≥ yellow 0.60"]   # not "0.80 ≥ yellow"
    assert one(0.75).alert and not one(0.69).alert


def test_capacity_steps_down_red_yellow_blue():
    s = one(0.9, used={"red": 20})
    assert s.lane == "yellow"
    assert s.reasons == ["score 0.90 ≥ red 0.80",
                         "red capacity at office 40 reached (20/20): yellow"]
    s = one(0.9, used={"red": 20, "yellow": 40})
    assert s.lane == "blue" and s.reasons[-1] == \
        "yellow capacity at office 40 reached (40/40): blue"
    assert one(0.65, used={"red": 20}).lane == "yellow"
    small = LaneSettings(exploration_share=0, office_capacity={"40": {"red": 5}})
    assert one(0.9, used={"red": 5}, settings=small).lane == "yellow"
    assert select_one(0.9, None, "41", {"red": 5}, small, random.Random(1)).lane == "red"
    assert small.capacity("40") == {"red": 5, "yellow": 40}


def test_forced_lane_wins_even_over_capacity_and_score():
    s = one(0.1, forced="red", used={"red": 20}, forced_by="precursor-first-import")
    assert s.lane == "red"
    assert s.reasons == ["forced red by rule precursor-first-import",
                         "red capacity at office 40 already used (20/20): mandatory profile "
                         "honoured"]
    assert one(0.95, forced="green").lane == "green"
    assert one(0.3, forced="yellow", settings=LaneSettings(exploration_share=0.5)).lane == "yellow"
    with pytest.raises(ValueError):
        one(0.3, forced="purple")


def test_exploration_share_of_would_be_green_while_there_is_room():
    settings = LaneSettings(exploration_share=0.05, default_capacity={"red": 10, "yellow": 10})
    rng = random.Random(42)
    picks = [select_one(0.1, None, "1", {}, settings, rng) for _ in range(20_000)]
    explored = [s for s in picks if s.exploration]
    assert abs(len(explored) / len(picks) - 0.05) < 0.006
    assert {s.lane for s in explored} == {"yellow"}
    assert explored[0].reasons[-1] == "exploration (5% random share)"
    assert not any(select_one(0.1, None, "1", {"yellow": 10}, settings, rng).exploration
                   for _ in range(2_000))                       # no room
    assert not any(select_one(0.45, None, "1", {}, settings, rng).exploration
                   for _ in range(2_000))                       # blue, not green
    red = LaneSettings(exploration_share=0.5, exploration_lane="red")
    assert any(select_one(0.1, None, "1", {}, red, rng).lane == "red" for _ in range(50))


def test_settings_are_validated():
    with pytest.raises(ValidationError):
        LaneSettings(thresholds={"red": 0.5, "yellow": 0.6, "blue": 0.4})
    with pytest.raises(ValidationError):
        LaneSettings(exploration_lane="green")
    with pytest.raises(ValidationError):
        LaneSettings(capacity=3)


# --- a day's batch -----------------------------------------------------------------------

def day_frame(n: int, seed: int, offices=("40", "41", "42"), days=2) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        forced = rng.choices([None, "red", "yellow", "green"], [0.97, 0.01, 0.01, 0.01])[0]
        rows.append({"id": i, "score": rng.betavariate(2, 2), "forced_lane": forced,
                     "forced_by": f"rule-{i}" if forced else None,
                     "office": rng.choice(offices), "day": date(2026, 3, 1 + rng.randrange(days))})
    return pl.DataFrame(rows)


def test_batch_respects_capacity_per_office_and_day_except_forced():
    frame = day_frame(3000, 1)
    out = select_batch(frame, SETTINGS, seed=3)
    counts = out.group_by("office", "day", "lane").agg(
        pl.len().alias("n"), pl.col("forced_lane").is_not_null().sum().alias("forced"))
    for r in counts.iter_rows(named=True):
        if r["lane"] in ("red", "yellow"):
            cap = SETTINGS.capacity(r["office"])[r["lane"]]
            # Forced consignments take capacity first; the rest never go beyond what is left.
            assert r["n"] - r["forced"] <= max(cap - r["forced"], 0), r
    # Capacity is used, not wasted: every office-day fills red and yellow.
    full = counts.filter(pl.col("lane") == "red")
    assert all(r["n"] >= SETTINGS.capacity(r["office"])["red"] for r in full.iter_rows(named=True))
    # Forced lanes are honoured.
    forced = out.filter(pl.col("forced_lane").is_not_null())
    assert (forced["lane"] == forced["forced_lane"]).all()
    assert forced["reasons"].list.first().str.starts_with("forced ").all()


def test_batch_gives_capacity_to_the_highest_scores():
    out = select_batch(day_frame(3000, 2), SETTINGS, seed=3)
    free = out.filter(pl.col("forced_lane").is_null())
    for (office, _), g in free.group_by("office", "day"):
        reds = g.filter(pl.col("lane") == "red")["score"]
        stepped = g.filter((pl.col("score") >= 0.8) & (pl.col("lane") != "red"))["score"]
        if len(stepped):
            assert not len(reds) or reds.min() >= stepped.max()
            reason = g.filter(pl.col("score") == stepped.max())["reasons"][0].to_list()
            assert reason[1].startswith(f"red capacity at office {office} reached (")
        explored = g.filter(pl.col("exploration"))
        assert (explored["score"] < 0.4).all() and (explored["lane"] == "yellow").all()


def test_batch_is_deterministic_for_a_seed():
    frame = day_frame(2000, 4)
    a, b = select_batch(frame, SETTINGS, seed=9), select_batch(frame, SETTINGS, seed=9)
    assert a.equals(b)
    c = select_batch(frame, SETTINGS, seed=10)
    assert not a["exploration"].equals(c["exploration"])
    # Only the random picks differ between seeds.
    both = ~a["exploration"] & ~c["exploration"]
    assert a.filter(both)["lane"].equals(c.filter(both)["lane"])


def test_batch_exploration_share_over_many_office_days():
    settings = LaneSettings(exploration_share=0.05, default_capacity={"red": 50, "yellow": 200})
    rng = random.Random(5)
    rows = [{"score": rng.random() * 0.39, "forced_lane": None, "office": str(rng.randrange(40)),
             "day": date(2026, 3, 1 + rng.randrange(28))} for _ in range(40_000)]
    out = select_batch(pl.DataFrame(rows), settings, seed=1)
    share = out["exploration"].mean()
    assert abs(share - 0.05) < 0.005, share
    assert out.filter(pl.col("exploration"))["reasons"].list.last().unique().to_list() == \
        ["exploration (5% random share)"]


def test_busy_day_keeps_a_reserve_for_exploration():
    settings = LaneSettings(exploration_share=0.1, default_capacity={"red": 5, "yellow": 20})
    rows = [{"score": 0.65, "forced_lane": None, "office": "40", "day": date(2026, 3, 1)}] * 100
    rows += [{"score": 0.1, "forced_lane": None, "office": "40", "day": date(2026, 3, 1)}] * 100
    out = select_batch(pl.DataFrame(rows), settings, seed=1)
    lanes = out.group_by("lane", "exploration").len().sort("lane", "exploration")
    assert lanes.rows() == [("blue", False, 82), ("green", False, 98), ("yellow", False, 18),
                            ("yellow", True, 2)]
    stepped = out.filter(pl.col("lane") == "blue")["reasons"][0].to_list()
    assert stepped == ["score 0.65 ≥ yellow 0.60",
                       "yellow capacity at office 40 reached (18/20, 2 kept for exploration): "
                       "blue"]


def test_batch_steps_red_overflow_into_yellow_and_counts_earlier_use():
    day = date(2026, 3, 1)
    rows = [{"score": 0.9 + i / 1000, "forced_lane": None, "office": "40", "day": day}
            for i in range(8)]
    rows.append({"score": 0.2, "forced_lane": "red", "forced_by": "must", "office": "40",
                 "day": day})
    settings = LaneSettings(exploration_share=0, default_capacity={"red": 4, "yellow": 3})
    out = select_batch(pl.DataFrame(rows), settings, seed=0,
                       used={("40", day): {"red": 1}})
    # One earlier and one forced selection leave two red slots, for the two highest scores.
    assert out["lane"].to_list() == ["blue", "blue", "blue", "yellow", "yellow", "yellow", "red",
                                     "red", "red"]
    assert out["reasons"][-1].to_list() == ["forced red by rule must"]
    assert out["reasons"][0].to_list()[1:] == [
        "red capacity at office 40 reached (4/4): yellow",
        "yellow capacity at office 40 reached (3/3): blue"]


def test_batch_day_from_declared_at_and_missing_scores():
    frame = pl.DataFrame({"score": [None, 0.9], "forced_lane": [None, None],
                          "office": ["40", "40"],
                          "declared_at": [datetime(2026, 3, 1, 8, tzinfo=UTC)] * 2})
    out = select_batch(frame, NO_EXPLORATION, seed=0)
    assert out["lane"].to_list() == ["green", "red"]
    assert out["alert"].to_list() == [False, True]
    with pytest.raises(ValueError):
        select_batch(frame.drop("declared_at"), NO_EXPLORATION, seed=0)
