"""`cdp erase --member-id X`: forget one person now, everywhere, without waiting for the CRM.

The same path as a delivered erasure request, end to end:
1. the lake and quarantine files holding the person's records are rewritten without them
   (logged in lake/_erasure_log.parquet, so later reruns erase them again);
2. the warehouse is rebuilt as of its latest night, the person is deleted from the history
   tables, and the file is rewritten (deleted rows must not linger in its blocks);
3. every published audience folder listing them and every conversion file holding their orders
   is published again without them (the old copies are replaced), and the analyst snapshot is
   rebuilt from the cleaned warehouse.
It answers with what changed. A member nobody knows changes nothing.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.privacy.erasure import erase_members
from pipelines.lib.privacy.history import forget_erased
from pipelines.lib.publish.redact import redact_published
from pipelines.lib.publish.snapshot import publish_snapshot, snapshot_path
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, build_args, ensure_manifest, night_env, warehouse_target
from pipelines.settings import Settings


@dataclass
class EraseOutcome:
    member_known: bool
    customer_id: str | None = None
    night: date | None = None
    lake_rows_removed: int = 0
    files_rewritten: list[str] = field(default_factory=list)
    history_rows_removed: int = 0
    published_rewritten: list[str] = field(default_factory=list)
    snapshot_rebuilt: bool = False

    def explain(self) -> str:
        if not self.member_known:
            return "Nobody is known by that member id: nothing changed (the request is logged)."
        lines = [f"Erased customer {self.customer_id} (warehouse rebuilt as of {self.night}).",
                 f"  lake and quarantine: {self.lake_rows_removed:,} rows removed, "
                 f"{len(self.files_rewritten)} files rewritten",
                 f"  warehouse history: {self.history_rows_removed:,} rows deleted, file rewritten",
                 f"  published folders republished without them: {len(self.published_rewritten)}"]
        lines += [f"    {p}" for p in self.published_rewritten]
        lines.append(f"  analyst snapshot: {'rebuilt' if self.snapshot_rebuilt else 'none published yet'}")
        return "\n".join(lines)


def _before(layout: Layout, member_id: str) -> tuple[str | None, list[str], date | None]:
    """The member's customer, their orders, and the latest night the warehouse was built for."""
    if not layout.warehouse.exists():
        return None, [], None
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        found = con.execute("SELECT customer_id FROM identity_map WHERE id_type = 'member_id' AND id_value = ?",
                            [member_id]).fetchall()
        customer_id = found[0][0] if found else None
        orders = [r[0] for r in con.execute("SELECT order_id FROM orders WHERE customer_id = ?",
                                            [customer_id]).fetchall()] if customer_id else []
        [(night,)] = con.execute("SELECT max(as_of_date) FROM customer_traits").fetchall()
    return customer_id, orders, night


def erase_member(settings: Settings, member_id: str) -> EraseOutcome:
    layout = Layout(settings.data_dir)
    customer_id, orders, night = _before(layout, member_id)
    today = night or date.today()
    report = erase_members(layout, today, [(member_id, datetime.now(timezone.utc), False)])
    if not report.erased:
        return EraseOutcome(member_known=False)
    outcome = EraseOutcome(member_known=True, customer_id=customer_id, night=night,
                           lake_rows_removed=report.rows_removed, files_rewritten=report.files_rewritten)
    if night is not None:
        ensure_manifest()
        # named by time, never by the member id: file names outlive the erasure
        target = warehouse_target(layout)
        log = target / f"rebuild-after-erase-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.log"
        with open(log, "w") as out, contextlib.redirect_stdout(out):
            done = subprocess.run([str(DBT), *build_args(settings), "--project-dir", str(PROJECT_DIR),
                                   "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target)],
                                  cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, **night_env(settings, night)})
        if done.returncode != 0:
            raise RuntimeError(f"the warehouse rebuild after the erasure failed: see {log}")
        # the request is logged under `night`: the file is rewritten as after a night's erasures
        outcome.history_rows_removed = sum(forget_erased(layout, night, compact_within_days=0).values())
    customers = [customer_id] if customer_id else []
    outcome.published_rewritten = redact_published(layout, customers, orders)
    if snapshot_path(layout).exists() and night is not None:
        publish_snapshot(layout, night, f"erase-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        outcome.snapshot_rebuilt = True
    return outcome
