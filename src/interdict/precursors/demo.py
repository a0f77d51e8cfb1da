"""Demo step: a year of precursor trade under the Belgian demo authority, with diversion.

Three dozen operators (manufacturers, distributors, users) trade scheduled chemicals for a
year: two-sided sales and purchases, monthly stock counts, exports under authorisations with
pre-export notifications. Into that trade the generator plants one case of every kind of
diversion the checks look for (a late registration, a sale to an unlicensed buyer, a sale the
buyer never recorded, disagreeing quantities, a stock gap, suspicious orders, an export
without authorisation or after an objection), so the officer's queue shows each check at
work. The demo operator user submits for one of the companies.
"""

from __future__ import annotations

import datetime as dt

from interdict.demo.registry import DemoContext, register_step
from interdict.precursors import authorisations, service
from interdict.precursors.authorisations import AuthorisationCreate
from interdict.precursors.generate import generate_year
from interdict.reference.registry import Registry


def _step(ctx: DemoContext) -> None:
    officer = ctx.actors["officer@be-precursors"]
    registry = Registry()
    start = (ctx.now - dt.timedelta(days=400)).date().replace(day=1)
    year = generate_year(operators=36, transactions=6000, seed=20261128, start=start,
                         anomalies=1)
    service.import_operators(ctx.session, actor=officer, data=year.operators_csv().encode(),
                             filename="operators.csv")
    distributor = next(o for o in year.operators if o["sector"] == "chemical_distribution")
    service.link_user(ctx.session, actor=officer, username="operator@be-precursors",
                      licence=distributor["licence"])
    authorisations.create_many(ctx.session, actor=officer, registry=registry,
                               rows=year.authorisations)
    receipt = service.import_transactions(
        ctx.session, actor=officer, registry=registry,
        data=year.transactions_csv().encode(), filename="register-backfill.csv")
    # A fresh authorisation whose notification the officer still has to send.
    authorisations.create(ctx.session, actor=officer, registry=registry, data=AuthorisationCreate(
        number="BE-EXP-DEMO-NEW", operator=distributor["licence"],
        substance="1-Phenyl-2-propanone", quantity=250, unit="kg", destination_country="IN",
        importer="Demo Fine Chemicals Pvt Ltd", valid_from=ctx.now.date(),
        valid_to=ctx.now.date() + dt.timedelta(days=180)))
    ctx.summary["precursor operators"] = len(year.operators)
    ctx.summary["precursor transactions"] = receipt["added"]
    ctx.summary["precursor alerts"] = receipt["alerts"]


register_step("precursors.trade_year", _step, order=45)
