"""Boundary gates on one source's deliveries, run right after they are ingested.

Four checks, named as assertions (they become Dagster asset checks of the source's asset):
- `delivery_files_are_readable`: no file was refused (blocking: a refused file means missing data);
- `quarantined_rows_are_under_5_percent`: per entity, once at least 20 rows are quarantined
  (blocking: a broken export, not noise);
- `lake_rows_match_the_contract`: schema, required values, value sets, unique natural keys
  (blocking);
- `volume_is_in_line_with_previous_deliveries`: rows within 1/5x..5x of the median of the last
  7 deliveries, once 3 exist (a warning only: promotions and quiet days are real).

Each gate judges every night of a run at once: one validation per gate over the nights' rows
(with their night) rather than one per night, since Great Expectations' cost is mostly per
validation (about 30 ms) and a backfill runs twenty nights a run. Each night is still judged on
its own: keys are unique within a night, volumes are compared with the nights before each. A
gate that fails over several nights says which nights, and what, in each night's own words.
"""
from __future__ import annotations

import statistics
from datetime import date, timedelta

import duckdb
import pandas as pd
import pyarrow as pa
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
NIGHT = "_night"  # the night a row of a gate's frame belongs to


def _gate(name: str, judged: GateResult, by_night: dict[date, list[str]], reports: list[DeliveryReport]) -> GateResult:
    """The gate's result over the nights of `reports`: `judged`'s verdict and count, and each
    failing night's failures, said with their night when there are several (Great Expectations'
    own words, under the first night, when only it saw something wrong)."""
    if not judged.passed and not by_night:
        by_night = {reports[0].delivery_date: judged.failures}
    failures = [f"{day}: {line}" if len(reports) > 1 else line for day, lines in sorted(by_night.items())
                for line in lines]
    return GateResult(name=name, passed=judged.passed and not by_night, checked=judged.checked, failures=failures,
                      by_night=by_night)


def _files_readable(reports: list[DeliveryReport]) -> GateResult:
    frame = pd.DataFrame({NIGHT: [r.delivery_date for r in reports for _ in r.files],
                          "file": [f.file for r in reports for f in r.files],
                          "status": [f.status for r in reports for f in r.files]})
    judged = validate("files", frame, [gxe.ExpectColumnValuesToBeInSet(
        column="status", value_set=[s for s in STATUSES if s != "refused"])])
    failures = {r.delivery_date: [f"{f.file} refused: {f.reason}" for f in r.refused] for r in reports if r.refused}
    return _gate("delivery_files_are_readable", judged, failures, reports)


def _quarantine_share(reports: list[DeliveryReport], source: Source) -> GateResult:
    rows = []
    for r in reports:
        for e in source.entities:
            files = [f for f in r.files if f.entity == e.name and f.status == "ingested"]
            read = sum(f.rows_read for f in files)
            quarantined = sum(f.rows_quarantined for f in files)
            rows.append({NIGHT: r.delivery_date, "entity": e.name, "rows_read": read,
                         "share": quarantined / read if read and quarantined >= MIN_QUARANTINED_ROWS else 0.0})
    judged = validate("quarantine", pd.DataFrame(rows), [gxe.ExpectColumnValuesToBeBetween(
        column="share", min_value=0.0, max_value=MAX_QUARANTINED_SHARE)])
    reasons = {r.delivery_date: r.reason_counts for r in reports}
    failures: dict[date, list[str]] = {}
    for row in rows:
        if row["share"] > MAX_QUARANTINED_SHARE:
            failures.setdefault(row[NIGHT], []).append(
                f"{row['entity']}: {row['share']:.1%} of {row['rows_read']} rows quarantined "
                f"(limit {MAX_QUARANTINED_SHARE:.0%}); top reasons: {reasons[row[NIGHT]]}")
    return _gate("quarantined_rows_are_under_5_percent", judged, failures, reports)


def _schema_expectations(entity: Entity) -> list:
    expected = [*entity.columns, "_source_file", "_source_line", "_file_sha256", "_ingested_at", "_warnings"]
    return [gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=True)]


def _value_expectations(entity: Entity, nights: int = 1) -> list:
    """Required values, value sets and, within each night, a unique single-column natural key."""
    out = [gxe.ExpectColumnValuesToNotBeNull(column="_source_line")]
    for f in entity.fields:
        if f.required:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=f.column))
        if f.allowed:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=f.column, value_set=list(f.allowed)))
    if len(entity.natural_key) == 1:
        key = entity.natural_key[0]
        # over several nights: unique per night (null keys are not compared, as for one column)
        out.append(gxe.ExpectColumnValuesToBeUnique(column=key) if nights == 1 else
                   gxe.ExpectCompoundColumnsToBeUnique(column_list=[NIGHT, key], ignore_row_if="any_value_is_missing"))
    return out


def _with_night(table: pa.Table, day: date) -> pa.Table:
    return table.append_column(NIGHT, pa.array([day] * table.num_rows, pa.date32()))


def _columns(expectations: list) -> set[str]:
    return {c for e in expectations for c in (getattr(e, "column_list", None) or [e.column])}


