"""HTTP routes of the precursor register (thin: every decision is in the services)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.precursors import authorisations, service
from interdict.precursors.authorisations import AuthorisationCreate, NotificationAnswer
from interdict.precursors.records import TRANSACTION_COLUMNS

router = APIRouter(prefix="/api/v1/precursors", tags=["precursors"], responses=ERRORS)


@router.post("/operators/import", summary="Import the operator registry CSV "
             "(all or nothing; the same file again changes nothing)")
async def import_operators(session: WriteSession, actor: ActorDep,
                           file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    return service.import_operators(session, actor=actor, data=await file.read(),
                                    filename=file.filename or "operators.csv")


class OperatorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    licence: str
    name: str
    country: str
    categories: list[str]
    kind: str
    valid_from: Any
    valid_to: Any
    activities: list[str]
    sector: str
    sites: list[str]


@router.get("/operators", summary="Search the operator registry",
            response_model=list[OperatorRead])
def operators(session: ReadSession, actor: ActorDep, q: str = "",
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[OperatorRead]:
    return [OperatorRead.model_validate(o)
            for o in service.search_operators(session, actor=actor, q=q, limit=limit)]


@router.get("/operators/{licence}", summary="An operator with its stock series and findings")
def operator(session: ReadSession, actor: ActorDep, licence: str) -> dict[str, Any]:
    return service.operator_overview(session, actor=actor, licence=licence)


@router.get("/operators/{licence}/transactions", summary="An operator's transactions, newest "
            "first")
def transactions(session: ReadSession, actor: ActorDep, licence: str,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
    return [service.describe_transaction(t) for t in
            service.transactions(session, actor=actor, licence=licence, limit=limit)]


@router.get("/operators/{licence}/returns", summary="An operator's return for a year or "
            "quarter (e.g. 2025 or 2025-Q3), per substance")
def operator_return(session: ReadSession, actor: ActorDep, licence: str,
                    period: str) -> list[dict[str, Any]]:
    return service.operator_return(session, actor=actor, licence=licence, period=period)


@router.get("/summary", summary="Per substance across operators for a year or quarter")
def summary(session: ReadSession, actor: ActorDep, period: str) -> list[dict[str, Any]]:
    return service.authority_summary(session, actor=actor, period=period)


@router.post("/transactions/import", summary="Import a transaction file (CSV or JSON lines); "
             "all or nothing unless partial")
async def import_transactions(request: Request, session: WriteSession, actor: ActorDep,
                              file: Annotated[UploadFile, File()],
                              partial: Annotated[bool, Form()] = False) -> dict[str, Any]:
    return service.import_transactions(
        session, actor=actor, registry=request.app.state.reference, data=await file.read(),
        filename=file.filename or "transactions.csv", partial=partial)


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=100_000, description=(
        f"Transaction records with the fields {', '.join(TRANSACTION_COLUMNS)}."))
    partial: bool = False


@router.post("/transactions", summary="Submit transaction records as JSON (same rules as a "
             "file: one receipt, all or nothing unless partial)")
def submit(request: Request, session: WriteSession, actor: ActorDep,
           body: Submission) -> dict[str, Any]:
    data = "\n".join(json.dumps(r, separators=(",", ":"), sort_keys=True)
                     for r in body.records).encode()
    return service.import_transactions(session, actor=actor,
                                       registry=request.app.state.reference, data=data,
                                       filename="api.jsonl", partial=body.partial)


@router.get("/batches", summary="Receipts of uploads (an operator sees its own)")
def batches(session: ReadSession, actor: ActorDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    return service.batches(session, actor=actor, limit=limit)


class CheckRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: AwareDatetime | None = None
    all_records: bool = False


@router.post("/checks/run", summary="Run the checks over the whole register (transfer "
             "deadlines, stock balances; all_records repeats every per-record check)")
def run_checks(request: Request, session: WriteSession, actor: ActorDep,
               body: CheckRun) -> dict[str, Any]:
    return service.recheck(session, actor=actor, registry=request.app.state.reference,
                           as_of=body.as_of, all_records=body.all_records)


@router.get("/findings", summary="The checks' findings, newest first, with their alert")
def findings(session: ReadSession, actor: ActorDep, kind: str | None = None,
             operator: str | None = None,
             limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    return service.findings(session, actor=actor, kind=kind, licence=operator, limit=limit)


class AccountLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=120)
    licence: str = Field(min_length=1, max_length=64)


@router.post("/operator-accounts", summary="Link an operator user to its company")
def link_account(session: WriteSession, actor: ActorDep, body: AccountLink) -> dict[str, str]:
    service.link_user(session, actor=actor, username=body.username, licence=body.licence)
    return {"username": body.username, "licence": body.licence}


@router.post("/authorisations", summary="Record an export authorisation")
def create_authorisation(request: Request, session: WriteSession, actor: ActorDep,
                         body: AuthorisationCreate) -> dict[str, Any]:
    return authorisations.describe(authorisations.create(
        session, actor=actor, registry=request.app.state.reference, data=body))


@router.post("/authorisations/{auth_id}/send", summary="Send the pre-export notification to "
             "the importing authority")
def send_notification(request: Request, session: WriteSession, actor: ActorDep,
                      auth_id: int) -> dict[str, Any]:
    return authorisations.describe(authorisations.send(
        session, actor=actor, registry=request.app.state.reference, auth_id=auth_id))


@router.post("/authorisations/{auth_id}/answer", summary="Confirm or object to a pre-export "
             "notification (importing authority)")
def answer_notification(session: WriteSession, actor: ActorDep, auth_id: int,
                        body: NotificationAnswer) -> dict[str, Any]:
    return authorisations.describe(authorisations.answer(session, actor=actor,
                                                         auth_id=auth_id, data=body))


@router.get("/notifications", summary="Pre-export notifications: outgoing, incoming, overdue")
def notifications(session: ReadSession, actor: ActorDep) -> dict[str, list[dict[str, Any]]]:
    return authorisations.inbox(session, actor=actor)
