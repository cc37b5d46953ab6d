"""Compile an `Entity` spec to the DuckDB SQL that types, normalises and judges each row.

Input relation `lines`: the file's lineage (`FILE_LINEAGE`), `_source_line`, `_raw`,
`_reader_problem` (set by the reader for undecodable, truncated or ragged lines) and, for CSV,
one VARCHAR column per header name. One query parses every file of an entity in a night.
Output: the typed lake columns, flags, `_reject_reason` (null when the row is usable),
`_warnings` (optional values that could not be typed and were nulled) and `_raw`.
Pure string building, so it is tested without files.
"""
from __future__ import annotations

from datetime import date

from pipelines.lib.ingest.spec import Entity, Field, Kind, Source

JUNK = "('', 'null', 'NULL', 'Null', 'None', 'none', 'undefined', 'NaN', 'nan')"
ISO_OFFSET = r"'(Z|z|[+-]\d{2}(:?\d{2})?)$'"
LOCAL_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f']"

# Carried through from each batch: which file a row came from and when that file was first seen.
FILE_LINEAGE = ("_file_order", "_source_file", "_file_sha256", "_ingested_at")

# Lake types: fixed per kind so every partition of an entity has the same schema.
TYPES: dict[Kind, str] = {
    "text": "VARCHAR", "upper": "VARCHAR", "lower": "VARCHAR", "int": "BIGINT",
    "decimal": "DECIMAL(18,2)", "bool": "BOOLEAN", "date": "DATE", "ts_iso": "TIMESTAMP",
    "ts_epoch_ms": "TIMESTAMP", "ts_local": "TIMESTAMP", "ts_any": "TIMESTAMP",
    "phone": "VARCHAR", "email": "VARCHAR", "json": "JSON",
}

EXPECTED: dict[Kind, str] = {
    "int": "not an integer", "decimal": "not a number", "bool": "not a yes/no value",
    "date": "not a date (YYYY-MM-DD)", "ts_iso": "not an ISO-8601 timestamp with a UTC offset",
    "ts_epoch_ms": "not epoch milliseconds", "ts_local": "not a local time (YYYY-MM-DD HH:MM:SS)",
    "ts_any": "not a timestamp (ISO-8601 with offset, epoch ms or local YYYY-MM-DD HH:MM:SS)",
    "phone": "not a phone number", "email": "not an email address", "json": "not JSON",
}


def _ts_iso(x: str) -> str:
    return f"CASE WHEN regexp_matches({x}, {ISO_OFFSET}) THEN timezone('UTC', TRY_CAST({x} AS TIMESTAMPTZ)) END"


def _ts_epoch_ms(x: str) -> str:
    return rf"CASE WHEN regexp_full_match({x}, '\d{{1,15}}') THEN epoch_ms(CAST({x} AS BIGINT)) END"


def _ts_local(x: str, tz: str) -> str:
    return f"timezone('UTC', timezone('{tz}', TRY_STRPTIME({x}, {LOCAL_FORMATS})))"


def _phone(x: str) -> str:
    """E.164: `+86` and 11 digits for mainland mobiles; `+` and 8-15 digits otherwise."""
    d = rf"regexp_replace({x}, '[\s\-().]', '', 'g')"
    return (
        rf"CASE WHEN regexp_full_match({d}, '(\+?86|0086)?(1[3-9]\d{{9}})') "
        rf"THEN '+86' || regexp_extract({d}, '(1[3-9]\d{{9}})$', 1) "
        rf"WHEN regexp_full_match({d}, '\+[1-9]\d{{7,14}}') THEN {d} END"
    )


