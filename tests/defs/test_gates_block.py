"""A failed boundary gate stops that source's downstream work, and says why."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from pipelines.defs.ingest.assets import INGEST_ASSETS, landing_zone
from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout

DAY = date(2026, 2, 10)
POS_WITHOUT_PHONE = ("order_id,store_id,guide_id,member_card,order_time,sku,product_id,category,quantity,"
                     "unit_price,line_amount,discount,coupon_type,payment_method\n"
                     "O1,S1,,C1,2026-02-10 10:00:00,SKU1,P1,shoes,1,99,99,0,,cash\n")


def _deliver(data_dir: Path) -> None:
    layout = Layout(data_dir)
    pos = layout.delivery("pos", DAY) / "till.csv"
    pos.parent.mkdir(parents=True)
    pos.write_text(POS_WITHOUT_PHONE)
    app = layout.delivery("app", DAY) / "events.jsonl"
    app.parent.mkdir(parents=True)
    app.write_text(json.dumps({"messageId": "m1", "type": "track", "event": "Product Viewed", "anonymousId": "d1",
                               "timestamp": "2026-02-10T10:00:00+08:00"}) + "\n")


def _consumer(source: str, ran: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=f"{source}_consumer", deps=[dg.AssetKey(["lake", source])], partitions_def=DELIVERY_DATES)
    def consumer() -> None:
        ran.append(source)

    return consumer


def test_a_refused_file_blocks_only_the_downstream_of_its_own_source(tmp_path):
    _deliver(tmp_path)
    ran: list[str] = []
    result = dg.materialize(
        [landing_zone, *INGEST_ASSETS, _consumer("pos", ran), _consumer("app", ran)],
        partition_key=DAY.isoformat(), resources={"lake": LakeResource(data_dir=str(tmp_path))},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert ran == ["app"]
    assert not result.success
    failed = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()
              if not c.passed}
    assert set(failed) == {("lake/pos", "delivery_files_are_readable")}
    assert failed[("lake/pos", "delivery_files_are_readable")].description == (
        f"raw/pos/{DAY}/till.csv refused: missing required column(s) phone; the header has: order_id, store_id, "
        "guide_id, member_card, order_time, sku, product_id, category, quantity, unit_price, line_amount, "
        "discount, coupon_type, payment_method")


def test_cdp_run_exits_non_zero_and_explains_the_failed_gate(tmp_path):
    _deliver(tmp_path)
    stray = tmp_path / "raw" / "tiktok" / DAY.isoformat() / "e.jsonl"
    stray.parent.mkdir(parents=True)
    stray.write_text("{}\n")
    env = {**os.environ, "CDP_DAGSTER_STORAGE": str(tmp_path / ".dagster")}
    cdp = Path(sys.executable).parent / "cdp"
    proc = subprocess.run([str(cdp), "run", "--data-dir", str(tmp_path), "--date", DAY.isoformat()],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1
    assert f"Night {DAY} failed" in proc.stderr
    assert f"lake/pos delivery_files_are_readable: raw/pos/{DAY}/till.csv refused: missing required column(s) phone" \
        in proc.stderr
    assert f"cdp run --date {DAY}" in proc.stderr
    assert "landing zone: raw/tiktok/ is not a known source (ignored)" in proc.stderr
    # the other sources of that night were still ingested
    assert (tmp_path / "lake" / "app" / "events" / f"delivery_date={DAY}" / "part-0.parquet").exists()

    status = subprocess.run([str(cdp), "status", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert status.returncode == 1
    rows = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines() if line.startswith("lake/")}
    assert rows["lake/pos"][:2] == ["failed", str(DAY)] and "delivery_files_are_readable" in " ".join(rows["lake/pos"])
    assert rows["lake/app"][:3] == ["ok", str(DAY), "1"]
    assert "Last night's files: 2 (1 refused)" in status.stdout


def test_a_backfill_stops_at_the_night_whose_gate_failed_with_that_nights_report(tmp_path, monkeypatch):
    """The nights before the build are ingested by range runs; when a gate fails in one, its nights
    run again one by one, and the backfill stops at the failing night as a night-by-night run would."""
    from datetime import timedelta

    from pipelines.runner import use_instance_for
    from pipelines.settings import Settings

    _deliver(tmp_path)
    layout = Layout(tmp_path)
    days = [DAY + timedelta(days=i) for i in (-1, 0, 1, 2)]
    for day in days:
        app = layout.delivery("app", day) / "events.jsonl"
        app.parent.mkdir(parents=True, exist_ok=True)
        app.write_text(json.dumps({"messageId": f"m-{day}", "type": "track", "event": "Product Viewed",
                                   "anonymousId": "d1", "timestamp": f"{day}T10:00:00+08:00"}) + "\n")
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(tmp_path / ".dagster"))
    cdp = Path(sys.executable).parent / "cdp"
    proc = subprocess.run([str(cdp), "run", "--data-dir", str(tmp_path), "--from", str(days[0]), "--to", str(days[-1])],
                          capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert proc.returncode == 1
    assert f"ingesting {days[0]}..{days[2]} (runs of 20 nights, 2 processes); building {days[3]}" in proc.stdout
    assert [line.split()[:2] for line in proc.stdout.splitlines() if line.startswith("2026-")] == \
        [[str(days[0]), "ok"], [str(DAY), "FAILED"]]
    assert f"Night {DAY} failed" in proc.stderr and "2 later night(s) were not run." in proc.stderr
    assert (f"lake/pos delivery_files_are_readable: raw/pos/{DAY}/till.csv refused: missing required column(s) "
            "phone") in proc.stderr
    # the warehouse was never built: the backfill stopped before its last night
    assert not layout.warehouse.exists()
    use_instance_for(Settings.from_env(tmp_path))
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    # the range's runs (one per source), then night by night up to the failing one
    assert sorted(r.tags.get("dagster/asset_partition_range_start", r.tags.get("dagster/partition"))
                  for r in runs) == sorted([days[0].isoformat()] * (len(SOURCES) + 1) + [DAY.isoformat()])
    [pos] = [r for r in runs if r.tags.get("dagster/asset_partition_range_start") and not r.is_success]
    assert pos.asset_selection == {dg.AssetKey(["lake", "pos"])}


def test_a_backfill_ingests_each_source_in_one_run_over_its_nights_in_worker_processes(tmp_path, monkeypatch):
    from datetime import timedelta

    from pipelines.runner import ingest_nights, ingest_pool, use_instance_for
    from pipelines.settings import Settings

    layout = Layout(tmp_path)
    days = [DAY + timedelta(days=i) for i in range(3)]
    for n, day in enumerate(days):
        app = layout.delivery("app", day) / "events.jsonl"
        app.parent.mkdir(parents=True)
        app.write_text("".join(json.dumps({"messageId": f"m-{day}-{i}", "type": "track", "event": "Product Viewed",
                                           "anonymousId": "d1", "timestamp": f"{day}T10:00:00+08:00"}) + "\n"
                               for i in range(n + 1)))
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(tmp_path / ".dagster"))
    settings = Settings.from_env(tmp_path)
    use_instance_for(settings)
    pool = ingest_pool(settings)
    with dg.DagsterInstance.get() as instance:
        nights = ingest_nights(days, settings, instance, pool)
        runs = instance.get_runs()
    # a run maps SIGTERM to SIGINT's handler (ignored in a background job); the workers put the
    # default back, or the runner's `terminate` on an error would wait for them forever
    assert set(pool.map(signal.getsignal, [signal.SIGTERM] * 30, chunksize=1)) == {signal.SIG_DFL}
    pool.close()
    # one run per source over the three nights; the landing zone's with the largest delivery's
    assert sorted(tuple(sorted(k.to_user_string() for k in r.asset_selection)) for r in runs) == \
        sorted([("lake/app", "raw/landing_zone")] + [(f"lake/{s}",) for s in SOURCES if s != "app"])
    assert {(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in runs} == {(str(days[0]), str(days[-1]))}
    assert all(r.is_success for r in runs)
    app_run = next(r.run_id for r in runs if dg.AssetKey(["lake", "app"]) in r.asset_selection)
    assert [(n.day, n.success, n.rows["lake/app"], n.rows["lake/web"], n.run_id) for n in nights] == \
        [(day, True, i + 1, 0, app_run) for i, day in enumerate(days)]
    for i, day in enumerate(days):
        assert pq.read_table(layout.lake_partition("app", "events", day) / "part-0.parquet").num_rows == i + 1
    # the other sources' runs read no delivery: empty partitions, nothing quarantined
    assert pq.read_table(layout.lake_partition("web", "events", days[0]) / "part-0.parquet").num_rows == 0


def test_a_worker_reads_back_the_settings_it_was_given(tmp_path, monkeypatch):
    from pipelines.settings import Settings

    given = Settings(data_dir=tmp_path, duckdb_memory_limit="3GB", duckdb_threads=1, duckdb_spill_dir="/spill",
                     first_delivery_date="2026-01-01", ingest_processes=3)
    for name, value in given.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == given


def test_each_worker_gets_its_share_of_duckdbs_memory():
    from pipelines.runner import _memory_share

    assert [_memory_share(limit, 2) for limit in ("12GB", "512MB", "1.5GB", "3GiB", "1TB")] == \
        ["6144MB", "256MB", "768MB", "1536MB", "524288MB"]
    assert _memory_share("80%", 2) == "80%"      # not a size: left to DuckDB as written
