"""Marketers' uploads: rows checked one by one, phones hashed, the quarantine without clear
phones, and erased people never brought back by an upload."""
from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.ingest.marketing import read_uploads, write_uploads
from pipelines.lib.layout import Layout


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_bad_rows_are_quarantined_with_file_line_reason_and_no_clear_phone(tmp_path):
    (tmp_path / "marketing" / "tags").mkdir(parents=True)
    (tmp_path / "marketing" / "tags" / "vip.csv").write_text(
        "tag,member_id,phone,added_on\nvip,m1,,2026-03-01\nvipp,,138 1234 5678,2026-03-01\n"
        "vip,,12345,2026-03-01\nvip,M3,,2026-3-1\n,,,\n")
    (tmp_path / "marketing" / "lists").mkdir(parents=True)
    (tmp_path / "marketing" / "lists" / "invites.csv").write_text("phone\n+86 139 0000 1111\n")
    (tmp_path / "marketing" / "lists" / "no_people.csv").write_text("name\nWang\n")
    uploads = read_uploads(Layout(tmp_path), {"vip"})
    assert [(t["member_id"], t["line"]) for t in uploads.tags] == [("M1", 2)]
    assert uploads.lists == [{"list": "invites", "member_id": None, "phone_sha256": sha("+8613900001111"),
                              "source_file": "marketing/lists/invites.csv", "line": 2}]
    reasons = {(r["source_file"], r["line"]): r["reason"] for r in uploads.rejected}
    assert reasons[("marketing/tags/vip.csv", 3)].startswith("tag: 'vipp' is not declared")
    assert reasons[("marketing/tags/vip.csv", 4)].startswith("phone: '12345' is not a phone number")
    assert reasons[("marketing/tags/vip.csv", 5)] == "added_on: '2026-3-1' is not a date (expected YYYY-MM-DD)"
    assert reasons[("marketing/lists/no_people.csv", 1)].startswith("bad header: expected columns member_id or phone")
    write_uploads(Layout(tmp_path), uploads)
    stored = pq.read_table(tmp_path / "quarantine" / "marketing" / "rejected.parquet").to_pylist()
    assert len(stored) == 4 and "1234 5678" not in str(stored) and "*** **** 5678" in str(stored)


def test_an_upload_does_not_bring_back_an_erased_person(tmp_path):
    log = Layout(tmp_path).erasure_log
    log.parent.mkdir(parents=True)
    pq.write_table(pa.table({"identifier_sha256": [[sha("member_id:M9"), sha("phone:+8613712349999")]]}), log)
    (tmp_path / "marketing" / "lists").mkdir(parents=True)
    (tmp_path / "marketing" / "lists" / "invites.csv").write_text(
        "member_id,phone\nm9,\n,137-1234-9999\nM2,\n")
    uploads = read_uploads(Layout(tmp_path), set())
    assert [r["member_id"] for r in uploads.lists] == ["M2"] and uploads.erased == 2
