"""Reading audiences back: why a customer is (not) in one (`cdp explain`), and how audiences
stand against each other (`cdp audiences`).

Explain re-evaluates each condition of the spec with the same SQL the audience model uses, on
the customer's traits of that as_of_date and the events up to it, then says whether the
audience ledger agrees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from typing import TYPE_CHECKING

from .audiences import count_holds, performed_filter, performed_sql
from .condition_sql import column_sql, compare_sql
from .conditions import All, Any_, Compare, InAudience, InList, Node, Not, Performed, Tag
from .tables import BEHAVIOUR
from .traits import Group, Trait

if TYPE_CHECKING:
    from .project import Specs

QUALIFYING_EVENTS_SHOWN = 10


@dataclass
class Step:
    """One condition of the audience, evaluated for one customer."""
    depth: int
    text: str
    held: bool
    value: str = ""
    events: list[tuple] = field(default_factory=list)


@dataclass
class Explanation:
    audience: str
    customer_id: str
    as_of_date: date
    steps: list[Step]
    held: bool
    member: bool | None               # what the ledger says (None: no ledger for that night)
    is_holdout: bool | None


_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in", "not_in": "not in",
        "between": "between", "contains": "contains", "starts_with": "starts with", "is_null": "is null:"}


def describe(node: Node) -> str:
    if isinstance(node, Compare):
        value = list(node.value) if isinstance(node.value, tuple) else node.value
        return f"{node.kind} {node.subject} {_OPS[node.op]} {value!r}"
    if isinstance(node, Tag):
        return f"has tag {node.name}"
    if isinstance(node, Performed):
        counts = " and ".join(f"{k.replace('_', ' ')} {v}" for k, v in (("at_least", node.at_least), ("at_most", node.at_most))
                              if v is not None)
        window = node.window.describe() if node.window else "lifetime"
        where = f" where {column_sql(node.where)}" if node.where else ""
        return f"performed {' or '.join(node.event_types)} {counts} times ({window}){where}"
    if isinstance(node, InAudience):
        return f"member of audience {node.name}"
    if isinstance(node, InList):
        return f"on uploaded list {node.name}"
    return {All: "all of", Any_: "any of", Not: "not"}[type(node)]


class _Evaluator:
    def __init__(self, con: duckdb.DuckDBPyConnection, customer: str, day: date, groups: tuple[Group, ...]):
        self.con, self.customer, self.day = con, customer, day
        self.traits = {t.name: (g, t) for g in groups for t in g.traits}
        self.as_of = f"date '{day.isoformat()}'"
        self.steps: list[Step] = []

    def one(self, sql: str, *params):
        return self.con.execute(sql, [*params]).fetchone()

    def rows_behind(self, g: Group, t: Trait) -> list[tuple]:
        """The rows a behaviour trait was computed from (the latest first)."""
        if g.table.name not in BEHAVIOUR:
            return []
        window = f" and {t.window.sql(self.as_of)}" if t.window else ""
        shown = "event_type, source, channel" if g.table.name == "events" else "status, source, net_amount"
        return self.con.execute(
            f"select {g.table.key}, {g.table.time}, {shown} from {g.table.name} where customer_id = ? "
            f"and business_date <= {self.as_of} and {column_sql(g.where)} and {column_sql(t.where)}{window} "
            f"order by {g.table.time} desc, {g.table.key} limit {QUALIFYING_EVENTS_SHOWN}", [self.customer]).fetchall()

    def run(self, node: Node, depth: int = 0) -> bool:
        if isinstance(node, (All, Any_, Not)):
            step = Step(depth, describe(node), False)
            self.steps.append(step)
            children = [node.child] if isinstance(node, Not) else list(node.children)
            results = [self.run(c, depth + 1) for c in children]
            step.held = (all(results) if isinstance(node, All) else any(results) if isinstance(node, Any_)
                         else not results[0])
            return step.held
        step = Step(depth, describe(node), False)
        self.steps.append(step)
        if isinstance(node, (Compare, Tag)):
            column = node.subject if isinstance(node, Compare) else "tags"
            test = compare_sql(column, node) if isinstance(node, Compare) else f"list_contains(tags, '{node.name}')"
            row = self.one(f"select {column}, {test} from customer_traits where customer_id = ? and as_of_date = ?",
                           self.customer, self.day)
            step.value, step.held = (repr(row[0]), bool(row[1])) if row else ("no traits that night", False)
            if isinstance(node, Compare) and node.subject in self.traits:
                step.events = self.rows_behind(*self.traits[node.subject])
        elif isinstance(node, Performed):
            counted = performed_sql(node, self.as_of, "events")
            row = self.one(f"select n from ({counted}) where customer_id = ?", self.customer)
            n = row[0] if row else 0
            step.held = bool(self.one(f"select {count_holds(node, '?')}", n)[0])
            step.value = f"{n} event(s)"
            step.events = self.con.execute(
                f"select event_id, occurred_at, event_type, source, channel from events where customer_id = ? "
                f"and {performed_filter(node, self.as_of)} "
                f"order by occurred_at desc, event_id limit {QUALIFYING_EVENTS_SHOWN}", [self.customer]).fetchall()
        elif isinstance(node, InAudience):
            row = self.one("select count(*) from audience_membership where audience = ? and as_of_date = ? "
                           "and customer_id = ?", node.name, self.day, self.customer)
            step.held = row[0] > 0
            step.value = "member" if step.held else "not a member"
        else:
            row = self.one("select count(*) from list_members where list = ? and customer_id = ?", node.name, self.customer)
            step.held = row[0] > 0
            step.value = "on the list" if step.held else "not on the list"
        return step.held


def explain(con: duckdb.DuckDBPyConnection, specs: "Specs", audience: str, customer: str,
            day: date | None) -> Explanation:
    """Evaluate `audience` for `customer` as of `day` (default: the latest night built)."""
    spec = specs.audience(audience)
    if day is None:
        day = con.execute("select max(as_of_date) from customer_traits").fetchone()[0]
        if day is None:
            raise LookupError("the warehouse holds no traits yet: run a night first")
    if not con.execute("select count(*) from customer_traits where customer_id = ? and as_of_date = ?",
                       [customer, day]).fetchone()[0]:
        raise LookupError(f"no customer {customer!r} on {day} (not yet known, erased, merged into another, "
                          f"or mistyped)")
    ev = _Evaluator(con, customer, day, specs.groups)
    held = ev.run(spec.when)
    ledger = con.execute("select count(*) > 0 from audience_membership where as_of_date = ?", [day]).fetchone()[0]
    row = con.execute("select is_holdout from audience_membership where audience = ? and as_of_date = ? and customer_id = ?",
                      [spec.name, day, customer]).fetchone()
    return Explanation(spec.name, customer, day, ev.steps, held, (row is not None) if ledger else None,
                       row[0] if row else None)


def render(e: Explanation) -> str:
    verdict = "IS" if e.held else "is NOT"
    lines = [f"{e.customer_id} {verdict} in {e.audience} as of {e.as_of_date}"]
    for s in e.steps:
        mark = "✓" if s.held else "✗"
        value = f"  — value: {s.value}" if s.value else ""
        lines.append(f"{'  ' * (s.depth + 1)}{mark} {s.text}{value}")
        for ev in s.events:
            lines.append(f"{'  ' * (s.depth + 3)}{ev[0]}  {ev[1]}  {ev[2]}  ({ev[3]}, {ev[4]})")
    if e.member is None:
        lines.append("ledger: no audience_membership rows for that night")
    else:
        group = " (holdout)" if e.is_holdout else " (treatment)" if e.member else ""
        agree = "agrees" if e.member == e.held else "DISAGREES: the specs changed since that night, or the night was not rebuilt"
        lines.append(f"ledger: {'member' if e.member else 'not a member'}{group}; {agree}")
    return "\n".join(lines)


def audience_summary(con: duckdb.DuckDBPyConnection) -> tuple[date | None, list[tuple], list[tuple]]:
    """(night, rows of audience/size/holdout/entered/exited/previous size, pairwise overlaps)."""
    day = con.execute("select max(as_of_date) from audience_membership").fetchone()[0]
    if day is None:
        return None, [], []
    sizes = con.execute("""
        with nights as (select max(as_of_date) filter (where as_of_date < ?) as previous from audience_membership)
        select m.audience,
            count(*) filter (where m.as_of_date = ?) as size,
            count(*) filter (where m.as_of_date = ? and m.is_holdout) as holdout,
            (select count(*) from audience_changes c where c.audience = m.audience and c.as_of_date = ?
             and c.change = 'entered') as entered,
            (select count(*) from audience_changes c where c.audience = m.audience and c.as_of_date = ?
             and c.change = 'exited') as exited,
            count(*) filter (where m.as_of_date = (select previous from nights)) as previous_size
        from audience_membership m
        group by m.audience
        order by m.audience
    """, [day, day, day, day, day]).fetchall()
    overlaps = con.execute("""
        select a.audience, b.audience, count(*) from audience_membership a
        join audience_membership b on a.customer_id = b.customer_id and a.as_of_date = b.as_of_date
        where a.as_of_date = ? and a.audience < b.audience
        group by all order by all
    """, [day]).fetchall()
    return day, sizes, overlaps
