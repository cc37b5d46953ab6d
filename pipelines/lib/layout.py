"""Where everything lives under a data directory (see contracts/raw_exports.md)."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_date_folder(name: str) -> bool:
    if not DATE_FOLDER.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def raw(self) -> Path:
        return self.data_dir / "raw"

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def ingest_log(self) -> Path:
        return self.lake / "_ingest_log.parquet"

    @property
    def erasure_log(self) -> Path:
        return self.lake / "_erasure_log.parquet"

    @property
    def warehouse(self) -> Path:
        """The DuckDB file dbt builds (beside it, `dbt/`: dbt's target and logs of each night)."""
        return self.data_dir / "warehouse" / "cdp.duckdb"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for the warehouse's builds: their logs, results and parse state
        (written through `warehouse_target` in pipelines/lib/warehouse/dbt.py)."""
        return self.warehouse.parent / "dbt"

    @property
    def staging(self) -> Path:
        """Scratch space on the same file system, so finished files can be renamed into place."""
        return self.data_dir / ".staging"

    def delivery(self, source: str, day: date) -> Path:
        return self.raw / source / day.isoformat()

    def lake_entity(self, source: str, entity: str) -> Path:
        return self.lake / source / entity

    def lake_partition(self, source: str, entity: str, day: date) -> Path:
        return self.lake_entity(source, entity) / f"delivery_date={day.isoformat()}"

    def lake_file(self, source: str, entity: str, day: date) -> Path:
        """A night's lake partition holds one file."""
        return self.lake_partition(source, entity, day) / "part-0.parquet"

    def quarantine_partition(self, source: str, day: date) -> Path:
        return self.data_dir / "quarantine" / source / f"delivery_date={day.isoformat()}"

    def ingest_log_fragment(self, source: str, day: date) -> Path:
        return self.lake / "_ingest_log" / f"source={source}" / f"delivery_date={day.isoformat()}" / "log.parquet"

    def relative(self, path: Path) -> str:
        """Paths recorded in data are relative to the data directory, so it can move."""
        return path.relative_to(self.data_dir).as_posix()


def replace_dir(staged: Path, target: Path) -> None:
    """Swap a finished directory into place; the old one is removed only after the swap."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_dir(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
