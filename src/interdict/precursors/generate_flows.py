"""Orders of the synthetic trade year: stock positions, customers, sales, purchases and use.

Part of the trade-year generator (``generate.py``). Rows are kept as columns of numpy arrays
(``Rows``) until they are written out; times are (day of the year, minute of the local day).
A user consumes only what an earlier delivery brought, so its stock never goes negative; the
suppliers' side of the stock is ``generate_stock``'s.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from interdict.precursors.frames import INFLOWS, KINDS, OUTFLOWS
from interdict.precursors.generate_world import (
    END_USES,
    EU_COUNTRIES,
    FOREIGN,
    SUPPLIER_COUNTRIES,
    TRANSIT,
    Namer,
    Operator,
    Reference,
)

Arr = npt.NDArray[Any]
Rows = dict[str, Arr]

KIND = {k: i for i, k in enumerate(KINDS)}
HIDDEN = len(KINDS)          # an unrecorded loss behind a stock discrepancy; never written out
SIGN = np.array([1.0 if k in INFLOWS else -1.0 if k in OUTFLOWS else 0.0 for k in KINDS]
                + [-1.0])
PAYMENTS = ("", "transfer", "cash", "crypto", "other")
TRANSFER, CASH, CRYPTO = 1, 2, 3
# What a row is in the plan (anomalies pick rows by role).
(R_SALE, R_PURCHASE, R_CHILD, R_LOT_SALE, R_LOT_PURCHASE, R_SMALL, R_EXPORT, R_IMPORT,
 R_PRODUCTION, R_DESTRUCTION, R_COUNT, R_HIDDEN, R_EXTRA) = range(1, 14)

COLUMNS: dict[str, Any] = {
    "uid": np.int64, "op": np.int32, "pos": np.int32, "kind": np.int8, "qty": np.float64,
    "day": np.int32, "mod": np.int32, "delay": np.int32, "cp_op": np.int32,
    "cp_name": np.int32, "cp_country": np.int32, "dest": np.int32, "transit": np.int32,
    "payment": np.int8, "end_use": np.int32, "edge": np.int64, "role": np.int8,
}
DEFAULTS = {"uid": -1, "cp_op": -1, "cp_name": -1, "cp_country": -1, "dest": -1,
            "transit": -1, "end_use": -1, "edge": -1}
OPEN_MOD, CLOSE_MOD = 6 * 60, 20 * 60     # stock counts: 06:00 and 20:00 local
BIG = 1 << 40                              # position key stride (grams)


def make_rows(n: int, **cols: Any) -> Rows:
    out: Rows = {}
    for name, dtype in COLUMNS.items():
        value = cols.pop(name, DEFAULTS.get(name, 0))
        arr = np.empty(n, dtype)
        arr[...] = value
        out[name] = arr
    if cols:
        raise TypeError(f"unknown columns {sorted(cols)}")
    return out


def concat(parts: list[Rows]) -> Rows:
    if not parts:
        return make_rows(0)
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def take(rows: Rows, idx: Arr) -> Rows:
    return {c: a[idx] for c, a in rows.items()}


def nice(q: Arr, up: bool = False) -> Arr:
    """Round quantities the way people order them (``up``: never below ``q``)."""
    step = np.select([q >= 1000, q >= 100, q >= 10, q >= 1], [10.0, 1.0, 0.1, 0.01], 0.001)
    rounded = np.ceil(q / step - 1e-9) if up else np.round(q / step)
    return np.asarray(np.maximum(rounded * step, step), dtype=np.float64)


def written(qty: Arr, factor: Arr) -> Arr:
    """The quantity as written in the row's unit: 3 decimals, 6 for tonnes."""
    value = qty / factor
    return np.asarray(np.where(factor >= 1000, np.round(value, 6), np.round(value, 3)),
                      dtype=np.float64)


def engine_kg(qty: Arr, factor: Arr) -> Arr:
    """Kilograms as a reader of the written quantity gets them."""
    return np.asarray(written(qty, factor) * factor, dtype=np.float64)


