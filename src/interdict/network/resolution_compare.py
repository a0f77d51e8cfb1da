"""Entity resolution, part 3: comparing a pair, feature by feature, into discrete levels.

Each :class:`Feature` compares one aspect of two records and returns a *level* (an ordered
category from "identical" to "different"), a similarity where one exists, and which values
were compared. Levels, not raw similarities, feed the Fellegi-Sunter model
(:mod:`interdict.network.resolution_model`): a level has an m probability (how often true
matches land there) and a u probability (how often non-matches do), both estimable without
labels, and each level can be said in words to an analyst. ``-1`` means the feature is
missing on one side and counts as no evidence either way.

Features (best level over all value pairs when a record has several names, dates...):

* ``name``: identical after transliteration, case, punctuation and token order; then the
  similarity of the best one-to-one token alignment (rapidfuzz Jaro-Winkler per token, each
  matched pair weighted by its length, so "Smith John" vs "Jon Smith" ≈ 0.97); equal
  metaphone keys; one name's tokens all found in the other (a missing middle or given name);
  some tokens close (Jaro-Winkler ≥ 0.9) and others not: relatives share a surname, so this
  level is weak evidence by design.
* ``birth_date``: identical; agreeing as far as both are known (a year-only date against a
  full one); day and month transposed (US vs European order); one typed digit off
  (Damerau-Levenshtein ≤ 1 on ``YYYYMMDD``); same year only; different.
* ``identifier``: a value shared (any kind: a passport number recorded as an ``idNumber``
  still counts); a value of the same kind one typing error away (Damerau-Levenshtein, length
  ≥ 5) or two (length ≥ 7); both have values of a common kind and none is close. Missing
  when the records share no kind.
* ``address``: token overlap of the best address pair, each token weighted by its inverse
  document frequency over the corpus (:class:`~interdict.network.resolution_records.Corpus`).
* ``country``: any country in common, or none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from interdict.network.resolution_blocking import comparable
from interdict.network.resolution_records import Corpus, PartialDate, Prepared

#: Names per record compared (first ones given): 50 aliases each would be 2,500 comparisons.
MAX_NAMES = 10

#: (level, similarity or NaN, index of the left value shown, index of the right value)
Outcome = tuple[int, float, int, int]
MISSING: Outcome = (-1, math.nan, -1, -1)


@dataclass(frozen=True)
class Level:
    """One comparison level: its key, its meaning in words and its prior m and u.

    The priors are used when there is too little data to estimate (a handful of records),
    as the starting point of EM, and as pseudo-counts that keep rare levels away from 0.
    """

    key: str
    description: str
    m: float
    u: float


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    levels: tuple[Level, ...]
    compare: Callable[[Prepared, Prepared, Corpus], Outcome]
    show: Callable[[Prepared, int], str]


# --- names ---------------------------------------------------------------------------------


def _align(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[float, int]:
    """Length-weighted similarity of the best one-to-one token alignment, and how many
    aligned token pairs are close (Jaro-Winkler ≥ 0.9)."""
    if len(a) == 1 and len(b) == 1:
        s = JaroWinkler.normalized_similarity(a[0], b[0])
        return s, int(s >= 0.9)
    scored = sorted(((JaroWinkler.normalized_similarity(x, y), i, j)
                     for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = 0.0
    close = 0
    limit = min(len(a), len(b))
    for s, i, j in scored:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched += s * (len(a[i]) + len(b[j]))
        close += s >= 0.9
        if len(used_a) == limit:
            break
    total = sum(map(len, a)) + sum(map(len, b))
    return matched / total, close


def _name_level(a: Prepared, i: int, b: Prepared, j: int) -> tuple[int, float]:
    if a.sorted_names[i] == b.sorted_names[j]:
        return 0, 1.0
    x, y = a.names[i], b.names[j]
    sim, close = _align(x, y)
    if sim >= 0.94:
        return 1, sim
    if a.phonetic_names[i] == b.phonetic_names[j]:
        return 2, sim
    if sim >= 0.85:
        return 3, sim
    if close == min(len(x), len(y)):
        return 4, sim
    if close:
        return 5, sim
    return 6, sim


def compare_names(a: Prepared, b: Prepared, corpus: Corpus) -> Outcome:
    if not a.names or not b.names:
        return MISSING
    best: Outcome = (99, -1.0, -1, -1)
    for i in range(min(len(a.names), MAX_NAMES)):
        for j in range(min(len(b.names), MAX_NAMES)):
            level, sim = _name_level(a, i, b, j)
            if (level, -sim) < (best[0], -best[1]):
                best = (level, sim, i, j)
                if level == 0:
                    return best
    return best


# --- dates ---------------------------------------------------------------------------------


def _date_level(a: PartialDate, b: PartialDate) -> int:
    if a.digits and b.digits:
        if a.digits == b.digits:
            return 0
        if (a.year == b.year and a.digits[4:6] == b.digits[6:8]
                and a.digits[6:8] == b.digits[4:6]):
            return 2
        if DamerauLevenshtein.distance(a.digits, b.digits) <= 1:
            return 3
        return 4 if a.year == b.year else 5
    if a.year != b.year:
        return 5
    if a.month is not None and b.month is not None and a.month != b.month:
        return 4
    if a.day is not None and b.day is not None and a.day != b.day:
        return 4
    return 1


def compare_dates(a: Prepared, b: Prepared, corpus: Corpus) -> Outcome:
    if not a.dates or not b.dates:
        return MISSING
    best: Outcome = (99, math.nan, -1, -1)
    for i, x in enumerate(a.dates):
        for j, y in enumerate(b.dates):
            level = _date_level(x, y)
            if level < best[0]:
                best = (level, math.nan, i, j)
    return best


# --- identifiers ---------------------------------------------------------------------------


def _identifier_values(p: Prepared) -> list[tuple[str, str]]:
    return sorted((kind, v) for kind, vs in p.identifiers.items() for v in vs)


def compare_identifiers(a: Prepared, b: Prepared, corpus: Corpus) -> Outcome:
    shared = a.identifier_values & b.identifier_values
    if shared:
        value = min(shared)
        left = next(i for i, (_, v) in enumerate(_identifier_values(a)) if v == value)
        right = next(i for i, (_, v) in enumerate(_identifier_values(b)) if v == value)
        return (0, 1.0, left, right)
    kinds = a.identifiers.keys() & b.identifiers.keys()
    if not kinds:
        return MISSING
    values_a, values_b = _identifier_values(a), _identifier_values(b)
    best: Outcome = (99, -1.0, -1, -1)
    for i, (kind_a, x) in enumerate(values_a):
        for j, (kind_b, y) in enumerate(values_b):
            if kind_a != kind_b:
                continue
            edits = DamerauLevenshtein.distance(x, y, score_cutoff=3)
            short = min(len(x), len(y))
            level = 1 if edits <= 1 and short >= 5 else 2 if edits <= 2 and short >= 7 else 3
            sim = DamerauLevenshtein.normalized_similarity(x, y)
            if (level, -sim) < (best[0], -best[1]):
                best = (level, sim, i, j)
    return best


def _show_identifier(p: Prepared, index: int) -> str:
    kind, value = _identifier_values(p)[index]
    return f"{kind} {value}"


# --- addresses and countries --------------------------------------------------------------


def compare_addresses(a: Prepared, b: Prepared, corpus: Corpus) -> Outcome:
    if not a.addresses or not b.addresses:
        return MISSING
    best: Outcome = (99, -1.0, -1, -1)
    for i, x in enumerate(a.addresses):
        for j, y in enumerate(b.addresses):
            if x == y:
                return (0, 1.0, i, j)
            common = sum(corpus.token_weight(t) for t in x & y)
            union = sum(corpus.token_weight(t) for t in x | y)
            sim = common / union if union else 0.0
            level = 1 if sim >= 0.7 else 2 if sim >= 0.45 else 3 if sim >= 0.2 else 4
            if (level, -sim) < (best[0], -best[1]):
                best = (level, sim, i, j)
    return best


def compare_countries(a: Prepared, b: Prepared, corpus: Corpus) -> Outcome:
    if not a.countries or not b.countries:
        return MISSING
    common = a.countries & b.countries
    if common:
        value = min(common)
        return (0, 1.0, sorted(a.countries).index(value), sorted(b.countries).index(value))
    return (1, 0.0, 0, 0)


FEATURES: tuple[Feature, ...] = (
    Feature("name", "names", (
        Level("identical", "identical after transliteration, case and token order",
              0.55, 0.0005),
        Level("nearly_identical", "nearly identical (aligned tokens' Jaro-Winkler ≥ 0.94)",
              0.20, 0.001),
        Level("phonetic", "sound alike (same metaphone keys)", 0.05, 0.002),
        Level("similar", "similar (aligned tokens' Jaro-Winkler ≥ 0.85)", 0.08, 0.01),
        Level("contained", "one name's tokens all found in the other", 0.06, 0.005),
        Level("token_in_common", "some tokens in common, others different (e.g. a surname)",
              0.04, 0.03),
        Level("different", "different", 0.02, 0.9015)),
        compare_names,
        lambda p, i: p.name_texts[i]),
    Feature("birth_date", "dates of birth", (
        Level("identical", "identical", 0.85, 0.00005),
        Level("compatible", "agree as far as both are known (partial date)", 0.04, 0.01),
        Level("transposed", "day and month transposed", 0.02, 0.00005),
        Level("one_digit", "one digit mistyped or two swapped", 0.05, 0.0005),
        Level("same_year", "same year only", 0.02, 0.012),
        Level("different", "different", 0.02, 0.9774)),
        compare_dates, lambda p, i: p.date_texts[i]),
    Feature("identifier", "identifiers", (
        Level("shared", "a value in common", 0.70, 0.00001),
        Level("one_typo", "same kind, one typing error apart", 0.10, 0.0001),
        Level("two_typos", "same kind, two typing errors apart", 0.05, 0.001),
        Level("different", "same kind, all values different", 0.15, 0.99889)),
        compare_identifiers, _show_identifier),
    Feature("address", "addresses", (
        Level("identical", "identical", 0.35, 0.0001),
        Level("mostly_shared", "mostly the same words (weighted overlap ≥ 0.7)", 0.30, 0.0005),
        Level("partly_shared", "partly the same words (weighted overlap ≥ 0.45)", 0.15, 0.002),
        Level("little_shared", "a few words in common (weighted overlap ≥ 0.2)", 0.10, 0.02),
        Level("different", "different", 0.10, 0.9774)),
        compare_addresses, lambda p, i: p.address_texts[i]),
    Feature("country", "countries", (
        Level("shared", "a country in common", 0.95, 0.1),
        Level("different", "no country in common", 0.05, 0.9)),
        compare_countries, lambda p, i: ", ".join(sorted(p.countries))),
)

FEATURE_NAMES = tuple(f.name for f in FEATURES)


@dataclass(frozen=True)
class Comparisons:
    """Levels and similarities of many pairs, one row per pair, one column per feature.

    ``kinds`` is the blocking-key mask of each pair (0 for pairs not found by blocking).
    """

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    levels: npt.NDArray[np.int8]
    similarities: npt.NDArray[np.float32]
    kinds: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.left)


def compare_pairs(corpus: Corpus, left: npt.NDArray[np.int64],
                  right: npt.NDArray[np.int64],
                  kinds: npt.NDArray[np.uint8] | None = None) -> Comparisons:
    """Compare each pair (``left[k]``, ``right[k]``) of corpus records on every feature."""
    records = corpus.records
    n = len(left)
    levels = np.empty((n, len(FEATURES)), dtype=np.int8)
    sims = np.empty((n, len(FEATURES)), dtype=np.float32)
    compares = [f.compare for f in FEATURES]
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        a, b = records[i], records[j]
        for f, compare in enumerate(compares):
            outcome = compare(a, b, corpus)
            levels[k, f] = outcome[0]
            sims[k, f] = outcome[1]
    return Comparisons(left=left, right=right, levels=levels, similarities=sims,
                       kinds=np.zeros(n, dtype=np.uint8) if kinds is None else kinds)


def _draw(rng: np.random.Generator, size: int, sources: list[str | None],
          link_only: bool) -> npt.NDArray[np.int64]:
    """``size`` random index pairs; with ``link_only`` the second record is drawn among
    records of other sources, which makes every cross-source pair equally likely for two
    sources however unequal their sizes (a 100-name watch list against a million records)."""
    n = len(sources)
    first = rng.integers(0, n, size=size)
    if not link_only:
        return np.stack([first, rng.integers(0, n, size=size)], axis=1)
    keys = np.array([str(s) for s in sources])
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    start = np.searchsorted(ordered, keys[first], side="left")
    end = np.searchsorted(ordered, keys[first], side="right")
    others = n - (end - start)
    offset = (rng.random(size) * np.maximum(others, 1)).astype(np.int64)
    offset = np.where(offset >= start, offset + (end - start), offset)
    second = order[np.minimum(offset, n - 1)]
    return np.stack([first, np.where(others > 0, second, first)], axis=1)


def random_pairs(corpus: Corpus, count: int, *, link_only: bool,
                 seed: int = 0) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Up to ``count`` distinct random comparable pairs, for estimating u probabilities.

    Almost every random pair is a non-match (in 10,000 records with 5,000 matches, about one
    pair in 10,000), so the share of random pairs at a level estimates u without labels.
    """
    records = corpus.records
    n = len(records)
    count = min(count, n * (n - 1) // 2)
    rng = np.random.default_rng(seed)
    sources = [p.record.source for p in records]
    found: set[tuple[int, int]] = set()
    for _ in range(8):  # a few rounds: schemata and repeats reject some draws
        need = count - len(found)
        if need <= 0:
            break
        for i, j in _draw(rng, need * 2, sources, link_only).tolist():
            i, j = min(i, j), max(i, j)
            if (i, j) in found or not comparable(records[i], records[j], link_only=link_only):
                continue
            found.add((i, j))
            if len(found) >= count:
                break
    ordered = sorted(found)
    return (np.array([p[0] for p in ordered], dtype=np.int64),
            np.array([p[1] for p in ordered], dtype=np.int64))
