-- The CRM delivers a full snapshot every day: the latest snapshot is the truth, and a member
-- missing from it (erased) is gone. `first_delivered_on` is the first snapshot that carried the
-- member: their registration event's delivery, which a new snapshot of an unchanged member does
-- not change (else every member would look changed every night to what `events` logs).
with snapshots as (
    select *, max(delivery_date) over () as latest_delivery,
        min(delivery_date) over (partition by member_id) as first_delivered_on
    from {{ lake('crm_members') }}
)
{% call first_per('member_id', 'updated_at desc nulls last') %}
select
    member_id as record_id,
    'crm' as source,
    member_id,
    phone,
    email,
    name,
    gender,
    birthday as birth_date,
    city,
    province,
    tier,
    register_channel,
    registered_at,
    points,
    consent_sms,
    consent_email,
    consent_wechat,
    updated_at,
    delivery_date,
    first_delivered_on
from snapshots
where delivery_date = latest_delivery
{% endcall %}
