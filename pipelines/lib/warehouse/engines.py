"""The same dbt project on Spark: build a night with `--target spark` and compare its tables with
the DuckDB warehouse's, row for row.

Spark (dbt-spark's session method, a local pyspark in the dbt process) writes plain Parquet
tables under `warehouse/spark/cdp.db/<table>/`; DuckDB reads them there once dbt has exited.
Values are compared in DuckDB's types: timestamps as UTC wall clock, numbers as doubles rounded
to `DIGITS` decimals (sums of doubles differ in their last bits with the order they are added in).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.specs import compile_project
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, build_vars, night_env
from pipelines.settings import Settings

DIGITS = 9
_NUMBERS = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")
_SORT_KEYS = ("STRUCT", "TUPLE")
# DuckDB-only bookkeeping of incremental nights, reuse and the file's rewrite (Spark rebuilds
# those tables instead, and its files are not DuckDB's).
DUCKDB_ONLY = frozenset({"delivery_loads", "build_state", "table_builds", "restated_customer_days",
                         "restated_customers", "moved_records", "restated_nodes", "record_customers_identifiers",
                         "compaction_owed"})
# Bookkeeping of DuckDB's restated tables: digests of each customer's inputs (hashes, whose
# function differs between engines), and in `customer_touchpoints` a row without a touch for a
# customer whose touches all went (Spark, rebuilding, has no such row): the touches compare.
IGNORED = {"customer_touchpoints": ("clicks_digest",), "attribution_by_path": ("inputs_digest",)}
ROWS = {"customer_touchpoints": "touch_id is not null"}


def spark_tables(data_dir: Path) -> Path:
    """Where Spark keeps the project's tables (the profile's `spark.sql.warehouse.dir`)."""
    return data_dir / "warehouse" / "spark" / "cdp.db"


def build_on_spark(settings: Settings, run_date: date | str, history_only: bool = False) -> subprocess.CompletedProcess:
    """`dbt build --target spark` as of `run_date` over the settings' lake, with the vars of the
    DuckDB night (time zone, threads, gate reference), this interpreter for the script transform
    and the marketers' uploads found in the lake; the log is `warehouse/spark/dbt-<run_date>.log`.
    `history_only` builds what the next night reads of this one: the incremental models (the
    history tables) and the models they read, without data tests (a night that only lays down
    the history: each node costs Spark a few jobs of a second or more, whatever the rows)."""
    compile_project(PROJECT_DIR)                  # the trait and audience models, from the specs
    out = settings.data_dir / "warehouse" / "spark"
    out.mkdir(parents=True, exist_ok=True)
    # the lake files models may ask about (Spark SQL cannot list a folder): the marketers' uploads
    uploads = sorted(str(p) for p in (settings.data_dir / "lake" / "marketing").glob("*.parquet"))
    night = {**json.loads(build_vars(settings)), "python": sys.executable, "lake_files": uploads}
    done = subprocess.run(
        [str(DBT), "build", "--target", "spark", "--project-dir", str(PROJECT_DIR),
         "--profiles-dir", str(PROJECT_DIR), "--target-path", str(out / "dbt"), "--vars", json.dumps(night),
         *(["--select", "+config.materialized:incremental", "--exclude-resource-type", "test"] if history_only else [])],
        cwd=PROJECT_DIR, capture_output=True, text=True,
        env={**os.environ, **night_env(settings, run_date)})
    (out / f"dbt-{run_date}.log").write_text(done.stdout + done.stderr)
    return done


@dataclass(frozen=True)
class Difference:
    """Rows of one table only DuckDB has and only Spark has (after normalising), with examples."""
    table: str
    duckdb_rows: int
    spark_rows: int
    only_duckdb: int
    only_spark: int
    examples: list[tuple]

    @property
    def equal(self) -> bool:
        return self.only_duckdb == 0 and self.only_spark == 0


def compare(data_dir: Path, table: str, where: str = "true", ignore: tuple[str, ...] | None = None) -> Difference:
    """The DuckDB warehouse's `table` against Spark's, over the rows matching `where`, leaving
    out the columns `ignore` (engine-specific bookkeeping, such as a hash digest: by default the
    table's in `IGNORED`)."""
    ignore = IGNORED.get(table, ()) if ignore is None else ignore
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and table_name = ? order by ordinal_position", [table]).fetchall()
        assert columns, f"{table}: not in the DuckDB warehouse"
        files = f"{spark_tables(data_dir) / table}/**/*.parquet"
        written = con.execute("select count(*) from glob(?)", [files]).fetchone()[0]
        # an empty table has no file (a partitioned one not even its folder)
        spark = f"read_parquet('{files}', hive_partitioning = true)" if written else f"(from main.{table} limit 0)"
        # a struct is a sort key (macro `order_key`, a most-frequent value's latest row): Spark
        # spells it with null flags; the values it picks are compared
        select = ", ".join(_normalised(name, kind) for name, kind in columns
                           if name not in ignore and not kind.startswith(_SORT_KEYS))
        ours = f"select {select} from main.{table} where {where}"
        theirs = f"select {select} from {spark} where {where}"
        counts = con.execute(f"select (select count(*) from ({ours})), (select count(*) from ({theirs})), "
                             f"(select count(*) from ({ours} except all {theirs})), "
                             f"(select count(*) from ({theirs} except all {ours}))").fetchone()
        examples = con.execute(f"(select 'duckdb' as engine, * from ({ours} except all {theirs}) limit 3) union all "
                               f"(select 'spark', * from ({theirs} except all {ours}) limit 3)").fetchall()
    return Difference(table, *counts, examples)


def _normalised(name: str, kind: str) -> str:
    column = f'"{name}"'
    if kind.startswith("TIMESTAMP"):
        return f"cast({column} as timestamp) as {column}"
    if kind.startswith(_NUMBERS):
        return f"round(cast({column} as double), {DIGITS}) as {column}"
    return f"cast({column} as {kind}) as {column}"


def compare_all(data_dir: Path, night: date | None = None) -> list[Difference]:
    """Every table of the DuckDB warehouse against Spark's; with `night`, the history tables
    (those with an `as_of_date`) only on that night."""
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name, bool_or(column_name = 'as_of_date') from information_schema.tables "
            "join information_schema.columns using (table_schema, table_name) "
            "where table_schema = 'main' and table_type = 'BASE TABLE' group by 1 order by 1").fetchall()
    return [compare(data_dir, table, " and ".join([ROWS.get(table, "true"),
                                                   f"as_of_date = date '{night}'" if night and nightly else "true"]))
            for table, nightly in tables if table not in DUCKDB_ONLY]
