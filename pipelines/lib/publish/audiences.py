"""Audience folders (published contract §3): `published/audiences/<audience>/<YYYY-MM-DD>/`.

Who is published: tonight's members of the audience, less
- the holdout group (kept out of the campaign so that it can be measured),
- members whose consent does not cover the audience's purpose (`PURPOSE_CONSENT` in the specs),
- members of the uploaded list `suppression` (marketing/lists/suppression.csv), if any.
Columns: `customer_id` and the audience's `export` columns, from the customer's profile, tonight's
traits, or the hashed contacts (`phone_sha256`, `email_sha256`: sha256 of the normal form, the
most recently seen one; never a clear phone or address).

`entered.parquet` / `exited.parquet` compare with the previous *published* day of the audience
(not the previous night: a night that did not publish is skipped over).

Gates, any of which publishes nothing and leaves yesterday's folder as it was: the dbt tests
guarding the audience (its own, and the `gate`-tagged ones upstream such as the traits' drift);
its size against the last *published* size (`max_change`, `min_change`, `allow_empty` of the
spec: a jump refused tonight is still a jump tomorrow, until someone looks); and, on the staged
files (`check_members`), the schema, row count, keys, hash formats, no clear PII, and no member
without consent or on the suppression list.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import publish_folder, read_manifest
from pipelines.lib.publish.gates import PublishRefused, admit
from pipelines.lib.specs.audiences import CONTACT_COLUMNS, PURPOSE_CONSENT, Audience
from pipelines.lib.specs.tables import CUSTOMERS

SUPPRESSION_LIST = "suppression"
CLEAR_PII = re.compile(r"^(phone|mobile|email|name|address|id_card)$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Published:
    audience: str
    rows: int
    entered: int
    exited: int
    holdout: int
    without_consent: int
    suppressed: int
    consent_coverage: float | None         # published / (members less holdout): who can be reached


def audience_folder(layout: Layout, audience: str, night: date) -> Path:
    return layout.data_dir / "published" / "audiences" / audience / night.isoformat()


def definition_hash(audience: Audience) -> str:
    return hashlib.sha256(json.dumps(audience.raw, sort_keys=True, default=str).encode()).hexdigest()


def previous_folder(layout: Layout, audience: str, night: date) -> Path | None:
    """The latest published day before `night` (a folder with a manifest)."""
    root = layout.data_dir / "published" / "audiences" / audience
    days = sorted(p for p in root.glob("????-??-??") if p.name < night.isoformat() and read_manifest(p))
    return days[-1] if days else None


def consent_sql(purpose: str, alias: str = "c") -> str:
    """True when the customer (`alias` = customers) gave a consent covering the purpose."""
    return "(" + " OR ".join(f"coalesce({alias}.{column}, false)" for column in PURPOSE_CONSENT[purpose]) + ")"


def suppression_sql(has_suppression: bool) -> str:
    """The customer ids on the uploaded suppression list (none when no list was uploaded)."""
    if has_suppression:
        return f"SELECT customer_id FROM list_members WHERE list = '{SUPPRESSION_LIST}'"
    return "SELECT NULL::VARCHAR WHERE false"


def _column(name: str) -> str:
    if name in CONTACT_COLUMNS:
        return f"k.{name}"
    if name in CUSTOMERS.columns:
        return f"c.{name}"
    return f't."{name}"'


def members_sql(audience: Audience, night: date, has_suppression: bool) -> str:
    """Tonight's members with a flag per reason they are held back, and their export columns."""
    columns = "".join(f",\n    {_column(c)} AS \"{c}\"" for c in audience.export)
    suppressed = f"m.customer_id IN ({suppression_sql(has_suppression)})"
    return f"""
        WITH contacts AS (
            SELECT customer_id,
                arg_max(id_value, (last_seen_at, id_value)) FILTER (WHERE id_type = 'phone') AS phone_sha256,
                arg_max(id_value, (last_seen_at, id_value)) FILTER (WHERE id_type = 'email') AS email_sha256
            FROM identity_map WHERE id_type IN ('phone', 'email') GROUP BY customer_id)
        SELECT m.customer_id{columns},
            m.is_holdout AS _holdout,
            NOT {consent_sql(audience.purpose)} AS _without_consent,
            {suppressed} AS _suppressed
        FROM audience_membership m
        JOIN customers c ON c.customer_id = m.customer_id
        LEFT JOIN customer_traits t ON t.customer_id = m.customer_id AND t.as_of_date = DATE '{night}'
        LEFT JOIN contacts k ON k.customer_id = m.customer_id
        WHERE m.audience = '{audience.name}' AND m.as_of_date = DATE '{night}'"""


def size_problem(audience: Audience, rows: int, previous_rows: int | None) -> str | None:
    """Why tonight's size may not be published after the last published one, if it may not."""
    if not previous_rows:                   # first publication, or after an empty one
        return None
    if rows == 0:
        return None if audience.allow_empty else f"became empty (last published {previous_rows:,} members)"
    change = abs(rows - previous_rows)
    if change > audience.max_change * previous_rows and change > audience.min_change:
        return (f"{rows:,} members moved by more than {audience.max_change:g} x the last published "
                f"{previous_rows:,} (spec max_change)")
    return None


