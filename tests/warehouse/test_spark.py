"""The same dbt project on Spark: the month's last two nights built on both engines (real dbt
builds: DuckDB, and Spark through dbt-spark's session method on a local pyspark) give the same
rows in every table."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.engines import DIGITS, build_on_spark, compare, compare_all, spark_tables
from pipelines.settings import Settings
from tests.conftest import WORLD_DAYS, WORLD_START
from tests.warehouse.conftest import dbt_build

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

LAST = WORLD_START + timedelta(days=WORLD_DAYS - 1)
NIGHTS = [LAST - timedelta(days=1), LAST]
# `attribution` is a view over its two parts (a view has no Parquet files of its own on Spark)
CORE_MARTS = ["customers", "identity_map", "customer_traits", "audience_membership", "attribution_by_path",
              "attribution_markov"]


@pytest.fixture(scope="module")
def both_engines(ingested_month, tmp_path_factory):
    """The month's lake, with its last two nights built from scratch on DuckDB and on Spark: the
    first through `build_on_spark` (`history_only`: the first night of the history tables), the
    last through `cdp spark --compare` (its output kept; the data tests run there)."""
    source, _, _ = ingested_month
    data_dir = tmp_path_factory.mktemp("engines") / "world"
    shutil.copytree(source / "lake", data_dir / "lake")
    # one marketers' upload absent (never uploaded), the other present: both branches of
    # `marketing_upload` on both engines (Spark learns which exist from `cdp spark`)
    (data_dir / "lake" / "marketing" / "manual_tags.parquet").unlink()
    first, last = NIGHTS
    dbt_build(data_dir, str(first))
    done = build_on_spark(Settings.from_env(data_dir), first, history_only=True)
    assert done.returncode == 0, done.stdout[-4000:]
    dbt_build(data_dir, str(last))
    cli = subprocess.run([str(Path(sys.executable).parent / "cdp"), "spark", "--data-dir", str(data_dir),
                          "--date", str(last), "--compare"], capture_output=True, text=True)
    return data_dir, cli


def test_the_core_marts_are_equal_row_for_row(both_engines):
    data_dir, _ = both_engines
    found = {t: compare(data_dir, t) for t in CORE_MARTS}
    assert {t: (d.only_duckdb, d.only_spark, d.examples) for t, d in found.items() if not d.equal} == {}
    rows = {t: d.duckdb_rows for t, d in found.items()}
    # the world exercises every mart, both nights of the history tables included
    assert all(n > 0 for n in rows.values()), rows
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        nights = {t: con.execute(f"select count(distinct as_of_date) from {t}").fetchone()[0]
                  for t in ("customer_traits", "audience_membership")}
    assert nights == {"customer_traits": 2, "audience_membership": 2}


def test_every_table_is_equal(both_engines):
    data_dir, _ = both_engines
    found = compare_all(data_dir)
    assert len(found) > 50 and set(CORE_MARTS) <= {d.table for d in found}
    assert {d.table: (d.only_duckdb, d.only_spark, d.examples) for d in found if not d.equal} == {}
    # both nights of the nightly history are there (identity changes included)
    assert {d.table for d in found if d.table.startswith("identity_") and d.duckdb_rows > 0} >= {
        "identity_assignments", "identity_changes", "identity_clusters", "identity_edges"}
    # Spark's graph fixpoints leave no working table behind
    work = [p.name for p in spark_tables(data_dir).iterdir()
            if p.name.startswith("identity_") and "__" in p.name]
    assert work == []


def test_a_difference_is_found_and_shown(tmp_path):
    """The comparison itself: one changed value is one row on each side, shown with its engine."""
    warehouse = Layout(tmp_path).warehouse
    warehouse.parent.mkdir(parents=True)
    spark = spark_tables(tmp_path) / "prices"
    spark.mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table prices as select * from (values ('a', 1.5), ('b', 2.25), ('c', 3.0)) t(sku, price)")
        # the same rows, one price off by more than the rounding, one by less
        con.execute(f"copy (select sku, case sku when 'b' then 2.26 when 'c' then 3.0 + 1e-{DIGITS + 3} "
                    f"else price end as price from prices) to '{spark}/part-0.parquet'")
    found = compare(tmp_path, "prices")
    assert (found.duckdb_rows, found.spark_rows, found.only_duckdb, found.only_spark) == (3, 3, 1, 1)
    assert sorted(found.examples) == [("duckdb", "b", 2.25), ("spark", "b", 2.26)]
    assert compare(tmp_path, "prices", where="sku <> 'b'").equal


def test_cdp_spark_builds_a_night_and_compares_every_table(both_engines):
    """`cdp spark --compare` (the fixture's last night): built on Spark, every table compared with
    DuckDB's on that night, all equal; exit 0."""
    data_dir, done = both_engines
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the project's data tests ran on Spark too, and passed (the first night built models only)
    results = json.loads((spark_tables(data_dir).parent / "dbt" / "run_results.json").read_text())["results"]
    tests = {r["unique_id"].split(".")[2]: r["status"] for r in results if r["unique_id"].startswith("test.")}
    assert len(tests) > 100 and set(tests.values()) == {"pass"}, {t: s for t, s in tests.items() if s != "pass"}
    assert "customer_traits_are_stable" in tests
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Built {LAST} on Spark")
    verdicts = [line.split()[-1] for line in lines[1:] if not line.startswith(" ")]
    assert len(verdicts) > 50 and set(verdicts) == {"equal"}
    assert any(line.startswith("customer_traits ") for line in lines)


def test_spec_literals_read_the_same_on_spark():
    """Values with quotes and timestamps with offsets, as the generators write them, in a Spark
    session set up as the profile sets it (`''` would lose the quote there)."""
    from pyspark.sql import SparkSession

    from tests.lib.specs.test_specs import LITERAL_VALUES, LITERALS, literal_sql

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.parser.escapedStringLiterals", "true")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    try:
        got = [spark.sql(f"select {literal_sql(kind, raw, 'string')}").collect()[0][0] for kind, raw in LITERALS]
    finally:
        spark.stop()
    assert got == LITERAL_VALUES
