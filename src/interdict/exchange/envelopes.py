"""Ed25519-signed envelopes: what one agency sends another, verifiable anywhere later.

Every envelope is signed with the sending agency's key so that it can be checked on receipt
and again after it has travelled between separate Interdict instances, where neither the
database nor the transport of the first instance vouches for it any more. The signature
covers a canonical serialisation, so that verifying does not depend on how a JSON library
happened to order keys or space the text on the way.

Canonical form (``canonical``): JSON with keys sorted, no whitespace, UTF-8 with non-ASCII
characters as themselves, integers and finite floats as Python writes them (a float read
back from that text is the same float, so a verifier recomputes the same bytes); aware
datetimes become ISO 8601 strings in UTC and dates ISO strings, tuples lists. NaN and
infinities, naive datetimes, non-string keys, bytes and other objects are refused: they
have no single JSON spelling, and a signature over an ambiguous text proves nothing.

The signed message is the canonical form of ``{"envelope": ..., "key_id": ...}`` after a
domain prefix, so the key id is signed too (moving a signature to another of the sender's
keys fails) and the signature cannot be replayed as a signature over anything else made
with the same key.

``verify`` raises ``EnvelopeRejected`` with one of four reasons, which the caller records in
the audit log (this module has no side effects): ``unsigned`` (no signature), ``unknown
key`` (key id not among the sender's registered keys), ``bad signature`` (tampered envelope,
key id or signature) and ``malformed`` (not the shape of a signed envelope, or not
canonicalisable).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from interdict.errors import FieldError, InvalidData

#: Prefix of every signed message: names the purpose and the version of the format.
DOMAIN = b"interdict-envelope-1\n"
SIGNATURE_BYTES = 64
KEY_BYTES = 32

Reason = Literal["unsigned", "bad signature", "unknown key", "malformed"]
_FIELD: dict[Reason, str] = {"unsigned": "signature", "bad signature": "signature",
                             "unknown key": "key_id", "malformed": "envelope"}


class EnvelopeRejected(InvalidData):
    """A received envelope failed verification; ``reason`` is what the audit log records."""

    def __init__(self, reason: Reason, detail: str, *, key_id: str | None = None) -> None:
        super().__init__(f"envelope rejected ({reason}): {detail}",
                         errors=[FieldError(_FIELD[reason], reason)])
        self.reason: Reason = reason
        self.key_id = key_id


@dataclass(frozen=True)
class AgencyKey:
    """An agency's Ed25519 key pair; the 32-byte seed is the secret, kept out of repr."""

    signing_key: bytes = field(repr=False)
    verify_key: bytes

    @classmethod
    def generate(cls) -> AgencyKey:
        key = SigningKey.generate()
        return cls(bytes(key), bytes(key.verify_key))

    @classmethod
    def from_signing_key(cls, signing_key: bytes) -> AgencyKey:
        """The pair for a stored seed (the verify key follows from it)."""
        if not isinstance(signing_key, bytes) or len(signing_key) != KEY_BYTES:
            raise InvalidData("not an Ed25519 signing key",
                              errors=[FieldError("signing_key", "must be 32 bytes")])
        return cls(signing_key, bytes(SigningKey(signing_key).verify_key))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.verify_key)


def fingerprint(verify_key: bytes) -> str:
    """SHA-256 of the public key, 32 hex digits in groups of four, for people to compare.

    Meant to be read aloud or compared on screen when partners exchange keys out of band;
    128 bits are far more than a forger could match.
    """
    digest = hashlib.sha256(verify_key).hexdigest()[:32]
    return " ".join(digest[i:i + 4] for i in range(0, 32, 4))


