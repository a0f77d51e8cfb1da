"""Agencies, users, login with throttling, browser sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import Agency, ApiToken, LoginAttempt, RecordShare, User, WebSession
from interdict.auth.passwords import hash_password, needs_rehash, verify_password
from interdict.auth.roles import Permission, Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, TokenCreate, UserCreate
from interdict.db.base import utcnow
from interdict.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidData,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
)

TOKEN_PREFIX = "idt_"
CLIENT_FAILURE_FACTOR = 4


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def system_actor(agency: Agency) -> Actor:
    """The platform acting for an agency (CLI administration, demo loading, workers)."""
    return Actor(user_id=None, username="system", agency_id=agency.id, agency_code=agency.code,
                 roles=frozenset({Role.admin}), via="cli")


def actor_for_user(user: User, *, roles: frozenset[Role] | None = None, via: str = "session",
                   client: str = "") -> Actor:
    return Actor(user_id=user.id, username=user.username, agency_id=user.agency_id,
                 agency_code=user.agency.code,
                 roles=roles if roles is not None else frozenset(Role(r) for r in user.roles),
                 via=via, client=client)


# --- agencies -------------------------------------------------------------------------------

def create_agency(session: Session, *, data: AgencyCreate, actor: Actor | None = None) -> Agency:
    if session.scalar(select(Agency).where(Agency.code == data.code)) is not None:
        raise Conflict(f"agency {data.code} already exists",
                       errors=[FieldError("code", "already in use")])
    agency = Agency(code=data.code, name=data.name, country=data.country, kind=data.kind.value)
    session.add(agency)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.agency_created, agency=agency.code,
                 resource_type="agency", resource_id=agency.id, details={"name": agency.name})
    return agency


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def get_agency(session: Session, *, code: str | None) -> Agency:
    """The agency with ``code``; with no code, the only agency of a single-agency install."""
    if code:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise NotFound(f"no agency with code {code!r}")
        return agency
    agencies = list(session.scalars(select(Agency).order_by(Agency.id).limit(2)))
    if not agencies:
        raise NotFound("no agency exists yet: run `interdict demo load` or create one")
    if len(agencies) > 1:
        raise InvalidData("several agencies exist: name one with --agency or INTERDICT_AGENCY",
                          errors=[FieldError("agency", "required when several agencies exist")])
    return agencies[0]


def ensure_default_agency(session: Session) -> Agency:
    """A new database holds one agency so that single-agency use needs no flag."""
    existing = session.scalar(select(Agency).order_by(Agency.id).limit(1))
    if existing is not None:
        return existing
    return create_agency(session, data=AgencyCreate(
        code="LOCAL", name="Local agency", country="EU", kind=AgencyKind.international))


# --- users ----------------------------------------------------------------------------------

def create_user(session: Session, *, agency: Agency, data: UserCreate,
                actor: Actor | None = None) -> User:
    if session.scalar(select(User).where(User.username == data.username)) is not None:
        raise Conflict(f"user {data.username} already exists",
                       errors=[FieldError("username", "already in use")])
    user = User(agency_id=agency.id, username=data.username, full_name=data.full_name,
                password_hash=hash_password(data.password), roles=[r.value for r in data.roles])
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise Conflict(f"user {data.username} already exists") from exc
    session.refresh(user)
    audit.record(session, actor=actor, action=AuditAction.user_created, agency=agency.code,
                 resource_type="user", resource_id=user.id,
                 details={"username": user.username, "roles": user.roles})
    return user


def set_active(session: Session, *, actor: Actor, username: str, active: bool) -> User:
    """Deactivate (or reactivate) a user of the actor's agency; ends their sessions.

    Users are never deleted: their name stays attached to audit rows and alert history.
    """
    actor.require(Permission.users_manage)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.agency_id != actor.agency_id:
        raise NotFound(f"no user {username!r} in agency {actor.agency_code}")
    user.active = active
    if not active:
        now = utcnow()
        for web in session.scalars(select(WebSession).where(
                WebSession.user_id == user.id, WebSession.ended_at.is_(None))):
            web.ended_at = now
    audit.record(session, actor=actor, action=AuditAction.user_changed, resource_type="user",
                 resource_id=user.id, details={"active": active})
    return user


def set_password(session: Session, *, actor: Actor, username: str, password: str) -> User:
    """Set a new password (admin reset); ends the user's browser sessions."""
    actor.require(Permission.users_manage)
    if len(password) < 10:
        raise InvalidData("password too short",
                          errors=[FieldError("password", "at least 10 characters")])
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.agency_id != actor.agency_id:
        raise NotFound(f"no user {username!r} in agency {actor.agency_code}")
    user.password_hash = hash_password(password)
    now = utcnow()
    for web in session.scalars(select(WebSession).where(
            WebSession.user_id == user.id, WebSession.ended_at.is_(None))):
        web.ended_at = now
    audit.record(session, actor=actor, action=AuditAction.user_changed, resource_type="user",
                 resource_id=user.id, details={"password": "reset"})
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    return list(session.scalars(
        select(User).where(User.agency_id == actor.agency_id).order_by(User.username)))


