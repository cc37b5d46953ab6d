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
import itertools
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
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


def _chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    try:
        with open_bytes(path) as f:
            while block := f.read(size):
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


def _line_batch(raw: pa.Array, first_line: int, problems: dict[int, str]) -> pa.Table:
    """A batch of non-blank lines with their physical line numbers."""
    n = len(raw)
    numbers = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    # Only lines that do not open an object can be blank: trimming every line cost a copy of them all.
    blank = np.zeros(n, dtype=bool)
    others = np.flatnonzero(~pc.starts_with(raw, "{").to_numpy(zero_copy_only=False))
    if len(others):
        blank[others] = pc.equal(pc.utf8_trim_whitespace(raw.take(others)), "").to_numpy(zero_copy_only=False)
    keep = pa.array(~blank)
    problem = pa.array([problems.get(line) for line in range(first_line, first_line + n)], pa.string()) \
        if problems else pa.nulls(n, pa.string())
    table = pa.table({"_source_line": numbers, "_raw": pc.utf8_rtrim(raw, "\r"), "_reader_problem": problem})
    return table.filter(keep)


def _decode_lines(block: bytes, first_line: int, problems: dict[int, str]) -> pa.Array:
    """The block's lines as Arrow strings. Valid UTF-8 (nearly always) is split by Arrow without a
    Python string per line (a third of reading's time went to making and converting them)."""
    try:
        whole = pa.array([block], pa.binary()).cast(pa.string())       # the cast checks UTF-8
    except pa.ArrowInvalid:
        return pa.array(_decode_line_by_line(block, first_line, problems), pa.string())
    return pc.split_pattern(whole, "\n").flatten()


def _decode_line_by_line(block: bytes, first_line: int, problems: dict[int, str]) -> list[str]:
    """Rare: a block that is not all UTF-8, decoded line by line so one bad line does not spoil
    its neighbours."""
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
        last = lines[0].as_py()
        try:
            json.loads(last)
        except ValueError:
            problems.setdefault(line_no, "truncated last line (no newline at end of file and not valid JSON): '"
                                + last[:60] + "'")
        yield _line_batch(lines, line_no, problems)


def _text_lines(path: Path, encoding: str, chunk: int = CHUNK_BYTES) -> Iterator[str]:
    """Decoded physical lines, without their line endings."""
    return itertools.chain.from_iterable(_text_blocks(path, encoding, chunk))


def _text_blocks(path: Path, encoding: str, chunk: int = CHUNK_BYTES) -> Iterator[list[str]]:
    """`_text_lines` a chunk at a time. Text that is not `encoding` refuses the file, naming the
    first line that is not: the file was checked as it is read, not in a pass of its own."""
    decoder = codecs.getincrementaldecoder(encoding)()
    carry = ""
    lines_before = 0
    for block in _chunks(path, chunk):
        try:
            text = carry + decoder.decode(block)
        except UnicodeDecodeError as exc:
            line = lines_before + 1 + block[:max(exc.start, 0)].count(b"\n")
            raise RefusedFile(f"text is not valid {encoding} (line {line})") from exc
        lines = text.split("\n")
        carry = lines.pop()
        lines_before += len(lines)
        yield [line.rstrip("\r") for line in lines] if "\r" in text else lines
    try:
        tail = carry + decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise RefusedFile(f"text is not valid {encoding} (line {lines_before + 1}: cut inside a character)") from exc
    if tail:
        yield [tail.rstrip("\r")]


def csv_header(path: Path, encoding: str) -> list[str]:
    """The header's column names: the first line, read without reading the file."""
    for line in _text_lines(path, encoding, chunk=64 * 1024):
        return [h.strip() for h in next(csv.reader([line]))]
    return []