def value_sql(kind: Kind, x: str, tz: str) -> str:
    """The typed value of cleaned VARCHAR expression `x`, or NULL when it cannot be typed."""
    match kind:
        case "text":
            return x
        case "json":
            # A scalar where an object belongs (`"properties": "oops"`) must not abort the night.
            return f"CASE WHEN json_valid({x}) THEN {x} END"
        case "upper":
            return f"upper({x})"
        case "lower":
            return f"lower({x})"
        case "int":
            return f"TRY_CAST(replace({x}, ',', '') AS BIGINT)"
        case "decimal":
            return f"TRY_CAST(replace({x}, ',', '') AS DECIMAL(18,2))"
        case "bool":
            return (f"CASE WHEN lower({x}) IN ('1','true','t','y','yes') THEN true "
                    f"WHEN lower({x}) IN ('0','false','f','n','no') THEN false END")
        case "date":
            return f"coalesce(TRY_CAST({x} AS DATE), CAST(TRY_STRPTIME({x}, '%Y/%m/%d') AS DATE))"
        case "ts_iso":
            return _ts_iso(x)
        case "ts_epoch_ms":
            return _ts_epoch_ms(x)
        case "ts_local":
            return _ts_local(x, tz)
        case "ts_any":
            return f"coalesce({_ts_iso(x)}, {_ts_epoch_ms(x)}, {_ts_local(x, tz)})"
        case "phone":
            return _phone(x)
        case "email":
            return rf"CASE WHEN regexp_full_match(lower({x}), '[^@\s]+@[^@\s]+\.[^@\s]+') THEN lower({x}) END"
    raise ValueError(f"unknown field kind {kind!r}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(x: str) -> str:
    """A raw value quoted for a message, cut to 60 characters."""
    return f"'''' || left({x}, 60) || ''''"


def _raw_ref(entity: Entity, f: Field, i: int) -> str:
    return f"_v[{i + 1}]" if entity.format == "jsonl" else f'"{f.source}"'


def _cleaned_ref(f: Field) -> str:
    return f'"_c_{f.column}"'


def compile_entity(source: Source, entity: Entity, delivery_date: date) -> str:
    """SQL over `lines` giving typed rows plus `_reject_reason` and `_warnings`."""
    tz = source.timezone
    raw_refs = [_raw_ref(entity, f, i) for i, f in enumerate(entity.fields)]
    cleaned = ",\n  ".join(
        f"CASE WHEN trim({r}) IN {JUNK} THEN NULL ELSE trim({r}) END AS \"_c_{f.column}\""
        for f, r in zip(entity.fields, raw_refs)
    )
    typed = ",\n  ".join(
        f'CAST({value_sql(f.kind, _cleaned_ref(f), tz)} AS {TYPES[f.kind]}) AS "{f.column}"'
        for f in entity.fields
    )
    hard: list[str] = []  # problems that make the row unusable
    soft: list[str] = []  # problems that only null an optional value
    for f in entity.fields:
        c, col = f'"_c_{f.column}"', f'"{f.column}"'
        # Masked phones (138****5678) are a known export form, not an error: they become null.
        masked = f" AND NOT contains({c}, '*')" if f.kind == "phone" else ""
        if f.kind in EXPECTED:
            problem = f"CASE WHEN {c} IS NOT NULL AND {col} IS NULL{masked} THEN " \
                      f"{_quote(f.column + ': ' + EXPECTED[f.kind] + ': ')} || {_shown(c)} END"
            (hard if f.required else soft).append(problem)
        if f.required:
            hard.append(f"CASE WHEN {c} IS NULL THEN {_quote(f.column + ': required value is missing')} END")
        if f.allowed:
            values = ", ".join(_quote(v) for v in f.allowed)
            hard.append(f"CASE WHEN {col} NOT IN ({values}) THEN {_quote(f.column + ': ')} || {_shown(col)} "
                        f"|| {_quote(' is not one of ' + ', '.join(f.allowed))} END")
    if entity.event_time:
        t = f'"{entity.event_time}"'
        day = f"DATE '{delivery_date.isoformat()}'"
        hard.append(f"CASE WHEN {t} >= {day} + INTERVAL 2 DAY THEN {_quote(entity.event_time + ': ')} || "
                    f"strftime({t}, '%Y-%m-%d %H:%M:%S') || {_quote(' UTC is in the future (delivered ' + delivery_date.isoformat() + ')')} END")
        hard.append(f"CASE WHEN {t} < {day} - INTERVAL {source.max_age_days} DAY THEN {_quote(entity.event_time + ': ')} || "
                    f"strftime({t}, '%Y-%m-%d %H:%M:%S') || {_quote(f' UTC is more than {source.max_age_days} days before the delivery')} END")
    hard += [f"CASE WHEN {r.when} THEN {r.reason} END" for r in entity.rules]

    flags = "".join(f",\n  coalesce({fl.expression}, false) AS \"{fl.column}\"" for fl in entity.flags)
    if entity.copy_number:
        same = ", ".join(f'"{k}"' for k in entity.natural_key if k != entity.copy_number)
        flags += (f",\n  row_number() OVER (PARTITION BY _source_file, {same} ORDER BY _source_line)"
                  f' AS "{entity.copy_number}"')
    columns = ", ".join(f'"{c}"' for c in entity.columns)
    lineage = ", ".join(FILE_LINEAGE)
    not_object = "'line is JSON but not an object'" if entity.format == "jsonl" else "NULL"
    if entity.format == "jsonl":
        paths = ", ".join(_quote(f.source) for f in entity.fields)
        # One JSON parse per line: `try` turns a malformed line into NULL, judged below.
        extracted = (
            "SELECT *, _v IS NOT NULL AS _is_object FROM (SELECT *, CASE WHEN _reader_problem IS NULL "
            "AND starts_with(ltrim(_raw), '{') THEN try(json_extract_string(_raw, [" + paths + "])) END AS _v "
            "FROM lines)"
        )
        format_problem = ("CASE WHEN NOT _is_object THEN CASE WHEN starts_with(ltrim(_raw), '{') "
                          "OR NOT json_valid(_raw) THEN 'line is not valid JSON: ' || "
                          f"{_shown('_raw')} ELSE {not_object} END END")
    else:
        extracted = "SELECT *, true AS _is_object FROM lines"
        format_problem = "NULL"
    return f"""
WITH extracted AS ({extracted}),
cleaned AS (SELECT {lineage}, _source_line, _raw, _reader_problem, _is_object,
  {cleaned}
FROM extracted),
typed AS (SELECT *,
  {typed}
FROM cleaned),
judged AS (SELECT *{flags},
  coalesce(_reader_problem, {format_problem}, nullif(concat_ws('; ', {', '.join(hard) or 'NULL'}), '')) AS _reject_reason,
  concat_ws(chr(31), {', '.join(soft) or 'NULL'}) AS _warning_text
FROM typed)
SELECT {lineage}, _source_line, {columns}, _reject_reason,
  CASE WHEN _reject_reason IS NULL AND _warning_text <> '' THEN string_split(_warning_text, chr(31))
       ELSE []::VARCHAR[] END AS _warnings,
  CASE WHEN _reject_reason IS NULL THEN NULL ELSE _raw END AS _raw
FROM judged"""
