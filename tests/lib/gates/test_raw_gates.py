"""Each boundary gate fails on the thing it guards, and says what it saw."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipelines.lib.gates.raw import _lake_contract, delivery_gates
from pipelines.lib.ingest.sources import SOURCES
from tests.lib.conftest import DAY, segment_event


def _gates(landing, source: str, day: date = DAY) -> dict:
    report = landing.ingest(source, day)
    return {g.name: g for g in delivery_gates(landing.layout, SOURCES[source], report)}


def test_a_clean_delivery_passes_every_gate(landing):
    landing.write_jsonl("app", "e.jsonl", [segment_event(f"m{i}") for i in range(30)])
    gates = _gates(landing, "app")
    assert all(g.passed for g in gates.values()), {n: g.failures for n, g in gates.items()}
    assert gates["volume_is_in_line_with_previous_deliveries"].describe() == \
        "skipped: fewer than 3 earlier deliveries to compare with"


def test_many_bad_rows_fail_the_quarantine_gate_but_a_few_do_not(landing):
    landing.write("web", "e.jsonl", "not json\n" * 5 + "\n".join(f'{{"messageId": "m{i}"' for i in range(20)) + "\n")
    landing.write_jsonl("web", "f.jsonl", [segment_event(f"m{i}") for i in range(100)])
    gate = _gates(landing, "web")["quarantined_rows_are_under_5_percent"]
    assert not gate.passed
    assert gate.failures[0].startswith("events: 20.0% of 125 rows quarantined (limit 5%)")

    small = DAY + timedelta(days=1)
    landing.write("web", "e.jsonl", "not json\n", day=small)  # one bad line of one: noise, not a broken export
    assert _gates(landing, "web", small)["quarantined_rows_are_under_5_percent"].passed


def test_a_lake_partition_that_breaks_the_contract_fails_the_contract_gate(landing):
    landing.write_jsonl("app", "e.jsonl", [segment_event("m1"), segment_event("m2")])
    landing.ingest("app")
    part = landing.layout.lake_partition("app", "events", DAY) / "part-0.parquet"
    # Damage the partition as a bug in ingestion would: a repeated key and a missing type.
    duckdb.connect().execute(f"COPY (SELECT * REPLACE ('m1' AS message_id, CASE WHEN _source_line = 2 THEN NULL "
                             f"ELSE type END AS type) FROM read_parquet('{part}', hive_partitioning = false)) "
                             f"TO '{part}.tmp' (FORMAT parquet)")
    (part.parent / "part-0.parquet.tmp").replace(part)
    gate = _lake_contract(landing.layout, SOURCES["app"], DAY)
    assert not gate.passed
    assert sorted(gate.failures) == [
        "events: expect_column_values_to_be_unique(message_id): 2 of 2 rows unexpected (100.00%)",
        "events: expect_column_values_to_not_be_null(type): 1 of 2 rows unexpected (50.00%)",
    ]


def test_a_collapsing_volume_is_flagged_against_the_median_of_earlier_nights(landing):
    for back in (4, 3, 2, 1):
        day = DAY - timedelta(days=back)
        landing.write_jsonl("app", "e.jsonl", [segment_event(f"d{back}-{i}", ts=f"{day}T10:00:00+08:00")
                                               for i in range(50)], day=day)
        landing.ingest("app", day)
    landing.write_jsonl("app", "e.jsonl", [segment_event("today-1")])
    gate = _gates(landing, "app")["volume_is_in_line_with_previous_deliveries"]
    assert not gate.passed
    assert gate.failures == ["events: 1 rows, expected 10..251 (median of the last 4 deliveries: 50)"]


def test_a_night_without_delivery_passes_the_file_gates_unread_and_warns_on_volume(landing):
    for back in (3, 2, 1):
        day = DAY - timedelta(days=back)
        landing.write_jsonl("app", "e.jsonl", [segment_event(f"d{back}-{i}", ts=f"{day}T10:00:00+08:00")
                                               for i in range(20)], day=day)
        landing.ingest("app", day)
    gates = _gates(landing, "app")  # nothing delivered on DAY
    assert {n: (g.passed, g.describe()) for n, g in gates.items() if n != "volume_is_in_line_with_previous_deliveries"} \
        == {n: (True, "skipped: no delivery tonight") for n in
            ("delivery_files_are_readable", "quarantined_rows_are_under_5_percent", "lake_rows_match_the_contract")}
    volume = gates["volume_is_in_line_with_previous_deliveries"]
    assert (volume.passed, volume.failures) == \
        (False, ["events: 0 rows, expected 4..101 (median of the last 3 deliveries: 20)"])
