"""A delivered file once it passed its shape check: its lines as Arrow batches with lineage."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipelines.lib.ingest.reading import RefusedFile, csv_batches, csv_header, detect_encoding, jsonl_batches
from pipelines.lib.ingest.report import FileReport
from pipelines.lib.ingest.spec import Entity, Source


def lines_schema(entity: Entity) -> pa.Schema:
    fields = [("_file_order", pa.int64()), ("_source_file", pa.string()), ("_file_sha256", pa.string()),
              ("_ingested_at", pa.timestamp("us")),
              ("_source_line", pa.int64()), ("_raw", pa.string()), ("_reader_problem", pa.string())]
    if entity.format == "csv":
        fields += [(f.source, pa.string()) for f in entity.fields]
    return pa.schema(fields)


def check_shape(source: Source, entity: Entity, path: Path) -> str:
    """The file's encoding; refuses files whose shape is not the contract's, before any row is read.

    A source with one encoding has nothing to choose: its text is checked as it is parsed (a
    file that is not that encoding is refused then, `reading._text_blocks`). Choosing among
    several (the tills' GB18030) decodes the whole file first."""
    if entity.format == "jsonl":
        return "utf-8"
    encoding = source.encodings[0] if len(source.encodings) == 1 else detect_encoding(path, source.encodings)
    header = csv_header(path, encoding)
    missing = [f.source for f in entity.fields if f.source not in header and f.source not in entity.optional_columns]
    if missing:
        raise RefusedFile(f"missing required column(s) {', '.join(missing)}; the header has: {', '.join(header)}")
    return encoding


@dataclass
class AcceptedFile:
    """A file that passed the shape check, waiting for its entity's single parse query."""

    report: FileReport
    path: Path
    order: int

    def batches(self, entity: Entity, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        tables = (jsonl_batches(self.path) if entity.format == "jsonl" else
                  csv_batches(self.path, self.report.encoding, [f.source for f in entity.fields]))
        r = self.report
        lineage = {"_file_order": pa.scalar(self.order, pa.int64()), "_source_file": pa.scalar(r.file, pa.string()),
                   "_file_sha256": pa.scalar(r.file_sha256, pa.string()),
                   "_ingested_at": pa.scalar(r.ingested_at, pa.timestamp("us"))}
        for table in tables:
            n = table.num_rows
            for i, (name, value) in enumerate(lineage.items()):
                table = table.add_column(i, name, pa.repeat(value, n))
            yield from table.cast(schema).to_batches()
