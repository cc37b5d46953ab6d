"""Marketers' uploads: manual tags and member lists, dropped as CSV under `<data_dir>/marketing/`.

    marketing/tags/*.csv        tag, member_id or phone, added_on[, removed_on]   (dates ISO)
    marketing/lists/<list>.csv  member_id or phone                                (list = file name)

Every row lands in the lake (`lake/marketing/manual_tags.parquet`, `list_members.parquet`) or in
`quarantine/marketing/rejected.parquet` with its file, line and the reason (phone-like digits
masked); a phone is kept only as the sha256 of its E.164 form (how `identity_map` holds phones).
Rows naming an erased person (by the erasure log's hashes) are dropped and counted. The files are re-read whole
every night: they are small, and a marketer edits them in place.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.ingest.parse_sql import value_sql
from pipelines.lib.layout import Layout

TAGS_SCHEMA = pa.schema([("tag", pa.string()), ("member_id", pa.string()), ("phone_sha256", pa.string()),
                         ("added_on", pa.date32()), ("removed_on", pa.date32()), ("source_file", pa.string()),
                         ("line", pa.int64())])
LISTS_SCHEMA = pa.schema([("list", pa.string()), ("member_id", pa.string()), ("phone_sha256", pa.string()),
                          ("source_file", pa.string()), ("line", pa.int64())])
REJECTED_SCHEMA = pa.schema([("source_file", pa.string()), ("line", pa.int64()), ("raw", pa.string()),
                             ("reason", pa.string())])
LIST_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class MarketingUploads:
    tags: list[dict] = field(default_factory=list)
    lists: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    files: int = 0
    erased: int = 0                     # rows naming someone erased on request, dropped

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rejected:
            key = r["reason"].split(":")[0]
            out[key] = out.get(key, 0) + 1
        return out


def _phones(phones: list[str]) -> list[str | None]:
    """E.164 as ingestion normalises phones; None where it is not a phone."""
    if not phones:
        return []
    with duckdb.connect() as con:
        con.execute("CREATE TABLE p AS SELECT unnest(?) AS raw", [phones])
        return [r[0] for r in con.execute(f"SELECT {value_sql('phone', 'trim(raw)', 'UTC')} FROM p").fetchall()]


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def mask(text: str) -> str:
    """Digits of anything phone-like (10 digits or more, spaces and dashes allowed between them)
    but the last four become '*': the quarantine explains a row without a clear phone."""
    def hide(m: re.Match) -> str:
        run = m.group()
        digits = sum(ch.isdigit() for ch in run)
        if digits < 10:
            return run
        keep, out = 4, []
        for ch in reversed(run):
            if ch.isdigit():
                out.append(ch if keep > 0 else "*")
                keep -= 1
            else:
                out.append(ch)
        return "".join(reversed(out))
    return re.sub(r"\+?\d[\d \-]*\d", hide, text)


def erased_keys(layout: Layout) -> set[str]:
    """sha256('type:value') of everyone erased so far (the erasure log keeps only these)."""
    if not layout.erasure_log.exists():
        return set()
    with duckdb.connect() as con:
        return {r[0] for r in con.execute(
            f"SELECT DISTINCT unnest(identifier_sha256) FROM read_parquet('{layout.erasure_log}')").fetchall()}


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def _read(path: Path, rel: str, needed: set[str], out: MarketingUploads) -> list[tuple[int, dict, str]]:
    """Rows of a CSV with their line numbers; a file without the needed columns is rejected whole."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    missing = needed - set(header)
    if missing or not ({"member_id", "phone"} & set(header)):
        expected = sorted(needed) + ["member_id or phone"]
        out.rejected.append({"source_file": rel, "line": 1, "raw": mask(text[:2000]),
                             "reason": f"bad header: expected columns {', '.join(expected)}, got {header}"})
        return []
    rows = []
    for values in reader:
        if any(v.strip() for v in values):                 # blank lines are not rows
            rows.append((reader.line_num, dict(zip(header, (v.strip() for v in values))), ",".join(values)))
    return rows


def _who(row: dict, phone_hash: str | None) -> str | None:
    """Why the row names nobody usable, or None when it names someone."""
    if row.get("member_id"):
        return None
    if not row.get("phone"):
        return "no person: member_id and phone are both empty"
    if phone_hash is None:
        return f"phone: {row['phone']!r} is not a phone number (expected 13812345678 or +8613812345678)"
    return None


def read_uploads(layout: Layout, declared_tags: set[str]) -> MarketingUploads:
    out = MarketingUploads()
    erased = erased_keys(layout)
    root = layout.data_dir / "marketing"
    for kind, folder in (("tags", root / "tags"), ("lists", root / "lists")):
        for path in sorted(folder.glob("*.csv")) if folder.exists() else []:
            out.files += 1
            rel = layout.relative(path)
            if kind == "lists" and not LIST_NAME.match(path.stem):
                out.rejected.append({"source_file": rel, "line": 0, "raw": mask(path.read_text(errors="replace")[:2000]), "reason":
                                     f"list name: {path.stem!r} is not lower_snake_case (rename the file)"})
                continue
            needed = {"tag", "added_on"} if kind == "tags" else set()
            rows = _read(path, rel, needed, out)
            for (line, row, raw), phone in zip(rows, _phones([r.get("phone", "") for _, r, _ in rows])):
                phone_hash = _sha256(phone)
                member = row.get("member_id", "").upper() or None
                if {_sha256(f"member_id:{member}" if member else None), _sha256(f"phone:{phone}" if phone else None)} & erased:
                    out.erased += 1                  # forgotten on request: the upload does not bring them back
                    continue
                reason = _who(row, phone_hash)
                if reason is None and kind == "tags":
                    reason = _tag_problem(row, declared_tags)
                if reason is not None:
                    out.rejected.append({"source_file": rel, "line": line, "raw": mask(raw), "reason": mask(reason)})
                elif kind == "tags":
                    out.tags.append({"tag": row["tag"], "member_id": member, "phone_sha256": phone_hash,
                                     "added_on": _date(row["added_on"]), "removed_on": _date(row.get("removed_on")),
                                     "source_file": rel, "line": line})
                else:
                    out.lists.append({"list": path.stem, "member_id": member, "phone_sha256": phone_hash,
                                      "source_file": rel, "line": line})
    return out


def _tag_problem(row: dict, declared: set[str]) -> str | None:
    if row["tag"] not in declared:
        return (f"tag: {row['tag']!r} is not declared (add it to manual_tags in dbt_project/specs/traits.yml; "
                f"declared: {', '.join(sorted(declared)) or 'none'})")
    for col in ("added_on", "removed_on"):
        try:
            _date(row.get(col))
        except ValueError:
            return f"{col}: {row.get(col)!r} is not a date (expected YYYY-MM-DD)"
    if not row["added_on"]:
        return "added_on: empty (expected YYYY-MM-DD)"
    removed = _date(row.get("removed_on"))
    if removed is not None and removed <= _date(row["added_on"]):
        return f"removed_on: {removed} is not after added_on {row['added_on']}"
    return None


def write_uploads(layout: Layout, uploads: MarketingUploads) -> None:
    """Replace the lake's marketing files (and the quarantine's) as a whole."""
    for rows, schema, path in ((uploads.tags, TAGS_SCHEMA, layout.lake / "marketing" / "manual_tags.parquet"),
                               (uploads.lists, LISTS_SCHEMA, layout.lake / "marketing" / "list_members.parquet"),
                               (uploads.rejected, REJECTED_SCHEMA,
                                layout.data_dir / "quarantine" / "marketing" / "rejected.parquet")):
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), staged)
        staged.replace(path)
