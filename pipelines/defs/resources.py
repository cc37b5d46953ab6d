"""The only place the Dagster code location reads the environment."""

import importlib.metadata
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR
from pipelines.settings import Settings

SETTINGS = Settings.from_env()

# One partition per delivery date (the night an export was cut), in the business time zone,
# so the nightly schedule runs yesterday's deliveries after midnight in Shanghai.
DELIVERY_DATES = dg.DailyPartitionsDefinition(start_date=SETTINGS.first_delivery_date, timezone=SETTINGS.timezone)


class LakeResource(dg.ConfigurableResource):
    """Where the landing zone, lake and quarantine are, and how much DuckDB may use."""

    data_dir: str
    duckdb_memory_limit: str = SETTINGS.duckdb_memory_limit
    duckdb_threads: int = 2
    duckdb_spill_dir: str = ""
    compact_within_days: int = SETTINGS.compact_within_days

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.data_dir))

    @property
    def settings(self) -> Settings:
        """The run's settings as this resource was configured (the business time zone is global)."""
        return Settings(data_dir=Path(self.data_dir), duckdb_memory_limit=self.duckdb_memory_limit,
                        duckdb_threads=self.duckdb_threads, duckdb_spill_dir=self.duckdb_spill_dir,
                        timezone=SETTINGS.timezone, compact_within_days=self.compact_within_days)

    @classmethod
    def from_settings(cls, settings: Settings) -> "LakeResource":
        return cls(data_dir=str(settings.data_dir), duckdb_memory_limit=settings.duckdb_memory_limit,
                   duckdb_threads=settings.duckdb_threads, duckdb_spill_dir=settings.duckdb_spill_dir,
                   compact_within_days=settings.compact_within_days)


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's resource without two start-up costs of every invocation that nothing here
    uses: it asked the dbt executable for its version (a `dbt --version` process: 2.5 s a night)
    and opened a dbt adapter in this process (2.4 s) to fetch column metadata no asset reads.
    The version is the installed dbt-core's, the executable this resource runs. Both members are
    dagster-dbt's own (private, pinned 0.29): check them when upgrading it."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "lake": LakeResource.from_settings(SETTINGS),
        "dbt": WarehouseDbt(project_dir=str(PROJECT_DIR), profiles_dir=str(PROJECT_DIR), dbt_executable=str(DBT)),
    })
