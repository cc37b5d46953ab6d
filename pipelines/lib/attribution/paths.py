"""Path summaries: the one input of the standalone attribution engine (`cdp attribute`).

A path summary is a CSV with a header and one row per conversion path::

    path,conversions,non_conversions,revenue
    paid_search > email > direct,12,40,1530.50

`path` is the ordered touches, channels joined by `>` (the contract writes ` > `; the spaces
around each channel are trimmed, so `a>b` reads the same). Counts are whole numbers >= 0;
revenue is a number >= 0 and only on rows with conversions. Columns may come in any order and
extra columns are ignored; blank lines are skipped; a path listed twice simply adds up, because
every model is a sum over rows.

Reading is vectorised (Polars): an analyst's file can hold a million distinct paths. Errors
name the file, the line, the field and what was expected, because the person reading them has
the file open in a spreadsheet, not our code.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

COLUMNS = ("path", "conversions", "non_conversions", "revenue")
SEPARATOR = ">"


class PathFileError(ValueError):
    """A path summary that cannot be read: where (file, line, field) and what was expected."""

    def __init__(self, source: str, line: int | None, field: str | None, problem: str):
        self.source, self.line, self.field, self.problem = source, line, field, problem
        where = source + (f", line {line}" if line is not None else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class PathSummary:
    """Paths as flat arrays: touch `k` of path `i` is `touches[offsets[i] + k]`, a channel index.

    Flat arrays (not a list of tuples) keep a million paths of twenty touches in a few hundred
    MiB and let every model run as NumPy reductions instead of Python loops.
    """

    channels: tuple[str, ...]          # distinct channel names, sorted; a touch holds an index into it
    touches: np.ndarray                # int64 channel index per touch, paths one after another
    offsets: np.ndarray                # int64, len(paths) + 1: path i is touches[offsets[i]:offsets[i+1]]
    conversions: np.ndarray            # int64 per path
    non_conversions: np.ndarray        # int64 per path
    revenue: np.ndarray                # float64 per path
    source: str = "<paths>"

    @property
    def lengths(self) -> np.ndarray:
        """Touches per path (>= 1)."""
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> np.ndarray:
        """The path index of every touch, aligned with `touches`."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)

    @property
    def total_conversions(self) -> int:
        return int(self.conversions.sum())

    @property
    def total_revenue(self) -> float:
        return float(self.revenue.sum())


def read_paths(file: str | Path) -> PathSummary:
    """Reads and checks a path-summary CSV file."""
    file = Path(file)
    try:
        data = file.read_bytes()
    except OSError as e:
        raise PathFileError(str(file), None, None, f"cannot be read ({e.strerror or e})") from None
    return parse_paths(data, str(file))


def summary_from_rows(rows: list[tuple[str, int, int, float]], source: str = "<rows>") -> PathSummary:
    """A summary from (path, conversions, non_conversions, revenue) tuples, through the same checks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return parse_paths(out.getvalue().encode(), source)


def parse_paths(data: bytes, source: str) -> PathSummary:
    """Checks the bytes of a path summary and turns them into a `PathSummary`."""
    header = _header(data, source)
    try:
        # Bytes, not decoded text: Polars reads them 3-4x faster than a StringIO, and checks UTF-8.
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, has_header=True, new_columns=header)
    except pl.exceptions.PolarsError as e:
        raise _unreadable(data, source, len(header), str(e).splitlines()[0]) from None
    frame = frame.select(COLUMNS).with_row_index("row")
    # Blank lines arrive as all-null rows; skipping them keeps `row + 2` the file's line number.
    frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in COLUMNS))
    if frame.height == 0:
        raise PathFileError(source, None, None, "holds a header but no paths")
    problems = _row_problems(frame)
    channels, touches, offsets, empty = _touches(frame["path"].fill_null(""))
    if problems.height or len(empty):
        _raise_first(problems, frame["row"].to_numpy()[empty], frame["path"].to_numpy()[empty], source)
    return PathSummary(channels=channels, touches=touches, offsets=offsets,
                       conversions=frame["conversions"].str.strip_chars().cast(pl.Int64).to_numpy(),
                       non_conversions=frame["non_conversions"].str.strip_chars().cast(pl.Int64).to_numpy(),
                       revenue=frame.select(_revenue())["revenue"].to_numpy().astype(np.float64), source=source)


def _header(data: bytes, source: str) -> list[str]:
    """The header's column names; every expected column once, or an error naming the gap."""
    line = _decoded(data[:data.find(b"\n") if b"\n" in data else len(data)], source)
    first = next(csv.reader([line]), None)
    if not first or not any(c.strip() for c in first):
        raise PathFileError(source, 1, None, f"is empty: expected a header line {','.join(COLUMNS)}")
    names = [c.strip() for c in first]
    seen: set[str] = set()
    for name in names:
        if name in COLUMNS and name in seen:
            raise PathFileError(source, 1, name, "column appears twice in the header")
        seen.add(name)
    missing = [c for c in COLUMNS if c not in seen]
    if missing:
        raise PathFileError(source, 1, missing[0], f"missing column: expected the header {','.join(COLUMNS)} "
                                                   f"(found {','.join(names)})")
    # Extra columns get unique placeholder names so Polars never renames ours.
    return [n if n in COLUMNS else f"_extra_{i}" for i, n in enumerate(names)]


