"""`crm`: the member master data, a full snapshot every day, plus erasure requests."""
from pipelines.lib.ingest.spec import Entity, Field, Source

ERASURE_REQUESTS = Entity(
    name="erasure_requests",
    format="csv",
    patterns=("erasure*.csv", "erasure*.csv.gz"),
    fields=(
        Field("member_id", "member_id", "upper", required=True),
        Field("requested_at", "requested_at", "ts_any", required=True),
    ),
    natural_key=("member_id",),
    dedupe_lookback_days=0,
)

MEMBERS = Entity(
    name="members",
    format="csv",
    patterns=("*.csv", "*.csv.gz"),
    fields=(
        Field("member_id", "member_id", "upper", required=True, identifies="member_id"),
        Field("phone", "phone", "phone", identifies="phone"),
        Field("email", "email", "email", identifies="email"),
        Field("name", "name"),
        Field("gender", "gender"),  # M/F/男/女/1/2/unknown: mapped in the golden record
        Field("birthday", "birthday", "date"),
        Field("city", "city"),
        Field("province", "province"),
        Field("tier", "tier"),
        Field("register_channel", "register_channel"),
        Field("registered_at", "registered_at", "ts_any"),
        Field("points", "points", "int"),
        Field("consent_sms", "consent_sms", "bool"),
        Field("consent_email", "consent_email", "bool"),
        Field("consent_wechat", "consent_wechat", "bool"),
        Field("updated_at", "updated_at", "ts_any"),
    ),
    natural_key=("member_id",),
    version="updated_at",
    # A snapshot is complete in itself: dedupe within the day only, and an unchanged
    # snapshot delivered again tomorrow is tomorrow's snapshot, not a duplicate.
    dedupe_lookback_days=0,
    dedupe_files_across_days=False,
)

# Erasure requests come first: `erasure_requests.csv` also matches the members' pattern.
SOURCE = Source(name="crm", entities=(ERASURE_REQUESTS, MEMBERS),
                description="CRM member snapshot and erasure requests.")
