"""The ingest log: one row per delivered file, kept per partition and consolidated.

Each (source, delivery date) writes its own fragment, so sources can ingest in parallel;
`lake/_ingest_log.parquet` is rebuilt from the fragments under a file lock after each write.
"""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
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
    prior = PriorFiles()
    root = layout.lake / "_ingest_log" / f"source={source}"
    if not root.is_dir():
        return prior
    for folder in sorted(root.iterdir()):
        log = folder / "log.parquet"
        if not log.exists():
            continue
        for row in pq.read_table(log, columns=["delivery_date", "file", "file_sha256", "status",
                                               "ingested_at"]).to_pylist():
            if row["delivery_date"] < day and row["status"] == "ingested":
                prior.sha_to_file.setdefault(row["file_sha256"], row["file"])
            elif row["delivery_date"] == day:
                prior.ingested_at[(row["file"], row["file_sha256"])] = row["ingested_at"]
    return prior


def write_log(layout: Layout, report: DeliveryReport) -> None:
    fragment = layout.ingest_log_fragment(report.source, report.delivery_date)
    fragment.parent.mkdir(parents=True, exist_ok=True)
    tmp = fragment.with_suffix(f".tmp{os.getpid()}")
    pq.write_table(report.log_table(), tmp, compression="zstd")
    os.replace(tmp, fragment)
    consolidate(layout)


def consolidate(layout: Layout) -> None:
    """Rebuild `_ingest_log.parquet` from every fragment (small: one row per file)."""
    lock_path = layout.lake / ".ingest_log.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tmp = layout.ingest_log.with_suffix(f".tmp{os.getpid()}")
        glob = str(layout.lake / "_ingest_log" / "*" / "*" / "log.parquet")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{glob}', hive_partitioning = false) "
                    f"ORDER BY delivery_date, source, file) TO '{tmp}' (FORMAT parquet)")
        con.close()
        os.replace(tmp, layout.ingest_log)


def read_log(layout: Layout):
    """The consolidated log as an Arrow table (empty with its schema when nothing ran yet)."""
    if not layout.ingest_log.exists():
        return LOG_SCHEMA.empty_table()
    return pq.read_table(layout.ingest_log)
