"""The active rule profiles and model of an agency, loaded once per version and kept.

A request must not parse YAML or rebuild a LightGBM booster: both are cached by the id of the
rule-set and model rows, which never change once written (a new version is a new row). Each
request only asks the database which ids are active, so every worker process picks up a new
version on its next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import interdict.substances.service as substances
from interdict.reference.registry import Registry
from interdict.targeting.model import Scorer, TrainedModel
from interdict.targeting.models import RuleSet as RuleSetRow
from interdict.targeting.models import TargetingModel
from interdict.targeting.rules import RuleContext, RuleSet, parse_rules
from interdict.targeting.specs import TargetingSettings

_lock = threading.Lock()
_rules: dict[str, RuleSet] = {}
_scorers: dict[str, tuple[Scorer, TrainedModel]] = {}
_MAX_SCORERS = 4


def default_rules_text(registry: Registry) -> str:
    """The reference rule profiles (shipped, or the agency's override of ``targeting/rules``),
    used until an agency saves its own version."""
    return registry.get("targeting/rules").path.read_text("utf-8")


@dataclass(frozen=True)
class Engines:
    settings: TargetingSettings
    rule_set_id: int | None          # None: the shipped default profiles
    rule_set_version: int
    rules: RuleSet
    model_id: int | None             # None: no model trained yet (rules only)
    model_version: int | None
    scorer: Scorer | None
    trained: TrainedModel | None
    lists: dict[str, frozenset[str]]  # named sets the rules may use (precursor_hs, ...)
    context: RuleContext              # the rules bound to those lists
    precursor_hs: dict[str, list[str]]


def settings(registry: Registry) -> TargetingSettings:
    content = registry.get("targeting/settings").content
    if not isinstance(content, TargetingSettings):
        raise TypeError("targeting/settings is not a targeting_settings file")
    return content


def _rules_for(session: Session, agency_id: int, registry: Registry
               ) -> tuple[tuple[int | None, int], RuleSet]:
    row = session.execute(select(RuleSetRow.id, RuleSetRow.version, RuleSetRow.created_at)
                          .where(RuleSetRow.agency_id == agency_id,
                                 RuleSetRow.active.is_(True))).first()
    # Ids alone could name another row after a database is recreated: add the save time.
    key = f"{row[0]}@{row[2].isoformat()}" if row is not None else \
        f"default:{registry.get('targeting/rules').checksum}"
    with _lock:
        cached = _rules.get(key)
    if cached is None:
        text = default_rules_text(registry) if row is None else session.scalar(
            select(RuleSetRow.text).where(RuleSetRow.id == row[0]))
        cached = parse_rules(text or "")
        with _lock:
            _rules[key] = cached
    return ((row[0], row[1]) if row is not None else (None, 0)), cached


def _model_for(session: Session, agency_id: int
               ) -> tuple[int | None, int | None, Scorer | None, TrainedModel | None]:
    row = session.execute(select(TargetingModel.id, TargetingModel.version,
                                 TargetingModel.created_at).where(
        TargetingModel.agency_id == agency_id, TargetingModel.active.is_(True))).first()
    if row is None:
        return None, None, None, None
    key = f"{row[0]}@{row[2].isoformat()}"
    with _lock:
        cached = _scorers.get(key)
    if cached is None:
        payload = session.scalar(select(TargetingModel.payload).where(
            TargetingModel.id == row[0]))
        trained = TrainedModel.from_json(payload or {})
        cached = (Scorer(trained), trained)
        with _lock:
            while len(_scorers) >= _MAX_SCORERS:
                _scorers.pop(next(iter(_scorers)))
            _scorers[key] = cached
    return row[0], row[1], cached[0], cached[1]


_hs_cache: dict[str, dict[str, list[str]]] = {}
#: Schedules whose HS codes make the ``precursor_hs`` list: EU categories 1 and 2 and UN Table
#: I. Category 3 and Table II (acetone, toluene, sulphuric acid...) are bulk chemicals traded
#: by the thousand tonnes; their codes would send ordinary trade to inspection.
PRECURSOR_SCHEDULES = frozenset({"1", "2A", "2B", "Table I"})


def _precursor_hs(registry: Registry) -> dict[str, list[str]]:
    """HS6 codes of scheduled precursors -> their names, from the substance lists in force.

    Residual subheadings (sixth digit 9, "other ...") hold thousands of ordinary chemicals
    besides the designer precursors listed under them, so they are left out.
    """
    key = str(id(registry))
    if key not in _hs_cache:
        found = substances.precursor_hs_codes(index=substances.get_index(registry))
        _hs_cache.clear()
        _hs_cache[key] = {
            code: sorted({e["name"] for e in entries})
            for code, entries in found.items()
            if code[5] != "9" and any(e["schedule"] in PRECURSOR_SCHEDULES for e in entries)}
    return _hs_cache[key]


def active(session: Session, agency_id: int, registry: Registry) -> Engines:
    """What scores the agency's next consignment."""
    (rule_set_id, version), rules = _rules_for(session, agency_id, registry)
    model_id, model_version, scorer, trained = _model_for(session, agency_id)
    hs = _precursor_hs(registry)
    lists = {"precursor_hs": frozenset(hs)}
    return Engines(settings=settings(registry), rule_set_id=rule_set_id,
                   rule_set_version=version, rules=rules, model_id=model_id,
                   model_version=model_version, scorer=scorer, trained=trained,
                   lists=lists, context=rules.context(lists), precursor_hs=hs)
