"""Trait groups from `specs/traits.yml`: parsing, type inference and each group's SQL.

A group aggregates one table into one row per customer (`traits_<group>`); derived traits
(ratios) are computed where the groups meet, in `customer_traits`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .condition_sql import column_sql
from .engine_sql import macro
from .conditions import Node, Scope, Window, parse, parse_window
from .errors import At
from .tables import (BEHAVIOUR, DATE, INTEGER, NUMBER, ORDERED, TABLES, TEXT, TEXT_LIST, TIMESTAMP, Table)

AGGREGATES = ("count", "unique_count", "sum", "avg", "min", "max", "first", "last", "most_frequent",
              "unique_list", "days_since")
PROFILE = ("value", "years_since", "days_since")
ZERO_WHEN_NONE = ("count", "unique_count", "sum")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Trait:
    name: str
    kind: str
    type: str
    of: str | None = None
    where: Node | None = None
    window: Window | None = None
    order_by: tuple[str, ...] = ()
    description: str = ""

    @property
    def default(self) -> str | None:
        return "0" if self.kind in ZERO_WHEN_NONE else None

    @property
    def extreme(self) -> str | None:
        """A first/last value ordered by the value itself first is its min/max (cheaper, same answer)."""
        if self.kind in ("first", "last") and self.order_by[:1] == (self.of,):
            return "min" if self.kind == "first" else "max"
        return None


@dataclass(frozen=True)
class Group:
    name: str
    table: Table
    where: Node | None
    traits: tuple[Trait, ...]
    description: str = ""

    @property
    def model(self) -> str:
        return f"traits_{self.name}"


@dataclass(frozen=True)
class Ratio:
    name: str
    numerator: str
    denominator: str
    description: str = ""
    type: str = NUMBER


# Names the generated SQL uses itself (columns, CTEs, aliases): a trait, group or audience
# named like one of them would collide.
RESERVED = {"customer_id", "as_of_date", "tags", "rfm_r", "rfm_f", "rfm_m", "fm", "rfm_segment", "lifecycle_stage",
            "is_holdout", "audience", "rows", "aggregates", "traits", "derived", "rfm_scores", "rfm", "scored",
            "tagged", "members", "nights", "c", "t", "m", "h", "value", "n", "latest", "d", "lifetime", "windowed",
            "last_day"}


def _sql_keywords() -> frozenset[str]:
    import duckdb
    with duckdb.connect() as con:
        return frozenset(r[0] for r in con.execute("select keyword_name from duckdb_keywords()").fetchall())


SQL_KEYWORDS = _sql_keywords()


def check_name(name: Any, at: At) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise at.error(f"a name is lower_snake_case (a-z, 0-9, _), got {name!r}")
    if name in RESERVED or name in SQL_KEYWORDS or name.startswith("performed_"):
        raise at.error(f"{name!r} is a name the generated SQL uses itself (a SQL keyword or a built-in column); "
                       f"choose another")
    return name


def parse_group(name: str, raw: Any, at: At) -> Group:
    check_name(name, at)
    if not isinstance(raw, dict):
        raise at.error("expected a mapping with from, traits")
    _allowed(raw, {"from", "where", "traits", "description"}, at)
    table = TABLES.get(raw.get("from"))
    if table is None:
        raise at.child("from").error(f"unknown table {raw.get('from')!r} (known: {', '.join(TABLES)})")
    scope = Scope(columns=table.columns)
    where = parse(raw["where"], scope, at.child("where")) if "where" in raw else None
    if table.name not in BEHAVIOUR and where is not None:
        raise at.child("where").error("a profile group has one row per customer: filter in its traits' types")
    items = raw.get("traits")
    if not isinstance(items, dict) or not items:
        raise at.child("traits").error("expected a mapping of trait name -> definition")
    traits = tuple(parse_trait(n, d, table, At(at.file, f"trait '{n}'")) for n, d in items.items())
    return Group(name, table, where, traits, str(raw.get("description", "")).strip())


def parse_trait(name: str, raw: Any, table: Table, at: At) -> Trait:
    check_name(name, at)
    if not isinstance(raw, dict):
        raise at.error("expected a mapping with at least `type`")
    _allowed(raw, {"type", "of", "where", "window", "order_by", "description"}, at)
    kind = raw.get("type")
    allowed = AGGREGATES if table.name in BEHAVIOUR else PROFILE
    if kind not in allowed:
        raise at.child("type").error(f"unknown trait type {kind!r} for table {table.name} (allowed: {', '.join(allowed)})")
    of = raw.get("of")
    needs_of = kind not in ("count", "days_since") or table.name not in BEHAVIOUR
    if needs_of and of is None:
        raise at.child("of").error(f"a {kind} trait needs `of: <column of {table.name}>`")
    if of is not None and of not in table.columns:
        raise at.child("of").error(f"unknown column {of!r} of {table.name} (known: {', '.join(sorted(table.columns))})")
    of_type = table.columns.get(of) if of else None
    if kind in ("sum", "avg") and of_type not in (INTEGER, NUMBER):
        raise at.child("of").error(f"type mismatch: {kind} needs a number, {of} is {of_type}")
    if kind in ("min", "max") and of_type not in ORDERED | {TEXT}:
        raise at.child("of").error(f"type mismatch: {kind} needs an ordered column, {of} is {of_type}")
    if kind in ("years_since", "days_since") and of is not None and of_type not in (DATE, TIMESTAMP):
        raise at.child("of").error(f"type mismatch: {kind} needs a date or timestamp, {of} is {of_type}")
    if kind == "unique_list" and of_type != TEXT:
        raise at.child("of").error(f"type mismatch: unique_list needs text, {of} is {of_type}")
    where = parse(raw["where"], Scope(columns=table.columns), at.child("where")) if "where" in raw else None
    if table.name not in BEHAVIOUR and ("where" in raw or "window" in raw):
        raise at.error("profile traits take no where/window")
    order_by = tuple(raw.get("order_by") or ((table.time, table.key) if table.time else ()))
    for i, col in enumerate(order_by):
        if col not in table.columns:
            raise at.child("order_by").child(i).error(f"unknown column {col!r} of {table.name}")
    if table.key and table.key not in order_by:
        order_by += (table.key,)             # the last tie-break is the row's id: never arbitrary
    trait_type = {"count": INTEGER, "unique_count": INTEGER, "days_since": INTEGER, "years_since": INTEGER,
                  "sum": NUMBER, "avg": NUMBER, "unique_list": TEXT_LIST}.get(kind, of_type)
    return Trait(name, kind, trait_type, of, where, parse_window(raw.get("window"), at.child("window")),
                 order_by, str(raw.get("description", "")).strip())


def parse_ratio(name: str, raw: Any, known: dict[str, str], at: At) -> Ratio:
    check_name(name, at)
    if not isinstance(raw, dict) or raw.get("type") != "ratio":
        raise at.child("type").error("derived traits are `type: ratio` with numerator and denominator")
    _allowed(raw, {"type", "numerator", "denominator", "description"}, at)
    for part in ("numerator", "denominator"):
        ref = raw.get(part)
        if ref not in known:
            raise at.child(part).error(f"unknown trait {ref!r}")
        if known[ref] not in (INTEGER, NUMBER):
            raise at.child(part).error(f"type mismatch: {ref} is {known[ref]}, a ratio needs numbers")
    return Ratio(name, raw["numerator"], raw["denominator"], str(raw.get("description", "")).strip())


def _allowed(raw: dict, allowed: set[str], at: At) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise at.child(extra[0]).error(f"unexpected field (allowed: {', '.join(sorted(allowed))})")


# --- SQL -----------------------------------------------------------------------------------

AS_OF = "{{ as_of_date() }}"


def _filter(t: Trait) -> str:
    parts = [column_sql(t.where)] if t.where else []
    if t.window:
        parts.append(t.window.sql(AS_OF))
    return " and ".join(parts) or "true"


def _aggregate(t: Trait, table: Table) -> str:
    f = f" filter (where {_filter(t)})" if t.where or t.window else ""
    by = list(t.order_by) if len(t.order_by) > 1 else t.order_by[0] if t.order_by else None
    # Sums in exact decimals: a parallel sum of doubles changes in the last digit from run to run,
    # and a rerun night must give the same traits.
    exact = f"cast({t.of} as decimal(38, 9))"
    written = {
        "count": lambda: f"count(*){f}",
        "unique_count": lambda: f"count(distinct {t.of}){f}",
        "sum": lambda: f"coalesce(sum({exact}){f}, 0)",
        "avg": lambda: f"avg({exact}){f}",
        "min": lambda: f"min({t.of}){f}",
        "max": lambda: f"max({t.of}){f}",
        "first": lambda: f"{t.extreme}({t.of}){f}" if t.extreme else macro("arg_min", t.of, by) + f,
        "last": lambda: f"{t.extreme}({t.of}){f}" if t.extreme else macro("arg_max", t.of, by) + f,
        "unique_list": lambda: macro("sorted_set_agg", t.of, **({"where": _filter(t)} if f else {})),
        "days_since": lambda: macro("days_between",
                                    f"max({'business_date' if t.of is None else date_sql(t.of, table.columns[t.of])}){f}", AS_OF),
    }
    return written[t.kind]()


def date_sql(column: str, kind: str) -> str:
    """A date column as it is; a timestamp as its business date."""
    return f"{{{{ business_date('{column}') }}}}" if kind == TIMESTAMP else column


def group_sql(g: Group) -> str:
    """One row per customer with a row in the group's table, up to the end of as_of_date."""
    if g.table.name not in BEHAVIOUR:
        return _profile_sql(g)
    # A filtered distinct count is computed over its own rows: as a filtered aggregate DuckDB
    # would group (customer, value) over every row first (3x slower on a year of events).
    apart = [t for t in g.traits if t.kind == "unique_count" and (t.where or t.window)]
    aggregates = [t for t in g.traits if t.kind != "most_frequent" and t not in apart]
    frequent = [t for t in g.traits if t.kind == "most_frequent"]
    group_filter = f"\n      and {column_sql(g.where)}" if g.where else ""
    ctes = [f"""rows as (
    select * from {{{{ ref('{g.table.name}') }}}}
    where customer_id <> 'anonymous'
      and business_date <= {AS_OF}{group_filter}
)""", "aggregates as (\n    select\n        customer_id" + "".join(
        f",\n        {_aggregate(t, g.table)} as {t.name}" for t in aggregates) + "\n    from rows\n    group by customer_id\n)"]
    for t in frequent:
        # the value on most rows; ties: the most recent row, then the value itself
        ctes.append(f"""{t.name} as (
    select customer_id, {macro("arg_max", "value", ["n", "latest", "value"])} as {t.name}
    from (
        select customer_id, {t.of} as value, count(*) as n, max(({g.table.time}, {g.table.key})) as latest
        from rows
        where {_filter(t)} and {t.of} is not null
        group by all
    )
    group by customer_id
)""")
    for t in apart:
        ctes.append(f"""{t.name} as (
    select customer_id, count(distinct {t.of}) as {t.name}
    from rows
    where {_filter(t)}
    group by customer_id
)""")
    joins = "".join(f"\nleft join {t.name} using (customer_id)" for t in frequent + apart)
    columns = "".join(f",\n    {t.name}.{t.name}" for t in frequent)
    columns += "".join(f",\n    coalesce({t.name}.{t.name}, 0) as {t.name}" for t in apart)
    return ("with " + ",\n\n".join(ctes) + f"\n\nselect\n    aggregates.*{columns}\nfrom aggregates{joins}\n")


def _profile_sql(g: Group) -> str:
    cols = []
    for t in g.traits:
        if t.kind == "value":
            cols.append(f"{t.of} as {t.name}")
        elif t.kind == "years_since":   # the birthday is reached on its month and day (29 Feb: 1 Mar)
            cols.append(f"year({AS_OF}) - year({t.of}) - case when (month({AS_OF}), day({AS_OF})) "
                        f"< (month({t.of}), day({t.of})) then 1 else 0 end as {t.name}")
        else:
            cols.append(f"{macro('days_between', date_sql(t.of, g.table.columns[t.of]), AS_OF)} as {t.name}")
    body = ",\n    ".join(["customer_id", *cols])
    return f"select\n    {body}\nfrom {{{{ ref('{g.table.name}') }}}}\n"
