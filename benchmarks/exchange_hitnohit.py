"""Hit/no-hit between agencies: 10,000 identifiers asked of a partner holding 1,000,000.

Data: generated here, not timed. Holdings are canonical identifiers of four kinds (Dutch
mobile numbers, Dutch IBANs, IMO numbers with their check digit, Dutch plates), each with a
case reference; the query is 10,000 identifiers written as officers type them ("06 1234
5678", "nl91 abna ..."), a tenth of them drawn from the holdings, the rest new.

Figures (pure engine in one process: no database, no network; ``--quick`` asks 1,000 of
100,000 and has no target):

- ``query_10k_vs_1m_s``: ``hitnohit.blind`` + ``evaluate`` + ``finish`` over the 10,000
  normalised identifiers against the holder's table (target 10 s). Blind and finish run at
  the querier, evaluate at the holder; here they run one after the other on one thread, so
  the figure is the sum of both parties' work. Normalisation of the typed identifiers
  (``identifiers.normalise``) is measured separately into ``params``.
- ``query_blind_10k_s``, ``query_evaluate_10k_s``, ``query_finish_10k_s``: the three steps.
- ``precompute_1m_s``: ``hitnohit.holder_table`` over the 1,000,000 holdings (tags and sealed
  references; one scalar multiplication each), with as many threads as the process has
  cores: the one-time cost of registering holdings, no target.

Baseline, measured in the same run on the same data: a keyed one-way filter in the manner
of Ma3tch, HMAC-SHA256 truncated to 16 bytes under a key shared by all participants. It is
faster because it has no online step, and for the same reason it gives no protection
against a dictionary: anyone with the shared key can hash every phone number of a country
offline and read every partner's filter. Its query time is the baseline of the query
figures and its filter build the baseline of the precompute.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import sys
import time
from typing import Any

from stdnum import iban as stdnum_iban

from benchmarks.figures import Baseline, Figure, machine
from interdict.exchange import hitnohit
from interdict.exchange.identifiers import normalise

BENCHMARK = "exchange_hitnohit"
BASELINE = "HMAC-SHA256 filter, key shared by all participants (Ma3tch-style)"
BASELINE_NOTE = ("faster because it has no online step, and for that reason open to offline "
                 "dictionary attacks by anyone holding the shared key")


def _log(message: str) -> None:
    print(f"[{BENCHMARK}] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------

def _imo(rng: random.Random) -> str:
    digits = f"{rng.randrange(1_000_000, 10_000_000) // 10:06d}"
    check = sum(int(d) * w for d, w in zip(digits, (7, 6, 5, 4, 3, 2), strict=True)) % 10
    return digits + str(check)


def _identifier(rng: random.Random) -> tuple[str, str, str, str | None]:
    """(kind, canonical value, the value as typed, country for normalising it)."""
    draw = rng.random()
    if draw < 0.6:
        # 06-1 to 06-6 and 06-8 are the mobile ranges phonenumbers knows as valid.
        number = rng.choice("1234568") + f"{rng.randrange(10**7):07d}"
        return "phone", f"+316{number}", f"06 {number[:4]} {number[4:]}", "NL"
    if draw < 0.8:
        bban = f"ABNA{rng.randrange(10**10):010d}"
        value = "NL" + stdnum_iban.calc_check_digits("NL00" + bban) + bban
        typed = " ".join(value[i:i + 4] for i in range(0, len(value), 4)).lower()
        return "iban", value, typed, None
    if draw < 0.9:
        value = _imo(rng)
        return "vessel_imo", value, f"IMO {value}", None
    plate = "".join(rng.choice("BDFGHJKLNPRSTVXZ0123456789") for _ in range(6))
    return "vehicle_plate", f"NL:{plate}", f"{plate[:2]}-{plate[2:4]}-{plate[4:]}", "NL"


def _data(holdings: int, queries: int) -> tuple[list[tuple[str, str, str]],
                                                list[tuple[str, str, str | None]],
                                                int]:
    """Holdings, typed queries, and how many of the queries are held."""
    rng = random.Random(20261129)
    held: list[tuple[str, str, str]] = []
    typed_by_value: dict[tuple[str, str], tuple[str, str | None]] = {}
    for n in range(holdings):
        kind, value, typed, country = _identifier(rng)
        held.append((kind, value, f"CASE-{n:07d}"))
        typed_by_value[(kind, value)] = (typed, country)
    keys = list(typed_by_value)
    asked: list[tuple[str, str, str | None]] = []
    for _ in range(queries):
        if rng.random() < 0.1:
            kind, value = keys[rng.randrange(len(keys))]
            typed, country = typed_by_value[(kind, value)]
        else:
            kind, value, typed, country = _identifier(rng)
        asked.append((kind, typed, country))
    expected = sum(1 for kind, typed, country in asked
                   if (kind, normalise(kind, typed, country=country)) in typed_by_value)
    return held, asked, expected


# -- baseline ---------------------------------------------------------------------------------

def _hmac_tag(key: bytes, kind: str, value: str) -> bytes:
    message = len(kind).to_bytes(4, "big") + kind.encode() + value.encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:16]


def _baseline(held: list[tuple[str, str, str]], items: list[tuple[str, str]]
              ) -> tuple[float, float, int]:
    """(filter build seconds, query seconds, hits) of the shared-key HMAC filter."""
    key = os.urandom(32)
    started = time.perf_counter()
    filter_: dict[bytes, list[str]] = {}
    for kind, value, reference in held:
        filter_.setdefault(_hmac_tag(key, kind, value), []).append(reference)
    build = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(1 for kind, value in items if _hmac_tag(key, kind, value) in filter_)
    return build, time.perf_counter() - started, found


# -- run --------------------------------------------------------------------------------------

def run(*, quick: bool) -> list[Figure]:
    holdings, queries = (100_000, 1_000) if quick else (1_000_000, 10_000)
    workers = max(1, machine()["cores"])
    _log(f"generating {holdings} holdings and {queries} queries")
    held, asked, expected = _data(holdings, queries)

    key = hitnohit.HolderKey.generate()
    _log(f"precomputing the holder's table ({workers} threads)")
    started = time.perf_counter()
    table = hitnohit.holder_table(key, held, workers=workers)
    precompute = time.perf_counter() - started
    _log(f"table of {len(table)} identifiers in {precompute:.1f} s")

    started = time.perf_counter()
    items = [(kind, normalise(kind, typed, country=country)) for kind, typed, country in asked]
    normalise_s = time.perf_counter() - started
    started = time.perf_counter()
    request, state = hitnohit.blind(items)
    blinded = time.perf_counter()
    answer = hitnohit.evaluate(key, request.points)
    evaluated = time.perf_counter()
    hits = hitnohit.finish(state, answer, table)
    finished = time.perf_counter()
    blind_s, evaluate_s, finish_s = blinded - started, evaluated - blinded, finished - evaluated
    query_s = finished - started
    found = len({h.index for h in hits})
    if found != expected:
        raise RuntimeError(f"{found} identifiers hit, {expected} expected")

    build_s, base_query_s, base_found = _baseline(held, items)
    if base_found != expected:
        raise RuntimeError(f"baseline found {base_found}, {expected} expected")
    _log(f"query {query_s:.2f} s (blind {blind_s:.2f}, evaluate {evaluate_s:.2f}, finish "
         f"{finish_s:.2f}); baseline {base_query_s:.3f} s; {found} of {queries} hit")

    params: dict[str, Any] = {
        "queries": queries, "holdings": holdings, "distinct_held": len(table),
        "hits": found, "expected_hits": expected, "threads": 1,
        "normalise_s": round(normalise_s, 3), "blind_s": round(blind_s, 3),
        "evaluate_s": round(evaluate_s, 3), "finish_s": round(finish_s, 3),
        "group": "edwards25519 prime-order subgroup (libsodium via PyNaCl)",
        "baseline_note": BASELINE_NOTE,
    }
    base = Baseline(BASELINE, round(base_query_s, 4))
    figures = [Figure(benchmark=BENCHMARK, figure="query_10k_vs_1m_s", value=round(query_s, 3),
                      unit="s", better="lower", baseline=base,
                      target=None if quick else 10.0, params=params)]
    for name, seconds in (("blind", blind_s), ("evaluate", evaluate_s), ("finish", finish_s)):
        figures.append(Figure(
            benchmark=BENCHMARK, figure=f"query_{name}_10k_s", value=round(seconds, 3),
            unit="s", better="lower",
            params={"queries": queries, "holdings": holdings,
                    "us_per_identifier": round(seconds / queries * 1e6, 1)}))
    figures.append(Figure(
        benchmark=BENCHMARK, figure="precompute_1m_s", value=round(precompute, 2), unit="s",
        better="lower", baseline=Baseline(BASELINE, round(build_s, 3)),
        params={"holdings": holdings, "distinct_held": len(table), "threads": workers,
                "us_per_holding": round(precompute / holdings * 1e6, 1),
                "baseline_note": BASELINE_NOTE}))
    return figures
