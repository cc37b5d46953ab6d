"""Every kind of bad input gets a reason a person can act on, and no row is lost.

`Landing.ingest` asserts rows_read = rows_in_lake + rows_quarantined + rows_deduplicated for
every file of every test here.
"""
from __future__ import annotations

import json
from datetime import timedelta

from pipelines.lib.ingest.landing import scan
from pipelines.lib.ingest.sources import SOURCES
from tests.lib.conftest import DAY, segment_event

POS_HEADER = ("order_id,store_id,guide_id,member_card,phone,order_time,sku,product_id,category,quantity,"
              "unit_price,line_amount,discount,coupon_type,payment_method,refund_of\n")


def test_a_truncated_last_json_line_is_quarantined_with_its_line_number(landing):
    good = json.dumps(segment_event("m1"))
    landing.write("app", "events.jsonl", good + "\n" + good.replace("m1", "m2")[:40])
    report = landing.ingest("app")
    assert report.total("rows_read") == 2 and report.total("rows_in_lake") == 1
    [bad] = landing.quarantine("app")
    assert bad["_source_line"] == 2
    assert bad["reason"].startswith("truncated last line")
    assert bad["raw"] == good.replace("m1", "m2")[:40]


def test_a_line_that_is_not_json_is_quarantined_and_its_neighbours_are_kept(landing):
    lines = [json.dumps(segment_event("m1")), "<html>502 Bad Gateway</html>", json.dumps(segment_event("m2"))]
    landing.write("web", "events.jsonl.gz", "\n".join(lines) + "\n")
    report = landing.ingest("web")
    assert [r["message_id"] for r in landing.lake("web", "events")] == ["m1", "m2"]
    [bad] = landing.quarantine("web")
    assert (bad["_source_line"], bad["_source_file"]) == (2, f"raw/web/{DAY}/events.jsonl.gz")
    assert bad["reason"] == "line is not valid JSON: '<html>502 Bad Gateway</html>'"
    assert report.reason_counts == {"line is not valid JSON": 1}


def test_a_csv_missing_a_required_column_is_refused_whole_and_named(landing):
    header = POS_HEADER.replace("phone,", "")
    landing.write("pos", "till-7.csv", header + "O1,S1,,C1,2026-03-02 10:00:00,SKU1,P1,shoes,1,99,99,0,,cash,\n")
    report = landing.ingest("pos")
    [refused] = report.refused
    assert refused.file == f"raw/pos/{DAY}/till-7.csv"
    assert refused.reason.startswith("missing required column(s) phone; the header has: order_id, store_id, guide_id")
    assert (refused.rows_read, refused.rows_quarantined, refused.rows_in_lake) == (1, 1, 0)
    folder = landing.layout.quarantine_partition("pos", DAY)
    assert (folder / "files" / "till-7.csv").read_bytes() == (landing.layout.delivery("pos", DAY) / "till-7.csv").read_bytes()
    assert landing.lake("pos", "order_lines") == []


def test_a_gb18030_till_export_is_decoded_and_its_chinese_text_kept(landing):
    row = 'O1,S1,G1,c-1,138 1234 5678,2026-03-02 10:00:00,SKU1,P1,鞋履,2,"1,299.00","2,598.00",0,,微信支付,\n'
    landing.write("pos", "legacy.csv", (POS_HEADER + row + "\n\n").encode("gb18030"))
    report = landing.ingest("pos")
    assert report.files[0].encoding == "gb18030"
    [line] = landing.lake("pos", "order_lines")
    assert (line["category"], line["payment_method"]) == ("鞋履", "微信支付")
    assert float(line["line_amount"]) == 2598.0  # thousands separator understood
    assert line["phone"] == "+8613812345678" and line["member_card"] == "C-1"
    assert line["ordered_at"].isoformat() == "2026-03-02T02:00:00"  # store-local Beijing time -> UTC


SERVICE_HEADER = "ticket_id,member_id,phone,email,unionid,channel,category,created_at,resolved_at,satisfaction\n"


def _ticket(i: int) -> str:
    return f"T{i},M{i},,,,wecom,refund,2026-03-02 10:00:00,,5\n"


