"""The run history (dagster.yaml's `storage`) keeps one engine per database file, and what it
writes is Dagster's own SQLite history: the stock storage reads it back."""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.run_history import PooledSqliteEventLogStorage

REPO = Path(__file__).resolve().parents[2]


@dg.asset
def first() -> int:
    return 1


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="second")])
def second(first: int):
    yield dg.Output(first + 1)
    yield dg.AssetCheckResult(passed=True, check_name="positive")


def test_a_run_stores_its_events_through_one_engine_per_file_in_dagsters_format(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(tmp_path))
    created = []
    real = sqlalchemy.create_engine
    monkeypatch.setattr("pipelines.run_history.create_engine", lambda *a, **k: created.append(a[0]) or real(*a, **k))
    with dg.DagsterInstance.from_config(str(REPO)) as instance:
        events = instance.event_log_storage
        assert isinstance(events, PooledSqliteEventLogStorage)
        result = dg.materialize([first, second], instance=instance)
        assert result.success
        stored = instance.all_logs(result.run_id)
        # every event of the run went through two engines: the run's file and the asset index
        assert len(stored) > 10 and len(created) == 2
        assert sorted(Path(c.removeprefix("sqlite:///")).name for c in created) == sorted(["index.db", f"{result.run_id}.db"])
    # the stock storage reads the same files back
    stock = SqliteEventLogStorage(str(tmp_path / "history" / "runs"))
    assert [e.dagster_event_type for e in stock.get_logs_for_run(result.run_id)] == \
        [e.dagster_event_type for e in stored]
    assert stock.get_latest_materialization_events([dg.AssetKey("second")])[dg.AssetKey("second")] is not None


def test_commits_append_to_the_write_ahead_log_without_waiting_for_the_disk(tmp_path, monkeypatch):
    """WAL (dagster's own) and `synchronous=NORMAL` (ours) on every connection of the pooled event
    log: a quiet night commits about 1,700 times, and FULL waits for the disk at each one."""
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(tmp_path))
    with dg.DagsterInstance.from_config(str(REPO)) as instance:
        assert dg.materialize([first, second], instance=instance).success
        with instance.event_log_storage.index_connection() as conn:
            modes = conn.exec_driver_sql("PRAGMA journal_mode").scalar(), \
                conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert modes == ("wal", 1)     # 1 = NORMAL (2 = FULL, sqlite's default)
