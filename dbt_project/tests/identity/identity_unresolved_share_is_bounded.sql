-- Identity health: the share of tonight's events nobody could be resolved to (`anonymous`)
-- stays under the var `identity_max_anonymous_event_share`; a jump means identifiers stopped
-- arriving or parsing (a source changed its export), not that people stopped being known.
-- Nights with fewer than `identity_min_events_for_share` events are too small for a share to mean much.
select count(*) as events, avg((customer_id = 'anonymous')::int) as anonymous_share
from {{ ref('events') }}
where business_date = {{ as_of_date() }}
having count(*) >= {{ var('identity_min_events_for_share') }} and avg((customer_id = 'anonymous')::int) > {{ var('identity_max_anonymous_event_share') }}
