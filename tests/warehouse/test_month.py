"""The warehouse built by the nightly job over a generated, noisy month, scored against the truth."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.lib.ingest.sources import SOURCES
from pipelines.runner import run_night
from tests.conftest import WORLD_DAYS, WORLD_START
from tests.warehouse.conftest import dbt_build, query

pytestmark = pytest.mark.xdist_group("month")

LAST_NIGHT = WORLD_START.fromordinal(WORLD_START.toordinal() + WORLD_DAYS - 1)


def identity_metadata(data_dir: Path) -> dict:
    os.environ["CDP_DAGSTER_STORAGE"] = str(data_dir / ".dagster")
    instance = dg.DagsterInstance.get()
    event = instance.get_latest_materialization_event(dg.AssetKey("identity_map"))
    assert event is not None and event.asset_materialization.partition == LAST_NIGHT.isoformat()
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_the_last_night_builds_the_warehouse_and_scores_identities_on_the_asset(ingested_month):
    data_dir, _, results = ingested_month
    assert results[-1].success and results[-1].rows["customers"] > 0
    assert "events" not in results[0].rows          # earlier nights of a backfill only ingest
    m = identity_metadata(data_dir)
    assert m["truth/precision"] >= 0.995
    assert m["truth/recall_linkable"] >= 0.98
    assert m["truth/largest_customer"] <= m["truth/largest_person"]
    assert m["truth/unlinked_in_customers"] == 0
    assert m["identifiers/hub"] >= 1                   # the flagship's tablet
    # the figures are taken at the build; the night's erasures then rebuild without the people
    # they erased (at most one customer each)
    erased = duckdb.sql(f"SELECT count(*) FROM '{data_dir}/lake/_erasure_log.parquet' "
                        f"WHERE run_date = DATE '{LAST_NIGHT}' AND status = 'erased'").fetchall()[0][0]
    assert erased > 0
    assert 0 <= m["customers"] - query(data_dir, "SELECT count(*) FROM customers")[0][0] <= erased


def test_every_true_order_is_in_orders_with_its_net_amount(ingested_month):
    data_dir, _, _ = ingested_month
    truth = data_dir / "truth" / "orders.parquet"
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{data_dir / 'warehouse' / 'cdp.duckdb'}' AS wh (READ_ONLY)")
        [(n_truth, n_found, n_equal, n_extra)] = con.execute(f"""
            SELECT count(*), count(o.order_id),
                count(*) FILTER (WHERE abs(t.net_amount - o.net_amount) < 0.005),
                (SELECT count(*) FROM wh.orders WHERE order_id NOT IN (SELECT order_id FROM '{truth}'))
            FROM '{truth}' t LEFT JOIN wh.orders o USING (order_id)
            WHERE t.ordered_date <= DATE '{LAST_NIGHT}'
        """).fetchall()[0:1]
    assert n_truth > 50
    assert (n_found, n_equal, n_extra) == (n_truth, n_truth, 0)


def test_every_lake_behaviour_row_is_one_event(ingested_month):
    data_dir, _, _ = ingested_month
    lake = data_dir / "lake"
    expected = {}
    with duckdb.connect() as con:
        for source in ("app", "web", "miniprogram", "official_account", "live", "guide"):
            expected[source] = con.execute(
                f"SELECT count(*) FROM read_parquet('{lake}/{source}/events/*/*.parquet')").fetchone()[0]
        expected["ads"] = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/ads/clicks/*/*.parquet')").fetchone()[0]
    found = dict(query(data_dir, "SELECT source, count(*) FROM events GROUP BY source"))
    assert {s: found.get(s) for s in expected} == expected
    assert query(data_dir, "SELECT count(*) FROM events WHERE channel = 'unknown'") == [(0,)]


def test_customer_ids_survive_a_rebuild_with_one_more_day(ingested_month, tmp_path):
    """Rebuild from scratch as of the night before and as of the last night: customers whose
    identifiers did not change keep their id."""
    data_dir, _, _ = ingested_month
    (tmp_path / "lake").symlink_to(data_dir / "lake")
    before = LAST_NIGHT.fromordinal(LAST_NIGHT.toordinal() - 1).isoformat()
    dbt_build(tmp_path, before)
    snapshot = query(tmp_path, "SELECT customer_id, list_sort(list(id_type || ':' || id_value)) "
                               "FROM identity_resolution GROUP BY customer_id")
    dbt_build(tmp_path, LAST_NIGHT.isoformat())
    after = dict((tuple(ids), c) for c, ids in query(
        tmp_path, "SELECT customer_id, list_sort(list(id_type || ':' || id_value)) FROM identity_resolution "
                  "GROUP BY customer_id"))
    unchanged = [(c, tuple(ids)) for c, ids in snapshot if tuple(ids) in after]
    assert len(unchanged) > 0.9 * len(snapshot)
    kept = sum(after[ids] == c for c, ids in unchanged)
    assert kept >= 0.999 * len(unchanged)


def test_rerunning_a_night_rewrites_identical_lake_partitions_and_log(ingested_month):
    """The last night again (so the warehouse stays as of the last night for the tests after this
    one). Re-ingestion brings back the rows of people that night erased, and the night's erasure
    step removes them again, so the partitions come back byte for byte."""
    data_dir, settings, results = ingested_month
    day = results[-1].day

    def digest() -> dict[str, str]:
        return {p.as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((data_dir / "lake").rglob(f"delivery_date={day}/*.parquet"))}

    before = digest()
    partitions = [p for p in before if p.endswith("part-0.parquet")]
    assert len(partitions) == sum(len(s.entities) for s in SOURCES.values())
    assert len(before) - len(partitions) == len(SOURCES)  # the night's ingest-log fragments
    assert run_night(day, settings).success
    assert digest() == before
