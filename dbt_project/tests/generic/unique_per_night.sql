{#- `column_name` is unique among the rows of the night being built (history tables keep
    one set of rows per as_of_date). -#}
{% test unique_per_night(model, column_name) %}
select {{ column_name }} as value, count(*) as n
from {{ model }}
where as_of_date = {{ as_of_date() }}
group by 1
having count(*) > 1
{% endtest %}
