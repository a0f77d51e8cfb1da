"""Web pages: login, dashboard, alert queue with live arrival, alert detail, audit, profile.

Handlers stay thin: they read the form or query, call the same services as the API, and render.
State-changing forms carry the session's CSRF token; login uses a double-submit cookie.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader
from pydantic import ValidationError

from interdict import __version__
from interdict.alerts import service as alerts
from interdict.alerts.api import sse_events
from interdict.alerts.schemas import (
    AlertAssign,
    AlertClose,
    AlertCommentCreate,
    AlertFilter,
    AlertRead,
    AlertShare,
    AlertTriage,
    Outcome,
    Severity,
    Status,
)
from interdict.api.deps import (
    SESSION_COOKIE,
    ReadSession,
    SettingsDep,
    WriteSession,
    check_csrf,
    client_address,
    csrf_token,
    optional_actor,
)
from interdict.audit import service as audit
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.models import User
from interdict.auth.roles import Permission, Role
from interdict.auth.schemas import TokenCreate
from interdict.errors import (
    FieldError,
    InterdictError,
    InvalidData,
    NotAuthenticated,
    TooManyRequests,
)
from interdict.web.nav import nav_for

HERE = Path(__file__).parent
LOGIN_CSRF_COOKIE = "interdict_login_csrf"
templates = Jinja2Templates(directory=str(HERE / "templates"))
_template_dirs: list[str] = [str(HERE / "templates")]


def add_template_dir(path: Path) -> None:
    """Let a domain package ship its own page templates (they extend base.html)."""
    if str(path) not in _template_dirs:
        _template_dirs.append(str(path))
        templates.env.loader = FileSystemLoader(_template_dirs)
templates.env.globals["version"] = __version__
templates.env.filters["tojson_attr"] = lambda v: json.dumps(v)

router = APIRouter(include_in_schema=False)


def page_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise NotAuthenticated("log in to continue")
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def render(request: Request, name: str, actor: Actor | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    context.update(request=request, actor=actor, nav=nav_for(actor),
                   csrf=csrf_token(request), path=request.url.path)
    return templates.TemplateResponse(request, name, context, status_code=status)


async def form_csrf(request: Request) -> None:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))


# --- login ----------------------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", None, login_csrf=token, next=_safe_next(next),
                  error=None)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                    secure=settings.cookie_secure, max_age=3600)
    return resp


def _safe_next(target: str) -> str:
    # Only local paths: an open redirect after login is a phishing aid.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
def login_submit(request: Request, session: WriteSession, settings: SettingsDep,
                 username: Annotated[str, Form(max_length=120)],
                 password: Annotated[str, Form(max_length=256)],
                 csrf_token: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return render(request, "login.html", None, status=403, login_csrf=cookie,
                      next=_safe_next(next), error="The form expired; please try again.")
    try:
        secret, web = auth.login(session, username=username, password=password,
                                 client=client_address(request),
                                 session_hours=settings.session_hours,
                                 max_failures=settings.login_max_failures,
                                 window_seconds=settings.login_window_seconds)
    except (NotAuthenticated, TooManyRequests) as exc:
        # The failed attempt and its audit record must be stored even though login failed.
        session.commit()
        return render(request, "login.html", None, status=exc.status, login_csrf=cookie,
                      next=_safe_next(next), error=exc.detail, username=username)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax",
                    secure=settings.cookie_secure, max_age=settings.session_hours * 3600)
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout", dependencies=[Depends(form_csrf)])
def logout(request: Request, session: WriteSession, actor: PageActor) -> Response:
    auth.logout(session, secret=request.cookies.get(SESSION_COOKIE, ""))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


# --- dashboard ------------------------------------------------------------------------------

@router.get("/")
def dashboard(request: Request, session: ReadSession, actor: PageActor) -> Response:
    if not actor.can(Permission.alerts_read):
        return render(request, "home.html", actor)
    summary = alerts.summary(session, actor=actor, days=30)
    recent, _ = alerts.list_alerts(session, actor=actor, filters=AlertFilter(), limit=8)
    return render(request, "dashboard.html", actor, summary=summary, recent=recent)


# --- alert queue ----------------------------------------------------------------------------

def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@router.get("/alerts")
def alert_queue(request: Request, session: ReadSession, actor: PageActor,
                status: str = "", source: str = "", severity: str = "", q: str = "",
                assignee: str = "", page: int = Query(1, ge=1)) -> Response:
    actor.require(Permission.alerts_read)
    try:
        filters = AlertFilter(status=Status(status) if status else None, source=source or None,
                              severity=Severity(severity) if severity else None, q=q or None,
                              assignee_id=_int_or_none(assignee))
    except ValueError:
        filters = AlertFilter()
    per_page = 50
    items, total = alerts.list_alerts(session, actor=actor, filters=filters, limit=per_page,
                                      offset=(page - 1) * per_page)
    users = {u.id: u for u in alerts.assignable_users(session, actor=actor)}
    return render(request, "alerts.html", actor, alerts=items, total=total, page=page,
                  pages=max(1, (total + per_page - 1) // per_page), users=users,
                  filters={"status": status, "source": source, "severity": severity, "q": q,
                           "assignee": assignee},
                  statuses=[s.value for s in Status], severities=[s.value for s in Severity],
                  live_from=alerts.latest_alert_id(session, actor=actor))


@router.get("/alerts/stream")
def alert_stream(request: Request, actor: PageActor,
                 last_event_id: Annotated[int | None, Header()] = None,
                 after: int | None = None) -> StreamingResponse:
    actor.require(Permission.alerts_read)

    def row(alert: AlertRead) -> str:
        return templates.get_template("_alert_row.html").render(alert=alert, users={},
                                                                live=True)

    events = sse_events(request, actor, last_event_id if last_event_id is not None else after,
                        row, "alert")
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/alerts/{alert_id}")
def alert_detail(request: Request, alert_id: int, session: WriteSession, actor: PageActor
                 ) -> Response:
    detail = alerts.get_alert(session, actor=actor, alert_id=alert_id,
                              justification="opened in the web UI")
    users = alerts.assignable_users(session, actor=actor)
    codes = request.app.state.reference.get("platform/handling_codes").content.entries
    partners = [a for a in auth.list_agencies(session) if a.id != actor.agency_id]
    return render(request, "alert_detail.html", actor, alert=detail, handling_codes=codes,
                  partners=partners, can_share=actor.can(Permission.share_records)
                  and detail.agency_id == actor.agency_id,
                  users={u.id: u for u in users}, outcomes=[o.value for o in Outcome],
                  can_work=actor.can(Permission.alerts_work)
                  and detail.agency_id == actor.agency_id,
                  shared_in=detail.agency_id != actor.agency_id)


def _redirect_detail(alert_id: int, message: str = "") -> Response:
    suffix = f"?msg={quote(message)}" if message else ""
    return RedirectResponse(f"/alerts/{alert_id}{suffix}", status_code=303)


@router.post("/alerts/{alert_id}/triage", dependencies=[Depends(form_csrf)])
def alert_triage(alert_id: int, session: WriteSession, actor: PageActor,
                 note: Annotated[str, Form(max_length=10000)] = "") -> Response:
    alerts.triage(session, actor=actor, alert_id=alert_id, data=AlertTriage(note=note))
    return _redirect_detail(alert_id, "Alert triaged")


@router.post("/alerts/{alert_id}/assign", dependencies=[Depends(form_csrf)])
def alert_assign(alert_id: int, session: WriteSession, actor: PageActor,
                 assignee_id: Annotated[int, Form()]) -> Response:
    alerts.assign(session, actor=actor, alert_id=alert_id,
                  data=AlertAssign(assignee_id=assignee_id))
    return _redirect_detail(alert_id, "Alert assigned")


@router.post("/alerts/{alert_id}/comment", dependencies=[Depends(form_csrf)])
def alert_comment(alert_id: int, session: WriteSession, actor: PageActor,
                  body: Annotated[str, Form(min_length=1, max_length=10000)]) -> Response:
    alerts.comment(session, actor=actor, alert_id=alert_id, data=AlertCommentCreate(body=body))
    return _redirect_detail(alert_id, "Comment added")


@router.post("/alerts/{alert_id}/close", dependencies=[Depends(form_csrf)])
def alert_close(alert_id: int, session: WriteSession, actor: PageActor,
                outcome: Annotated[str, Form()],
                note: Annotated[str, Form(max_length=10000)] = "") -> Response:
    try:
        data = AlertClose(outcome=Outcome(outcome), note=note)
    except (ValueError, ValidationError):
        return _redirect_detail(alert_id, f"Unknown outcome {outcome!r}")
    alerts.close(session, actor=actor, alert_id=alert_id, data=data)
    return _redirect_detail(alert_id, "Alert closed")


@router.post("/alerts/{alert_id}/share", dependencies=[Depends(form_csrf)])
def alert_share(alert_id: int, session: WriteSession, actor: PageActor,
                agency: Annotated[str, Form(max_length=32)],
                handling_code: Annotated[str, Form(max_length=20)],
                justification: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        data = AlertShare(agency=agency, handling_code=handling_code,
                          justification=justification)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                            for e in exc.errors())
        return _redirect_detail(alert_id, f"Not shared: {reasons}")
    alerts.share(session, actor=actor, alert_id=alert_id, data=data)
    return _redirect_detail(alert_id, f"Shared with {agency} ({handling_code})")


# --- audit and profile ----------------------------------------------------------------------

@router.get("/audit")
def audit_page(request: Request, session: ReadSession, actor: PageActor,
               action: str = "", page: int = Query(1, ge=1), verify: bool = False) -> Response:
    actor.require(Permission.audit_read)
    per_page = 100
    rows, total = audit.list_events(session, agency=actor.agency_code, action=action or None,
                                    limit=per_page, offset=(page - 1) * per_page)
    result = audit.verify(session) if verify else None
    return render(request, "audit.html", actor, rows=rows, total=total, page=page,
                  pages=max(1, (total + per_page - 1) // per_page), action=action,
                  verify=result)


@router.get("/profile")
def profile(request: Request, session: ReadSession, actor: PageActor) -> Response:
    tokens = auth.list_tokens(session, actor=actor) if actor.user_id else []
    return render(request, "profile.html", actor, tokens=tokens, issued=None,
                  roles=sorted(r.value for r in actor.roles))


@router.post("/profile/tokens", dependencies=[Depends(form_csrf)])
def profile_create_token(request: Request, session: WriteSession, actor: PageActor,
                         name: Annotated[str, Form(min_length=1, max_length=120)],
                         role: Annotated[str, Form()]) -> Response:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotAuthenticated("log in as a user to create tokens")
    if role not in {r.value for r in Role}:
        raise InvalidData(f"unknown role {role!r}", errors=[FieldError("role", "unknown role")])
    secret, _ = auth.create_token(session, actor=actor, user=user,
                                  data=TokenCreate(name=name, role=Role(role)))
    session.flush()
    tokens = auth.list_tokens(session, actor=actor)
    return render(request, "profile.html", actor, tokens=tokens, issued=secret,
                  roles=sorted(r.value for r in actor.roles))


@router.post("/profile/tokens/{token_id}/revoke", dependencies=[Depends(form_csrf)])
def profile_revoke_token(token_id: int, session: WriteSession, actor: PageActor) -> Response:
    auth.revoke_token(session, actor=actor, token_id=token_id)
    return RedirectResponse("/profile", status_code=303)


# --- errors as pages ------------------------------------------------------------------------

def html_error(request: Request, exc: InterdictError) -> Response | None:
    """Render an error for a browser page; None leaves it to the JSON handler (API paths)."""
    if request.url.path.startswith("/api/") or request.url.path.startswith("/static/"):
        return None
    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    actor = getattr(request.state, "actor", None)
    return render(request, "error.html", actor, status=exc.status, error=exc)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.html_error = html_error