def get_user_in_agency(session: Session, *, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.agency_id != actor.agency_id:
        raise NotFound(f"no user {user_id}")
    return user


# --- login and browser sessions -------------------------------------------------------------

def _check_throttle(session: Session, *, username: str, client: str, max_failures: int,
                    window_seconds: int) -> None:
    since = utcnow() - dt.timedelta(seconds=window_seconds)
    by_user = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.attempted_at >= since, LoginAttempt.username == username)) or 0
    by_client = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.attempted_at >= since, LoginAttempt.client == client)) or 0
    # One account is guarded at max_failures; one address (which may be an office behind a
    # NAT) at four times that, so that password spraying is slowed without locking out a site.
    if by_user >= max_failures or by_client >= CLIENT_FAILURE_FACTOR * max_failures:
        raise TooManyRequests(
            f"too many failed logins; try again in {window_seconds // 60} minutes",
            retry_after=window_seconds)


def login(session: Session, *, username: str, password: str, client: str, session_hours: int,
          max_failures: int, window_seconds: int) -> tuple[str, WebSession]:
    """Check a password and open a browser session; returns (cookie secret, session row).

    Failed attempts are counted per username and per client address; past the limit within
    the window every attempt is refused before the password is even checked.
    """
    username = username.strip().lower()
    try:
        _check_throttle(session, username=username, client=client, max_failures=max_failures,
                        window_seconds=window_seconds)
    except TooManyRequests:
        audit.record(session, actor=None, actor_name=username[:120],
                     action=AuditAction.login_throttled, details={"client": client})
        raise
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        session.add(LoginAttempt(username=username[:120], client=client[:64]))
        audit.record(session, actor=None, actor_name=username[:120],
                     agency=user.agency.code if user else "",
                     action=AuditAction.login_failed, details={"client": client})
        session.flush()
        raise NotAuthenticated("wrong username or password")
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    secret = secrets.token_urlsafe(32)
    web = WebSession(user_id=user.id, token_hash=_sha256(secret),
                     csrf_token=secrets.token_urlsafe(32),
                     expires_at=utcnow() + dt.timedelta(hours=session_hours))
    session.add(web)
    session.flush()
    audit.record(session, actor=actor_for_user(user, client=client),
                 action=AuditAction.login_succeeded, details={"client": client})
    return secret, web


def session_from_cookie(session: Session, *, secret: str) -> WebSession | None:
    web = session.scalar(select(WebSession).where(WebSession.token_hash == _sha256(secret)))
    if web is None or web.ended_at is not None or web.expires_at <= utcnow():
        return None
    if not web.user.active:
        return None
    return web


