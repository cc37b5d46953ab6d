"""`cdp status`: for each stage asset, its last night: ok / failed / stale, with row counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipelines.lib.ingest.ingest_log import read_log
from pipelines.lib.ingest.landing import delivery_dates
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout
from pipelines.runner import use_instance_for
from pipelines.settings import Settings


# Intermediate steps (staging views, seeds) are not stages a data engineer checks on.
HIDDEN_GROUPS = {"staging", "rules"}
# Groups of the one `warehouse` step (a single `dbt build`).
WAREHOUSE_GROUPS = {"identity", "customers", "behaviour", "traits", "audiences", "attribution", "analytics",
                    "experiments"}


@dataclass
class AssetStatus:
    asset: str
    state: str  # ok | failed | stale | never run
    last_night: str | None
    rows: int | None
    note: str = ""


def asset_statuses(settings: Settings) -> tuple[date | None, list[AssetStatus]]:
    use_instance_for(settings)
    import dagster as dg

    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    latest_delivery = (delivery_dates(Layout(settings.data_dir), set(SOURCES)) or [None])[-1]
    graph = defs().resolve_asset_graph()
    step_errors = _latest_run_step_errors(instance)
    out = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        group = graph.get(key).group_name
        if group in HIDDEN_GROUPS:
            continue
        name = key.to_user_string()
        ok_event = instance.get_latest_materialization_event(key)
        mat = ok_event.asset_materialization if ok_event else None
        failed = _failed_checks(instance, key, ok_event.run_id if ok_event else None)
        last_night = mat.partition if mat else None
        rows = mat.metadata["dagster/row_count"].value if mat and "dagster/row_count" in mat.metadata else None
        step_error = step_errors.get("warehouse" if group in WAREHOUSE_GROUPS else "__".join(key.path))
        if step_error and not failed:
            out.append(AssetStatus(name, "failed", last_night, rows, step_error))
        elif mat is None:
            out.append(AssetStatus(name, "never run", None, None))
        elif failed:
            out.append(AssetStatus(name, "failed", last_night, rows, "; ".join(failed)))
        elif latest_delivery and last_night and last_night < latest_delivery.isoformat():
            out.append(AssetStatus(name, "stale", last_night, rows, f"deliveries up to {latest_delivery} exist"))
        else:
            out.append(AssetStatus(name, "ok", last_night, rows))
    return latest_delivery, out


def _latest_run_step_errors(instance) -> dict[str, str]:
    """Step key -> first line of its error, for the newest nightly run (a crash leaves no materialization)."""
    import dagster as dg

    runs = instance.get_runs(limit=1)
    if not runs:
        return {}
    errors = {}
    for record in instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        error = event.step_failure_data.error
        message = error.message.strip().splitlines()[0] if error else "failed"
        errors[event.step_key] = f"night {runs[0].tags.get('dagster/partition', '?')}: {message}"
    return errors


def _failed_checks(instance, key, run_id: str | None) -> list[str]:
    import dagster as dg

    if run_id is None:
        return []
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    failed = []
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        if evaluation.asset_key == key and not evaluation.passed and evaluation.severity.value == "ERROR":
            failed.append(evaluation.check_name)
    return failed


def last_night_totals(settings: Settings) -> dict[str, int]:
    log = read_log(Layout(settings.data_dir)).to_pandas()
    if not len(log):
        return {}
    last = log[log["delivery_date"] == log["delivery_date"].max()]
    totals = {c: int(last[c].sum()) for c in ("rows_read", "rows_in_lake", "rows_quarantined", "rows_deduplicated")}
    totals["files"] = len(last)
    totals["files_refused"] = int((last["status"] == "refused").sum())
    return totals
