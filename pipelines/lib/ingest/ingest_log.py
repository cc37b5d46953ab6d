"""The ingest log: one row per delivered file, kept per partition and consolidated.

Each (source, delivery date) writes its own fragment (the record of that night, replaced on a
rerun); `lake/_ingest_log.parquet` folds the fragments in under a file lock, so sources can
ingest in parallel and a night reads one small file instead of every night's fragment.
A run of one source's nights (`SourceLog`) reads the consolidated log once and folds its nights
in once, at the end: folding night by night rewrote the whole log once per source and night,
a cost that grew with the square of a backfill's length.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.lib.ingest.report import LOG_SCHEMA, DeliveryReport
from pipelines.lib.layout import Layout


@dataclass
class PriorFiles:
    # Files ingested on earlier deliveries, by content hash (re-deliveries are skipped).
    sha_to_file: dict[str, str] = field(default_factory=dict)
    # This delivery's earlier run: (file, sha) -> first ingestion time, reused on reruns.
    ingested_at: dict[tuple[str, str], datetime] = field(default_factory=dict)


class SourceLog:
    """One source's ingest log while a run ingests its nights, in order: the consolidated log
    read once, each night's fragment written as the night finishes (its record, kept if the run
    dies later) and seen by the nights after it, all of them folded into the consolidated log
    by `fold` (the run calls it also when a night fails: the nights before it are in the lake)."""

    def __init__(self, layout: Layout, source: str):
        self.layout, self.source = layout, source
        self.earlier = read_log(layout).filter(pc.field("source") == source)
        self.written: dict[date, pa.Table] = {}

    def prior_files(self, day: date) -> PriorFiles:
        """Earlier nights' files (this run's included); this night's own earlier run from its fragment."""
        prior = PriorFiles()
        rows = pa.concat_tables([_without_nights(self.earlier, self.written),
                                 *(table.cast(LOG_SCHEMA) for table in self.written.values())])
        earlier = rows.filter((pc.field("delivery_date") < day) & (pc.field("status") == "ingested"))
        order = pc.sort_indices(earlier, sort_keys=[("delivery_date", "ascending"), ("file", "ascending")])
        for row in earlier.take(order).select(["file", "file_sha256"]).to_pylist():
            prior.sha_to_file.setdefault(row["file_sha256"], row["file"])
        fragment = self.layout.ingest_log_fragment(self.source, day)
        if fragment.exists():
            for row in pq.read_table(fragment, columns=["file", "file_sha256", "ingested_at"]).to_pylist():
                prior.ingested_at[(row["file"], row["file_sha256"])] = row["ingested_at"]
        return prior

    def write(self, report: DeliveryReport) -> None:
        """The night's fragment, replacing an earlier run's."""
        fragment = self.layout.ingest_log_fragment(report.source, report.delivery_date)
        fragment.parent.mkdir(parents=True, exist_ok=True)
        table = report.log_table()
        tmp = fragment.with_suffix(f".tmp{os.getpid()}")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, fragment)
        self.written[report.delivery_date] = table

    def fold(self) -> None:
        if self.written:
            _fold_in(self.layout, self.source, self.written)


def _fold_in(layout: Layout, source: str, nights: dict[date, pa.Table]) -> None:
    """Replace the (source, night) rows of `_ingest_log.parquet` for each of `nights` by its
    fragment; costs one small file, not a glob."""
    layout.lake.mkdir(parents=True, exist_ok=True)
    with _locked(layout, fcntl.LOCK_EX):
        log = _read(layout)
        keep = pa.concat_tables([log.filter(pc.field("source") != source),
                                 _without_nights(log.filter(pc.field("source") == source), nights)])
        merged = pa.concat_tables([keep, *(fragment.cast(LOG_SCHEMA) for fragment in nights.values())])
        order = pc.sort_indices(merged, sort_keys=[("delivery_date", "ascending"), ("source", "ascending"),
                                                   ("file", "ascending")])
        tmp = layout.ingest_log.with_suffix(f".tmp{os.getpid()}")
        pq.write_table(merged.take(order), tmp, compression="zstd")
        os.replace(tmp, layout.ingest_log)


def _without_nights(log: pa.Table, nights: dict[date, pa.Table]) -> pa.Table:
    if not nights:
        return log
    return log.filter(~pc.field("delivery_date").isin(pa.array(list(nights), pa.date32())))


@contextmanager
def _locked(layout: Layout, mode: int) -> Iterator[None]:
    with open(layout.lake / ".ingest_log.lock", "a") as lock:
        fcntl.flock(lock, mode)
        yield


def read_log(layout: Layout) -> pa.Table:
    """The consolidated log as an Arrow table (empty with its schema when nothing ran yet).

    Read under a shared lock: another source's process may be folding its night in, and Arrow
    reads a file's footer and its pages in separate reads (a file replaced between them read as
    a corrupt page: "Page was smaller than expected")."""
    if not layout.lake.is_dir():
        return LOG_SCHEMA.empty_table()
    with _locked(layout, fcntl.LOCK_SH):
        return _read(layout)


def _read(layout: Layout) -> pa.Table:
    if not layout.ingest_log.exists():
        return LOG_SCHEMA.empty_table()
    with open(layout.ingest_log, "rb") as f:       # one open file: one version of it
        return pq.read_table(f)
