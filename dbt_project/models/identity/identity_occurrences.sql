{{ restated_by_record(log_nodes=true) }}
-- Every sighting of an identifier on a record, from every source. A record's identifiers
-- belong to one person: that co-occurrence is the only evidence identity resolution uses.
-- Each sighting carries its identifier's node id (hashed once, as the sighting is derived), and
-- the nodes of the records whose sightings changed are logged for the graph (macros/restated_nodes.sql).
-- Restated by record as `events` is (macros/restate.sql): a night derives again the records of
-- the deliveries it loaded (and of the mutable sources), not 16 M sightings at 10 M events.
{%- set restated = restated_records() %}
{{ identifier_occurrences('stg_app__events',
    {'device_id': 'device_id', 'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'click_id': 'click_id'},
    where=restated) }}
union all
{{ identifier_occurrences('stg_web__events',
    {'device_id': 'device_id', 'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'click_id': 'click_id'},
    where=restated) }}
union all
{{ identifier_occurrences('stg_miniprogram__events',
    {'openid': 'openid', 'unionid': 'unionid', 'click_id': 'click_id'}, where=restated) }}
union all
{{ identifier_occurrences('stg_official_account__events', {'openid': 'openid', 'unionid': 'unionid'}, where=restated) }}
union all
{{ identifier_occurrences('stg_live__events', {'openid': 'openid', 'unionid': 'unionid'}, where=restated) }}
union all
{{ identifier_occurrences('stg_guide__events', {'external_userid': 'external_userid', 'unionid': 'unionid'},
    where=restated) }}
union all
{{ identifier_occurrences('stg_mall_orders__orders',
    {'unionid': 'unionid', 'openid': 'openid', 'member_id': 'member_id', 'phone': 'phone', 'click_id': 'click_id'},
    seen_at='created_at', where=restated) }}
union all
{{ identifier_occurrences('stg_pos__order_lines', {'member_id': 'member_id', 'phone': 'phone'},
    seen_at='ordered_at', where=restated) }}
union all
{{ identifier_occurrences('stg_crm__members', {'member_id': 'member_id', 'phone': 'phone', 'email': 'email'},
    seen_at='coalesce(registered_at, updated_at, cast(delivery_date as timestamp))', where=restated) }}
union all
{{ identifier_occurrences('stg_ads__clicks', {'click_id': 'click_id', 'device_id': 'device_id'}, where=restated) }}
union all
{{ identifier_occurrences('stg_service__tickets',
    {'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'unionid': 'unionid'},
    seen_at='created_at', where=restated) }}
