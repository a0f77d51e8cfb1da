"""Canonical forms of the identifiers agencies match on in hit/no-hit queries.

Matching in ``hitnohit`` is exact on a one-way tag, so a stray space, a national phone prefix
or a lower-case IBAN would silently turn a hit into a no-hit: nobody sees the miss. Every
identifier is therefore brought to one canonical string before it is tagged, and an identifier
whose own check digits fail is refused instead of matched, so that a typo surfaces when it is
entered and not as a hit that never came.

The canonical forms are part of the exchange protocol: two Interdict instances only match if
they normalise alike, so changing a form here is a protocol change (``hitnohit.PROTOCOL``).

========================  =======================  ==============================================
kind                      canonical form           rule
========================  =======================  ==============================================
phone                     ``+31612345678``         E.164 (phonenumbers); a national number needs
                                                   ``country``; ``00`` read as ``+`` without one;
                                                   numbers invalid in their plan refused;
                                                   extensions dropped (they name a desk on the
                                                   same line, not another line)
iban                      ``NL91ABNA0417164300``   separators removed, upper case, ISO 13616
                                                   mod-97 and the country's length and format
crypto_wallet             as written, or lower     Bitcoin base58check P2PKH/P2SH (checksum);
                                                   Bitcoin bech32/bech32m ``bc1...`` (checksum,
                                                   witness rules; lower-cased); Tron base58check
                                                   ``T...``; Ethereum/EVM ``0x`` + 40 hex
                                                   lower-cased, EIP-55 checksum verified when
                                                   written in mixed case; testnets and other
                                                   chains refused
company_number            ``NL:12345678``          ISO country required (``country`` or a
                                                   ``CC:`` prefix), upper case, every
                                                   separator removed, at least one digit
vessel_imo                ``9321483``              seven digits, ``IMO`` prefix optional, IMO
                                                   check digit verified
aircraft_registration     ``PHDMO``                upper case, spaces and hyphens removed
vehicle_plate             ``NL:12ABC3``            country required, upper case, letters and
                                                   digits only, Cyrillic/Greek look-alikes read
                                                   as the Latin letters on the plate
person                    ``de jan vries|1980-..`` ``name|YYYY-MM-DD``: name transliterated to
                                                   ASCII, case-folded, split into words, words
                                                   sorted; date a real ISO date, not in the
                                                   future
========================  =======================  ==============================================

Aircraft registrations drop the hyphen rather than keep it: the hyphen after the ICAO
nationality mark is a display convention (``PH-DMO`` is painted, ``PHDMO`` is what flight
plans and many registers carry) and agencies write both. Keeping it would split one aircraft
into two identifiers; refusing ``PHDMO`` would refuse good data. Two marks that differ only
by where a hyphen sits do not exist in practice, because nationality marks are allocated so
that no mark continues another's registrations.

Refusal details name the kind and the reason but never echo the value: identifiers are the
sensitive part of a query and error texts end up in logs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable

import phonenumbers
from Crypto.Hash import keccak
from rigour.text import ascii_text
from stdnum import iban as stdnum_iban
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from interdict.errors import FieldError, InvalidData
from interdict.tabular import RowError

KINDS = ("phone", "iban", "crypto_wallet", "company_number", "vessel_imo",
         "aircraft_registration", "person", "vehicle_plate")

#: Longer input is refused before any parsing: no real identifier comes near it, and it keeps
#: a hostile file from making the checksum code chew on megabytes.
MAX_VALUE_LENGTH = 512


def _refuse(kind: str, reason: str, field: str = "value") -> InvalidData:
    return InvalidData(f"invalid {kind}: {reason}", errors=[FieldError(field, reason)])


def _country(kind: str, country: str | None) -> str | None:
    if country is None:
        return None
    code = country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise _refuse(kind, "not an ISO 3166-1 alpha-2 country code", "country")
    return code


def _prefixed(kind: str, value: str, country: str | None) -> tuple[str, str]:
    """The country and the rest of a value that may already carry a ``CC:`` prefix.

    Accepting the prefix makes normalising idempotent, so canonical values read back from
    storage or a partner's file can be normalised again without special cases.
    """
    match = re.fullmatch(r"([A-Za-z]{2})\s*:(.*)", value, flags=re.DOTALL)
    if match:
        prefix = match.group(1).upper()
        if country is not None and country != prefix:
            raise _refuse(kind, f"the value says {prefix} but country is {country}", "country")
        return prefix, match.group(2)
    if country is None:
        raise _refuse(kind, "needs the issuing country (ISO 3166-1 alpha-2)", "country")
    return country, value


# -- phone ------------------------------------------------------------------------------------

_PHONE_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def _phone(value: str, country: str | None) -> str:
    text = value
    if country is None and text.startswith("00"):
        # 00 is the international prefix almost everywhere (ITU-T E.164 recommends it), so
        # without a country it can only mean "+"; with one, phonenumbers applies that
        # country's own prefix (011 in North America).
        text = "+" + text[2:]
    if country is None and not text.startswith("+"):
        raise _refuse("phone", "a national number needs country (or write it with +)",
                      "country")
    if country is not None and country not in phonenumbers.SUPPORTED_REGIONS:
        raise _refuse("phone", "no telephone numbering plan known for this country", "country")
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException as exc:
        raise _refuse("phone", _PHONE_PARSE_REASONS.get(exc.error_type, "not a phone number")
                      ) from None
    if not phonenumbers.is_valid_number(number):
        raise _refuse("phone", "not a valid number in its numbering plan")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- IBAN -------------------------------------------------------------------------------------

def _iban(value: str, _country: str | None) -> str:
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", compact):
        raise _refuse("iban", "not an IBAN (two letters, two check digits, up to 30 letters "
                              "and digits)")
    try:
        return stdnum_iban.validate(compact)
    except InvalidChecksum:
        raise _refuse("iban", "check digits do not match (mistyped?)") from None
    except InvalidComponent:
        raise _refuse("iban", "no IBAN country with this code") from None
    except (InvalidFormat, InvalidLength):
        raise _refuse("iban", "wrong length or format for its country") from None
    except ValidationError:  # a national check (bank code, account check digit)
        raise _refuse("iban", "not a valid account number of its country") from None


# -- crypto wallets ---------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_DIGIT = {c: i for i, c in enumerate(_B58)}
#: Base58check version bytes of the mainnet addresses accepted; testnet ones get their own
#: reason so that an analyst sees why a test address is refused.
_B58_VERSIONS = {0x00: "Bitcoin P2PKH", 0x05: "Bitcoin P2SH", 0x41: "Tron"}
_B58_TESTNET = {0x6F, 0xC4, 0xA0}


def _base58check(value: str) -> bytes:
    """The payload (version byte and hash) of a base58check string, its checksum verified."""
    number = 0
    for char in value:
        digit = _B58_DIGIT.get(char)
        if digit is None:
            raise _refuse("crypto_wallet", "not a base58 address (contains a character "
                                           "outside the base58 alphabet)")
        number = number * 58 + digit
    zeros = len(value) - len(value.lstrip("1"))
    raw = b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
    payload, check = raw[:-4], raw[-4:]
    if len(raw) < 5 or hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        raise _refuse("crypto_wallet", "base58check checksum does not match (mistyped?)")
    return payload


def _base58_wallet(value: str) -> str:
    payload = _base58check(value)
    if payload and payload[0] in _B58_TESTNET:
        raise _refuse("crypto_wallet", "a testnet address")
    if len(payload) != 21 or payload[0] not in _B58_VERSIONS:
        raise _refuse("crypto_wallet", "not a Bitcoin or Tron address (unknown version)")
    return value  # base58 is case-sensitive: the written form is the canonical one


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_DIGIT = {c: i for i, c in enumerate(_BECH32)}
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3  # BIP-173 and BIP-350
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for i, generator in enumerate(_BECH32_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _bech32_wallet(value: str) -> str:
    if value != value.lower() and value != value.upper():
        raise _refuse("crypto_wallet", "bech32 address in mixed case (BIP-173 forbids it)")
    text = value.lower()
    hrp, _, data_part = text.rpartition("1")
    if hrp in ("tb", "bcrt"):
        raise _refuse("crypto_wallet", "a testnet address")
    if hrp != "bc" or len(text) > 90 or len(data_part) < 6 + 1:
        raise _refuse("crypto_wallet", "not a Bitcoin bech32 address")
    if any(c not in _BECH32_DIGIT for c in data_part):
        raise _refuse("crypto_wallet", "bech32 address with a character outside its alphabet")
    data = [_BECH32_DIGIT[c] for c in data_part]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        raise _refuse("crypto_wallet", "bech32 checksum does not match (mistyped?)")
    version, program = data[0], _from_5_bits(data[1:-6])
    valid = (program is not None and 2 <= len(program) <= 40 and version <= 16
             and (const == _BECH32_CONST) == (version == 0)
             and (version != 0 or len(program) in (20, 32)))
    if not valid:
        raise _refuse("crypto_wallet", "bech32 address breaks the segwit rules "
                                       "(BIP-141/173/350)")
    return text


def _from_5_bits(groups: list[int]) -> bytes | None:
    """Regroup 5-bit values into bytes; None when the leftover padding is not zero bits."""
    acc = bits = 0
    out = bytearray()
    for group in groups:
        acc = (acc << 5) | group
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        return None
    return bytes(out)


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (original padding, not SHA3-256's, so ``hashlib``'s
    ``sha3_256`` gives other digests): pycryptodome's implementation."""
    return keccak.new(digest_bits=256, data=data).digest()


