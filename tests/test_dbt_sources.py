"""The dbt project's sources are exactly the lake's entities, so staging reads what ingestion writes."""
from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.lib.ingest.sources import SOURCES

SOURCES_YML = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "staging" / "_lake__sources.yml"


def test_every_lake_entity_is_a_dbt_source_reading_its_own_partitions():
    [lake] = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    tables = {t["name"]: t["meta"]["external_location"] for t in lake["tables"]}
    expected = {f"{s.name}_{e.name}": f"/{s.name}/{e.name}/*/part-0.parquet"
                for s in SOURCES.values() for e in s.entities}
    assert set(tables) == set(expected)
    for name, path in expected.items():
        assert path in tables[name]
