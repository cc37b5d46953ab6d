{#- The attribution variants: every model, lookback window and touch mode, as one-column
    relations to cross join (one list, used by the models and their tests). -#}
{% macro attribution_models() -%}
(select unnest(['first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based',
                'time_decay', 'markov', 'shapley']) as model)
{%- endmacro %}

{% macro attribution_lookbacks() -%}
(select unnest([{{ var('attribution_lookback_days') | join(', ') }}]) as lookback_days)
{%- endmacro %}

{% macro attribution_touch_modes() -%}
(select unnest(['click', 'view']) as touch_mode)
{%- endmacro %}
