"""The spec compiler: every error names the file, the item and the field; valid specs compile."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.lib.specs import SpecError, compile_project, load_specs
from pipelines.lib.warehouse.dbt import PROJECT_DIR


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's specs and the seed they read."""
    shutil.copytree(PROJECT_DIR / "specs", tmp_path / "specs")
    (tmp_path / "seeds").mkdir()
    shutil.copy(PROJECT_DIR / "seeds" / "event_taxonomy.csv", tmp_path / "seeds")
    return tmp_path


def edit(project: Path, rel: str, change) -> None:
    path = project / rel
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def audience(project: Path, when, **fields) -> None:
    doc = {"audiences": {"test_audience": {"description": "d", "owner": "o", "purpose": "sms", "when": when, **fields}}}
    (project / "specs" / "audiences" / "test.yml").write_text(yaml.safe_dump(doc))


def error(project: Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_specs(project)
    return caught.value


def test_the_shipped_specs_load_with_the_standard_traits(project):
    specs = load_specs(project)
    for trait in ("orders_90d", "revenue_90d", "lifetime_orders", "lifetime_revenue", "first_order_at",
                  "last_order_at", "avg_order_value", "days_since_last_order", "age", "gender",
                  "preferred_channel", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "lifecycle_stage"):
        assert trait in specs.traits, trait
    assert specs.traits["age"] == "integer" and specs.traits["avg_order_value"] == "number"
    assert [s.name for s in specs.stages][-1] == "growth"
    assert specs.audience("recent_buyers_female_over_20").purpose == "sms"


def test_an_unknown_trait_names_file_audience_and_field(project):
    audience(project, {"all": [{"trait": "orders_90d", "gte": 1}, {"trait": "agee", "gt": 20}]})
    e = error(project)
    assert (e.file, e.item, e.field) == ("specs/audiences/test.yml", "audience 'test_audience'", "when.all[1].trait")
    assert "unknown trait 'agee'" in str(e)


def test_a_type_mismatch_is_an_error(project):
    audience(project, {"trait": "gender", "gt": 20})
    assert "type mismatch: trait 'gender' is text" in str(error(project))
    audience(project, {"trait": "age", "eq": "twenty"})
    assert error(project).field == "when.eq"


def test_a_cycle_between_audiences_is_an_error(project):
    doc = {"audiences": {
        "a_one": {"description": "d", "owner": "o", "purpose": "sms", "when": {"in_audience": "a_two"}},
        "a_two": {"description": "d", "owner": "o", "purpose": "sms",
                  "when": {"all": [{"trait": "age", "gt": 1}, {"in_audience": "a_one"}]}}}}
    (project / "specs" / "audiences" / "cycle.yml").write_text(yaml.safe_dump(doc))
    e = error(project)
    assert "a cycle between audiences: a_one -> a_two -> a_one" in str(e) or "a_two -> a_one -> a_two" in str(e)
    assert e.file == "specs/audiences/cycle.yml"


@pytest.mark.parametrize("window", [{"last": "30"}, {"last": "0d"}, {"between": ["30d", "90d"]}, {"since": "7d"}])
def test_a_malformed_window_is_an_error(project, window):
    audience(project, {"performed": "product_viewed", "window": window})
    assert error(project).field.startswith("when.window")


def test_unknown_event_types_purposes_and_export_columns_are_errors(project):
    audience(project, {"performed": "product_vewed"})
    assert "unknown event type 'product_vewed'" in str(error(project))
    audience(project, {"trait": "age", "gt": 1}, purpose="fax")
    assert error(project).field == "purpose"
    audience(project, {"trait": "age", "gt": 1}, export=["phone"])
    assert error(project).field == "export[0]"
    audience(project, {"trait": "age", "gt": 1}, holdout=1.5)
    assert error(project).field == "holdout"


def test_trait_definitions_are_checked(project):
    edit(project, "specs/traits.yml", lambda d: d["groups"]["orders"]["traits"].update(
        {"bad_sum": {"type": "sum", "of": "status"}}))
    e = error(project)
    assert (e.item, e.field) == ("trait 'bad_sum'", "of") and "sum needs a number" in str(e)


def test_rfm_segments_must_cover_every_cell(project):
    edit(project, "specs/traits.yml", lambda d: d["rfm"]["segments"].pop())     # drops `lost`
    assert "no segment covers r, fm = [(1, 1), (1, 2)]" in str(error(project))


def test_invalid_yaml_says_where(project):
    (project / "specs" / "audiences" / "broken.yml").write_text("audiences:\n  x: [unclosed\n")
    e = error(project)
    assert e.file == "specs/audiences/broken.yml" and "line" in str(e)


def test_adding_a_trait_is_a_yaml_edit_that_compiles_to_sql(project):
    edit(project, "specs/traits.yml", lambda d: d["groups"]["engagement"]["traits"].update(
        {"live_rooms_30d": {"type": "unique_count", "of": "room_id", "window": {"last": "30d"},
                            "where": {"column": "event_type", "eq": "live_entered"}}}))
    written = compile_project(project)
    assert {"models/traits/generated/traits_engagement.sql",
            "models/traits/generated/traits_engagement_day_values.sql"} <= set(written)
    # each customer-day's rooms, then the distinct rooms of the window's days
    values = (project / "models/traits/generated/traits_engagement_day_values.sql").read_text()
    assert ("select customer_id, business_date, 'live_rooms_30d' as trait, "
            "cast(null as string) as preferred_channel, room_id as live_rooms_30d,") in values
    assert "  and coalesce(event_type = 'live_entered', false)\n  and {{ restated_customer_days() }}\n" in values
    sql = (project / "models/traits/generated/traits_engagement.sql").read_text()
    assert ("select customer_id, count(distinct live_rooms_30d) as live_rooms_30d\n"
            "    from (select * from {{ ref('traits_engagement_day_values') }}\n"
            "        where trait = 'live_rooms_30d' and business_date <= {{ as_of_date() }} "
            "and business_date > {{ as_of_date() }} - 30") in sql
    assert "coalesce(engagement.live_rooms_30d, 0) as live_rooms_30d" in (
        project / "models/traits/generated/customer_traits.sql").read_text()
    assert compile_project(project) == []              # unchanged specs write nothing


def test_a_removed_audience_removes_its_model(project):
    compile_project(project)
    (project / "specs" / "audiences" / "engagement.yml").unlink()
    written = compile_project(project)
    assert "models/audiences/generated/cart_abandoners_7d.sql" in written
    assert not (project / "models/audiences/generated/cart_abandoners_7d.sql").exists()


@pytest.mark.parametrize("name", ["order", "tags", "customer_id", "rows"])
def test_a_trait_named_like_sql_or_a_builtin_column_is_an_error(project, name):
    edit(project, "specs/traits.yml", lambda d: d["groups"]["orders"]["traits"].update({name: {"type": "count"}}))
    assert "a name the generated SQL uses itself" in str(error(project))


def test_an_audience_named_like_a_model_is_an_error(project):
    doc = {"audiences": {"customers": {"description": "d", "owner": "o", "purpose": "sms",
                                       "when": {"trait": "age", "gt": 1}}}}
    (project / "specs" / "audiences" / "clash.yml").write_text(yaml.safe_dump(doc))
    (project / "models" / "customers").mkdir(parents=True)
    (project / "models" / "customers" / "customers.sql").write_text("select 1")
    assert "the name is taken by a trait or a model" in str(error(project))


def test_jinja_duplicate_keys_impossible_counts_and_infinity_are_errors(project):
    audience(project, {"trait": "city", "eq": "{{ var('x') }}"})
    assert "not allowed in specs" in str(error(project))
    (project / "specs" / "audiences" / "test.yml").write_text(
        "audiences:\n  a_one: {description: d, owner: o, purpose: sms, when: {trait: age, gt: 1}}\n"
        "  a_one: {description: d, owner: o, purpose: sms, when: {trait: age, gt: 2}}\n")
    assert "'a_one' is defined twice" in str(error(project))
    audience(project, {"performed": "product_viewed", "at_least": 3, "at_most": 1})
    assert "nobody could match" in str(error(project))
    audience(project, {"trait": "age", "gt": float("inf")})
    assert "expected a finite number" in str(error(project))


LITERALS = [("text", "plain"), ("text", "it's"), ("text", "'"), ("text", "a''b"), ("text", "back\\slash 'q'"),
            ("timestamp", "2026-01-02T08:30:00+08:00"), ("timestamp", "2026-01-02T08:30:00"), ("date", "2026-01-02")]
# what each literal must read as: the text itself; a timestamp as its UTC wall clock
LITERAL_VALUES = ["plain", "it's", "'", "a''b", "back\\slash 'q'", "2026-01-02 00:30:00", "2026-01-02 08:30:00",
                  "2026-01-02"]


def literal_sql(kind: str, raw: str, string_type: str = "varchar") -> str:
    """The literal of a spec value, cast to the engine's string type."""
    from datetime import date, datetime

    from pipelines.lib.specs.condition_sql import literal

    value = {"timestamp": datetime.fromisoformat, "date": date.fromisoformat}.get(kind, str)(raw)
    return f"cast({literal(kind, value)} as {string_type})"


def test_spec_values_with_quotes_and_offsets_are_literals_duckdb_reads_back():
    """The generators' literals (Spark reads them alike: tests/warehouse/test_spark.py)."""
    import duckdb

    got = [duckdb.sql(f"select {literal_sql(kind, raw)}").fetchall()[0][0] for kind, raw in LITERALS]
    assert got == LITERAL_VALUES
