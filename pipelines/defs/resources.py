"""The only place the Dagster code location reads the environment."""

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR

from pipelines.lib.layout import Layout
from pipelines.settings import Settings

SETTINGS = Settings.from_env()

# One partition per delivery date (the night an export was cut), in the business time zone,
# so the nightly schedule runs yesterday's deliveries after midnight in Shanghai.
DELIVERY_DATES = dg.DailyPartitionsDefinition(start_date=SETTINGS.first_delivery_date, timezone=SETTINGS.timezone)


class LakeResource(dg.ConfigurableResource):
    """Where the landing zone, lake and quarantine are, and how much DuckDB may use."""

    data_dir: str
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 2

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.data_dir))

    @classmethod
    def from_settings(cls, settings: Settings) -> "LakeResource":
        return cls(data_dir=str(settings.data_dir), duckdb_memory_limit=settings.duckdb_memory_limit,
                   duckdb_threads=settings.duckdb_threads)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "lake": LakeResource.from_settings(SETTINGS),
        "dbt": DbtCliResource(project_dir=str(PROJECT_DIR), profiles_dir=str(PROJECT_DIR), dbt_executable=str(DBT)),
    })
