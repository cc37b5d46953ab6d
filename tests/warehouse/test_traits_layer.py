"""The trait and audience layer of the month's warehouse, as the nightly job built it: the spec
registry matches the tables, the night's figures are on the assets, the CLI reads them back."""
from __future__ import annotations

import os

import dagster as dg
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.lib.specs.tables import TABLES
from tests.warehouse.conftest import query
from tests.warehouse.test_month import LAST_NIGHT

pytestmark = pytest.mark.xdist_group("month")

DUCKDB_TYPES = {"text": {"VARCHAR"}, "integer": {"INTEGER", "BIGINT", "HUGEINT"}, "number": {"DOUBLE", "DECIMAL"},
                "date": {"DATE"}, "timestamp": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}, "boolean": {"BOOLEAN"}}


def test_the_spec_registry_matches_the_built_tables(ingested_month):
    data_dir, _, _ = ingested_month
    for table in TABLES.values():
        built = {name: kind for name, kind in query(data_dir, "SELECT column_name, data_type FROM "
                                                              "information_schema.columns WHERE table_name = ?", table.name)}
        for column, kind in table.columns.items():
            assert column in built, f"{table.name}.{column} is in specs/tables.py but not in the warehouse"
            base = built[column].split("(")[0]
            assert base in DUCKDB_TYPES[kind], f"{table.name}.{column}: registry says {kind}, warehouse has {built[column]}"


def test_the_night_puts_stages_segments_and_audience_sizes_on_the_assets(ingested_month):
    data_dir, _, _ = ingested_month
    os.environ["CDP_DAGSTER_STORAGE"] = str(data_dir / ".dagster")
    instance = dg.DagsterInstance.get()

    def metadata(key: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert event is not None and event.asset_materialization.partition == LAST_NIGHT.isoformat()
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    traits = metadata("customer_traits")
    assert sum(traits["lifecycle_stages"].values()) == traits["dagster/row_count"] > 0
    assert set(traits["lifecycle_stages"]) <= {"introduction", "growth", "maturity", "dormancy", "churn"}
    assert traits["rfm_segments"].get("no orders", 0) < traits["dagster/row_count"]
    audience = metadata("recent_buyers_female_over_20")
    # the figures are taken at the build; that night's erasures may remove a member or two since
    members = query(data_dir, "SELECT count(*) FROM audience_membership WHERE audience = "
                              "'recent_buyers_female_over_20' AND as_of_date = ?", LAST_NIGHT)[0][0]
    assert 0 < members <= audience["size"] <= members + 5 and audience["holdout"] < audience["size"]
    assert audience["entered"] == audience["size"]        # built once, on the last night: all entered


def test_cdp_audiences_and_explain_read_the_ledger_back(ingested_month):
    data_dir, _, _ = ingested_month
    listing = CliRunner().invoke(main, ["audiences", "--data-dir", str(data_dir)])
    assert listing.exit_code == 0, listing.output
    [(size,)] = query(data_dir, "SELECT count(*) FROM audience_membership WHERE audience = "
                                "'recent_buyers_female_over_20' AND as_of_date = ?", LAST_NIGHT)
    line = next(l for l in listing.output.splitlines() if l.startswith("recent_buyers_female_over_20"))
    assert line.split()[1] == f"{size:,}"
    [(member,)] = query(data_dir, "SELECT min(customer_id) FROM audience_membership WHERE audience = "
                                  "'recent_buyers_female_over_20' AND as_of_date = ?", LAST_NIGHT)
    out = CliRunner().invoke(main, ["explain", "--data-dir", str(data_dir), "--audience",
                                    "recent_buyers_female_over_20", "--customer", member])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"{member} IS in recent_buyers_female_over_20 as of {LAST_NIGHT}")
    assert "✓ trait orders_90d >= 1" in out.output and "ledger: member" in out.output and "agrees" in out.output
    unknown = CliRunner().invoke(main, ["explain", "--data-dir", str(data_dir), "--audience", "nope", "--customer", member])
    assert unknown.exit_code == 1 and "unknown audience 'nope'" in unknown.output


def test_explain_lists_the_events_behind_a_behaviour_condition(ingested_month):
    import duckdb

    from pipelines.lib.layout import Layout
    from pipelines.lib.specs import load_specs
    from pipelines.lib.specs.inspect import explain
    from pipelines.lib.warehouse.dbt import PROJECT_DIR

    data_dir, _, _ = ingested_month
    [(member,)] = query(data_dir, "SELECT min(customer_id) FROM audience_membership WHERE audience = "
                                  "'cart_abandoners_7d' AND as_of_date = ?", LAST_NIGHT)
    [(added,)] = query(data_dir, "SELECT count(*) FROM events WHERE customer_id = ? AND event_type = 'product_added' "
                                 "AND business_date > ? - 7 AND business_date <= ?", member, LAST_NIGHT, LAST_NIGHT)
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        e = explain(con, load_specs(PROJECT_DIR), "cart_abandoners_7d", member, LAST_NIGHT)
    step = next(s for s in e.steps if s.text.startswith("performed product_added"))
    assert e.held and e.member and step.held and step.value == f"{added} event(s)" and added >= 1
    assert len(step.events) == min(added, 10) and {ev[2] for ev in step.events} == {"product_added"}
    none = next(s for s in e.steps if s.text.startswith("performed order_placed or order_completed"))
    assert none.held and none.value == "0 event(s)" and none.events == []
