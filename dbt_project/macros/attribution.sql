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
