"""The ingest log: one row per delivered file, kept per partition and consolidated.

Each (source, delivery date) writes its own fragment (the record of that night, replaced on a
rerun); `lake/_ingest_log.parquet` folds each fragment in under a file lock, so sources can
ingest in parallel and a night reads one small file instead of every night's fragment.
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


def prior_files(layout: Layout, source: str, day: date) -> PriorFiles:
    """Earlier nights from the consolidated log; this night's own earlier run from its fragment."""
    prior = PriorFiles()
    log = read_log(layout)
    for row in log.filter((pc.field("source") == source) & (pc.field("delivery_date") < day)
                          & (pc.field("status") == "ingested")).select(["file", "file_sha256"]).to_pylist():
        prior.sha_to_file.setdefault(row["file_sha256"], row["file"])
    fragment = layout.ingest_log_fragment(source, day)
    if fragment.exists():
        for row in pq.read_table(fragment, columns=["file", "file_sha256", "ingested_at"]).to_pylist():
            prior.ingested_at[(row["file"], row["file_sha256"])] = row["ingested_at"]
    return prior


def write_log(layout: Layout, report: DeliveryReport) -> None:
    """Write the night's fragment, then fold it into the consolidated log."""
    fragment = layout.ingest_log_fragment(report.source, report.delivery_date)
    fragment.parent.mkdir(parents=True, exist_ok=True)
    table = report.log_table()
    tmp = fragment.with_suffix(f".tmp{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, fragment)
    _fold_in(layout, report.source, report.delivery_date, table)


def _fold_in(layout: Layout, source: str, day: date, fragment: pa.Table) -> None:
    """Replace the (source, night) rows of `_ingest_log.parquet`; costs one small file, not a glob."""
    layout.lake.mkdir(parents=True, exist_ok=True)
    with _locked(layout, fcntl.LOCK_EX):
        log = _read(layout)
        keep = log.filter(~((pc.field("source") == source) & (pc.field("delivery_date") == day)))
        merged = pa.concat_tables([keep, fragment.cast(LOG_SCHEMA)])
        order = pc.sort_indices(merged, sort_keys=[("delivery_date", "ascending"), ("source", "ascending"),
                                                   ("file", "ascending")])
        tmp = layout.ingest_log.with_suffix(f".tmp{os.getpid()}")
        pq.write_table(merged.take(order), tmp, compression="zstd")
        os.replace(tmp, layout.ingest_log)


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
