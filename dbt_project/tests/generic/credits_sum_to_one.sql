{#- Every group's credits add up to 1 (within rounding): nothing is credited twice or lost. -#}
{% test credits_sum_to_one(model, group_by, column_name='credit') %}
select {{ group_by | join(', ') }}, sum({{ column_name }}) as total
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > 1e-9
{% endtest %}
