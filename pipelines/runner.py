"""Run nights through Dagster in this process, in order, and explain what failed.

`cdp run` and `make demo` use this: one Python process for a whole backfill costs seconds,
where a `dagster asset materialize` per night would pay start-up every time.
"""
from __future__ import annotations

import functools
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from pipelines.settings import REPO_ROOT, Settings


def use_instance_for(settings: Settings) -> None:
    """Point Dagster at the repository's dagster.yaml and the data directory's run history."""
    os.environ["DAGSTER_HOME"] = str(REPO_ROOT)
    os.environ.setdefault("CDP_DAGSTER_STORAGE", str(settings.data_dir / ".dagster"))


@dataclass
class NightResult:
    day: date
    success: bool
    run_id: str
    rows: dict[str, int] = field(default_factory=dict)  # asset -> rows written
    failed_steps: list[str] = field(default_factory=list)
    failed_gates: list[str] = field(default_factory=list)  # blocking checks that failed
    warnings: list[str] = field(default_factory=list)  # non-blocking checks that failed
    ignored: list[str] = field(default_factory=list)  # landing-zone folders reported and ignored
    errors: list[str] = field(default_factory=list)
    quarantine: str = "quarantine/"

    def explain(self) -> str:
        """One paragraph a person can act on."""
        parts = [f"Night {self.day} failed (run {self.run_id[:8]})."]
        if self.failed_gates:
            parts.append("Gates that stopped it: " + " | ".join(self.failed_gates) + ".")
        gated = {g.split(" ")[0] for g in self.failed_gates}  # asset keys such as lake/pos
        other = [s for s in self.failed_steps if s.replace("__", "/") not in gated]
        if other:
            parts.append("Steps that failed: " + ", ".join(other) + ".")
        if self.errors:
            parts.append("Errors: " + " | ".join(self.errors) + ".")
        parts.append(f"Bad rows and refused files are in {self.quarantine}; fix or re-deliver, then rerun "
                     f"with `cdp run --date {self.day}` (reruns are idempotent). Details: `make ui`, run {self.run_id}.")
        return " ".join(parts)


@functools.cache
def resolved_job(name: str):
    """A job of the code location, resolved once per process: loading the definitions folder again
    cost 0.5 s a run, and a backfill's ingestion workers run dozens (the definitions read the
    environment once, when first imported: `pipelines/defs/resources.py`)."""
    from pipelines.definitions import defs

    return defs().resolve_job_def(name)


def run_night(day: date, settings: Settings, instance=None, build: bool = True,
              full_refresh: bool = False) -> NightResult:
    """One night in this process; never raises for a failed step or gate, reports it instead.

    `build=False` only ingests (the `ingest` job): a backfill builds the warehouse once, as of
    its last night, since every warehouse table is rebuilt as of the night it is built for.
    `full_refresh` reloads every delivery into the incremental tables (run tag `cdp/full_refresh`).
    """
    import dagster as dg

    from pipelines.defs.resources import LakeResource
    from pipelines.lib.warehouse.dbt import FULL_REFRESH_TAG

    instance = instance or dg.DagsterInstance.get()
    result = resolved_job("nightly" if build else "ingest").execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=False,
        resources={"lake": LakeResource.from_settings(settings)},
        tags={"cdp/trigger": "cli", **({FULL_REFRESH_TAG: "true"} if full_refresh else {})},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    night = NightResult(day=day, success=result.success, run_id=result.run_id,
                        quarantine=str(settings.data_dir / "quarantine"))
    _read_run(result, night)
    if build and not night.success:
        report_failed_night(night, settings)
    return night


def ingest_nights(days: list[date], settings: Settings, instance, pool=None) -> list[NightResult]:
    """Ingest consecutive `days` by runs of the `ingest` job over their partition range (each
    source's step ingests them in order), one result per night. Dagster's cost per run and step
    is paid once for them, and each gate validates them together (`gates.raw.nights_gates`) while
    judging each night on its own, as in `run_night`.

    With a `pool` of worker processes (`ingest_pool`), each source is a run of its own, handed to
    whichever worker is free, the largest deliveries first: sources are independent (each reads
    only its own earlier nights; the ingest log is folded in under a lock), and one process
    leaves a core idle while Great Expectations judges a night in Python. A source's cost per
    night is not its bytes (formats parse at different speeds, each entity is gated on its own),
    so the workers balance it by taking the next source when they finish one."""
    assert [d.toordinal() for d in days] == list(range(days[0].toordinal(), days[-1].toordinal() + 1)), days
    if pool is None:
        return _ingest_range(days, settings, instance)
    sources = largest_first(settings, days)
    # the landing zone's asset (it only lists the folders) goes with the first source
    per_source = pool.starmap(_ingest_source, [(days, settings, source, i == 0) for i, source in enumerate(sources)],
                              chunksize=1)
    return [_merged([runs[i] for runs in per_source]) for i in range(len(days))]


