"""The dbt tests of history tables judge the night being built only: a value a spec no longer
accepts lives on in older nights, and tonight's rows must hold accepted values. A real `dbt test`
on a hand-made `customer_traits`, the night passed in dbt's environment as the pipeline does."""
from __future__ import annotations

import re

import duckdb

from pipelines.lib.layout import Layout
from tests.warehouse.conftest import dbt_build

SELECT = ["test_name:accepted_values_per_night"]


def _outcomes(out: str) -> dict[str, str]:
    """Each test's outcome in dbt's output: PASS, or FAIL with its count of failing rows."""
    return {name: outcome.strip() for outcome, name in
            re.findall(r"\b(PASS|FAIL \d+) (accepted_values_per_night_customer_traits_[a-z]+(?:_[a-z]+)*?)__", out)}


def _traits(data_dir, rows: list[tuple]) -> None:
    Layout(data_dir).warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("CREATE OR REPLACE TABLE customer_traits "
                    "(customer_id VARCHAR, as_of_date DATE, lifecycle_stage VARCHAR, rfm_segment VARCHAR)")
        con.executemany("INSERT INTO customer_traits VALUES (?, ?, ?, ?)", rows)


def test_older_nights_may_keep_a_renamed_value_tonight_may_not(tmp_path):
    # 'sleepers' was a segment's name before the spec renamed it: only the older night holds it
    _traits(tmp_path, [("c1", "2026-01-01", "growth", "sleepers"), ("c1", "2026-01-02", "growth", "loyal"),
                       ("c2", "2026-01-02", "churn", None)])
    out = dbt_build(tmp_path, "2026-01-02", select=SELECT, command="test")
    assert _outcomes(out) == {"accepted_values_per_night_customer_traits_lifecycle_stage": "PASS",
                              "accepted_values_per_night_customer_traits_rfm_segment": "PASS"}
    # as of the older night the segment's test fails (and only it), with the one bad value
    out = dbt_build(tmp_path, "2026-01-01", select=SELECT, command="test", expect_failure=True)
    assert _outcomes(out) == {"accepted_values_per_night_customer_traits_lifecycle_stage": "PASS",
                              "accepted_values_per_night_customer_traits_rfm_segment": "FAIL 1"}
