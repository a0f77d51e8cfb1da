"""The rule-file schema (pydantic) and the mapping of its errors onto YAML lines.

Rule files are written by risk analysts, not programmers, so every refusal names the place
(``rules[3].when[1].history``) and the line, and says what is wrong in the file's own terms.
The schema is also registered with the reference registry (kind ``targeting_rules``), so that
``interdict reference check`` validates an agency's override file with the same models; only
``parse_rules`` adds line numbers, because the registry loads plain YAML.

Conditions are a union discriminated by their one distinguishing key (``field``, ``history``,
``any``, ``all``, ``not``), so that an error inside a condition is reported against that kind
of condition only, not once per union member.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal, get_args

import polars as pl
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from interdict.reference.specs import Meta, register_kind
from interdict.targeting.frames import KINDS
from interdict.targeting.rules_fields import key_kind_error, resolve_field, unknown

LANES = ("red", "yellow", "blue", "green")
Lane = Literal["red", "yellow", "blue", "green"]
Kind = Literal["declaration", "express", "postal", "aviation", "craft"]
assert set(get_args(Kind)) == set(KINDS)  # kept in step by hand

LIST_NAME = r"^[A-Za-z0-9_-]+$"
ListName = Annotated[str, Field(pattern=LIST_NAME)]
Count = Annotated[int, Field(ge=0, strict=True)]
Days = Annotated[float, Field(gt=0, strict=True)]

#: Field operators and the field types each applies to.
FIELD_OPERATORS: dict[str, frozenset[str]] = {
    "equals": frozenset({"text", "number"}),
    "in": frozenset({"text", "number"}),
    "not_in": frozenset({"text", "number"}),
    "prefix": frozenset({"text"}),
    "above": frozenset({"number"}),
    "below": frozenset({"number"}),
    "between": frozenset({"number"}),
    "matches": frozenset({"text"}),
    "in_list": frozenset({"text"}),
    "not_in_list": frozenset({"text"}),
    "includes": frozenset({"list"}),
    "includes_list": frozenset({"list"}),
    "is_null": frozenset({"text", "number", "list", "time"}),
}
HISTORY_OPERATORS = ("declared_at_most", "declared_at_least", "labelled_at_least",
                     "positive_rate_above", "positive_at_least", "critical_at_least",
                     "seen_within_days", "not_seen_for_days", "first_seen_within_days")
_HINT = {"list": "route is a list of countries: use includes or includes_list",
         "time": "declared_at can only be tested with is_null"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _text_operand(v: Any, op: str, field: str) -> None:
    if not isinstance(v, str):
        raise ValueError(f"{field} is text: write {op} values in quotes ('{v}'), so that "
                         "YAML keeps them as text (and keeps leading zeros)")


def _check_regex(pattern: str) -> None:
    """Python and Polars (Rust) regex dialects differ; a pattern must work in both, because
    the same rule runs on one consignment and on frames."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError:
        raise ValueError(f"regular expression {pattern!r} uses syntax Polars does not support "
                         "(look-around, back-references)") from None


class FieldCondition(Strict):
    field: str
    equals: Any = None
    in_: Any = Field(None, alias="in")
    not_in: Any = None
    prefix: Any = None
    above: Any = None
    below: Any = None
    between: Any = None
    matches: Any = None
    in_list: Any = None
    not_in_list: Any = None
    includes: Any = None
    includes_list: Any = None
    is_null: Any = None

    def operator(self) -> tuple[str, Any]:
        for name in self.model_fields_set - {"field"}:
            op = "in" if name == "in_" else name
            return op, getattr(self, name)
        raise AssertionError("validated conditions have an operator")

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        resolve_field(value)
        return value

    @field_validator(*(("in_" if op == "in" else op) for op in FIELD_OPERATORS))
    @classmethod
    def _operand(cls, v: Any, info: ValidationInfo) -> Any:
        op = "in" if info.field_name == "in_" else str(info.field_name)
        if v is None:
            raise ValueError(f"{op} needs a value (to test for an empty field use is_null)")
        field = info.data.get("field")
        if field is None:      # the field itself was refused; that error is enough
            return v
        type_ = resolve_field(field).type
        if type_ not in FIELD_OPERATORS[op]:
            hint = _HINT.get(type_) or f"{op} applies to {' or '.join(sorted(FIELD_OPERATORS[op]))}"
            raise ValueError(f"{op} does not apply to {field} ({type_}): {hint}")
        _check_operand(op, v, field, type_)
        return v

    @model_validator(mode="after")
    def _one_operator(self) -> FieldCondition:
        ops = sorted("in" if n == "in_" else n for n in self.model_fields_set - {"field"})
        if len(ops) != 1:
            found = f"found {', '.join(ops)}" if ops else "found none"
            raise ValueError(f"a field condition needs exactly one operator ({found}); "
                             f"operators: {', '.join(FIELD_OPERATORS)}")
        return self


