{#- Gender as sources deliver it (M/F, 男/女, 1/2, words) mapped to `female`, `male` or null. -#}
{% macro gender(column) -%}
case
    when upper(trim({{ column }})) in ('F', 'FEMALE', '女', '2', 'W', 'WOMAN') then 'female'
    when upper(trim({{ column }})) in ('M', 'MALE', '男', '1', 'MAN') then 'male'
end
{%- endmacro %}
