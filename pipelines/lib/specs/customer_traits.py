"""Tags, RFM and lifecycle stages from `specs/traits.yml`, and the `customer_traits` model that
joins every trait group into one row per customer per as_of_date."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .condition_sql import Renderer
from .conditions import Node, Scope, parse
from .engine_sql import call
from .errors import At
from .tables import INTEGER, NUMBER, TEXT, TEXT_LIST
from .traits import Group, Ratio, check_name

STAGES = ("introduction", "growth", "maturity", "dormancy", "churn")


@dataclass(frozen=True)
class RuleTag:
    name: str
    when: Node
    description: str = ""


@dataclass(frozen=True)
class Segment:
    name: str
    r: tuple[int, int]
    fm: tuple[int, int]


@dataclass(frozen=True)
class Rfm:
    recency: str
    frequency: str
    monetary: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Stage:
    name: str
    when: Node | None                   # None: otherwise
    description: str = ""


def parse_tags(raw: Any, traits: dict[str, str], file: str) -> tuple[RuleTag, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise At(file, "tags").error("expected a mapping of tag name -> {when, description}")
    out = []
    for name, spec in raw.items():
        at = At(file, f"tag '{name}'")
        check_name(name, at)
        if not isinstance(spec, dict) or "when" not in spec:
            raise at.child("when").error("a rule tag needs `when:` (a condition over traits)")
        out.append(RuleTag(name, parse(spec["when"], Scope(traits=traits), at.child("when")),
                           str(spec.get("description", "")).strip()))
    return tuple(out)


def parse_rfm(raw: Any, traits: dict[str, str], file: str) -> Rfm:
    at = At(file, "rfm")
    if not isinstance(raw, dict):
        raise at.error("expected recency, frequency, monetary and segments")
    for part in ("recency", "frequency", "monetary"):
        if traits.get(raw.get(part)) not in (INTEGER, NUMBER):
            raise at.child(part).error(f"expected a numeric trait, got {raw.get(part)!r}")
    segments = []
    for i, s in enumerate(raw.get("segments") or []):
        sat = at.child("segments").child(i)
        if not isinstance(s, dict) or set(s) != {"name", "r", "fm"}:
            raise sat.error("expected {name, r: [low, high], fm: [low, high]}")
        for part in ("r", "fm"):
            v = s[part]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and 1 <= x <= 5 for x in v) and v[0] <= v[1]):
                raise sat.child(part).error(f"expected [low, high] scores between 1 and 5, got {v!r}")
        segments.append(Segment(check_name(s["name"], sat.child("name")), tuple(s["r"]), tuple(s["fm"])))
    uncovered = [(r, fm) for r in range(1, 6) for fm in range(1, 6)
                 if not any(s.r[0] <= r <= s.r[1] and s.fm[0] <= fm <= s.fm[1] for s in segments)]
    if uncovered:
        raise at.child("segments").error(f"no segment covers r, fm = {uncovered[:5]}")
    return Rfm(raw["recency"], raw["frequency"], raw["monetary"], tuple(segments))


def parse_lifecycle(raw: Any, scope: Scope, file: str) -> tuple[Stage, ...]:
    at = At(file, "lifecycle")
    if not isinstance(raw, list) or not raw:
        raise at.error("expected a list of stages, the last one `otherwise: true`")
    stages = []
    for i, s in enumerate(raw):
        sat = at.child(i)
        if not isinstance(s, dict) or s.get("stage") not in STAGES:
            raise sat.child("stage").error(f"expected one of {', '.join(STAGES)}, got {s.get('stage') if isinstance(s, dict) else s!r}")
        last = i == len(raw) - 1
        if last != bool(s.get("otherwise")) or (last and "when" in s) or (not last and "when" not in s):
            raise sat.error("every stage but the last has `when:`; the last has `otherwise: true`")
        when = None if last else parse(s["when"], scope, sat.child("when"))
        stages.append(Stage(s["stage"], when, str(s.get("description", "")).strip()))
    names = [s.name for s in stages]
    if sorted(names) != sorted(STAGES):
        raise at.error(f"each of {', '.join(STAGES)} appears once; got {names}")
    return tuple(stages)


def customer_traits_sql(groups: tuple[Group, ...], ratios: tuple[Ratio, ...], tags: tuple[RuleTag, ...],
                        rfm: Rfm, stages: tuple[Stage, ...]) -> str:
    """One row per customer for the night: every group's traits, ratios, RFM, tags, stage."""
    config = "{{ nightly_history(keep='traits_history_days', on_schema_change='append_new_columns') }}"
    cols, joins = [], []
    for g in groups:
        joins.append(f"left join {{{{ ref('{g.model}') }}}} {g.name} on {g.name}.customer_id = c.customer_id")
        for t in g.traits:
            expr = f"{g.name}.{t.name}"
            cols.append(f"coalesce({expr}, {t.default}) as {t.name}" if t.default else f"{expr} as {t.name}")
    ratio_cols = "".join(f",\n        {r.numerator} / nullif({r.denominator}, 0) as {r.name}" for r in ratios)
    by_trait = Renderer(subject=lambda c: c.subject, tag=lambda t: f"array_contains(tags, '{t.name}')")
    rule_tags = [f"case when {by_trait.sql(t.when)} then '{t.name}' end" for t in tags]
    # the rule tags that hold and the manual ones, sorted, without repeats
    tags_sql = ("{{ sorted_set(concat_lists(" + call("list_of", rule_tags, "string") + ", "
                + "'coalesce(m.tags, ' ~ list_of([], 'string') ~ ')')) }}")
    segments = "\n".join(f"            when rfm.rfm_r between {s.r[0]} and {s.r[1]} and rfm.fm between {s.fm[0]} and {s.fm[1]} "
                         f"then '{s.name}'" for s in rfm.segments)
    stage_case = "\n".join(f"            when {by_trait.sql(s.when)} then '{s.name}'" for s in stages if s.when)
    otherwise = next(s.name for s in stages if s.when is None)
    return f"""{config}
-- Generated from specs/traits.yml by pipelines/lib/specs: edit the YAML, not this file.
with traits as (
    select
        c.customer_id,
        {{{{ as_of_date() }}}} as as_of_date,
        {(',' + chr(10) + '        ').join(cols)}
    from {{{{ ref('customers') }}}} c
    {(chr(10) + '    ').join(joins)}
),

derived as (
    select
        *{ratio_cols}
    from traits
),

-- RFM over customers with at least one order: score = 1 + floor(5 x share strictly worse).
rfm_scores as (
    select
        customer_id,
        cast(1 + floor(5 * (rank() over (order by {rfm.recency} desc) - 1) / count(*) over ()) as integer) as rfm_r,
        cast(1 + floor(5 * (rank() over (order by {rfm.frequency}) - 1) / count(*) over ()) as integer) as rfm_f,
        cast(1 + floor(5 * (rank() over (order by {rfm.monetary}) - 1) / count(*) over ()) as integer) as rfm_m
    from derived
    where {rfm.frequency} > 0
),

rfm as (
    select *, cast(floor((rfm_f + rfm_m) / 2) as integer) as fm from rfm_scores
),

scored as (
    select
        d.*,
        rfm.rfm_r,
        rfm.rfm_f,
        rfm.rfm_m,
        case
{segments}
        end as rfm_segment
    from derived d
    left join rfm on rfm.customer_id = d.customer_id
),

tagged as (
    select
        s.*,
        {tags_sql} as tags
    from scored s
    left join {{{{ ref('customer_manual_tags') }}}} m on m.customer_id = s.customer_id
)

select
    *,
    case
{stage_case}
        else '{otherwise}'
    end as lifecycle_stage
from tagged
"""


def catalog(groups: tuple[Group, ...], ratios: tuple[Ratio, ...]) -> dict[str, str]:
    """Every column of customer_traits an audience may test, with its type."""
    out = {t.name: t.type for g in groups for t in g.traits}
    out.update({r.name: r.type for r in ratios})
    out.update({"rfm_r": INTEGER, "rfm_f": INTEGER, "rfm_m": INTEGER, "rfm_segment": TEXT,
                "lifecycle_stage": TEXT, "tags": TEXT_LIST})
    return out
