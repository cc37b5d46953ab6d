"""Late logins merge people and restate their history; an operator's cut splits them again; both
are on record in `identity_changes` with the evidence or the rule."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.warehouse.dbt import PROJECT_DIR
from tests.lib.conftest import DAY, Landing
from tests.warehouse.conftest import dbt_build, query
from tests.warehouse.test_identity_rules import CRM_HEADER, crm_row, identify, track

pytestmark = pytest.mark.xdist_group("identity-changes")

DAY2, DAY3, DAY4 = DAY + timedelta(days=1), DAY + timedelta(days=2), DAY + timedelta(days=3)


def ingest_all(landing: Landing, day) -> None:
    for source in SOURCES:
        landing.ingest(source, day)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("identity-changes")
    landing = Landing(root)
    # night 1: an anonymous app user browses; a CRM member exists
    landing.write_jsonl("app", "events.jsonl", [track("a1", "dev-x", event="Product Viewed")])
    landing.write("crm", "members.csv", CRM_HEADER + crm_row("MX", "13700001111"))
    ingest_all(landing, DAY)
    dbt_build(root, DAY.isoformat())
    # night 2: the app user logs in as that member
    landing.write_jsonl("app", "events.jsonl", [identify("a2", "dev-x", "MX", "13700001111", "x@qq.com",
                                                         ts="2026-03-03T09:00:00+08:00")], day=DAY2)
    landing.write("crm", "members.csv", CRM_HEADER + crm_row("MX", "13700001111"), day=DAY2)
    ingest_all(landing, DAY2)
    return root


def test_a_late_login_merges_two_customers_and_restates_history(history):
    before = dict(query(history, "SELECT id_value, customer_id FROM identity_resolution"))
    assert before["dev-x"] != before["MX"]
    assert query(history, "SELECT change FROM identity_changes") == [("baseline",)]
    dbt_build(history, DAY2.isoformat())
    [(survivor,)] = query(history, "SELECT DISTINCT customer_id FROM identity_resolution "
                                   "WHERE id_value IN ('dev-x', 'MX')")
    assert survivor == before["MX"]          # the member, seen first (registered in January), survives
    rows = query(history, "SELECT change, customer_id, previous_customer_id, evidence_source, evidence_record_id "
                          "FROM identity_changes WHERE as_of_date = ?", DAY2)
    assert rows == [("merged", survivor, before["dev-x"], "app", "a2")]
    # the anonymous night-1 event now belongs to the member
    assert query(history, "SELECT customer_id FROM events WHERE event_id = 'app:a1'") == [(survivor,)]


def project_with(tmp_path: Path, blocklist: str = "") -> Path:
    """A copy of the dbt project with the operator's cut between dev-x and MX (and `blocklist`
    rows appended to the identity blocklist)."""
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    with open(project / "seeds" / "identity_blocked_edges.csv", "a") as f:
        f.write("device_id,dev-x,member_id,MX,shared family phone: two people\n")
    with open(project / "seeds" / "identity_blocklist.csv", "a") as f:
        f.write(blocklist)
    return project


def test_an_operator_cut_splits_them_again_on_the_next_build(history, tmp_path):
    dbt_build(history, DAY3.isoformat(), project_dir=project_with(tmp_path))
    after = dict(query(history, "SELECT id_value, customer_id FROM identity_resolution"))
    assert after["dev-x"] != after["MX"]
    rows = query(history, "SELECT change, customer_id, reason FROM identity_changes WHERE as_of_date = ? "
                          "ORDER BY customer_id", DAY3)
    assert ("split", after["dev-x"], "link cut (shared family phone: two people)") in rows
    assert query(history, "SELECT count(*) FROM identity_changes WHERE as_of_date = ?", DAY2) == [(1,)]


def test_a_blocked_value_splits_it_from_its_customer_with_the_rule(history, tmp_path):
    """The member's phone becomes a blocked value: the member keeps its customer, the phone
    resolves to nobody, and the change names the blocklist rule (the blocked identifier has no
    customer tonight: only its earlier customer finds it)."""
    before = dict(query(history, "SELECT id_value, customer_id FROM identity_resolution"))
    dbt_build(history, DAY4.isoformat(), project_dir=project_with(tmp_path, "phone,\\+8613700001111,a shop's number\n"))
    after = dict(query(history, "SELECT id_value, customer_id FROM identity_resolution"))
    assert "+8613700001111" not in after and after["MX"] == before["MX"] == before["+8613700001111"]
    assert query(history, "SELECT change, customer_id, previous_customer_id, identifiers, reason FROM identity_changes "
                          "WHERE as_of_date = ?", DAY4) == [
        ("split", before["MX"], before["MX"], 1, "phone blocked (a shop's number)")]
