"""Conversion files for ad platforms (published contract §4):
`published/conversions/<platform>/<YYYY-MM-DD>/conversions.csv|parquet` + `_manifest.json`.

One folder per platform per night, also when no order qualified (an empty file says the night
ran). Rows are the warehouse's `ad_conversions` first delivered that night, in the columns an
offline-conversion upload takes; times are UTC (ISO-8601 with `Z` in the CSV).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import publish_folder
from pipelines.lib.publish.gates import PublishRefused, admit

UPLOAD_COLUMNS = ("click_id", "conversion_type", "conversion_time", "value", "currency", "order_id",
                  "hashed_phone", "hashed_email")


def check_conversions(con: duckdb.DuckDBPyConnection, parquet: Path, expected_rows: int) -> list[str]:
    """Great Expectations on the staged file: the upload's columns, the source's row count, one
    row per order, a click id on every row, hashes in sha256 form."""
    import great_expectations.expectations as gxe

    from pipelines.lib.gates.expectations import validate

    frame = con.sql(f"SELECT * FROM read_parquet('{parquet}')").df()
    return list(validate("published_conversions", frame, [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(UPLOAD_COLUMNS)),
        gxe.ExpectTableRowCountToEqual(value=expected_rows),
        gxe.ExpectColumnValuesToBeUnique(column="order_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="click_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="hashed_phone", regex=r"^[0-9a-f]{64}$"),
        gxe.ExpectColumnValuesToMatchRegex(column="hashed_email", regex=r"^[0-9a-f]{64}$"),
    ]).failures)


def conversions_folder(layout: Layout, platform: str, night: date) -> Path:
    return layout.data_dir / "published" / "conversions" / platform / night.isoformat()


def publish_conversions(layout: Layout, night: date, run_id: str) -> dict[str, int]:
    """Publishes every platform's file for the night; returns rows per platform."""
    gates = admit(layout.dbt_target, ["ad_conversions"], "conversion files")
    published = {}
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        platforms = [r[0] for r in con.execute(
            "SELECT DISTINCT platform FROM channel_mapping WHERE source = 'ads' AND platform IS NOT NULL "
            "ORDER BY platform").fetchall()]
        for platform in platforms:
            rows = f"""
                SELECT click_id, conversion_type, conversion_time, value, currency, order_id,
                       hashed_phone, hashed_email
                FROM ad_conversions
                WHERE platform = '{platform}' AND first_delivered_on = DATE '{night.isoformat()}'
                ORDER BY order_id"""

            [(count,)] = con.execute(f"SELECT count(*) FROM ({rows})").fetchall()

            def write(folder: Path, rows: str = rows, count: int = count, platform: str = platform) -> dict[str, int]:
                con.execute(f"COPY ({rows}) TO '{folder / 'conversions.parquet'}' (FORMAT parquet)")
                problems = check_conversions(con, folder / "conversions.parquet", count)
                if problems:
                    raise PublishRefused(f"conversions for {platform}: file gates failed: {'; '.join(problems)}")
                con.execute(f"""COPY (SELECT * REPLACE (strftime(conversion_time, '%Y-%m-%dT%H:%M:%SZ')
                                                        AS conversion_time) FROM ({rows}))
                                TO '{folder / 'conversions.csv'}' (HEADER, DELIMITER ',')""")
                return {"conversions.parquet": count, "conversions.csv": count}

            publish_folder(layout, conversions_folder(layout, platform, night), write, {
                "kind": "ad_conversions", "platform": platform, "as_of_date": night.isoformat(), "run_id": run_id,
                "row_count": count, "columns": list(UPLOAD_COLUMNS),
                "gates": [*gates, {"gate": "files (Great Expectations): columns, rows, one row per order, click ids, "
                                           "hash formats", "status": "pass"}]})
            published[platform] = count
    return published
