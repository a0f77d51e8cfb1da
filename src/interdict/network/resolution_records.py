"""Entity resolution, part 1: the record shape and its normalisation.

A :class:`ResolvableRecord` is the small, flat view of an entity that resolution needs
(names, dates of birth, identifiers, addresses, countries) and nothing else, so the engine
runs the same on FollowTheMoney entities from the intelligence file (:func:`from_ftm`), on
rows of a seizure register or on the FEBRL benchmark. Multi-valued fields are tuples because
FtM properties are multi-valued: a person on a watch list often has two dates of birth and
several spellings of the name, and dropping all but one would lose the match.

:func:`prepare` turns records into :class:`Prepared` ones once, so that the quadratic part
(comparing candidate pairs) never repeats transliteration, tokenising or date parsing.
Normalisation choices, and why:

* **Transliteration** uses ``rigour.text.ascii_text`` (the name handling FtM itself uses):
  it spells Cyrillic, Greek, Armenian and Georgian the way sanctions lists do
  (``Мухаммед`` → ``Muhammed``, ``Шевченко`` → ``Shevchenko``) and falls back to
  ``normality`` for other scripts (Arabic ``محمد`` → ``mhmd``; its consonant skeleton still
  shares the metaphone key ``MHMT`` with *Muhammad*).
* **Names** lose person prefixes (Mr, Dr...) and, for organisations, legal forms are
  rewritten to one generic form (``Limited`` and ``Ltd`` both become ``ltd``), then are cut
  into case-folded ASCII tokens. Token order is kept for display but comparison sorts or
  aligns tokens, so "Smith John" equals "John Smith".
* **Phonetic keys** are jellyfish's metaphone per token: it ignores most vowels, which
  absorbs much transliteration variance (Mohammed, Muhammad and rigour's ``Muhammed`` for
  ``Мухаммед`` all give ``MHMT``).
* **Addresses** go through rigour's address fingerprint (keywords shortened, scripts
  transliterated) and are compared as sets of words.
* **Dates** become :class:`PartialDate` (year, optional month, optional day) because sources
  give "1980", "05/1980" or a full date, and a year-only record must neither match nor
  contradict a full date on the parts it does not state.
* **Identifiers** keep their kind (FtM property name or a free kind such as ``passport``)
  and compare on upper-case letters and digits only; phone numbers compare on their last nine
  digits so that ``+44 20 7946 0000`` and ``020 7946 0000`` agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jellyfish
from followthemoney import model as ftm_model
from rigour.addresses import address_fingerprint
from rigour.names import remove_person_prefixes, replace_org_types_compare, tokenize_name
from rigour.text import ascii_text

from interdict.errors import FieldError, InvalidData

#: Identifier properties that are shared by many unrelated entities (a sanctions programme,
#: an economic-activity code), so an equal value says nothing about identity.
NON_IDENTIFYING_PROPS = frozenset({"programId", "okvedCode", "sector", "classification"})

#: FtM property types whose values become identifiers (kind = the property name).
IDENTIFIER_TYPES = frozenset({"identifier", "phone", "email", "iban"})

#: FtM date properties that play the part of a date of birth for matching, by schema family.
BIRTH_DATE_PROPS = ("birthDate", "incorporationDate", "buildDate")

#: FtM properties whose countries describe the entity itself: where it lives, whose
#: citizen it is, where it is registered or flagged.
COUNTRY_PROPS = ("country", "nationality", "citizenship", "birthCountry", "jurisdiction",
                 "mainCountry", "flag")

_PHONE_KINDS = frozenset({"phone", "telephone", "mobile", "msisdn"})
_WORD = re.compile(r"[a-z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def _tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A field given as one string, a sequence of strings or nothing, as a clean tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    return tuple(v.strip() for v in value if v and v.strip())


@dataclass(frozen=True)
class ResolvableRecord:
    """One entity as resolution sees it.

    Every multi-valued field accepts one string or a sequence (``names="John Smith"`` works)
    and is stored as a tuple. ``identifiers`` maps a kind (``passport``, ``phone``,
    ``imoNumber``...) to one value or several. ``source`` names the dataset a record came
    from: with ``link_only`` resolution pairs records of different sources only (linking a
    seizure register against a watch list). ``extra`` carries anything the caller wants back
    with the record; resolution never reads it.
    """

    id: str
    schema: str = "Person"
    names: Sequence[str] = ()
    birth_dates: Sequence[str] = ()
    identifiers: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    addresses: Sequence[str] = ()
    countries: Sequence[str] = ()
    source: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidData("a record needs an id", errors=[FieldError("id", "empty")])
        for name in ("names", "birth_dates", "addresses", "countries"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        ids = {str(k): _tuple(v) for k, v in self.identifiers.items()}
        object.__setattr__(self, "identifiers", {k: v for k, v in ids.items() if v})

    @property
    def birth_date(self) -> str | None:
        """The first date of birth, for callers that show one."""
        return self.birth_dates[0] if self.birth_dates else None

    @property
    def caption(self) -> str:
        return self.names[0] if self.names else self.id


def from_ftm(entity: Mapping[str, Any], *, source: str | None = None) -> ResolvableRecord:
    """A record from an FtM entity dict (``{"id", "schema", "properties": {prop: [values]}}``).

    Property roles come from the FtM model rather than a hand-kept list: every ``name``-typed
    property except ``weakAlias`` (FtM's own "do not match on this" marker) is a name; every
    identifier, phone, email and IBAN property is an identifier of that kind. A person given
    only ``firstName``/``lastName`` gets them joined as a name.
    """
    schema_name = entity.get("schema")
    schema = ftm_model.get(schema_name) if isinstance(schema_name, str) else None
    if schema is None:
        raise InvalidData(f"unknown FtM schema {schema_name!r}",
                          errors=[FieldError("schema", "not in the FtM model")])
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise InvalidData("an FtM entity needs an id", errors=[FieldError("id", "missing")])
    props: Mapping[str, Any] = entity.get("properties") or {}

    def values(prop: str) -> list[str]:
        raw = props.get(prop) or []
        return [str(v) for v in ([raw] if isinstance(raw, str) else raw) if v]

    names: list[str] = []
    identifiers: dict[str, list[str]] = {}
    dates: list[str] = []
    for prop_name in props:
        prop = schema.get(prop_name)
        if prop is None:
            continue
        kind = prop.type.name
        if kind == "name" and prop_name != "weakAlias":
            names.extend(values(prop_name))
        elif kind in IDENTIFIER_TYPES and prop_name not in NON_IDENTIFYING_PROPS:
            identifiers.setdefault(prop_name, []).extend(values(prop_name))
    if not names:
        parts = [" ".join(values(p)) for p in ("firstName", "middleName", "fatherName",
                                                 "lastName")]
        joined = " ".join(p for p in parts if p)
        if joined:
            names.append(joined)
    for prop_name in BIRTH_DATE_PROPS:
        dates.extend(values(prop_name))
    countries = [c for p in COUNTRY_PROPS for c in values(p)]
    return ResolvableRecord(
        id=entity_id, schema=schema.name, names=names, birth_dates=dates,
        identifiers=identifiers, addresses=values("address"), countries=countries,
        source=source)


# --- dates --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date known to year, month or day precision.

    ``digits`` keeps the eight digits as written (``YYYYMMDD``) when the source gave a full
    date, even an impossible one such as ``19450493``: typists' slips produce those, and the
    comparison counts one edit between the digit strings as a near-agreement.
    """

    year: int
    month: int | None = None
    day: int | None = None
    digits: str = ""

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        return text


_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_MY = re.compile(r"^(\d{1,2})[./-](\d{4})$")


@lru_cache(maxsize=65536)
def parse_date(text: str) -> PartialDate | None:
    """Parse ISO prefixes (``1980``, ``1980-05``, ``1980-05-17``), ``19800517``,
    ``17.05.1980`` / ``17/05/1980`` (day first, the usage of most agencies; a month-first
    source still matches through the transposed-date level) and ``05/1980``.

    An out-of-range month or day lowers the precision instead of failing: the year of a
    mistyped date is still evidence.
    """
    text = text.strip()
    year: int
    month: int | None = None
    day: int | None = None
    if m := _ISO.match(text):
        year = int(m[1])
        month = int(m[2]) if m[2] else None
        day = int(m[3]) if m[3] else None
    elif m := (_COMPACT.match(text) or _YMD_SLASH.match(text)):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.match(text):
        year, month, day = int(m[3]), int(m[2]), int(m[1])
    elif m := _MY.match(text):
        year, month = int(m[2]), int(m[1])
    else:
        return None
    if not 1000 <= year <= 2999:
        return None
    digits = f"{year:04d}{month:02d}{day:02d}" if month is not None and day is not None else ""
    if month is not None and not 1 <= month <= 12:
        month = day = None
    if day is not None and not 1 <= day <= 31:
        day = None
    return PartialDate(year, month, day, digits)


# --- names, identifiers, addresses ----------------------------------------------------------


@lru_cache(maxsize=64)
def _schema_family(schema: str) -> str:
    """``person``, ``organization`` or ``other``: decides which name clean-up applies."""
    found = ftm_model.get(schema)
    if found is None:
        return "other"
    if found.is_a("Person"):
        return "person"
    if found.is_a("Organization"):
        return "organization"
    return "other"


@lru_cache(maxsize=262144)
def name_tokens(name: str, family: str = "person") -> tuple[str, ...]:
    """Case-folded ASCII tokens of a name, in written order (see the module docstring)."""
    text = ascii_text(name)
    if family == "person":
        text = remove_person_prefixes(text)
    text = text.casefold()
    if family == "organization":
        text = replace_org_types_compare(text, generic=True)
    tokens = []
    for token in tokenize_name(text):
        token = "".join(_WORD.findall(token.casefold()))
        if token:
            tokens.append(token)
    return tuple(tokens)


@lru_cache(maxsize=262144)
def phonetic(token: str) -> str:
    """The metaphone key of a token; digits-only tokens are their own key."""
    return jellyfish.metaphone(token) or token


def normalise_identifier(kind: str, value: str) -> str:
    """Upper-case letters and digits; phones keep their last nine digits (see above)."""
    if kind.casefold() in _PHONE_KINDS:
        digits = "".join(c for c in value if c.isdigit())
        return digits[-9:] if len(digits) >= 6 else ""
    if "@" in value:
        return value.strip().casefold()
    text = _NOT_ALNUM.sub("", ascii_text(value).upper())
    if kind.casefold().startswith("imo") and text.startswith("IMO"):
        text = text[3:]
    return text if len(text) >= 3 else ""


@lru_cache(maxsize=65536)
def address_tokens(address: str) -> frozenset[str]:
    """Words of an address after rigour's address fingerprint, which transliterates and
    shortens keywords (``Street`` → ``st``, ``Straße`` → ``str``) so spellings agree."""
    text = address_fingerprint(address) or ascii_text(address)
    return frozenset(_WORD.findall(text.casefold()))


def postcode_tokens(tokens: Iterable[str]) -> frozenset[str]:
    """Tokens that look like postal codes: four or more characters with a digit.

    Free-text addresses do not say which token is the postcode; this keeps ``4223``,
    ``75011`` and ``sw1a`` and drops house numbers (``8``, ``12``), which would make blocks of
    unrelated people.
    """
    return frozenset(t for t in tokens if len(t) >= 4 and any(c.isdigit() for c in t))


# --- prepared records -----------------------------------------------------------------------


@dataclass(slots=True)
class Prepared:
    """A record with everything comparison needs precomputed (see :func:`prepare`)."""

    index: int
    record: ResolvableRecord
    family: str
    names: tuple[tuple[str, ...], ...]
    name_texts: tuple[str, ...]
    sorted_names: tuple[str, ...]
    phonetic_names: tuple[tuple[str, ...], ...]
    dates: tuple[PartialDate, ...]
    date_texts: tuple[str, ...]
    identifiers: dict[str, frozenset[str]]
    identifier_values: frozenset[str]
    addresses: tuple[frozenset[str], ...]
    address_texts: tuple[str, ...]
    postcodes: frozenset[str]
    countries: frozenset[str]


@dataclass(frozen=True)
class Corpus:
    """Statistics over the whole record set that comparisons need.

    ``address_weight`` is an inverse document frequency per address token: "street" or a
    state abbreviation appear in thousands of addresses and say little, a street name or a
    postcode says a lot. Weighting overlap by it is what keeps two neighbours in the same
    town from looking like one person.
    """

    records: tuple[Prepared, ...]
    address_weight: Mapping[str, float]
    default_address_weight: float

    def token_weight(self, token: str) -> float:
        return self.address_weight.get(token, self.default_address_weight)


def _prepare_one(index: int, record: ResolvableRecord) -> Prepared:
    family = _schema_family(record.schema)
    # Distinct token tuples, each with the first written form that produced it (for display).
    by_tokens: dict[tuple[str, ...], str] = {}
    for text in record.names:
        by_tokens.setdefault(name_tokens(text, family), text)
    by_tokens.pop((), None)
    names = tuple(by_tokens)
    by_date: dict[PartialDate, str] = {}
    for text in record.birth_dates:
        parsed = parse_date(text)
        if parsed is not None:
            by_date.setdefault(parsed, text)
    dates = tuple(by_date)
    identifiers: dict[str, frozenset[str]] = {}
    for kind, vals in record.identifiers.items():
        normal = frozenset(v for v in (normalise_identifier(kind, x) for x in vals) if v)
        if normal:
            identifiers[kind] = normal
    by_words: dict[frozenset[str], str] = {}
    for text in record.addresses:
        by_words.setdefault(address_tokens(text), text)
    by_words.pop(frozenset(), None)
    addresses = tuple(by_words)
    return Prepared(
        index=index, record=record, family=family, names=names,
        name_texts=tuple(by_tokens.values()),
        sorted_names=tuple(" ".join(sorted(n)) for n in names),
        phonetic_names=tuple(tuple(sorted(phonetic(t) for t in n)) for n in names),
        dates=dates, date_texts=tuple(by_date.values()), identifiers=identifiers,
        identifier_values=frozenset(v for vs in identifiers.values() for v in vs),
        addresses=addresses, address_texts=tuple(by_words.values()),
        postcodes=frozenset(p for a in addresses for p in postcode_tokens(a)),
        countries=frozenset(c.strip().casefold() for c in record.countries))


def prepare(records: Iterable[ResolvableRecord]) -> Corpus:
    """Normalise every record once and gather corpus statistics; ids must be unique."""
    prepared = tuple(_prepare_one(i, r) for i, r in enumerate(records))
    counts = Counter(p.record.id for p in prepared)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise InvalidData(f"record ids must be unique; repeated: {', '.join(duplicates[:5])}",
                          errors=[FieldError("id", "repeated")])
    frequency: Counter[str] = Counter()
    for p in prepared:
        frequency.update(set().union(*p.addresses) if p.addresses else ())
    total = max(1, sum(1 for p in prepared if p.addresses))
    weights = {t: math.log((total + 1) / (n + 0.5)) for t, n in frequency.items()}
    return Corpus(records=prepared, address_weight=weights,
                  default_address_weight=math.log((total + 1) / 0.5))