def _entity_contract(layout: Layout, source: Source, entity: Entity, days: list[date]) -> tuple[int, dict]:
    """Expectations checked, and failures per night, of `entity`'s partitions of `days`: the schema
    once per distinct column list, values in one frame of every night's columns they need."""
    failures: dict[date, list[str]] = {}
    parts = {day: layout.lake_file(source.name, entity.name, day) for day in days}
    for day, part in parts.items():
        if not part.exists():
            failures[day] = [f"{part} is missing"]
    present = [day for day in days if day not in failures]
    by_schema: dict[tuple[str, ...], list[date]] = {}
    for day in present:
        by_schema.setdefault(tuple(pq.read_schema(parts[day]).names), []).append(day)
    checked = len(failures)
    for names, nights in by_schema.items():
        schema = validate(f"{source.name}_{entity.name}_schema", pd.DataFrame(columns=list(names)),
                          _schema_expectations(entity))
        checked += schema.checked
        for day in nights:
            failures.setdefault(day, []).extend(schema.failures)
        expectations = [e for e in _value_expectations(entity, len(nights)) if _columns([e]) <= {*names, NIGHT}]
        columns = sorted(_columns(expectations) - {NIGHT})
        frame = pa.concat_tables([_with_night(pq.read_table(parts[day], columns=columns), day) for day in nights],
                                 promote_options="permissive").to_pandas()
        values = validate(f"{source.name}_{entity.name}_values", frame, expectations)
        checked += values.checked
        if not values.passed:   # which nights, in the words of each night's own validation
            for day in nights:
                one = [e for e in _value_expectations(entity) if e.column in names]
                found = validate(f"{source.name}_{entity.name}_values", frame[frame[NIGHT] == day], one)
                checked += found.checked
                failures.setdefault(day, []).extend(found.failures)
        if len(entity.natural_key) > 1 and len(frame):
            # compound keys with nulls: counted by DuckDB, where NULL keys compare equal
            keys = ", ".join(f'"{k}"' for k in entity.natural_key)
            files = [str(parts[day]) for day in nights]
            checked += 1
            for day, dupes in duckdb.connect().execute(
                    f"SELECT delivery_date, count(*) - count(DISTINCT ({keys})) FROM read_parquet(?, "
                    f"hive_partitioning = true) GROUP BY delivery_date HAVING count(*) > count(DISTINCT ({keys}))",
                    [files]).fetchall():
                failures.setdefault(day, []).append(f"natural key ({keys}) repeats in {dupes} rows")
    return checked, {day: found for day, found in failures.items() if found}


def _lake_contract(layout: Layout, source: Source, reports: list[DeliveryReport]) -> GateResult:
    days = [r.delivery_date for r in reports if r.files]
    checked, failures = 0, {}
    for e in source.entities:
        n, found = _entity_contract(layout, source, e, days)
        checked += n
        for day, lines in found.items():
            failures.setdefault(day, []).extend(f"{e.name}: {line}" for line in lines)
    return _gate("lake_rows_match_the_contract", GateResult("", passed=True, checked=checked), failures, reports)


def _volume(layout: Layout, reports: list[DeliveryReport], source: Source) -> GateResult:
    """Each night's rows per entity against the median of the up to 7 deliveries before it (the
    ingest log: earlier nights of the same run are in it already)."""
    log = read_log(layout).to_pandas()
    if len(log):
        log = log[log["source"] == source.name].groupby(["entity", "delivery_date"])["rows_in_lake"].sum()
    rows, failures = [], {}
    for r in reports:
        start = r.delivery_date - timedelta(days=VOLUME_HISTORY_DAYS)
        for e in source.entities:
            history = [n for (entity, day), n in log.items() if entity == e.name and start <= day < r.delivery_date] \
                if len(log) else []
            if len(history) < 3:
                continue
            median = statistics.median(history)
            low, high = int(median / VOLUME_FACTOR), int(median * VOLUME_FACTOR) + 1
            n = r.rows_per_entity.get(e.name, 0)
            rows.append({NIGHT: r.delivery_date, "entity": e.name, "rows": n, "low": low, "high": high})
            if not low <= n <= high:
                failures.setdefault(r.delivery_date, []).append(
                    f"{e.name}: {n} rows, expected {low}..{high} (median of the last {len(history)} deliveries: {median:g})")
    if not rows:
        return GateResult(name=WARNING[0], passed=True, note="fewer than 3 earlier deliveries to compare with")
    judged = validate(f"{source.name}_volume", pd.DataFrame(rows), [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows", column_B="low", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="rows", or_equal=True)])
    return _gate(WARNING[0], judged, failures, reports)


def nights_gates(layout: Layout, source: Source, reports: list[DeliveryReport]) -> list[GateResult]:
    """Every gate over the nights of `reports` (one source's, in order); over several nights, each
    failure says its night. A night without a delivery has nothing read, quarantined or written
    from a file to judge: only the volume gate has something to say of it (a source that
    stopped delivering)."""
    if any(r.files for r in reports):
        gates = [_files_readable(reports), _quarantine_share(reports, source), _lake_contract(layout, source, reports)]
    else:
        nothing = "no delivery tonight" if len(reports) == 1 else f"no delivery on any of its {len(reports)} nights"
        gates = [GateResult(name=name, passed=True, note=nothing) for name in BLOCKING]
    return [*gates, _volume(layout, reports, source)]


def delivery_gates(layout: Layout, source: Source, report: DeliveryReport) -> list[GateResult]:
    """Every gate over one night's delivery."""
    return nights_gates(layout, source, [report])
