"""`ads`: ad platforms' impression/click logs (JSON Lines) and daily cost reports (CSV)."""
from pipelines.lib.ingest.spec import Entity, Field, Rule, Source

CLICKS = Entity(
    name="clicks",
    format="jsonl",
    patterns=("clicks*.jsonl", "clicks*.jsonl.gz", "clicks*.json", "clicks*.json.gz"),
    fields=(
        Field("platform", "$.platform", required=True, allowed=("tencent_ads", "ocean_engine", "baidu")),
        Field("event", "$.event", required=True, allowed=("impression", "click")),
        Field("click_id", "$.click_id", identifies="click_id"),
        Field("impression_id", "$.impression_id"),
        Field("campaign_id", "$.campaign_id", required=True),
        Field("adgroup_id", "$.adgroup_id"),
        Field("creative_id", "$.creative_id"),
        Field("device_id", "$.device_id", "lower", identifies="device_id"),
        Field("occurred_at", "$.ts", "ts_epoch_ms", required=True),
    ),
    natural_key=("event", "click_id", "impression_id"),
    event_time="occurred_at",
    rules=(
        Rule("event = 'click' AND click_id IS NULL", "'click_id: a click needs its click_id'"),
        Rule("event = 'impression' AND impression_id IS NULL",
             "'impression_id: an impression needs its impression_id'"),
    ),
)

COSTS = Entity(
    name="costs",
    format="csv",
    patterns=("cost*.csv", "cost*.csv.gz"),
    fields=(
        Field("cost_date", "date", "date", required=True),
        Field("platform", "platform", required=True),
        Field("campaign_id", "campaign_id", required=True),
        Field("campaign_name", "campaign_name"),
        Field("channel", "channel"),
        Field("impressions", "impressions", "int"),
        Field("clicks", "clicks", "int"),
        Field("cost", "cost", "decimal", required=True),
    ),
    # Platforms restate earlier days: every delivery is kept, the latest one wins downstream.
    natural_key=("cost_date", "platform", "campaign_id"),
    dedupe_lookback_days=0,
)

SOURCE = Source(name="ads", entities=(CLICKS, COSTS), description="Ad impressions, clicks and daily cost.")
