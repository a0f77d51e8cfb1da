"""HTTP routes of the exchange (thin: every decision is in the service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.exchange import service

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"], responses=ERRORS)


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


class ForwardIn(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    note: str = Field("", max_length=10_000)


class PermissionIn(BaseModel):
    to: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=4000)
    attachment_id: int | None = None


class DecisionIn(BaseModel):
    grant: bool
    note: str = Field("", max_length=4000)


class ImportIn(BaseModel):
    justification: str = Field(min_length=1, max_length=2000)


class PartnerKeyIn(BaseModel):
    agency: str = Field(min_length=1, max_length=32)
    public_key: str = Field(min_length=1, max_length=200)


@router.post("/messages", summary="Send a message as your agency: signed with its key, "
             "verified at each recipient, audited as a disclosure")
def send(request: Request, session: WriteSession, actor: ActorDep,
         data: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.send(session, actor=actor, registry=request.app.state.reference,
                        secret=_secret(request), data=data)


@router.get("/messages", summary="Inbox (delivered to your agency) or outbox, newest first")
def mailbox(session: ReadSession, actor: ActorDep,
            box: Annotated[str, Query(pattern="^(inbox|outbox)$")] = "inbox"
            ) -> list[dict[str, Any]]:
    return service.mailbox(session, actor=actor, box=box)


@router.get("/messages/{message_id}", summary="Read a message with its attachments "
            "(audited with the justification given)")
def read(request: Request, session: WriteSession, actor: ActorDep, message_id: int,
         justification: str = "") -> dict[str, Any]:
    return service.read(session, actor=actor, registry=request.app.state.reference,
                        message_id=message_id, justification=justification)


@router.post("/messages/{message_id}/acknowledge", summary="Acknowledge receipt")
def acknowledge(session: WriteSession, actor: ActorDep, message_id: int) -> dict[str, Any]:
    return service.acknowledge(session, actor=actor, message_id=message_id)


@router.post("/messages/{message_id}/reply", summary="Reply in the thread (to the sender "
             "unless `to` is given)")
def reply(request: Request, session: WriteSession, actor: ActorDep, message_id: int,
          data: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.reply(session, actor=actor, registry=request.app.state.reference,
                         secret=_secret(request), message_id=message_id, data=data)


@router.post("/messages/{message_id}/forward", summary="Forward under the handling codes: "
             "restricted items need the originator's grant for each recipient")
def forward(request: Request, session: WriteSession, actor: ActorDep, message_id: int,
            data: ForwardIn) -> dict[str, Any]:
    return service.forward(session, actor=actor, registry=request.app.state.reference,
                           secret=_secret(request), message_id=message_id, to=data.to,
                           note=data.note)


@router.post("/messages/{message_id}/permissions", summary="Ask the originator to allow "
             "passing a restricted message or attachment to an agency")
def request_permission(session: WriteSession, actor: ActorDep, message_id: int,
                       data: PermissionIn) -> dict[str, Any]:
    return service.request_permission(session, actor=actor, message_id=message_id,
                                      attachment_id=data.attachment_id, to=data.to,
                                      reason=data.reason)


@router.get("/permissions", summary="Permission requests your agency made or received")
def permissions(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return service.permission_requests(session, actor=actor)


@router.post("/permissions/{request_id}/decision", summary="Grant or refuse a request "
             "(the originator only)")
def decide(session: WriteSession, actor: ActorDep, request_id: int, data: DecisionIn
           ) -> dict[str, Any]:
    return service.decide_permission(session, actor=actor, request_id=request_id,
                                     grant=data.grant, note=data.note)


@router.get("/threads/{thread_id}", summary="The messages of a thread your agency is "
            "party to")
def thread(session: ReadSession, actor: ActorDep, thread_id: int) -> list[dict[str, Any]]:
    return service.thread(session, actor=actor, thread_id=thread_id)


@router.post("/attachments/{attachment_id}/import", summary="Import an attached entity "
             "into your intelligence file with the originator's provenance and codes")
def import_entity(request: Request, session: WriteSession, actor: ActorDep,
                  attachment_id: int, data: ImportIn) -> dict[str, Any]:
    return service.import_entity(session, actor=actor, registry=request.app.state.reference,
                                 attachment_id=attachment_id,
                                 justification=data.justification)


@router.post("/envelopes", summary="Receive a signed envelope from another instance: "
             "verified against the sender's registered keys, refused and logged otherwise")
def receive(request: Request, session: WriteSession, actor: ActorDep,
            signed: Annotated[Any, Body()]) -> dict[str, Any]:
    return service.receive(session, actor=actor, registry=request.app.state.reference,
                           signed=signed)


@router.get("/keys", summary="Signing keys of your agency or of a partner (`agency`), with "
            "fingerprints to compare out of band")
def agency_keys(session: ReadSession, actor: ActorDep, agency: str | None = None
                ) -> list[dict[str, object]]:
    return service.agency_keys(session, actor=actor, agency=agency)


@router.post("/keys/rotate", summary="A new signing key for your agency (admins)")
def rotate(request: Request, session: WriteSession, actor: ActorDep) -> dict[str, object]:
    return service.rotate_key(session, actor=actor, secret=_secret(request))


@router.post("/keys/partners", summary="Register a partner agency's public key (admins)")
def partner_key(session: WriteSession, actor: ActorDep, data: PartnerKeyIn
                ) -> dict[str, Any]:
    return service.import_partner_key(session, actor=actor, agency=data.agency,
                                      public_key=data.public_key)


class IncidentSubscription(BaseModel):
    topic: str = Field(min_length=1, max_length=40)
    country: str = Field("*", max_length=2)


class RoomIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    case_reference: str = Field("", max_length=120)
    members: list[str] = Field(min_length=1, max_length=50)


class MemberIn(BaseModel):
    agency: str = Field(min_length=1, max_length=32)


class EntryIn(BaseModel):
    kind: str = Field(pattern="^(log|evidence|record)$")
    text: str = Field("", max_length=100_000)
    attachment: dict[str, Any] | None = None
    handling: str = Field("H0", max_length=20)


class FollowUpIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class FollowUpDecision(BaseModel):
    approve: bool
    note: str = Field("", max_length=4000)


@router.post("/incidents", summary="Report a precursor or NPS incident; pushed to every "
             "agency subscribed to its topic and country (feed and alert)")
def report_incident(request: Request, session: WriteSession, actor: ActorDep,
                    data: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.report_incident(session, actor=actor,
                                   registry=request.app.state.reference, data=data)


@router.get("/incidents", summary="Incidents pushed to your agency and those it reported")
def incident_feed(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return service.incident_feed(session, actor=actor)


@router.get("/subscriptions", summary="Your agency's incident subscriptions")
def subscriptions(session: ReadSession, actor: ActorDep) -> list[dict[str, str]]:
    return service.subscriptions(session, actor=actor)


@router.post("/subscriptions", summary="Subscribe to a topic (precursors, nps, fentanyl) for "
             "a country or `*`")
def subscribe(session: WriteSession, actor: ActorDep, data: IncidentSubscription
              ) -> dict[str, Any]:
    return service.subscribe(session, actor=actor, topic=data.topic, country=data.country)


@router.delete("/subscriptions", summary="Unsubscribe", status_code=204)
def unsubscribe(session: WriteSession, actor: ActorDep, topic: str, country: str = "*"
                ) -> None:
    service.unsubscribe(session, actor=actor, topic=topic, country=country)


@router.get("/rooms", summary="Operation rooms your agency is a member of")
def rooms(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return service.rooms(session, actor=actor)


@router.post("/rooms", summary="Open an operation room with partner agencies")
def create_room(session: WriteSession, actor: ActorDep, data: RoomIn) -> dict[str, Any]:
    return service.create_room(session, actor=actor, name=data.name,
                               case_reference=data.case_reference, members=data.members)


@router.get("/rooms/{room_id}", summary="Members, running log and evidence register")
def room(session: ReadSession, actor: ActorDep, room_id: int) -> dict[str, Any]:
    return service.room(session, actor=actor, room_id=room_id)


@router.post("/rooms/{room_id}/members", summary="Add a member agency")
def add_member(session: WriteSession, actor: ActorDep, room_id: int, data: MemberIn
               ) -> dict[str, Any]:
    return service.add_room_member(session, actor=actor, room_id=room_id, agency=data.agency)


@router.post("/rooms/{room_id}/entries", summary="Add a log entry, evidence item or record; "
             "mirrored as a signed message to the other members")
def add_entry(request: Request, session: WriteSession, actor: ActorDep, room_id: int,
              data: EntryIn) -> dict[str, Any]:
    return service.add_room_entry(session, actor=actor, registry=request.app.state.reference,
                                  secret=_secret(request), room_id=room_id, kind=data.kind,
                                  text=data.text, attachment=data.attachment,
                                  handling=data.handling)


@router.post("/holdings", summary="Publish your agency's holdings for hit/no-hit (CSV or JSON "
             "lines: kind, value, reference, country); replaces the previous table")
async def holdings(request: Request, session: WriteSession, actor: ActorDep,
                   file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    return service.register_holdings(session, actor=actor, secret=_secret(request),
                                     data=await file.read(),
                                     filename=file.filename or "holdings.csv")


@router.get("/holdings", summary="How many tags your agency publishes and who evaluated how "
            "many points against them")
def holdings_summary(session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return service.holdings_summary(session, actor=actor)


@router.post("/hit-queries", summary="Hit/no-hit: ask every partner about the identifiers "
             "of a file (kind, value, country); only hits come back")
async def hit_query(request: Request, session: WriteSession, actor: ActorDep,
                    file: Annotated[UploadFile, File()],
                    justification: Annotated[str, Form()]) -> dict[str, Any]:
    return service.hit_query(session, actor=actor, secret=_secret(request),
                             data=await file.read(), filename=file.filename or "query.csv",
                             justification=justification)


@router.get("/hits", summary="Hits of your queries and follow-up requests made to you")
def hits(session: ReadSession, actor: ActorDep) -> dict[str, list[dict[str, Any]]]:
    return service.hits_for(session, actor=actor)


@router.post("/hits/{hit_id}/follow-up", summary="Ask the holding agency for the record")
def follow_up(session: WriteSession, actor: ActorDep, hit_id: int, data: FollowUpIn
              ) -> dict[str, Any]:
    return service.request_follow_up(session, actor=actor, hit_id=hit_id, reason=data.reason)


@router.post("/hits/{hit_id}/follow-up/decision", summary="Approve or refuse a follow-up "
             "(the holding agency)")
def decide_follow_up(session: WriteSession, actor: ActorDep, hit_id: int,
                     data: FollowUpDecision) -> dict[str, Any]:
    return service.decide_follow_up(session, actor=actor, hit_id=hit_id,
                                    approve=data.approve, note=data.note)


@router.get("/audit", summary="Who saw what and why: the exchange's audit entries of your "
            "agency (supervisors)")
def audit_events(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return service.audit_events(session, actor=actor)
