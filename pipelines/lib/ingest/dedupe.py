"""SQL that decides each parsed row's fate: lake, quarantined or deduplicated.

Within a delivery, the first occurrence of a natural key wins (file order, then line), or the
highest `version` when the entity has one (`updated_at`: latest status of an order). Against
earlier deliveries (a bounded lookback: retries arrive within days), a key already in the lake
is a duplicate, and so is an older or equal version of a versioned key.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.ingest.spec import Entity


def _same_key(entity: Entity, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" IS NOT DISTINCT FROM {right}."{k}"' for k in entity.natural_key)


def fate_sql(entity: Entity, parsed: str, prior: str | None) -> str:
    """`_row` (the row id in table `parsed`), `_source_file` and `_fate` for every parsed row.

    Narrow on purpose: only keys and versions are read, and the wide rows are joined back
    once, when the lake partition is written. `prior` is a relation of earlier lake keys.
    """
    keys = ", ".join(f'"{k}"' for k in entity.natural_key)
    version = [entity.version] if entity.version else []
    needed = ", ".join(f'"{c}"' for c in dict.fromkeys([*entity.natural_key, *version]))
    order = (f'"{entity.version}" DESC NULLS LAST, ' if entity.version else "") + "_file_order, _source_line"
    if prior is None:
        seen = "false"
    elif entity.version:
        seen = (f"EXISTS (SELECT 1 FROM {prior} p WHERE {_same_key(entity, 'p', 'r')} "
                f'AND (r."{entity.version}" IS NULL OR p."{entity.version}" >= r."{entity.version}"))')
    else:
        seen = f"EXISTS (SELECT 1 FROM {prior} p WHERE {_same_key(entity, 'p', 'r')})"
    return f"""
SELECT r._row, r._source_file, CASE
    WHEN r._rejected THEN 'quarantined'
    WHEN r._rank > 1 THEN 'deduplicated'
    WHEN {seen} THEN 'deduplicated'
    ELSE 'lake' END AS _fate
FROM (
  SELECT rowid AS _row, _source_file, _reject_reason IS NOT NULL AS _rejected, {needed},
    row_number() OVER (PARTITION BY _reject_reason IS NULL, {keys} ORDER BY {order}) AS _rank
  FROM {parsed}
) r"""


class EarlierKeys:
    """The keys (and versions) of one entity's lake partitions within its dedupe lookback, kept
    in the run's DuckDB from night to night (table `earlier_<entity>`, one row per key and
    night): a night reads the partitions the run did not write itself (the first night's
    lookback) and adds its own once final. Reading every lookback partition again each night
    cost a backfill 7 (or 30) Parquet reads per entity and night."""

    def __init__(self, con: duckdb.DuckDBPyConnection, entity: Entity, partition: Callable[[date], Path],
                 typed_like: str):
        """`partition`: a night's lake file; `typed_like`: a relation with the lake's column types."""
        self.con, self.entity, self.partition, self.typed_like = con, entity, partition, typed_like
        self.table = f"earlier_{entity.name}"
        self.columns = list(dict.fromkeys([*entity.natural_key, *([entity.version] if entity.version else [])]))
        self.held: set[date] = set()
        self.created = False

    def relation(self, day: date) -> str | None:
        """The keys of the lookback before `day`, as a SQL relation (None: no lookback)."""
        lookback = self.entity.dedupe_lookback_days
        if not lookback:
            return None
        start = day - timedelta(days=lookback)
        for night in (start + timedelta(days=i) for i in range(lookback)):
            if night not in self.held:
                self.add(night)
        self.con.execute(f"DELETE FROM {self.table} WHERE _night < ?", [start])
        self.held = {night for night in self.held if night >= start}
        cols = ", ".join(f'"{c}"' for c in self.columns)
        return f"(SELECT {cols} FROM {self.table} WHERE _night >= DATE '{start}' AND _night < DATE '{day}')"

    def add(self, night: date) -> None:
        """The night's final lake partition (none: no keys), replacing what was held for it."""
        if not self.entity.dedupe_lookback_days:
            return
        path = self.partition(night)
        if not self.created:
            cols = ", ".join(f'"{c}"' for c in self.columns)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS "
                             f"SELECT CAST(NULL AS DATE) AS _night, {cols} FROM {self.typed_like} LIMIT 0")
            self.created = True
        self.con.execute(f"DELETE FROM {self.table} WHERE _night = ?", [night])
        self.held.add(night)
        if not path.exists():
            return
        # a partition written before a key column existed (schema evolution) reads it as NULL
        present = {r[0] for r in self.con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
        cols = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in self.columns)
        self.con.execute(f"INSERT INTO {self.table} SELECT DATE '{night}', {cols} FROM read_parquet(?)", [str(path)])