@dataclass
class Ctx:
    rng: np.random.Generator
    rnd: random.Random
    ref: Reference
    ops: list[Operator]
    start: dt.date
    namer: Namer
    codes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    transits: list[str] = field(default_factory=list)
    # stock positions (operator, substance); the site and unit follow from them
    pos_op: list[int] = field(default_factory=list)
    pos_sub: list[int] = field(default_factory=list)
    pos_site: list[str] = field(default_factory=list)
    pos_unit: list[str] = field(default_factory=list)
    pos_factor: list[float] = field(default_factory=list)
    pos_ident: list[str] = field(default_factory=list)
    pos_base: list[float] = field(default_factory=list)
    pos_phrase: list[int] = field(default_factory=list)
    pos_of: dict[tuple[int, int], int] = field(default_factory=dict)
    planned: int = 0               # positions below this index are counted
    s0: Arr = field(default_factory=lambda: np.zeros(0))
    n_edges: int = 0
    n_uids: int = 0

    def __post_init__(self) -> None:
        for cc, *_ in EU_COUNTRIES:
            self.code(cc)
        self.weekday = (self.start.weekday() + np.arange(420)) % 7
        self.month_starts: list[tuple[int, int]] = []
        for d in range(1, 366):
            date = self.start + dt.timedelta(days=d)
            if date.day == 1:
                months = (date.year - self.start.year) * 12 + date.month - self.start.month
                self.month_starts.append((d, months))
        self.op_code = np.array([self.code(EU_COUNTRIES[o.country][0]) for o in self.ops],
                                dtype=np.int32)
        self.phrase_ids: dict[str, list[int]] = {}
        for sector, words in END_USES.items():
            self.phrase_ids[sector] = [len(self.phrases) + i for i in range(len(words))]
            self.phrases.extend(words)
        bad = set(self.ref.settings.suspicious.high_risk_countries)
        bad |= set(self.ref.settings.exports.category3_destinations)
        bad |= set(self.ref.settings.exports.notification_destinations)
        eu = {c for c, *_ in EU_COUNTRIES}
        self.destinations = [c for c, _ in FOREIGN if c not in bad and c not in eu]
        self.suppliers = [c for c in SUPPLIER_COUNTRIES if c not in bad] or self.destinations
        self.clean_transit = [c for c in TRANSIT if c not in bad]

    def code(self, cc: str) -> int:
        if cc not in self.codes:
            self.codes.append(cc)
        return self.codes.index(cc)

    def name(self, text: str) -> int:
        self.names.append(text)
        return len(self.names) - 1

    def transit(self, text: str) -> int:
        if text not in self.transits:
            self.transits.append(text)
        return self.transits.index(text)

    def phrase(self, sector: str) -> int:
        ids = self.phrase_ids.get(sector) or self.phrase_ids["chemical_distribution"]
        return self.rnd.choice(ids)

    def edges(self, n: int) -> Arr:
        out = np.arange(self.n_edges, self.n_edges + n, dtype=np.int64)
        self.n_edges += n
        return out

    def uids(self, n: int) -> Arr:
        out = np.arange(self.n_uids, self.n_uids + n, dtype=np.int64)
        self.n_uids += n
        return out

    def add_position(self, op: int, sub: int, site: str, base: float) -> int:
        s = self.ref.substances[sub]
        rnd = self.rnd
        if base < 2:
            unit = "mL" if s.density and rnd.random() < 0.4 else "g"
        elif s.density and rnd.random() < 0.5:
            unit = "L"
        elif (base >= 2000 and not s.density and self.ops[op].role != "distributor"
              and rnd.random() < 0.5):
            unit = "t"
        else:
            unit = "kg"
        factor = {"g": 0.001, "t": 1000.0, "kg": 1.0, "L": s.density or 1.0,
                  "mL": (s.density or 1.0) / 1000}[unit]
        roll = rnd.random()
        ident = s.cas if roll < 0.25 else s.synonym if roll < 0.4 and s.synonym else s.name
        self.pos_of[(op, sub)] = len(self.pos_op)
        self.pos_op.append(op)
        self.pos_sub.append(sub)
        self.pos_site.append(site)
        self.pos_unit.append(unit)
        self.pos_factor.append(factor)
        self.pos_ident.append(ident)
        self.pos_base.append(base)
        self.pos_phrase.append(self.phrase(self.ops[op].sector))
        return len(self.pos_op) - 1

    def arrays(self) -> None:
        """Freeze the position lists into arrays for the vectorised steps."""
        self.a_op = np.array(self.pos_op, dtype=np.int32)
        self.a_sub = np.array(self.pos_sub, dtype=np.int32)
        self.a_factor = np.array(self.pos_factor)
        self.a_base = np.array(self.pos_base)
        self.a_phrase = np.array(self.pos_phrase, dtype=np.int32)
        self.a_density = np.array([self.ref.substances[s].density or 0.0 for s in self.pos_sub])
        self.op_first = np.array([o.first_day for o in self.ops], dtype=np.int32)
        self.op_last = np.array([o.last_day for o in self.ops], dtype=np.int32)
        if len(self.s0) < len(self.pos_op):
            self.s0 = np.concatenate([self.s0, np.zeros(len(self.pos_op) - len(self.s0))])

    def nice_for(self, pos: Arr, q: Arr, up: bool = False) -> Arr:
        """Nice quantities; liquids in round volumes."""
        d = self.a_density[pos]
        liquid = d > 0
        out = nice(q, up)
        out[liquid] = nice(q[liquid] / d[liquid], up) * d[liquid]
        return out

    def business_mod(self, n: int, last: int = 18 * 60 + 59) -> Arr:
        return np.asarray(7 * 60 + self.rng.integers(0, last - 7 * 60 + 1, n), dtype=np.int32)

    def snap_forward(self, day: Arr) -> Arr:
        wd = self.weekday[np.clip(day, 0, len(self.weekday) - 1)]
        return np.asarray(day + np.where(wd == 5, 2, np.where(wd == 6, 1, 0)), dtype=np.int32)


