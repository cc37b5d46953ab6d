"""`official_account`: article and menu interactions of the WeChat official account (CSV)."""
from pipelines.lib.ingest.spec import Entity, Field, Source

EVENTS = Entity(
    name="events",
    format="csv",
    patterns=("*.csv", "*.csv.gz"),
    fields=(
        Field("appid", "appid", required=True),
        Field("openid", "openid", required=True, identifies="openid"),
        Field("unionid", "unionid", identifies="unionid"),
        Field("article_id", "article_id"),
        Field("article_title", "article_title"),
        Field("action", "action", required=True,
              allowed=("read", "share", "like", "click_through", "subscribe", "unsubscribe")),
        # Beijing time without an offset.
        Field("occurred_at", "ts", "ts_local", required=True),
    ),
    natural_key=("appid", "openid", "article_id", "action", "occurred_at"),
    event_time="occurred_at",
)

SOURCE = Source(name="official_account", entities=(EVENTS,),
                description="WeChat official-account article and menu interactions.")
