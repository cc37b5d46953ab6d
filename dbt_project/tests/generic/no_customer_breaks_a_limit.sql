{#- No customer holds more values of a type than `identity_id_types.max_per_customer` allows. -#}
{% test no_customer_breaks_a_limit(model) %}
select r.customer_id, r.id_type, count(*) as values_held, any_value(t.max_per_customer) as allowed
from {{ model }} r
join {{ ref('identity_id_types') }} t using (id_type)
where t.max_per_customer is not null
group by r.customer_id, r.id_type
having count(*) > any_value(t.max_per_customer)
{% endtest %}
