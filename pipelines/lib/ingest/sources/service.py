"""`service`: customer-service tickets (CSV), re-sent when they are resolved."""
from pipelines.lib.ingest.spec import Entity, Field, Rule, Source

TICKETS = Entity(
    name="tickets",
    format="csv",
    patterns=("*.csv", "*.csv.gz"),
    fields=(
        Field("ticket_id", "ticket_id", required=True),
        Field("member_id", "member_id", "upper", identifies="member_id"),
        Field("phone", "phone", "phone", identifies="phone"),
        Field("email", "email", "email", identifies="email"),
        Field("unionid", "unionid", identifies="unionid"),
        Field("channel", "channel"),
        Field("category", "category"),
        Field("created_at", "created_at", "ts_any", required=True),
        Field("resolved_at", "resolved_at", "ts_any"),
        Field("satisfaction", "satisfaction", "int"),
    ),
    natural_key=("ticket_id",),
    version="resolved_at",
    event_time="created_at",
    rules=(Rule("satisfaction NOT BETWEEN 1 AND 5",
                "'satisfaction: expected 1 to 5, found ' || satisfaction"),),
    dedupe_lookback_days=30,
)

SOURCE = Source(name="service", entities=(TICKETS,), description="Customer-service tickets.")