def _ethereum_wallet(value: str) -> str:
    digits = value[2:]
    lower = digits.lower()
    if digits not in (lower, digits.upper()):
        # Mixed case carries the EIP-55 checksum: each letter is upper case exactly when the
        # matching nibble of keccak256(lower-case hex) is 8 or more.
        digest = keccak256(lower.encode()).hex()
        expected = "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c
                           for i, c in enumerate(lower))
        if digits != expected:
            raise _refuse("crypto_wallet", "EIP-55 checksum does not match (mistyped?)")
    return "0x" + lower


def _crypto_wallet(value: str, _country: str | None) -> str:
    text = value.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return _ethereum_wallet(text)
    if text.lower().startswith(("bc1", "tb1", "bcrt1")):
        return _bech32_wallet(text)
    if re.fullmatch(r"[0-9A-Za-z]{25,35}", text):  # base58 length: the alphabet is checked
        return _base58_wallet(text)
    raise _refuse("crypto_wallet", "not a Bitcoin, Ethereum (EVM) or Tron address; other "
                                   "chains are not supported")


# -- registries -------------------------------------------------------------------------------

def _company_number(value: str, country: str | None) -> str:
    code, number = _prefixed("company_number", value, country)
    # Registries and agencies punctuate the same number differently (12.345.678, 12-345678);
    # the letters and digits are what the register issued.
    compact = "".join(c for c in number.upper() if c.isalnum())
    if not compact or not any(c.isdigit() for c in compact):
        raise _refuse("company_number", "no registration number (needs at least one digit)")
    if len(compact) > 40:
        raise _refuse("company_number", "longer than 40 letters and digits")
    return f"{code}:{compact}"


