"""A trait group over `events`, from per customer-day parts.

`events` is restated record by record and logs the customer-days its rows changed
(`dbt_project/macros/customer_days.sql`), so a group over it is built in steps:

- `traits_<group>_days`: one row per customer and business day holding each trait's part of that
  day (rows, sums, the day's latest value with its order key), restated only for the customer-days
  that changed. It does not read the night: a night with no new data keeps it whole.
- `traits_<group>_day_values`: the same per value, for traits that need every value
  (most_frequent, unique_count, unique_list).
- `traits_<group>_lifetime`: one row per customer holding the lifetime traits' parts combined
  over all of the customer's days (and their last day), restated only for the customers whose days
  changed. It does not read the night either: a night reads a million customers' rows here instead
  of every customer-day of history.
- `traits_<group>`: the night's traits: lifetime traits from `_lifetime` (a customer with days
  after the night, a clock ahead or an earlier night built again, from their days up to it),
  windowed traits from the days of the widest window only. Windows are recomputed from days, never
  carried over from yesterday's traits, and only decomposable parts are combined (counts, sums,
  min/max, the latest value by its order key).
"""
from __future__ import annotations

import hashlib

from .condition_sql import column_sql
from .engine_sql import macro
from .tables import Table
from .traits import AS_OF, Group, Trait, date_sql

BY_VALUE = ("most_frequent", "unique_count", "unique_list")


def by_value(t: Trait) -> bool:
    """Traits whose parts are kept per value (a distinct count of days is a count of day rows)."""
    return t.kind in BY_VALUE and not (t.kind == "unique_count" and t.of == "business_date")


def part_models(g: Group) -> dict[str, str]:
    """Model name -> SQL of the group's parts and of its traits."""
    models = {f"{g.model}_days": _days_sql(g)}
    models[f"{g.model}_lifetime"] = _lifetime_sql(g, models[f"{g.model}_days"])
    if any(by_value(t) for t in g.traits):
        models[f"{g.model}_day_values"] = _day_values_sql(g)
    models[g.model] = _traits_sql(g)
    return models


def part_model_names(g: Group) -> list[str]:
    return [name for name in part_models(g) if name != g.model]


def _where(t: Trait) -> str | None:
    return column_sql(t.where) if t.where else None


def _filter(*conditions: str | None) -> str:
    kept = [c for c in conditions if c]
    return f" filter (where {' and '.join(kept)})" if kept else ""


def _counts_rows(t: Trait) -> bool:
    return t.kind in ("count", "unique_count") or (t.kind == "days_since" and t.of is None)


def _rows_column(t: Trait) -> str:
    """The day's rows the trait counts: all of them (`day_rows`) unless it filters them."""
    return f"{t.name}__rows" if t.where else "day_rows"


def _parts(t: Trait, table: Table) -> list[str]:
    """The trait's columns in the days model: its part of one customer-day (none when the day's
    row count, `day_rows`, is all it needs)."""
    w = _where(t)
    exact = f"cast({t.of} as decimal(38, 9))"
    if _counts_rows(t):
        return [f"count(*){_filter(w)} as {t.name}__rows"] if w else []
    if t.kind == "days_since" and t.of is not None:
        return [f"max({date_sql(t.of, table.columns[t.of])}){_filter(w)} as {t.name}__max"]
    if t.kind == "sum":
        return [f"sum({exact}){_filter(w)} as {t.name}__sum"]
    if t.kind == "avg":
        return [f"sum({exact}){_filter(w)} as {t.name}__sum", f"count({t.of}){_filter(w)} as {t.name}__count"]
    if t.kind in ("min", "max") or t.extreme:
        fn = t.extreme or t.kind
        return [f"{fn}({t.of}){_filter(w)} as {t.name}__{fn}"]
    if t.kind in ("first", "last"):
        fn, best = ("arg_min", "min") if t.kind == "first" else ("arg_max", "max")
        return [macro(fn, t.of, list(t.order_by)) + f"{_filter(w)} as {t.name}__value",
                f"{best}({macro('order_key', list(t.order_by))}){_filter(w, f'{t.of} is not null')} as {t.name}__order"]
    raise AssertionError(f"a {t.kind} trait has its parts per value (by_value)")


