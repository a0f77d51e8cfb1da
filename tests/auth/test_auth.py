"""Passwords, login throttling, sessions and tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from interdict.auth import service as auth
from interdict.auth.models import ApiToken, User
from interdict.auth.passwords import hash_password, verify_password
from interdict.auth.roles import Role
from interdict.auth.schemas import TokenCreate, UserCreate
from interdict.db.base import utcnow
from interdict.db.session import unit_of_work
from interdict.errors import Conflict, NotAuthenticated, TooManyRequests
from tests.conftest import PASSWORD


def _login(db, settings, username, password, client="127.0.0.1"):
    with unit_of_work(db) as s:
        try:
            return auth.login(s, username=username, password=password, client=client,
                              session_hours=1, max_failures=settings.login_max_failures,
                              window_seconds=settings.login_window_seconds)
        except NotAuthenticated:
            s.commit()  # failed attempts are kept, as the web adapter does
            raise


def test_password_hash_is_argon2id_and_verifies():
    h = hash_password("s3cret-passphrase")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert verify_password(h, "s3cret-passphrase")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "x")


def test_production_cost_hash_still_verifies_after_cost_change(settings):
    from argon2 import PasswordHasher

    stored = PasswordHasher().hash("old-default-cost")  # the library's production default
    assert verify_password(stored, "old-default-cost")


def test_login_success_and_session_lookup(world, db, settings):
    secret, web = _login(db, settings, "analyst@a", PASSWORD)
    with unit_of_work(db, readonly=True) as s:
        found = auth.session_from_cookie(s, secret=secret)
        assert found is not None and found.user.username == "analyst@a"
        assert auth.session_from_cookie(s, secret="forged") is None
    with unit_of_work(db) as s:
        auth.logout(s, secret=secret)
    with unit_of_work(db, readonly=True) as s:
        assert auth.session_from_cookie(s, secret=secret) is None


def test_wrong_password_and_unknown_user_say_the_same(world, db, settings):
    with pytest.raises(NotAuthenticated) as a:
        _login(db, settings, "analyst@a", "wrong-password")
    with pytest.raises(NotAuthenticated) as b:
        _login(db, settings, "nobody@a", "wrong-password")
    assert a.value.detail == b.value.detail


def test_login_throttled_after_repeated_failures(world, db, settings):
    for _ in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            _login(db, settings, "analyst@a", "wrong-password", client="10.9.9.9")
    # Even the right password is refused while the account is throttled, from anywhere.
    with pytest.raises(TooManyRequests):
        _login(db, settings, "analyst@a", PASSWORD, client="10.9.9.8")
    # Colleagues behind the same address are not locked out by one account's failures.
    assert _login(db, settings, "targeter@a", PASSWORD, client="10.9.9.9")


def test_password_spraying_from_one_address_is_throttled(world, db, settings):
    limit = auth.CLIENT_FAILURE_FACTOR * settings.login_max_failures
    for i in range(limit):
        with pytest.raises(NotAuthenticated):
            _login(db, settings, f"guess{i}@a", "Spring2026!", client="10.6.6.6")
    with pytest.raises(TooManyRequests):
        _login(db, settings, "targeter@a", PASSWORD, client="10.6.6.6")
    assert _login(db, settings, "targeter@a", PASSWORD, client="10.1.1.1")


def test_expired_token_refused(world, db):
    secret = world.token("analyst@a")
    with unit_of_work(db) as s:
        token = s.scalar(select(ApiToken))
        token.expires_at = utcnow() - dt.timedelta(seconds=1)
    with unit_of_work(db, readonly=True) as s, pytest.raises(NotAuthenticated) as exc:
        auth.actor_from_token(s, secret=secret)
    assert "expired" in exc.value.detail


def test_token_stored_hashed(world, db):
    secret = world.token("analyst@a")
    with unit_of_work(db, readonly=True) as s:
        token = s.scalar(select(ApiToken))
        assert token.token_hash != secret and secret not in token.token_hash
        assert secret.startswith(token.prefix)
        actor = auth.actor_from_token(s, secret=secret)
        assert actor.roles == frozenset({Role.analyst}) and actor.via == "token"


def test_deactivated_user_cannot_use_token(world, db):
    secret = world.token("analyst@a")
    with unit_of_work(db) as s:
        s.get(User, world.users["analyst@a"].id).active = False
    with unit_of_work(db, readonly=True) as s, pytest.raises(NotAuthenticated):
        auth.actor_from_token(s, secret=secret)


def test_admin_issues_token_for_colleague_but_not_for_other_agency(world, db):
    admin = world.actor("admin@a")
    with unit_of_work(db) as s:
        colleague = s.get(User, world.users["analyst@a"].id)
        secret, _ = auth.create_token(s, actor=admin, user=colleague,
                                      data=TokenCreate(name="x", role=Role.analyst))
        assert secret.startswith("idt_")
    with unit_of_work(db) as s:
        stranger = s.get(User, world.users["analyst@b"].id)
        with pytest.raises(Exception) as exc:
            auth.create_token(s, actor=admin, user=stranger,
                              data=TokenCreate(name="x", role=Role.analyst))
        assert type(exc.value).__name__ == "NotFound"


def test_duplicate_username_conflicts(world, db):
    with unit_of_work(db) as s, pytest.raises(Conflict) as exc:
        auth.create_user(s, agency=world.agencies["A"], data=UserCreate(
            username="analyst@a", full_name="x", password=PASSWORD, roles=[Role.analyst]))
    assert exc.value.errors[0].field == "username"
