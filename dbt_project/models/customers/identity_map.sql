-- The published identity map: one row per linked identifier. PII (`phone`, `email`) appears
-- only as sha256 of its normal form, lower-case hex.
select
    customer_id,
    id_type,
    case when is_pii then {{ sha256('id_value') }} else id_value end as id_value,
    first_seen_at,
    last_seen_at,
    source_count
from {{ ref('identity_resolution') }}
