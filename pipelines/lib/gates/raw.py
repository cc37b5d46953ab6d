"""Boundary gates on one source's delivery, run right after it is ingested.

Four checks, named as assertions (they become Dagster asset checks of the source's asset):
- `delivery_files_are_readable`: no file was refused (blocking: a refused file means missing data);
- `quarantined_rows_are_under_5_percent`: per entity, once at least 20 rows are quarantined
  (blocking: a broken export, not noise);
- `lake_rows_match_the_contract`: schema, required values, value sets, unique natural keys
  (blocking);
- `volume_is_in_line_with_previous_deliveries`: rows within 1/5x..5x of the median of the last
  7 deliveries, once 3 exist (a warning only: promotions and quiet days are real).
"""
from __future__ import annotations

import statistics
from datetime import date, timedelta

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.gates.expectations import GateResult, gxe, validate
from pipelines.lib.ingest.ingest_log import read_log
from pipelines.lib.ingest.report import STATUSES, DeliveryReport
from pipelines.lib.ingest.spec import Entity, Source
from pipelines.lib.layout import Layout

MAX_QUARANTINED_SHARE = 0.05
# A small delivery with one truncated line is noise, not a broken export: the share only
# counts once this many rows of an entity were quarantined.
MIN_QUARANTINED_ROWS = 20
VOLUME_FACTOR = 5.0
VOLUME_HISTORY_DAYS = 7
BLOCKING = ("delivery_files_are_readable", "quarantined_rows_are_under_5_percent", "lake_rows_match_the_contract")
WARNING = ("volume_is_in_line_with_previous_deliveries",)


def _files_readable(report: DeliveryReport) -> GateResult:
    frame = pd.DataFrame({"file": [f.file for f in report.files], "status": [f.status for f in report.files]})
    result = validate(f"{report.source}_files", frame, [gxe.ExpectColumnValuesToBeInSet(
        column="status", value_set=[s for s in STATUSES if s != "refused"])])
    result.name = "delivery_files_are_readable"
    result.failures = [f"{f.file} refused: {f.reason}" for f in report.refused] or result.failures
    return result


def _quarantine_share(report: DeliveryReport, source: Source) -> GateResult:
    rows = []
    for e in source.entities:
        files = [f for f in report.files if f.entity == e.name and f.status == "ingested"]
        read = sum(f.rows_read for f in files)
        quarantined = sum(f.rows_quarantined for f in files)
        rows.append({"entity": e.name, "rows_read": read,
                     "share": quarantined / read if read and quarantined >= MIN_QUARANTINED_ROWS else 0.0})
    frame = pd.DataFrame(rows)
    result = validate(f"{report.source}_quarantine", frame, [gxe.ExpectColumnValuesToBeBetween(
        column="share", min_value=0.0, max_value=MAX_QUARANTINED_SHARE)])
    result.name = "quarantined_rows_are_under_5_percent"
    if not result.passed:
        result.failures = [f"{r['entity']}: {r['share']:.1%} of {r['rows_read']} rows quarantined "
                           f"(limit {MAX_QUARANTINED_SHARE:.0%}); top reasons: {report.reason_counts}"
                           for r in rows if r["share"] > MAX_QUARANTINED_SHARE]
    return result


def _schema_expectations(entity: Entity) -> list:
    expected = [*entity.columns, "_source_file", "_source_line", "_file_sha256", "_ingested_at", "_warnings"]
    return [gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=True)]


def _value_expectations(entity: Entity) -> list:
    out = [gxe.ExpectColumnValuesToNotBeNull(column="_source_line")]
    for f in entity.fields:
        if f.required:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=f.column))
        if f.allowed:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=f.column, value_set=list(f.allowed)))
    if len(entity.natural_key) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=entity.natural_key[0]))
    return out


def _validate_partition(name: str, entity: Entity, part) -> GateResult:
    """Schema on the file's column list, values on just the columns they need (not whole rows)."""
    if not part.exists():
        return GateResult(name=name, passed=False, checked=1, failures=[f"{part} is missing"])
    names = pq.read_schema(part).names
    schema = validate(f"{name}_schema", pd.DataFrame(columns=names), _schema_expectations(entity))
    expectations = [e for e in _value_expectations(entity) if e.column in names]
    frame = pq.read_table(part, columns=sorted({e.column for e in expectations})).to_pandas()
    values = validate(f"{name}_values", frame, expectations)
    result = GateResult(name=name, passed=schema.passed and values.passed, checked=schema.checked + values.checked,
                        failures=schema.failures + values.failures)
    if len(entity.natural_key) > 1 and len(frame):
        # Compound keys with nulls: count with DuckDB, where NULL keys compare equal.
        keys = ", ".join(f'"{k}"' for k in entity.natural_key)
        dupes = duckdb.connect().execute(
            f"SELECT count(*) - count(DISTINCT ({keys})) FROM read_parquet('{part}')").fetchone()[0]
        result.checked += 1
        if dupes:
            result.passed = False
            result.failures.append(f"natural key ({keys}) repeats in {dupes} rows")
    return result


def _lake_contract(layout: Layout, source: Source, day: date) -> GateResult:
    results = [(e.name, _validate_partition(f"{source.name}_{e.name}", e,
                                            layout.lake_partition(source.name, e.name, day) / "part-0.parquet"))
               for e in source.entities]
    return GateResult(
        name="lake_rows_match_the_contract", passed=all(r.passed for _, r in results),
        checked=sum(r.checked for _, r in results),
        failures=[f"{name}: {msg}" for name, r in results for msg in r.failures])


def _volume(layout: Layout, report: DeliveryReport, source: Source) -> GateResult:
    log = read_log(layout).to_pandas()
    start = report.delivery_date - timedelta(days=VOLUME_HISTORY_DAYS)
    if len(log):
        log = log[(log["source"] == source.name) & (log["delivery_date"] >= start)
                  & (log["delivery_date"] < report.delivery_date)]
    failures, checked = [], 0
    for e in source.entities:
        history = log[log["entity"] == e.name].groupby("delivery_date")["rows_in_lake"].sum().tolist() if len(log) else []
        if len(history) < 3:
            continue
        median = statistics.median(history)
        low, high = int(median / VOLUME_FACTOR), int(median * VOLUME_FACTOR) + 1
        rows = report.rows_per_entity.get(e.name, 0)
        frame = pd.DataFrame(index=pd.RangeIndex(rows))  # row count only: no data needed
        result = validate(f"{source.name}_{e.name}_volume", frame,
                          [gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high)])
        checked += 1
        if not result.passed:
            failures.append(f"{e.name}: {rows} rows, expected {low}..{high} (median of the last "
                            f"{len(history)} deliveries: {median:g})")
    return GateResult(name="volume_is_in_line_with_previous_deliveries", passed=not failures,
                      checked=checked, failures=failures,
                      note="fewer than 3 earlier deliveries to compare with" if not checked else "")


def delivery_gates(layout: Layout, source: Source, report: DeliveryReport) -> list[GateResult]:
    if not report.files:
        # No delivery tonight: nothing was read, quarantined or written from a file. Only the
        # volume gate has something to say (a source that stopped delivering).
        nothing = [GateResult(name=name, passed=True, note="no delivery tonight") for name in BLOCKING]
        return [*nothing, _volume(layout, report, source)]
    return [
        _files_readable(report),
        _quarantine_share(report, source),
        _lake_contract(layout, source, report.delivery_date),
        _volume(layout, report, source),
    ]
