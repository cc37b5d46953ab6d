"""Audience folders from a warehouse written by hand: who is held back (holdout, consent, the
suppression list), what the files hold, entered/exited against the previous published day, and
a failing file gate that publishes nothing."""
from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.publish.audiences import (PublishRefused, audience_folder, check_members, publish_audience,
                                             suppression_sql)
from pipelines.lib.publish.folder import read_manifest, verify_folder
from pipelines.lib.specs.audiences import Audience

NIGHT1, NIGHT2, NIGHT3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def audience(export=("member_id", "age", "phone_sha256"), purpose="sms", max_change=0.5, min_change=50,
             allow_empty=False) -> Audience:
    # publishing reads the ledger, not the condition: `when` plays no part here
    return Audience("vip", "test.yml", "VIPs", "crm", purpose, tuple(export), 0.1, None, max_change, min_change,
                    allow_empty, raw={"purpose": purpose, "export": list(export)})


# customer -> (member_id, consent_sms, consent_email, age, phone)
PEOPLE = {"a": ("M1", True, False, 30, "+8613700000001"), "b": ("M2", True, True, 41, None),
          "c": ("M3", False, True, 25, "+8613700000003"), "d": ("M4", True, False, 52, "+8613700000004"),
          "e": ("M5", True, False, 33, None), "h": ("M6", True, False, 29, None)}
# night -> members; `h` is in the holdout, `d` is on the suppression list
MEMBERS = {NIGHT1: ["a", "b", "c", "d", "h"], NIGHT2: ["a", "c", "d", "e", "h"], NIGHT3: ["a", "e", "h"]}


@pytest.fixture
def layout(tmp_path) -> Layout:
    layout = Layout(tmp_path)
    layout.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("CREATE TABLE customers (customer_id VARCHAR, member_id VARCHAR, consent_sms BOOLEAN, "
                    "consent_email BOOLEAN, consent_wechat BOOLEAN)")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, NULL)",
                        [(c, m, s, e) for c, (m, s, e, _, _) in PEOPLE.items()])
        con.execute("CREATE TABLE customer_traits (customer_id VARCHAR, as_of_date DATE, age INTEGER)")
        con.execute("CREATE TABLE identity_map (customer_id VARCHAR, id_type VARCHAR, id_value VARCHAR, "
                    "last_seen_at TIMESTAMP)")
        con.executemany("INSERT INTO identity_map VALUES (?, 'phone', ?, TIMESTAMP '2026-02-01')",
                        [(c, sha(p)) for c, (*_, p) in PEOPLE.items() if p])
        con.execute("CREATE TABLE audience_membership (audience VARCHAR, as_of_date DATE, customer_id VARCHAR, "
                    "is_holdout BOOLEAN)")
        for night, members in MEMBERS.items():
            con.executemany("INSERT INTO audience_membership VALUES ('vip', ?, ?, ?)",
                            [(night, c, c == "h") for c in members])
            con.executemany("INSERT INTO customer_traits VALUES (?, ?, ?)",
                            [(c, night, PEOPLE[c][3]) for c in PEOPLE])
        con.execute("CREATE TABLE list_members (list VARCHAR, customer_id VARCHAR)")
        con.execute("INSERT INTO list_members VALUES ('suppression', 'd'), ('invites', 'a')")
    return layout


def members(layout: Layout, night: date, name: str = "members.parquet") -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM '{audience_folder(layout, 'vip', night) / name}' ORDER BY ALL").fetchall()


def test_members_leave_out_holdout_no_consent_and_suppressed_and_carry_only_hashes(layout):
    done = publish_audience(layout, audience(), NIGHT1, "run-1")
    # a, b have SMS consent; c has not; d is suppressed; h is in the holdout
    assert members(layout, NIGHT1) == [("a", "M1", 30, sha("+8613700000001")), ("b", "M2", 41, None)]
    assert (done.rows, done.holdout, done.without_consent, done.suppressed) == (2, 1, 1, 1)
    folder = audience_folder(layout, "vip", NIGHT1)
    manifest = read_manifest(folder)
    assert verify_folder(folder) == [] and manifest["row_count"] == 2
    assert manifest["held_back"] == {"holdout": 1, "without_consent": 1, "suppressed": 1}
    assert (folder / "members.csv").read_text().splitlines()[0] == "customer_id,member_id,age,phone_sha256"
    assert members(layout, NIGHT1, "entered.parquet") == members(layout, NIGHT1)