def _prepare(value: Any, path: str) -> Any:
    """``value`` with only JSON types left, or ``ValueError`` naming where it is not."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} has no JSON form")
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{path}: datetime without a time zone")
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a string")
            out[key] = _prepare(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_prepare(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{path}: {type(value).__name__} has no JSON form")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def canonical(envelope: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an envelope (see the module docstring); ``InvalidData`` if none."""
    try:
        return _dumps(_prepare(envelope, "envelope"))
    except (ValueError, UnicodeEncodeError) as exc:  # lone surrogates do not encode
        raise InvalidData(f"envelope cannot be signed: {exc}",
                          errors=[FieldError("envelope", str(exc))]) from None


def _message(envelope: Any, key_id: str) -> bytes:
    return DOMAIN + _dumps({"envelope": envelope, "key_id": key_id})


def sign(envelope: Mapping[str, Any], signing_key: bytes, key_id: str) -> dict[str, Any]:
    """``{"envelope", "signature", "key_id"}``: the envelope in JSON types, signed.

    The returned envelope is the prepared one (datetimes as strings), which is exactly what
    a receiver parses back from JSON, so what is sent is what was signed.
    """
    if not isinstance(key_id, str) or not key_id:
        raise InvalidData("no key id", errors=[FieldError("key_id", "empty")])
    if not isinstance(envelope, Mapping):
        raise InvalidData("an envelope is a JSON object",
                          errors=[FieldError("envelope", "not an object")])
    if not isinstance(signing_key, bytes) or len(signing_key) != KEY_BYTES:
        raise InvalidData("not an Ed25519 signing key",
                          errors=[FieldError("signing_key", "must be 32 bytes")])
    canonical(envelope)  # refuses what cannot be signed, with the reason
    prepared = _prepare(envelope, "envelope")
    signature = SigningKey(signing_key).sign(_message(prepared, key_id)).signature
    return {"envelope": prepared, "signature": base64.b64encode(signature).decode("ascii"),
            "key_id": key_id}


def verify(signed: Any, verify_keys: Mapping[str, bytes]) -> dict[str, Any]:
    """The envelope of a signed envelope whose signature checks, else ``EnvelopeRejected``.

    ``verify_keys`` maps the sender's key ids to its verify keys (several during a key
    rotation); a key id not in it is an ``unknown key``. Only the three fields of a signed
    envelope are allowed, so nothing unsigned can travel alongside the signed part.
    """
    if not isinstance(signed, Mapping):
        raise EnvelopeRejected("malformed", "not a JSON object")
    signature_text = signed.get("signature")
    if signature_text is None or signature_text == "":
        raise EnvelopeRejected("unsigned", "no signature")
    unknown = set(signed) - {"envelope", "signature", "key_id"}
    if unknown:
        raise EnvelopeRejected("malformed", f"unexpected fields {sorted(map(str, unknown))}")
    key_id = signed.get("key_id")
    if not isinstance(key_id, str) or not key_id:
        raise EnvelopeRejected("malformed", "no key id")
    envelope = signed.get("envelope")
    if not isinstance(envelope, Mapping):
        raise EnvelopeRejected("malformed", "the envelope is not an object", key_id=key_id)
    verify_key = verify_keys.get(key_id)
    if verify_key is None:
        raise EnvelopeRejected("unknown key", f"key {key_id!r} is not registered",
                               key_id=key_id)
    if not isinstance(signature_text, str):
        raise EnvelopeRejected("bad signature", "signature is not text", key_id=key_id)
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeRejected("bad signature", "signature is not base64",
                               key_id=key_id) from None
    if len(signature) != SIGNATURE_BYTES:
        raise EnvelopeRejected("bad signature", "signature is not 64 bytes", key_id=key_id)
    try:
        message = _message(_prepare(envelope, "envelope"), key_id)
    except (ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise EnvelopeRejected("malformed", str(exc), key_id=key_id) from None
    try:
        VerifyKey(verify_key).verify(message, signature)
    except BadSignatureError:
        raise EnvelopeRejected("bad signature", "signature does not match the envelope",
                               key_id=key_id) from None
    return dict(envelope)