def test_a_csv_that_is_not_its_sources_encoding_is_refused_naming_the_line(landing):
    """A single-encoding source checks the text as it parses it (no pass of its own): a bad byte
    far into a gzipped file, past the first batch, still refuses the whole file, names its line,
    and the night's other files land."""
    from pipelines.lib.ingest.reading import CSV_BATCH_ROWS

    rows = [_ticket(i) for i in range(CSV_BATCH_ROWS + 500)]
    bad_line = CSV_BATCH_ROWS + 200                      # physical line: the header is line 1
    rows[bad_line - 2] = rows[bad_line - 2].replace("refund", "r\xe9fund")
    body = (SERVICE_HEADER + "".join(rows)).encode("utf-8").replace("r\xc3\xa9fund".encode("latin-1"), b"r\xe9fund")
    landing.write("service", "a-latin1.csv.gz", body)    # gzipped by `write`
    landing.write("service", "b-good.csv", SERVICE_HEADER + "T-ok,M1,,,,wecom,refund,2026-03-02 10:00:00,,4\n")
    report = landing.ingest("service")
    [refused] = report.refused
    assert refused.file.endswith("a-latin1.csv.gz")
    assert refused.reason == f"text is not valid utf-8 (line {bad_line})"
    assert (refused.rows_read, refused.rows_quarantined, refused.rows_in_lake) == (len(rows), len(rows), 0)
    assert [r["ticket_id"] for r in landing.lake("service", "tickets")] == ["T-ok"]
    assert (landing.layout.quarantine_partition("service", DAY) / "files" / "a-latin1.csv.gz").exists()


def test_a_csv_header_that_is_not_its_sources_encoding_is_refused_before_any_row(landing):
    landing.write("service", "tickets.csv", SERVICE_HEADER.replace("channel", "canal\xe9").encode("latin-1")
                  + _ticket(1).encode())
    report = landing.ingest("service")
    [refused] = report.refused
    assert refused.reason == "text is not valid utf-8 (line 1)"
    assert landing.lake("service", "tickets") == []


def test_a_zero_byte_file_is_logged_as_empty_and_nothing_fails(landing):
    landing.write("service", "tickets.csv", b"")
    report = landing.ingest("service")
    [f] = report.files
    assert (f.status, f.rows_read, f.reason) == ("empty", 0, "zero-byte file")
    assert report.refused == []


def test_a_file_delivered_twice_is_ingested_once_the_same_night_and_the_next(landing):
    records = [segment_event("m1"), segment_event("m2")]
    landing.write_jsonl("app", "events-1.jsonl", records)
    landing.write_jsonl("app", "events-1-retry.jsonl", records)
    first = landing.ingest("app")
    # Files are taken in name order: the retry's name sorts first, so the original is the copy.
    assert [f.status for f in first.files] == ["ingested", "duplicate_file"]
    copy = first.files[1]
    assert (copy.rows_read, copy.rows_deduplicated, copy.rows_in_lake) == (2, 2, 0)
    assert copy.duplicate_of == f"raw/app/{DAY}/events-1-retry.jsonl"
    assert len(landing.lake("app", "events")) == 2

    next_day = DAY + timedelta(days=1)
    landing.write_jsonl("app", "events-1.jsonl", records, day=next_day)
    second = landing.ingest("app", next_day)
    assert second.files[0].status == "duplicate_file"
    assert landing.lake("app", "events", next_day) == []


def test_the_same_message_id_in_two_files_lands_once(landing):
    landing.write_jsonl("app", "a.jsonl", [segment_event("m1"), segment_event("m2")])
    landing.write_jsonl("app", "b.jsonl", [segment_event("m2"), segment_event("m3")])
    report = landing.ingest("app")
    assert sorted(r["message_id"] for r in landing.lake("app", "events")) == ["m1", "m2", "m3"]
    assert [(f.rows_in_lake, f.rows_deduplicated) for f in report.files] == [(2, 0), (1, 1)]
    # ... and a retry of m3 delivered the next night is a duplicate too.
    next_day = DAY + timedelta(days=1)
    landing.write_jsonl("app", "c.jsonl", [segment_event("m3", ts="2026-03-03T09:00:00+08:00")], day=next_day)
    assert landing.ingest("app", next_day).total("rows_deduplicated") == 1


def test_a_future_timestamp_is_quarantined_with_the_date_in_the_reason(landing):
    landing.write_jsonl("app", "e.jsonl", [segment_event("m1", ts="2091-01-01T00:00:00+08:00"),
                                           segment_event("m2", ts="2026-03-03T08:00:00+08:00")])  # clock skew: kept
    landing.ingest("app")
    [bad] = landing.quarantine("app")
    assert bad["reason"] == "occurred_at: 2090-12-31 16:00:00 UTC is in the future (delivered 2026-03-02)"
    assert [r["message_id"] for r in landing.lake("app", "events")] == ["m2"]


def test_an_unknown_event_name_is_kept_and_flagged(landing):
    landing.write_jsonl("app", "e.jsonl", [segment_event("m1", event="Wishlist Shared"), segment_event("m2")])
    landing.ingest("app")
    rows = landing.lake("app", "events")
    assert [(r["event"], r["is_known_event"]) for r in rows] == [("Wishlist Shared", False), ("Product Viewed", True)]


