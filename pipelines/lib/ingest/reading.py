"""Turn one raw file into Arrow batches of lines (JSON Lines) or tokenised rows (CSV).

Bytes are streamed in chunks: memory is bounded by the batch size, never the file size.
Line numbers are 1-based physical lines of the decompressed file, so a person can open the
raw file at the reported line. Blank lines are not records and are skipped.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

CHUNK_BYTES = 16 * 1024 * 1024
CSV_BATCH_ROWS = 100_000


class RefusedFile(Exception):
    """The whole file cannot be read as its source's format; the message says why."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def open_bytes(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with open_bytes(path) as f:
            while block := f.read(CHUNK_BYTES):
                yield block
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a damaged block is zlib's
        raise RefusedFile(f"cannot decompress: {exc}") from exc


def detect_encoding(path: Path, encodings: tuple[str, ...]) -> str:
    """The first encoding that decodes the whole file (streamed); refuses the file otherwise."""
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in _chunks(path):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise RefusedFile(f"text is not valid {' or '.join(encodings)}")


def _line_batch(lines: list[str], first_line: int, problems: dict[int, str]) -> pa.Table:
    """A batch of non-blank lines with their physical line numbers."""
    raw = pa.array(lines, pa.string())
    numbers = pa.array(range(first_line, first_line + len(lines)), pa.int64())
    keep = pc.invert(pc.equal(pc.utf8_trim_whitespace(raw), ""))
    problem = pa.array([problems.get(n) for n in range(first_line, first_line + len(lines))], pa.string()) \
        if problems else pa.nulls(len(lines), pa.string())
    table = pa.table({"_source_line": numbers, "_raw": pc.utf8_rtrim(raw, "\r"), "_reader_problem": problem})
    return table.filter(keep)


def _decode_lines(block: bytes, first_line: int, problems: dict[int, str]) -> list[str]:
    try:
        return block.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        # Rare: decode line by line so one bad line does not spoil its neighbours.
        lines = []
        for i, line in enumerate(block.split(b"\n")):
            try:
                lines.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                problems[first_line + i] = "line is not valid UTF-8"
                lines.append(line.decode("utf-8", errors="replace"))
        return lines


def jsonl_batches(path: Path) -> Iterator[pa.Table]:
    """Batches of (`_source_line`, `_raw`, `_reader_problem`) for a JSON Lines file."""
    carry = b""
    line_no = 1
    for block in _chunks(path):
        block = carry + block
        cut = block.rfind(b"\n")
        if cut < 0:
            carry = block
            continue
        carry = block[cut + 1:]
        problems: dict[int, str] = {}
        lines = _decode_lines(block[:cut], line_no, problems)
        yield _line_batch(lines, line_no, problems)
        line_no += len(lines)
    if carry.strip():
        # A last line without a newline is how an interrupted export looks.
        problems = {}
        lines = _decode_lines(carry, line_no, problems)
        try:
            json.loads(lines[0])
        except ValueError:
            problems.setdefault(line_no, "truncated last line (no newline at end of file and not valid JSON): '"
                                + lines[0][:60] + "'")
        yield _line_batch(lines, line_no, problems)


def _text_lines(path: Path, encoding: str) -> Iterator[str]:
    """Decoded physical lines, without their line endings."""
    decoder = codecs.getincrementaldecoder(encoding)()
    carry = ""
    for block in _chunks(path):
        text = carry + decoder.decode(block)
        lines = text.split("\n")
        carry = lines.pop()
        for line in lines:
            yield line.rstrip("\r")
    tail = carry + decoder.decode(b"", final=True)
    if tail:
        yield tail.rstrip("\r")


def csv_header(path: Path, encoding: str) -> list[str]:
    for line in _text_lines(path, encoding):
        return [h.strip() for h in next(csv.reader([line]))]
    return []


def csv_batches(path: Path, encoding: str, columns: list[str]) -> Iterator[pa.Table]:
    """Batches of tokenised CSV rows: `_source_line`, `_raw`, `_reader_problem` and `columns`.

    Quoted fields may span lines; `_source_line` is the row's first physical line.
    A row with more or fewer fields than the header is kept for quarantine with the reason.
    """
    lines = _text_lines(path, encoding)
    header = next(lines, None)
    if header is None:
        return
    names = [h.strip() for h in next(csv.reader([header]))]
    index = {name: names.index(name) for name in columns if name in names}
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line + "\n"  # the reader needs line ends to keep newlines inside quotes

    reader = csv.reader(feed())
    batch: dict[str, list] = {"_source_line": [], "_raw": [], "_reader_problem": [], **{c: [] for c in columns}}
    next_line = 2
    for row in reader:
        raw = "\n".join(consumed)
        first, next_line = next_line, next_line + len(consumed)
        consumed.clear()
        if not any(cell.strip() for cell in row):
            continue  # blank or trailing line
        batch["_source_line"].append(first)
        batch["_raw"].append(raw)
        batch["_reader_problem"].append(
            None if len(row) == len(names) else f"expected {len(names)} fields as in the header, found {len(row)}")
        for name in columns:
            i = index.get(name)
            batch[name].append(row[i] if i is not None and i < len(row) else None)
        if len(batch["_raw"]) >= CSV_BATCH_ROWS:
            yield pa.table(batch, schema=_csv_schema(columns))
            batch = {k: [] for k in batch}
    if batch["_raw"]:
        yield pa.table(batch, schema=_csv_schema(columns))


def _csv_schema(columns: list[str]) -> pa.Schema:
    return pa.schema([("_source_line", pa.int64()), ("_raw", pa.string()), ("_reader_problem", pa.string())]
                     + [(c, pa.string()) for c in columns])


def count_records(path: Path, fmt: str, encoding: str = "utf-8") -> int:
    """Records in a file we do not parse (a re-delivered copy), counted as the parser would."""
    if fmt == "csv":
        return sum(b.num_rows for b in csv_batches(path, encoding, []))
    return sum(b.num_rows for b in jsonl_batches(path))
