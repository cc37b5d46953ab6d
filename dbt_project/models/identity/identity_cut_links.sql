-- The operator's cuts (seed `identity_blocked_edges`) as pairs of node ids, hashed from the
-- identifiers as `identity_occurrences` hashes them (a cut of identifiers never seen matches nothing).
select
    {{ hashed_id("left_type || ':' || left_value") }} as node_a,
    {{ hashed_id("right_type || ':' || right_value") }} as node_b,
    reason
from {{ ref('identity_blocked_edges') }}
