"""Anomalies injected into a synthetic trade year, with the ground truth of each.

Part of the trade-year generator (``generate.py``). Each injection changes only what its kind
needs and keeps every other record consistent: a buyer whose purchase is left out also loses the
use of that delivery (its own stock stays balanced), a far larger order is backed by an extra
batch or import at the seller, and a diversion lowers every later count of the position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from interdict.precursors.generate_flows import (
    CASH,
    CRYPTO,
    HIDDEN,
    KIND,
    R_CHILD,
    R_EXPORT,
    R_EXTRA,
    R_HIDDEN,
    R_IMPORT,
    R_PRODUCTION,
    R_PURCHASE,
    R_SALE,
    R_SMALL,
    SIGN,
    Arr,
    Ctx,
    Rows,
    concat,
    engine_kg,
    make_rows,
    nice,
    take,
)
from interdict.precursors.generate_stock import count_rows
from interdict.precursors.generate_world import EU_COUNTRIES, iso_local

FIRST_DAY, LAST_DAY = 10, 330     # injected rows stay clear of the year's edges


@dataclass
class Truth:
    kind: str
    op: int
    uids: list[int]


class Injector:
    def __init__(self, ctx: Ctx, flows: Rows) -> None:
        self.ctx = ctx
        self.f = flows
        self.n = len(flows["uid"])
        subs = ctx.ref.substances
        self.cat = np.array([subs[s].category for s in ctx.pos_sub], dtype="U5")[flows["pos"]]
        self.used_edges: set[int] = set()
        self.used_rows: set[int] = set()
        self.drop = np.zeros(self.n, bool)
        self.extra: list[Rows] = []
        self.truth: list[Truth] = []
        self.auths: list[dict[str, str]] = []
        purchase = np.flatnonzero(flows["role"] == R_PURCHASE)
        self.purchase_of = np.full(max(ctx.n_edges, 1), -1, np.int64)
        self.purchase_of[flows["edge"][purchase]] = purchase
        self.time = flows["day"].astype(np.int64) * 1440 + flows["mod"]
        self.edge_list: list[int] = flows["edge"].tolist()
        # (seller, buyer, substance) of sales: one transfer anomaly per trading relation, so
        # that no check pairs rows of two different anomalies
        sub = np.array(ctx.pos_sub, dtype=np.int64)[flows["pos"]]
        self.relation = (flows["op"].astype(np.int64) * 100_000 + flows["cp_op"]) * 1000 + sub
        self.is_sale: list[bool] = (flows["role"] == R_SALE).tolist()
        self.used_relations: set[int] = set()
        self.firsts: list[int] | None = None

    def candidates(self, mask: Arr, limit: int = 1 << 30) -> list[int]:
        """Up to ``limit`` rows of ``mask`` in the middle of the year, not yet used, in a seeded
        random order."""
        f = self.f
        mask = mask & (f["day"] >= FIRST_DAY) & (f["day"] <= LAST_DAY)
        idx = np.flatnonzero(mask)
        out: list[int] = []
        for i in idx[self.ctx.rng.permutation(len(idx))].tolist():
            if i not in self.used_rows and self.edge_list[i] not in self.used_edges and not (
                    self.is_sale[i] and int(self.relation[i]) in self.used_relations):
                out.append(i)
                if len(out) == limit:
                    break
        return out

    def rows_mask(self, rows: Arr | list[int]) -> Arr:
        mask = np.zeros(self.n, bool)
        mask[rows] = True
        return mask

    def claim(self, i: int) -> None:
        self.used_rows.add(i)
        if self.edge_list[i] >= 0:
            self.used_edges.add(self.edge_list[i])
        if self.is_sale[i]:
            self.used_relations.add(int(self.relation[i]))

    def uid(self, i: int) -> int:
        return int(self.f["uid"][i])

    def record(self, kind: str, op: int, uids: list[int]) -> None:
        self.truth.append(Truth(kind, op, uids))

    def drop_delivery(self, sale: int) -> None:
        """Leave out the buyer's purchase of a sale and the buyer's use of that delivery."""
        edge = int(self.f["edge"][sale])
        self.drop |= (self.f["edge"] == edge) & np.isin(self.f["role"], [R_PURCHASE, R_CHILD])

    def add(self, rows: Rows) -> int:
        """Append rows; returns the uid of the first."""
        rows["uid"] = self.ctx.uids(len(rows["uid"]))
        rows["delay"] = self.ctx.rng.integers(3, 240, len(rows["uid"]))
        self.extra.append(rows)
        return int(rows["uid"][0])

    def buyer_purchase(self, sale: int, buyer: int, sector_phrase: int) -> int:
        """A purchase by ``buyer`` matching ``sale``; its position is created if new."""
        ctx, f = self.ctx, self.f
        sub = ctx.pos_sub[int(f["pos"][sale])]
        pos = ctx.pos_of.get((buyer, sub))
        if pos is None:
            pos = ctx.add_position(buyer, sub, ctx.ops[buyer].sites[0], float(f["qty"][sale]))
            ctx.arrays()
        return self.add(make_rows(
            1, op=buyer, pos=pos, kind=KIND["purchase"], qty=f["qty"][sale], day=f["day"][sale],
            mod=int(f["mod"][sale]) + 40, cp_op=f["op"][sale], cp_country=f["cp_country"][sale],
            dest=f["dest"][sale], payment=f["payment"][sale], end_use=sector_phrase,
            role=R_PURCHASE))

    # ---- the kinds -------------------------------------------------------------------------

    def unmatched_transfer(self, k: int) -> None:
        for i in self.candidates(self.f["role"] == R_SALE, k):
            self.claim(i)
            self.drop_delivery(i)
            self.record("unmatched_transfer", int(self.f["op"][i]), [self.uid(i)])

    def quantity_mismatch(self, k: int) -> None:
        """The buyer records 25-45 % more than the seller sold: well beyond the matching
        tolerance (hence only sales of some size)."""
        f = self.f
        smallest = max(10.0, 8 * self.ctx.ref.settings.matching.quantity_tolerance_kg)
        for i in self.candidates((f["role"] == R_SALE) & (f["qty"] >= smallest), k):
            self.claim(i)
            p = int(self.purchase_of[f["edge"][i]])
            factor = self.ctx.rng.uniform(1.25, 1.45)
            f["qty"][p] = self.ctx.nice_for(f["pos"][p:p + 1], f["qty"][p:p + 1] * factor)[0]
            self.record("quantity_mismatch", int(f["op"][i]), [self.uid(i), self.uid(p)])

    def unlicensed_counterparty(self, k: int) -> None:
        ctx, f = self.ctx, self.f
        licensed = ctx.ref.settings.counterparty_licence_categories
        cands = self.candidates((f["role"] == R_SALE) & np.isin(self.cat, [c for c in licensed
                                                                           if c in ("1", "2A")]),
                                k)
        done = 0
        for i in cands:
            if done == k:
                break
            variant = ("name", "lacking", "expired")[done % 3]
            seller = ctx.ops[int(f["op"][i])]
            day, cat = int(f["day"][i]), str(self.cat[i])
            others = [o for o in ctx.ops if o.country == seller.country and o.role == "user"
                      and o.idx != int(f["cp_op"][i])]
            if variant == "lacking":
                others = [o for o in others if cat not in o.categories
                          and o.first_day < day < o.last_day]
            elif variant == "expired":
                others = [o for o in others if o.last_day < day - 1]
            self.claim(i)
            self.drop_delivery(i)
            if variant == "name" or not others:
                sector = ctx.ops[int(f["cp_op"][i])].sector
                text = ctx.namer.small_business(sector, EU_COUNTRIES[seller.country][2])
                f["cp_op"][i], f["cp_name"][i] = -1, ctx.name(text)
                self.record("unlicensed_counterparty", seller.idx, [self.uid(i)])
            else:
                buyer = ctx.rnd.choice(others)
                phrase = ctx.phrase(buyer.sector)
                f["cp_op"][i], f["end_use"][i] = buyer.idx, phrase
                self.buyer_purchase(i, buyer.idx, phrase)   # the transfer stays two-sided
                self.record("unlicensed_counterparty", seller.idx, [self.uid(i)])
            done += 1

    def suspicious_order(self, k: int) -> None:
        f = self.f
        variants: dict[str, Callable[[], int | None]] = {
            "cash_new": self._cash_new, "crypto": self._crypto, "big": self._big}
        for j in range(k):
            for name in ("cash_new", "crypto", "big")[j % 3:] + ("cash_new", "crypto", "big"):
                i = variants[name]()
                if i is not None:
                    self.record("suspicious_order", int(f["op"][i]), [self.uid(i)])
                    break

    def _cash_new(self) -> int | None:
        """A first category-1 order, paid in cash, by a customer new to the seller."""
        f = self.f
        if self.firsts is None:
            sales = np.flatnonzero(f["role"] == R_SALE)
            sales = sales[np.argsort(self.time[sales], kind="stable")]
            seen_pair: set[tuple[int, int]] = set()
            seen_cat1: set[int] = set()
            self.firsts = []
            cat1 = (self.cat[sales] == "1").tolist()
            for i, seller, buyer, one in zip(sales.tolist(), f["op"][sales].tolist(),
                                             f["cp_op"][sales].tolist(), cat1, strict=True):
                if one and buyer not in seen_cat1:
                    seen_cat1.add(buyer)
                    if (seller, buyer) not in seen_pair:
                        self.firsts.append(i)
                seen_pair.add((seller, buyer))
        firsts = self.firsts
        ok = set(self.candidates(self.rows_mask(firsts)))
        for i in firsts:
            if i in ok:
                self.claim(i)
                f["payment"][i] = CASH
                f["payment"][self.purchase_of[f["edge"][i]]] = CASH
                return i
        return None

    def _crypto(self) -> int | None:
        """A watch-list chemical shipped to a high-risk country, paid in crypto-assets."""
        ctx, f = self.ctx, self.f
        risky = ctx.ref.settings.suspicious.high_risk_countries
        if not risky:
            return None
        watch = self.cat == "watch"
        cands = self.candidates(watch & (f["role"] == R_EXPORT), 1) or \
            self.candidates(watch & (f["role"] == R_SMALL), 1)
        if not cands:
            return None
        i = cands[0]
        self.claim(i)
        cc = risky[len(self.truth) % len(risky)]
        code = ctx.code(cc)
        f["kind"][i], f["role"][i] = KIND["export"], R_EXPORT
        f["dest"][i], f["cp_country"][i], f["transit"][i] = code, code, -1
        f["cp_name"][i], f["payment"][i] = ctx.name(ctx.namer.foreign(cc)), CRYPTO
        return i

    def _big(self) -> int | None:
        """An order over five times the customer's usual quantity from this seller (after at
        least three), paid in cash; the seller makes or imports the extra first."""
        ctx, f = self.ctx, self.f
        sales = np.flatnonzero(f["role"] == R_SALE)
        series = (f["op"][sales].astype(np.int64) * len(ctx.pos_op)
                  + f["pos"][self.purchase_of[f["edge"][sales]]])
        order = np.lexsort((self.time[sales], series))
        sales, series = sales[order], series[order]
        first = np.searchsorted(series, series, side="left")
        rank = np.arange(len(sales)) - first
        kg = f["qty"][sales]
        cum = np.cumsum(kg) - kg
        for i in self.candidates(self.rows_mask(sales[rank >= 3]), 50):
            at = int(np.flatnonzero(sales == i)[0])
            mean = (cum[at] - cum[first[at]]) / rank[at]
            p = int(self.purchase_of[f["edge"][i]])
            new = ctx.nice_for(f["pos"][i:i + 1], np.array([mean * ctx.rng.uniform(5.5, 7)]))[0]
            extra = nice(np.array([new - f["qty"][i]]), up=True)[0]
            self.claim(i)
            f["qty"][i] = f["qty"][p] = new
            f["payment"][i] = f["payment"][p] = CASH
            seller = ctx.ops[int(f["op"][i])]
            common = dict(op=seller.idx, pos=f["pos"][i], qty=extra, day=f["day"][i],
                          mod=int(f["mod"][i]) - 30, role=R_EXTRA)
            if seller.role == "producer":
                self.add(make_rows(1, kind=KIND["production"], **common))
            else:
                cc = ctx.suppliers[0]
                self.add(make_rows(1, kind=KIND["import"], cp_name=ctx.name(ctx.namer.foreign(cc)),
                                   cp_country=ctx.code(cc), dest=ctx.op_code[seller.idx],
                                   payment=1, **common))
            return i
        return None

    def export_without_authorisation(self, k: int) -> None:
        ctx, f = self.ctx, self.f
        ex = ctx.ref.settings.exports
        exports = f["role"] == R_EXPORT
        for j in range(k):
            objected = j % 2 == 1
            cats = ex.notification_categories if objected else ex.authorisation_categories
            cands = self.candidates(exports & np.isin(self.cat, list(cats)), 1)
            if objected and not cands:
                objected = False
                cands = self.candidates(exports & np.isin(self.cat, ex.authorisation_categories),
                                        1)
            if not cands:
                return
            i = cands[0]
            self.claim(i)
            pos = int(f["pos"][i])
            used = {ctx.codes[int(d)] for d in f["dest"][exports & (f["pos"] == pos)]}
            fresh = [c for c in ctx.destinations if c not in used] or ctx.destinations
            cc = fresh[j % len(fresh)]
            code = ctx.code(cc)
            f["dest"][i], f["cp_country"][i], f["transit"][i] = code, code, -1
            f["cp_name"][i] = ctx.name(ctx.namer.foreign(cc))
            if objected:
                self._objected(i, cc)
            self.record("export_without_authorisation", int(f["op"][i]), [self.uid(i)])

    def _objected(self, i: int, cc: str) -> None:
        """An authorisation whose pre-export notification the importing country objected to."""
        ctx, f = self.ctx, self.f
        op = ctx.ops[int(f["op"][i])]
        day = int(f["day"][i])
        start = ctx.start
        qty = nice(np.array([float(f["qty"][i]) * 1.2]), up=True)[0]
        self.auths.append({
            "number": f"{EU_COUNTRIES[op.country][0]}-EA-{start.year}-X{len(self.auths) + 1:05d}",
            "operator": op.licence, "substance": ctx.ref.substances[ctx.pos_sub[
                int(f["pos"][i])]].name, "quantity": f"{qty:.3f}".rstrip("0").rstrip("."),
            "unit": "kg", "destination_country": cc, "importer": ctx.names[int(f["cp_name"][i])],
            "valid_from": (start + dt.timedelta(days=day - 20)).isoformat(),
            "valid_to": (start + dt.timedelta(days=day + 60)).isoformat(),
            "notification_required": "true", "notified_at": iso_local(start, op, day - 35, 600),
            "response": "objected", "responded_at": iso_local(start, op, day - 27, 660)})

    def late_registration(self, k: int) -> None:
        f = self.f
        roles = [R_SALE, R_PURCHASE, R_CHILD, R_EXPORT, R_IMPORT, R_PRODUCTION, R_SMALL]
        for i in self.candidates(np.isin(f["role"], roles) & ~self.drop, k):
            self.claim(i)
            f["delay"][i] = int(self.ctx.rng.integers(30 * 60, 200 * 60))
            self.record("late_registration", int(f["op"][i]), [self.uid(i)])

    def result(self) -> Rows:
        kept = take(self.f, np.flatnonzero(~self.drop))
        return concat([kept, *self.extra])


def inject_flows(ctx: Ctx, flows: Rows, k: int) -> tuple[Rows, list[dict[str, str]],
                                                         list[Truth]]:
    """Inject ``k`` instances of each anomaly kind except stock discrepancies (which need the
    counts); returns the rows, extra authorisations and the truth."""
    inj = Injector(ctx, flows)
    inj.suspicious_order(k)
    inj.export_without_authorisation(k)
    inj.unlicensed_counterparty(k)
    inj.unmatched_transfer(k)
    inj.quantity_mismatch(k)
    inj.late_registration(k)
    return inj.result(), inj.auths, inj.truth


def inject_stock(ctx: Ctx, flows: Rows, counts: Rows, k: int) -> tuple[Rows, Rows, list[Truth]]:
    """Unrecorded losses just before ``k`` stock counts (of different positions): each such
    count is lower than the balance by at least 5 % and 10 kg, and every later count of the
    position carries the loss on, so only that count disagrees with its predecessor."""
    truth: list[Truth] = []
    hidden: list[Rows] = []
    npl = ctx.planned
    ct = counts["day"].astype(np.int64) * 1440 + counts["mod"]
    order = np.lexsort((ct, counts["pos"]))
    c_pos, c_time = counts["pos"][order], ct[order]
    c_qty, c_uid = counts["qty"][order], counts["uid"][order]
    c_day, c_mod = counts["day"][order], counts["mod"][order]
    is_first = np.r_[True, c_pos[1:] != c_pos[:-1]]
    cand = np.flatnonzero(~is_first & (c_day >= 15) & (c_qty >= 60))
    cand = cand[ctx.rng.permutation(len(cand))]
    inplan = np.flatnonzero(flows["pos"] < npl)
    f_pos = flows["pos"][inplan]
    f_time = flows["day"][inplan].astype(np.int64) * 1440 + flows["mod"][inplan]
    f_sign = SIGN[flows["kind"][inplan]] * engine_kg(flows["qty"][inplan], ctx.a_factor[f_pos])
    by = np.lexsort((f_time, f_pos))
    f_pos, f_time, f_sign = f_pos[by], f_time[by], f_sign[by]
    done: set[int] = set()
    for c in cand.tolist():
        if len(truth) == k:
            break
        pos = int(c_pos[c])
        if pos in done:
            continue
        balance = float(c_qty[c])
        loss = float(nice(np.array([max(12.0, balance * ctx.rng.uniform(0.07, 0.12))]))[0])
        # the lowest stock from this count on, less the loss, must stay above zero
        lo, hi = np.searchsorted(f_pos, [pos, pos + 1])
        later = f_time[lo:hi] > c_time[c]
        run = balance + np.cumsum(f_sign[lo:hi][later])
        if min(balance, float(run.min()) if len(run) else balance) < loss + 2:
            continue
        done.add(pos)
        hidden.append(make_rows(1, op=ctx.pos_op[pos], pos=pos, kind=HIDDEN, qty=loss,
                                day=c_day[c], mod=int(c_mod[c]) - 1, role=R_HIDDEN))
        truth.append(Truth("stock_discrepancy", ctx.pos_op[pos], [int(c_uid[c]),
                                                                   int(c_uid[c - 1])]))
    if not hidden:
        return flows, counts, truth
    flows = concat([flows, *hidden])
    recount = count_rows(ctx, flows)
    recount["uid"] = counts["uid"]
    recount["delay"] = counts["delay"]
    return flows, recount, truth

