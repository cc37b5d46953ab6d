"""Deterministic file writing for the landing zone: parts, gzip, encodings, re-deliveries, counts.

gzip is written with mtime=0 and no file name in the header (what `gzip.compress(mtime=0)` does),
so the same content always gives the same bytes. Files are written whole (content is built per
day, so memory is bounded by the day, never by the run).
"""
from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from pathlib import Path

from .noise import Noise

PART_LINES = 200_000          # app events are split into parts of this many lines
# Behaviour records: what EVENTS_PER_CUSTOMER_DAY and the summary's event count measure.
EVENT_SOURCES = ("app", "web", "miniprogram", "live", "official_account", "guide")


def is_event_file(source: str, name: str) -> bool:
    return source in EVENT_SOURCES or (source == "ads" and name.startswith("clicks"))


class Delivery:
    """Writes the files of one generated day (and its spill-over into later folders)."""

    def __init__(self, data_dir: Path, dates: list[str]):
        self.raw = data_dir / "raw"
        self.dates = dates
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])   # source -> [files, records]
        self.paths: list[str] = []
        self.events = 0

    def _put(self, source: str, t: int, name: str, payload: bytes, records: int) -> Path:
        folder = self.raw / source / self.dates[t]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(payload)
        self.counts[source][0] += 1
        self.counts[source][1] += records
        if is_event_file(source, name):
            self.events += records
        self.paths.append(str(path))
        return path

    def write(self, source: str, t: int, name: str, data: bytes, records: int, gz: bool,
              nz: Noise | None = None, next_day_ok: bool = True) -> None:
        """Write one file; with noise, sometimes deliver the very same bytes a second time."""
        if gz:
            name += ".gz"
            data = gzip.compress(data, compresslevel=1, mtime=0)
        self._put(source, t, name, data, records)
        if nz is not None and nz.hit("redelivered_file"):
            last = len(self.dates) - 1
            if next_day_ok and t < last and nz.r.random() < 0.5:
                self._put(source, t + 1, name, data, records)          # the same name, a day later
            else:
                stem, dot, ext = name.partition(".")
                self._put(source, t, f"{stem}-resent{dot}{ext}", data, records)

    def jsonl(self, source: str, t: int, stem: str, lines: list[str], gz: bool, nz: Noise | None = None,
              truncate: bool = True, part_lines: int = PART_LINES) -> None:
        """JSON Lines in parts of `part_lines`; with noise, some parts end in a cut-off line."""
        if not lines:
            return
        parts = (len(lines) + part_lines - 1) // part_lines
        for p in range(parts):
            chunk = lines[p * part_lines:(p + 1) * part_lines]
            text = "\n".join(chunk) + "\n"
            if truncate and nz is not None and nz.hit("truncated_file"):
                last = chunk[-1]
                text = text[:len(text) - 1 - len(last) + max(1, len(last) // 2)]
            name = f"{stem}-part-{p + 1:04d}.jsonl"
            self.write(source, t, name, text.encode("utf-8"), len(chunk), gz, nz)

    def csv(self, source: str, t: int, name: str, header: list[str], rows: list[list[str]],
            encoding: str = "utf-8", crlf: bool = False, gz: bool = False, nz: Noise | None = None,
            blank_lines: bool = False, next_day_ok: bool = True) -> None:
        """A CSV with a header row; quoting only where a value needs it (commas, quotes)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        w.writerows(rows)
        text = buf.getvalue()
        if blank_lines and nz is not None and nz.hit("blank_lines"):
            text += ("\r\n" if crlf else "\n") * nz.r.randint(1, 3)
        self.write(source, t, name, text.encode(encoding), len(rows), gz, nz, next_day_ok)
