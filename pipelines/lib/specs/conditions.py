"""The condition language shared by event filters, tags, lifecycle stages and audiences.

A condition is a leaf or `all:`/`any:`/`not:` over conditions:
    {trait: age, gt: 20}                  a trait compared with a value
    {column: channel, in: [app, web]}     a column of the table being filtered
    {tag: coupon_sensitive}               the customer carries the tag
    {performed: order_completed, window: {last: 30d}, at_least: 2, where: [...]}
    {not_performed: add_to_cart, window: {last: 7d}}
    {in_audience: other_audience}         {in_list: uploaded_list}
Operators: eq, ne, gt, gte, lt, lte, between [lo, hi], in, not_in, contains, starts_with, is_null.
A condition on a missing value does not hold (`not:` of it does).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Union

from .errors import At
from .tables import BOOLEAN, DATE, INTEGER, NUMBER, ORDERED, TEXT, TEXT_LIST, TIMESTAMP

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "contains", "starts_with", "is_null")
_DAYS = re.compile(r"^(\d+)d$")


@dataclass(frozen=True)
class Window:
    """Business dates `as_of - start + 1` .. `as_of - end`: `last: 30d` is (30, 0)."""
    start: int
    end: int = 0

    def sql(self, as_of: str, column: str = "business_date") -> str:
        upper = as_of if self.end == 0 else f"{as_of} - {self.end}"
        return f"{column} > {as_of} - {self.start} and {column} <= {upper}"

    def describe(self) -> str:
        return f"last {self.start}d" if self.end == 0 else f"{self.start}d to {self.end}d ago"


@dataclass(frozen=True)
class Compare:
    kind: str                      # "trait" or "column"
    subject: str
    type: str
    op: str
    value: Any


@dataclass(frozen=True)
class Tag:
    name: str


@dataclass(frozen=True)
class Performed:
    event_types: tuple[str, ...]
    where: "Node | None"
    window: Window | None
    at_least: int | None
    at_most: int | None


@dataclass(frozen=True)
class InAudience:
    name: str


@dataclass(frozen=True)
class InList:
    name: str


@dataclass(frozen=True)
class All:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Any_:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


Node = Union[Compare, Tag, Performed, InAudience, InList, All, Any_, Not]


@dataclass
class Scope:
    """What a condition may refer to here; None means that kind of leaf is not allowed."""
    columns: dict[str, str] | None = None
    traits: dict[str, str] | None = None
    tags: set[str] | None = None
    audiences: set[str] | None = None
    lists: bool = False
    event_columns: dict[str, str] | None = None          # enables performed / not_performed
    event_types: set[str] | None = None                   # known event types (None: any)


def parse_window(raw: Any, at: At) -> Window | None:
    """`{last: 30d}`, `{between: [90d, 30d]}` or `lifetime` (None)."""
    if raw is None or raw == "lifetime" or raw == {"lifetime": True}:
        return None
    if isinstance(raw, dict) and set(raw) == {"last"}:
        return Window(_days(raw["last"], at.child("last"), minimum=1))
    if isinstance(raw, dict) and set(raw) == {"between"} and isinstance(raw["between"], list) and len(raw["between"]) == 2:
        start, end = (_days(v, at.child("between").child(i)) for i, v in enumerate(raw["between"]))
        if start <= end:
            raise at.child("between").error(f"the older bound comes first: [{start}d, {end}d] is empty")
        return Window(start, end)
    raise at.error(f"malformed window {raw!r}: expected {{last: 30d}}, {{between: [90d, 30d]}} or lifetime")


def _days(raw: Any, at: At, minimum: int = 0) -> int:
    m = _DAYS.match(str(raw).strip())
    if not m or int(m.group(1)) < minimum:
        raise at.error(f"malformed duration {raw!r}: expected a whole number of days like 30d")
    return int(m.group(1))


def parse(raw: Any, scope: Scope, at: At) -> Node:
    """A condition (or a list of them, meaning all) as a checked tree."""
    if isinstance(raw, list):
        if not raw:
            raise at.error("an empty list of conditions")
        return All(tuple(parse(c, scope, at.child(i)) for i, c in enumerate(raw)))
    if not isinstance(raw, dict) or not raw:
        raise at.error(f"expected a condition (a mapping), got {raw!r}")
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        _only(raw, {key}, at)
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise at.child(key).error("expected a non-empty list of conditions")
        children = tuple(parse(c, scope, at.child(key).child(i)) for i, c in enumerate(items))
        return All(children) if key == "all" else Any_(children)
    if "not" in raw:
        _only(raw, {"not"}, at)
        return Not(parse(raw["not"], scope, at.child("not")))
    for key, parser in _LEAVES.items():
        if key in raw:
            return parser(raw, scope, at)
    raise at.error(f"unknown condition {sorted(raw)}: expected one of all, any, not, {', '.join(_LEAVES)}")


def _only(raw: dict, allowed: set[str], at: At) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise at.child(extra[0]).error(f"unexpected field (allowed here: {', '.join(sorted(allowed))})")


def _compare(kind: str) -> Callable[[dict, Scope, At], Node]:
    def parse_compare(raw: dict, scope: Scope, at: At) -> Node:
        known = scope.traits if kind == "trait" else scope.columns
        if known is None:
            raise at.child(kind).error(f"a {kind} condition is not allowed here")
        name = raw[kind]
        if name not in known:
            raise at.child(kind).error(f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})")
        ops = [k for k in raw if k != kind]
        if len(ops) != 1 or ops[0] not in OPERATORS:
            raise at.error(f"expected exactly one operator ({', '.join(OPERATORS)}), got {ops}")
        op = ops[0]
        value = _check_value(known[name], op, raw[op], at.child(op), f"{kind} {name!r}")
        return Compare(kind, name, known[name], op, value)
    return parse_compare


def _check_value(kind: str, op: str, value: Any, at: At, subject: str) -> Any:
    if op == "is_null":
        if not isinstance(value, bool):
            raise at.error("expected true or false")
        return value
    if op in ("gt", "gte", "lt", "lte", "between") and kind not in ORDERED:
        raise at.error(f"type mismatch: {subject} is {kind}, '{op}' needs a number or a date")
    if op in ("contains",) and kind not in (TEXT, TEXT_LIST):
        raise at.error(f"type mismatch: {subject} is {kind}, 'contains' needs text or a list")
    if op == "starts_with" and kind != TEXT:
        raise at.error(f"type mismatch: {subject} is {kind}, 'starts_with' needs text")
    if kind == TEXT_LIST and op not in ("contains",):
        raise at.error(f"type mismatch: {subject} is a list, only 'contains' and 'is_null' apply")
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise at.error("expected [low, high]")
        return tuple(_scalar(kind, v, at.child(i), subject) for i, v in enumerate(value))
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise at.error("expected a non-empty list of values")
        return tuple(_scalar(kind, v, at.child(i), subject) for i, v in enumerate(value))
    return _scalar(TEXT if kind == TEXT_LIST else kind, value, at, subject)


def _scalar(kind: str, value: Any, at: At, subject: str) -> Any:
    ok = {
        TEXT: lambda v: isinstance(v, str),
        INTEGER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        NUMBER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        BOOLEAN: lambda v: isinstance(v, bool),
        DATE: lambda v: isinstance(v, (date, str)),
        TIMESTAMP: lambda v: isinstance(v, (date, datetime, str)),
    }[kind]
    if not ok(value):
        raise at.error(f"type mismatch: {subject} is {kind}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise at.error(f"expected a finite number, got {value!r}")
    if isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#")):
        raise at.error(f"{value!r}: '{{{{', '{{%' and '{{#' are not allowed in values (dbt would read them as Jinja)")
    if kind in (DATE, TIMESTAMP):
        try:
            return value if isinstance(value, date) else (
                date.fromisoformat(value) if kind == DATE else datetime.fromisoformat(value))
        except ValueError:
            raise at.error(f"type mismatch: {subject} is {kind}, {value!r} is not an ISO date") from None
    return value


def _tag(raw: dict, scope: Scope, at: At) -> Node:
    _only(raw, {"tag"}, at)
    if scope.tags is None:
        raise at.child("tag").error("a tag condition is not allowed here")
    if raw["tag"] not in scope.tags:
        raise at.child("tag").error(f"unknown tag {raw['tag']!r} (known: {', '.join(sorted(scope.tags))})")
    return Tag(raw["tag"])


def _performed(raw: dict, scope: Scope, at: At) -> Node:
    key = "performed" if "performed" in raw else "not_performed"
    _only(raw, {key, "where", "window", "at_least", "at_most"}, at)
    if scope.event_columns is None:
        raise at.child(key).error("a behaviour condition is not allowed here")
    types = raw[key] if isinstance(raw[key], list) else [raw[key]]
    if not types or not all(isinstance(t, str) for t in types):
        raise at.child(key).error("expected an event type or a list of them")
    if scope.event_types is not None:
        for t in types:
            if t not in scope.event_types:
                raise at.child(key).error(f"unknown event type {t!r} (known: {', '.join(sorted(scope.event_types))})")
    counts = {}
    for bound in ("at_least", "at_most"):
        if bound in raw:
            v = raw[bound]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise at.child(bound).error(f"expected a whole number >= 0, got {v!r}")
            counts[bound] = v
    if counts.get("at_least", 0) > counts.get("at_most", counts.get("at_least", 0)):
        raise at.error(f"at_least {counts['at_least']} > at_most {counts['at_most']}: nobody could match")
    if key == "not_performed":
        if counts:
            raise at.error("not_performed takes no at_least/at_most")
        counts = {"at_most": 0}
    elif not counts:
        counts = {"at_least": 1}
    where = parse(raw["where"], Scope(columns=scope.event_columns), at.child("where")) if "where" in raw else None
    return Performed(tuple(types), where, parse_window(raw.get("window"), at.child("window")),
                     counts.get("at_least"), counts.get("at_most"))


def _reference(key: str) -> Callable[[dict, Scope, At], Node]:
    def parse_reference(raw: dict, scope: Scope, at: At) -> Node:
        _only(raw, {key}, at)
        name = raw[key]
        if key == "in_audience":
            if scope.audiences is None:
                raise at.child(key).error("an audience condition is not allowed here")
            if name not in scope.audiences:
                raise at.child(key).error(f"unknown audience {name!r} (known: {', '.join(sorted(scope.audiences))})")
            return InAudience(name)
        if not scope.lists:
            raise at.child(key).error("a list condition is not allowed here")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise at.child(key).error(f"a list name is lower_snake_case, got {name!r}")
        return InList(name)
    return parse_reference


_LEAVES: dict[str, Callable[[dict, Scope, At], Node]] = {
    "trait": _compare("trait"), "column": _compare("column"), "tag": _tag,
    "performed": _performed, "not_performed": _performed,
    "in_audience": _reference("in_audience"), "in_list": _reference("in_list"),
}


def leaves(node: Node | None):
    """Every leaf of a condition, depth first (explain walks them)."""
    if node is None:
        return
    if isinstance(node, (All, Any_)):
        for c in node.children:
            yield from leaves(c)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    else:
        yield node
