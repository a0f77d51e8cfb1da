"""Stock of the synthetic trade year: suppliers' deliveries and the stock counts.

Part of the trade-year generator (``generate.py``). A supplier's stock never goes negative by
construction: its deliveries (purchases from a producer, imports, production batches) are
planned from the cumulative outflow of each stock position and arrive days before the outflow
that needs them. Stock counts are computed last, from the recorded movements as the checks read
them.
"""

from __future__ import annotations

import numpy as np

from interdict.precursors.generate_flows import (
    BIG,
    CLOSE_MOD,
    KIND,
    OPEN_MOD,
    R_COUNT,
    R_DESTRUCTION,
    R_IMPORT,
    R_LOT_PURCHASE,
    R_LOT_SALE,
    R_PRODUCTION,
    SIGN,
    TRANSFER,
    Arr,
    Ctx,
    Rows,
    engine_kg,
    make_rows,
    nice,
    take,
)
from interdict.precursors.generate_world import Operator


def destructions(ctx: Ctx, outflows: Rows) -> Rows:
    """Now and then a supplier destroys a little off-specification stock."""
    rng = ctx.rng
    pick = np.flatnonzero(rng.random(len(outflows["pos"])) < 0.004)
    day = ctx.snap_forward(outflows["day"][pick] + rng.integers(3, 21, len(pick)))
    pick, day = pick[day <= 363], day[day <= 363]
    out = make_rows(len(pick), op=outflows["op"][pick], pos=outflows["pos"][pick],
                    kind=KIND["destruction"], day=day, mod=ctx.business_mod(len(pick)),
                    qty=np.maximum(outflows["qty"][pick] * rng.uniform(0.01, 0.05, len(pick)),
                                   0.01), role=R_DESTRUCTION)
    return out


def plan_lots(ctx: Ctx, out: Rows, positions: Arr, batch: tuple[float, float]) -> tuple[Arr, Arr,
                                                                                      Arr]:
    """Deliveries that keep each position's stock above zero: returns (position, day, kg).

    Sets the opening stock ``ctx.s0`` of the positions. A delivery is planned for the first
    outflow the stock before it cannot cover, and arrives one to five days earlier; each lot is
    ``batch`` times the mean outflow, and at least 1.5 times the largest, so one outflow never
    needs two lots."""
    rng = ctx.rng
    npos = len(ctx.pos_op)
    order = np.lexsort((out["day"] * 1440 + out["mod"], out["pos"]))
    p = out["pos"][order].astype(np.int64)
    day = out["day"][order]
    qg = np.round(out["qty"][order] * 1000).astype(np.int64)
    mean = np.bincount(p, qg, npos) / np.maximum(np.bincount(p, minlength=npos), 1)
    biggest = np.zeros(npos)
    np.maximum.at(biggest, p, qg)
    base_g = np.maximum(mean * rng.uniform(*batch, npos), 1.5 * biggest)
    base_g = np.where(base_g > 0, base_g, ctx.a_base * 1000 * 5)
    base_g = nice(base_g / 1000) * 1000
    safety = np.round(0.02 * base_g)
    early = np.bincount(p[day <= 2], qg[day <= 2], npos)
    s0 = np.maximum(np.round(nice(base_g * rng.uniform(0.3, 1.0, npos) / 1000) * 1000),
                    early + safety + 1000)
    sel = np.zeros(npos, bool)
    sel[positions] = True
    ctx.s0[sel] = s0[sel] / 1000
    cs = np.cumsum(qg)
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else np.zeros(0, int)
    lengths = np.diff(np.r_[starts, len(p)])
    cs_local = cs - np.repeat(cs[starts] - qg[starts], lengths)
    total = np.bincount(p, qg, npos)
    need = np.where(sel, total + safety - s0, 0)
    m = np.where(need > 0, np.ceil(need / (0.7 * base_g)) + 1, 0).astype(np.int64)
    lot_pos = np.repeat(np.arange(npos), m)
    r = np.round(nice(base_g[lot_pos] * rng.uniform(0.7, 1.3, len(lot_pos)) / 1000) * 1000)
    csr = np.cumsum(r)
    lstarts = np.cumsum(m) - m
    prev = csr - r - np.repeat(csr[lstarts[m > 0]] - r[lstarts[m > 0]], m[m > 0])
    avail = s0[lot_pos] + prev - safety[lot_pos]
    key_out = p * BIG + cs_local
    key_lot = lot_pos * BIG + np.clip(avail, 0, BIG - 1).astype(np.int64)
    kf = np.searchsorted(key_out, key_lot, side="right")
    valid = kf < len(p)
    valid[valid] = p[kf[valid]] == lot_pos[valid]
    return lot_pos[valid], day[kf[valid]], r[valid] / 1000


