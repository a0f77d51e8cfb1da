"""Demo step: a police drugs unit's seizure file with stamps, lab reports and linked series.

NL-POLICE records seizures across Europe, North Africa and South America (generated, with
real city coordinates): hashish slabs carrying stamps of three series, photographed again on
later seizures (each photo distorted differently: angle, light, blur, crop, occlusion),
cocaine, heroin, amphetamine and MDMA seizures with lab reports of generated production
batches, and parties that recur (a phone, a truck) so that the entity graph joins them. The
links are then proposed, two stamp series and one chemical pair confirmed (raising series
alerts), and the rest left for the analyst to decide. The U.S. CBP monthly
aggregates (public domain, shipped) are loaded for the dashboard's real-data view.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from PIL import Image
from sqlalchemy import select

from interdict.alerts import service as alerts
from interdict.alerts.models import Alert
from interdict.alerts.schemas import AlertShare
from interdict.auth.actor import Actor
from interdict.demo.registry import DemoContext, register_step
from interdict.reference.registry import Registry
from interdict.seizures import cbp, service
from interdict.seizures.marks_generate import distort, stamp
from interdict.seizures.profiles_generate import generate_seizures

AGENCY = "NL-POLICE"
USER = "analyst@nl-police"
#: Places: (country, place, latitude, longitude).
PLACES = [
    ("ES", "Algeciras port", 36.13, -5.44), ("ES", "Málaga", 36.72, -4.42),
    ("FR", "Perpignan, A9 toll", 42.70, 2.90), ("FR", "Lyon", 45.76, 4.84),
    ("BE", "Antwerp port", 51.26, 4.40), ("NL", "Rotterdam port", 51.95, 4.05),
    ("NL", "Venlo, A67", 51.37, 6.17), ("DE", "Hamburg port", 53.54, 9.97),
    ("MA", "Tanger Med", 35.89, -5.50), ("IT", "Gioia Tauro", 38.44, 15.90),
    ("PT", "Lisbon", 38.72, -9.14), ("GB", "Felixstowe", 51.96, 1.35),
]
#: Hashish stamp series: (logo class, seizures carrying it as (place index, days ago)).
STAMP_SERIES = [(101, [(0, 120), (2, 80), (4, 30)]), (102, [(1, 90), (3, 45)]),
                (103, [(8, 60), (0, 20), (6, 5)])]
SINGLE_STAMPS = [(104, (9, 70)), (105, (11, 15))]
PHONE = "+212 612 345 678"
TRUCK = "Volvo FH | 1-ABC-234"
DRUG_LINE = {"cocaine": ("cocaine", "brick"), "heroin": ("heroin", "powder"),
             "amphetamine": ("amphetamine", "other"), "mdma": ("MDMA", "tablet")}
SEA_ROUTES = {"cocaine": ("EC", ["PA"]), "heroin": ("IR", ["TR", "BG"]),
              "amphetamine": ("NL", []), "mdma": ("NL", [])}


def _png(img: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(img[:, :, ::-1] if img.ndim == 3 else img).save(out, format="PNG")
    return out.getvalue()


def _hashish(ctx: DemoContext, n: int, place: int, days: int, *, phone: bool,
             truck: bool) -> dict[str, object]:
    country, name, lat, lon = PLACES[place]
    seized = ctx.now - dt.timedelta(days=days, hours=ctx.rng.randint(0, 23))
    return {"reference": f"NLP-H-{n:03d}", "seized_at": seized.isoformat(),
            "country": country, "place": name, "latitude": lat, "longitude": lon,
            "operation": "OP-ATLAS" if n % 2 else "", "transport_mode": "road",
            "concealment": ctx.rng.choice(["false floor", "fuel tank", "pallet of peppers"]),
            "packaging": "slabs in cling film", "origin": "MA",
            "transit": ["ES"] if country not in ("ES", "MA") else [],
            "destination": country if country != "MA" else "ES",
            "phones": [PHONE] if phone else [], "vehicles": [TRUCK] if truck else [],
            "persons": [f"Driver {n}"],
            "substances": [{"substance": "cannabis resin",
                            "quantity": ctx.rng.choice([120, 250, 480, 900]), "unit": "kg",
                            "form": "slab"}]}


def _step(ctx: DemoContext) -> None:
    actor = ctx.actors[USER]
    session = ctx.session
    registry = Registry()
    n = 0
    for logo, seen in STAMP_SERIES:
        for k, (place, days) in enumerate(seen):
            n += 1
            made = service.create(session, actor=actor, registry=registry,
                                  data=_hashish(ctx, n, place, days, phone=k == 0,
                                                truck=logo == 103))
            photo = distort(stamp(logo, 0), np.random.default_rng([logo, k]), strength=0.7)
            service.add_mark(session, actor=actor, seizure_id=made["id"], data=_png(photo),
                             filename=f"stamp-{n}.png", attributes=service.MarkAttributes(
                                 kind="stamp", shape="round", width_mm=45.0, height_mm=45.0,
                                 colour="brown", weight_g=250.0))
    for logo, (place, days) in SINGLE_STAMPS:
        n += 1
        made = service.create(session, actor=actor, registry=registry,
                              data=_hashish(ctx, n, place, days, phone=False, truck=False))
        photo = distort(stamp(logo, 0), np.random.default_rng([logo, 0]), strength=0.7)
        service.add_mark(session, actor=actor, seizure_id=made["id"], data=_png(photo),
                         filename=f"stamp-{n}.png",
                         attributes=service.MarkAttributes(kind="logo", shape="rectangle"))
    chemistry = _lab_seizures(ctx, actor, registry)
    found = service.find_links(session, actor=actor)
    decided = 0
    for link in found["links"]:
        kinds = set(link["kinds"])
        if "mark" in kinds and decided < 3:
            service.decide_link(session, actor=actor, registry=registry, link_id=link["id"],
                                decision="confirm", note="same press, stamp compared")
            decided += 1
    chem = [ln for ln in found["links"] if ln["kinds"][:1] == ["chemistry"]]
    if chem:
        service.decide_link(session, actor=actor, registry=registry, link_id=chem[0]["id"],
                            decision="confirm", note="impurity profile matches")
    # The police unit shares its series alerts with customs: sharing is explicit, audited as
    # a disclosure and carries a handling code.
    police = ctx.actors["supervisor@nl-police"]
    shared = session.scalars(select(Alert.id).where(
        Alert.agency_id == actor.agency_id, Alert.source == "seizures")
        .order_by(Alert.id)).all()
    for alert_id in shared:
        alerts.share(session, actor=police, alert_id=alert_id, data=AlertShare(
            agency="NL-CUSTOMS", handling_code="H0",
            justification="Joint operation on hashish and cocaine routes via Rotterdam"))
    ctx.summary["shared alerts"] = len(shared)
    aggregates = service.import_aggregates(session, actor=actor, rows=cbp.shipped(),
                                           source="cbp", filename="shipped")
    ctx.summary["seizures"] = n + chemistry
    ctx.summary["seizure links"] = len(found["links"])
    ctx.summary["CBP aggregate rows"] = aggregates["rows"]


def _lab_seizures(ctx: DemoContext, actor: Actor, registry: Registry) -> int:
    """Seizures of generated production batches, each with its lab report."""
    batches = generate_seizures(6, seizures_per_batch=(2, 3), seed=7)
    for i, g in enumerate(batches):
        drug = g.profile.substance
        substance, form = DRUG_LINE[drug]
        origin, transit = SEA_ROUTES[drug]
        country, name, lat, lon = PLACES[(3 * i + 4) % len(PLACES)]
        seized = ctx.now - dt.timedelta(days=ctx.rng.randint(3, 200))
        made = service.create(ctx.session, actor=actor, registry=registry, data={
            "reference": f"NLP-L-{i + 1:03d}", "seized_at": seized.isoformat(),
            "country": country, "place": name, "latitude": lat, "longitude": lon,
            "transport_mode": "sea" if drug in ("cocaine", "heroin") else "road",
            "concealment": ctx.rng.choice(["container wall", "banana boxes", "car door"]),
            "origin": origin, "transit": [c for c in transit if c != country],
            "destination": country if country != origin else "",
            "substances": [{"substance": substance, "quantity": ctx.rng.choice([2, 15, 60]),
                            "unit": "kg", "purity": g.profile.purity, "form": form}]})
        report = g.profile.as_report()
        report["lab_reference"] = f"NFI-{2026}-{1000 + i}"
        service.add_profile(ctx.session, actor=actor, seizure_id=made["id"], report=report)
    return len(batches)


register_step("seizures.police_file", _step, order=55)
