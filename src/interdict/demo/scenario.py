"""The platform's part of the demo: agencies in three countries, users per role, alerts.

Everything is drawn from one seeded RNG, so two loads on the same day give the same scenario.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interdict.alerts import service as alerts
from interdict.alerts.models import Alert
from interdict.alerts.schemas import (
    AlertAssign,
    AlertClose,
    AlertCreate,
    AlertTriage,
    Outcome,
    Reason,
    Severity,
    SubjectRef,
)
from interdict.auth import service as auth
from interdict.auth.models import User
from interdict.auth.roles import Permission, Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, UserCreate
from interdict.config import Mode, Settings
from interdict.db.base import utcnow
from interdict.demo.registry import DemoContext, register_step, steps
from interdict.errors import Conflict, Forbidden

SEED = 20261128
DEMO_PASSWORD = "interdict-demo"

AGENCIES = [
    ("NL-CUSTOMS", "Demo Customs Service, Rotterdam targeting centre", "NL", AgencyKind.customs),
    ("NL-POLICE", "Demo National Police, Synthetic Drugs Unit", "NL", AgencyKind.police),
    ("BE-PRECURSORS", "Demo Precursor Control Authority", "BE", AgencyKind.precursor_authority),
    ("BE-LAB", "Demo Forensic Drugs Laboratory", "BE", AgencyKind.lab),
    ("DE-BKA-LIAISON", "Demo Federal Liaison Office", "DE", AgencyKind.police),
    ("INT-HUB", "Demo International Drug Intelligence Hub", "EU", AgencyKind.international),
]

USERS = [
    ("admin@nl-customs", "Anouk Admin", "NL-CUSTOMS", [Role.admin]),
    ("supervisor@nl-customs", "Sven Supervisor", "NL-CUSTOMS", [Role.supervisor]),
    ("targeter@nl-customs", "Tessa Targeter", "NL-CUSTOMS", [Role.targeter]),
    ("analyst@nl-customs", "Arjen Analyst", "NL-CUSTOMS", [Role.analyst]),
    ("analyst@nl-police", "Priya Analyst", "NL-POLICE", [Role.analyst]),
    ("liaison@nl-police", "Lars Liaison", "NL-POLICE", [Role.liaison]),
    ("supervisor@nl-police", "Noor Supervisor", "NL-POLICE", [Role.supervisor]),
    ("officer@be-precursors", "Pieter Precursor", "BE-PRECURSORS", [Role.precursor_officer]),
    ("operator@be-precursors", "Olga Operator (ChemTrade NV)", "BE-PRECURSORS", [Role.operator]),
    ("lab@be-lab", "Lea Lab", "BE-LAB", [Role.lab]),
    ("liaison@de-liaison", "Dirk Liaison", "DE-BKA-LIAISON", [Role.liaison]),
    ("liaison@int-hub", "Ines Liaison", "INT-HUB", [Role.liaison, Role.analyst]),
]

# Alert templates per agency: (source, kind, title pattern, severity weights, reasons).
TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "NL-POLICE": [
        {"source": "network", "kind": "entity.match",
         "title": "Phone {phone} seen in seized handset matches a file subject",
         "reasons": [("phone_exact_match", .60, {"phone": "{phone}"}),
                     ("co_occurrence_in_calls", .25, {"calls": "{calls}"})]},
    ],
    "BE-LAB": [
        {"source": "spectra", "kind": "identification.controlled",
         "title": "Field spectrum identified as {drug} (hit quality {sim})",
         "reasons": [("library_hit", .80, {"substance": "{drug}", "hqi": "{sim}"})]},
    ],
    "DE-BKA-LIAISON": [
        {"source": "exchange", "kind": "incident.received",
         "title": "Precursor incident notified by partner: {chem} in {origin}",
         "reasons": [("subscription_topic", .50, {"topic": "precursors"})]},
    ],
    "INT-HUB": [
        {"source": "exchange", "kind": "hit.no_hit",
         "title": "Hit/no-hit query from partner matched a file subject",
         "reasons": [("hashed_identifier_match", .90, {"field": "phone"})]},
    ],
}

CHEMICALS = ["BMK methyl glycidate", "PMK ethyl glycidate", "APAA", "1-boc-4-AP",
             "4-piperidone", "acetic anhydride", "safrole"]
DRUGS = ["cocaine HCl", "MDMA", "amphetamine sulfate", "heroin base", "ketamine",
         "3-CMC", "N-pyrrolidino etonitazene"]
COUNTRIES = ["CN", "IN", "TR", "CO", "EC", "BR", "MX", "AE", "ZA"]
HS_CODES = ["2914.31", "2932.92", "2926.40", "2933.39", "2915.24", "2932.94"]


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format(**values)


def _values(rng: random.Random) -> dict[str, str]:
    return {
        "n": f"{rng.randint(10**7, 10**8 - 1)}", "hs": rng.choice(HS_CODES),
        "origin": rng.choice(COUNTRIES), "transit": rng.choice(["TR", "AE", "PA", "MA"]),
        "imp": f"NL{rng.randint(100000, 999999)}", "ratio": f"{rng.uniform(0.05, 0.3):.2f}",
        "phone": f"+31 6 {rng.randint(10**7, 10**8 - 1)}", "calls": str(rng.randint(3, 90)),
        "sim": f"{rng.uniform(0.86, 0.99):.2f}", "dist": f"{rng.uniform(0.02, 0.2):.2f}",
        "qty": str(rng.choice([25, 50, 200, 600, 1000])), "chem": rng.choice(CHEMICALS),
        "lic": f"BE-LIC-{rng.randint(1000, 9999)}", "drug": rng.choice(DRUGS),
    }


def _step_agencies_and_users(ctx: DemoContext) -> None:
    for code, name, country, kind in AGENCIES:
        agency = auth.create_agency(ctx.session, data=AgencyCreate(
            code=code, name=name, country=country, kind=kind))
        ctx.agencies[code] = agency
    for username, full_name, code, roles in USERS:
        user = auth.create_user(ctx.session, agency=ctx.agencies[code], data=UserCreate(
            username=username, full_name=full_name, password=ctx.password, roles=roles))
        ctx.users[username] = user
        ctx.actors[username] = auth.actor_for_user(user, via="cli")
    ctx.summary["agencies"] = len(AGENCIES)
    ctx.summary["users"] = len(USERS)


def _step_alerts(ctx: DemoContext) -> None:
    """Alerts over the last 30 days, some worked through the whole workflow."""
    n = 0
    for code, templates in TEMPLATES.items():
        agency = ctx.agencies[code]
        officers = [u for u in ctx.users.values() if u.agency_id == agency.id
                    and Role.operator.value not in u.roles]
        actor = ctx.actors[officers[0].username]
        count = {"NL-CUSTOMS": 34, "NL-POLICE": 16}.get(code, 6)
        # Oldest first, so that alert numbers rise with time as they would in real use.
        times = sorted(ctx.now - dt.timedelta(days=ctx.rng.uniform(0, 29.5))
                       for _ in range(count))
        for i, created in enumerate(times):
            tpl = ctx.rng.choice(templates)
            vals = _values(ctx.rng)
            severity = ctx.rng.choices(list(Severity), weights=[3, 4, 3, 1])[0]
            reasons = [Reason(rule=r, contribution=c, values={k: _fill(v, vals)
                                                              for k, v in rv.items()})
                       for r, c, rv in tpl["reasons"]]
            score = round(min(0.99, sum(r.contribution for r in reasons)
                              * ctx.rng.uniform(0.85, 1.1)), 3)
            alert = alerts.raise_alert(ctx.session, actor=actor, data=AlertCreate(
                source=tpl["source"], kind=tpl["kind"], title=_fill(tpl["title"], vals),
                severity=severity, score=score, reasons=reasons,
                subjects=[SubjectRef(type="demo.reference", id=vals["n"], label=vals["imp"])],
                dedup_key=f"demo-{code}-{i}"))
            row = ctx.session.get(Alert, alert.id)
            assert row is not None
            row.created_at = row.updated_at = created
            roll = ctx.rng.random()
            if roll < 0.55 or not actor.can(Permission.alerts_work):
                pass
            elif roll < 0.7:
                alerts.triage(ctx.session, actor=actor, alert_id=alert.id,
                              data=AlertTriage(note="Looks worth a closer look."))
            elif roll < 0.85:
                alerts.assign(ctx.session, actor=actor, alert_id=alert.id,
                              data=AlertAssign(assignee_id=ctx.rng.choice(officers).id))
            else:
                outcome = ctx.rng.choice([Outcome.confirmed, Outcome.false_positive,
                                          Outcome.no_action])
                alerts.close(ctx.session, actor=actor, alert_id=alert.id,
                             data=AlertClose(outcome=outcome, note="Demo outcome."))
            # Workflow steps happened hours after the alert, not at load time.
            ctx.session.flush()
            ctx.session.refresh(row)
            for k, step in enumerate(row.history):
                step.created_at = min(created + dt.timedelta(hours=3 * k), ctx.now)
            if row.closed_at is not None:
                row.closed_at = row.updated_at = row.history[-1].created_at
            n += 1
    ctx.summary["alerts"] = n


register_step("platform.agencies_and_users", _step_agencies_and_users, order=0)
register_step("platform.alerts", _step_alerts, order=10)


@dataclass
class DemoResult:
    summary: dict[str, int]
    logins: list[tuple[str, str, str, str]]  # username, password, agency, roles


def is_loaded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def load(session: Session, *, settings: Settings) -> DemoResult:
    """Load the scenario into an empty database, in the caller's transaction."""
    if settings.mode == Mode.production:
        raise Forbidden("the demo uses a published password and is refused in production mode")
    if is_loaded(session):
        raise Conflict("the database already has users; the demo loads only into a new one")
    ctx = DemoContext(session=session, rng=random.Random(SEED), now=utcnow(),
                      password=DEMO_PASSWORD, secret=settings.secret_key)
    for _name, step in steps():
        step(ctx)
        session.flush()
    logins = [(u, DEMO_PASSWORD, code, ", ".join(r.value for r in roles))
              for u, _n, code, roles in USERS]
    return DemoResult(summary=ctx.summary, logins=logins)
