{#- Each listed trait's null share and (numeric ones) mean tonight against a reference night
    of the same history table: a trait whose null share moved by more than `max_null_shift`
    (absolute) or whose mean moved by more than `max_mean_change` (relative) is returned, with
    both nights' figures. A broken source shows up here first.
    The reference is `CDP_GATE_REFERENCE_DATE` (the night of the published analyst snapshot, the
    last night every gate passed) when it is in the history, else the previous night: a break
    refused tonight is still refused tomorrow, instead of becoming tomorrow's normal. A reference
    night with fewer than `min_customers` customers is no reference (small worlds wobble), and a
    trait over a window (`windows`: trait -> days) is left out while the reference night's window
    still reaches before the lake's first delivery: it is filling, not drifting (a young deployment). -#}
{% test traits_are_stable(model, columns, numeric, max_null_shift=0.2, max_mean_change=0.5, min_customers=1000,
                          windows={}) %}
{%- set reference = runtime_env('CDP_GATE_REFERENCE_DATE', '') %}
with nights as (
    select
        {{ as_of_date() }} as tonight,
        coalesce(
            {%- if reference %}
            (select max(as_of_date) from {{ model }}
             where as_of_date = date '{{ reference }}' and as_of_date < {{ as_of_date() }}),
            {%- endif %}
            (select max(as_of_date) from {{ model }} where as_of_date < {{ as_of_date() }})) as previous
),

-- the lake's first delivery: events may be older (a CRM's registrations, a mall's backfill),
-- but the windows fill from when the channels began delivering
history as (
    select {{ lake_first_delivery() }} as first_day
),

-- both nights' figures side by side in one row, from one pass over the two nights: the checks
-- below read that row only (a scalar subquery per check made Spark run a job for each)
figures as (
    select
        {%- for c in columns %}
        avg(case when m.as_of_date = n.tonight then case when m.{{ c }} is null then 1.0 else 0.0 end end) as t_null_{{ c }},
        avg(case when m.as_of_date = n.previous then case when m.{{ c }} is null then 1.0 else 0.0 end end) as p_null_{{ c }},
        {%- endfor %}
        {%- for c in numeric %}
        avg(case when m.as_of_date = n.tonight then m.{{ c }} end) as t_mean_{{ c }},
        avg(case when m.as_of_date = n.previous then m.{{ c }} end) as p_mean_{{ c }},
        {%- endfor %}
        count(case when m.as_of_date = n.previous then 1 end) as p_customers,
        max(n.previous) as reference_night
    from {{ model }} m cross join nights n
    where m.as_of_date in (n.tonight, n.previous)
),

compared as (
    select f.*, h.first_day
    from figures f cross join history h
    where f.p_customers >= {{ min_customers }}
),

{#- one row per check, read from that one row (not a branch per check: Spark would compute the
    figures once per branch) #}
{%- set checks = [] %}
{%- for c in columns %}
{%- do checks.append((c, 'null share', 'p_null_' ~ c, 't_null_' ~ c,
                      'abs(t_null_' ~ c ~ ' - p_null_' ~ c ~ ') > ' ~ max_null_shift)) %}
{%- endfor %}
{%- for c in numeric %}
{%- do checks.append((c, 'mean', 'p_mean_' ~ c, 't_mean_' ~ c,
                      'abs(t_mean_' ~ c ~ ' - p_mean_' ~ c ~ ') > ' ~ max_mean_change ~ ' * abs(p_mean_' ~ c ~ ')')) %}
{%- endfor %}
checks as (
    select * from (values
    {%- for trait, figure, _, _, _ in checks %}
        ({{ loop.index }}, '{{ trait }}', '{{ figure }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as k(check_no, trait, figure)
),

verdicts as (
    select
        k.trait,
        k.figure,
        case k.check_no {%- for _, _, previous, _, _ in checks %} when {{ loop.index }} then {{ previous }}{% endfor %} end as previous,
        case k.check_no {%- for _, _, _, tonight, _ in checks %} when {{ loop.index }} then {{ tonight }}{% endfor %} end as tonight,
        case k.check_no
            {%- for trait, _, _, _, moved in checks %}
            when {{ loop.index }} then {{ moved }}
            {%- if trait in windows %} and reference_night - {{ windows[trait] }} + 1 >= first_day{% endif %}
            {%- endfor %}
        end as moved
    from compared cross join checks k
)

select trait, figure, previous, tonight from verdicts where moved
{% endtest %}