def ingest_pool(settings: Settings):
    """Worker processes for `ingest_nights`, started once for a whole backfill (each pays
    Dagster's and Great Expectations' imports once); None when settings ask for one process."""
    import multiprocessing

    if settings.ingest_processes < 2:
        return None
    # spawned, not forked: this process holds SQLite and DuckDB connections and threads
    return multiprocessing.get_context("spawn").Pool(settings.ingest_processes)


def largest_first(settings: Settings, days: list[date]) -> list[str]:
    """The sources by bytes delivered over `days`, largest first (then by name)."""
    from collections import Counter

    from pipelines.lib.ingest.landing import scan
    from pipelines.lib.ingest.sources import SOURCES
    from pipelines.lib.layout import Layout

    delivered: Counter[str] = Counter()
    for day in days:
        for source, files in scan(Layout(settings.data_dir), day, set(SOURCES)).files.items():
            delivered[source] += sum(size for _, size in files)
    return sorted(SOURCES, key=lambda source: (-delivered[source], source))


def _ingest_range(days: list[date], settings: Settings, instance, sources: list[str] | None = None,
                  landing_zone: bool = True, resources: bool = True) -> list[NightResult]:
    """One run of the `ingest` job over `days`: every asset, or those of `sources` (and the
    landing zone's if `landing_zone`)."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from pipelines.defs.resources import LakeResource

    selection = None
    if sources:
        selection = [dg.AssetKey(["lake", s]) for s in sources] + \
            ([dg.AssetKey(["raw", "landing_zone"])] if landing_zone else [])
    result = resolved_job("ingest").execute_in_process(
        instance=instance, raise_on_error=False, asset_selection=selection,
        resources={"lake": LakeResource.from_settings(settings)} if resources else None,
        tags={"cdp/trigger": "cli", ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(),
              ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat()},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    whole = NightResult(day=days[-1], success=result.success, run_id=result.run_id,
                        quarantine=str(settings.data_dir / "quarantine"))
    _read_run(result, whole)
    per_night: dict[str, dict[str, int]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        counts = mat.metadata.get("rows_in_lake_per_night")
        for key, rows in (counts.value if counts is not None else {}).items():
            per_night.setdefault(key, {})[mat.asset_key.to_user_string()] = rows
    return [NightResult(day=day, success=whole.success, run_id=whole.run_id, rows=per_night.get(day.isoformat(), {}),
                        warnings=[w for w in whole.warnings if day.isoformat() in w],
                        ignored=whole.ignored, errors=whole.errors,
                        quarantine=whole.quarantine) for day in days]


def _ingest_source(days: list[date], settings: Settings, source: str, landing_zone: bool) -> list[NightResult]:
    """A worker process's run: `source` over `days`, with its share of DuckDB's memory. The code
    location reads its resources from the environment, set here before it is first imported
    (a run of selected assets refuses resources passed in beside those the assets were bound to)."""
    share = replace(settings, duckdb_memory_limit=_memory_share(settings.duckdb_memory_limit,
                                                                settings.ingest_processes))
    os.environ.update(share.to_env())
    use_instance_for(share)
    import dagster as dg

    try:
        with dg.DagsterInstance.get() as instance:
            return _ingest_range(days, share, instance, [source], landing_zone, resources=False)
    except Exception as error:  # the runner then runs the nights one by one, in its own process
        return [NightResult(day=day, success=False, run_id="", errors=[f"ingest of {source}: "
                                                                       f"{type(error).__name__}: {error}"])
                for day in days]
    finally:
        # a run leaves SIGTERM mapped to SIGINT's handler, which a background job ignores;
        # the pool's `terminate` (on an error in the runner) needs the default back
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _memory_share(limit: str, processes: int) -> str:
    """`limit` (DuckDB's notation: 12GB, 512MB) split between `processes`, in MB."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B\s*", limit, re.IGNORECASE)
    if not match:
        return limit
    mb = float(match[1]) * {"K": 2**-10, "": 2**-20, "M": 1, "G": 2**10, "T": 2**20}[match[2].upper()]
    return f"{max(1, int(mb // processes))}MB"


def _merged(parts: list[NightResult]) -> NightResult:
    """One night's result from its sources' runs (the run id: the first's)."""
    night = replace(parts[0], success=all(p.success for p in parts), rows={}, warnings=[], errors=[], ignored=[])
    for part in parts:
        night.rows.update(part.rows)
        night.warnings += part.warnings
        night.errors += part.errors
        night.ignored += [i for i in part.ignored if i not in night.ignored]
    return night


def _read_run(result, night: NightResult) -> None:
    """Rows written, failed gates and steps, warnings and ignored folders of a finished run."""
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        ignored = mat.metadata.get("ignored")
        if ignored is not None and ignored.value != "nothing":
            night.ignored = ignored.value.splitlines()
        rows = mat.metadata.get("dagster/row_count")
        if rows is not None:
            night.rows[mat.asset_key.to_user_string()] = rows.value
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            line = f"{check.asset_key.to_user_string()} {check.check_name}: {check.description}"
            (night.failed_gates if check.severity.value == "ERROR" else night.warnings).append(line)
    for event in result.all_events:
        if event.is_step_failure:
            night.failed_steps.append(event.step_key)
            error = event.step_failure_data.error
            while error is not None and error.cause is not None and "Error occurred while" in error.message:
                error = error.cause  # Dagster's wrapper says nothing: report what went wrong
            if error and "asset check" not in error.message:
                first = error.message.strip().splitlines()[0]
                first = first.removeprefix("dagster._core.definitions.events.Failure: ")   # our own words follow
                night.errors.append(f"{event.step_key}: {first}")


def report_failed_night(night: NightResult, settings: Settings) -> None:
    """A failed night's page in published/reports/ (Dagster skipped the report step): what failed
    and what consumers still read. A report that cannot be written is noted, never raised."""
    from pipelines.lib.layout import Layout
    from pipelines.lib.publish.report import publish_report

    try:
        publish_report(Layout(settings.data_dir), night.day, night.run_id, failure=night.explain())
    except Exception as error:  # the night's own failure is the news; the report's is a footnote
        night.errors.append(f"run report: {type(error).__name__}: {str(error).splitlines()[0]}")


def release_dead_runs(instance) -> list[str]:
    """Runs of this command that are still `STARTED` belong to a process that died (killed, out of
    memory, power cut): the caller holds the data directory's lock, so no other `cdp` process is
    running them. Mark them failed and give back the concurrency slots they held (the
    `warehouse` pool allows one), or the next night would wait for them forever."""
    import dagster as dg

    dead = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED],
                                                   tags={"cdp/trigger": "cli"}))
    for run in dead:
        instance.report_run_failed(run, "the process running this night died; released by the next `cdp run`")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in dead]