def _final(t: Trait) -> str:
    """The trait in the traits model, from the parts of the days in its window."""
    window = t.window.sql(AS_OF) if t.window else None
    fw = _filter(window)
    some_rows = f"{t.name}__rows > 0" if t.where else None     # a day with rows the trait counts
    if t.kind == "count":
        return f"cast(coalesce(sum({_rows_column(t)}){fw}, 0) as bigint)"
    if t.kind == "unique_count":      # of the business date: the days with a row
        return f"count(*){_filter(some_rows, window)}"
    if t.kind == "days_since":
        latest = f"max({t.name}__max){fw}" if t.of is not None else f"max(business_date){_filter(some_rows, window)}"
        return macro("days_between", latest, AS_OF)
    if t.kind == "sum":
        return f"coalesce(sum({t.name}__sum){fw}, 0)"
    if t.kind == "avg":
        return f"cast(sum({t.name}__sum){fw} as double) / nullif(sum({t.name}__count){fw}, 0)"
    if t.kind in ("min", "max") or t.extreme:
        fn = t.extreme or t.kind
        return f"{fn}({t.name}__{fn}){fw}"
    fn = "arg_min" if t.kind == "first" else "arg_max"
    return macro(fn, f"{t.name}__value", f"{t.name}__order") + fw


def _alias(column: str) -> str:
    """The name a select column (`<expression> as <name>`) is given."""
    return column.rsplit(" as ", 1)[1]


def _in_lifetime(t: Trait) -> bool:
    """Traits over every day up to the night, carried per customer in `_lifetime`."""
    return t.window is None and not by_value(t)


# How a day's part combines over days, by its column's suffix.
COMBINED_BY = {"rows": "sum", "sum": "sum", "count": "sum", "min": "min", "max": "max"}


def _lifetime_parts(t: Trait, table: Table) -> list[str]:
    """The trait's parts over all of a customer's days (an aggregate of the days model's rows)."""
    some_rows = f"{t.name}__rows > 0" if t.where else None
    if t.kind == "count" and not t.where:
        return [f"sum(day_rows) as {t.name}__rows"]
    if t.kind == "unique_count":      # of the business date: the days with a row
        return [f"count(*){_filter(some_rows)} as {t.name}__days"]
    if t.kind == "days_since" and t.of is None:
        # every row: the customer's last day (`last_day`); filtered: the last day with such rows
        return [f"max(business_date){_filter(some_rows)} as {t.name}__max"] if t.where else []
    if t.kind in ("first", "last") and not t.extreme:
        fn, best = ("arg_min", "min") if t.kind == "first" else ("arg_max", "max")
        return [macro(fn, f"{t.name}__value", f"{t.name}__order") + f" as {t.name}__value",
                f"{best}({t.name}__order) as {t.name}__order"]
    columns = [_alias(part) for part in _parts(t, table)]
    return [f"{COMBINED_BY[c.rsplit('__', 1)[1]]}({c}) as {c}" for c in columns]


def _lifetime_final(t: Trait) -> str:
    """The trait from its customer's `_lifetime` row."""
    if t.kind == "count":
        return f"cast(coalesce({t.name}__rows, 0) as bigint)"
    if t.kind == "unique_count":
        return f"coalesce({t.name}__days, 0)"
    if t.kind == "days_since":
        return macro("days_between", "last_day" if t.of is None and not t.where else f"{t.name}__max", AS_OF)
    if t.kind == "sum":
        return f"coalesce({t.name}__sum, 0)"
    if t.kind == "avg":
        return f"cast({t.name}__sum as double) / nullif({t.name}__count, 0)"
    if t.kind in ("min", "max") or t.extreme:
        return f"{t.name}__{t.extreme or t.kind}"
    return f"{t.name}__value"