def build_positions(ctx: Ctx) -> None:
    """One stock position per active operator and substance, with a typical order size."""
    plan = [(op, k, sub) for op in ctx.ops if not op.dormant
            for k, sub in enumerate(op.substances)]
    subs = ctx.ref.substances
    low = np.log([subs[sub].low for _, _, sub in plan])
    high = np.log([subs[sub].high for _, _, sub in plan])
    scale = np.array([0.05 if op.sector == "laboratory" else 1.0 if op.role == "user" else 5.0
                      for op, _, _ in plan])
    typical = nice(np.exp(ctx.rng.uniform(low, high)) * scale).tolist()
    for (op, k, sub), base in zip(plan, typical, strict=True):
        ctx.add_position(op.idx, sub, op.sites[k % len(op.sites)], base)
    ctx.planned = len(ctx.pos_op)
    ctx.arrays()


def schedule(ctx: Ctx, counts: Arr, first: Arr, last: Arr, min_gap: int = 5) -> tuple[Arr, Arr]:
    """Regular order days for each entity: ``counts[i]`` orders between first and last day,
    at least ``min_gap`` days apart on average, on weekdays, at most one a day."""
    span = np.maximum(last - first + 1, 0)
    n = np.minimum(counts, span // min_gap)
    ent = np.repeat(np.arange(len(n)), n)
    startidx = np.cumsum(n) - n
    k = np.arange(len(ent)) - startidx[ent]
    period = span[ent] / np.maximum(n[ent], 1)
    day = first[ent] + np.floor((k + ctx.rng.uniform(0.3, 0.7, len(ent))) * period).astype(int)
    wd = ctx.weekday[day]
    lo, hi = first[ent], last[ent]
    day = np.where(wd == 5, np.where(day - 1 >= lo, day - 1, day + 2), day)
    day = np.where(wd == 6, np.where(day + 1 <= hi, day + 1, day - 2), day)
    day = np.clip(day, lo, hi)
    keep = np.ones(len(day), bool)
    keep[1:] = (ent[1:] != ent[:-1]) | (day[1:] != day[:-1])
    return ent[keep], np.asarray(day[keep], dtype=np.int32)


def _gap(orders: int, entities: int) -> int:
    """Days between one customer's orders of a substance: five or more, fewer only when the
    year asks for many orders per customer."""
    mean = orders / max(entities, 1)
    return int(np.clip(365 // max(2.5 * mean, 1), 1, 5))


def supplier_table(ctx: Ctx) -> tuple[Arr, Arr]:
    """Primary and secondary supplier position of each position of a user (-1: none)."""
    by_key: dict[tuple[int, int, str], list[int]] = {}
    for p in range(ctx.planned):
        op = ctx.ops[ctx.pos_op[p]]
        if op.role != "user":
            by_key.setdefault((op.country, ctx.pos_sub[p], op.role), []).append(p)
    n = len(ctx.pos_op)
    sup1, sup2 = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
    for p in range(ctx.planned):
        op = ctx.ops[ctx.pos_op[p]]
        if op.role != "user":
            continue
        dists = by_key.get((op.country, ctx.pos_sub[p], "distributor"), [])
        prods = by_key.get((op.country, ctx.pos_sub[p], "producer"), [])
        cands = dists + prods
        if not cands:
            continue
        first = ctx.rnd.choice(prods) if prods and (not dists or ctx.rnd.random() < 0.4) \
            else ctx.rnd.choice(dists)
        sup1[p] = first
        others = [c for c in cands if c != first]
        if others and ctx.rnd.random() < 0.25:
            sup2[p] = ctx.rnd.choice(others)
    return sup1, sup2


def user_orders(ctx: Ctx, n_orders: int) -> list[Rows]:
    """Orders of users from their suppliers: the sale, the buyer's purchase, and the buyer's
    consumption (and now and then a small loss) of each delivery."""
    rng = ctx.rng
    sup1, sup2 = supplier_table(ctx)
    up = np.flatnonzero(sup1 >= 0)
    if len(up) == 0 or n_orders <= 0:
        return []
    uop = ctx.a_op[up]
    first, last = ctx.op_first[uop] + 1, ctx.op_last[uop] - 1
    w = rng.lognormal(0, 0.6, len(up)) * (last - first + 1) / 365
    counts = rng.multinomial(n_orders, w / w.sum())
    ent, day = schedule(ctx, counts, first, last, _gap(n_orders, len(up)))
    n = len(ent)
    upos = up[ent]
    q = ctx.nice_for(upos, ctx.a_base[upos] * rng.uniform(0.7, 1.3, n))
    alt = (sup2[upos] >= 0) & (rng.random(n) < 0.2)
    seller = np.where(alt, sup2[upos], sup1[upos])
    buyer_op, seller_op = ctx.a_op[upos], ctx.a_op[seller]
    country = ctx.op_code[buyer_op]
    sale_mod = ctx.business_mod(n, 15 * 60 + 59)
    edge = ctx.edges(n)
    common = dict(kind=0, qty=q, day=day, cp_country=country, dest=country, payment=TRANSFER,
                  end_use=ctx.a_phrase[upos], edge=edge)
    sales = make_rows(n, op=seller_op, pos=seller, cp_op=buyer_op, mod=sale_mod, role=R_SALE,
                      **common)
    sales["kind"][:] = KIND["sale"]
    purchases = make_rows(n, op=buyer_op, pos=upos, cp_op=seller_op, role=R_PURCHASE,
                          mod=sale_mod + rng.integers(5, 121, n), **common)
    purchases["kind"][:] = KIND["purchase"]
    # use of each delivery, spread over the time to the next order
    period = (last - first + 1)[ent] / np.maximum(counts[ent], 1)
    c = rng.choice(np.array([1, 2, 3, 4]), p=[0.2, 0.35, 0.3, 0.15], size=n)
    parent = np.repeat(np.arange(n), c)
    wts = rng.random(len(parent)) + 0.2
    share = wts / np.bincount(parent, wts)[parent] * rng.uniform(0.85, 0.97, n)[parent]
    cq = q[parent] * share
    lossy = np.flatnonzero(rng.random(n) < 0.04)
    parent = np.concatenate([parent, lossy])
    cq = np.concatenate([cq, q[lossy] * rng.uniform(0.002, 0.01, len(lossy))])
    ckind = np.concatenate([np.full(len(cq) - len(lossy), KIND["consumption"]),
                            np.full(len(lossy), KIND["loss"])])
    gap = np.maximum(period[parent], 2)
    cday = ctx.snap_forward(day[parent] + 1 + np.floor(rng.random(len(parent)) * gap)
                            .astype(np.int32))
    ok = cday <= np.minimum(ctx.op_last[buyer_op[parent]], 364)
    parent, cq, ckind, cday = parent[ok], cq[ok], ckind[ok], cday[ok]
    children = make_rows(len(parent), op=buyer_op[parent], pos=upos[parent], kind=ckind, qty=cq,
                         day=cday, mod=ctx.business_mod(len(parent)),
                         end_use=ctx.a_phrase[upos[parent]], edge=edge[parent], role=R_CHILD)
    return [sales, purchases, children]


def _relations(ctx: Ctx, positions: list[int], kind: str) -> tuple[Arr, Arr, Arr, Arr, Arr]:
    """Customer relations of supplier positions: (position, customer name, country, base
    quantity, end use). Small domestic businesses for ``small``, foreign importers for
    ``export``; a customer orders about the same quantity of a substance from anyone."""
    rnd = ctx.rnd
    pools: dict[tuple[int, str], list[int]] = {}
    base: dict[tuple[int, int], float] = {}
    rel: list[tuple[int, int, int, float, int]] = []
    for p in positions:
        op = ctx.ops[ctx.pos_op[p]]
        s = ctx.ref.substances[ctx.pos_sub[p]]
        sectors = s.users or ("chemical_distribution",)
        if kind == "small":
            wanted = [(ctx.op_code[op.idx], rnd.choice(sectors)) for _ in range(rnd.randint(1, 4))]
        else:
            dests = rnd.sample(ctx.destinations, min(len(ctx.destinations), rnd.randint(1, 3)))
            wanted = [(ctx.code(d), "") for d in dests]
        for country, sector in wanted:
            pool = pools.setdefault((country, sector), [])
            if pool and rnd.random() < 0.5:
                cust = rnd.choice(pool)
            else:
                cc = ctx.codes[country]
                if kind == "small":
                    text = ctx.namer.small_business(sector, EU_COUNTRIES[op.country][2])
                else:
                    text = ctx.namer.foreign(cc)
                cust = ctx.name(text)
                pool.append(cust)
            key = (cust, ctx.pos_sub[p])
            if key not in base:
                scale = rnd.uniform(0.05, 0.4) if kind == "small" else rnd.uniform(1, 6)
                base[key] = float(np.exp(rnd.uniform(np.log(s.low), np.log(s.high)))) * scale
            phrase = ctx.phrase(sector or rnd.choice(sectors))
            rel.append((p, cust, country, base[key], phrase))
    if not rel:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0), z
    cols = list(zip(*rel, strict=True))
    return (np.array(cols[0]), np.array(cols[1]), np.array(cols[2]), np.array(cols[3]),
            np.array(cols[4]))


def customer_orders(ctx: Ctx, n_orders: int, kind: str) -> list[Rows]:
    """Sales to small unregistered businesses (category 3 and watch-list substances only), or
    exports to importers abroad."""
    if kind == "small":
        positions = [p for p in range(ctx.planned) if ctx.ops[ctx.pos_op[p]].role ==
                     "distributor" and ctx.ref.substances[ctx.pos_sub[p]].category in
                     ("3", "watch")]
    else:
        positions = [p for p in range(ctx.planned) if ctx.ops[ctx.pos_op[p]].exporter]
    pos, cust, country, base, phrase = _relations(ctx, positions, kind)
    if len(pos) == 0 or n_orders <= 0:
        return []
    rng = ctx.rng
    counts = rng.multinomial(n_orders, (w := rng.lognormal(0, 0.6, len(pos))) / w.sum())
    ent, day = schedule(ctx, counts, np.ones(len(pos), np.int32), np.full(len(pos), 363),
                        _gap(n_orders, len(pos)))
    n = len(ent)
    p = pos[ent]
    q = ctx.nice_for(p, base[ent] * rng.uniform(0.7, 1.3, n))
    out = make_rows(n, op=ctx.a_op[p], pos=p, qty=q, day=day, mod=ctx.business_mod(n, 16 * 60),
                    cp_name=cust[ent], cp_country=country[ent], dest=country[ent],
                    payment=TRANSFER, end_use=phrase[ent])
    if kind == "small":
        out["kind"][:], out["role"][:] = KIND["sale"], R_SMALL
    else:
        out["kind"][:], out["role"][:] = KIND["export"], R_EXPORT
        via = np.flatnonzero(rng.random(n) < 0.2)
        for i in via.tolist():
            here = {ctx.codes[int(out["dest"][i])], ctx.codes[int(ctx.op_code[out["op"][i]])]}
            choices = [c for c in ctx.clean_transit if c not in here]
            if choices:
                out["transit"][i] = ctx.transit(ctx.rnd.choice(choices))
    return [out]
