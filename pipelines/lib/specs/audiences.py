"""Audiences from `specs/audiences/*.yml`: validation (names, fields, types, cycles) and SQL.

Each audience is one dbt model named as the audience, with tonight's members and their
treatment/holdout group; `audience_membership` unions them night by night.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .condition_sql import Renderer, column_sql, text_literal
from .conditions import InAudience, Node, Performed, Scope, leaves, parse
from .engine_sql import macro
from .errors import At
from .tables import CUSTOMERS, EVENTS
from .traits import check_name

# The customers' consent columns each purpose needs (any one of them). Ads (customer-match
# uploads) need a marketing consent: SMS or email; the CRM has no ads flag.
PURPOSE_CONSENT = {"sms": ("consent_sms",), "email": ("consent_email",), "wechat": ("consent_wechat",),
                   "ads": ("consent_sms", "consent_email")}
PURPOSES = tuple(PURPOSE_CONSENT)
CONTACT_COLUMNS = ("phone_sha256", "email_sha256")
FIELDS = {"description", "owner", "purpose", "export", "holdout", "when", "max_change", "min_change", "allow_empty"}
DEFAULT_MIN_CHANGE = 50


@dataclass(frozen=True)
class Audience:
    name: str
    file: str
    description: str
    owner: str
    purpose: str
    export: tuple[str, ...]
    holdout: float
    when: Node
    max_change: float
    min_change: int
    allow_empty: bool
    raw: dict = field(compare=False, repr=False, default_factory=dict)

    @property
    def depends_on(self) -> set[str]:
        return {leaf.name for leaf in leaves(self.when) if isinstance(leaf, InAudience)}


def parse_audiences(files: dict[str, Any], traits: dict[str, str], tags: set[str],
                    event_types: set[str] | None, default_max_change: float) -> tuple[Audience, ...]:
    """Every audience of every file, checked; names are unique across files; no cycles."""
    seen: dict[str, str] = {}
    raw_items: list[tuple[str, str, Any]] = []
    for file, doc in files.items():
        if not isinstance(doc, dict) or not isinstance(doc.get("audiences"), dict):
            raise At(file, "file").error("expected `audiences:` mapping audience names to definitions")
        for name, spec in doc["audiences"].items():
            at = At(file, f"audience '{name}'")
            check_name(name, at)
            if name in seen:
                raise at.error(f"audience {name!r} is also defined in {seen[name]}")
            seen[name] = file
            raw_items.append((file, name, spec))
    scope = Scope(traits=traits, tags=tags, audiences=set(seen), lists=True,
                  event_columns=EVENTS.columns, event_types=event_types)
    audiences = tuple(_parse_one(file, name, spec, scope, default_max_change) for file, name, spec in raw_items)
    _check_cycles(audiences)
    return audiences


def _parse_one(file: str, name: str, spec: Any, scope: Scope, default_max_change: float) -> Audience:
    at = At(file, f"audience '{name}'")
    if not isinstance(spec, dict):
        raise at.error("expected a mapping with description, owner, purpose, when")
    extra = sorted(set(spec) - FIELDS)
    if extra:
        raise at.child(extra[0]).error(f"unexpected field (allowed: {', '.join(sorted(FIELDS))})")
    for required in ("description", "owner", "purpose", "when"):
        if not spec.get(required):
            raise at.child(required).error("required")
    if spec["purpose"] not in PURPOSES:
        raise at.child("purpose").error(f"expected one of {', '.join(PURPOSES)}, got {spec['purpose']!r}")
    export = spec.get("export") or []
    allowed = set(scope.traits or {}) | set(CUSTOMERS.columns) | set(CONTACT_COLUMNS)
    if not isinstance(export, list):
        raise at.child("export").error("expected a list of columns")
    for i, col in enumerate(export):
        if col not in allowed:
            raise at.child("export").child(i).error(f"unknown export column {col!r} (a trait, a customers column, "
                                                    f"or {', '.join(CONTACT_COLUMNS)})")
    holdout = spec.get("holdout", 0)
    if not isinstance(holdout, (int, float)) or isinstance(holdout, bool) or not 0 <= holdout < 1:
        raise at.child("holdout").error(f"expected a share between 0 and 1 (0.1 = 10%), got {holdout!r}")
    max_change = spec.get("max_change", default_max_change)
    if not isinstance(max_change, (int, float)) or isinstance(max_change, bool) or max_change <= 0:
        raise at.child("max_change").error(f"expected a share > 0 (0.5 = size may move by 50%), got {max_change!r}")
    min_change = spec.get("min_change", DEFAULT_MIN_CHANGE)
    if not isinstance(min_change, int) or isinstance(min_change, bool) or min_change < 0:
        raise at.child("min_change").error(f"expected a whole number of members >= 0, got {min_change!r}")
    when = parse(spec["when"], scope, at.child("when"))
    if name in {leaf.name for leaf in leaves(when) if isinstance(leaf, InAudience)}:
        raise at.child("when").error(f"audience {name!r} refers to itself")
    return Audience(name, file, str(spec["description"]).strip(), str(spec["owner"]), spec["purpose"],
                    tuple(export), float(holdout), when, float(max_change), min_change,
                    bool(spec.get("allow_empty", False)), spec)


def _check_cycles(audiences: tuple[Audience, ...]) -> None:
    by_name = {a.name: a for a in audiences}
    state: dict[str, int] = {}                  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            a = by_name[path[-1]]
            raise At(a.file, f"audience '{a.name}'", "when").error(f"a cycle between audiences: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in sorted(by_name[name].depends_on):
            visit(dep, path + [name])
        state[name] = 2

    for a in audiences:
        visit(a.name, [])


AS_OF = "{{ as_of_date() }}"


def performed_filter(p: Performed, as_of: str) -> str:
    """The events a behaviour condition counts: its types, window and column filter, up to as_of."""
    types = ", ".join(text_literal(t) for t in p.event_types)
    window = f"\n      and {p.window.sql(as_of)}" if p.window else ""
    where = f"\n      and {column_sql(p.where)}" if p.where else ""
    return (f"customer_id <> 'anonymous' and business_date <= {as_of}\n"
            f"      and event_type in ({types}){window}{where}")


def performed_sql(p: Performed, as_of: str, events: str) -> str:
    """Events of the condition, counted per customer."""
    return (f"select customer_id, count(*) as n\n    from {events}\n"
            f"    where {performed_filter(p, as_of)}\n    group by customer_id")


def count_holds(p: Performed, n: str) -> str:
    parts = []
    if p.at_least is not None:
        parts.append(f"coalesce({n}, 0) >= {p.at_least}")
    if p.at_most is not None:
        parts.append(f"coalesce({n}, 0) <= {p.at_most}")
    return "(" + " and ".join(parts) + ")"


def audience_sql(a: Audience) -> str:
    performed: list[Performed] = []

    def behaviour(p: Performed) -> str:
        performed.append(p)
        return count_holds(p, f"performed_{len(performed)}.n")

    renderer = Renderer(
        subject=lambda c: f"t.{c.subject}",
        tag=lambda t: f"array_contains(t.tags, '{t.name}')",
        performed=behaviour,
        in_audience=lambda x: f"t.customer_id in (select customer_id from {{{{ ref('{x.name}') }}}})",
        in_list=lambda x: (f"t.customer_id in (select customer_id from {{{{ ref('list_members') }}}} "
                           f"where list = '{x.name}')"))
    condition = renderer.sql(a.when)
    events = "{{ ref('events') }}"
    ctes = "".join(f",\n\nperformed_{i} as (\n    {performed_sql(p, AS_OF, events)}\n)"
                   for i, p in enumerate(performed, 1))
    joins = "".join(f"\n    left join performed_{i} on performed_{i}.customer_id = t.customer_id"
                    for i in range(1, len(performed) + 1))
    return f"""{{{{ config(materialized='table') }}}}
-- Generated from {a.file} by pipelines/lib/specs: edit the YAML, not this file.
-- {' '.join(a.description.split())}
with traits as (
    select * from {{{{ ref('customer_traits') }}}} where as_of_date = {AS_OF}
){ctes},

members as (
    select t.customer_id
    from traits t{joins}
    where {condition}
)

select
    '{a.name}' as audience,
    {AS_OF} as as_of_date,
    m.customer_id,
    {holdout_sql(a)} as is_holdout
from members m
left join {{{{ ref('holdout_keys') }}}} h on h.customer_id = m.customer_id and h.as_of_date = {AS_OF}
"""


def holdout_sql(a: Audience) -> str:
    """Holdout when the salted hash of (audience, the customer's holdout key) falls in the share."""
    if a.holdout == 0:
        return "false"
    bucket = macro("hash_bucket", f"'{{{{ var(\"holdout_salt\") }}}}:{a.name}:' || h.holdout_key", "10000")
    return f"{bucket} < {round(a.holdout * 10000)}"
