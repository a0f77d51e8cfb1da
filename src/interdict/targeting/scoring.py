"""Score consignments: rules and model, combined, explained, and a lane chosen.

``score_one`` is the real-time path (one POST: a few hundred microseconds of Python around a
LightGBM prediction); ``score_frame`` is the batch path for files, vectorised with Polars.
Both read the history as it was before the consignments, and both return the same facts: the
combined score, the model's probability and its top contributions, the rule hits, the lane
and why.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from interdict.targeting import features, lanes, rules
from interdict.targeting.engines import Engines
from interdict.targeting.features import Counter, History
from interdict.targeting.frames import MODEL_KINDS


@dataclass
class Scored:
    score: float
    model_probability: float | None
    contributions: list[dict[str, Any]]
    rule_hits: list[dict[str, Any]]
    forced_lane: str | None
    lane: str = "green"
    lane_reasons: list[str] = field(default_factory=list)
    exploration: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 6), "model_probability": self.model_probability,
                "lane": self.lane, "exploration": self.exploration,
                "lane_reasons": self.lane_reasons, "rule_hits": self.rule_hits,
                "contributions": self.contributions}


_SUFFIXES = (("_days_first", "days since first seen: {}"),
             ("_days_last", "days since last seen: {}"),
             ("_unit_z", "unit value against {} (z)"), ("_rate", "fraud rate of {}"),
             ("_crit", "critical rate of {}"), ("_nl", "inspections of {}"),
             ("_n", "declarations of {}"))
_WORDS = {"hs_code": "HS code", "hs_chapter": "HS chapter", "log_unit_value": "log unit value",
          "tax_rate": "tax rate (%)",
          "same_country": "origin = departure", "net_mass_kg": "net mass (kg)"}


def feature_label(name: str) -> str:
    """An analyst's name for a model feature: ``hs_code__origin_country_rate`` reads
    "fraud rate of HS code × origin country"."""
    def words(key: str) -> str:
        return " × ".join(_WORDS.get(part, part.replace("_", " ")) for part in key.split("__"))
    if name in _WORDS or name in features.CATEGORICAL_COLUMNS or "__" not in name and not any(
            name.endswith(sfx) for sfx, _ in _SUFFIXES):
        return words(name)
    for suffix, template in _SUFFIXES:
        if name.endswith(suffix):
            return template.format(words(name[: -len(suffix)]))
    return words(name)


def _contribution(name: str, value: Any, c: float) -> dict[str, Any]:
    return {"feature": name, "label": feature_label(name), "contribution": round(float(c), 4),
            "value": _jsonable({"v": value})["v"]}


def history_keys(row: Mapping[str, Any], kinds: set[str]) -> list[tuple[str, str]]:
    """The keys the features read plus those the rules' history conditions name."""
    keys = set(features.keys_of(row))
    for kind in kinds:
        parts = [row.get(c) for c in kind.split("|")]
        if all(p is not None for p in parts):
            keys.add((kind, "|".join(str(p) for p in parts)))
    return sorted(keys)


def _hit_dict(hit: rules.RuleHit) -> dict[str, Any]:
    return {"rule": hit.rule_id, "title": hit.title, "weight": hit.weight, "lane": hit.lane,
            "owner": hit.owner, "values": _jsonable(hit.values), "detail": hit.detail}


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dt.datetime | dt.date):
            v = v.isoformat()
        elif isinstance(v, float | np.floating):
            v = round(float(v), 6)
        elif isinstance(v, frozenset | set | tuple):
            v = sorted(v)
        out[k] = v
    return out


def score_one(engines: Engines, row: Mapping[str, Any],
              counters: Mapping[tuple[str, str], Counter], *, at: dt.datetime,
              used: Mapping[str, int], rng: random.Random) -> Scored:
    probability = None
    contributions: list[dict[str, Any]] = []
    if engines.scorer is not None and row["kind"] in MODEL_KINDS:
        feats = features.features_one(row, counters, engines.settings.features)
        probability = float(engines.scorer.score_one(feats))
        contributions = [_contribution(name, value, c)
                         for name, c, value in engines.scorer.explain_one(feats, top=5)]
    hits = engines.context.evaluate(row, counters, at)
    score = rules.combine(probability, [h.weight for h in hits])
    forced, forced_by = rules.forced_lane(hits)
    scored = Scored(score=score, model_probability=probability, contributions=contributions,
                    rule_hits=[_hit_dict(h) for h in hits], forced_lane=forced)
    selection = lanes.select_one(score, forced, row.get("office"), used,
                                 engines.settings.lanes, rng, forced_by=forced_by)
    scored.lane, scored.lane_reasons = selection.lane, list(selection.reasons)
    scored.exploration = selection.exploration
    return scored


def score_frame(engines: Engines, frame: pl.DataFrame, prior: History, *, at: dt.datetime,
                seed: int, used: Mapping[tuple[str | None, dt.date | None], Mapping[str, int]]
                | None = None) -> list[Scored]:
    """Score a file of consignments arriving together, each against the history before it.

    The learned score reads the history in time order within the file too; the rules read
    the history as it was before the file (one batch arriving at ``at``). Lanes are planned
    for the day of ``at`` under the capacity left (``used``) per office.
    """
    n = frame.height
    probability: list[float | None] = [None] * n
    contributions: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    modelled = frame["kind"].is_in(list(MODEL_KINDS)).to_numpy()
    feats = None
    if engines.scorer is not None and modelled.any():
        feats = features.features_batch(frame, engines.settings.features, prior=prior,
                                        labels_known=False)
        probs = engines.scorer.score_frame(feats)
        for i in (int(j) for j in np.flatnonzero(modelled)):
            probability[i] = float(probs[i])
    evaluated = engines.context.evaluate_frame(frame, prior.to_frame(), at)
    rule_ids: list[list[str]] = evaluated["rule_hits"].to_list()
    by_id = {r.id: r for r in engines.rules.rules}
    scores = [rules.combine(probability[i], [by_id[r].weight for r in rule_ids[i]])
              for i in range(n)]
    forced = evaluated["forced_lane"].to_list()
    plan = lanes.select_batch(pl.DataFrame({
        "score": scores, "forced_lane": forced, "forced_by": evaluated["forced_by"],
        "office": frame["office"], "day": [at.date()] * n}), engines.settings.lanes, seed,
        used=used)
    # Explanations (TreeSHAP, a few thousand rows a second) only where an officer will look:
    # consignments sent to an inspection lane or alerted.
    if feats is not None and engines.scorer is not None:
        lanes_given = plan["lane"].to_list()
        threshold = engines.settings.lanes.alert_threshold
        wanted = [i for i in range(n) if probability[i] is not None
                  and (lanes_given[i] in ("red", "yellow") or scores[i] >= threshold)]
        if wanted:
            top = engines.scorer.explain_frame(feats[wanted], top=5)
            for i, items in zip(wanted, top, strict=True):
                contributions[i] = [_contribution(name, value, c) for name, c, value in items]
    out = []
    for i, (lane, reasons, exploration) in enumerate(plan.select(
            "lane", "reasons", "exploration").iter_rows()):
        hits = [{"rule": r, "title": by_id[r].title, "weight": by_id[r].weight,
                 "lane": by_id[r].lane, "owner": by_id[r].owner} for r in rule_ids[i]]
        out.append(Scored(score=scores[i], model_probability=probability[i],
                          contributions=contributions[i], rule_hits=hits,
                          forced_lane=forced[i], lane=lane, lane_reasons=list(reasons),
                          exploration=bool(exploration)))
    return out