def test_entered_and_exited_compare_with_the_previous_published_day(layout):
    publish_audience(layout, audience(), NIGHT1, "run-1")
    publish_audience(layout, audience(), NIGHT2, "run-2")
    assert [r[0] for r in members(layout, NIGHT2)] == ["a", "e"]
    assert [r[0] for r in members(layout, NIGHT2, "entered.parquet")] == ["e"]
    assert members(layout, NIGHT2, "exited.parquet") == [("b",)]
    # night 3 is compared with night 2 even when it is published again later (reruns agree)
    first = publish_audience(layout, audience(), NIGHT3, "run-3")
    files = read_manifest(audience_folder(layout, "vip", NIGHT3))["files"]
    again = publish_audience(layout, audience(), NIGHT3, "run-3b")
    assert (first.entered, first.exited) == (again.entered, again.exited) == (0, 0)
    assert read_manifest(audience_folder(layout, "vip", NIGHT3))["files"] == files     # same bytes
    assert verify_folder(audience_folder(layout, "vip", NIGHT3)) == []


def test_the_purpose_picks_the_consent(layout):
    publish_audience(layout, audience(purpose="email"), NIGHT1, "run-1")
    assert [r[0] for r in members(layout, NIGHT1)] == ["b", "c"]          # email consent; d suppressed
    publish_audience(layout, audience(purpose="ads"), NIGHT1, "run-2")
    assert [r[0] for r in members(layout, NIGHT1)] == ["a", "b", "c"]     # ads: SMS or email consent


def test_a_failing_file_gate_keeps_yesterdays_folder(layout):
    publish_audience(layout, audience(), NIGHT1, "run-1")
    before = (audience_folder(layout, "vip", NIGHT1) / "members.csv").read_bytes()
    with duckdb.connect(str(layout.warehouse)) as con:       # a clear phone slips into the hash column
        con.execute("UPDATE identity_map SET id_value = '+8613700000001' WHERE customer_id = 'a'")
    with pytest.raises(PublishRefused, match=r"expect_column_values_to_match_regex\(phone_sha256\): 1 of 2 rows"):
        publish_audience(layout, audience(), NIGHT1, "run-2")
    assert (audience_folder(layout, "vip", NIGHT1) / "members.csv").read_bytes() == before
    assert verify_folder(audience_folder(layout, "vip", NIGHT1)) == []
    with pytest.raises(PublishRefused, match="would publish clear PII"):
        _publish_with_clear_column(layout)
    assert not audience_folder(layout, "vip", NIGHT2).exists()


def _publish_with_clear_column(layout: Layout) -> None:
    """An export column named like clear PII (a customers column a schema change could add)."""
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("ALTER TABLE customer_traits ADD COLUMN phone VARCHAR")
    publish_audience(layout, audience(export=("member_id", "phone")), NIGHT2, "run-3")


def test_the_size_gate_compares_with_the_last_published_size_and_keeps_it(layout):
    strict = audience(max_change=0.4, min_change=0)
    assert publish_audience(layout, strict, NIGHT1, "run-1").rows == 2            # a, b
    before = (audience_folder(layout, "vip", NIGHT1) / "members.parquet").read_bytes()
    with duckdb.connect(str(layout.warehouse)) as con:                        # night 2 keeps only a
        con.execute("DELETE FROM audience_membership WHERE as_of_date = ? AND customer_id = 'e'", [NIGHT2])
    with pytest.raises(PublishRefused, match=r"size gate .* 1 members moved by more than 0.4 x the last published 2"):
        publish_audience(layout, strict, NIGHT2, "run-2")
    assert not audience_folder(layout, "vip", NIGHT2).exists()
    assert (audience_folder(layout, "vip", NIGHT1) / "members.parquet").read_bytes() == before
    # night 3 (a, e) is measured against the last *published* size (night 1: 2), not the refused night
    done = publish_audience(layout, strict, NIGHT3, "run-3")
    assert done.rows == 2 and read_manifest(audience_folder(layout, "vip", NIGHT3))["previous_published"] == \
        NIGHT1.isoformat()
    with duckdb.connect(str(layout.warehouse)) as con:                        # night 2 empties the audience
        con.execute("DELETE FROM audience_membership WHERE as_of_date = ?", [NIGHT2])
    with pytest.raises(PublishRefused, match="became empty"):
        publish_audience(layout, audience(), NIGHT2, "run-4")
    assert publish_audience(layout, audience(allow_empty=True), NIGHT2, "run-5").rows == 0


def test_the_file_gate_refuses_members_without_consent_or_suppressed(layout, tmp_path):
    with duckdb.connect(str(layout.warehouse)) as con:
        staged = tmp_path / "members.parquet"
        con.execute(f"COPY (SELECT * FROM (VALUES ('a'), ('c'), ('d')) t(customer_id)) TO '{staged}' (FORMAT parquet)")
        con.execute(f"COPY (SELECT * FROM '{staged}') TO '{tmp_path / 'members.csv'}' (HEADER)")
        problems = check_members(con, staged, tmp_path / "members.csv", audience(export=()), 3, suppression_sql(True))
    # c gave no SMS consent, d is on the suppression list: a file holding them is refused
    assert problems == ["1 members without sms consent", "1 members on the suppression list"]
