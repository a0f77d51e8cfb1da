"""Hit/no-hit between agencies: 10,000 identifiers asked of a partner holding 1,000,000.

Data: generated here, not timed. Holdings are identifiers of four kinds (Dutch mobile numbers,
Dutch IBANs, IMO numbers with their check digit, Dutch plates), each with a case reference;
the query is 10,000 identifiers written as officers type them ("06 1234 5678", "nl91 abna
..."), a tenth of them drawn from the holdings, the rest new. ``--quick`` asks 1,000 of
100,000 and has no target.

Engine figures (``hitnohit`` alone in one process: no database, no network):

- ``query_10k_vs_1m_s``: ``hitnohit.blind`` + ``evaluate`` + ``finish`` over the 10,000
  normalised identifiers against the holder's table held in memory. Blind and finish run at
  the querier, evaluate at the holder; here they run one after the other on one thread, so
  the figure is the sum of both parties' work. Normalisation of the typed identifiers
  (``identifiers.normalise``) is measured separately into ``params``.
- ``query_blind_10k_s``, ``query_evaluate_10k_s``, ``query_finish_10k_s``: the three steps.
- ``precompute_1m_s``: ``hitnohit.holder_table`` over the 1,000,000 holdings (tags and sealed
  references; one scalar multiplication each), with as many threads as the process has
  cores, no target.

Baseline of the engine figures, measured in the same run on the same data: a keyed one-way
filter in the manner of Ma3tch, HMAC-SHA256 truncated to 16 bytes under a key shared by all
participants. It is faster because it has no online step, and for the same reason it gives
no protection against a dictionary: anyone with the shared key can hash every phone number
of a country offline and read every partner's filter.

Service figures (``exchange.holdings`` on the embedded default, a fresh SQLite database in a
temporary directory migrated to head, two agencies acting through ``auth.system_actor``):

- ``service_register_1m_sqlite_s``: ``holdings.register_holdings`` of the holder's CSV file
  (``kind,value,reference,country``, values as typed): read, normalise every row, make the
  holder key, tag and seal (``holder_table``, one thread as the service calls it), store the
  tags, audit; one transaction, commit included. The one-time cost of publishing holdings,
  no target. ``params.breakdown`` splits this same call (its callees are wrapped by timers,
  each called once).
- ``service_query_10k_vs_1m_sqlite_s``: one ``holdings.query`` of the querier's CSV file
  with a justification, end to end and commit included: read and normalise, blind, the
  holder's evaluation with its rate-limit check and logging, unblind, the SQL look-ups of
  the tags (``IN`` in chunks of 500), opening the hits and storing them. Target 10 s. The
  hits returned are checked against the generated truth (every held row found with every
  reference, nothing else); ``params`` has the counts and, from a second, instrumented
  query, where the time goes.

Baseline of the service figures, in the same database in the same run: the shared-key HMAC
filter done the same way, as a table of the same shape (``agency_id``, 16-byte tag, JSON
references; unique on agency and tag) filled from the same file after the same reading and
normalisation, and queried by the same chunked ``IN`` look-ups; no evaluation, no logging,
no rate limit, since a shared key needs none of them (and cannot enforce them). ``params``
also gives ``whole_table_fetch_s``, what the look-ups replace: reading the holder's whole
table into memory as the engine figure assumes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import LargeBinary, column, func, insert, select, table, text
from stdnum import iban as stdnum_iban

from benchmarks.figures import Baseline, Figure, machine
from interdict import all_models  # noqa: F401
from interdict.audit import service as audit_service
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.schemas import AgencyCreate, AgencyKind
from interdict.db import migrate
from interdict.db.engine import Database, make_database
from interdict.db.session import unit_of_work
from interdict.exchange import hitnohit, holdings, identifiers
from interdict.exchange.identifiers import normalise
from interdict.exchange.models import Evaluation, Holding
from interdict.tabular import read_rows

BENCHMARK = "exchange_hitnohit"
BASELINE = "HMAC-SHA256 filter, key shared by all participants (Ma3tch-style)"
BASELINE_NOTE = ("faster because it has no online step, and for that reason open to offline "
                 "dictionary attacks by anyone holding the shared key")
SERVICE_BASELINE = ("HMAC-SHA256 shared-key filter in the same SQLite database, same file "
                    "reading, normalisation and chunked IN look-ups; no evaluation, logging "
                    "or rate limit")
SECRET = "benchmark-platform-secret"
JUSTIFICATION = "benchmark: case file of 10,000 identifiers"
_CHUNK = 500  # as holdings._CHUNK: the look-ups are timed again outside the service


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


_Held = tuple[str, str, str]            # kind, canonical value, reference
_Typed = tuple[str, str, str | None]    # kind, value as typed, country


class Data:
    """The generated holdings and query, and the truth to check hits against."""

    def __init__(self, holdings: int, queries: int) -> None:
        rng = random.Random(20261129)
        self.held: list[_Held] = []
        self.held_typed: list[_Typed] = []
        references: dict[tuple[str, str], list[str]] = {}
        typed_by_value: dict[tuple[str, str], _Typed] = {}
        for n in range(holdings):
            kind, value, typed, country = _identifier(rng)
            reference = f"CASE-{n:07d}"
            self.held.append((kind, value, reference))
            self.held_typed.append((kind, typed, country))
            references.setdefault((kind, value), []).append(reference)
            typed_by_value[(kind, value)] = (kind, typed, country)
        keys = list(typed_by_value)
        self.asked: list[_Typed] = []
        for _ in range(queries):
            if rng.random() < 0.1:
                self.asked.append(typed_by_value[keys[rng.randrange(len(keys))]])
            else:
                kind, _value, typed, country = _identifier(rng)
                self.asked.append((kind, typed, country))
        #: Index of each held query item -> the references held for it.
        self.expected: dict[int, frozenset[str]] = {}
        for i, (kind, typed, country) in enumerate(self.asked):
            refs = references.get((kind, normalise(kind, typed, country=country)))
            if refs is not None:
                self.expected[i] = frozenset(refs)
        self.distinct_held = len(references)

    def holdings_csv(self) -> bytes:
        lines = ["kind,value,reference,country"]
        lines += [f"{kind},{typed},{reference},{country or ''}" for (kind, typed, country),
                  (_k, _v, reference) in zip(self.held_typed, self.held, strict=True)]
        return ("\n".join(lines) + "\n").encode()

    def query_csv(self) -> bytes:
        lines = ["kind,value,country"]
        lines += [f"{kind},{typed},{country or ''}" for kind, typed, country in self.asked]
        return ("\n".join(lines) + "\n").encode()


# -- baseline ---------------------------------------------------------------------------------

def _hmac_tag(key: bytes, kind: str, value: str) -> bytes:
    message = len(kind).to_bytes(4, "big") + kind.encode() + value.encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:16]


def _baseline(held: list[_Held], items: list[tuple[str, str]]) -> tuple[float, float, int]:
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


# -- engine -----------------------------------------------------------------------------------

def _engine(data: Data, *, quick: bool) -> list[Figure]:
    holdings_n, queries = len(data.held), len(data.asked)
    workers = max(1, machine()["cores"])
    key = hitnohit.HolderKey.generate()
    _log(f"engine: precomputing the holder's table ({workers} threads)")
    started = time.perf_counter()
    holder_table = hitnohit.holder_table(key, data.held, workers=workers)
    precompute = time.perf_counter() - started
    _log(f"engine: table of {len(holder_table)} identifiers in {precompute:.1f} s")

    started = time.perf_counter()
    items = [(kind, normalise(kind, typed, country=country))
             for kind, typed, country in data.asked]
    normalise_s = time.perf_counter() - started
    started = time.perf_counter()
    request, state = hitnohit.blind(items)
    blinded = time.perf_counter()
    answer = hitnohit.evaluate(key, request.points)
    evaluated = time.perf_counter()
    hits = hitnohit.finish(state, answer, holder_table)
    finished = time.perf_counter()
    blind_s, evaluate_s, finish_s = blinded - started, evaluated - blinded, finished - evaluated
    query_s = finished - started
    found = len({h.index for h in hits})
    expected = len(data.expected)
    if found != expected:
        raise RuntimeError(f"{found} identifiers hit, {expected} expected")

    build_s, base_query_s, base_found = _baseline(data.held, items)
    if base_found != expected:
        raise RuntimeError(f"baseline found {base_found}, {expected} expected")
    _log(f"engine: query {query_s:.2f} s (blind {blind_s:.2f}, evaluate {evaluate_s:.2f}, "
         f"finish {finish_s:.2f}); baseline {base_query_s:.3f} s; {found} of {queries} hit")

    params: dict[str, Any] = {
        "queries": queries, "holdings": holdings_n, "distinct_held": len(holder_table),
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
            params={"queries": queries, "holdings": holdings_n,
                    "us_per_identifier": round(seconds / queries * 1e6, 1)}))
    figures.append(Figure(
        benchmark=BENCHMARK, figure="precompute_1m_s", value=round(precompute, 2), unit="s",
        better="lower", baseline=Baseline(BASELINE, round(build_s, 3)),
        params={"holdings": holdings_n, "distinct_held": len(holder_table), "threads": workers,
                "us_per_holding": round(precompute / holdings_n * 1e6, 1),
                "baseline_note": BASELINE_NOTE}))
    return figures


# -- service ----------------------------------------------------------------------------------

#: The shared-key filter of the service baseline: the shape of ``exchange_holdings``.
_FILTER = table("bench_shared_key_filter", column("agency_id"),
                column("tag", LargeBinary), column("refs", LargeBinary))
_FILTER_DDL = ("CREATE TABLE bench_shared_key_filter (id INTEGER PRIMARY KEY, agency_id "
               "INTEGER NOT NULL, tag BLOB NOT NULL, refs BLOB NOT NULL, UNIQUE (agency_id, "
               "tag))")


def _read(data: bytes, filename: str, columns: tuple[str, ...]
          ) -> list[tuple[int, str, str, str]]:
    """(row, kind, canonical value, reference) read and normalised as the service does."""
    rows = read_rows(data, filename, columns=columns,
                     required=frozenset(c for c in columns if c != "country"))
    named = [dict(zip(columns, values, strict=True)) for _, values in rows]
    values, errors = identifiers.normalise_many(
        (n, r["kind"].strip(), r["value"], r.get("country", "").strip() or None)
        for (n, _), r in zip(rows, named, strict=True))
    if errors:
        raise RuntimeError(f"{filename}: {len(errors)} rows refused, e.g. {errors[0]}")
    reference = {n: r.get("reference", "").strip() for (n, _), r in zip(rows, named,
                                                                        strict=True)}
    return [(n, kind, value, reference[n]) for n, kind, value in values]


def _filter_register(db: Database, agency_id: int, key: bytes, data: bytes) -> float:
    started = time.perf_counter()
    with unit_of_work(db) as session:
        references: dict[bytes, list[str]] = {}
        for _n, kind, value, reference in _read(data, "holdings.csv",
                                                holdings.HOLDING_COLUMNS):
            references.setdefault(_hmac_tag(key, kind, value), []).append(reference)
        session.execute(_FILTER.delete().where(_FILTER.c.agency_id == agency_id))
        items = [{"agency_id": agency_id, "tag": t,
                  "refs": json.dumps(r, separators=(",", ":")).encode()}
                 for t, r in references.items()]
        for start in range(0, len(items), 5_000):
            session.execute(insert(_FILTER), items[start:start + 5_000])
    return time.perf_counter() - started


def _filter_query(db: Database, agency_id: int, key: bytes, data: bytes
                  ) -> tuple[float, dict[int, frozenset[str]]]:
    started = time.perf_counter()
    with unit_of_work(db, readonly=True) as session:
        rows = _read(data, "query.csv", holdings.QUERY_COLUMNS)
        tags = [_hmac_tag(key, kind, value) for _n, kind, value, _r in rows]
        found: dict[bytes, bytes] = {}
        for start in range(0, len(tags), _CHUNK):
            found.update((bytes(t), bytes(r)) for t, r in session.execute(
                select(_FILTER.c.tag, _FILTER.c.refs).where(
                    _FILTER.c.agency_id == agency_id,
                    _FILTER.c.tag.in_(tags[start:start + _CHUNK]))))
        hits = {n - 2: frozenset(json.loads(found[t])) for (n, *_), t in zip(rows, tags,
                                                                            strict=True)
                if t in found}
    return time.perf_counter() - started, hits


@contextlib.contextmanager
def _timed_calls(targets: list[tuple[str, Any, str]]) -> Iterator[dict[str, float]]:
    """Add up the time spent in each ``module.name`` while the block runs (label -> s)."""
    spent: dict[str, float] = defaultdict(float)

    def timer(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started
        return timed

    originals = [(module, name, getattr(module, name)) for _label, module, name in targets]
    try:
        for (label, module, name), (_m, _n, fn) in zip(targets, originals, strict=True):
            setattr(module, name, timer(label, fn))
        yield spent
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)


#: Where a service query spends its time: the functions ``holdings.query`` calls.
_PHASES = [
    ("read_file_s", holdings, "read_rows"),
    ("normalise_s", identifiers, "normalise_many"),
    ("blind_s", hitnohit, "blind"),
    ("rate_limit_check_s", holdings, "_evaluated_today"),
    ("holder_key_s", holdings, "_holder_key"),
    ("evaluate_s", hitnohit, "evaluate"),
    ("audit_s", audit_service, "record"),
    ("unblind_s", hitnohit, "unblind"),
    ("open_hits_s", hitnohit, "hits"),
]


#: The same for ``holdings.register_holdings``; the rest is storing the tags and committing.
_REGISTER_PHASES = [
    ("read_file_s", holdings, "read_rows"),
    ("normalise_s", identifiers, "normalise_many"),
    ("holder_table_s", hitnohit, "holder_table"),
    ("audit_s", audit_service, "record"),
]


def _hits_by_index(result: dict[str, Any]) -> dict[int, frozenset[str]]:
    refs: dict[int, set[str]] = defaultdict(set)
    for hit in result["hits"]:
        refs[hit["row"] - 2].add(hit["reference"])  # rows are file lines; line 1 is the header
    return {i: frozenset(r) for i, r in refs.items()}


def _check(label: str, got: dict[int, frozenset[str]], data: Data) -> None:
    if got != data.expected:
        missed = len(set(data.expected) - set(got))
        extra = len(set(got) - set(data.expected))
        wrong = sum(1 for i in set(got) & set(data.expected) if got[i] != data.expected[i])
        raise RuntimeError(f"{label}: {len(got)} rows hit, {len(data.expected)} expected "
                           f"({missed} missed, {extra} extra, {wrong} with other references)")


def _setup(db: Database) -> tuple[Actor, Actor]:
    with unit_of_work(db) as session:
        holder = auth.create_agency(session, data=AgencyCreate(
            code="BENCH-HOLDER", name="Benchmark holding agency", country="NL",
            kind=AgencyKind.police))
        querier = auth.create_agency(session, data=AgencyCreate(
            code="BENCH-QUERIER", name="Benchmark querying agency", country="BE",
            kind=AgencyKind.customs))
        return auth.system_actor(holder), auth.system_actor(querier)


def _service(data: Data, *, quick: bool) -> list[Figure]:
    holdings_n, queries = len(data.held), len(data.asked)
    holdings_csv, query_csv = data.holdings_csv(), data.query_csv()
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        db = make_database(f"sqlite:///{tmp}/exchange.sqlite3")
        try:
            migrate.upgrade(db)
            holder, querier = _setup(db)

            _log(f"service: registering {holdings_n} holdings ({len(holdings_csv):,} bytes)")
            started = time.perf_counter()
            with _timed_calls(_REGISTER_PHASES) as spent, unit_of_work(db) as session:
                receipt = holdings.register_holdings(session, actor=holder, secret=SECRET,
                                                     data=holdings_csv,
                                                     filename="holdings.csv")
            register_s = time.perf_counter() - started
            register_phases = {k: round(spent.get(k, 0.0), 2) for k, _m, _n in
                               _REGISTER_PHASES}
            register_phases["store_and_commit_s"] = round(register_s - sum(spent.values()), 2)
            db_bytes = sum(os.path.getsize(f"{tmp}/exchange.sqlite3{suffix}")
                           for suffix in ("", "-wal")
                           if os.path.exists(f"{tmp}/exchange.sqlite3{suffix}"))
            _log(f"service: registered {receipt['distinct']} tags in {register_s:.1f} s: "
                 f"{register_phases}")

            _log(f"service: querying {queries} identifiers")
            started = time.perf_counter()
            with unit_of_work(db) as session:
                result = holdings.query(session, actor=querier, secret=SECRET,
                                        data=query_csv, filename="query.csv",
                                        justification=JUSTIFICATION)
            query_s = time.perf_counter() - started
            _check("service query", _hits_by_index(result), data)
            _log(f"service: query {query_s:.2f} s, {len(result['hits'])} hits")

            # Where the time goes: the same query again with its callees timed, then the
            # SQL statements it runs timed on their own with the tags it looked up.
            transcript: list[dict[str, Any]] = []
            started = time.perf_counter()
            with _timed_calls(_PHASES) as phases, unit_of_work(db) as session:
                again = holdings.query(session, actor=querier, secret=SECRET, data=query_csv,
                                       filename="query.csv", justification=JUSTIFICATION,
                                       transcript=transcript)
            instrumented_s = time.perf_counter() - started
            _check("instrumented query", _hits_by_index(again), data)
            tags = transcript[0]["looked_up"]
            with unit_of_work(db, readonly=True) as session:
                started = time.perf_counter()
                for start in range(0, len(tags), _CHUNK):
                    session.execute(select(Holding.tag, Holding.sealed).where(
                        Holding.agency_id == holder.agency_id,
                        Holding.tag.in_(tags[start:start + _CHUNK]))).all()
                lookups_s = time.perf_counter() - started
                started = time.perf_counter()
                session.execute(select(Holding.agency_id).where(
                    Holding.agency_id != querier.agency_id).distinct()).all()
                holders_s = time.perf_counter() - started
                started = time.perf_counter()
                whole = {bytes(t): bytes(s) for t, s in session.execute(
                    select(Holding.tag, Holding.sealed).where(
                        Holding.agency_id == holder.agency_id))}
                whole_s = time.perf_counter() - started
                table_bytes = sum(len(t) + len(s) for t, s in whole.items())
                del whole
                evaluated = session.scalar(select(func.sum(Evaluation.points)))
            breakdown = {k: round(phases.get(k, 0.0), 3) for k, _m, _n in _PHASES}
            breakdown["sql_lookups_s"] = round(lookups_s, 3)
            breakdown["sql_holders_distinct_s"] = round(holders_s, 3)
            breakdown["rest_s"] = round(instrumented_s - sum(phases.values()) - lookups_s
                                        - holders_s, 3)
            _log(f"service: instrumented query {instrumented_s:.2f} s: {breakdown}")

            _log("service baseline: shared-key HMAC filter in the same database")
            with unit_of_work(db) as session:
                session.execute(text(_FILTER_DDL))
            shared_key = os.urandom(32)
            base_register_s = _filter_register(db, holder.agency_id, shared_key, holdings_csv)
            base_query_s, base_hits = _filter_query(db, holder.agency_id, shared_key,
                                                    query_csv)
            _check("service baseline", base_hits, data)
            _log(f"service baseline: register {base_register_s:.1f} s, query "
                 f"{base_query_s:.2f} s")
        finally:
            db.dispose()

    hit_rows = len(_hits_by_index(result))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    common = {"database": "sqlite (temporary file, WAL)", "holdings": holdings_n,
              "distinct_held": receipt["distinct"], "queries": queries}
    return [
        Figure(benchmark=BENCHMARK, figure="service_query_10k_vs_1m_sqlite_s",
               value=round(query_s, 3), unit="s", better="lower",
               baseline=Baseline(SERVICE_BASELINE, round(base_query_s, 3)),
               target=None if quick else 10.0,
               params={**common, "call": "holdings.query in one unit_of_work, commit included",
                       "hits": len(result["hits"]), "rows_hit": hit_rows,
                       "rows_hit_expected": len(data.expected),
                       "check": "every held row found with all its references, no other",
                       "instrumented_query_s": round(instrumented_s, 3),
                       "breakdown": breakdown,
                       "whole_table_fetch_s": round(whole_s, 3),
                       "whole_table_bytes": table_bytes,
                       "points_evaluated_today": int(evaluated or 0),
                       "daily_limit": holdings.DAILY_EVALUATIONS,
                       "peak_rss_mb": peak_mb}),
        Figure(benchmark=BENCHMARK, figure="service_register_1m_sqlite_s",
               value=round(register_s, 2), unit="s", better="lower",
               baseline=Baseline(SERVICE_BASELINE, round(base_register_s, 2)),
               params={**common, "call": "holdings.register_holdings in one unit_of_work, "
                                         "commit included",
                       "breakdown": register_phases,
                       "csv_bytes": len(holdings_csv), "database_bytes": db_bytes,
                       "us_per_holding": round(register_s / holdings_n * 1e6, 1),
                       "threads": 1, "peak_rss_mb": peak_mb}),
    ]


# -- run --------------------------------------------------------------------------------------

def run(*, quick: bool) -> list[Figure]:
    holdings_n, queries = (100_000, 1_000) if quick else (1_000_000, 10_000)
    _log(f"generating {holdings_n} holdings and {queries} queries")
    data = Data(holdings_n, queries)
    figures = _engine(data, quick=quick)
    figures += _service(data, quick=quick)
    return figures