def _vessel_imo(value: str, _country: str | None) -> str:
    match = re.fullmatch(r"(?:IMO)?[\s:.\-]*(\d{7})", value.strip().upper())
    if not match:
        raise _refuse("vessel_imo", "not an IMO number (seven digits, optionally after IMO)")
    digits = match.group(1)
    check = sum(int(d) * w for d, w in zip(digits[:6], (7, 6, 5, 4, 3, 2), strict=True)) % 10
    if check != int(digits[6]):
        raise _refuse("vessel_imo", "IMO check digit does not match (mistyped?)")
    return digits


def _aircraft_registration(value: str, _country: str | None) -> str:
    compact = re.sub(r"[\s\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z0-9]{2,10}", compact) or not re.search(r"[A-Z]", compact):
        raise _refuse("aircraft_registration",
                      "not a registration mark (2 to 10 letters and digits, with a letter)")
    return compact


#: Plates in Cyrillic and Greek scripts use only letters that look like Latin ones, so the
#: same plate is typed in either script; reading them as what is painted makes them match.
_PLATE_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEKMHOPCTYXABEZHIKMNOPTYX")


def _vehicle_plate(value: str, country: str | None) -> str:
    code, plate = _prefixed("vehicle_plate", value, country)
    compact = "".join(c for c in plate.upper().translate(_PLATE_LOOKALIKES) if c.isalnum())
    if not compact:
        raise _refuse("vehicle_plate", "no letters or digits")
    if len(compact) > 15:
        raise _refuse("vehicle_plate", "longer than 15 letters and digits")
    return f"{code}:{compact}"


