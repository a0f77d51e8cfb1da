"""Web pages of the exchange: inbox and outbox, composing, a message with its attachments
and what its handling code allows, threads, permission requests and the agency's keys.

Every decision (who may read, what may be forwarded, what a field must hold) is the
service's; these routes turn forms into the service's data, render its answers, and show
its refusals on the page where the user acted, keeping what was typed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.errors import FieldError, Forbidden, InvalidData, NotFound
from interdict.exchange import service
from interdict.exchange.attachments import KINDS
from interdict.exchange.codes import HANDLING, SCHEMES
from interdict.exchange.messages import PRIORITIES
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Exchange", "/exchange", Permission.exchange_read, order=38))
#: Attachment rows on the compose form; more go through the API.
ATTACHMENT_ROWS = 3
#: The purpose recorded in the audit log when a message is opened here (as alert pages do).
OPENED = "opened in the web UI"
#: Human names of the service's field names, for the list of problems above a form.
FIELD_LABELS = {"to": "To", "subject": "Subject", "body": "Message", "priority": "Priority",
                "requested_action": "Requested action", "legal_basis": "Legal basis",
                "case_reference": "Case reference", "handling": "Handling code",
                "grading": "Grading", "attachments": "Attachments", "note": "Note",
                "reason": "Reason", "message": "Message", "status": "Status",
                "message_id": "Message", "attachment_id": "Attachment",
                "justification": "Justification"}


def _codes(text: str) -> list[str]:
    """Agency codes typed as a list: commas, semicolons or spaces between; codes are
    upper case, so a code typed in lower case still names its agency."""
    return [c.upper() for c in re.split(r"[,;\s]+", text) if c.strip()]


def _field_key(field: str, rows: list[int]) -> str:
    """Which part of the form a service field name belongs to (``to[1]`` is the To box,
    ``attachments[0].resource_id`` the row that became the first attachment)."""
    m = re.match(r"attachments\[(\d+)\]", field)
    if m:
        i = int(m.group(1))
        return f"att{rows[i]}" if i < len(rows) else "attachments"
    return re.split(r"[\[.]", field, maxsplit=1)[0]


def _label(field: str, rows: list[int]) -> str:
    key = _field_key(field, rows)
    if key.startswith("att") and key[3:].isdigit():
        return f"Attachment {int(key[3:]) + 1}"
    return FIELD_LABELS.get(key, field)


def _problems(exc: InvalidData, rows: list[int] | None = None
              ) -> tuple[list[str], dict[str, list[str]]]:
    """The service's field errors as lines for the list above the form, and by form part
    for the message beside each field."""
    rows = rows or []
    lines: list[str] = []
    by_field: dict[str, list[str]] = {}
    for e in exc.errors[:200]:
        lines.append(f"{_label(e.field, rows)}: {e.reason}")
        by_field.setdefault(_field_key(e.field, rows), []).append(e.reason)
    return lines or [exc.detail], by_field


def _handling_codes(request: Request) -> list[Any]:
    return list(request.app.state.reference.get(HANDLING).content.entries)


def _grades(request: Request) -> dict[str, dict[str, list[Any]]]:
    """Each grading scheme's source and information grades, for the selects."""
    out: dict[str, dict[str, list[Any]]] = {}
    for scheme, name in SCHEMES.items():
        entries = request.app.state.reference.get(name).content.entries
        out[scheme] = {axis: [e for e in entries if e.axis == axis]
                       for axis in ("source", "information")}
    return out


def _partners(session: Session, actor: Actor) -> list[Any]:
    return [a for a in auth.list_agencies(session) if a.id != actor.agency_id]


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


# --- mailboxes ------------------------------------------------------------------------------

def _mine(message: dict[str, Any], actor: Actor) -> dict[str, Any] | None:
    """The actor's agency's delivery of a message (None when it sent it)."""
    return next((d for d in message["to"] if d["agency"] == actor.agency_code), None)


def _box(request: Request, session: Session, actor: Actor, box: str) -> Response:
    items = service.mailbox(session, actor=actor, box=box)
    pending = sum(1 for m in items if (d := _mine(m, actor)) and not d["acknowledged_at"]) \
        if box == "inbox" else 0
    return render(request, "exchange_box.html", actor, box=box, items=items, pending=pending,
                  tab=box)


@router.get("/exchange")
def inbox_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _box(request, session, actor, "inbox")


@router.get("/exchange/outbox")
def outbox_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _box(request, session, actor, "outbox")


# --- composing ------------------------------------------------------------------------------

