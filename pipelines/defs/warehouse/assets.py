"""The dbt project as Dagster assets: one `dbt build` per night (seeds, models and their tests).

dbt tests arrive as asset checks; a failing test at `error` severity fails the step, so nothing
downstream of the warehouse runs that night. The lake's dbt sources map to the `lake/<source>`
ingestion assets (`LAKE_ASSETS` below).
"""

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.ingest.marketing import MARKETING
from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout
from pipelines.lib.privacy.history import erased_on, forget_erased
from pipelines.lib.retries import is_transient, retry_request
from pipelines.lib.specs import load_specs
from pipelines.lib.warehouse.dbt import (FULL_REFRESH_TAG, MANIFEST, PROJECT_DIR, build_args, build_vars,
                                         ensure_manifest, environment, night_env, warehouse_target)
from pipelines.lib.warehouse.reuse import current_state, last_state, record_state, reusable_models
from pipelines.lib.warehouse.quality import (audience_figures, identity_figures, table_row_counts,
                                             trait_figures)


# dbt source `lake.<source>_<entity>` -> the ingestion asset `lake/<source>` that writes it.
LAKE_ASSETS = {dg.AssetKey(["lake", f"{s.name}_{e.name}"]): dg.AssetKey(["lake", s.name])
               for s in SOURCES.values() for e in s.entities}
ERASURES = dg.AssetKey("erasures")
# Staging models that read the lake without a dbt source (marketers' uploads may not exist).
LAKE_READERS = {dg.AssetKey("stg_marketing__manual_tags"): MARKETING,
                dg.AssetKey("stg_marketing__list_members"): MARKETING}


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups follow the project's folders; staging models depend on the ingestion assets and on
    the night's erasures (applied to the lake before anything is built from it)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.key in LAKE_READERS:
            return spec.replace_attributes(deps=[*spec.deps, LAKE_READERS[spec.key], ERASURES])
        if not any(dep.asset_key in LAKE_ASSETS for dep in spec.deps):
            return spec
        deps = {LAKE_ASSETS.get(dep.asset_key, dep.asset_key) for dep in spec.deps} | {ERASURES}
        return spec.replace_attributes(deps=sorted(deps, key=lambda k: k.to_user_string()))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "rules"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else None


@dbt_assets(manifest=ensure_manifest(), partitions_def=DELIVERY_DATES,
            dagster_dbt_translator=WarehouseTranslator(), pool="warehouse",
            # one night per run: each night is built as of its own date
            backfill_policy=dg.BackfillPolicy.multi_run(1))
def warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource) -> Iterator[Any]:
    """Builds the warehouse as of the night: staging, identity, customers, behaviour, traits and
    audiences; models whose inputs did not change since the last build are kept (`reuse.py`)."""
    target = warehouse_target(lake.layout)
    full_refresh = context.run.tags.get(FULL_REFRESH_TAG) == "true"
    state = current_state(lake.layout, PROJECT_DIR, context.partition_key, build_vars(lake.settings))
    last = last_state(lake.layout)
    reused, built_for = [], None
    if not full_refresh:
        reused, built_for = reusable_models(json.loads(MANIFEST.read_text()), state, last)
    args = build_args(lake.settings, full_refresh=full_refresh)
    with environment(night_env(lake.settings, context.partition_key)):
        invocation = dbt.cli([*args, *(["--exclude", " ".join(reused)] if reused else [])], context=context,
                             target_path=target)
    # dbt's own log of the night goes to a file beside the warehouse, not to the console.
    log = target / f"build-{context.partition_key}.log"
    events, failure = [], None
    with open(log, "w") as out, contextlib.redirect_stdout(out):
        try:
            events = list(invocation.stream())
        except Exception as error:  # a failed model or test: report what did build, then fail the step
            failure = error
        # dbt's output ends before its process lets go of the database file: wait for the exit,
        # or the next reader (figures below, erasures, a test) finds the file still locked. A
        # failure before the end of the output leaves dbt blocked on a full pipe: stop it first.
        if failure is not None and invocation.process.poll() is None:
            invocation.process.kill()
        invocation.process.wait()
    if failure is None:
        # people erased tonight (or earlier) leave the history tables before anyone reads them
        night = date.fromisoformat(context.partition_key)
        forgotten = forget_erased(lake.layout, night, lake.settings.compact_within_days)
        events = list(_with_figures(events, lake.layout, context.partition_key, forgotten))
        erased = any(forgotten.values()) or erased_on(lake.layout, night)
        record_state(lake.layout, state, [m for m in reused if not forgotten.get(m)],
                     follows_last=last is not None and not erased)
        # kept from the last build (the same lake slice and project give the same tables); first,
        # as they are upstream of everything built tonight
        for name in reused:
            yield dg.MaterializeResult(asset_key=dg.AssetKey(name), metadata={"reused_from_night": built_for})
    yield from events
    if failure is not None:
        description = dbt_failures(target) or str(failure)
        # e.g. another process held the database file (dbt says so in its log, not in its results)
        transient = is_transient(description) or is_transient(log.read_text(errors="replace")[-20000:])
        retry = retry_request(context) if transient else None
        if retry is not None:
            raise retry from failure
        raise dg.Failure(description=description, allow_retries=False) from failure


def dbt_failures(target_dir: Path) -> str:
    """What failed in the build, on one line a person can act on: each failed model with dbt's
    error (which names the file or column), each failed test with its failing rows."""
    results = target_dir / "run_results.json"
    if not results.exists():
        return ""
    problems = []
    for r in json.loads(results.read_text())["results"]:
        if r["status"] in ("error", "fail"):
            kind, name = r["unique_id"].split(".")[0], r["unique_id"].split(".")[2]
            message = " ".join((r.get("message") or "").split())
            problems.append(f"dbt {kind} {name} {r['status']}: {message[:400]}")
    return " | ".join(problems)


def _with_figures(events: list[Any], layout: Layout, run_date: str, forgotten: dict[str, int]) -> Iterator[Any]:
    """Row counts on every table, the identity figures on `identity_map`, tonight's stages and
    segments on `customer_traits`, size and changes on each audience, and the rows of erased
    people deleted from each history table."""
    db = layout.warehouse
    outputs = [e for e in events if isinstance(e, dg.Output)]
    counts = table_row_counts(db, [e.output_name for e in outputs])
    truth = layout.data_dir / "truth"
    names = [a.name for a in load_specs(PROJECT_DIR).audiences]
    built = {e.output_name for e in outputs}
    audiences = audience_figures(db, run_date, names) if "audience_changes" in built else {}
    for event in events:
        if isinstance(event, dg.Output):
            metadata: dict[str, Any] = {}
            if event.output_name in counts:
                metadata["dagster/row_count"] = counts[event.output_name]
            if event.output_name == "identity_map":
                metadata.update(identity_figures(db, truth, run_date))
            if event.output_name == "customer_traits":
                metadata.update(trait_figures(db, run_date))
            if event.output_name in audiences:
                metadata.update(audiences[event.output_name])
            if event.output_name in forgotten:
                metadata["erased_rows_deleted"] = forgotten[event.output_name]
            event = event.with_metadata({**event.metadata, **metadata})
        yield event

