"""Request dependencies: database sessions, the acting user, CSRF, pagination."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.config import Settings
from interdict.db.engine import Database
from interdict.db.session import unit_of_work
from interdict.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "interdict_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class BrowserSession:
    csrf_token: str
    actor: Actor


def _web_session(request: Request) -> BrowserSession | None:
    """The browser session behind the cookie, cached on the request."""
    if hasattr(request.state, "web_session"):
        cached: BrowserSession | None = request.state.web_session
        return cached
    secret = request.cookies.get(SESSION_COOKIE)
    found = None
    if secret:
        with unit_of_work(get_db(request), readonly=True) as session:
            web = auth.session_from_cookie(session, secret=secret)
            if web is not None:
                found = BrowserSession(web.csrf_token, auth.actor_for_user(
                    web.user, client=client_address(request)))
    request.state.web_session = found
    return found


def optional_actor(request: Request) -> Actor | None:
    """The caller from a Bearer token or a session cookie; None when anonymous.

    Cookie-authenticated requests that change state must carry the session's CSRF token
    (header ``X-CSRF-Token`` or form field ``csrf_token``, checked by the web forms).
    """
    if hasattr(request.state, "actor"):
        cached: Actor | None = request.state.actor
        return cached
    actor: Actor | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'")
        with unit_of_work(get_db(request), readonly=True) as session:
            actor = auth.actor_from_token(session, secret=secret.strip(),
                                          client=client_address(request))
    else:
        web = _web_session(request)
        if web is not None:
            if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                check_csrf(request, request.headers.get(CSRF_HEADER, ""))
            actor = web.actor
    request.state.actor = actor
    return actor


def read_session(request: Request, _actor: Annotated[Actor | None, Depends(optional_actor)]
                 ) -> Iterator[Session]:
    # Depending on the actor makes its look-up finish (and return its connection) before this
    # unit of work takes one: a request never holds two pooled connections at once, so a burst
    # of requests cannot exhaust the pool waiting on themselves.
    with unit_of_work(get_db(request), readonly=True) as session:
        yield session


def write_session(request: Request, _actor: Annotated[Actor | None, Depends(optional_actor)]
                  ) -> Iterator[Session]:
    with unit_of_work(get_db(request)) as session:
        yield session


# Function scope: the unit of work commits when the handler returns, before the response is
# sent, so a failed commit is an error response and never a false success.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


def check_csrf(request: Request, supplied: str) -> None:
    web = _web_session(request)
    if web is None or not supplied or not hmac.compare_digest(web.csrf_token, supplied):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")


def csrf_token(request: Request) -> str:
    web = _web_session(request)
    return web.csrf_token if web else ""


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise NotAuthenticated("log in or send 'Authorization: Bearer <token>'")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class Paging:
    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


async def paging(limit: int = Query(50, ge=1, le=500, description="Page size."),
                 offset: int = Query(0, ge=0, description="Items to skip.")) -> Paging:
    # async: trivial dependencies run on the event loop instead of a thread hop each.
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]
