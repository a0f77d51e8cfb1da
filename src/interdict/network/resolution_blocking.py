"""Entity resolution, part 2: blocking, i.e. which pairs are worth comparing at all.

Comparing every record with every other is quadratic (10,000 records: 50 million pairs), so
each record gets a few *blocking keys* and only records sharing a key are compared. A true
match is missed only if it shares no key, so the keys are chosen to fail independently:

* ``id:<value>``: a shared identifier value (passport, phone, IMO...). Catches pairs whose
  names are spelled beyond recognition.
* ``ph:<metaphone>:<birth year>``: the phonetic key of any name token plus the birth year.
  Per token rather than per surname, because sources disagree about which token is the
  surname and one intact token is enough.
* ``nm:<prefix>|<prefix>``: any two name tokens' first four letters, sorted. Survives token
  order, a typo late in a token, a missing middle name, and works without a date of birth.
* ``dob:<date>``: the full date of birth. Catches pairs whose names were garbled or
  transliterated differently.
* ``pc:<postcode>:<initial>``: a postcode-like address token plus the initial of a name
  token, so that a postcode shared by a whole district does not become one block.

A key shared by more than ``max_block_size`` records (a common name, a placeholder
identifier such as ``000000``, the date ``1900-01-01``) would cost more comparisons than all
other blocks together while telling little: such blocks are skipped and reported in
:attr:`BlockingReport.skipped`, so that a caller can see what was not compared and why.

Only records whose schemata can match are paired (FtM's ``Schema.can_match``: a Person with a
LegalEntity, never with a Company or a Vessel), and with ``link_only`` only records of
different sources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np
import numpy.typing as npt
from followthemoney import model as ftm_model

from interdict.network.resolution_records import Corpus, Prepared

#: Default cap on the records in one block: a block of 100 costs 4,950 comparisons.
DEFAULT_MAX_BLOCK_SIZE = 100

#: Each kind of key, its bit in the per-pair ``kinds`` mask, and the features it constrains.
#: EM must not estimate a feature's m from pairs found by a key on that feature: within a
#: ``dob`` block every pair agrees on the date, matches or not (see ``fit_em``).
KEY_FEATURES: dict[str, frozenset[str]] = {
    "id": frozenset({"identifier"}),
    "ph": frozenset({"name", "birth_date"}),
    "nm": frozenset({"name"}),
    "dob": frozenset({"birth_date"}),
    "pc": frozenset({"address", "name"}),
}
KEY_BITS: dict[str, int] = {kind: 1 << n for n, kind in enumerate(KEY_FEATURES)}

#: Name tokens per name used for ``nm:`` keys (all pairs among them), so that a long company
#: name makes at most ten keys.
_NAME_KEY_TOKENS = 5


@dataclass(frozen=True)
class SkippedBlock:
    """A block that was not compared because it held more than the cap."""

    key: str
    size: int


@dataclass(frozen=True)
class BlockingReport:
    """What blocking did: how many pairs each kind of key produced and what it skipped.

    ``pairs_by_key`` counts pairs per key kind before de-duplication (a pair sharing three
    keys counts three times), which shows how much each key contributes.
    """

    records: int
    blocks: int
    candidate_pairs: int
    max_block_size: int
    pairs_by_key: dict[str, int] = field(default_factory=dict)
    skipped: tuple[SkippedBlock, ...] = ()


@lru_cache(maxsize=1024)
def schemata_can_match(left: str, right: str) -> bool:
    """Whether two schemata may describe the same thing (FtM's rule; else equal names)."""
    a, b = ftm_model.get(left), ftm_model.get(right)
    if a is None or b is None:
        return left == right
    return a.can_match(b) or b.can_match(a)


def block_keys(p: Prepared) -> set[str]:
    """Every blocking key of one prepared record (see the module docstring)."""
    keys = {f"id:{v}" for v in p.identifier_values if len(v) >= 4}
    years = {d.year for d in p.dates}
    initials: set[str] = set()
    for tokens, codes in zip(p.names, p.phonetic_names, strict=True):
        initials.update(t[0] for t in tokens)
        for code in codes:
            if len(code) >= 2:
                keys.update(f"ph:{code}:{y}" for y in years)
        prefixes = sorted({t[:4] for t in tokens[:_NAME_KEY_TOKENS] if len(t) >= 2})
        keys.update(f"nm:{a}|{b}" for a, b in combinations(prefixes, 2))
        if len(prefixes) == 1 and len(tokens) == 1:
            keys.add(f"nm:{tokens[0]}")  # single-token names (aliases, vessels) whole
    keys.update(f"dob:{d}" for d in p.dates if d.day is not None)
    keys.update(f"pc:{code}:{i}" for code in p.postcodes for i in initials)
    return keys


def candidate_pairs(
    corpus: Corpus, *, link_only: bool = False,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8],
           BlockingReport]:
    """Candidate pairs as index arrays (left < right, sorted), the mask of key kinds that
    found each pair (:data:`KEY_BITS`), and a report."""
    records = corpus.records
    blocks: dict[str, list[int]] = defaultdict(list)
    for p in records:
        for key in block_keys(p):
            blocks[key].append(p.index)
    n = len(records)
    found: dict[int, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    skipped: list[SkippedBlock] = []
    schemata = [p.record.schema for p in records]
    sources = [p.record.source for p in records]
    single_schema = len(set(schemata)) == 1
    for key, members in blocks.items():
        if len(members) < 2:
            continue
        if len(members) > max_block_size:
            skipped.append(SkippedBlock(key=key, size=len(members)))
            continue
        kind = key.split(":", 1)[0]
        bit = KEY_BITS[kind]
        for i, j in combinations(members, 2):  # members are in index order: i < j
            if link_only and sources[i] == sources[j]:
                continue
            if not single_schema and not schemata_can_match(schemata[i], schemata[j]):
                continue
            by_kind[kind] += 1
            found[i * n + j] |= bit
    ordered = sorted(found)
    codes = np.fromiter(ordered, dtype=np.int64, count=len(ordered))
    kinds = np.fromiter((found[c] for c in ordered), dtype=np.uint8, count=len(ordered))
    skipped.sort(key=lambda s: (-s.size, s.key))
    report = BlockingReport(records=n, blocks=len(blocks), candidate_pairs=len(found),
                            max_block_size=max_block_size, pairs_by_key=dict(by_kind),
                            skipped=tuple(skipped))
    return codes // max(n, 1), codes % max(n, 1), kinds, report


def comparable(left: Prepared, right: Prepared, *, link_only: bool) -> bool:
    """The pairing rule of :func:`candidate_pairs` for one pair (used by random sampling)."""
    if left.index == right.index:
        return False
    if link_only and left.record.source == right.record.source:
        return False
    return schemata_can_match(left.record.schema, right.record.schema)


def keys_of(records: Iterable[Prepared]) -> dict[str, set[str]]:
    """Blocking keys by record id: for showing an analyst why a pair was compared."""
    return {p.record.id: block_keys(p) for p in records}
