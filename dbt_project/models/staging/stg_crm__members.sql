-- The CRM delivers a full snapshot every day: the latest snapshot is the truth, and a member
-- missing from it (erased) is gone. Only that snapshot is read (its delivery date prunes the
-- lake's partitions). `first_delivered_on` is the first snapshot that carried the member
-- (`stg_crm__member_first_deliveries`): their registration event's delivery, which a new snapshot
-- of an unchanged member does not change (else every member would look changed every night to
-- what `events` logs).
with snapshots as (
    select *
    from {{ lake('crm_members') }}
    where delivery_date = (select max(delivery_date) from {{ lake('crm_members') }})
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
    s.updated_at,
    s.delivery_date,
    f.delivery_date as first_delivered_on
from snapshots s
left join {{ ref('stg_crm__member_first_deliveries') }} f on f.record_id = s.member_id
{% endcall %}
