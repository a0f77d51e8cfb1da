"""Canonical identifiers: equal after normalisation, and malformed ones refused with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from stdnum import iban as stdnum_iban

from interdict.errors import InvalidData
from interdict.exchange import identifiers
from interdict.exchange.identifiers import KINDS, keccak256, normalise, normalise_many


def refused(kind: str, value: str, country: str | None = None) -> tuple[str, str]:
    """(field, reason) of the refusal; fails the test if the value is accepted."""
    with pytest.raises(InvalidData) as caught:
        normalise(kind, value, country=country)
    error = caught.value.errors[0]
    assert value.strip() == "" or value.strip() not in caught.value.detail  # never echoed
    return error.field, error.reason


# -- phone ------------------------------------------------------------------------------------

def test_phone_numbers_written_three_ways_are_one_number():
    assert normalise("phone", "+31 6 1234 5678") == "+31612345678"
    assert normalise("phone", "0031612345678", country="NL") == "+31612345678"
    assert normalise("phone", "06 12345678", country="NL") == "+31612345678"
    assert normalise("phone", "06-1234 5678", country="nl") == "+31612345678"
    assert normalise("phone", "0031612345678") == "+31612345678"  # 00 means + without country
    assert normalise("phone", "+44 20 7946 0958") == "+442079460958"


def test_phone_refusals_name_the_field_and_reason():
    assert refused("phone", "06 12345678") == (
        "country", "a national number needs country (or write it with +)")
    assert refused("phone", "+31 6 1234")[1] == "not a valid number in its numbering plan"
    assert refused("phone", "+999 1234567")[0] == "value"
    assert refused("phone", "06 12345678", "ZZ")[0] == "country"
    assert refused("phone", "06 12345678", "Netherlands") == (
        "country", "not an ISO 3166-1 alpha-2 country code")


# -- IBAN -------------------------------------------------------------------------------------

def test_iban_is_compacted_upper_cased_and_checked():
    assert normalise("iban", "nl91 abna 0417 1643 00") == "NL91ABNA0417164300"
    assert normalise("iban", "NL91-ABNA-0417-1643-00") == "NL91ABNA0417164300"
    assert refused("iban", "nl91 abna 0417 1643 01") == (
        "value", "check digits do not match (mistyped?)")
    assert refused("iban", "nl91 abna 0417 1653 00")[1] == "check digits do not match (mistyped?)"


def test_iban_of_the_wrong_length_for_its_country_is_refused():
    short = "ABNA041716430"  # one digit short of a Dutch account
    number = "NL" + stdnum_iban.calc_check_digits("NL00" + short) + short
    assert refused("iban", number)[1] == "wrong length or format for its country"
    unknown = "XX" + stdnum_iban.calc_check_digits("XX00" + short) + short
    assert refused("iban", unknown)[1] == "no IBAN country with this code"
    assert refused("iban", "not an iban")[0] == "value"


# -- crypto wallets ---------------------------------------------------------------------------

def _base58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = identifiers._B58[digit] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def _bech32_with(address: str, const: int) -> str:
    """``address`` with its checksum recomputed for ``const`` (bech32 or bech32m)."""
    hrp, _, data_part = address.lower().rpartition("1")
    data = [identifiers._BECH32.index(c) for c in data_part[:-6]]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = identifiers._bech32_polymod(expanded + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(identifiers._BECH32[d] for d in data + checksum)


P2PKH = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
P2WPKH = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"  # BIP-173 test vector
P2TR = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"  # BIP-350


def test_bitcoin_base58_addresses_keep_their_case_and_checksum():
    assert normalise("crypto_wallet", P2PKH) == P2PKH
    assert normalise("crypto_wallet", f"  {P2SH} ") == P2SH
    assert refused("crypto_wallet", P2PKH[:-1] + "b")[1] == (
        "base58check checksum does not match (mistyped?)")
    assert refused("crypto_wallet", P2PKH.replace("z", "0"))[1].startswith(
        "not a base58 address")


def test_tron_addresses_are_accepted_and_testnet_and_other_versions_refused():
    assert normalise("crypto_wallet", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").startswith("TR7")
    assert refused("crypto_wallet", _base58check(b"\x6f" + bytes(range(20))))[1] == (
        "a testnet address")
    assert refused("crypto_wallet", _base58check(b"\x30" + bytes(range(20))))[1].startswith(
        "not a Bitcoin or Tron address")


def test_bech32_and_bech32m_addresses_are_lower_cased_and_checked():
    assert normalise("crypto_wallet", P2WPKH) == P2WPKH.lower()
    assert normalise("crypto_wallet", P2TR) == P2TR
    assert _bech32_with(P2TR, identifiers._BECH32M_CONST) == P2TR  # the helper is right
    assert refused("crypto_wallet", P2WPKH.lower()[:-1] + "5")[1] == (
        "bech32 checksum does not match (mistyped?)")
    assert refused("crypto_wallet", P2WPKH[:10] + P2WPKH[10:].lower())[1].startswith(
        "bech32 address in mixed case")
    # A v1 address with a v0 (bech32) checksum and the reverse break BIP-350.
    breaks = "bech32 address breaks the segwit rules (BIP-141/173/350)"
    assert refused("crypto_wallet", _bech32_with(P2TR, identifiers._BECH32_CONST))[1] == breaks
    assert refused("crypto_wallet",
                   _bech32_with(P2WPKH, identifiers._BECH32M_CONST))[1] == breaks
    assert refused("crypto_wallet", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")[1] == (
        "a testnet address")


def test_keccak256_is_ethereums_not_sha3():
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    assert keccak256(b"x" * 300) != hashlib.sha3_256(b"x" * 300).digest()


@pytest.mark.parametrize("address", [  # the EIP-55 examples
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
])
def test_ethereum_mixed_case_checksum_is_verified(address):
    assert normalise("crypto_wallet", address) == address.lower()
    assert normalise("crypto_wallet", "0x" + address[2:].upper()) == address.lower()
    last_letter = max(i for i, c in enumerate(address) if c.isalpha())
    flipped = (address[:last_letter] + address[last_letter].swapcase()
               + address[last_letter + 1:])
    assert refused("crypto_wallet", flipped)[1] == "EIP-55 checksum does not match (mistyped?)"


def test_other_chains_are_refused_with_a_reason():
    field, reason = refused("crypto_wallet", "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3"
                                             "XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")
    assert field == "value" and "not supported" in reason
    assert refused("crypto_wallet", "0x12345")[1].endswith("other chains are not supported")


# -- registries -------------------------------------------------------------------------------

def test_company_numbers_carry_their_country():
    assert normalise("company_number", "12.345-678", country="nl") == "NL:12345678"
    assert normalise("company_number", "nl: 12 345 678") == "NL:12345678"
    assert normalise("company_number", "HRB 12345", country="DE") == "DE:HRB12345"
    assert refused("company_number", "12345678")[0] == "country"
    assert refused("company_number", "DE:HRB 12345", "NL") == (
        "country", "the value says DE but country is NL")
    assert refused("company_number", "Acme B.V.", "NL")[1].startswith("no registration number")


def test_imo_numbers_have_their_check_digit_verified():
    assert normalise("vessel_imo", "IMO 9321483") == "9321483"
    assert normalise("vessel_imo", "imo9321483") == "9321483"
    assert normalise("vessel_imo", "9321483") == "9321483"
    assert refused("vessel_imo", "IMO 9321484")[1] == "IMO check digit does not match (mistyped?)"
    assert refused("vessel_imo", "932148")[1].startswith("not an IMO number")


def test_aircraft_registrations_match_with_or_without_the_hyphen():
    assert normalise("aircraft_registration", "PH-DMO") == "PHDMO"
    assert normalise("aircraft_registration", "ph dmo") == "PHDMO"
    assert normalise("aircraft_registration", "phdmo") == "PHDMO"
    assert normalise("aircraft_registration", "N12345") == "N12345"
    assert normalise("aircraft_registration", "9H-ABC") == "9HABC"
    assert refused("aircraft_registration", "12345")[1].startswith("not a registration mark")
    assert refused("aircraft_registration", "PH/DMO")[0] == "value"


def test_vehicle_plates_need_a_country_and_read_look_alike_letters_as_latin():
    assert normalise("vehicle_plate", "12-abc-3", country="NL") == "NL:12ABC3"
    assert normalise("vehicle_plate", "nl:12 ABC 3") == "NL:12ABC3"
    cyrillic = "А123ВС 77"  # Cyrillic А, В, С as on a Russian plate
    assert normalise("vehicle_plate", cyrillic, country="RU") == "RU:A123BC77"
    assert normalise("vehicle_plate", "A123BC77", country="RU") == "RU:A123BC77"
    assert refused("vehicle_plate", "12-ABC-3")[0] == "country"
    assert refused("vehicle_plate", "- -", "NL")[1] == "no letters or digits"


# -- person -----------------------------------------------------------------------------------

def test_person_names_match_in_any_order_case_and_accent():
    expected = "de jan vries|1980-01-31"
    assert normalise("person", "Jan de Vries|1980-01-31") == expected
    assert normalise("person", "de Vries, Jan|1980-01-31") == expected
    assert normalise("person", "  JAN  DE VRIES | 1980-01-31 ") == expected
    assert normalise("person", "José Müller|1975-06-01") == normalise(
        "person", "Muller, Jose|1975-06-01") == "jose muller|1975-06-01"
    assert normalise("person", "Łukasz Øster|1990-03-04") == "lukasz oster|1990-03-04"
    assert normalise("person", "Иван Петров|1970-05-01") == "ivan petrov|1970-05-01"


def test_person_needs_a_real_date_of_birth_and_a_name():
    bad_date = "date of birth is not a real date written YYYY-MM-DD"
    assert refused("person", "Jan de Vries|1980-02-30")[1] == bad_date
    assert refused("person", "Jan de Vries|31-01-1980")[1] == bad_date
    assert refused("person", "Jan de Vries|19800131")[1] == bad_date
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    assert refused("person", f"Jan de Vries|{future}")[1] == "date of birth is in the future"
    assert refused("person", "Jan de Vries")[1].startswith("expected 'name|YYYY-MM-DD'")
    assert refused("person", " , |1980-01-31")[1] == "no name"


# -- all kinds --------------------------------------------------------------------------------

SAMPLES = {
    "phone": ("+31 6 1234 5678", None), "iban": ("nl91 abna 0417 1643 00", None),
    "crypto_wallet": (P2WPKH, None), "company_number": ("12 345 678", "NL"),
    "vessel_imo": ("IMO 9321483", None), "aircraft_registration": ("ph-dmo", None),
    "person": ("de Vries, Jan|1980-01-31", None), "vehicle_plate": ("12-abc-3", "NL"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_normalising_twice_changes_nothing(kind):
    value, country = SAMPLES[kind]
    once = normalise(kind, value, country=country)
    assert normalise(kind, once, country=country) == once
    assert normalise(kind, once) == once  # canonical values carry their country


@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_oversized_values_are_refused(kind):
    assert refused(kind, "  ") == ("value", "empty")
    assert refused(kind, "1" * 600)[1] == "longer than 512 characters"


def test_unknown_kinds_are_refused_naming_the_kind_field():
    with pytest.raises(InvalidData) as caught:
        normalise("email", "a@b.example")
    assert caught.value.errors[0].field == "kind"


def test_normalise_many_collects_every_row_error():
    values, errors = normalise_many([
        (2, "phone", "06 12345678", "NL"),
        (3, "iban", "NL91ABNA0417164301", ""),
        (4, "vessel_imo", "IMO 9321483", None),
        (5, "fax", "1", None),
    ])
    assert values == [(2, "phone", "+31612345678"), (4, "vessel_imo", "9321483")]
    assert [(e.row, e.field) for e in errors] == [(3, "value"), (5, "kind")]
    assert errors[0].reason == "check digits do not match (mistyped?)"
