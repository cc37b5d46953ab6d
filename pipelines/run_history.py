"""Dagster's run history in SQLite (`<data_dir>/.dagster`), with one open connection per database.

Dagster's SQLite event log opens a new engine and connection for every event it stores, and
disposes of it: a night stores about 650 events (planned materializations and checks, outputs,
materializations, check results), and the connections alone cost about 5 s of a quiet night
(7.5 ms an event in all here, where a SQLite commit is 1.9 ms). This storage keeps one engine per
database file for the life of the process; the files, their schema and everything that reads
them (the UI, `cdp status`) are unchanged. Configured in dagster.yaml (`storage: custom`).

It overrides `SqliteEventLogStorage._connect`, a private member of dagster (pinned in
pyproject.toml): check it when upgrading dagster.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


def _commit_without_sync(connection, _record) -> None:
    """The event log is in WAL mode (dagster sets it): with `synchronous=NORMAL` a commit appends
    to the log without waiting for the disk (0.5 ms -> 0.03 ms here; a quiet night commits about
    1,700 times). A process that dies loses nothing; a power cut may lose the last events, never
    the database, and the night they belonged to is run again anyway (`release_dead_runs`)."""
    connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, each database's engine (and its connection) kept open."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._engines: dict[str, Engine] = {}

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:             # one statement at a time, as dagster's own
            engine = self._engines.get(shard)
            if engine is None:
                # a connection may be used from another thread (under the lock): SQLite must allow it;
                # dagster nests connections to one file (the lock is re-entrant): a pool, not one
                engine = create_engine(self.conn_string_for_shard(shard),
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                     "check_same_thread": False})
                event.listen(engine, "connect", _commit_without_sync)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


class RunHistoryStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, events, schedules under `base_dir`) with the pooled event log."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