def test_an_unknown_source_folder_and_a_non_date_folder_are_reported_and_ignored(landing):
    landing.write_jsonl("tiktok", "e.jsonl", [{"x": 1}])
    odd = landing.layout.raw / "app" / "latest" / "e.jsonl"
    odd.parent.mkdir(parents=True)
    odd.write_text(json.dumps(segment_event("m1")) + "\n")
    found = scan(landing.layout, DAY, set(SOURCES))
    assert found.unknown_sources == ["tiktok"]
    assert found.not_date_folders == ["raw/app/latest"]
    assert found.problems == ["raw/tiktok/ is not a known source (ignored)",
                              "raw/app/latest/ is not a delivery date YYYY-MM-DD (ignored)"]
    assert landing.ingest("app").files == []


def test_a_file_with_no_contract_format_is_refused_and_copied_to_quarantine(landing):
    landing.write("crm", "members.xlsx", b"PK\x03\x04binary")
    [refused] = landing.ingest("crm").refused
    assert refused.reason.startswith("no contract format for source 'crm'")
    assert (landing.layout.quarantine_partition("crm", DAY) / "files" / "members.xlsx").exists()


def test_invalid_optional_values_are_nulled_with_a_warning_and_the_row_kept(landing):
    event = segment_event("m1", type="identify", traits={"phone": "12345", "email": "TEST@Example.COM "})
    event["properties"] = {"price": "abc"}
    landing.write_jsonl("app", "e.jsonl", [event])
    report = landing.ingest("app")
    [row] = landing.lake("app", "events")
    assert row["trait_phone"] is None and row["trait_email"] == "test@example.com"
    assert list(row["_warnings"]) == ["price: not a number: 'abc'", "trait_phone: not a phone number: '12345'"]
    assert report.total("rows_with_warnings") == 1


def test_an_event_with_neither_anonymous_id_nor_user_id_is_quarantined(landing):
    event = segment_event("m1")
    del event["anonymousId"]
    landing.write_jsonl("app", "e.jsonl", [event, {**segment_event("m2"), "anonymousId": "null"}])
    landing.ingest("app")
    assert [q["reason"] for q in landing.quarantine("app")] == ["identity: neither anonymousId nor userId"] * 2


def test_a_row_with_too_few_csv_fields_is_quarantined_with_the_count(landing):
    header = "appid,openid,unionid,article_id,article_title,action,ts\n"
    landing.write("official_account", "oa.csv", header + "wx1,o1,u1,A1,\"Spring, new\",read,2026-03-02 09:00:00\n"
                  "wx1,o2,u2,A1,read,2026-03-02 09:00:00\n")
    landing.ingest("official_account")
    [ok] = landing.lake("official_account", "events")
    assert ok["article_title"] == "Spring, new"
    [bad] = landing.quarantine("official_account")
    assert (bad["_source_line"], bad["reason"]) == (3, "expected 7 fields as in the header, found 6")


def test_a_corrupt_gzip_is_refused_and_the_nights_other_files_still_land(landing):
    import gzip

    good = "".join(json.dumps(segment_event(f"m{i}")) + "\n" for i in range(50))
    landing.write_jsonl("app", "a-good.jsonl", [segment_event("first")])
    cut = landing.write("app", "b-cut.jsonl.gz", b"")
    cut.write_bytes(gzip.compress(good.encode(), mtime=0)[:-30])  # an interrupted transfer
    # a gzip header followed by bytes that are no deflate stream (zlib's error, not an OSError)
    landing.write("app", "b-garbled.jsonl.gz", b"").write_bytes(b"\x1f\x8b\x08 cut short by the channel's export")
    landing.write_jsonl("app", "c-good.jsonl", [segment_event("last")])
    report = landing.ingest("app")
    refused = sorted(report.refused, key=lambda r: r.file)
    assert [r.file.rsplit("/", 1)[-1] for r in refused] == ["b-cut.jsonl.gz", "b-garbled.jsonl.gz"]
    assert all(r.reason.startswith("cannot decompress") for r in refused)
    assert "invalid block type" in refused[1].reason
    assert [r["message_id"] for r in landing.lake("app", "events")] == ["first", "last"]


def test_a_scalar_where_an_object_belongs_is_a_warning_not_a_crash(landing):
    # Regression: casting `"properties": "oops"` to JSON aborted the whole night's query.
    landing.write_jsonl("app", "e.jsonl", [{**segment_event("m1"), "properties": "oops"}, segment_event("m2")])
    landing.ingest("app")
    rows = landing.lake("app", "events")
    assert [r["message_id"] for r in rows] == ["m1", "m2"]
    assert list(rows[0]["_warnings"]) == ["properties: not JSON: 'oops'"]