def _attachment_rows(form: dict[str, str], grading: dict[str, str]
                     ) -> tuple[list[dict[str, Any]], list[int]]:
    """The attachment rows filled in, as the service's items, and which row each came from.
    A row counts when its type or its id/text is given; the service checks the rest. Each
    carries the message's grading: the form has one grading for what is sent."""
    specs, rows = [], []
    for i in range(ATTACHMENT_ROWS):
        kind = form.get(f"att{i}_type", "")
        ref = form.get(f"att{i}_ref", "").strip()
        if not kind and not ref:
            continue
        spec: dict[str, Any] = {"resource_type": kind, "grading": grading}
        if kind == "note":
            spec["text"] = ref
        else:
            spec["resource_id"] = ref
        if form.get(f"att{i}_handling"):
            spec["handling"] = form[f"att{i}_handling"]
        specs.append(spec)
        rows.append(i)
    return specs, rows


def _message_data(form: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
    grading = {"scheme": form.get("grading_scheme", "4x4"),
               "source": form.get("grading_source", ""),
               "information": form.get("grading_information", "")}
    attachments, rows = _attachment_rows(form, grading)
    data: dict[str, Any] = {k: form.get(k, "") for k in (
        "subject", "body", "requested_action", "legal_basis", "case_reference")}
    data.update(to=_codes(form.get("to", "")), priority=form.get("priority", "normal"),
                handling=form.get("handling", "H0"), grading=grading,
                attachments=attachments)
    return data, rows


def _compose(request: Request, session: Session, actor: Actor, form: dict[str, str],
             status: int = 200, field_errors: dict[str, list[str]] | None = None,
             **extra: Any) -> Response:
    return render(request, "exchange_compose.html", actor, status=status, form=form,
                  handling_codes=_handling_codes(request), grades=_grades(request),
                  priorities=PRIORITIES, kinds=KINDS, rows=range(ATTACHMENT_ROWS),
                  partners=_partners(session, actor), field_errors=field_errors or {},
                  tab="compose",
                  **extra)


@router.get("/exchange/compose")
def compose_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    actor.require(Permission.exchange_send)
    return _compose(request, session, actor, {"priority": "normal", "handling": "H0",
                                              "grading_scheme": "4x4", "grading_source": "X",
                                              "grading_information": "4"})


@router.post("/exchange/compose", dependencies=[Depends(form_csrf)])
async def send_page(request: Request, session: WriteSession, actor: PageActor) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    data, rows = _message_data(form)
    try:
        # A savepoint: a refused message leaves nothing behind (not even the reads of the
        # records it would have attached), as through the API.
        with session.begin_nested():
            sent = service.send(session, actor=actor, registry=request.app.state.reference,
                                secret=_secret(request), data=data)
    except InvalidData as exc:
        problems, by_field = _problems(exc, rows)
        return _compose(request, session, actor, form, status=422, problems=problems,
                        error="The message was not sent.", field_errors=by_field)
    to = ", ".join(d["agency"] for d in sent["to"])
    return RedirectResponse(f"/exchange/messages/{sent['id']}?msg="
                            + quote(f"Sent to {to}, signed with key {sent['key_id']}"),
                            status_code=303)


# --- one message ----------------------------------------------------------------------------

def _content(a: dict[str, Any]) -> dict[str, Any]:
    """An attachment's copy, shown compactly: a note's text, an entity's schema and
    properties, and a few key fields of a seizure or consignment."""
    c = a["content"] or {}
    if a["resource_type"] == "note":
        return {"text": str(c.get("text", ""))}
    if a["resource_type"] == "network.entity":
        ftm = c.get("ftm") or {}
        return {"schema": ftm.get("schema", ""),
                "properties": sorted((ftm.get("properties") or {}).items())}
    if a["resource_type"] == "seizures.seizure":
        route = [c.get("origin")] + list(c.get("transit") or []) + [c.get("destination")]
        lines = "; ".join(f"{ln.get('substance')} {ln.get('quantity'):g} {ln.get('unit')}"
                          if isinstance(ln.get("quantity"), int | float)
                          else str(ln.get("substance"))
                          for ln in c.get("substances") or [])
        facts = [("Reference", c.get("reference")),
                 ("Seized", str(c.get("seized_at") or "")[:10]),
                 ("Where", ", ".join(x for x in (c.get("country"), c.get("place")) if x)),
                 ("Substances", lines), ("Route", " → ".join(x for x in route if x)),
                 ("Transport", c.get("transport_mode")), ("Concealment", c.get("concealment"))]
    else:
        path = c.get("route")
        facts = [("Kind", c.get("kind")), ("Reference", c.get("reference")),
                 ("Declared", str(c.get("declared_at") or "")[:10]),
                 ("Office", c.get("office")), ("Importer", c.get("importer")),
                 ("Seller", c.get("seller")), ("HS code", c.get("hs_code")),
                 ("Origin", c.get("origin_country")),
                 ("Route", " → ".join(path) if isinstance(path, list) else path),
                 ("Lane", c.get("lane"))]
    return {"facts": [(k, v) for k, v in facts if v not in (None, "", [])]}


def _restricted(m: dict[str, Any], actor: Actor) -> list[dict[str, Any]]:
    """What on this message needs its originator's permission before it is passed on:
    the message and each attachment whose code forbids onward sharing, unless the actor's
    own agency is its originator. Shown so that the user can ask for each."""
    items = []
    if m["from"] != actor.agency_code and not m["onward_sharing"]:
        items.append({"attachment_id": None, "what": f"the message ({m['handling']})",
                      "originator": m["from"]})
    for a in m["attachments"]:
        if a["originator"] != actor.agency_code and not a["onward_sharing"]:
            items.append({"attachment_id": a["id"], "what": f"attachment {a['position'] + 1}"
                          f" “{a['title']}” ({a['handling']})", "originator": a["originator"]})
    return items


def _message(request: Request, session: Session, actor: Actor, message_id: int,
             status: int = 200, forward_to: list[str] | None = None, **extra: Any
             ) -> Response:
    m = service.read(session, actor=actor, registry=request.app.state.reference,
                     message_id=message_id, justification=OPENED)
    for a in m["attachments"]:
        a["shown"] = _content(a)
    mine = _mine(m, actor)
    requests = [r for r in service.permission_requests(session, actor=actor)
                if r["message_id"] == m["id"] and r["requester"] == actor.agency_code]
    restricted = _restricted(m, actor)
    asks = []
    for item in restricted:
        for code in forward_to or []:
            asked = next((r for r in requests if r["attachment_id"] == item["attachment_id"]
                          and r["to"] == code and r["status"] in ("pending", "granted")), None)
            asks.append({**item, "to": code, "asked": asked})
    reply_to = m["from"] if mine else ", ".join(d["agency"] for d in m["to"])
    return render(request, "exchange_message.html", actor, status=status, m=m, mine=mine,
                  can_ack=mine is not None and not mine["acknowledged_at"],
                  can_send=actor.can(Permission.exchange_send),
                  can_import=mine is not None and actor.can(Permission.network_write),
                  requests=requests, restricted=restricted, asks=asks,
                  reply_to=extra.pop("reply_to", reply_to),
                  handling_codes=_handling_codes(request), tab="", **extra)


@router.get("/exchange/messages/{message_id}")
def message_page(request: Request, session: WriteSession, actor: PageActor, message_id: int,
                 ask: str = "") -> Response:
    """The message; ``ask`` (agency codes) brings back the permission forms for passing its
    restricted items to those agencies, after one of them was asked for."""
    # A write session: the read is audited with its purpose in the same transaction.
    return _message(request, session, actor, message_id, forward_to=_codes(ask) or None)


def _back(message_id: int, note: str) -> Response:
    return RedirectResponse(f"/exchange/messages/{message_id}?msg={quote(note)}",
                            status_code=303)


@router.post("/exchange/messages/{message_id}/acknowledge", dependencies=[Depends(form_csrf)])
def acknowledge_page(session: WriteSession, actor: PageActor, message_id: int) -> Response:
    service.acknowledge(session, actor=actor, message_id=message_id)
    return _back(message_id, "Receipt acknowledged")


@router.post("/exchange/messages/{message_id}/reply", dependencies=[Depends(form_csrf)])
def reply_page(request: Request, session: WriteSession, actor: PageActor, message_id: int,
               body: Annotated[str, Form()] = "", to: Annotated[str, Form()] = "",
               handling: Annotated[str, Form()] = "") -> Response:
    data: dict[str, Any] = {"body": body, "to": _codes(to)}
    if handling:
        data["handling"] = handling
    try:
        with session.begin_nested():
            sent = service.reply(session, actor=actor, registry=request.app.state.reference,
                                 secret=_secret(request), message_id=message_id, data=data)
    except InvalidData as exc:
        problems, _ = _problems(exc)
        return _message(request, session, actor, message_id, status=422, error_where="reply",
                        error="The reply was not sent.", problems=problems, reply_body=body,
                        reply_to=to, reply_handling=handling)
    to_text = ", ".join(d["agency"] for d in sent["to"])
    return _back(sent["id"], f"Reply sent to {to_text}")


@router.post("/exchange/messages/{message_id}/forward", dependencies=[Depends(form_csrf)])
def forward_page(request: Request, session: WriteSession, actor: PageActor, message_id: int,
                 to: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""
                 ) -> Response:
    codes = _codes(to)
    try:
        sent = service.forward(session, actor=actor, registry=request.app.state.reference,
                               secret=_secret(request), message_id=message_id, to=codes,
                               note=note)
    except Forbidden as exc:
        # The refusal names each item and code; the page offers to ask the originator.
        return _message(request, session, actor, message_id, status=403,
                        error_where="forward", error=exc.detail, problems=[],
                        forward_to=codes, forward_text=to, forward_note=note)
    except InvalidData as exc:
        problems, _ = _problems(exc)
        return _message(request, session, actor, message_id, status=422,
                        error_where="forward", error="The message was not forwarded.",
                        problems=problems, forward_text=to, forward_note=note)
    to_text = ", ".join(d["agency"] for d in sent["to"])
    return _back(sent["id"], f"Forwarded to {to_text}")


@router.post("/exchange/messages/{message_id}/permissions", dependencies=[Depends(form_csrf)])
def ask_page(request: Request, session: WriteSession, actor: PageActor, message_id: int,
             to: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
             attachment_id: Annotated[str, Form()] = "") -> Response:
    try:
        made = service.request_permission(
            session, actor=actor, message_id=message_id, to=to.strip().upper(),
            attachment_id=int(attachment_id) if attachment_id.isdigit() else None,
            reason=reason)
    except (InvalidData, NotFound) as exc:
        problems = _problems(exc)[0] if isinstance(exc, InvalidData) else [exc.detail]
        return _message(request, session, actor, message_id, status=422,
                        error_where="permission", error="The request was not made.",
                        problems=problems, forward_to=[to.strip().upper()] if to else None)
    # Back to the message: other restricted items may need asking for too.
    return RedirectResponse(
        f"/exchange/messages/{message_id}?ask={quote(made['to'])}&msg=" + quote(
            f"Permission to pass it to {made['to']} asked of {made['originator']}; "
            "its answer shows under Permission requests") + "#ask-permission",
        status_code=303)


@router.post("/exchange/attachments/{attachment_id}/import",
             dependencies=[Depends(form_csrf)])
def import_page(request: Request, session: WriteSession, actor: PageActor,
                attachment_id: int, message_id: Annotated[int, Form()],
                justification: Annotated[str, Form()] = "") -> Response:
    try:
        if not justification.strip():
            raise InvalidData("a justification is needed", errors=[
                FieldError("justification", "required: why your agency takes it into its file")])
        done = service.import_entity(session, actor=actor,
                                     registry=request.app.state.reference,
                                     attachment_id=attachment_id,
                                     justification=justification.strip())
    except InvalidData as exc:
        return _message(request, session, actor, message_id, status=422,
                        error_where=f"import-{attachment_id}",
                        error="Not imported.", problems=_problems(exc)[0])
    what = "already in the file" if done.get("already_imported") else (
        f"{done.get('entities', 0)} entit(y/ies), {done.get('values_added', 0)} value(s) "
        "added to the file")
    return _back(message_id, f"Imported: {what}")


# --- threads, permissions, keys -------------------------------------------------------------

@router.get("/exchange/threads/{thread_id}")
def thread_page(request: Request, session: ReadSession, actor: PageActor, thread_id: int
                ) -> Response:
    return render(request, "exchange_thread.html", actor, thread_id=thread_id,
                  items=service.thread(session, actor=actor, thread_id=thread_id), tab="")


def _permissions(request: Request, session: Session, actor: Actor, status: int = 200,
                 **extra: Any) -> Response:
    rows = service.permission_requests(session, actor=actor)
    return render(request, "exchange_permissions.html", actor, status=status,
                  received=[r for r in rows if r["originator"] == actor.agency_code],
                  made=[r for r in rows if r["requester"] == actor.agency_code],
                  can_decide=actor.can(Permission.exchange_send), tab="permissions", **extra)


@router.get("/exchange/permissions")
def permissions_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _permissions(request, session, actor)


@router.post("/exchange/permissions/{request_id}/decision", dependencies=[Depends(form_csrf)])
def decide_page(request: Request, session: WriteSession, actor: PageActor, request_id: int,
                decision: Annotated[str, Form()], note: Annotated[str, Form()] = ""
                ) -> Response:
    try:
        done = service.decide_permission(session, actor=actor, request_id=request_id,
                                         grant=decision == "grant", note=note)
    except InvalidData as exc:
        return _permissions(request, session, actor, status=422,
                            error=f"Request {request_id} was not decided: {exc.detail}.",
                            problems=_problems(exc)[0])
    return RedirectResponse("/exchange/permissions?msg=" + quote(
        f"Request {done['id']} {done['status']}: {done['requester']} "
        f"{'may' if done['status'] == 'granted' else 'may not'} pass it to {done['to']}"),
        status_code=303)


@router.get("/exchange/keys")
def keys_page(request: Request, session: ReadSession, actor: PageActor, agency: str = ""
              ) -> Response:
    code = agency.strip().upper() or actor.agency_code
    try:
        rows, error = service.agency_keys(session, actor=actor, agency=code), ""
    except NotFound as exc:
        rows, error = [], exc.detail
    return render(request, "exchange_keys.html", actor, status=404 if error else 200,
                  keys=rows, agency=code, error=error, tab="keys")
