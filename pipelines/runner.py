"""Run nights through Dagster in this process, in order, and explain what failed.

`cdp run` and `make demo` use this: one Python process for a whole backfill costs seconds,
where a `dagster asset materialize` per night would pay start-up every time.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
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


def run_night(day: date, settings: Settings, instance=None, build: bool = True,
              full_refresh: bool = False) -> NightResult:
    """One night in this process; never raises for a failed step or gate, reports it instead.

    `build=False` only ingests (the `ingest` job): a backfill builds the warehouse once, as of
    its last night, since every warehouse table is rebuilt as of the night it is built for.
    `full_refresh` reloads every delivery into the incremental tables (run tag `cdp/full_refresh`).
    """
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.resources import LakeResource
    from pipelines.lib.warehouse.dbt import FULL_REFRESH_TAG

    instance = instance or dg.DagsterInstance.get()
    job = defs().resolve_job_def("nightly" if build else "ingest")
    result = job.execute_in_process(
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


def ingest_nights(days: list[date], settings: Settings, instance) -> list[NightResult]:
    """Ingest consecutive `days` in one run of the `ingest` job over their partition range (each
    source's step ingests them in order), one result per night. Dagster's cost per run and step
    is paid once for them; each night's gates judge that night, as in `run_night`."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from pipelines.definitions import defs
    from pipelines.defs.resources import LakeResource

    assert [d.toordinal() for d in days] == list(range(days[0].toordinal(), days[-1].toordinal() + 1)), days
    result = defs().resolve_job_def("ingest").execute_in_process(
        instance=instance, raise_on_error=False, resources={"lake": LakeResource.from_settings(settings)},
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
                        ignored=whole.ignored,
                        quarantine=whole.quarantine) for day in days]


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
    for start in range(0, len(backfill), NIGHTS_PER_RUN):
        # runs of up to NIGHTS_PER_RUN nights ingest the nights before the build; a failure
        # anywhere in one makes its nights run again one by one (reruns are idempotent), so
        # the first failing night stops the backfill with its own report, as below
        ingested = ingest_nights(backfill[start:start + NIGHTS_PER_RUN], settings, instance)
        if not all(n.success for n in ingested):
            break
        for night in ingested:
            results.append(night)
            if on_night:
                on_night(night)
        days = days[len(ingested):]
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
