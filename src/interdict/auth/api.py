"""HTTP routes for the caller's identity, API tokens, users and agencies."""

from __future__ import annotations

from fastapi import APIRouter

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.auth import service
from interdict.auth.models import User
from interdict.auth.roles import Permission
from interdict.auth.schemas import (
    AgencyRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserRead,
)
from interdict.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERRORS)


@router.get("/me", summary="Who you are, your agency and roles", response_model=UserRead)
def me(session: ReadSession, actor: ActorDep) -> UserRead:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound("the system actor has no user record")
    read = UserRead.model_validate(user)
    read.roles = sorted(r.value for r in actor.roles)
    return read


@router.get("/tokens", summary="List your API tokens", response_model=list[TokenRead])
def list_tokens(session: ReadSession, actor: ActorDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, actor=actor)]


@router.post("/tokens", summary="Create an API token for yourself (shown once)",
             status_code=201, response_model=TokenIssued)
def create_token(data: TokenCreate, session: WriteSession, actor: ActorDep) -> TokenIssued:
    user = service.get_user_in_agency(session, actor=actor, user_id=actor.user_id or 0)
    secret, token = service.create_token(session, actor=actor, user=user, data=data)
    return TokenIssued(token=secret, **TokenRead.model_validate(token).model_dump())


@router.delete("/tokens/{token_id}", summary="Revoke an API token", status_code=204)
def revoke_token(token_id: int, session: WriteSession, actor: ActorDep) -> None:
    service.revoke_token(session, actor=actor, token_id=token_id)


@router.get("/users", summary="Users of your agency", response_model=list[UserRead])
def list_users(session: ReadSession, actor: ActorDep) -> list[UserRead]:
    actor.require(Permission.alerts_read)
    return [UserRead.model_validate(u) for u in service.list_users(session, actor=actor)]


@router.post("/users", summary="Create a user in your agency (admin)", status_code=201,
             response_model=UserRead)
def create_user(data: UserCreate, session: WriteSession, actor: ActorDep) -> UserRead:
    actor.require(Permission.users_manage)
    agency = service.get_agency(session, code=actor.agency_code)
    return UserRead.model_validate(service.create_user(session, agency=agency, data=data,
                                                       actor=actor))


@router.get("/agencies", summary="Agencies on this platform", response_model=list[AgencyRead])
def list_agencies(session: ReadSession, actor: ActorDep) -> list[AgencyRead]:
    return [AgencyRead.model_validate(a) for a in service.list_agencies(session)]