def lot_days(ctx: Ctx, lot_pos: Arr, need: Arr, qty: Arr) -> tuple[Arr, Arr, Arr]:
    """Arrival days one to five days before need, on weekdays where possible, at most one a
    day per position; a lot that cannot be placed joins the one before it."""
    back = ctx.rng.integers(1, 6, len(lot_pos))
    wd = ctx.weekday
    out_pos: list[int] = []
    out_day: list[int] = []
    out_qty: list[float] = []
    prev_p, prev_d = -1, -1
    for p, nd, b, q in zip(lot_pos.tolist(), need.tolist(), back.tolist(), qty.tolist(),
                           strict=True):
        d = max(nd - b, 1)
        if wd[d] >= 5 and d - (wd[d] - 4) >= 1:
            d -= wd[d] - 4
        if p == prev_p and d <= prev_d:
            d = prev_d + 1
            if d >= nd:
                out_qty[-1] += q
                continue
        out_pos.append(p)
        out_day.append(d)
        out_qty.append(q)
        prev_p, prev_d = p, d
    return (np.array(out_pos, np.int32), np.array(out_day, np.int32),
            np.array(out_qty, np.float64))


def replenish(ctx: Ctx, out: Rows, role: str) -> list[Rows]:
    """Deliveries to the distributors' (purchases from a domestic producer, or imports) or
    the producers' (production batches) positions."""
    positions = np.array([p for p in range(ctx.planned) if ctx.ops[ctx.pos_op[p]].role == role],
                         dtype=np.int64)
    if len(positions) == 0:
        return []
    mine = np.isin(out["pos"], positions)
    batch = (4.0, 10.0) if role == "distributor" else (5.0, 15.0)
    lp, need, lq = plan_lots(ctx, take(out, np.flatnonzero(mine)), positions, batch)
    lp, ld, lq = lot_days(ctx, lp, need, lq)
    lq = ctx.nice_for(lp, lq, up=True)
    n = len(lp)
    lop = ctx.a_op[lp]
    if role == "producer":
        prod = make_rows(n, op=lop, pos=lp, kind=KIND["production"], qty=lq, day=ld,
                         mod=ctx.business_mod(n), role=R_PRODUCTION)
        return [prod]
    # each distributor position buys from one domestic producer of the substance, or imports
    makers: dict[tuple[int, int], list[int]] = {}
    for p in range(ctx.planned):
        op = ctx.ops[ctx.pos_op[p]]
        if op.role == "producer":
            makers.setdefault((op.country, ctx.pos_sub[p]), []).append(p)
    source = np.full(len(ctx.pos_op), -1, np.int64)
    supplier = np.full(len(ctx.pos_op), -1, np.int64)
    supplier_cc = np.full(len(ctx.pos_op), -1, np.int64)
    for p in positions.tolist():
        cands = makers.get((ctx.ops[ctx.pos_op[p]].country, ctx.pos_sub[p]), [])
        if cands and ctx.rnd.random() < 0.7:
            source[p] = ctx.rnd.choice(cands)
        else:
            cc = ctx.rnd.choice(ctx.suppliers)
            supplier[p], supplier_cc[p] = ctx.name(ctx.namer.foreign(cc)), ctx.code(cc)
    own = ctx.op_code[lop]
    bought = source[lp] >= 0
    i = np.flatnonzero(~bought)
    imports = make_rows(len(i), op=lop[i], pos=lp[i], kind=KIND["import"], qty=lq[i],
                        day=ld[i], mod=ctx.business_mod(len(i)), cp_name=supplier[lp[i]],
                        cp_country=supplier_cc[lp[i]], dest=own[i], payment=TRANSFER,
                        end_use=ctx.a_phrase[lp[i]], role=R_IMPORT)
    b = np.flatnonzero(bought)
    src = source[lp[b]]
    sale_mod = ctx.business_mod(len(b), 15 * 60 + 59)
    edge = ctx.edges(len(b))
    common = dict(qty=lq[b], day=ld[b], cp_country=own[b], dest=own[b], payment=TRANSFER,
                  end_use=ctx.a_phrase[lp[b]], edge=edge)
    sales = make_rows(len(b), op=ctx.a_op[src], pos=src, kind=KIND["sale"], cp_op=lop[b],
                      mod=sale_mod, role=R_LOT_SALE, **common)
    purchases = make_rows(len(b), op=lop[b], pos=lp[b], kind=KIND["purchase"],
                          cp_op=ctx.a_op[src], mod=sale_mod + ctx.rng.integers(5, 121, len(b)),
                          role=R_LOT_PURCHASE, **common)
    return [imports, sales, purchases]


