"""CSV rows as the reader hands them to the parse query: every line accounted for, quoted or not.

Lines without a quote are split on commas by Arrow and quoted rows are read by the `csv` module
(`reading.csv_batches`); both must give what a person opening the file would read.
"""
from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.lib.ingest import reading

# One row per kind of line an export holds: plain, blank or only separators (skipped), quoted with
# a comma, a quoted field spanning three lines, too few and too many fields, Unicode spaces only
# (skipped), spaces around values, a stray quote inside a field, a doubled quote, an unterminated
# quote at the end of the file.
TRICKY = ('a,b,c\n1,2,3\n\n  , ,\n,,\n"x,y",2,3\n"multi\nline\n",5,6\n4,5\n7,8,9,10\n\u3000,\x1c\n'
          ' a , b ,c\nq"uote,2,3\n"un""even",1,2\n,,,\n \n1,2,"tail\n')
FOUND_2, FOUND_4 = "expected 3 fields as in the header, found 2", "expected 3 fields as in the header, found 4"
EXPECTED = [  # (_source_line, _raw, _reader_problem, a, b, c, zz: not in the header)
    (2, "1,2,3", None, "1", "2", "3", None),
    (6, '"x,y",2,3', None, "x,y", "2", "3", None),
    (7, '"multi\nline\n",5,6', None, "multi\nline\n", "5", "6", None),
    (10, "4,5", FOUND_2, "4", "5", None, None),
    (11, "7,8,9,10", FOUND_4, "7", "8", "9", None),
    (13, " a , b ,c", None, " a ", " b ", "c", None),
    (14, 'q"uote,2,3', None, 'q"uote', "2", "3", None),
    (15, '"un""even",1,2', None, 'un"even', "1", "2", None),
    (18, '1,2,"tail', None, "1", "2", "tail\n", None),
]
COLUMNS = ["a", "b", "c", "zz"]


def _rows(path, encoding="utf-8") -> list[tuple]:
    table = pa.concat_tables(reading.csv_batches(path, encoding, COLUMNS))
    return [tuple(r.values()) for r in table.to_pylist()]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_every_kind_of_csv_line_is_read_as_written(tmp_path, newline):
    path = tmp_path / "export.csv"
    path.write_bytes(TRICKY.replace("\n", newline).encode())
    assert _rows(path) == EXPECTED
    assert reading.count_records(path, "csv") == len(EXPECTED)


def test_batches_cut_between_quoted_and_plain_rows_keep_every_row_in_line_order(tmp_path, monkeypatch):
    path = tmp_path / "export.csv"
    path.write_text(TRICKY)
    monkeypatch.setattr(reading, "CSV_BATCH_ROWS", 2)
    batches = list(reading.csv_batches(path, "utf-8", COLUMNS))
    assert [b.num_rows for b in batches] == [2, 2, 2, 2, 1]
    assert _rows(path) == EXPECTED


def test_a_gb18030_export_is_split_on_commas_after_decoding(tmp_path):
    path = tmp_path / "till.csv"
    path.write_bytes("a,b,c\n上海,\"南京路, 1号\",会员\n北京,王府井,\n".encode("gb18030"))
    assert _rows(path, "gb18030") == [(2, '上海,"南京路, 1号",会员', None, "上海", "南京路, 1号", "会员", None),
                                      (3, "北京,王府井,", None, "北京", "王府井", "", None)]


def test_blank_json_lines_are_skipped_and_the_others_keep_their_line_numbers(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes('{"a":1}\n\n   \n\t{"b":2}\r\n \u3000\n x\n{"c":\n'.encode() + b'\xff\n{"d":4}')
    rows = pa.concat_tables(reading.jsonl_batches(path)).to_pylist()
    assert [(r["_source_line"], r["_raw"], r["_reader_problem"]) for r in rows] == [
        (1, '{"a":1}', None), (4, '\t{"b":2}', None), (6, " x", None), (7, '{"c":', None),
        (8, "\ufffd", "line is not valid UTF-8"), (9, '{"d":4}', None)]