def logout(session: Session, *, secret: str) -> None:
    web = session.scalar(select(WebSession).where(WebSession.token_hash == _sha256(secret)))
    if web is not None and web.ended_at is None:
        web.ended_at = utcnow()
        audit.record(session, actor=actor_for_user(web.user), action=AuditAction.logout)


# --- API tokens -----------------------------------------------------------------------------

def create_token(session: Session, *, actor: Actor, user: User, data: TokenCreate
                 ) -> tuple[str, ApiToken]:
    """Issue a token for ``user`` limited to one of the user's roles."""
    if data.role.value not in user.roles:
        raise InvalidData(f"user {user.username} does not hold role {data.role.value}",
                          errors=[FieldError("role", "not one of the user's roles")])
    if user.id != actor.user_id:
        actor.require(Permission.users_manage)
        if user.agency_id != actor.agency_id:
            raise NotFound(f"no user {user.id}")
    elif data.role not in actor.roles:
        # A token (or session) acting with fewer roles cannot mint a broader token.
        acting = ", ".join(sorted(r.value for r in actor.roles))
        raise Forbidden(f"you are acting as {acting} and cannot issue "
                        f"a token for role {data.role.value}",
                        errors=[FieldError("role", "not a role you are acting with")])
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = (utcnow() + dt.timedelta(days=data.expires_in_days)) if data.expires_in_days \
        else None
    token = ApiToken(user_id=user.id, name=data.name, prefix=secret[:10],
                     token_hash=_sha256(secret), role=data.role.value, expires_at=expires)
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.token_created, resource_type="token",
                 resource_id=token.id, details={"user": user.username, "role": token.role})
    return secret, token


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id)
                                .order_by(ApiToken.id)))


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user.agency_id != actor.agency_id:
        raise NotFound(f"no token {token_id}")
    if token.user_id != actor.user_id:
        actor.require(Permission.users_manage)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor=actor, action=AuditAction.token_revoked,
                     resource_type="token", resource_id=token.id)
    return token


def actor_from_token(session: Session, *, secret: str, client: str = "") -> Actor:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if token is None:
        raise NotAuthenticated("unknown API token")
    if token.revoked_at is not None:
        raise NotAuthenticated("API token has been revoked")
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise NotAuthenticated("API token has expired")
    if not token.user.active:
        raise NotAuthenticated("the token's user is deactivated")
    return actor_for_user(token.user, roles=frozenset({Role(token.role)}), via="token",
                          client=client)


# --- sharing --------------------------------------------------------------------------------

def share_record(session: Session, *, actor: Actor, resource_type: str, resource_id: str | int,
                 owner_agency_id: int, recipient: Agency, handling_code: str,
                 justification: str) -> RecordShare:
    """Let ``recipient`` see one of the actor's agency's records; audited as a disclosure.

    The calling domain looks the record up and passes its owner: only the owning agency can
    share, so a recipient cannot pass a shared record on (that goes through the exchange,
    which enforces handling codes). Sharing again is idempotent.
    """
    actor.require(Permission.share_records)
    if owner_agency_id != actor.agency_id:
        raise NotFound(f"no {resource_type} {resource_id} owned by your agency")
    if not justification.strip():
        raise InvalidData("a disclosure needs a justification",
                          errors=[FieldError("justification", "must not be empty")])
    existing = session.scalar(select(RecordShare).where(
        RecordShare.resource_type == resource_type, RecordShare.resource_id == str(resource_id),
        RecordShare.agency_id == recipient.id))
    if existing is not None:
        return existing
    share = RecordShare(resource_type=resource_type, resource_id=str(resource_id),
                        agency_id=recipient.id, granted_by_agency_id=actor.agency_id,
                        handling_code=handling_code)
    session.add(share)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_disclosed,
                 resource_type=resource_type, resource_id=resource_id,
                 justification=justification, recipient=recipient.code,
                 details={"handling_code": handling_code})
    return share