def check_members(con: duckdb.DuckDBPyConnection, parquet: Path, csv: Path, audience: Audience,
                  expected_rows: int, suppression: str) -> list[str]:
    """The file gates, Great Expectations on the staged file: the schema, a row count equal to the
    source query's, unique non-null keys, hash formats; plus no column named like clear PII, the
    CSV holding the same rows as the Parquet file, and no member in the file without the
    purpose's consent or on the suppression list (`suppression`: a query of customer ids)."""
    import great_expectations.expectations as gxe

    from pipelines.lib.gates.expectations import validate

    frame = con.sql(f"SELECT * FROM read_parquet('{parquet}')").df()
    expectations = [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=["customer_id", *audience.export]),
        gxe.ExpectTableRowCountToEqual(value=expected_rows),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=SHA256.pattern)
          for c in CONTACT_COLUMNS if c in frame.columns),
    ]
    problems = list(validate(f"published_{audience.name}", frame, expectations).failures)
    [(csv_rows,)] = con.execute(f"SELECT count(*) FROM read_csv('{csv}', all_varchar = true)").fetchall()
    if csv_rows != len(frame):
        problems.append(f"members.csv has {csv_rows} rows, members.parquet {len(frame)}")
    problems += [f"column {name!r} would publish clear PII" for name in frame.columns if CLEAR_PII.match(name)]
    [(unconsented, suppressed)] = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT {consent_sql(audience.purpose)}),
               count(*) FILTER (WHERE p.customer_id IN ({suppression}))
        FROM read_parquet('{parquet}') p LEFT JOIN customers c USING (customer_id)""").fetchall()
    if unconsented:
        problems.append(f"{unconsented} members without {audience.purpose} consent")
    if suppressed:
        problems.append(f"{suppressed} members on the suppression list")
    return problems


def publish_audience(layout: Layout, audience: Audience, night: date, run_id: str) -> Published:
    """Writes, checks and swaps in the audience's folder for the night; `PublishRefused` if a gate fails."""
    gates = admit(layout.dbt_target, [audience.name], audience.name)
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        [(has_suppression,)] = con.execute(
            "SELECT count(*) > 0 FROM information_schema.tables WHERE table_name = 'list_members'").fetchall()
        if has_suppression:
            [(has_suppression,)] = con.execute(
                f"SELECT count(*) > 0 FROM list_members WHERE list = '{SUPPRESSION_LIST}'").fetchall()
        con.execute(f"CREATE TEMP TABLE tonight AS {members_sql(audience, night, has_suppression)}")
        [(holdout, without_consent, suppressed)] = con.execute(
            "SELECT count(*) FILTER (WHERE _holdout), count(*) FILTER (WHERE NOT _holdout AND _without_consent), "
            "count(*) FILTER (WHERE NOT _holdout AND NOT _without_consent AND _suppressed) FROM tonight").fetchall()
        con.execute("CREATE TEMP TABLE published AS SELECT * EXCLUDE (_holdout, _without_consent, _suppressed) "
                    "FROM tonight WHERE NOT (_holdout OR _without_consent OR _suppressed) ORDER BY customer_id")
        [(rows,)] = con.execute("SELECT count(*) FROM published").fetchall()
        previous = previous_folder(layout, audience.name, night)
        previous_rows = (read_manifest(previous) or {}).get("row_count") if previous else None
        too_far = size_problem(audience, rows, previous_rows)
        if too_far:
            raise PublishRefused(f"{audience.name}: size gate refused it: {too_far}; "
                                 f"yesterday's version ({previous.name}) stays")
        campaign = rows + without_consent + suppressed          # the members less the holdout
        coverage = round(rows / campaign, 4) if campaign else None
        before = (f"SELECT customer_id FROM read_parquet('{previous / 'members.parquet'}')" if previous
                  else "SELECT NULL::VARCHAR AS customer_id WHERE false")
        counts: dict[str, int] = {}

        def write(folder: Path) -> dict[str, int]:
            members, csv = folder / "members.parquet", folder / "members.csv"
            con.execute(f"COPY published TO '{members}' (FORMAT parquet)")
            con.execute(f"COPY published TO '{csv}' (HEADER, DELIMITER ',')")
            problems = check_members(con, members, csv, audience, rows, suppression_sql(has_suppression))
            if problems:
                raise PublishRefused(f"{audience.name}: file gates failed: {'; '.join(problems)}")
            con.execute(f"COPY (SELECT * FROM published WHERE customer_id NOT IN ({before}) ORDER BY customer_id) "
                        f"TO '{folder / 'entered.parquet'}' (FORMAT parquet)")
            con.execute(f"COPY ({before} EXCEPT SELECT customer_id FROM published ORDER BY customer_id) "
                        f"TO '{folder / 'exited.parquet'}' (FORMAT parquet)")
            for name in ("entered", "exited"):
                [(counts[name],)] = con.execute(f"SELECT count(*) FROM '{folder / name}.parquet'").fetchall()
            return {"members.parquet": rows, "members.csv": rows,
                    "entered.parquet": counts["entered"], "exited.parquet": counts["exited"]}

        publish_folder(layout, audience_folder(layout, audience.name, night), write, {
            "audience": audience.name, "definition_hash": definition_hash(audience), "purpose": audience.purpose,
            "as_of_date": night.isoformat(), "run_id": run_id, "row_count": rows,
            "previous_published": previous.name if previous else None,
            "held_back": {"holdout": holdout, "without_consent": without_consent, "suppressed": suppressed},
            "consent_coverage": coverage,
            "gates": [*gates,
                      {"gate": "size within bounds of the last published " + (
                          f"({previous.name}: {previous_rows} members)" if previous else "(first publication)"),
                       "status": "pass"},
                      {"gate": "files (Great Expectations): schema, rows, unique keys, hash formats; no clear PII; "
                               "every member consented and none suppressed", "status": "pass"}]})
    return Published(audience.name, rows, counts["entered"], counts["exited"], holdout, without_consent, suppressed,
                     coverage)
