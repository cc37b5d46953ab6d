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

figures as (
    select
        as_of_date = (select tonight from nights) as is_tonight,
        {%- for c in columns %}
        avg(case when {{ c }} is null then 1.0 else 0.0 end) as null_{{ c }},
        {%- endfor %}
        {%- for c in numeric %}
        avg({{ c }}) as mean_{{ c }},
        {%- endfor %}
        count(*) as customers
    from {{ model }}
    where as_of_date in (select tonight from nights union all select previous from nights)
    group by 1
),

-- the lake's first delivery: events may be older (a CRM's registrations, a mall's backfill),
-- but the windows fill from when the channels began delivering
history as (
    select {{ lake_first_delivery() }} as first_day
),

t as (select * from figures where is_tonight),
p as (select * from figures where not is_tonight and customers >= {{ min_customers }})

{%- for c in columns %}
{%- set full = " and (select previous from nights) - " ~ windows[c] ~ " + 1 >= (select first_day from history)"
                if c in windows else "" %}
select '{{ c }}' as trait, 'null share' as figure, p.null_{{ c }} as previous, t.null_{{ c }} as tonight
from t, p where abs(t.null_{{ c }} - p.null_{{ c }}) > {{ max_null_shift }}{{ full }}
union all
{%- endfor %}
{%- for c in numeric %}
{%- set full = " and (select previous from nights) - " ~ windows[c] ~ " + 1 >= (select first_day from history)"
                if c in windows else "" %}
select '{{ c }}', 'mean', p.mean_{{ c }}, t.mean_{{ c }}
from t, p where abs(t.mean_{{ c }} - p.mean_{{ c }}) > {{ max_mean_change }} * abs(p.mean_{{ c }}){{ full }}
union all
{%- endfor %}
select null, null, null, null where false
{% endtest %}

