"""Agency signing keys: made on first use, sealed at rest, rotated, and partners' public keys.

The 32-byte Ed25519 seed of an agency on this instance is stored sealed (XSalsa20-Poly1305,
PyNaCl's SecretBox) under a key derived from the platform's secret key, so a copy of the
database alone does not let anyone sign as the agency. An agency on another instance is
known here only by its public keys, imported after comparing fingerprints out of band.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from nacl.secret import SecretBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.auth.models import Agency
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData
from interdict.exchange import envelopes
from interdict.exchange.models import AgencyKey


def _box(secret: str) -> SecretBox:
    return SecretBox(hashlib.sha256(b"interdict-exchange-keys\n" + secret.encode()).digest())


def key_id(agency_code: str, public_key: bytes) -> str:
    """Names the key and its agency: ``CODE:`` and the first 16 hex of its fingerprint."""
    return f"{agency_code}:{hashlib.sha256(public_key).hexdigest()[:16]}"


def active_key(session: Session, agency: Agency, secret: str) -> tuple[str, bytes]:
    """The agency's active key id and signing seed, making a key on first use."""
    row = session.scalar(select(AgencyKey).where(AgencyKey.agency_id == agency.id,
                                                 AgencyKey.active.is_(True),
                                                 AgencyKey.sealed_seed.is_not(None))
                         .order_by(AgencyKey.id.desc()).limit(1))
    if row is None:
        return rotate(session, agency, secret)
    assert row.sealed_seed is not None
    return row.key_id, bytes(_box(secret).decrypt(row.sealed_seed))


def rotate(session: Session, agency: Agency, secret: str) -> tuple[str, bytes]:
    """A new key for the agency; earlier keys stay valid for verifying what they signed."""
    pair = envelopes.AgencyKey.generate()
    kid = key_id(agency.code, pair.verify_key)
    for old in session.scalars(select(AgencyKey).where(AgencyKey.agency_id == agency.id,
                                                       AgencyKey.active.is_(True),
                                                       AgencyKey.sealed_seed.is_not(None))):
        old.active, old.retired_at = False, utcnow()
    session.add(AgencyKey(agency_id=agency.id, key_id=kid, public_key=pair.verify_key,
                          sealed_seed=bytes(_box(secret).encrypt(pair.signing_key))))
    session.flush()
    return kid, pair.signing_key


def import_public(session: Session, agency: Agency, public_key_b64: str) -> str:
    """Register a partner agency's public key (as base64), after its fingerprint was
    compared out of band; returns the key id."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != envelopes.KEY_BYTES:
        raise InvalidData("not an Ed25519 public key", errors=[
            FieldError("public_key", "base64 of 32 bytes")])
    kid = key_id(agency.code, raw)
    if session.scalar(select(AgencyKey.id).where(AgencyKey.key_id == kid)) is None:
        session.add(AgencyKey(agency_id=agency.id, key_id=kid, public_key=raw,
                              sealed_seed=None, active=True))
        session.flush()
    return kid


def public_keys(session: Session, agency_id: int) -> dict[str, bytes]:
    """Every key the agency has signed with (active or retired), by key id."""
    return {k.key_id: bytes(k.public_key) for k in session.scalars(
        select(AgencyKey).where(AgencyKey.agency_id == agency_id))}


def listing(session: Session, agency_id: int) -> list[dict[str, object]]:
    return [{"key_id": k.key_id, "fingerprint": envelopes.fingerprint(bytes(k.public_key)),
             "public_key": base64.b64encode(bytes(k.public_key)).decode(),
             "active": k.active, "local": k.sealed_seed is not None,
             "created_at": k.created_at.isoformat(),
             "retired_at": k.retired_at.isoformat() if k.retired_at else None}
            for k in session.scalars(select(AgencyKey).where(AgencyKey.agency_id == agency_id)
                                     .order_by(AgencyKey.id))]
