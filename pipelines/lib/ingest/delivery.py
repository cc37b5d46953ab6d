"""Ingest one source's deliveries, night by night: raw files -> lake partitions, quarantine, log.

`ingest_deliveries` (a run's nights, in order, in one DuckDB) is what the orchestrator calls;
`ingest_delivery` is one night. Idempotent: a rerun rewrites the same partitions
with the same bytes (`_ingested_at` is kept from the first ingestion of the same file).
The landing zone is only ever read.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.ingest.dedupe import EarlierKeys, fate_sql
from pipelines.lib.ingest.files import AcceptedFile, check_shape, lines_schema
from pipelines.lib.ingest.ingest_log import SourceLog
from pipelines.lib.ingest.parse_sql import compile_entity
from pipelines.lib.ingest.reading import RefusedFile, count_records, detect_encoding, file_sha256
from pipelines.lib.ingest.report import DeliveryReport, FileReport
from pipelines.lib.ingest.spec import Entity, Source
from pipelines.lib.layout import Layout, remove_dir, replace_dir
from pipelines.lib.privacy.erasure import erase_again

LINEAGE = ("_source_file", "_source_line", "_file_sha256", "_ingested_at", "_warnings")


def connect(layout: Layout, memory_limit: str = "4GB", threads: int = 2,
            spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills (by default to the data directory's staging area) when it
    must, into a folder of its own process: ingestion steps run in parallel processes."""
    spill = spill or layout.staging / "duckdb_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads,
                                 "temp_directory": str(spill / f"ingest-{os.getpid()}"),
                                 "preserve_insertion_order": True})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # DuckDB plans a list of six or more constants (`x IN ('', 'null', ...)`, which the parse
    # SQL has per column) as a join against a table of them: forty joins set up per parse, 0.2 s
    # a query however few its rows. Compared one by one they cost nothing to set up, and parsing
    # 20 nights of web events took 2.5 s instead of 6.4 s (0.5 s instead of 0.9 s in one query).
    con.execute("SET disabled_optimizers = 'in_clause'")
    return con


class SourceRun:
    """What a run of one source's nights keeps from night to night: one DuckDB (opening one
    costs more than parsing a small delivery), the source's ingest log, and each entity's keys
    within its dedupe lookback."""

    def __init__(self, layout: Layout, source: Source, con: duckdb.DuckDBPyConnection):
        self.con, self.log = con, SourceLog(layout, source.name)
        self.earlier = {e.name: EarlierKeys(con, e, partial(layout.lake_file, source.name, e.name), f"parsed_{e.name}")
                        for e in source.entities}


