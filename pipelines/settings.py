"""Run-wide settings, read once from the environment (see README: Configuration)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 2
    # Where DuckDB spills when a query outgrows its memory limit (ingestion and dbt alike);
    # empty: `<data_dir>/.staging/duckdb_spill`, on the data's own disk.
    duckdb_spill_dir: str = ""
    # Delivery dates before this are not partitions; the nightly schedule starts here.
    first_delivery_date: str = "2020-01-01"
    # Business day boundaries and naive store times.
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> "Settings":
        return cls(
            data_dir=Path(data_dir or os.environ.get("CDP_DATA_DIR") or REPO_ROOT / "data").resolve(),
            duckdb_memory_limit=os.environ.get("CDP_DUCKDB_MEMORY_LIMIT", "4GB"),
            duckdb_threads=int(os.environ.get("CDP_DUCKDB_THREADS", "2")),
            duckdb_spill_dir=os.environ.get("CDP_DUCKDB_SPILL_DIR", ""),
            first_delivery_date=os.environ.get("CDP_FIRST_DELIVERY_DATE", "2020-01-01"),
        )

    @property
    def spill_dir(self) -> Path:
        return Path(self.duckdb_spill_dir) if self.duckdb_spill_dir else self.data_dir / ".staging" / "duckdb_spill"
