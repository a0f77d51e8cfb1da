"""Signed envelopes: round trip, every kind of tampering rejected with its reason."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re

import pytest

from interdict.errors import InvalidData
from interdict.exchange.envelopes import (
    AgencyKey,
    EnvelopeRejected,
    canonical,
    fingerprint,
    sign,
    verify,
)

KEY = AgencyKey.generate()
SPARE = AgencyKey.generate()  # the same agency's next key, during a rotation
KEYS = {"NL-POL/1": KEY.verify_key, "NL-POL/2": SPARE.verify_key}
ENVELOPE = {
    "kind": "hitnohit.query",
    "from": "NL-POL",
    "to": ["BE-FGP", "DE-BKA"],
    "sent_at": dt.datetime(2026, 11, 29, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    "body": {"points": "AAEC", "count": 3, "ratio": 0.25, "urgent": False, "note": None,
             "name": "Müller – ☂"},
}


def signed() -> dict:
    """A signed envelope as it arrives: through JSON text, like any transport."""
    return json.loads(json.dumps(sign(ENVELOPE, KEY.signing_key, "NL-POL/1")))


def rejected(message) -> EnvelopeRejected:
    with pytest.raises(EnvelopeRejected) as caught:
        verify(message, KEYS)
    return caught.value


def test_round_trip_returns_the_envelope_in_json_types():
    envelope = verify(signed(), KEYS)
    assert envelope["sent_at"] == "2026-11-29T09:30:00+00:00"  # aware datetimes go to UTC
    assert envelope["body"] == ENVELOPE["body"]
    assert envelope["to"] == ["BE-FGP", "DE-BKA"]


@pytest.mark.parametrize("tamper", [
    lambda e: e["envelope"].update(kind="hitnohit.answer"),
    lambda e: e["envelope"]["body"].update(count=4),
    lambda e: e["envelope"]["body"].update(count="3"),  # same digits, other type
    lambda e: e["envelope"]["body"].update(ratio=0.2500001),
    lambda e: e["envelope"]["to"].reverse(),
    lambda e: e["envelope"]["to"].append("FR-OFAST"),
    lambda e: e["envelope"].pop("from"),
    lambda e: e["envelope"].update(extra=True),
    lambda e: e["envelope"]["body"].update(name="Muller – ☂"),
])
def test_any_change_of_the_envelope_is_a_bad_signature(tamper):
    message = signed()
    tamper(message)
    error = rejected(message)
    assert error.reason == "bad signature" and error.key_id == "NL-POL/1"
    assert error.errors[0].field == "signature"


def test_a_changed_signature_is_a_bad_signature():
    message = signed()
    raw = bytearray(base64.b64decode(message["signature"]))
    raw[10] ^= 1
    for signature in (base64.b64encode(bytes(raw)).decode(), message["signature"][:-8],
                      "not base64!", 12345):
        assert rejected({**message, "signature": signature}).reason == "bad signature"


def test_a_changed_key_id_is_an_unknown_key_or_a_bad_signature():
    message = signed()
    assert rejected({**message, "key_id": "NL-POL/9"}).reason == "unknown key"
    # Moved to another registered key of the sender: the key id is signed too.
    assert rejected({**message, "key_id": "NL-POL/2"}).reason == "bad signature"
    with pytest.raises(EnvelopeRejected) as caught:
        verify(message, {"NL-POL/1": SPARE.verify_key})  # right id, another agency's key
    assert caught.value.reason == "bad signature"


def test_unsigned_envelopes_are_rejected_as_unsigned():
    message = signed()
    assert rejected({k: v for k, v in message.items() if k != "signature"}).reason == "unsigned"
    assert rejected({**message, "signature": ""}).reason == "unsigned"
    assert rejected({**message, "signature": None}).reason == "unsigned"
    assert rejected(json.loads(json.dumps(ENVELOPE, default=str))).reason == "unsigned"


def test_malformed_messages_are_rejected_as_malformed():
    message = signed()
    assert rejected([message]).reason == "malformed"
    assert rejected({**message, "comment": "unsigned rider"}).reason == "malformed"
    assert rejected({**message, "envelope": "text"}).reason == "malformed"
    assert rejected({**message, "key_id": ""}).reason == "malformed"
    nan = json.loads(json.dumps(message).replace('"ratio": 0.25', '"ratio": NaN'))
    assert rejected(nan).reason == "malformed"


def test_verified_rejections_are_invalid_data_naming_the_reason():
    error = rejected({**signed(), "key_id": "NL-POL/9"})
    assert isinstance(error, InvalidData)
    assert error.as_dict()["errors"] == [{"field": "key_id", "reason": "unknown key"}]


def test_canonical_form_is_stable_under_key_order():
    forwards = {"b": 1, "a": {"y": [1, 2], "x": "é"}}
    backwards = {"a": {"x": "é", "y": [1, 2]}, "b": 1}
    assert canonical(forwards) == canonical(backwards) == '{"a":{"x":"é","y":[1,2]},"b":1}'.encode()
    reordered = signed()
    reordered["envelope"] = dict(reversed(list(reordered["envelope"].items())))
    assert verify(reordered, KEYS)["kind"] == "hitnohit.query"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), dt.datetime(2026, 1, 1),
                                   b"bytes", {1: "int key"}, {"a", "set"}, "\ud800"])
def test_values_without_one_json_spelling_cannot_be_signed(value):
    with pytest.raises(InvalidData) as caught:
        sign({"value": value}, KEY.signing_key, "NL-POL/1")
    assert caught.value.errors[0].field == "envelope"


def test_signing_needs_a_key_id_and_a_key():
    with pytest.raises(InvalidData) as caught:
        sign(ENVELOPE, KEY.signing_key, "")
    assert caught.value.errors[0].field == "key_id"
    with pytest.raises(InvalidData) as caught:
        sign(ENVELOPE, KEY.verify_key[:16], "NL-POL/1")
    assert caught.value.errors[0].field == "signing_key"


def test_keys_fingerprints_and_repr():
    assert re.fullmatch(r"([0-9a-f]{4} ){7}[0-9a-f]{4}", fingerprint(KEY.verify_key))
    assert KEY.fingerprint == fingerprint(KEY.verify_key) != SPARE.fingerprint
    assert KEY.signing_key.hex() not in repr(KEY)
    assert AgencyKey.from_signing_key(KEY.signing_key) == KEY
    with pytest.raises(InvalidData):
        AgencyKey.from_signing_key(b"short")


def test_signing_does_not_change_the_callers_envelope():
    original = copy.deepcopy(ENVELOPE)
    sign(ENVELOPE, KEY.signing_key, "NL-POL/1")
    assert ENVELOPE == original
