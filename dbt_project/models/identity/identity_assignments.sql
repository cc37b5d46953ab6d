{{ nightly_history(keep='previous') }}
-- Which customer every identifier belonged to, per build night; only tonight's and the previous
-- build's snapshots are kept: `identity_changes` compares the two. Identifiers are kept only as
-- sha256(type:value), so no clear PII (or an erased person's identifiers) outlives a build.
-- Built after `identity_changes`:
-- depends_on: {{ ref('identity_changes') }}
select id_key, customer_id, {{ as_of_date() }} as as_of_date
from {{ ref('identity_resolution') }}
