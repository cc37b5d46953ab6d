{{ incremental_by_delivery() }}
-- The first CRM snapshot that carried each member (`record_id`: the member id), for every member
-- ever delivered. The CRM sends every member every day, so its snapshots are the lake's largest
-- source and grow with each night; `stg_crm__members` reads only the latest one and takes the
-- first delivery from here, which a night loads from its own snapshot only (macros/lake.sql:
-- a re-ingested or erased snapshot loads again from that delivery on).
select member_id as record_id, min(delivery_date) as delivery_date
from {{ lake('crm_members') }}
group by member_id
