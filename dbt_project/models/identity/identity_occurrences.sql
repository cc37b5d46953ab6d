-- Every sighting of an identifier on a record, from every source. A record's identifiers
-- belong to one person: that co-occurrence is the only evidence identity resolution uses.
{{ identifier_occurrences('stg_app__events',
    {'device_id': 'device_id', 'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'click_id': 'click_id'}) }}
union all
{{ identifier_occurrences('stg_web__events',
    {'device_id': 'device_id', 'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'click_id': 'click_id'}) }}
union all
{{ identifier_occurrences('stg_miniprogram__events',
    {'openid': 'openid', 'unionid': 'unionid', 'click_id': 'click_id'}) }}
union all
{{ identifier_occurrences('stg_official_account__events', {'openid': 'openid', 'unionid': 'unionid'}) }}
union all
{{ identifier_occurrences('stg_live__events', {'openid': 'openid', 'unionid': 'unionid'}) }}
union all
{{ identifier_occurrences('stg_guide__events', {'external_userid': 'external_userid', 'unionid': 'unionid'}) }}
union all
{{ identifier_occurrences('stg_mall_orders__orders',
    {'unionid': 'unionid', 'openid': 'openid', 'member_id': 'member_id', 'phone': 'phone', 'click_id': 'click_id'},
    seen_at='created_at') }}
union all
{{ identifier_occurrences('stg_pos__order_lines', {'member_id': 'member_id', 'phone': 'phone'}, seen_at='ordered_at') }}
union all
{{ identifier_occurrences('stg_crm__members', {'member_id': 'member_id', 'phone': 'phone', 'email': 'email'},
    seen_at='coalesce(registered_at, updated_at, cast(delivery_date as timestamp))') }}
union all
{{ identifier_occurrences('stg_ads__clicks', {'click_id': 'click_id', 'device_id': 'device_id'}) }}
union all
{{ identifier_occurrences('stg_service__tickets',
    {'member_id': 'member_id', 'phone': 'phone', 'email': 'email', 'unionid': 'unionid'}, seen_at='created_at') }}
