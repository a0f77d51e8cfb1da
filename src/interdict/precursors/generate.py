"""A deterministic year of legal precursor trade among registered operators, for tests, the demo
and benchmarks, with optional injected anomalies of every kind the checks look for.

``generate_year`` returns the operators, the transactions (in occurred_at order), the export
authorisations and the ground truth of what was injected, all as strings the way the upload files
carry them. The clean part is meant to raise no alert under the shipped check settings:

* every domestic sale to a registered operator has the buyer's purchase, hours later, of the same
  quantity; both hold the substance's category on the day; sales to unregistered customers are
  of category 3 and watch-list substances only;
* each stock position (operator, site, substance) opens with a count, is counted monthly or
  quarterly, and every count equals the last one plus inflows minus outflows; stock never goes
  negative;
* movements are registered minutes to hours after they happen; payments are transfers; a
  customer orders about the same quantity of a substance each time (within +-30 %); end uses use
  the words of the customer's sector; no high-risk country appears;
* exports that need an authorisation have one per exporter, substance, destination and quarter,
  with the pre-export notification sent weeks before (and mostly confirmed) where required.

Same arguments, same bytes. The work is split over ``generate_world`` (operators and reference
data), ``generate_flows`` (movements and counts) and ``generate_anomalies`` (injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from interdict.precursors.bulk import no_cyclic_gc
from interdict.precursors.generate_anomalies import Truth, inject_flows, inject_stock
from interdict.precursors.generate_flows import (
    KIND,
    PAYMENTS,
    R_EXPORT,
    Ctx,
    Rows,
    build_positions,
    concat,
    customer_orders,
    nice,
    take,
    user_orders,
    written,
)
from interdict.precursors.generate_stock import (
    count_rows,
    count_schedule,
    destructions,
    replenish,
)
from interdict.precursors.generate_world import (
    EU_COUNTRIES,
    Namer,
    Operator,
    build_operators,
    dst,
    iso_local,
    load_reference,
    offset_text,
)
from interdict.precursors.records import OPERATOR_COLUMNS as _OPERATOR_FORMAT
from interdict.precursors.records import TRANSACTION_COLUMNS

#: The registry's required columns (the optional ``sites`` is not generated).
OPERATOR_COLUMNS = _OPERATOR_FORMAT[:9]
AUTHORISATION_COLUMNS = ("number", "operator", "substance", "quantity", "unit",
                         "destination_country", "importer", "valid_from", "valid_to",
                         "notification_required", "notified_at", "response", "responded_at")
REF_CODES = {"sale": "SO", "purchase": "PO", "import": "IM", "export": "EX",
             "production": "PR", "consumption": "CU", "loss": "LS", "destruction": "DS",
             "stock_count": "SC"}
#: Share of the counts in the rows before registered users are left dormant for the year.
MAX_COUNT_SHARE = 0.35
#: Rows one order brings on average (sale, purchase, use, and the deliveries behind it).
ROWS_PER_ORDER = 3.69
ORDER_MIX = (("user", 0.74), ("small", 0.14), ("export", 0.12))
DAY0 = 90                                  # offset table starts 90 days before the year


@dataclass
class TradeYear:
    operators: list[dict[str, str]]
    transactions: list[dict[str, str]]     # in occurred_at order
    authorisations: list[dict[str, str]]
    truth: list[dict[str, Any]] = field(default_factory=list)

    def operators_csv(self) -> str:
        return _csv(OPERATOR_COLUMNS, self.operators)

    def transactions_csv(self, rows: list[dict[str, str]] | None = None) -> str:
        return _csv(TRANSACTION_COLUMNS, self.transactions if rows is None else rows)

    def transactions_jsonl(self, rows: list[dict[str, str]] | None = None) -> str:
        chosen = self.transactions if rows is None else rows
        encode = json.JSONEncoder(ensure_ascii=False).encode
        return "\n".join(map(encode, chosen)) + "\n" if chosen else ""


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(map(itemgetter(*columns), rows))
    return buf.getvalue()


def generate_year(*, operators: int = 40, transactions: int = 5000, seed: int = 20261128,
                  start: dt.date = dt.date(2025, 1, 1), anomalies: int = 0) -> TradeYear:
    """A year of trade from ``start`` (365 days): about ``transactions`` rows among
    ``operators`` registered operators, with ``anomalies`` instances of each anomaly kind."""
    if transactions < 1 or anomalies < 0:
        raise ValueError("transactions must be positive and anomalies not negative")
    with no_cyclic_gc():  # a million small dicts
        return _generate(operators, transactions, seed, start, anomalies)


def _generate(operators: int, transactions: int, seed: int, start: dt.date,
              anomalies: int) -> TradeYear:
    ref = load_reference()
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    namer = Namer(rnd)
    ops = build_operators(operators, rnd, ref, start, namer)
    ctx = Ctx(rng=rng, rnd=rnd, ref=ref, ops=ops, start=start, namer=namer)
    n_counts = _fit_budget(ctx, transactions)
    build_positions(ctx)
    users = np.array([ops[o].role == "user" for o in ctx.pos_op[:ctx.planned]], bool)
    s0 = ctx.a_base * rng.uniform(0.0, 0.8, ctx.planned)
    ctx.s0 = np.where(users & (s0 > 0.15 * ctx.a_base), nice(s0), 0.0)
    n_orders = max(0, transactions - n_counts) / ROWS_PER_ORDER
    parts: list[Rows] = []
    for kind, share in ORDER_MIX:
        n = int(round(n_orders * share))
        parts += user_orders(ctx, n) if kind == "user" else customer_orders(ctx, n, kind)
    flows = concat(parts)
    flows = _supply(ctx, flows)
    flows["uid"] = ctx.uids(len(flows["uid"]))
    flows["delay"] = _delays(rng, len(flows["uid"]))
    authorisations = _authorisations(ctx, flows)
    truth: list[Truth] = []
    if anomalies:
        flows, extra, truth = inject_flows(ctx, flows, anomalies)
        authorisations += extra
    count_base = ctx.n_uids
    counts = count_rows(ctx, flows)
    counts["uid"] = count_base + np.arange(len(counts["uid"]))
    counts["delay"] = rng.integers(10, 300, len(counts["uid"]))
    if anomalies:
        flows, counts, more = inject_stock(ctx, flows, counts, anomalies)
        truth += more
    return _emit(ctx, concat([flows, counts]), authorisations, truth)


def _delays(rng: np.random.Generator, n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Minutes from a movement to its registration: mostly under an hour, at most ten."""
    return np.clip(np.exp(rng.normal(np.log(25), 1.0, n)), 1, 600).astype(np.int64)


