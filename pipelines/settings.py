"""Run-wide settings, read once from the environment (see README: Configuration)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_memory_limit() -> str:
    """Half the memory this process may use (the machine's, or its container's when that is less):
    room for DuckDB's working set without spilling, and for dbt, Dagster and the OS beside it.
    At 10 M events `customer_touchpoints` alone spilled 1 GB at 4 GB (23.9 s; 14.6 s at 11 GB), though
    a whole night measured the same at both (README, "1% nights"): the larger query sizes ahead need it."""
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        container = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if container.isdigit():
            available = min(available, int(container))
    except OSError:
        pass
    return f"{max(1, available // 2**30 // 2)}GB"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    duckdb_memory_limit: str = field(default_factory=default_memory_limit)
    duckdb_threads: int = 2
    # Where DuckDB spills when a query outgrows its memory limit (ingestion and dbt alike);
    # empty: `<data_dir>/.staging/duckdb_spill`, on the data's own disk.
    duckdb_spill_dir: str = ""
    # Delivery dates before this are not partitions; the nightly schedule starts here.
    first_delivery_date: str = "2020-01-01"
    # Business day boundaries and naive store times.
    timezone: str = "Asia/Shanghai"
    # Processes a backfill's ingestion runs in (sources split between them; `runner.ingest_nights`).
    ingest_processes: int = 2
    # Nights an erasure's bytes may stay in the working warehouse file (deleted rows, replaced
    # tables' old blocks: nobody can query them) before it is rewritten; 0: on the erasure's night.
    # Rewriting copies the whole file (pipelines/lib/privacy/history.py).
    compact_within_days: int = 7

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> "Settings":
        return cls(
            data_dir=Path(data_dir or os.environ.get("CDP_DATA_DIR") or REPO_ROOT / "data").resolve(),
            duckdb_memory_limit=os.environ.get("CDP_DUCKDB_MEMORY_LIMIT") or default_memory_limit(),
            duckdb_threads=int(os.environ.get("CDP_DUCKDB_THREADS", "2")),
            duckdb_spill_dir=os.environ.get("CDP_DUCKDB_SPILL_DIR", ""),
            first_delivery_date=os.environ.get("CDP_FIRST_DELIVERY_DATE", "2020-01-01"),
            ingest_processes=int(os.environ.get("CDP_INGEST_PROCESSES", "2")),
            compact_within_days=int(os.environ.get("CDP_COMPACT_WITHIN_DAYS", "7")),
        )

    def to_env(self) -> dict[str, str]:
        """The environment `from_env` reads these settings back from (a worker process's)."""
        return {"CDP_DATA_DIR": str(self.data_dir), "CDP_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
                "CDP_DUCKDB_THREADS": str(self.duckdb_threads), "CDP_DUCKDB_SPILL_DIR": self.duckdb_spill_dir,
                "CDP_FIRST_DELIVERY_DATE": self.first_delivery_date,
                "CDP_INGEST_PROCESSES": str(self.ingest_processes),
                "CDP_COMPACT_WITHIN_DAYS": str(self.compact_within_days)}

    @property
    def spill_dir(self) -> Path:
        return Path(self.duckdb_spill_dir) if self.duckdb_spill_dir else self.data_dir / ".staging" / "duckdb_spill"