def _lifetime_columns(g: Group) -> list[str]:
    """The `_lifetime` model's columns after customer_id: the customer's last day, then each
    lifetime trait's parts (an aggregate per column, over the customer's days)."""
    return ["max(business_date) as last_day",
            *(p for t in g.traits if _in_lifetime(t) for p in _lifetime_parts(t, g.table))]


def _lifetime_select(g: Group, customers: str | None = None, days: str = "", join: str = "join") -> str:
    """The lifetime row of each of `customers` (a query of customer_id; default: every customer
    with days) from their days (`days`: which); with a left join, a customer without days has a
    row of nulls."""
    columns = "".join(f",\n    {c}" for c in _lifetime_columns(g))
    source = f"{{{{ ref('{g.model}_days') }}}} d"
    if customers is None:
        return f"select\n    d.customer_id{columns}\nfrom {source}\ngroup by d.customer_id\n"
    return (f"select\n    c.customer_id{columns}\nfrom ({customers}) c\n"
            f"{join} {source} on d.customer_id = c.customer_id{days}\ngroup by c.customer_id\n")


def _lifetime_sql(g: Group, days_sql: str) -> str:
    # The parts are the days model's columns: its code's digest is part of this one's, so a
    # changed part (a trait's filter) derives every customer again here too.
    digest = hashlib.md5(days_sql.encode()).hexdigest()
    return (f"-- Each customer's part of the {g.name} traits over all their days (trait_parts.py), from "
            f"`{g.model}_days` (digest {digest}):\n-- restated for the customers whose days "
            f"{g.table.name} changed; a customer with no day left loses their row.\n"
            f"{{{{ restated_by_customer('{g.table.name}', kept_rows='last_day is not null', audited=true) }}}}\n"
            "{%- set logged = logged_customer_days() %}\n"
            "{%- if logged is none %}\n" + _lifetime_select(g)
            + "{%- else %}\n" + _lifetime_select(g, "select distinct customer_id from ({{ logged }}) l", join="left join")
            + "{%- endif %}\n")


def _rows(g: Group, extra: str = "") -> str:
    group_filter = f"\n  and {column_sql(g.where)}" if g.where else ""
    return (f"from {{{{ ref('{g.table.name}') }}}}\nwhere customer_id <> 'anonymous'{group_filter}{extra}\n"
            f"  and {{{{ restated_customer_days() }}}}\n")


def _days_sql(g: Group) -> str:
    parts = [p for t in g.traits if not by_value(t) for p in _parts(t, g.table)]
    columns = "".join(f",\n    {p}" for p in parts)
    return (f"-- Each customer-day's part of the {g.name} traits (trait_parts.py): restated only for the "
            f"customer-days {g.table.name} changed.\n{{{{ restated_by_customer_day('{g.table.name}') }}}}\n"
            + f"select\n    customer_id,\n    business_date,\n    count(*) as day_rows{columns}\n"
            + _rows(g) + "group by customer_id, business_date\n")


def _day_values_sql(g: Group) -> str:
    valued = [t for t in g.traits if by_value(t)]
    selects = []
    for t in valued:
        # one column per trait (union all matches columns by position): this trait's values, the others null
        columns = ", ".join(f"{o.of} as {o.name}" if o is t else f"cast(null as {_sql_type(g.table.columns[o.of])}) as {o.name}"
                            for o in valued)
        # most_frequent counts non-null values; a distinct list keeps a day of null values apart
        # (a customer whose rows all lack the value has an empty list, not none)
        not_null = f"\n  and {t.of} is not null" if t.kind == "most_frequent" else ""
        where = f"\n  and {_where(t)}" if t.where else ""
        selects.append(
            f"select customer_id, business_date, '{t.name}' as trait, {columns},\n"
            f"    count(*) as n, max(({g.table.time}, {g.table.key})) as latest\n"
            + _rows(g, where + not_null) + f"group by customer_id, business_date, {t.of}\n")
    return (f"-- Each customer-day's values for the {g.name} traits that need every value (trait_parts.py): "
            f"restated with `{g.model}_days`.\n{{{{ restated_by_customer_day('{g.table.name}') }}}}\n"
            + "union all\n".join(selects))


