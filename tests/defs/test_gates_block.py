"""A failed boundary gate stops that source's downstream work, and says why."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.defs.ingest.assets import INGEST_ASSETS, landing_zone
from pipelines.defs.resources import DELIVERY_DATES, LakeResource
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
