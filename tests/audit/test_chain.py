"""The audit chain detects altered, deleted and reordered rows (CLI and service)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.cli.main import cli
from interdict.db.session import unit_of_work


@pytest.fixture
def chain(world, db):
    """Ten events on top of the world's set-up events."""
    actor = world.actor("analyst@a")
    with unit_of_work(db) as s:
        for i in range(10):
            audit.record(s, actor=actor, action=AuditAction.record_viewed,
                         resource_type="alert", resource_id=i, justification=f"case {i}",
                         details={"n": i, "nested": {"x": [1, 2]}})
    with unit_of_work(db, readonly=True) as s:
        return audit.count(s)


def _verify(database_url: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["--json", "audit", "verify"],
                                env={"INTERDICT_DATABASE_URL": database_url})
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def test_intact_chain_verifies(chain, database_url):
    code, out = _verify(database_url)
    assert code == 0 and out["ok"] and out["checked"] == chain


def test_altered_row_detected(chain, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text("UPDATE audit_events SET justification = 'nothing to see' "
                       "WHERE seq = 15"))
    code, out = _verify(database_url)
    assert code == 10 and out["first_bad_seq"] == 15 and "altered" in out["problem"]


def test_altered_details_detected(chain, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3"))
    code, out = _verify(database_url)
    assert code == 10 and out["first_bad_seq"] == 3


def test_deleted_row_detected(chain, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 12"))
    code, out = _verify(database_url)
    assert code == 10 and out["first_bad_seq"] == 12 and "missing" in out["problem"]


def test_reordered_rows_detected(chain, db, database_url):
    # Swap the positions of two rows (their sequence numbers).
    with unit_of_work(db) as s:
        s.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 13"))
        s.execute(text("UPDATE audit_events SET seq = 13 WHERE seq = 14"))
        s.execute(text("UPDATE audit_events SET seq = 14 WHERE seq = -1"))
    code, out = _verify(database_url)
    assert code == 10 and out["first_bad_seq"] == 13


def test_deleted_tail_detected(chain, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text(f"DELETE FROM audit_events WHERE seq >= {chain - 1}"))
    code, out = _verify(database_url)
    assert code == 10 and "head" in out["problem"]


def test_deleted_head_detected_and_writes_fail_closed(chain, world, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text("DELETE FROM audit_head"))
    code, out = _verify(database_url)
    assert code == 10 and "head" in out["problem"]
    from interdict.errors import IntegrityFailure

    with pytest.raises(IntegrityFailure), unit_of_work(db) as s:
        audit.record(s, actor=world.actor("analyst@a"), action=AuditAction.record_viewed)


def test_human_output_names_the_row(chain, db, database_url):
    with unit_of_work(db) as s:
        s.execute(text("UPDATE audit_events SET recipient = 'X' WHERE seq = 7"))
    result = CliRunner().invoke(cli, ["audit", "verify"],
                                env={"INTERDICT_DATABASE_URL": database_url})
    assert result.exit_code == 10 and "seq 7" in result.stderr


def test_rollback_leaves_no_audit_row(world, db):
    with unit_of_work(db, readonly=True) as s:
        before = audit.count(s)
    with pytest.raises(RuntimeError), unit_of_work(db) as s:
        audit.record(s, actor=world.actor("analyst@a"), action=AuditAction.record_changed)
        raise RuntimeError("change failed")
    with unit_of_work(db, readonly=True) as s:
        assert audit.count(s) == before
        assert audit.verify(s).ok


def test_concurrent_appends_keep_one_chain(world, db):
    """Writers from several threads never fork the chain (serialised appends)."""
    import threading

    actor = world.actor("analyst@a")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with unit_of_work(db) as s:
                    audit.record(s, actor=actor, action=AuditAction.record_viewed)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with unit_of_work(db, readonly=True) as s:
        result = audit.verify(s)
        assert result.ok, result.problem