# -- person -----------------------------------------------------------------------------------

def _person(value: str, _country: str | None) -> str:
    name, sep, born_text = value.rpartition("|")
    if not sep:
        raise _refuse("person", "expected 'name|YYYY-MM-DD' (name and date of birth)")
    born_text = born_text.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", born_text):
            raise ValueError(born_text)
        born = dt.date.fromisoformat(born_text)
    except ValueError:
        raise _refuse("person", "date of birth is not a real date written YYYY-MM-DD") from None
    if born > dt.date.today():
        raise _refuse("person", "date of birth is in the future")
    # Word order differs between registers ("de Vries, Jan" / "Jan de Vries") and scripts
    # and accents between agencies, so the key is the sorted set of ASCII words.
    words = sorted(re.findall(r"[a-z0-9]+", ascii_text(name).casefold()))
    if not words:
        raise _refuse("person", "no name")
    return f"{' '.join(words)}|{born.isoformat()}"


_NORMALISERS: dict[str, Callable[[str, str | None], str]] = {
    "phone": _phone,
    "iban": _iban,
    "crypto_wallet": _crypto_wallet,
    "company_number": _company_number,
    "vessel_imo": _vessel_imo,
    "aircraft_registration": _aircraft_registration,
    "person": _person,
    "vehicle_plate": _vehicle_plate,
}


def normalise(kind: str, value: str, *, country: str | None = None) -> str:
    """The canonical form of ``value`` as an identifier of ``kind``.

    ``country`` (ISO 3166-1 alpha-2) is needed for national phone numbers, company numbers
    and vehicle plates, and ignored by the kinds that carry their own country. Raises
    ``InvalidData`` naming the field (``kind``, ``value`` or ``country``) and the reason.
    """
    normaliser = _NORMALISERS.get(kind)
    if normaliser is None:
        raise InvalidData(f"unknown identifier kind {kind!r}", errors=[
            FieldError("kind", f"not one of {', '.join(KINDS)}")])
    if not isinstance(value, str) or not value.strip():
        raise _refuse(kind, "empty")
    if len(value) > MAX_VALUE_LENGTH:
        raise _refuse(kind, f"longer than {MAX_VALUE_LENGTH} characters")
    return normaliser(value.strip(), _country(kind, country))


def normalise_many(rows: Iterable[tuple[int, str, str, str | None]]
                   ) -> tuple[list[tuple[int, str, str]], list[RowError]]:
    """Normalise (row number, kind, value, country) rows of a file, collecting every error.

    Returns ``(row, kind, canonical value)`` for the good rows and one ``RowError`` per bad
    row, so that an importer can refuse the file with all its problems at once (see
    ``interdict.tabular.FileRejected``) instead of one per attempt.
    """
    values: list[tuple[int, str, str]] = []
    errors: list[RowError] = []
    for row, kind, value, country in rows:
        try:
            values.append((row, kind, normalise(kind, value, country=country or None)))
        except InvalidData as exc:
            problem = exc.errors[0] if exc.errors else FieldError("value", exc.detail)
            errors.append(RowError(row, problem.field, problem.reason))
    return values, errors