def count_rows(ctx: Ctx, flows: Rows) -> Rows:
    """Stock counts of every planned position: at the start of its operator's active period,
    at the start of each month or quarter, and at the end; each the opening stock plus the
    recorded inflows minus the outflows before it."""
    sched = [count_schedule(ctx, op) for op in ctx.ops]
    npl = ctx.planned
    per = np.array([len(sched[o][0]) for o in ctx.pos_op[:npl]], dtype=np.int64)
    cpos = np.repeat(np.arange(npl), per)
    cday = np.concatenate([np.array(sched[o][0], np.int32) for o in ctx.pos_op[:npl]])
    cmod = np.concatenate([np.array(sched[o][1], np.int32) for o in ctx.pos_op[:npl]])
    fac = ctx.a_factor
    inplan = flows["pos"] < npl
    fp = flows["pos"][inplan].astype(np.int64)
    ft = (flows["day"][inplan] * 1440 + flows["mod"][inplan]).astype(np.int64)
    signed = SIGN[flows["kind"][inplan]] * engine_kg(flows["qty"][inplan], fac[fp])
    order = np.lexsort((ft, fp))
    fp, ft, signed = fp[order], ft[order], signed[order]
    cs0 = np.concatenate([[0.0], np.cumsum(signed)])
    ckey = cpos * BIG + (cday.astype(np.int64) * 1440 + cmod)
    idx = np.searchsorted(fp * BIG + ft, ckey, side="left") - 1
    first_of = np.searchsorted(fp, np.arange(npl), side="left")[cpos]
    moved = np.where(idx >= first_of, cs0[idx + 1] - cs0[first_of], 0.0)
    balance = engine_kg(ctx.s0[:npl], fac[:npl])[cpos] + moved
    balance = np.where(np.abs(balance) < 1e-6, 0.0, balance)
    return make_rows(len(cpos), op=ctx.a_op[cpos], pos=cpos, kind=KIND["stock_count"],
                     qty=balance, day=cday, mod=cmod, role=R_COUNT)


def count_schedule(ctx: Ctx, op: Operator) -> tuple[list[int], list[int]]:
    """Days and minutes of an operator's stock counts."""
    days, mods = [op.first_day], [OPEN_MOD]
    for d, months in ctx.month_starts:
        if op.first_day < d <= op.last_day and (op.monthly or months % 3 == 0):
            days.append(d)
            mods.append(OPEN_MOD)
    days.append(op.last_day)
    mods.append(CLOSE_MOD)
    return days, mods
