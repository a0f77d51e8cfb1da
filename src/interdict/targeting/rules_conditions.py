"""Rule conditions compiled once, at parse time, into three readers each.

Every condition node carries

* ``test``: a closure over one consignment (``Env``) returning a bool, built when the file is
  read so that scoring one POST runs no dispatch on operator names;
* ``expr``: the same condition as a Polars boolean expression without nulls, for frames;
* ``explain``: the values a condition read and a phrase an analyst reads
  ("hs_code 293100 is on precursor_hs"), produced only for rules that fired.

Null semantics (the same on both paths): a comparison with a null value is false, whatever
the operator, except ``is_null``; ``not`` inverts that. A history condition on a key that does
not exist (a null seller) is false; a key that exists but was never seen has zero counts and
no dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from interdict.targeting.rules_fields import NO_KEY, Env, FieldRef, FrameCtx, resolve_field
from interdict.targeting.rules_spec import (
    AllCondition,
    AnyCondition,
    FieldCondition,
    HistoryCondition,
    NotCondition,
)

Test = Callable[[Env], bool]
#: (location in the file) -> 1-based line; 0 when the rules did not come from YAML text.
Locate = Callable[[tuple[str | int, ...]], int]


@dataclass(frozen=True)
class ListRef:
    """A use of a named list, kept so that a missing list is reported with its place."""

    name: str
    path: str
    line: int


def _fmt(v: Any) -> str:
    if v is None:
        return "empty"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    if isinstance(v, list | tuple):
        return "→".join(_fmt(x) for x in v) if v else "(none)"
    return str(v)


def _fmt_options(values: Any) -> str:
    items = [_fmt(v) for v in (values if isinstance(values, list | tuple) else [values])]
    return "[" + ", ".join(items[:6]) + (", …" if len(items) > 6 else "") + "]"


class Node:
    """A compiled condition; see the module docstring."""

    test: Test

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        raise NotImplementedError

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        raise NotImplementedError

    def kinds(self) -> set[str]:
        """History key kinds the condition reads."""
        raise NotImplementedError

    def list_refs(self) -> Iterator[ListRef]:
        raise NotImplementedError


# --- field conditions --------------------------------------------------------------------

_VERBS = {  # operator -> (phrase when it holds, phrase when it does not)
    "in": ("is in", "is not in"), "not_in": ("is not in", "is in"),
    "prefix": ("starts with", "does not start with"), "above": (">", "≤"),
    "below": ("<", "≥"), "between": ("is within", "is outside"),
    "matches": ("matches", "does not match"), "in_list": ("is on", "is not on"),
    "not_in_list": ("is not on", "is on"),
}
_LIST_OPS = ("in_list", "not_in_list", "includes_list")


class FieldLeaf(Node):
    def __init__(self, ref: FieldRef, op: str, arg: Any, path: str, line: int) -> None:
        self.ref, self.op, self.path, self.line = ref, op, path, line
        if op in ("in", "not_in", "includes"):
            arg = tuple(arg) if isinstance(arg, list) else (arg,)
        elif op == "prefix":
            arg = tuple(arg) if isinstance(arg, list) else (arg,)
        elif op == "between":
            arg = (arg[0], arg[1])
        self.arg = arg
        self.test = _field_test(ref.get, op, arg)

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        e, op, arg = self.ref.expr(ctx), self.op, self.arg
        if op == "is_null":
            return e.is_null() if arg else e.is_not_null()
        out: pl.Expr
        if op == "equals":
            out = e == pl.lit(arg)
        elif op in ("in", "not_in"):
            out = self._in(e, arg)
            out = ~out if op == "not_in" else out
        elif op == "prefix":
            out = pl.any_horizontal([e.str.starts_with(p) for p in arg])
        elif op == "above":
            out = e > arg
        elif op == "below":
            out = e < arg
        elif op == "between":
            out = e.is_between(arg[0], arg[1], closed="both")
        elif op == "matches":
            # Python's fullmatch, in the Rust dialect: ^ and $ are text anchors there.
            out = e.str.contains(f"^(?:{arg})$")
        elif op in ("in_list", "not_in_list"):
            out = e.is_in(_strings(ctx.lists[arg]))
            out = ~out if op == "not_in_list" else out
        else:  # includes, includes_list
            options = _strings(ctx.lists[arg] if op == "includes_list" else arg)
            out = e.list.eval(pl.element().is_in(options)).list.any()
        return out.fill_null(False)

    def _in(self, e: pl.Expr, arg: tuple[Any, ...]) -> pl.Expr:
        if self.ref.type == "number":
            # Counts are integers and amounts floats; compare all as floats, as Python does.
            return e.cast(pl.Float64).is_in(pl.Series([float(a) for a in arg]).implode())
        return e.is_in(_strings(arg))

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        v = self.ref.get(env)
        values[self.ref.label] = v
        texts.append(self.phrase(v, held, env))

    def phrase(self, v: Any, held: bool, env: Env) -> str:
        name, op, arg = self.ref.label, self.op, self.arg
        if v is None or op == "is_null":
            return f"{name} is {_fmt(v)}"
        if op == "equals":
            return f"{name} is {_fmt(v)}" if held else f"{name} is {_fmt(v)}, not {_fmt(arg)}"
        if op in ("includes", "includes_list"):
            options = env.lists[arg] if op == "includes_list" else frozenset(arg)
            hits = [c for c in v if c in options]
            where = f"on {arg}" if op == "includes_list" else _fmt_options(arg)
            if hits:
                return f"{name} {_fmt(v)} passes {', '.join(hits)} ({where})"
            return f"{name} {_fmt(v)} passes no country {where}"
        verb = _VERBS[op][0 if held else 1]
        if op in _LIST_OPS:
            shown = arg
        elif op == "between":
            shown = f"[{_fmt(arg[0])}, {_fmt(arg[1])}]"
        elif op == "matches":
            shown = f"/{arg}/"
        elif op in ("in", "not_in"):
            shown = _fmt_options(arg)
        elif op == "prefix":
            shown = " or ".join(arg)
        else:
            shown = _fmt(arg)
        return f"{name} {_fmt(v)} {verb} {shown}"

    def kinds(self) -> set[str]:
        return set(self.ref.kinds)

    def list_refs(self) -> Iterator[ListRef]:
        if self.op in _LIST_OPS:
            yield ListRef(self.arg, f"{self.path}.{self.op}", self.line)


def _strings(values: Any) -> pl.Series:
    return pl.Series(sorted(values), dtype=pl.String).implode()


def _field_test(get: Callable[[Env], Any], op: str, arg: Any) -> Test:
    """One closure per operator, so that evaluating a row never looks at operator names."""
    if op == "is_null":
        want = bool(arg)
        return lambda env: (get(env) is None) is want
    if op == "equals":
        return lambda env: (v := get(env)) is not None and v == arg
    if op in ("in", "not_in"):
        options = frozenset(arg)
        if op == "in":
            return lambda env: (v := get(env)) is not None and v in options
        return lambda env: (v := get(env)) is not None and v not in options
    if op == "prefix":
        return lambda env: (v := get(env)) is not None and v.startswith(arg)
    if op == "above":
        return lambda env: (v := get(env)) is not None and v > arg
    if op == "below":
        return lambda env: (v := get(env)) is not None and v < arg
    if op == "between":
        lo, hi = arg
        return lambda env: (v := get(env)) is not None and lo <= v <= hi
    if op == "matches":
        pattern = re.compile(arg)
        return lambda env: (v := get(env)) is not None and pattern.fullmatch(v) is not None
    if op == "in_list":
        return lambda env: (v := get(env)) is not None and v in env.lists[arg]
    if op == "not_in_list":
        return lambda env: (v := get(env)) is not None and v not in env.lists[arg]
    if op == "includes":
        wanted = frozenset(arg)
        return lambda env: (v := get(env)) is not None and not wanted.isdisjoint(v)
    if op == "includes_list":
        return lambda env: (v := get(env)) is not None and not env.lists[arg].isdisjoint(v)
    raise AssertionError(f"operator {op} passed validation without a test")


# --- history conditions ------------------------------------------------------------------

_COUNT_OPS = {  # operator -> (counter attribute, at most?)
    "declared_at_most": ("n_declared", True), "declared_at_least": ("n_declared", False),
    "labelled_at_least": ("n_labelled", False), "positive_at_least": ("n_positive", False),
    "critical_at_least": ("n_critical", False),
}
_COUNT_PHRASE = {"n_declared": "declared {times} before", "n_labelled": "inspected {times} before",
                 "n_positive": "had {n} positive inspection{s} before",
                 "n_critical": "had {n} critical finding{s} before"}
_DAY_OPS = {  # operator -> (counter attribute, at most?)
    "seen_within_days": ("last_declared_at", True),
    "not_seen_for_days": ("last_declared_at", False),
    "first_seen_within_days": ("first_declared_at", True),
}


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class HistoryLeaf(Node):
    """One operator of a history condition (a condition with several is their ``all``)."""

    def __init__(self, kind: str, op: str, bound: Any, min_labelled: int) -> None:
        self.kind, self.op, self.bound, self.min_labelled = kind, op, bound, min_labelled
        self.label = kind.replace("|", " × ")
        self.test = self._test()

    def _test(self) -> Test:
        kind, bound = self.kind, self.bound
        if self.op in _COUNT_OPS:
            metric, at_most = _COUNT_OPS[self.op]
            if at_most:
                return lambda env: (v := env.count(kind, metric)) is not None and v <= bound
            return lambda env: (v := env.count(kind, metric)) is not None and v >= bound
        if self.op == "positive_rate_above":
            least = self.min_labelled
            return lambda env: ((n := env.count(kind, "n_labelled")) is not None and n >= least
                                and (r := env.positive_rate(kind)) is not None and r > bound)
        attr, at_most = _DAY_OPS[self.op]
        if at_most:
            return lambda env: (d := env.days_since(kind, attr)) is not None and d <= bound
        return lambda env: (d := env.days_since(kind, attr)) is not None and d >= bound

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        kind, bound = self.kind, self.bound
        out: pl.Expr
        if self.op in _COUNT_OPS:
            metric, at_most = _COUNT_OPS[self.op]
            v = ctx.count(kind, metric)
            out = v <= bound if at_most else v >= bound
        elif self.op == "positive_rate_above":
            out = (ctx.count(kind, "n_labelled") >= self.min_labelled) \
                & (ctx.positive_rate(kind) > bound)
        else:
            attr, at_most = _DAY_OPS[self.op]
            d = ctx.days_since(kind, attr)
            out = d <= bound if at_most else d >= bound
        return out.fill_null(False)

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        kind, label = self.kind, self.label
        if env.history(kind) is NO_KEY:
            values[f"{kind}.key"] = None
            texts.append(f"no {label} on the consignment")
            return
        if self.op in _COUNT_OPS:
            metric = _COUNT_OPS[self.op][0]
            n = env.count(kind, metric) or 0
            values[f"{kind}.{metric}"] = n
            phrase = _COUNT_PHRASE[metric].format(n=n, times=_times(n), s="" if n == 1 else "s")
            texts.append(f"{label} {phrase}")
        elif self.op == "positive_rate_above":
            pos, lab = env.count(kind, "n_positive") or 0, env.count(kind, "n_labelled") or 0
            rate = env.positive_rate(kind)
            values.update({f"{kind}.n_positive": pos, f"{kind}.n_labelled": lab,
                           f"{kind}.positive_rate": rate})
            share = f" ({rate:.0%})" if rate is not None else ""
            texts.append(f"{label} positive in {pos} of {lab} inspections{share}")
        else:
            attr = _DAY_OPS[self.op][0]
            metric = "days_since_last" if attr == "last_declared_at" else "days_since_first"
            d = env.days_since(kind, attr)
            values[f"{kind}.{metric}"] = d
            which = "last" if attr == "last_declared_at" else "first"
            texts.append(f"{label} never declared before" if d is None
                         else f"{label} {which} declared {_fmt(d)} days before")

    def kinds(self) -> set[str]:
        return {self.kind}

    def list_refs(self) -> Iterator[ListRef]:
        return iter(())


# --- combinators -------------------------------------------------------------------------


class AllNode(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children = children
        tests = tuple(c.test for c in children)

        def test(env: Env) -> bool:
            for t in tests:
                if not t(env):
                    return False
            return True
        self.test = tests[0] if len(tests) == 1 else test

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        exprs = [c.expr(ctx) for c in self.children]
        return exprs[0] if len(exprs) == 1 else pl.all_horizontal(exprs)

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        for c in self.children:
            if held or not c.test(env):   # when it fails, only the failing parts explain why
                c.explain(env, held, values, texts)

    def kinds(self) -> set[str]:
        return set().union(*(c.kinds() for c in self.children))

    def list_refs(self) -> Iterator[ListRef]:
        for c in self.children:
            yield from c.list_refs()


class AnyNode(AllNode):
    def __init__(self, children: list[Node]) -> None:
        super().__init__(children)
        tests = tuple(c.test for c in children)

        def test(env: Env) -> bool:
            for t in tests:
                if t(env):
                    return True
            return False
        self.test = tests[0] if len(tests) == 1 else test

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        exprs = [c.expr(ctx) for c in self.children]
        return exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        for c in self.children:
            if not held or c.test(env):   # when it holds, only the branches that held
                c.explain(env, held, values, texts)


class NotNode(Node):
    def __init__(self, child: Node) -> None:
        self.child = child
        inner = child.test
        self.test = lambda env: not inner(env)

    def expr(self, ctx: FrameCtx) -> pl.Expr:
        return ~self.child.expr(ctx)

    def explain(self, env: Env, held: bool, values: dict[str, Any], texts: list[str]) -> None:
        self.child.explain(env, not held, values, texts)

    def kinds(self) -> set[str]:
        return self.child.kinds()

    def list_refs(self) -> Iterator[ListRef]:
        return self.child.list_refs()


# --- compilation -------------------------------------------------------------------------

DEFAULT_MIN_LABELLED = 3


def compile_condition(spec: Any, loc: tuple[str | int, ...], locate: Locate) -> Node:
    """The node of one validated condition model found at ``loc`` in the file."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if isinstance(spec, FieldCondition):
        op, arg = spec.operator()
        return FieldLeaf(resolve_field(spec.field), op, arg, path, locate((*loc, op)))
    if isinstance(spec, HistoryCondition):
        least = spec.min_labelled or DEFAULT_MIN_LABELLED
        leaves: list[Node] = [HistoryLeaf(spec.history, op, bound, least)
                              for op, bound in spec.operators()]
        return leaves[0] if len(leaves) == 1 else AllNode(leaves)
    if isinstance(spec, AnyCondition | AllCondition):
        key = "any" if isinstance(spec, AnyCondition) else "all"
        items = spec.any_ if isinstance(spec, AnyCondition) else spec.all_
        children = [compile_condition(c, (*loc, key, i), locate) for i, c in enumerate(items)]
        return AnyNode(children) if key == "any" else AllNode(children)
    if isinstance(spec, NotCondition):
        return NotNode(compile_condition(spec.not_, (*loc, "not"), locate))
    raise AssertionError(f"unknown condition model {type(spec).__name__}")