def _fit_budget(ctx: Ctx, transactions: int) -> int:
    """Keep the stock counts to their share of the rows: first everyone counts quarterly, then
    users are left dormant (registered, no trade this year), down to a third of them. Returns
    the number of counts."""
    def counts(op: Operator) -> int:
        return len(count_schedule(ctx, op)[0]) * len(op.substances)

    budget = MAX_COUNT_SHARE * transactions
    if sum(counts(op) for op in ctx.ops) > budget:
        for op in ctx.ops:
            op.monthly = False
    per_op = [counts(op) for op in ctx.ops]
    total = sum(per_op)
    users = [op for op in ctx.ops if op.role == "user"]
    ctx.rnd.shuffle(users)
    for op in users[:len(users) * 2 // 3]:
        if total <= budget:
            break
        op.dormant = True
        total -= per_op[op.idx]
    return total


def _supply(ctx: Ctx, flows: Rows) -> Rows:
    """Deliveries behind the orders: distributors restock from producers or abroad, producers
    make batches; both destroy a little off-specification stock now and then."""
    is_dist = np.array([o.role == "distributor" for o in ctx.ops] + [False])
    is_prod = np.array([o.role == "producer" for o in ctx.ops] + [False])
    outflow_kinds = np.array([KIND["sale"], KIND["export"]])
    out = np.isin(flows["kind"], outflow_kinds)
    dist_out = take(flows, np.flatnonzero(out & is_dist[flows["op"]]))
    dist_out = concat([dist_out, destructions(ctx, dist_out)])
    restock = replenish(ctx, dist_out, "distributor")
    flows = concat([flows, take(dist_out, np.flatnonzero(dist_out["kind"] == KIND[
        "destruction"])), *restock])
    out = np.isin(flows["kind"], outflow_kinds)
    prod_out = take(flows, np.flatnonzero(out & is_prod[flows["op"]]))
    prod_out = concat([prod_out, destructions(ctx, prod_out)])
    batches = replenish(ctx, prod_out, "producer")
    return concat([flows, take(prod_out, np.flatnonzero(prod_out["kind"] == KIND[
        "destruction"])), *batches])


def _offsets(ctx: Ctx) -> np.ndarray[Any, np.dtype[np.int64]]:
    """UTC offset in minutes per operator country and day (from DAY0 days before the start)."""
    days = [ctx.start + dt.timedelta(days=d - DAY0) for d in range(DAY0 + 420)]
    summer = np.array([dst(d) for d in days], dtype=np.int64) * 60
    base = np.array([c[1] for c in EU_COUNTRIES], dtype=np.int64)
    return base[:, None] + summer[None, :]


def _authorisations(ctx: Ctx, flows: Rows) -> list[dict[str, str]]:
    """One export authorisation per exporter, substance, destination and quarter of the year,
    for the exports that need one; a pre-export notification weeks ahead where required."""
    ex = ctx.ref.settings.exports
    subs = ctx.ref.substances
    cat = np.array([subs[s].category for s in ctx.pos_sub], dtype=object)
    rows = np.flatnonzero(flows["role"] == R_EXPORT)
    dest_of = np.array(ctx.codes, dtype=object)[flows["dest"][rows]]
    row_cat = cat[flows["pos"][rows]]
    need = np.isin(row_cat, list(ex.authorisation_categories)) | (
        (row_cat == "3") & np.isin(dest_of, list(ex.category3_destinations)))
    rows = rows[need]
    months = np.array([_months(ctx, d) for d in range(370)])
    keys = np.stack([flows["op"][rows], flows["pos"][rows], flows["dest"][rows],
                     months[flows["day"][rows]] // 3], axis=1).astype(np.int64)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    total = np.bincount(inverse, flows["qty"][rows], len(uniq))
    first_row = np.full(len(uniq), len(flows["qty"]), np.int64)
    np.minimum.at(first_row, inverse, rows)
    allowed = nice(total * ctx.rng.uniform(1.05, 1.5, len(total)), up=True)
    groups = [(tuple(int(v) for v in key), float(kg), int(fr))
              for key, kg, fr in zip(uniq.tolist(), allowed.tolist(), first_row.tolist(),
                                     strict=True)]
    out: list[dict[str, str]] = []
    for (op_i, pos, dest_i, quarter), kg, first_row_i in groups:
        op = ctx.ops[op_i]
        sub = subs[ctx.pos_sub[pos]]
        first = dt.date(ctx.start.year, ctx.start.month, 1)
        valid_from = _add_months(first, 3 * quarter)
        valid_to = _add_months(valid_from, 3) - dt.timedelta(days=1)
        dest = ctx.codes[dest_i]
        record = {
            "number": f"{EU_COUNTRIES[op.country][0]}-EA-{valid_from.year}-{len(out) + 1:06d}",
            "operator": op.licence, "substance": sub.name,
            "quantity": _num(kg), "unit": "kg",
            "destination_country": dest,
            "importer": ctx.names[int(flows["cp_name"][first_row_i])],
            "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat(),
            "notification_required": "false", "notified_at": "", "response": "",
            "responded_at": ""}
        if sub.category in ex.notification_categories or dest in ex.notification_destinations:
            sent = (valid_from - ctx.start).days - ctx.rnd.randint(25, 40)
            record["notification_required"] = "true"
            record["notified_at"] = iso_local(ctx.start, op, sent, ctx.rnd.randint(9 * 60, 16 * 60))
            if ctx.rnd.random() < 0.75:
                record["response"] = "confirmed"
                record["responded_at"] = iso_local(ctx.start, op, sent + ctx.rnd.randint(3, 12),
                                                   ctx.rnd.randint(9 * 60, 16 * 60))
        out.append(record)
    return out


def _months(ctx: Ctx, day: int) -> int:
    date = ctx.start + dt.timedelta(days=day)
    return (date.year - ctx.start.year) * 12 + date.month - ctx.start.month


def _add_months(date: dt.date, months: int) -> dt.date:
    total = date.year * 12 + date.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _emit(ctx: Ctx, rows: Rows, authorisations: list[dict[str, str]],
          truth: list[Truth]) -> TradeYear:
    rows = take(rows, np.flatnonzero(rows["kind"] < len(KIND)))
    offsets = _offsets(ctx)
    country = np.array([o.country for o in ctx.ops], dtype=np.int64)[rows["op"]]
    off = offsets[country, rows["day"] + DAY0]
    local = rows["day"].astype(np.int64) * 1440 + rows["mod"]
    order = np.lexsort((rows["uid"], local - off))
    rows = take(rows, order)
    off, local = off[order], local[order]
    n = len(order)
    # per-operator reference numbers in time order
    by_op = np.argsort(rows["op"], kind="stable")
    sorted_op = rows["op"][by_op]
    group_start = np.searchsorted(sorted_op, sorted_op, side="left")
    seq = np.empty(n, np.int64)
    seq[by_op] = np.arange(n) - group_start + 1
    kinds = list(KIND)
    nops = len(ctx.ops)
    prefix_keys, prefix_of = np.unique(rows["kind"].astype(np.int64) * nops + rows["op"],
                                       return_inverse=True)
    prefixes = np.array([f"{REF_CODES[kinds[k // nops]]}-{k % nops + 1:05d}-"
                         for k in prefix_keys.tolist()], dtype=object)
    numbers = np.array([f"{i:06d}" for i in range(int(seq.max(initial=0)) + 1)], dtype=object)
    references: list[str] = (prefixes[prefix_of.reshape(-1)] + numbers[seq]).tolist()
    # local date and time from small tables, then the operator's offset
    dates = np.array([(ctx.start + dt.timedelta(days=d)).isoformat() + "T"
                      for d in range(int(local.max(initial=0) + rows["delay"].max(initial=0))
                                     // 1440 + 1)], dtype=object)
    clock = np.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in range(1440)], dtype=object)
    off_values, off_of = np.unique(off, return_inverse=True)
    offs = np.array([offset_text(int(m)) for m in off_values.tolist()], dtype=object)[
        off_of.reshape(-1)]
    occurred_at = (dates[local // 1440] + clock[local % 1440] + offs).tolist()
    later = local + rows["delay"]
    registered_at = (dates[later // 1440] + clock[later % 1440] + offs).tolist()
    pos = rows["pos"]
    factor = ctx.a_factor[pos]
    tonnes = factor >= 1000
    distinct, value_of = np.unique(written(rows["qty"], factor) * np.where(tonnes, -1, 1),
                                   return_inverse=True)
    texts = np.array([(f"{-v:.6f}" if v < 0 else f"{v:.3f}").rstrip("0").rstrip(".")
                      for v in distinct.tolist()], dtype=object)
    quantity = texts[value_of.reshape(-1)].tolist()

    def table(items: list[str]) -> np.ndarray[Any, np.dtype[np.object_]]:
        return np.array([*items, ""], dtype=object)

    licences = table([o.licence for o in ctx.ops])
    counterparty = np.where(rows["cp_op"] >= 0, licences[rows["cp_op"]],
                            table(ctx.names)[rows["cp_name"]])
    codes_t = table(ctx.codes)
    columns = [
        references, licences[rows["op"]].tolist(),
        np.array(kinds, dtype=object)[rows["kind"]].tolist(),
        table(ctx.pos_ident)[pos].tolist(), quantity, table(ctx.pos_unit)[pos].tolist(),
        occurred_at, registered_at, counterparty.tolist(),
        codes_t[rows["cp_country"]].tolist(), codes_t[rows["dest"]].tolist(),
        table(ctx.transits)[rows["transit"]].tolist(),
        np.array(PAYMENTS, dtype=object)[rows["payment"]].tolist(),
        table(ctx.phrases)[rows["end_use"]].tolist(), table(ctx.pos_site)[pos].tolist(),
    ]
    transactions = [
        {"reference": a, "operator": b, "kind": c, "substance": d, "quantity": e, "unit": f,
         "occurred_at": g, "registered_at": h, "counterparty": i, "counterparty_country": j,
         "destination_country": k, "transit_countries": l_, "payment": m, "end_use": n_,
         "site": o}
        for a, b, c, d, e, f, g, h, i, j, k, l_, m, n_, o in zip(*columns, strict=True)]
    row_of = np.zeros(int(rows["uid"].max(initial=0)) + 1, np.int64)
    row_of[rows["uid"]] = np.arange(n)
    truth_out = [{"kind": t.kind, "operator": ctx.ops[t.op].licence,
                  "references": [references[int(row_of[u])] for u in t.uids]} for t in truth]
    return TradeYear(operators=[o.row() for o in ctx.ops], transactions=transactions,
                     authorisations=authorisations, truth=truth_out)


