"""Audiences over four small nights, in a copy of the project with test audiences: holdout groups
survive identity merges, an empty audience or a missing list no longer stops a night, uploads (tags, lists) reach audiences, and
`explain` agrees with the ledger."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.lib.ingest.marketing import read_uploads, write_uploads
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout
from pipelines.lib.publish.gates import guarding_gates, refusing
from pipelines.lib.specs import compile_project, load_specs
from pipelines.lib.specs.inspect import explain
from pipelines.lib.warehouse.dbt import PROJECT_DIR
from tests.lib.conftest import DAY, Landing
from tests.warehouse.conftest import dbt_build, query
from tests.warehouse.test_identity_rules import POS_HEADER, identify, pos_row, track

pytestmark = pytest.mark.xdist_group("audience-rules")

DAY2, DAY3, DAY4 = (DAY + timedelta(days=n) for n in (1, 2, 3))
PAIRS = 8
AUDIENCES = {"audiences": {
    "everyone_split": {"description": "Every buyer or visitor, half held out.", "owner": "test", "purpose": "sms",
                       "holdout": 0.5, "max_change": 10, "min_change": 0,
                       "when": {"any": [{"trait": "lifetime_orders", "gte": 1}, {"trait": "events_30d", "gte": 1}]}},
    "active_today": {"description": "Seen today.", "owner": "test", "purpose": "wechat", "max_change": 10,
                     "min_change": 0, "when": {"trait": "days_since_last_event", "eq": 0}},
    "vip_or_invited": {"description": "Tagged vip by hand, or on the invites list.", "owner": "test",
                       "purpose": "sms", "allow_empty": True, "max_change": 10,
                       "when": {"any": [{"tag": "vip"}, {"in_list": "invites"}]}},
}}


def phone(i: int) -> str:
    return f"1371234{i + 1:04d}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT_DIR, root / "dbt_project", ignore=shutil.ignore_patterns("target", "generated"))
    (root / "dbt_project" / "specs" / "audiences" / "test.yml").write_text(yaml.safe_dump(AUDIENCES))
    compile_project(root / "dbt_project")
    return root / "dbt_project"


def ingest_all(landing: Landing, day) -> None:
    for source in SOURCES:
        landing.ingest(source, day)


@pytest.fixture(scope="module")
def nights(tmp_path_factory, project) -> Path:
    root = tmp_path_factory.mktemp("audience-rules")
    landing = Landing(root)
    # night 1: eight till buyers known only by their phone (the phone anchors their customer id);
    # the invites list names one of them by phone
    landing.write("pos", "till.csv", POS_HEADER + "".join(pos_row(f"P{i}", "", phone(i)) for i in range(PAIRS)))
    ingest_all(landing, DAY)
    (root / "marketing" / "lists").mkdir(parents=True)
    (root / "marketing" / "lists" / "invites.csv").write_text(f"phone\n+86 {phone(3)}\n")
    write_uploads(Layout(root), read_uploads(Layout(root), set()))
    dbt_build(root, DAY.isoformat(), project)
    # night 2: eight new app visitors, anonymous
    landing.write_jsonl("app", "events.jsonl", [track(f"t{i}", f"dev-{i}", event="Product Viewed",
                                                      ts="2026-03-03T10:00:00+08:00") for i in range(PAIRS)], day=DAY2)
    ingest_all(landing, DAY2)
    dbt_build(root, DAY2.isoformat(), project)
    # night 3: each visitor logs in with a buyer's phone: the two customers merge, and the new
    # customer's id comes from the device (non-PII anchors first); uploads name two people
    landing.write_jsonl("app", "events.jsonl", [identify(f"i{i}", f"dev-{i}", f"M{i}", phone(i), f"m{i}@qq.com",
                                                         ts="2026-03-04T09:00:00+08:00") for i in range(PAIRS)], day=DAY3)
    ingest_all(landing, DAY3)
    (root / "marketing" / "tags").mkdir(parents=True)
    (root / "marketing" / "tags" / "vip.csv").write_text("tag,member_id,added_on\nvip,M1,2026-03-04\nvip,M2,2026-03-05\n")
    uploads = read_uploads(Layout(root), set(load_specs(project).manual_tags))
    assert not uploads.rejected
    write_uploads(Layout(root), uploads)
    dbt_build(root, DAY3.isoformat(), project)
    return root


def groups(root: Path, day) -> dict[str, bool]:
    return dict(query(root, "SELECT customer_id, is_holdout FROM audience_membership WHERE audience = 'everyone_split' "
                            "AND as_of_date = ?", day))


def customer_of(root: Path, id_type: str, value: str, day) -> str:
    """The customer an identifier belonged to on `day`, from the night's identity assignments."""
    import hashlib
    key = hashlib.sha256(f"{id_type}:{value}".encode()).hexdigest()
    [(customer,)] = query(root, "SELECT customer_id FROM identity_assignments WHERE id_key = ? AND as_of_date = ?",
                          key, day)
    return customer


