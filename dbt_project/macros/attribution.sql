{#- The attribution variants: every model, lookback window and touch mode, as one-column
    relations to cross join (one list, used by the models and their tests). -#}
{% macro attribution_models() -%}
{{ one_column('model', ["'first_touch'", "'last_touch'", "'last_non_direct'", "'linear'", "'position_based'",
                        "'time_decay'", "'markov'", "'shapley'"]) }}
{%- endmacro %}

{% macro attribution_lookbacks() -%}
{{ one_column('lookback_days', var('attribution_lookback_days')) }}
{%- endmacro %}

{% macro attribution_touch_modes() -%}
{{ one_column('touch_mode', ["'click'", "'view'"]) }}
{%- endmacro %}

{#- A relation of one column `name` holding the SQL `values`, one row each. -#}
{% macro one_column(name, values) -%}
(select * from (values {% for v in values %}({{ v }}){{ ", " if not loop.last }}{% endfor %}) as v({{ name }}))
{%- endmacro %}

{#- Path summaries of `journeys` (a relation with touches, conversions, non_conversions and
    revenue; touches ordered, each with channel, age_days and is_click): per lookback window and
    touch mode, the channels of the touches the window keeps joined by ` > `. A conversion that
    keeps no touch is `unattributed`; an open journey that keeps none is no path. -#}
{% macro journey_paths(journeys) -%}
{%- set view_days = var('attribution_view_window_days') -%}
select
    lookback_days,
    touch_mode,
    case when kept is null or cardinality(kept) = 0 then 'unattributed'
         else {{ join_list(list_transform('kept', 't', 't.channel'), "' > '") }} end as path,
    sum(conversions)::bigint as conversions,
    sum(non_conversions)::bigint as non_conversions,
    sum(revenue) as revenue
from (
    select
        l.lookback_days, m.touch_mode, j.conversions, j.non_conversions, j.revenue,
        {{ list_filter('j.touches', 't', "t.age_days <= l.lookback_days
                       and (t.is_click or (m.touch_mode = 'view' and t.age_days <= " ~ view_days ~ "))") }} as kept
    from {{ journeys }} j
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} m
)
where conversions = 1 or cardinality(kept) > 0
group by all
{%- endmacro %}
