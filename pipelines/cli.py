"""`cdp`: the command line a data engineer scripts and an analyst types (published_outputs.md §7)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import click

from pipelines.settings import Settings

DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Data directory (default: $CDP_DATA_DIR or data/).")


def _date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A warehouse-native customer data platform: nightly channel exports in, a lake out."""


@main.command()
@DATA_DIR
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True)
@click.option("--start", callback=_date, default="2026-01-01", show_default=True, help="First delivery date.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--noise", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Multiplier on realistic noise rates; 0 writes perfectly clean exports.")
def generate(data_dir: Path | None, customers: int, days: int, start: date, seed: int, noise: float) -> None:
    """Write a realistic landing zone (raw/) and its ground truth (truth/)."""
    from rich.progress import Progress

    from pipelines.lib.synthetic import generate as write_world

    settings = Settings.from_env(data_dir)
    with Progress(transient=True) as progress:
        task = progress.add_task("generating", total=days)

        def on_day(stage: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=stage)

        summary = write_world(settings.data_dir, customers=customers, days=days, start=start, seed=seed,
                              noise=noise, progress=on_day)
    click.echo(f"Wrote {summary.total_events:,} events for {customers:,} customers over {days} days "
               f"({start} to {start + timedelta(days=days - 1)}) into {settings.data_dir / 'raw'}; "
               f"ground truth in {settings.data_dir / 'truth'}.")


@main.command()
@DATA_DIR
@click.option("--date", "day", callback=_date, default=None, help="Run one night.")
@click.option("--from", "first", callback=_date, default=None, help="First night of a range.")
@click.option("--to", "last", callback=_date, default=None, help="Last night of a range (inclusive).")
@click.option("--all", "every", is_flag=True, help="Every night that has deliveries.")
@click.option("--build-each-night", is_flag=True,
              help="Build the warehouse after every night of a range, not only after the last one.")
@click.option("--full-refresh", is_flag=True,
              help="Reload every delivery into the incremental tables (after changing ingestion or staging "
                   "code); history tables (traits, audiences, identity changes) are kept.")
def run(data_dir: Path | None, day: date | None, first: date | None, last: date | None, every: bool,
        build_each_night: bool, full_refresh: bool) -> None:
    """Run nights through the pipeline, in order; exits 1 with the reason when a night fails."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipelines.lib.ingest.landing import delivery_dates
    from pipelines.lib.ingest.sources import SOURCES
    from pipelines.lib.layout import Layout
    from pipelines.runner import NIGHTS_PER_RUN, ingested_before_build, run_nights

    settings = Settings.from_env(data_dir)
    _specs_or_exit()
    if day:
        days = [day]
    elif first and last:
        if last < first:
            raise click.UsageError(f"--to {last} is before --from {first}")
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    elif every:
        days = delivery_dates(Layout(settings.data_dir), set(SOURCES))
        if not days:
            raise click.UsageError(f"no delivery folders under {settings.data_dir / 'raw'}: run `cdp generate` first")
    else:
        raise click.UsageError("say which nights: --date D, --from A --to B, or --all")
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"nights {days[0]}..{days[-1]}", total=len(days))

        def on_night(night) -> None:
            rows = sum(v for k, v in night.rows.items() if k.startswith("lake/"))
            state = "ok" if night.success else "FAILED"
            progress.console.print(f"{night.day}  {state:6}  {rows:>10,} rows into the lake"
                                   + (f"  ({len(night.warnings)} warnings)" if night.warnings else ""))
            progress.advance(task)

        if backfill := ingested_before_build(days, build_each_night):
            progress.console.print(f"ingesting {backfill[0]}..{backfill[-1]} (runs of {NIGHTS_PER_RUN} nights, "
                                   f"{settings.ingest_processes} process{'es' if settings.ingest_processes > 1 else ''}); "
                                   f"building {days[-1]}", soft_wrap=True)
        with _exclusive(settings, "cdp run"):
            results = run_nights(days, settings, on_night, build_each_night=build_each_night,
                                 full_refresh=full_refresh)
    for problem in sorted({p for night in results for p in night.ignored}):
        click.echo(f"landing zone: {problem}", err=True)
    failed = [n for n in results if not n.success]
    if failed:
        click.echo("\n" + failed[0].explain(), err=True)
        skipped = len(days) - len(results)
        if skipped:
            click.echo(f"{skipped} later night(s) were not run.", err=True)
        sys.exit(1)
    click.echo(f"{len(results)} night(s) ok. Lake: {settings.data_dir / 'lake'}; "
               f"quarantine: {settings.data_dir / 'quarantine'}; `cdp status` for the state per stage.")


def _specs_or_exit() -> None:
    """A trait or audience spec with an error stops everything before any night runs: better no
    night than one that half-applies a definition."""
    from pipelines.lib.specs import SpecError, load_specs
    from pipelines.lib.warehouse.dbt import PROJECT_DIR

    try:
        load_specs(PROJECT_DIR)
    except SpecError as error:
        click.echo(f"No night ran: a spec has an error. {error}\n"
                   "Fix it and rerun; the lake and the published outputs are untouched.", err=True)
        sys.exit(2)


@main.command()
@DATA_DIR
def status(data_dir: Path | None) -> None:
    """Last night per stage: ok / failed / stale, row counts, what was published."""
    from pipelines.lib.publish.summary import published_summary
    from pipelines.status import asset_statuses, last_night_totals

    settings = Settings.from_env(data_dir)
    latest, rows = asset_statuses(settings)
    click.echo(f"Data directory: {settings.data_dir}   latest delivery: {latest or 'none'}")
    click.echo(f"{'asset':24} {'state':10} {'last night':12} {'rows':>12}  note")
    for r in rows:
        rows_text = f"{r.rows:,}" if r.rows is not None else "-"
        click.echo(f"{r.asset:24} {r.state:10} {r.last_night or '-':12} {rows_text:>12}  {r.note}")
    totals = last_night_totals(settings)
    if totals:
        click.echo(f"Last night's files: {totals['files']} ({totals['files_refused']} refused); rows read "
                   f"{totals['rows_read']:,} = {totals['rows_in_lake']:,} in lake + {totals['rows_quarantined']:,} "
                   f"quarantined + {totals['rows_deduplicated']:,} deduplicated.")
    published = published_summary(settings.data_dir)
    click.echo("Published:" + ("".join(f"\n  {line}" for line in published) if published else " nothing yet"))
    if any(r.state == "failed" for r in rows):
        sys.exit(1)


@main.command()
@DATA_DIR
@click.option("--member-id", required=True, help="The CRM member id of the person to forget.")
def erase(data_dir: Path | None, member_id: str) -> None:
    """Forget a person everywhere now: lake, warehouse, published files and snapshot."""
    from pipelines.lib.privacy.erase_now import erase_member

    settings = Settings.from_env(data_dir)
    with _exclusive(settings, "cdp erase"):
        outcome = erase_member(settings, member_id)
    click.echo(outcome.explain())
    if not outcome.member_known:
        sys.exit(1)


@main.command()
@DATA_DIR
@click.option("--date", "day", callback=_date, required=True, help="The night to build (as_of_date).")
@click.option("--compare", is_flag=True,
              help="Then compare every table with the DuckDB warehouse (built for the same night).")
def spark(data_dir: Path | None, day: date, compare: bool) -> None:
    """Build a night's warehouse on Spark from the same lake (dbt `--target spark`)."""
    from pipelines.lib.warehouse.engines import build_on_spark, compare_all, spark_tables

    settings = Settings.from_env(data_dir)
    done = build_on_spark(settings, day)
    log = spark_tables(settings.data_dir).parent / f"dbt-{day}.log"
    if done.returncode != 0:
        failures = [line for line in done.stdout.splitlines() if "ERROR" in line or "Error" in line]
        raise click.ClickException("the Spark build failed:\n" + "\n".join(failures[-20:]) + f"\nlog: {log}")
    click.echo(f"Built {day} on Spark: tables in {spark_tables(settings.data_dir)}; log {log}")
    if not compare:
        return
    if not (settings.data_dir / "warehouse" / "cdp.duckdb").exists():
        raise click.ClickException("no DuckDB warehouse to compare with: run the night first (`cdp run`)")
    different = 0
    for d in compare_all(settings.data_dir, day):
        different += not d.equal
        click.echo(f"{d.table:32} {d.duckdb_rows:>10,} rows  " + (
            "equal" if d.equal else f"DIFFERENT: {d.only_duckdb:,} only on DuckDB, {d.only_spark:,} only on Spark"))
        for example in ([] if d.equal else d.examples):
            click.echo(f"    {example}")
    if different:
        sys.exit(1)


@contextmanager
def _exclusive(settings: Settings, command: str):
    """The data directory's writer lock, or exit 3 naming who holds it."""
    from pipelines.lib.run_lock import DataDirBusy, exclusive

    try:
        with exclusive(settings.data_dir, command):
            yield
    except DataDirBusy as busy:
        click.echo(str(busy), err=True)
        sys.exit(3)


def _warehouse(data_dir: Path | None):
    """A read-only connection to the night's warehouse, or a usage error a person can act on."""
    import duckdb

    from pipelines.lib.layout import Layout

    db = Layout(Settings.from_env(data_dir).data_dir).warehouse
    if not db.exists():
        raise click.ClickException(f"no warehouse at {db}: run a night first (`cdp run`)")
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as e:
        raise click.ClickException(f"the warehouse {db} is being written by a run; try again when it ends ({e})")


def _specs():
    from pipelines.lib.specs import SpecError, load_specs
    from pipelines.lib.warehouse.dbt import PROJECT_DIR

    try:
        return load_specs(PROJECT_DIR)
    except SpecError as e:
        raise click.ClickException(str(e))


@main.command()
@DATA_DIR
@click.option("--audience", required=True, help="Audience name (specs/audiences/*.yml).")
@click.option("--customer", required=True, help="customer_id.")
@click.option("--date", "day", callback=_date, default=None, help="As-of date (default: the latest night).")
def explain(data_dir: Path | None, audience: str, customer: str, day: date | None) -> None:
    """Why a customer is (not) in an audience: each condition, the value, the qualifying events."""
    from pipelines.lib.specs.inspect import explain as explain_membership, render

    specs = _specs()
    with _warehouse(data_dir) as con:
        try:
            click.echo(render(explain_membership(con, specs, audience, customer, day)))
        except LookupError as e:                  # KeyError too: an unknown audience
            raise click.ClickException(str(e.args[0]))


@main.command()
@DATA_DIR
def audiences(data_dir: Path | None) -> None:
    """Audiences with size, change since the previous night, holdout, and overlaps."""
    from pipelines.lib.specs.inspect import audience_summary

    specs = _specs()
    with _warehouse(data_dir) as con:
        day, sizes, overlaps = audience_summary(con)
    if day is None:
        click.echo("No audience has been built yet: run a night first.")
        return
    owners = {a.name: (a.owner, a.purpose) for a in specs.audiences}
    built = {row[0]: row for row in sizes}
    # every audience of the specs, empty ones too, and ledger audiences no longer specified
    rows = [built.get(name, (name, 0, 0, 0, 0, 0)) for name in owners] + \
           [row for name, row in built.items() if name not in owners]
    click.echo(f"Audiences as of {day}")
    click.echo(f"{'audience':34} {'size':>8} {'change':>8} {'entered':>8} {'exited':>8} {'holdout':>8}  purpose  owner")
    for name, size, holdout, entered, exited, previous in sorted(rows):
        owner, purpose = owners.get(name, ("(no longer specified)", "-"))
        click.echo(f"{name:34} {size:>8,} {size - previous:>+8,} {entered:>8,} {exited:>8,} {holdout:>8,}  "
                   f"{purpose:7}  {owner}")
    click.echo("Overlaps (members in both): " + ("none" if not overlaps else ""))
    for a, b, n in overlaps:
        click.echo(f"  {a} & {b}: {n:,}")


@main.command()
@click.option("--paths", "paths_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Path-summary CSV: path,conversions,non_conversions,revenue (channels joined by ' > ').")
@click.option("--model", required=True, help="first_touch, last_touch, linear, position_based, markov, shapley "
                                             "(time_decay needs touch times: not from a path summary).")
def attribute(paths_file: Path, model: str) -> None:
    """Channel credits for a path summary, as CSV channel,conversions,revenue on stdout (6 decimals)."""
    from pipelines.lib.attribution import ModelError, PathFileError, attribute as credit, check_model, read_paths

    try:
        check_model(model)   # before reading: a typo or time_decay should not wait for a big file
    except ModelError as e:
        raise click.BadParameter(str(e), param_hint="--model") from None
    try:
        click.echo(credit(read_paths(paths_file), model).to_csv(), nl=False)
    except PathFileError as e:
        raise click.ClickException(str(e)) from None


def command() -> None:
    """The `cdp` executable: `main`, then out without the interpreter's teardown.

    Tearing down the modules the Definitions import (Dagster, dbt, Great Expectations, DuckDB)
    took 3 to 4 s after the work was done (`cdp status`: 19 s -> 15 s). Everything a command writes is closed
    or committed when `main` returns (files and DuckDB connections in `with` blocks, SQLite
    commits per event, worker processes joined), so only the streams are left to flush."""
    import logging
    import os

    try:
        main(prog_name="cdp")
        code = 0
    except SystemExit as done:    # click's own exit, or a command's sys.exit(n)
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    command()
