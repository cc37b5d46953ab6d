"""What happened to every file of a delivery: the ingest log's rows and their reconciliation."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import pyarrow as pa

# ingested: parsed (rows may still be quarantined or deduplicated); empty: no records;
# duplicate_file: same bytes as an earlier file; refused: not readable as its format.
STATUSES = ("ingested", "empty", "duplicate_file", "refused")

LOG_SCHEMA = pa.schema([
    ("delivery_date", pa.date32()), ("source", pa.string()), ("entity", pa.string()),
    ("file", pa.string()), ("file_sha256", pa.string()), ("bytes", pa.int64()),
    ("encoding", pa.string()), ("status", pa.string()), ("duplicate_of", pa.string()),
    ("rows_read", pa.int64()), ("rows_in_lake", pa.int64()), ("rows_quarantined", pa.int64()),
    ("rows_deduplicated", pa.int64()), ("rows_with_warnings", pa.int64()),
    ("reason", pa.string()), ("ingested_at", pa.timestamp("us")),
])


@dataclass
class FileReport:
    delivery_date: date
    source: str
    entity: str | None
    file: str
    file_sha256: str
    bytes: int
    encoding: str | None
    status: str
    duplicate_of: str | None
    rows_read: int
    rows_in_lake: int
    rows_quarantined: int
    rows_deduplicated: int
    rows_with_warnings: int
    reason: str | None
    ingested_at: datetime

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_in_lake + self.rows_quarantined + self.rows_deduplicated


@dataclass
class DeliveryReport:
    source: str
    delivery_date: date
    files: list[FileReport]
    rows_per_entity: dict[str, int]
    reason_counts: dict[str, int] = field(default_factory=dict)
    quarantine_samples: list[str] = field(default_factory=list)
    rows_erased_again: int = 0  # rows of people erased earlier, removed before the lake saw them

    def total(self, column: str) -> int:
        return sum(getattr(f, column) for f in self.files)

    @property
    def refused(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def reconciles(self) -> bool:
        return all(f.reconciles for f in self.files)

    def log_table(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(f) for f in self.files], schema=LOG_SCHEMA)