def _sql_type(kind: str) -> str:
    return {"integer": "bigint", "number": "decimal(38, 9)", "date": "date", "timestamp": "timestamp",
            "boolean": "boolean"}.get(kind, "string")


def _traits_sql(g: Group) -> str:
    plain = [t for t in g.traits if not by_value(t)]
    windowed = [t for t in plain if t.window]
    lifetime_columns = ", ".join(["customer_id", *map(_alias, _lifetime_columns(g))])
    later = f"select customer_id from {{{{ ref('{g.model}_lifetime') }}}} where last_day > {AS_OF}"
    ctes = [f"""lifetime as (
    select {lifetime_columns}
    from {{{{ ref('{g.model}_lifetime') }}}}
    where last_day <= {AS_OF}
    union all
    -- customers with days after the night (a clock ahead, an earlier night built again): up to it
    """ + _lifetime_select(g, later, f" and d.business_date <= {AS_OF}").replace("\n", "\n    ").rstrip() + "\n)"]
    if windowed:
        widest = max(t.window.start for t in windowed)
        ctes.append("windowed as (\n    select\n        customer_id" + "".join(
            f",\n        {_final(t)} as {t.name}" for t in windowed)
            + f"\n    from {{{{ ref('{g.model}_days') }}}}\n    where business_date > {AS_OF} - {widest} "
            f"and business_date <= {AS_OF}\n    group by customer_id\n)")
    finals = "".join(f",\n        {_lifetime_final(t)} as {t.name}" if _in_lifetime(t) else
                     f",\n        coalesce(windowed.{t.name}, {t.default}) as {t.name}" if t.default else
                     f",\n        windowed.{t.name}" for t in plain)
    ctes.append("aggregates as (\n    select\n        customer_id" + finals + "\n    from lifetime"
                + ("\n    left join windowed using (customer_id)" if windowed else "") + "\n)")
    valued = [t for t in g.traits if by_value(t)]
    for t in valued:
        window = f" and {t.window.sql(AS_OF)}" if t.window else ""
        values = (f"select * from {{{{ ref('{g.model}_day_values') }}}}\n"
                  f"        where trait = '{t.name}' and business_date <= {AS_OF}{window}")
        if t.kind == "most_frequent":
            # the value on most rows; ties: the most recent row, then the value itself
            body = f"""select customer_id, {macro("arg_max", "value", ["n", "latest", "value"])} as {t.name}
    from (
        select customer_id, {t.name} as value, sum(n) as n, max(latest) as latest
        from ({values})
        group by customer_id, {t.name}
    )"""
        elif t.kind == "unique_count":
            body = f"select customer_id, count(distinct {t.name}) as {t.name}\n    from ({values})"
        else:
            body = f"select customer_id, {macro('sorted_set_agg', t.name)} as {t.name}\n    from ({values})"
        ctes.append(f"{t.name} as (\n    {body}\n    group by customer_id\n)")
    joins = "".join(f"\nleft join {t.name} using (customer_id)" for t in valued)
    columns = "".join(f",\n    coalesce({t.name}.{t.name}, 0) as {t.name}" if t.kind == "unique_count"
                      else f",\n    {t.name}.{t.name}" for t in valued)
    # the traits in the order the group declares them
    order = ", ".join(t.name for t in g.traits)
    return ("-- From the customer-days' parts (pipelines/lib/specs/trait_parts.py).\n"
            + "with " + ",\n\n".join(ctes)
            + f"\n\nselect customer_id, {order}\nfrom (\n    select\n        aggregates.*{columns.replace(chr(10), chr(10) + '    ')}"
            + f"\n    from aggregates{joins.replace(chr(10), chr(10) + '    ')}\n)\n")