def _check_operand(op: str, v: Any, field: str, type_: str) -> None:
    if op == "equals":
        if type_ == "text":
            _text_operand(v, op, field)
        elif not _is_number(v):
            raise ValueError(f"{field} is a number: equals needs a number")
    elif op in ("in", "not_in"):
        if not isinstance(v, list) or not v:
            raise ValueError(f"{op} needs a non-empty list, e.g. [CN, HK]")
        for item in v:
            if type_ == "text":
                _text_operand(item, op, field)
            elif not _is_number(item):
                raise ValueError(f"{field} is a number: {op} needs numbers")
    elif op in ("prefix", "includes"):
        items = v if isinstance(v, list) else [v]
        if not items or not all(isinstance(i, str) and i for i in items):
            raise ValueError(f"{op} needs a quoted text or a non-empty list of them, e.g. '29'")
    elif op in ("above", "below"):
        if not _is_number(v):
            raise ValueError(f"{op} needs a number")
    elif op == "between":
        if not (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)):
            raise ValueError("between needs two numbers [low, high]")
        if v[0] > v[1]:
            raise ValueError(f"between [{v[0]}, {v[1]}]: low is above high")
    elif op == "matches":
        if not isinstance(v, str):
            raise ValueError("matches needs a quoted regular expression")
        _check_regex(v)
    elif op in ("in_list", "not_in_list", "includes_list"):
        if not isinstance(v, str) or not re.match(LIST_NAME, v):
            raise ValueError(f"{op} needs the name of a list (letters, digits, _ and -)")
    elif op == "is_null" and not isinstance(v, bool):
        raise ValueError("is_null needs true or false")


class HistoryCondition(Strict):
    history: str
    declared_at_most: Count | None = None
    declared_at_least: Count | None = None
    labelled_at_least: Count | None = None
    positive_rate_above: Annotated[float, Field(ge=0, lt=1, strict=True)] | None = None
    min_labelled: Annotated[int, Field(ge=1, strict=True)] | None = None
    positive_at_least: Count | None = None
    critical_at_least: Count | None = None
    seen_within_days: Days | None = None
    not_seen_for_days: Days | None = None
    first_seen_within_days: Days | None = None

    def operators(self) -> list[tuple[str, Any]]:
        return [(op, getattr(self, op)) for op in HISTORY_OPERATORS
                if getattr(self, op) is not None]

    @field_validator("history")
    @classmethod
    def _kind(cls, value: str) -> str:
        problem = key_kind_error(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HistoryCondition:
        if not self.operators():
            raise ValueError(f"a history condition needs at least one of "
                             f"{', '.join(HISTORY_OPERATORS)}")
        if self.min_labelled is not None and self.positive_rate_above is None:
            raise ValueError("min_labelled only goes with positive_rate_above")
        lo, hi = self.declared_at_least, self.declared_at_most
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"declared_at_least {lo} and declared_at_most {hi} never both hold")
        return self


class AnyCondition(Strict):
    any_: list[Condition] = Field(alias="any", min_length=1)


class AllCondition(Strict):
    all_: list[Condition] = Field(alias="all", min_length=1)


class NotCondition(Strict):
    not_: Condition = Field(alias="not")


CONDITION_KEYS = ("field", "history", "any", "all", "not")
#: Union tags; they appear in pydantic error locations and are dropped from reported paths.
TAGS = {f"{k} condition": k for k in CONDITION_KEYS}


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):   # re-validating a parsed file
        return {FieldCondition: "field condition", HistoryCondition: "history condition",
                AnyCondition: "any condition", AllCondition: "all condition",
                NotCondition: "not condition"}.get(type(value))
    if not isinstance(value, dict):
        return None
    found = [k for k in CONDITION_KEYS if k in value]
    return f"{found[0]} condition" if len(found) == 1 else None


Condition = Annotated[
    Annotated[FieldCondition, Tag("field condition")]
    | Annotated[HistoryCondition, Tag("history condition")]
    | Annotated[AnyCondition, Tag("any condition")]
    | Annotated[AllCondition, Tag("all condition")]
    | Annotated[NotCondition, Tag("not condition")],
    Discriminator(_condition_tag, custom_error_type="condition",
                  custom_error_message="a condition is a mapping with exactly one of field, "
                                       "history, any, all, not"),
]
for _model in (AnyCondition, AllCondition, NotCondition):
    _model.model_rebuild()


