{{ incremental_by_delivery() }}
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    {{ hash_key(['appid', 'openid', 'article_id', 'action', 'occurred_at']) }} as record_id,
    'official_account' as source,
    action as source_event,
    appid || ':' || openid as openid,
    unionid,
    article_id,
    article_title,
    occurred_at,
    delivery_date
from {{ lake('official_account_events') }}
{% endcall %}
