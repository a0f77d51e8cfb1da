"""Demo step: partners exchanging intelligence around the police unit's seizures.

- NL-POLICE tells NL-CUSTOMS about the cross-border stamp series, attaching a seizure (H1:
  not for court use); customs acknowledges and replies.
- NL-POLICE sends the German liaison an H2 message with a phone entity from its file; the
  liaison asks for permission to pass it to the international hub (left pending for the
  police supervisor to decide).
- Incidents: the Belgian precursor authority reports a BMK glycidate shipment, the police an
  NPS (nitazene) case; the German liaison and the hub are subscribed and get them as alerts.
- An operation room "JIT Harbour" (police, customs, the Belgian authority) with a log entry
  and an evidence item.
- Hit/no-hit: the police publish the phones and plates of their seizures; the hub asks
  about a list of numbers and finds the recurring Moroccan phone.
"""

from __future__ import annotations

from sqlalchemy import func, select

import interdict.network.service as network
import interdict.seizures.service as seizures
from interdict.demo.registry import DemoContext, register_step
from interdict.exchange import service
from interdict.exchange.models import Message
from interdict.reference.registry import Registry


def _step(ctx: DemoContext) -> None:
    session, registry, secret = ctx.session, Registry(), ctx.secret
    police = ctx.actors["analyst@nl-police"]
    customs = ctx.actors["analyst@nl-customs"]
    liaison = ctx.actors["liaison@de-liaison"]
    hub = ctx.actors["liaison@int-hub"]
    precursors = ctx.actors["officer@be-precursors"]
    first = seizures.search(session, actor=police, q="NLP-H-003", limit=1)
    attach = [{"resource_type": "seizures.seizure", "resource_id": first[0]["id"],
               "handling": "H1", "grading": {"scheme": "4x4", "source": "A",
                                             "information": "1"}}] if first else []
    sent = service.send(session, actor=police, registry=registry, secret=secret, data={
        "to": ["NL-CUSTOMS"], "subject": "Hashish stamp series S1 now seen in BE, ES and FR",
        "body": "The same press stamp was found on slabs in Algeciras, Málaga and Antwerp. "
                "Please watch road freight from Morocco via Spain; seizure attached.",
        "priority": "high", "requested_action": "screen road freight MA-ES-NL",
        "legal_basis": "Police Data Act art. 16", "handling": "H1",
        "grading": {"scheme": "4x4", "source": "A", "information": "2"},
        "attachments": attach})
    service.acknowledge(session, actor=customs, message_id=sent["id"])
    service.reply(session, actor=customs, registry=registry, secret=secret,
                  message_id=sent["id"], data={"body": "Profile added for trucks from "
                                               "Algeciras; we will report hits."})
    phone = network.entity_ids(session, actor=police, ftm_ids=["phone:+212612345678"])
    h2 = service.send(session, actor=police, registry=registry, secret=secret, data={
        "to": ["DE-BKA-LIAISON"], "subject": "Moroccan number on three hashish seizures",
        "body": "Number attached; please check German holdings.", "handling": "H2",
        "grading": {"scheme": "4x4", "source": "B", "information": "2"},
        "attachments": [{"resource_type": "network.entity",
                         "resource_id": phone["phone:+212612345678"], "handling": "H2"}]
        if phone else []})
    service.request_permission(session, actor=liaison, message_id=h2["id"],
                               attachment_id=None, to="INT-HUB",
                               reason="The hub coordinates the Atlantic route analysis.")
    for actor, topic, country in ((liaison, "precursors", "*"), (liaison, "nps", "DE"),
                                  (hub, "nps", "*"), (customs, "precursors", "NL")):
        service.subscribe(session, actor=actor, topic=topic, country=country)
    day = ctx.now.date().isoformat()
    service.report_incident(session, actor=precursors, registry=registry, data={
        "kind": "precursor", "substance": "BMK methyl glycidate", "country": "BE",
        "occurred_on": day, "quantity": "600", "unit": "kg", "route": ["CN", "TR", "BE"],
        "modus_operandi": "declared as a cosmetics ingredient",
        "companies": ["Demo Aroma Trading Ltd"], "concealment": "drums with false labels"})
    service.report_incident(session, actor=police, registry=registry, data={
        "kind": "nps", "topic": "nps", "substance": "N-pyrrolidino protonitazene",
        "country": "NL", "occurred_on": day, "form": "tablets sold as oxycodone",
        "place": "Rotterdam", "harm": "two overdoses, one fatal"})
    room = service.create_room(session, actor=police, name="JIT Harbour",
                               case_reference="JIT-2026-4",
                               members=["NL-CUSTOMS", "BE-PRECURSORS"])
    service.add_room_entry(session, actor=police, registry=registry, secret=secret,
                           room_id=room["id"], kind="log",
                           text="Surveillance of the Algeciras-Antwerp trucks started.")
    service.add_room_entry(session, actor=customs, registry=registry, secret=secret,
                           room_id=room["id"], kind="evidence",
                           text="Scan image of trailer 1-ABC-234",
                           attachment={"resource_type": "note", "title": "X-ray scan",
                                       "text": "Anomaly behind the front wall."},
                           handling="H1")
    rows = ["kind,value,reference,country"]
    for s in seizures.search(session, actor=police, limit=500):
        detail = seizures.detail(session, actor=police, seizure_id=s["id"])
        for p in detail["parties"]:
            if p["role"] == "phone":
                rows.append(f"phone,{p['identifier']},{s['reference']},")
            elif p["role"] == "vehicle" and p["identifier"]:
                rows.append(f"vehicle_plate,{p['identifier']},{s['reference']},"
                            f"{s['country']}")
    service.register_holdings(session, actor=police, secret=secret,
                              data="\n".join(rows).encode(), filename="police-holdings.csv")
    query = (b"kind,value,country\nphone,+212 612 345 678,\nphone,+34 612 345 678,\n"
             b"phone,+31 6 87654321,\n")
    out = service.hit_query(session, actor=hub, secret=secret, data=query,
                            filename="hub-numbers.csv",
                            justification="Atlantic route analysis, case INT-2026-88")
    ctx.summary["exchange messages"] = session.scalar(
        select(func.count()).select_from(Message)) or 0
    ctx.summary["hit/no-hit hits"] = len(out["hits"])


register_step("exchange.partners", _step, order=60)