class RuleSpec(Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$", max_length=80)
    title: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="Who answers for the profile.")
    weight: float = Field(gt=0, le=1, strict=True)
    lane: Lane | None = Field(None, description="Lane forced whenever the rule fires.")
    valid_from: date | None = None
    valid_to: date | None = Field(None, description="Inclusive.")
    kinds: list[Kind] | None = Field(None, min_length=1)
    note: str = ""
    when: list[Condition] = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _single(cls, value: Any) -> Any:
        # A single condition may be written without the list ("when: {field: ...}").
        return [value] if isinstance(value, dict) else value

    @field_validator("valid_to")
    @classmethod
    def _period(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"valid_to {value} is before valid_from {start}")
        return value


class RuleSettings(Strict):
    #: An HS code needs this many earlier unit values before unit_value_z is computed.
    min_unit_history: int = Field(10, ge=2, strict=True)
    #: Spread (ln units) added in quadrature to the HS code's unit-value spread; the model's
    #: features use the same floor, so analysts see one z-score.
    unit_spread_floor: float = Field(0.1, gt=0, strict=True)


class RuleFile(Strict):
    meta: Meta | None = None
    version_note: str | None = None
    settings: RuleSettings = Field(default_factory=RuleSettings)
    lists: dict[ListName, list[Annotated[str, Field(strict=True)]]] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleFile:
        dups = duplicate_ids([r.id for r in self.rules])
        if dups:
            raise ValidationError.from_exception_data("RuleFile", [
                InitErrorDetails(type=PydanticCustomError("duplicate_id", msg), loc=loc, input=i)
                for loc, msg, i in dups])
        return self


register_kind("targeting_rules", RuleFile)


def duplicate_ids(ids: list[Any]) -> list[tuple[tuple[str | int, ...], str, Any]]:
    """(location, reason, id) of every rule whose id an earlier rule already uses."""
    seen: dict[Any, int] = {}
    out: list[tuple[tuple[str | int, ...], str, Any]] = []
    for i, rid in enumerate(ids):
        if not isinstance(rid, str):
            continue
        if rid in seen:
            out.append((("rules", i, "id"), f"duplicate id {rid!r} (also rules[{seen[rid]}])", rid))
        else:
            seen[rid] = i
    return out


# --- YAML positions ----------------------------------------------------------------------


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        doc = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return doc, node


def line_of(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int:
    """1-based line of the deepest node ``loc`` reaches (a missing key: its mapping's line)."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line
    for part in loc:
        if part in TAGS or part == "[key]":
            continue
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node, line = value, key.start_mark.line
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        # an index into a single condition written without a list stays on the mapping
    return int(line) + 1


def path_of(loc: tuple[str | int, ...]) -> str:
    """``("rules", 3, "when", 1, "history")`` -> ``rules[3].when[1].history``."""
    out = ""
    for part in loc:
        if part in TAGS or part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def duplicate_keys(node: yaml.Node | None,
                   loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], int]]:
    """Keys written twice in one mapping: YAML keeps the last silently, which could hide a
    second operator in a condition or a second definition of a list."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in seen:
                yield (*loc, name), key.start_mark.line + 1
            seen.add(name)
            yield from duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from duplicate_keys(item, (*loc, i))


def _reason(error: Any) -> str:
    loc, kind, msg = error["loc"], error["type"], str(error["msg"])
    msg = msg.removeprefix("Value error, ")
    last = loc[-1] if loc else ""
    owner = next((TAGS[p] for p in reversed(loc[:-1]) if p in TAGS), None)
    if kind == "extra_forbidden":
        if owner == "field" or owner == "history":
            ops = FIELD_OPERATORS if owner == "field" else HISTORY_OPERATORS
            return unknown(f"{owner} operator", str(last), ops)
        if len(loc) == 3 and loc[0] == "rules":
            return unknown("rule key", str(last), RuleSpec.model_fields)
        return f"unknown key {last!r}"
    if kind == "missing":
        return f"missing {last!r}"
    if kind == "string_type" and loc and loc[0] == "lists":
        return "list entries are text: quote them ('090111') so that YAML keeps leading zeros"
    return msg


def errors_of(exc: ValidationError, root: yaml.Node | None) -> list[tuple[str, int, str]]:
    """(path, line, reason) for each pydantic error, with line numbers from the YAML nodes."""
    out = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        out.append((path_of(loc), line_of(root, loc), _reason(error)))
    return out