def csv_batches(path: Path, encoding: str, columns: list[str]) -> Iterator[pa.Table]:
    """Batches of tokenised CSV rows: `_source_line`, `_raw`, `_reader_problem` and `columns`.

    Quoted fields may span lines; `_source_line` is the row's first physical line.
    A row with more or fewer fields than the header is kept for quarantine with the reason.
    Most exported lines hold no quote: those are split on commas by Arrow, a batch at a time
    (what `csv` would make of them, ten times faster); the `csv` module reads the others.
    """
    lines = _text_lines(path, encoding)
    header = next(lines, None)
    if header is None:
        return
    names = [h.strip() for h in next(csv.reader([header]))]
    index = {name: names.index(name) for name in columns if name in names}
    pending: list[str] = []  # a quoted row's first line, handed to the reader
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        while (line := pending.pop() if pending else next(lines, None)) is not None:
            consumed.append(line)
            yield line + "\n"  # the reader needs line ends to keep newlines inside quotes

    reader = csv.reader(feed())
    plain: list[str] = []  # lines without a quote: one row each
    plain_at: list[int] = []
    quoted: list[tuple[int, str, list[str]]] = []  # (first line, raw text, fields)
    line_no = 1
    for line in lines:
        line_no += 1
        if '"' in line or "\r" in line:
            pending.append(line)
            consumed.clear()
            row = next(reader)
            if any(cell.strip() for cell in row):
                quoted.append((line_no, "\n".join(consumed), row))
            line_no += len(consumed) - 1
        elif (line[:1].isspace() or line[:1] in ("", ",")) and not line.replace(",", "").strip():
            continue  # blank, or separators only
        else:
            plain.append(line)
            plain_at.append(line_no)
        if len(plain) + len(quoted) >= CSV_BATCH_ROWS:
            yield _csv_batch(plain, plain_at, quoted, len(names), index, columns)
            plain, plain_at, quoted = [], [], []
    if plain or quoted:
        yield _csv_batch(plain, plain_at, quoted, len(names), index, columns)


def _csv_batch(plain: list[str], plain_at: list[int], quoted: list[tuple[int, str, list[str]]], width: int,
               index: dict[str, int], columns: list[str]) -> pa.Table:
    """One batch in line order: the quote-free lines split by Arrow, the quoted rows as read."""
    raw = pa.array(plain, pa.string())
    cells = pc.split_pattern(raw, ",")
    counts = pc.list_value_length(cells).to_numpy(zero_copy_only=False)
    starts = cells.offsets.to_numpy()[:-1]
    batch = {"_source_line": pa.array(plain_at, pa.int64()), "_raw": raw,
             "_reader_problem": _field_count_problems(counts, width)}
    for name in columns:
        i = index.get(name)
        if i is None:
            batch[name] = pa.nulls(len(plain), pa.string())
            continue
        present = counts > i
        picked = cells.values.take(pa.array(np.where(present, starts + i, 0)))
        batch[name] = pc.if_else(pa.array(present), picked, pa.scalar(None, pa.string()))
    table = pa.table(batch, schema=_csv_schema(columns))
    if not quoted:
        return table
    rows = {"_source_line": [q[0] for q in quoted], "_raw": [q[1] for q in quoted],
            "_reader_problem": [None if len(q[2]) == width else _field_count_problem(len(q[2]), width)
                                for q in quoted]}
    for name in columns:
        i = index.get(name)
        rows[name] = [q[2][i] if i is not None and i < len(q[2]) else None for q in quoted]
    both = pa.concat_tables([table, pa.table(rows, schema=_csv_schema(columns))])
    return both.sort_by("_source_line")


def _field_count_problem(found: int, width: int) -> str:
    return f"expected {width} fields as in the header, found {found}"


def _field_count_problems(counts: np.ndarray, width: int) -> pa.Array:
    problems = [None] * len(counts)
    for i in np.flatnonzero(counts != width):
        problems[i] = _field_count_problem(int(counts[i]), width)
    return pa.array(problems, pa.string())


def _csv_schema(columns: list[str]) -> pa.Schema:
    return pa.schema([("_source_line", pa.int64()), ("_raw", pa.string()), ("_reader_problem", pa.string())]
                     + [(c, pa.string()) for c in columns])


def count_records(path: Path, fmt: str, encoding: str = "utf-8") -> int:
    """Records in a file we do not parse (a re-delivered copy), counted as the parser would."""
    if fmt == "csv":
        return sum(b.num_rows for b in csv_batches(path, encoding, []))
    return sum(b.num_rows for b in jsonl_batches(path))
