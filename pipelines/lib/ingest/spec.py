"""Declarative description of what each channel delivers and how it lands in the lake.

A `Source` is one folder of the landing zone (`raw/<source>/`). It holds one or more
`Entity`s (`app` has `events`; `crm` has `members` and `erasure_requests`), each with its
own file pattern, format and typed `Field`s. The parser (`parse_sql.py`) compiles these
specs to DuckDB SQL, so adding a source is writing one small module in `sources/`.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Literal

# How a raw value is typed and normalised; see parse_sql.KINDS for the SQL of each.
Kind = Literal[
    "text", "upper", "lower", "int", "decimal", "bool", "date",
    "ts_iso", "ts_epoch_ms", "ts_local", "ts_any", "phone", "email", "json",
]


@dataclass(frozen=True)
class Field:
    """One typed lake column, read from a JSON path (`$.a.b`) or a CSV header name."""

    column: str
    source: str
    kind: Kind = "text"
    required: bool = False
    # A closed value set: a value outside it sends the row to quarantine.
    allowed: tuple[str, ...] = ()
    # The identifier type this column holds for the record's own subject (erasure deletes the
    # records whose identifying columns hold an erased person's identifier).
    identifies: str | None = None


@dataclass(frozen=True)
class Rule:
    """A row-level rule: `when` (SQL over typed columns) true means the row is unusable."""

    when: str
    reason: str  # SQL string expression, e.g. "'identity: neither anonymousId nor userId'"


@dataclass(frozen=True)
class Flag:
    """A boolean column computed from typed columns; flags describe, they never drop rows."""

    column: str
    expression: str


@dataclass(frozen=True)
class Entity:
    name: str
    format: Literal["jsonl", "csv"]
    patterns: tuple[str, ...]
    fields: tuple[Field, ...]
    # Natural key for dedupe; with `version`, the highest version of a key wins.
    natural_key: tuple[str, ...]
    version: str | None = None
    # The event time checked against the delivery date (future / far past => quarantine).
    event_time: str | None = None
    rules: tuple[Rule, ...] = ()
    flags: tuple[Flag, ...] = ()
    # CSV columns that may be absent from a header without refusing the file.
    optional_columns: tuple[str, ...] = ()
    # Row dedupe also looks this many earlier deliveries back (retries span days).
    dedupe_lookback_days: int = 7
    # False for full snapshots: an identical file on another day is that day's snapshot.
    dedupe_files_across_days: bool = True
    # For records without an id of their own (till lines): a column numbering identical records
    # within one file (1, 2, ...). Part of the natural key, it keeps two scans of the same item
    # as two lines while the same line re-sent in another file is still a duplicate.
    copy_number: str | None = None

    def matches(self, file_name: str) -> bool:
        return any(fnmatch(file_name, p) for p in self.patterns)

    @property
    def columns(self) -> list[str]:
        copy = [self.copy_number] if self.copy_number else []
        return [f.column for f in self.fields] + [f.column for f in self.flags] + copy


@dataclass(frozen=True)
class Source:
    name: str
    entities: tuple[Entity, ...]
    description: str
    # CSV encodings tried in order; legacy tills export GB18030.
    encodings: tuple[str, ...] = ("utf-8",)
    # Naive local timestamps (`ts_local`) are in this zone.
    timezone: str = "Asia/Shanghai"
    # Event times more than this many days before the delivery are quarantined.
    max_age_days: int = 365

    def entity_for(self, file_name: str) -> Entity | None:
        for entity in self.entities:
            if entity.matches(file_name):
                return entity
        return None
