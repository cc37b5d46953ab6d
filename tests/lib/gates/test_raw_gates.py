"""Each boundary gate fails on the thing it guards, and says what it saw."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipelines.lib.gates.raw import _lake_contract, delivery_gates, nights_gates
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
    report = landing.ingest("app")
    part = landing.layout.lake_partition("app", "events", DAY) / "part-0.parquet"
    # Damage the partition as a bug in ingestion would: a repeated key and a missing type.
    duckdb.connect().execute(f"COPY (SELECT * REPLACE ('m1' AS message_id, CASE WHEN _source_line = 2 THEN NULL "
                             f"ELSE type END AS type) FROM read_parquet('{part}', hive_partitioning = false)) "
                             f"TO '{part}.tmp' (FORMAT parquet)")
    (part.parent / "part-0.parquet.tmp").replace(part)
    gate = _lake_contract(landing.layout, SOURCES["app"], [report])
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


def _night(i: int) -> date:
    return DAY + timedelta(days=i)


def test_gates_over_a_run_of_nights_fail_on_the_nights_that_fail_alone_in_their_own_words(landing):
    """One validation per gate for six nights: the nights each gate fails on, and what it says of
    each, are those of the gates run night by night (volume against the nights before each)."""
    sizes = {0: 50, 1: 50, 2: 50, 3: 50, 4: 1, 5: 50}
    for i, n in sizes.items():
        day = _night(i)
        landing.write_jsonl("app", "e.jsonl", [segment_event(f"d{i}-{k}", ts=f"{day}T10:00:00+08:00")
                                               for k in range(n)], day=day)
    landing.write("app", "unknown.txt", "a file of no contract format\n", day=_night(5))
    reports = [landing.ingest("app", _night(i)) for i in sizes]
    # night 2's partition damaged as a bug in ingestion would: a repeated key, a missing type
    part = landing.layout.lake_partition("app", "events", _night(2)) / "part-0.parquet"
    duckdb.connect().execute(f"COPY (SELECT * REPLACE (CASE WHEN _source_line <= 2 THEN 'dup' ELSE message_id END "
                             f"AS message_id, CASE WHEN _source_line = 3 THEN NULL ELSE type END AS type) "
                             f"FROM read_parquet('{part}', hive_partitioning = false)) TO '{part}.tmp' (FORMAT parquet)")
    (part.parent / "part-0.parquet.tmp").replace(part)

    over = {g.name: g for g in nights_gates(landing.layout, SOURCES["app"], reports)}
    alone = {r.delivery_date: {g.name: g for g in delivery_gates(landing.layout, SOURCES["app"], r)} for r in reports}
    for name, gate in over.items():
        failing = [day for day, gates in alone.items() if not gates[name].passed]
        assert (gate.passed, sorted(gate.by_night)) == (not failing, failing), name
        assert gate.failures == [f"{day}: {line}" for day in failing for line in alone[day][name].failures], name
    assert {name: sorted(g.by_night) for name, g in over.items()} == {
        "delivery_files_are_readable": [_night(5)], "quarantined_rows_are_under_5_percent": [],
        "lake_rows_match_the_contract": [_night(2)], "volume_is_in_line_with_previous_deliveries": [_night(4)]}
    assert over["lake_rows_match_the_contract"].by_night[_night(2)] == [
        "events: expect_column_values_to_be_unique(message_id): 2 of 50 rows unexpected (4.00%)",
        "events: expect_column_values_to_not_be_null(type): 1 of 50 rows unexpected (2.00%)"]
    # one validation of the share for the six nights, not six
    assert over["quarantined_rows_are_under_5_percent"].checked == 1


def test_a_key_may_repeat_across_nights_of_a_run(landing):
    """Keys are unique within a night: night 1 holding night 0's message id (as when it comes back
    after the dedupe lookback) passes the contract over both nights."""
    for i in (0, 1):
        landing.write_jsonl("app", "e.jsonl", [segment_event(f"m{i}", ts=f"{_night(i)}T10:00:00+08:00")], day=_night(i))
    reports = [landing.ingest("app", _night(i)) for i in (0, 1)]
    part = landing.layout.lake_partition("app", "events", _night(1)) / "part-0.parquet"
    duckdb.connect().execute(f"COPY (SELECT * REPLACE ('m0' AS message_id) FROM read_parquet('{part}', "
                             f"hive_partitioning = false)) TO '{part}.tmp' (FORMAT parquet)")
    (part.parent / "part-0.parquet.tmp").replace(part)
    gate = _lake_contract(landing.layout, SOURCES["app"], reports)
    # the two nights' values in one validation: the expectations of one night
    one = _lake_contract(landing.layout, SOURCES["app"], reports[:1])
    assert (gate.passed, gate.failures, gate.checked) == (True, [], one.checked)
