{% call first_per('ticket_id', 'delivery_date desc') %}
select
    ticket_id as record_id,
    'service' as source,
    ticket_id,
    member_id,
    phone,
    email,
    unionid,
    channel as service_channel,
    category,
    created_at,
    resolved_at,
    satisfaction,
    delivery_date
from {{ lake('service_tickets') }}
{% endcall %}
