"""The typing and normalising rules, one SQL expression at a time (no files)."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.ingest.parse_sql import value_sql


def typed(kind: str, raw: str | None):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(f"SELECT {value_sql(kind, '$x', 'Asia/Shanghai')}".replace("$x", "?::VARCHAR"),
                       [raw] * value_sql(kind, "$x", "Asia/Shanghai").count("$x")).fetchone()[0]


@pytest.mark.parametrize("raw", ["138 1234 5678", "+86-138-1234-5678", "8613812345678", "13812345678",
                                 "+86 138 1234 5678", "(+86) 138-1234-5678", "0086 13812345678"])
def test_every_mainland_phone_form_becomes_e164(raw):
    assert typed("phone", raw) == "+8613812345678"


@pytest.mark.parametrize("raw", ["138****5678", "12345", "1381234567", "23812345678", "abc"])
def test_masked_and_malformed_phones_are_not_identifiers(raw):
    assert typed("phone", raw) is None


def test_a_foreign_number_in_e164_is_kept():
    assert typed("phone", "+44 20 7946 0958") == "+442079460958"


def test_emails_are_trimmed_and_lower_cased_and_junk_is_refused():
    assert typed("email", "Li.Na@Example.COM") == "li.na@example.com"
    assert typed("email", "not-an-email") is None


@pytest.mark.parametrize("raw,expected", [
    ("2026-03-02T10:00:00+08:00", "2026-03-02 02:00:00"),
    ("2026-03-02T02:00:00Z", "2026-03-02 02:00:00"),
    ("2026-03-02T10:00:00.250+0800", "2026-03-02 02:00:00.250000"),
])
def test_iso_timestamps_with_an_offset_are_stored_in_utc(raw, expected):
    assert str(typed("ts_iso", raw)) == expected


def test_an_iso_timestamp_without_an_offset_is_not_guessed():
    assert typed("ts_iso", "2026-03-02T10:00:00") is None


def test_epoch_milliseconds_and_beijing_local_time_are_stored_in_utc():
    assert str(typed("ts_epoch_ms", "1772416800000")) == "2026-03-02 02:00:00"
    assert str(typed("ts_local", "2026-03-02 10:00:00")) == "2026-03-02 02:00:00"
    for raw in ("1772416800000", "2026-03-02 10:00:00", "2026-03-02T10:00:00+08:00"):
        assert str(typed("ts_any", raw)) == "2026-03-02 02:00:00"


def test_numbers_as_strings_with_thousands_separators_are_numbers():
    assert float(typed("decimal", "1,299.50")) == 1299.5
    assert typed("int", "3") == 3
    assert typed("int", "three") is None


@pytest.mark.parametrize("raw,expected", [("1", True), ("Y", True), ("true", True), ("0", False), ("no", False),
                                          ("maybe", None)])
def test_consent_flags_read_the_usual_spellings(raw, expected):
    assert typed("bool", raw) is expected


def test_identifier_case_is_normalised():
    assert typed("upper", "mem-001") == "MEM-001"
    assert typed("lower", "A1B2-C3") == "a1b2-c3"
