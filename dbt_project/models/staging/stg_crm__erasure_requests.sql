select
    member_id,
    min(requested_at) as requested_at,
    min(delivery_date) as delivery_date
from {{ lake('crm_erasure_requests') }}
group by member_id
