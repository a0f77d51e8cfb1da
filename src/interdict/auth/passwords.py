"""Password hashing with Argon2id.

The cost parameters are settings (``INTERDICT_PASSWORD_*``) because the right cost depends on
the agency's hardware; hashes record their own parameters, so changing the cost never locks
anyone out, and a login re-hashes a password stored with other parameters.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_dummy_hash = _hasher.hash("interdict-timing-equaliser")


def configure(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Set the cost for new hashes (called by the app and CLI from settings)."""
    global _hasher, _dummy_hash
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) == (
            time_cost, memory_kib, parallelism):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                             parallelism=parallelism)
    # Verified against when the username is unknown, so both paths take the same time.
    _dummy_hash = _hasher.hash("interdict-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        ok = _hasher.verify(password_hash or _dummy_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