# A range run still records each night's materializations, and Dagster's events cost more as the
# run's range grows: 99 nights of the 10 M world took 764.4 s night by night, 731.1 s in one run,
# 656.7 s in runs of 20.
NIGHTS_PER_RUN = 20


def ingested_before_build(days: list[date], build_each_night: bool) -> list[date]:
    """The nights of a backfill ingested by range runs (`ingest_nights`, up to NIGHTS_PER_RUN
    nights each): those before its build."""
    return days[:-1] if not build_each_night and len(days) > 2 else []


def run_nights(days: list[date], settings: Settings,
               on_night: Callable[[NightResult], None] | None = None,
               build_each_night: bool = False, full_refresh: bool = False) -> list[NightResult]:
    """Run `days` in order; stop at the first failed night (later nights build on it).

    Every night is ingested; the warehouse is built for the last night only, unless
    `build_each_night` (to record identity changes night by night). `full_refresh` applies to the
    first build of the range (later ones are incremental on top of it).
    """
    use_instance_for(settings)
    import dagster as dg

    instance = dg.DagsterInstance.get()
    release_dead_runs(instance)
    results: list[NightResult] = []
    backfill = ingested_before_build(days, build_each_night)
    pool = ingest_pool(settings) if backfill else None
    try:
        for start in range(0, len(backfill), NIGHTS_PER_RUN):
            # runs of up to NIGHTS_PER_RUN nights ingest the nights before the build; a failure
            # anywhere in one makes its nights run again one by one (reruns are idempotent), so
            # the first failing night stops the backfill with its own report, as below
            ingested = ingest_nights(backfill[start:start + NIGHTS_PER_RUN], settings, instance, pool)
            if not all(n.success for n in ingested):
                break
            for night in ingested:
                results.append(night)
                if on_night:
                    on_night(night)
            days = days[len(ingested):]
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()     # after close and join, a no-op; on an error, stops the workers
    for i, day in enumerate(days):
        build = build_each_night or i == len(days) - 1
        night = run_night(day, settings, instance, build=build, full_refresh=full_refresh)
        full_refresh = full_refresh and not build
        results.append(night)
        if on_night:
            on_night(night)
        if not night.success:
            break
    return results