def test_a_merged_customer_keeps_the_older_customers_holdout_group(nights):
    night1, night2, night3 = groups(nights, DAY), groups(nights, DAY2), groups(nights, DAY3)
    assert len(night1) == PAIRS and len(night2) == 2 * PAIRS and len(night3) == PAIRS
    differ = 0
    for i in range(PAIRS):
        buyer = customer_of(nights, "phone", f"+86{phone(i)}", DAY2)
        visitor = customer_of(nights, "device_id", f"dev-{i}", DAY2)
        survivor = customer_of(nights, "phone", f"+86{phone(i)}", DAY3)
        assert survivor == visitor != buyer                 # the younger customer's id survives...
        assert night3[survivor] == night1[buyer] == night2[buyer]   # ...with the older one's group
        differ += night2[visitor] != night2[buyer]
    assert differ > 0                                      # some visitors had the other group before
    assert 0 < sum(night1.values()) < PAIRS                 # and the split is a split


def test_uploaded_tags_and_lists_reach_traits_and_audiences(nights):
    m1 = customer_of(nights, "member_id", "M1", DAY3)
    m2 = customer_of(nights, "member_id", "M2", DAY3)
    m3 = customer_of(nights, "member_id", "M3", DAY3)
    tags = dict(query(nights, "SELECT customer_id, tags FROM customer_traits WHERE as_of_date = ?", DAY3))
    assert tags[m1] == ["vip"] and tags[m2] == []            # M2's tag starts tomorrow
    members = {c for (c,) in query(nights, "SELECT customer_id FROM audience_membership WHERE audience = 'vip_or_invited' "
                                           "AND as_of_date = ?", DAY3)}
    assert members == {m1, m3}                             # M3 by the phone on the list


def test_explain_walks_each_condition_and_agrees_with_the_ledger(nights, project):
    m3 = customer_of(nights, "member_id", "M3", DAY3)
    with duckdb.connect(str(Layout(nights).warehouse), read_only=True) as con:
        e = explain(con, load_specs(project), "vip_or_invited", m3, DAY3)
    assert e.held and e.member
    assert [(s.text, s.held, s.value) for s in e.steps] == [
        ("any of", True, ""), ("has tag vip", False, "[]"), ("on uploaded list invites", True, "on the list")]


def test_an_audience_on_a_list_that_was_never_uploaded_is_refused_alone(nights, project, tmp_path):
    (project / "specs" / "audiences" / "typo.yml").write_text(yaml.safe_dump({"audiences": {"not_invited": {
        "description": "Everyone but the invites (misspelled).", "owner": "test", "purpose": "sms", "max_change": 10,
        "when": {"not": {"in_list": "invitess"}}}}}))
    try:
        (tmp_path / "lake").symlink_to(nights / "lake")
        dbt_build(tmp_path, DAY3.isoformat(), project)         # the night goes on: the gate warns in dbt
        target = tmp_path / "warehouse" / "dbt"
        assert refusing(guarding_gates(target, ["not_invited"])) == [
            "not_invited_lists_are_uploaded (warn, 1 failing rows)"]
        assert refusing(guarding_gates(target, ["everyone_split"])) == []      # the others still publish
    finally:
        (project / "specs" / "audiences" / "typo.yml").unlink()
        compile_project(project)


def test_an_audience_that_becomes_empty_no_longer_stops_the_night(nights, project):
    # the size gate moved to publishing (tests/lib/publish/test_audiences.py): it compares with
    # the last published size, so the ledger records tonight and the other audiences go on
    assert query(nights, "SELECT count(*) FROM audience_membership WHERE audience = 'active_today' "
                         "AND as_of_date = ?", DAY3) == [(PAIRS,)]
    ingest_all(Landing(nights), DAY4)                       # a night without any event
    dbt_build(nights, DAY4.isoformat(), project)
    sizes = dict(query(nights, "SELECT audience, count(*) FROM audience_membership WHERE as_of_date = ? "
                               "GROUP BY ALL", DAY4))
    assert "active_today" not in sizes and sizes["everyone_split"] > 0
