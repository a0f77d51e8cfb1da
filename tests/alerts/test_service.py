"""Alert queue behaviour through the service layer (library API)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from interdict.alerts import service
from interdict.alerts.feedback import register_outcome_handler, unregister_outcome_handler
from interdict.alerts.models import Alert, WebhookDelivery
from interdict.alerts.schemas import (
    AlertAssign,
    AlertClose,
    AlertCommentCreate,
    AlertCreate,
    AlertFilter,
    AlertRead,
    AlertShare,
    AlertTriage,
    Outcome,
    Severity,
    WebhookCreate,
)
from interdict.auth import service as auth
from interdict.db.session import unit_of_work
from interdict.errors import Conflict, Forbidden, InvalidData, NotFound


def _alert(**kw: object) -> AlertCreate:
    data = {"source": "targeting", "kind": "consignment.risk", "title": "Risky consignment",
            "severity": "high", "score": 0.9,
            "reasons": [{"rule": "hs_precursor_chapter", "contribution": 0.6,
                         "values": {"hs": "2914.31"}}]}
    data.update(kw)
    return AlertCreate.model_validate(data)


def test_workflow_new_triaged_assigned_closed(world, db):
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        a = service.raise_alert(s, actor=actor, data=_alert())
        assert a.status == "new"
        d = service.triage(s, actor=actor, alert_id=a.id, data=AlertTriage(note="look"))
        assert d.status == "triaged"
        d = service.assign(s, actor=actor, alert_id=a.id,
                           data=AlertAssign(assignee_id=world.users["targeter@a"].id))
        assert d.status == "assigned" and d.assignee_id == world.users["targeter@a"].id
        d = service.comment(s, actor=actor, alert_id=a.id, data=AlertCommentCreate(body="hm"))
        assert [c.body for c in d.comments] == ["hm"]
        d = service.close(s, actor=actor, alert_id=a.id,
                          data=AlertClose(outcome=Outcome.confirmed, note="drugs found"))
        assert d.status == "closed" and d.outcome == "confirmed" and d.closed_at is not None
        assert [h.action for h in d.history] == ["created", "triaged", "assigned", "closed"]
        with pytest.raises(Conflict):
            service.triage(s, actor=actor, alert_id=a.id, data=AlertTriage())
        with pytest.raises(Conflict):
            service.close(s, actor=actor, alert_id=a.id, data=AlertClose(outcome="no_action"))


def test_outcome_feeds_back_to_source_module(world, db):
    seen: list[tuple[int, str]] = []

    def handler(session, alert: AlertRead, outcome: str) -> None:
        seen.append((alert.id, outcome))

    register_outcome_handler("targeting", handler)
    try:
        actor = world.actor("analyst@a")
        with unit_of_work(db) as s:
            a = service.raise_alert(s, actor=actor, data=_alert())
            other = service.raise_alert(s, actor=actor, data=_alert(source="precursors"))
            service.close(s, actor=actor, alert_id=a.id,
                          data=AlertClose(outcome=Outcome.false_positive))
            service.close(s, actor=actor, alert_id=other.id,
                          data=AlertClose(outcome=Outcome.confirmed))
        assert seen == [(a.id, "false_positive")]
    finally:
        unregister_outcome_handler("targeting", handler)


def test_dedup_key_makes_raising_idempotent(world, db):
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        first = service.raise_alert(s, actor=actor, data=_alert(dedup_key="decl-1"))
        again = service.raise_alert(s, actor=actor, data=_alert(dedup_key="decl-1"))
        assert first.id == again.id
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_agency_scoping_and_sharing(world, db):
    a_actor, b_actor = world.actor("analyst@a"), world.actor("analyst@b")
    with unit_of_work(db) as s:
        alert = service.raise_alert(s, actor=a_actor, data=_alert())
    with unit_of_work(db) as s:
        with pytest.raises(NotFound):
            service.get_alert(s, actor=b_actor, alert_id=alert.id)
        items, total = service.list_alerts(s, actor=b_actor, filters=AlertFilter())
        assert total == 0 and items == []
        assert service.summary(s, actor=b_actor)["total"] == 0
    share = AlertShare(agency="AG-B", handling_code="H2", justification="joint investigation")
    with unit_of_work(db) as s:
        service.share(s, actor=a_actor, alert_id=alert.id, data=share)
        service.share(s, actor=a_actor, alert_id=alert.id, data=share)  # idempotent
    with unit_of_work(db) as s:
        assert service.get_alert(s, actor=b_actor, alert_id=alert.id).id == alert.id
        _, total = service.list_alerts(s, actor=b_actor, filters=AlertFilter())
        assert total == 1
        # Shared is read-only: the recipient cannot work it or pass it on.
        with pytest.raises(Forbidden):
            service.close(s, actor=b_actor, alert_id=alert.id,
                          data=AlertClose(outcome=Outcome.no_action))
        with pytest.raises(Forbidden):
            service.share(s, actor=b_actor, alert_id=alert.id, data=AlertShare(
                agency="AG-A", handling_code="H0", justification="passing it on"))


def test_share_needs_justification_and_ownership(world, db):
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        alert = service.raise_alert(s, actor=actor, data=_alert())
        with pytest.raises(InvalidData) as exc:
            auth.share_record(s, actor=actor, resource_type="alert", resource_id=alert.id,
                              owner_agency_id=alert.agency_id, recipient=world.agencies["B"],
                              handling_code="H0", justification="  ")
        assert exc.value.errors[0].field == "justification"
        with pytest.raises(NotFound):
            auth.share_record(s, actor=world.actor("analyst@b"), resource_type="alert",
                              resource_id=alert.id, owner_agency_id=alert.agency_id,
                              recipient=world.agencies["B"], handling_code="H0",
                              justification="not mine to share")


def test_roles_limit_work(world, db):
    with unit_of_work(db) as s:
        alert = service.raise_alert(s, actor=world.actor("lab@a"), data=_alert())
        with pytest.raises(Forbidden):
            service.triage(s, actor=world.actor("lab@a"), alert_id=alert.id,
                           data=AlertTriage())
        with pytest.raises(Forbidden):
            service.list_alerts(s, actor=world.actor("operator@a"), filters=AlertFilter())


def test_assign_only_within_agency(world, db):
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        alert = service.raise_alert(s, actor=actor, data=_alert())
        with pytest.raises(InvalidData) as exc:
            service.assign(s, actor=actor, alert_id=alert.id,
                           data=AlertAssign(assignee_id=world.users["analyst@b"].id))
        assert exc.value.errors[0].field == "assignee_id"


def test_filters_and_summary(world, db):
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        service.raise_alert(s, actor=actor, data=_alert(title="Glycidate order",
                                                        source="precursors", severity="low"))
        service.raise_alert(s, actor=actor, data=_alert(title="Container via TR"))
        _, total = service.list_alerts(s, actor=actor, filters=AlertFilter(source="precursors"))
        assert total == 1
        items, _ = service.list_alerts(s, actor=actor, filters=AlertFilter(q="container"))
        assert [i.title for i in items] == ["Container via TR"]
        _, total = service.list_alerts(s, actor=actor,
                                       filters=AlertFilter(severity=Severity.high))
        assert total == 1
        summary = service.summary(s, actor=actor, days=7)
        assert summary["by_status"]["new"] == 2
        assert sum(summary["series"]["precursors"]) == 1
        assert len(summary["days"]) == 7


def test_webhook_deliveries_written_with_the_alert(world, db):
    sup = world.actor("supervisor@a")
    with unit_of_work(db) as s:
        service.create_webhook(s, actor=sup, data=WebhookCreate(
            url="http://127.0.0.1:9/hook", secret="s" * 20, min_severity="high",
            sources=["targeting"]))
        service.raise_alert(s, actor=sup, data=_alert(severity="critical"))
        service.raise_alert(s, actor=sup, data=_alert(severity="low"))
        service.raise_alert(s, actor=sup, data=_alert(source="precursors"))
    with unit_of_work(db) as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_failed_transaction_leaves_no_alert(world, db):
    actor = world.actor("analyst@a")
    with pytest.raises(RuntimeError), unit_of_work(db) as s:
        service.raise_alert(s, actor=actor, data=_alert())
        raise RuntimeError("boom after the alert was written")
    with unit_of_work(db) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
