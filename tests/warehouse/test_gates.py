"""Each kind of gate failed on purpose in a real night (Dagster, dbt and DuckDB on a copy of the
month): the night fails naming the gate, what depends on the gate is not published and its
previous version stays byte for byte, what does not depend on it still goes out, and a failed
gate is never retried. File gates (Great Expectations on staged files) and the audience size
gate are failed in tests/lib/publish/; the identity gates in test_identity_rules.py."""
from __future__ import annotations

import hashlib
import threading
import time

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import read_manifest
from tests.warehouse.test_drills import failure_report, published_state
from tests.warehouse.test_month import LAST_NIGHT


def retries_of(run_id: str) -> list[str]:
    import dagster as dg

    records = dg.DagsterInstance.get().all_logs(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    return [r.dagster_event.step_key for r in records]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_raw_gate_stops_the_night_before_the_warehouse(month_copy, monkeypatch):
    from pipelines.runner import run_night

    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    before, warehouse = published_state(data_dir), Layout(data_dir).warehouse
    built = sha256(warehouse)
    # tonight's app delivery arrives damaged: a gzip file that is not one
    victim = sorted((data_dir / "raw" / "app" / str(LAST_NIGHT)).glob(f"events-{LAST_NIGHT}-part-*.jsonl.gz"))[0]
    victim.write_bytes(b"\x1f\x8b\x08 cut short by the channel's export")

    night = run_night(LAST_NIGHT, settings)

    assert not night.success
    assert [g.split(":")[0] for g in night.failed_gates] == ["lake/app delivery_files_are_readable"]
    assert victim.name in " ".join(night.failed_gates)
    assert sha256(warehouse) == built                            # the warehouse was not built on it
    assert published_state(data_dir) == before                   # nothing published, yesterday's intact
    assert "delivery_files_are_readable" in failure_report(data_dir, LAST_NIGHT)
    assert retries_of(night.run_id) == []


def test_the_traits_gate_holds_back_audiences_and_the_snapshot_but_not_conversion_files(month_copy, monkeypatch):
    from pipelines.runner import run_night

    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    layout = Layout(data_dir)
    # the history says that the night before, every customer had spent a third of what tonight's
    # build will say: tonight's mean lifetime revenue triples, a broken source's signature. Its
    # 90-day orders triple too, but a month-old world has not filled that window yet: filling, not
    # drifting, so that trait is left out (one failing row, not two).
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("INSERT INTO customer_traits SELECT * REPLACE (as_of_date - 1 AS as_of_date, "
                    "lifetime_revenue / 3 AS lifetime_revenue, orders_90d // 3 AS orders_90d) "
                    "FROM customer_traits WHERE as_of_date = ?", [LAST_NIGHT])
    state = published_state(data_dir)
    audiences = {k: v for k, v in state.items() if k.startswith("audiences/")}
    conversions = sorted((data_dir / "published" / "conversions").glob(f"*/{LAST_NIGHT}"))
    assert audiences and conversions and "cdp.duckdb" in state

    night = run_night(LAST_NIGHT, settings)

    assert not night.success
    assert night.failed_steps == ["published__audiences"]          # the snapshot after it did not run
    [error] = night.errors
    assert "customer_traits_are_stable (warn, 1 failing rows)" in error
    # the failing row itself, from the gate's SQL as tonight's build compiled it: which trait, which
    # figure, and both nights' values (the reference night's mean a third of tonight's)
    compiled = next((layout.warehouse.parent / "dbt" / "compiled").rglob("customer_traits_are_stable.sql"))
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        [(trait, figure, previous, tonight)] = con.execute(compiled.read_text()).fetchall()
    assert (trait, figure) == ("lifetime_revenue", "mean")
    assert float(tonight) == pytest.approx(3 * float(previous), rel=1e-6) and float(previous) > 0
    assert error.count("gates refused it") == len({k.split("/")[1] for k in audiences})
    after = published_state(data_dir)
    assert {k: v for k, v in after.items() if k.startswith("audiences/")} == audiences
    assert after["cdp.duckdb"] == state["cdp.duckdb"]
    # conversion files do not depend on the traits: republished by tonight's run
    assert [read_manifest(c)["run_id"] for c in conversions] == [night.run_id] * len(conversions)
    assert "customer_traits_are_stable" in failure_report(data_dir, LAST_NIGHT)
    assert retries_of(night.run_id) == []                          # a refusal is not retried


def test_a_database_held_by_another_process_is_retried_and_the_night_succeeds(month_copy, monkeypatch):
    """A transient error (the working database held by another process at the start of the
    build) is retried after a wait; the night then succeeds."""
    import dagster as dg

    from pipelines.runner import run_night

    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    monkeypatch.setenv("CDP_RETRY_WAIT_SECONDS", "1")
    dg.DagsterInstance.get()                  # create the run storage once, before two threads open it
    holder = duckdb.connect(str(Layout(data_dir).warehouse))     # an analyst's writing session
    released = threading.Event()

    def release_after_the_first_failure() -> None:
        instance, deadline = dg.DagsterInstance.get(), time.monotonic() + 600
        while time.monotonic() < deadline:
            runs = instance.get_runs(limit=1)
            if runs and retries_of(runs[0].run_id):
                break
            time.sleep(0.2)
        holder.close()
        released.set()

    watcher = threading.Thread(target=release_after_the_first_failure)
    watcher.start()
    try:
        night = run_night(LAST_NIGHT, settings)
    finally:
        holder.close()
        watcher.join()
    assert released.is_set()
    assert night.success, night.explain()
    assert retries_of(night.run_id) == ["warehouse"]
