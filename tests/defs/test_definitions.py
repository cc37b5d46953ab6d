"""The code location loads, and its shape is the one the README promises."""
from __future__ import annotations

import dagster as dg

from pipelines.definitions import defs
from pipelines.lib.gates.raw import BLOCKING, WARNING
from pipelines.lib.ingest.sources import SOURCES


def test_every_source_has_a_partitioned_lake_asset_downstream_of_the_landing_zone():
    graph = defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= {f"lake/{s}" for s in SOURCES} | {"raw/landing_zone"}
    for source in SOURCES:
        node = graph.get(dg.AssetKey(["lake", source]))
        assert node.parent_keys == {dg.AssetKey(["raw", "landing_zone"])}
        assert node.partitions_def is not None and node.group_name == "lake"


def test_each_lake_asset_carries_its_gates_and_only_the_volume_gate_is_advisory():
    d = defs()
    for source in SOURCES:
        specs = {s.name: s for s in d.resolve_assets_def(dg.AssetKey(["lake", source])).check_specs}
        assert set(specs) == set(BLOCKING) | set(WARNING)
        assert all(specs[n].blocking for n in BLOCKING)
        assert not any(specs[n].blocking for n in WARNING)


def test_the_nightly_job_has_a_schedule_and_a_delivery_sensor():
    d = defs()
    assert d.resolve_job_def("nightly").partitions_def is not None
    assert d.resolve_schedule_def("nightly_schedule").cron_schedule == "0 3 * * *"
    assert d.resolve_sensor_def("new_delivery_sensor").job_name == "nightly"


def test_the_warehouse_reads_the_lake_assets_after_the_nights_erasures():
    graph = defs().resolve_asset_graph()
    lake_assets = {dg.AssetKey(["lake", source]) for source in SOURCES}
    for source in SOURCES.values():
        for entity in source.entities:
            staging = graph.get(dg.AssetKey(f"stg_{source.name}__{entity.name}"))
            # (besides the source's other staging tables: the CRM members' first deliveries)
            read = {key for key in staging.parent_keys if not key.to_user_string().startswith(f"stg_{source.name}__")}
            assert read == {dg.AssetKey(["lake", source.name]), dg.AssetKey("erasures")}
            assert staging.group_name == "staging"
    assert graph.get(dg.AssetKey("stg_crm__member_first_deliveries")).parent_keys == {
        dg.AssetKey(["lake", "crm"]), dg.AssetKey("erasures")}
    assert dg.AssetKey("stg_crm__member_first_deliveries") in graph.get(dg.AssetKey("stg_crm__members")).parent_keys
    assert graph.get(dg.AssetKey("identity_map")).group_name == "customers"
    assert graph.get(dg.AssetKey("events")).group_name == "behaviour"
    # erasure rewrites the lake once every source is ingested, and before anything is built
    assert graph.get(dg.AssetKey("erasures")).parent_keys == lake_assets
    assert graph.get(dg.AssetKey(["lake", "marketing"])).parent_keys == {dg.AssetKey("erasures")}


def test_dbt_tests_are_asset_checks_of_the_models_they_test():
    graph = defs().resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("events", "unique_events_event_id") in checks
    assert ("identity_map", "not_null_identity_map_customer_id") in checks
    assert ("customers", "unique_customers_customer_id") in checks