def _decoded(data: bytes, source: str) -> str:
    """UTF-8 text (a spreadsheet's byte-order mark dropped), or an error naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise PathFileError(source, line, None, f"is not UTF-8 (byte {data[e.start]:#04x}): save the file as "
                                                "UTF-8 CSV") from None


def _unreadable(data: bytes, source: str, width: int, reason: str) -> PathFileError:
    """Why Polars refused the file: bad UTF-8, or the first line with more fields than the header."""
    reader = csv.reader(io.StringIO(_decoded(data, source)))
    next(reader)
    for record in reader:
        if len(record) > width:
            return PathFileError(source, reader.line_num, None, f"{len(record)} fields where the header has "
                                                                f"{width}: quote a path that contains a comma")
    return PathFileError(source, None, None, f"is not a readable CSV file ({reason})")


def _revenue() -> pl.Expr:
    return pl.col("revenue").str.strip_chars().cast(pl.Float64, strict=False)


def _row_problems(frame: pl.DataFrame) -> pl.DataFrame:
    """(row, field, message) of every row with a bad field: the first bad field of each, in column order."""
    count = r"^\s*\d+\s*$"
    revenue = _revenue()
    problems = {  # field -> one expression per problem, giving the message where the row is bad
        "path": [
            _when(pl.col("path").is_null() | (pl.col("path").str.strip_chars() == ""),
                  "empty path: expected channels joined by ' > ', e.g. 'paid_search > email'"),
            _when(pl.col("path").str.contains("\n"), "a line break inside the path"),
        ],
        **{name: [
            _when(pl.col(name).is_null(), "missing value: expected a whole number >= 0"),
            _when(pl.col(name).str.contains(r"^\s*-\s*\d"),
                  pl.format("negative count {}: expected a whole number >= 0", pl.col(name))),
            _when(~pl.col(name).str.contains(count), pl.format("'{}' is not a whole number >= 0", pl.col(name))),
            _when(pl.col(name).str.strip_chars().cast(pl.Int64, strict=False).is_null(),
                  pl.format("{} is too large for a count", pl.col(name))),
        ] for name in ("conversions", "non_conversions")},
        "revenue": [
            _when(pl.col("revenue").is_null(), "missing value: expected a number >= 0 (0 where nothing converted)"),
            _when(revenue.is_null(), pl.format("'{}' is not a number: expected e.g. 1530.50 (a '.' for decimals, "
                                               "no currency sign or thousands separator)", pl.col("revenue"))),
            _when(~revenue.is_finite(), pl.format("'{}' is not a finite number", pl.col("revenue"))),
            _when(revenue < 0, pl.format("negative revenue {}: expected a number >= 0 (net of refunds)",
                                         pl.col("revenue"))),
            _when((revenue > 0) & (pl.col("conversions").str.strip_chars() == "0"),
                  pl.format("revenue {} on a path with 0 conversions: revenue belongs to conversions",
                            pl.col("revenue"))),
        ],
    }
    fields = list(problems)
    return (frame.select("row", *[pl.coalesce(exprs).alias(f) for f, exprs in problems.items()])
            .filter(pl.any_horizontal(pl.col(f).is_not_null() for f in fields))
            .select("row",
                    pl.coalesce([pl.when(pl.col(f).is_not_null()).then(pl.lit(f)) for f in fields]).alias("field"),
                    pl.coalesce(fields).alias("message")))


def _when(condition: pl.Expr, message: str | pl.Expr) -> pl.Expr:
    """`message` where `condition` holds, else null: one problem of one field."""
    text = pl.lit(message) if isinstance(message, str) else message
    return pl.when(condition.fill_null(False)).then(text).otherwise(None)


def _touches(paths: pl.Series) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Sorted channel names, every touch's channel index, path offsets, and the paths (positions)
    holding an empty channel name (`a >  > b`, `a >`).

    Spaces are trimmed on the few distinct raw tokens, not on the millions of touches: a token
    becomes an Enum code, and a small lookup maps each code to its trimmed channel's index.
    """
    pieces = paths.str.split(SEPARATOR)
    lengths = pieces.list.len().to_numpy().astype(np.int64)
    tokens = pieces.explode()
    raw = sorted(tokens.unique().to_list())
    names = [t.strip() for t in raw]
    channels = tuple(sorted({n for n in names if n}))
    index = {c: i for i, c in enumerate(channels)}
    lookup = np.array([index.get(n, -1) for n in names], dtype=np.int64)
    touches = lookup[tokens.cast(pl.Enum(raw)).to_physical().to_numpy()]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    empty = np.flatnonzero(np.logical_or.reduceat(touches < 0, offsets[:-1])) if len(touches) else np.array([], int)
    return channels, touches, offsets, empty


def _raise_first(problems: pl.DataFrame, empty_rows: np.ndarray, empty_paths: np.ndarray, source: str) -> None:
    """Raises for the first bad row in file order, saying how many more rows are bad."""
    channel_problems = pl.DataFrame({
        "row": pl.Series(empty_rows, dtype=problems["row"].dtype), "field": ["path"] * len(empty_rows),
        "message": [f"empty channel name in '{p}': a '>' at an end or two in a row" for p in empty_paths]})
    # A row's own field problem (e.g. an empty path) reads better than the empty channel it implies.
    every = pl.concat([problems.with_columns(pl.lit(0).alias("rank")),
                       channel_problems.with_columns(pl.lit(1).alias("rank"))]).sort("row", "rank")
    first = every.row(0, named=True)
    more = every["row"].n_unique() - 1
    suffix = f" ({more} more bad row(s) after it)" if more else ""
    raise PathFileError(source, first["row"] + 2, first["field"], first["message"] + suffix)
