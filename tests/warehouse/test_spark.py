"""The same dbt project on Spark: the month's last two nights built on both engines (real dbt
builds: DuckDB, and Spark through dbt-spark's session method on a local pyspark) give the same
rows in every table."""
from __future__ import annotations

import shutil
from datetime import timedelta

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.engines import DIGITS, build_on_spark, compare, spark_tables
from tests.conftest import WORLD_DAYS, WORLD_START
from tests.warehouse.conftest import dbt_build

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

LAST = WORLD_START + timedelta(days=WORLD_DAYS - 1)
NIGHTS = [LAST - timedelta(days=1), LAST]
CORE_MARTS = ["customers", "identity_map", "customer_traits", "audience_membership", "attribution"]
# DuckDB-only bookkeeping of incremental nights (Spark rebuilds those tables instead).
DUCKDB_ONLY = {"delivery_loads", "build_state", "table_builds"}
# A per-customer digest of the touches' inputs: a hash, whose function differs between engines.
IGNORED = {"customer_touchpoints": ("inputs_digest",)}


@pytest.fixture(scope="module")
def both_engines(ingested_month, tmp_path_factory):
    """The month's lake, with its last two nights built from scratch on DuckDB and on Spark."""
    source, _, _ = ingested_month
    data_dir = tmp_path_factory.mktemp("engines") / "world"
    shutil.copytree(source / "lake", data_dir / "lake")
    for night in NIGHTS:
        dbt_build(data_dir, str(night))
        done = build_on_spark(data_dir, night)
        assert done.returncode == 0, done.stdout[-4000:]
    return data_dir


def _tables(data_dir) -> list[str]:
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        return [t for (t,) in con.execute("select table_name from information_schema.tables "
                                         "where table_schema = 'main' and table_type = 'BASE TABLE' order by 1")
                .fetchall() if t not in DUCKDB_ONLY]


def test_the_core_marts_are_equal_row_for_row(both_engines):
    found = {t: compare(both_engines, t) for t in CORE_MARTS}
    assert {t: (d.only_duckdb, d.only_spark, d.examples) for t, d in found.items() if not d.equal} == {}
    rows = {t: d.duckdb_rows for t, d in found.items()}
    # the world exercises every mart, both nights of the history tables included
    assert all(n > 0 for n in rows.values()), rows
    with duckdb.connect(str(Layout(both_engines).warehouse), read_only=True) as con:
        nights = {t: con.execute(f"select count(distinct as_of_date) from {t}").fetchone()[0]
                  for t in ("customer_traits", "audience_membership")}
    assert nights == {"customer_traits": 2, "audience_membership": 2}


def test_every_other_table_is_equal_too(both_engines):
    tables = _tables(both_engines)
    assert len(tables) > 50 and set(CORE_MARTS) <= set(tables)
    different = {}
    for table in sorted(set(tables) - set(CORE_MARTS)):
        d = compare(both_engines, table, ignore=IGNORED.get(table, ()))
        if not d.equal:
            different[table] = (d.only_duckdb, d.only_spark, d.examples)
    assert different == {}
    # Spark's graph fixpoints leave no working table behind
    assert sorted(p.name for p in spark_tables(both_engines).iterdir() if "__" in p.name) == []


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
