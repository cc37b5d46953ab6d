"""Conditions as SQL: literals, comparisons, and a renderer the caller tells how each kind of
leaf is written (a trait column, an event count, an audience or list membership)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any, Callable

from .conditions import All, Any_, Compare, InAudience, InList, Node, Not, Performed, Tag
from .tables import BOOLEAN, DATE, TEXT, TEXT_LIST, TIMESTAMP

_SQL_OP = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def literal(kind: str, value: Any) -> str:
    """A value as SQL that DuckDB and Spark read alike."""
    if kind in (TEXT, TEXT_LIST):
        return text_literal(str(value))
    if kind == BOOLEAN:
        return "true" if value else "false"
    if kind == DATE:
        return f"date '{value.isoformat()}'"
    if kind == TIMESTAMP:
        # the UTC wall clock the warehouse's timestamps hold (DuckDB's columns and Spark's session
        # are UTC); a value without an offset is UTC
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return f"timestamp '{moment.isoformat(sep=' ')}'"
    return repr(value)


def text_literal(text: str) -> str:
    """A string literal; a quote inside is `chr(39)`: Spark reads the standard `''` as two adjacent
    literals (and drops the quote), while both engines know `chr` and `||`."""
    if "'" not in text:
        return f"'{text}'"
    return "(" + " || chr(39) || ".join(f"'{part}'" for part in text.split("'")) + ")"


def compare_sql(expr: str, c: Compare) -> str:
    """`expr <op> value`, never null (a missing value does not hold)."""
    if c.op == "is_null":
        return f"({expr} is null)" if c.value else f"({expr} is not null)"
    if c.op == "between":
        body = f"{expr} between {literal(c.type, c.value[0])} and {literal(c.type, c.value[1])}"
    elif c.op in ("in", "not_in"):
        items = ", ".join(literal(c.type, v) for v in c.value)
        body = f"{expr} {'not in' if c.op == 'not_in' else 'in'} ({items})"
    elif c.op == "contains":
        body = (f"array_contains({expr}, {literal(TEXT, c.value)})" if c.type == TEXT_LIST
                else f"contains({expr}, {literal(TEXT, c.value)})")
    elif c.op == "starts_with":
        body = f"left({expr}, {len(str(c.value))}) = {literal(TEXT, c.value)}"
    else:
        body = f"{expr} {_SQL_OP[c.op]} {literal(c.type, c.value)}"
    return f"coalesce({body}, false)"


@dataclass
class Renderer:
    """Turns a condition into SQL; the caller says how each kind of leaf is written."""
    subject: Callable[[Compare], str]
    tag: Callable[[Tag], str] = field(default=lambda t: "false")
    performed: Callable[[Performed], str] = field(default=lambda p: "false")
    in_audience: Callable[[InAudience], str] = field(default=lambda a: "false")
    in_list: Callable[[InList], str] = field(default=lambda l: "false")

    def sql(self, node: Node) -> str:
        if isinstance(node, Compare):
            return compare_sql(self.subject(node), node)
        if isinstance(node, All):
            return "(" + " and ".join(self.sql(c) for c in node.children) + ")"
        if isinstance(node, Any_):
            return "(" + " or ".join(self.sql(c) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self.sql(node.child)})"
        if isinstance(node, Tag):
            return self.tag(node)
        if isinstance(node, Performed):
            return self.performed(node)
        if isinstance(node, InAudience):
            return self.in_audience(node)
        return self.in_list(node)


def column_sql(node: Node | None, prefix: str = "") -> str:
    """A filter over a table's own columns."""
    if node is None:
        return "true"
    return Renderer(subject=lambda c: f"{prefix}{c.subject}").sql(node)