class DeliveryIngestor:
    """Holds the night's state while files are parsed into one in-memory table per entity."""

    def __init__(self, layout: Layout, source: Source, day: date, run: SourceRun):
        self.layout, self.source, self.day, self.run, self.con = layout, source, day, run, run.con
        self.files: list[FileReport] = []
        self.refused_paths: list[Path] = []
        self.prior = run.log.prior_files(day)
        self.sql = {e.name: compile_entity(source, e, day) for e in source.entities}
        self.accepted: dict[str, list[AcceptedFile]] = {e.name: [] for e in source.entities}

    def _report(self, path: Path, entity: Entity | None, sha: str, status: str, encoding: str | None = None,
                rows: int = 0, duplicate_of: str | None = None, reason: str | None = None) -> FileReport:
        rel = self.layout.relative(path)
        first = self.prior.ingested_at.get((rel, sha))
        return FileReport(
            delivery_date=self.day, source=self.source.name, entity=entity.name if entity else None, file=rel,
            file_sha256=sha, bytes=path.stat().st_size, encoding=encoding, status=status, duplicate_of=duplicate_of,
            rows_read=rows, rows_in_lake=0, rows_quarantined=rows if status == "refused" else 0,
            rows_deduplicated=rows if status == "duplicate_file" else 0, rows_with_warnings=0, reason=reason,
            ingested_at=first or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0),
        )

    def add_file(self, path: Path) -> None:
        sha = file_sha256(path)
        entity = self.source.entity_for(path.name)
        seen_today = {f.file_sha256: f.file for f in self.files if f.status == "ingested"}
        if entity is None:
            patterns = sorted({p for e in self.source.entities for p in e.patterns})
            self._refuse(self._report(path, None, sha, "refused", reason=(
                f"no contract format for source '{self.source.name}': the name matches none of {', '.join(patterns)}")))
            return
        earlier = seen_today.get(sha) or (self.prior.sha_to_file.get(sha) if entity.dedupe_files_across_days else None)
        if path.stat().st_size == 0:
            self.files.append(self._report(path, entity, sha, "empty", reason="zero-byte file"))
        elif earlier:
            rows = self._count(path, entity)
            self.files.append(self._report(path, entity, sha, "duplicate_file", rows=rows, duplicate_of=earlier,
                                           reason=f"same bytes as {earlier}"))
        else:
            self._accept(path, entity, sha)

    def _count(self, path: Path, entity: Entity) -> int:
        try:
            encoding = detect_encoding(path, self.source.encodings) if entity.format == "csv" else "utf-8"
        except RefusedFile:
            encoding = "latin-1"  # decodes any bytes: good enough to count the lines of a refused file
        try:
            return count_records(path, entity.format, encoding)
        except RefusedFile:
            return 0

    def _accept(self, path: Path, entity: Entity, sha: str) -> None:
        report = self._report(path, entity, sha, "ingested")
        try:
            report.encoding = check_shape(self.source, entity, path)
        except RefusedFile as exc:
            self._refuse_parsed(report, entity, exc)
            return
        if report.encoding != "utf-8":
            report.reason = f"decoded as {report.encoding}"
        self.accepted[entity.name].append(AcceptedFile(report, path, len(self.files)))
        self.files.append(report)

    def _parse(self, entity: Entity) -> None:
        """Every accepted file of the entity in one query over a lazy stream of batches.

        The parse SQL is large: planning it once per night, not per file or batch, is what keeps
        small deliveries cheap; memory stays bounded by the batch size. A file found broken
        mid-stream (a corrupt gzip) aborts the statement; it is refused and the rest re-read.
        """
        accepted = self.accepted[entity.name]
        schema = lines_schema(entity)
        while True:   # also with no file: the night's table, empty
            broken: list[tuple[AcceptedFile, RefusedFile]] = []

            def stream() -> Iterator[pa.RecordBatch]:
                for file in accepted:
                    try:
                        yield from file.batches(entity, schema)
                    except RefusedFile as exc:
                        broken.append((file, exc))
                        raise

            self.con.register("lines", pa.RecordBatchReader.from_batches(schema, stream()))
            try:
                self.con.execute(f"CREATE OR REPLACE TABLE parsed_{entity.name} AS {self.sql[entity.name]}")
                return
            except Exception:
                if not broken:
                    raise
                file, exc = broken[0]
                accepted.remove(file)
                self.files.remove(file.report)
                self._refuse_parsed(file.report, entity, exc)
            finally:
                self.con.unregister("lines")

    def _refuse_parsed(self, report: FileReport, entity: Entity, exc: RefusedFile) -> None:
        report.status, report.reason = "refused", str(exc)
        report.rows_read = report.rows_quarantined = self._count(self.layout.data_dir / report.file, entity)
        self._refuse(report)

    def _refuse(self, report: FileReport) -> None:
        self.files.append(report)
        self.refused_paths.append(self.layout.data_dir / report.file)

    def finish(self) -> DeliveryReport:
        """Decide every row's fate, write lake and quarantine partitions, reconcile per file."""
        staging = self.layout.staging / f"{self.source.name}-{self.day}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        rows_per_entity: dict[str, int] = {}
        staged: dict[str, Path] = {}
        for e in self.source.entities:
            self._parse(e)
            # nothing parsed (no delivery tonight): no earlier keys to read
            prior = self.run.earlier[e.name].relation(self.day) if self.accepted[e.name] else None
            self.con.execute(f"CREATE OR REPLACE TABLE fate_{e.name} AS {fate_sql(e, f'parsed_{e.name}', prior)}")
            staged[e.name] = staging / e.name / "part-0.parquet"
            staged[e.name].parent.mkdir(parents=True)
            columns = ", ".join(f'p."{c}"' for c in (*e.columns, *LINEAGE))
            self.con.execute(f"COPY (SELECT {columns} FROM parsed_{e.name} p WHERE p.rowid IN "
                             f"(SELECT _row FROM fate_{e.name} WHERE _fate = 'lake') ORDER BY p._file_order, p._source_line) "
                             f"TO '{staged[e.name]}' (FORMAT parquet, COMPRESSION zstd)")
            rows_per_entity[e.name] = self.con.execute(
                f"SELECT count(*) FROM fate_{e.name} WHERE _fate = 'lake'").fetchone()[0]
            self._count_fates(e)
        # people erased earlier leave a rerun or re-delivered night before any reader sees it
        # (an empty partition holds nobody: a night without a delivery skips the search)
        erased_again = erase_again(self.layout, self.source.name, self.day,
                                   {name: path for name, path in staged.items() if rows_per_entity[name]})
        for name, path in staged.items():
            target = self.layout.lake_file(self.source.name, name, self.day)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            self.run.earlier[name].add(self.day)
        report = DeliveryReport(self.source.name, self.day, self.files, rows_per_entity, rows_erased_again=erased_again)
        self._write_quarantine(staging, report)
        self.run.log.write(report)
        shutil.rmtree(staging, ignore_errors=True)
        return report

    def _count_fates(self, entity: Entity) -> None:
        counts = {row[0]: row[1:] for row in self.con.execute(f"""
            SELECT f._source_file, count(*), count(*) FILTER (_fate = 'lake'), count(*) FILTER (_fate = 'quarantined'),
                   count(*) FILTER (_fate = 'deduplicated'), count(*) FILTER (_fate = 'lake' AND len(p._warnings) > 0)
            FROM fate_{entity.name} f JOIN parsed_{entity.name} p ON p.rowid = f._row
            GROUP BY f._source_file""").fetchall()}
        for f in self.files:
            if f.status == "ingested" and f.entity == entity.name:
                (f.rows_read, f.rows_in_lake, f.rows_quarantined, f.rows_deduplicated,
                 f.rows_with_warnings) = counts.get(f.file, (0, 0, 0, 0, 0))
                if f.rows_read == 0:
                    f.status = "empty"

    def _write_quarantine(self, staging: Path, report: DeliveryReport) -> None:
        unions = " UNION ALL ".join(
            f"SELECT '{e.name}' AS entity, _file_order, _source_file, _source_line, _file_sha256, "
            f"_reject_reason AS reason, _raw AS raw, _ingested_at FROM parsed_{e.name} WHERE _reject_reason IS NOT NULL"
            for e in self.source.entities)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE quarantined AS {unions}")
        n_rows = self.con.execute("SELECT count(*) FROM quarantined").fetchone()[0]
        report.reason_counts = dict(self.con.execute(
            "SELECT split_part(reason, ':', 1) AS kind, count(*) FROM quarantined GROUP BY kind ORDER BY 2 DESC, 1"
        ).fetchall())
        report.quarantine_samples = [f"{file}:{line}: {reason}" for file, line, reason in self.con.execute(
            "SELECT _source_file, _source_line, reason FROM quarantined ORDER BY _file_order, _source_line LIMIT 5"
        ).fetchall()]
        target = self.layout.quarantine_partition(self.source.name, self.day)
        if n_rows == 0 and not self.refused_paths:
            remove_dir(target)
            return
        folder = staging / "quarantine"
        (folder / "files").mkdir(parents=True)
        self.con.execute(f"COPY (SELECT * EXCLUDE (_file_order) FROM quarantined ORDER BY _file_order, _source_line) "
                         f"TO '{folder / 'rows.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        for path in self.refused_paths:
            shutil.copyfile(path, folder / "files" / path.name)
        refused = pa.Table.from_pylist(
            [{"entity": f.entity, "file": f.file, "file_sha256": f.file_sha256, "bytes": f.bytes, "reason": f.reason}
             for f in report.refused],
            schema=pa.schema([("entity", pa.string()), ("file", pa.string()), ("file_sha256", pa.string()),
                              ("bytes", pa.int64()), ("reason", pa.string())]))
        pq.write_table(refused, folder / "files.parquet", compression="zstd")
        replace_dir(folder, target)


def ingest_deliveries(layout: Layout, source: Source, days: list[date], memory_limit: str = "4GB",
                      threads: int = 2, spill: Path | None = None) -> list[DeliveryReport]:
    """Ingest `raw/<source>/<day>/` into the lake for each of `days`, in order (each night reads
    the ones before it); returns what happened to every file. One DuckDB for all of them: opening
    one costs more than parsing a small delivery."""
    con = connect(layout, memory_limit, threads, spill)
    run = SourceRun(layout, source, con)
    try:
        return [_ingest(layout, source, day, run) for day in days]
    finally:
        run.log.fold()
        con.close()


def ingest_delivery(layout: Layout, source: Source, day: date, memory_limit: str = "4GB",
                    threads: int = 2, spill: Path | None = None) -> DeliveryReport:
    """Ingest `raw/<source>/<day>/` into the lake; returns what happened to every file."""
    [report] = ingest_deliveries(layout, source, [day], memory_limit, threads, spill)
    return report


def _ingest(layout: Layout, source: Source, day: date, run: SourceRun) -> DeliveryReport:
    ingestor = DeliveryIngestor(layout, source, day, run)
    folder = layout.delivery(source.name, day)
    for path in sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []:
        ingestor.add_file(path)
    return ingestor.finish()
