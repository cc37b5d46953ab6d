"""Reading path summaries: what is accepted, and errors that name file, line, field and the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.lib.attribution import PathFileError, read_paths

HEADER = "path,conversions,non_conversions,revenue\n"


def write(tmp_path: Path, text: str | bytes, name: str = "paths.csv") -> Path:
    file = tmp_path / name
    file.write_bytes(text.encode() if isinstance(text, str) else text)
    return file


def paths_of(summary) -> list[list[str]]:
    return [[summary.channels[t] for t in summary.touches[a:b]]
            for a, b in zip(summary.offsets[:-1], summary.offsets[1:])]


def test_a_summary_reads_into_paths_of_channel_indices(tmp_path):
    summary = read_paths(write(tmp_path, HEADER + "paid_search > email > direct,12,40,1530.50\nemail,0,7,0\n"))
    assert summary.channels == ("direct", "email", "paid_search")
    assert paths_of(summary) == [["paid_search", "email", "direct"], ["email"]]
    assert summary.conversions.tolist() == [12, 0] and summary.non_conversions.tolist() == [40, 7]
    assert summary.revenue.tolist() == [1530.5, 0.0]
    assert summary.total_conversions == 12 and summary.total_revenue == 1530.5


def test_spaces_around_channels_are_trimmed_and_the_separator_needs_none(tmp_path):
    summary = read_paths(write(tmp_path, HEADER + " a>b ,1,0,1\na  >   b,1,0,1\n"))
    assert paths_of(summary) == [["a", "b"], ["a", "b"]]


def test_column_order_extra_columns_bom_crlf_and_blank_lines_are_accepted(tmp_path):
    text = "\ufeffrevenue,note,path,non_conversions,conversions\r\n10,x,a > b,3,2\r\n\r\n0,y,b,1,0\r\n\r\n"
    summary = read_paths(write(tmp_path, text))
    assert paths_of(summary) == [["a", "b"], ["b"]]
    assert summary.conversions.tolist() == [2, 0] and summary.revenue.tolist() == [10.0, 0.0]


def test_a_channel_name_with_a_comma_is_read_from_a_quoted_field(tmp_path):
    summary = read_paths(write(tmp_path, HEADER + '"shop, north > app",1,0,5\n'))
    assert summary.channels == ("app", "shop, north")


def test_a_path_listed_twice_is_kept_twice_so_it_adds_up(tmp_path):
    summary = read_paths(write(tmp_path, HEADER + "a,1,0,10\na,2,1,20\n"))
    assert summary.total_conversions == 3 and summary.total_revenue == 30


@pytest.mark.parametrize("rows, line, field, message", [
    ("a,-3,1,0\n", 2, "conversions", "negative count -3: expected a whole number >= 0"),
    ("a,1,-2,0\n", 2, "non_conversions", "negative count -2"),
    ("a,three,1,0\n", 2, "conversions", "'three' is not a whole number >= 0"),
    ("a,1.5,1,0\n", 2, "conversions", "'1.5' is not a whole number >= 0"),
    ("a,99999999999999999999,1,0\n", 2, "conversions", "too large for a count"),
    ("a,1,0,0\n,1,0,0\n", 3, "path", "empty path: expected channels joined by ' > '"),
    ("a,1,0,0\n  ,1,0,0\n", 3, "path", "empty path"),
    ("a >  > b,1,0,0\n", 2, "path", "empty channel name in 'a >  > b'"),
    ("a > b >,1,0,0\n", 2, "path", "empty channel name"),
    ("a,1,0,$12\n", 2, "revenue", "'$12' is not a number: expected e.g. 1530.50"),
    ("a,1,0,nan\n", 2, "revenue", "'nan' is not a finite number"),
    ("a,1,0,-5\n", 2, "revenue", "negative revenue -5"),
    ("a,0,4,12.5\n", 2, "revenue", "revenue 12.5 on a path with 0 conversions"),
    ("a,1,0\n", 2, "revenue", "missing value: expected a number >= 0"),
    ("a,1\n", 2, "non_conversions", "missing value: expected a whole number >= 0"),
    ('"a\nb",1,0,0\n', 2, "path", "a line break inside the path"),
])
def test_a_bad_row_names_the_file_line_field_and_what_was_expected(tmp_path, rows, line, field, message):
    file = write(tmp_path, HEADER + "ok > fine,1,0,3\n" + rows)
    with pytest.raises(PathFileError) as e:
        read_paths(file)
    assert (e.value.line, e.value.field) == (line + 1, field)     # +1: the good row before it
    assert message in str(e.value)
    assert str(e.value).startswith(f"{file}, line {line + 1}, field {field!r}: ")


def test_the_first_bad_row_in_file_order_is_reported_with_how_many_more(tmp_path):
    file = write(tmp_path, HEADER + "a,1,0,0\nb,1,0,-1\nc,x,0,0\nd,-1,0,0\n")
    with pytest.raises(PathFileError) as e:
        read_paths(file)
    assert (e.value.line, e.value.field) == (3, "revenue")
    assert str(e.value).endswith("negative revenue -1: expected a number >= 0 (net of refunds) "
                                 "(2 more bad row(s) after it)")


def test_a_missing_column_is_named_with_the_header_expected(tmp_path):
    file = write(tmp_path, "path,conversions,revenue\na,1,0\n")
    with pytest.raises(PathFileError) as e:
        read_paths(file)
    assert (e.value.line, e.value.field) == (1, "non_conversions")
    assert "missing column: expected the header path,conversions,non_conversions,revenue" in str(e.value)
    assert "(found path,conversions,revenue)" in str(e.value)


def test_a_column_given_twice_is_refused(tmp_path):
    with pytest.raises(PathFileError, match="line 1, field 'path': column appears twice"):
        read_paths(write(tmp_path, "path,conversions,non_conversions,revenue,path\na,1,0,0,b\n"))


def test_a_row_with_more_fields_than_the_header_names_its_line(tmp_path):
    with pytest.raises(PathFileError, match=r"line 3: 5 fields where the header has 4: quote a path"):
        read_paths(write(tmp_path, HEADER + "a,1,0,0\nshop, north > b,1,0,0\n"))


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    with pytest.raises(PathFileError, match=r"line 3: is not UTF-8 \(byte 0xe9\): save the file as UTF-8"):
        read_paths(write(tmp_path, HEADER.encode() + b"a,1,0,0\ncaf\xe9,1,0,0\n"))


@pytest.mark.parametrize("text, message", [
    ("", "line 1: is empty: expected a header line path,conversions,non_conversions,revenue"),
    ("\n\n", "line 1: is empty"),
    (HEADER, "holds a header but no paths"),
    (HEADER + "\n\n", "holds a header but no paths"),
])
def test_an_empty_file_or_one_without_paths_says_so(tmp_path, text, message):
    with pytest.raises(PathFileError, match=message):
        read_paths(write(tmp_path, text))


def test_a_missing_file_says_it_cannot_be_read(tmp_path):
    with pytest.raises(PathFileError, match=r"nope.csv: cannot be read \(No such file or directory\)"):
        read_paths(tmp_path / "nope.csv")
