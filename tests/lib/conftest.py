"""Small hand-written deliveries: each test writes exactly the bytes it is about."""
from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.ingest.delivery import ingest_delivery
from pipelines.lib.ingest.report import DeliveryReport
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout

DAY = date(2026, 3, 2)


def segment_event(message_id: str, event: str = "Product Viewed", ts: str = "2026-03-02T10:00:00+08:00",
                  **extra) -> dict:
    return {"messageId": message_id, "type": "track", "event": event, "anonymousId": "dev-1", "timestamp": ts,
            "properties": {"product_id": "P1", "price": "19.90"}, **extra}


class Landing:
    """Writes raw deliveries under a temporary data dir and ingests them."""

    def __init__(self, root: Path):
        self.layout = Layout(root)

    def write(self, source: str, name: str, content: bytes | str, day: date = DAY) -> Path:
        path = self.layout.delivery(source, day) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
        return path

    def write_jsonl(self, source: str, name: str, records: list[dict], day: date = DAY) -> Path:
        return self.write(source, name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), day)

    def ingest(self, source: str, day: date = DAY) -> DeliveryReport:
        report = ingest_delivery(self.layout, SOURCES[source], day)
        for f in report.files:  # the contract's promise, asserted on every ingestion in these tests
            assert f.reconciles, f
        return report

    def lake(self, source: str, entity: str, day: date = DAY) -> list[dict]:
        part = self.layout.lake_partition(source, entity, day) / "part-0.parquet"
        return duckdb.sql(f"SELECT * FROM read_parquet('{part}') ORDER BY _source_file, _source_line").df() \
            .to_dict("records")

    def quarantine(self, source: str, day: date = DAY) -> list[dict]:
        part = self.layout.quarantine_partition(source, day) / "rows.parquet"
        if not part.exists():
            return []
        return duckdb.sql(f"SELECT * FROM read_parquet('{part}') ORDER BY _source_file, _source_line").df() \
            .to_dict("records")


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path)
