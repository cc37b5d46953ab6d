-- Identity health: a customer holding more identifiers than a person plausibly has is a
-- runaway merge (a shared value the blocklist and hub rules missed). It stops the night before
-- anything is published. The bound is the var `identity_max_identifiers_per_customer`.
select customer_id, count(*) as identifiers
from {{ ref('identity_map') }}
group by customer_id
having count(*) > {{ var('identity_max_identifiers_per_customer') }}
