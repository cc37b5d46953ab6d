{#- `column_name` holds only the accepted `values` in the rows of the night being built (history
    tables keep one set of rows per as_of_date; a renamed value lives on in older nights). -#}
{% test accepted_values_per_night(model, column_name, values) %}
select {{ column_name }} as value, count(*) as n
from {{ model }}
where as_of_date = {{ as_of_date() }}
    and {{ column_name }} not in ({% for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %})
group by 1
{% endtest %}
