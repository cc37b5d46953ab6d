"""Load every spec of the dbt project, check it as a whole, and write the models it implies.

`compile_project` runs before dbt parses the project (see `warehouse/dbt.py`): the generated
models live in `models/traits/generated/` and `models/audiences/generated/` (git-ignored) and
are rewritten only when their text changes, so an unchanged spec costs no re-parse.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .audiences import Audience, audience_sql, parse_audiences
from .conditions import InList, Scope, leaves
from .customer_traits import (RuleTag, Rfm, Stage, catalog, customer_traits_sql, parse_lifecycle, parse_rfm,
                              parse_tags)
from .errors import At, SpecError
from .tables import INTEGER, NUMBER, TEXT_LIST
from .trait_parts import part_model_names, part_models
from .traits import Group, Ratio, check_name, group_sql, parse_group, parse_ratio

TRAITS_FILE = "specs/traits.yml"
AUDIENCES_DIR = "specs/audiences"
GENERATED = ("models/traits/generated", "models/audiences/generated")
DEFAULT_MAX_CHANGE = 0.5


@dataclass(frozen=True)
class Specs:
    groups: tuple[Group, ...]
    ratios: tuple[Ratio, ...]
    tags: tuple[RuleTag, ...]
    manual_tags: tuple[str, ...]
    rfm: Rfm
    stages: tuple[Stage, ...]
    audiences: tuple[Audience, ...]
    traits: dict[str, str]                     # every customer_traits column an audience may test
    checks: dict[str, float]                   # bounds of the traits_are_stable gate

    def audience(self, name: str) -> Audience:
        for a in self.audiences:
            if a.name == name:
                return a
        raise KeyError(f"unknown audience {name!r} (known: {', '.join(a.name for a in self.audiences)})")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"{key!r} is defined twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml(path: Path, rel: str) -> Any:
    text = path.read_text(encoding="utf-8")
    for mark in ("{{", "{%", "{#"):
        if mark in text:
            line = text[:text.index(mark)].count("\n") + 1
            raise SpecError(rel, "file", f"line {line}", f"{mark!r} is not allowed in specs (dbt would read it as Jinja)")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(rel, "file", "(syntax)", f"not valid YAML{where}: {getattr(e, 'problem', e)}") from None


def event_types(project_dir: Path) -> set[str]:
    with open(project_dir / "seeds" / "event_taxonomy.csv", encoding="utf-8") as f:
        return {row["event_type"] for row in csv.DictReader(f)}


def load_specs(project_dir: Path) -> Specs:
    doc = _yaml(project_dir / TRAITS_FILE, TRAITS_FILE) or {}
    top = At(TRAITS_FILE, "file")
    sections = {"groups", "derived", "tags", "manual_tags", "rfm", "lifecycle", "checks"}
    extra = sorted(set(doc) - sections)
    if extra:
        raise top.child(extra[0]).error(f"unexpected section (allowed: {', '.join(sorted(sections))})")
    if not isinstance(doc.get("groups"), dict) or not doc["groups"]:
        raise top.child("groups").error("expected a mapping of group name -> {from, traits}")
    groups = tuple(parse_group(n, g, At(TRAITS_FILE, f"group '{n}'")) for n, g in doc["groups"].items())
    parts = {name for g in groups if g.table.daily_parts for name in part_model_names(g)}
    for g in groups:
        if g.model in parts:
            raise At(TRAITS_FILE, f"group '{g.name}'").error(f"the model name {g.model} is taken by another group's parts")
    known: dict[str, str] = {}
    for g in groups:
        for t in g.traits:
            if t.name in known:
                raise At(TRAITS_FILE, f"trait '{t.name}'").error("defined twice (trait names are unique across groups)")
            known[t.name] = t.type
    ratios = []
    for name, raw in (doc.get("derived") or {}).items():
        if name in known:
            raise At(TRAITS_FILE, f"trait '{name}'").error("defined twice (trait names are unique across groups)")
        r = parse_ratio(name, raw, known, At(TRAITS_FILE, f"trait '{name}'"))
        ratios.append(r)
        known[name] = r.type
    ratios_t = tuple(ratios)
    traits = catalog(groups, ratios_t)
    rule_tags = parse_tags(doc.get("tags"), known, TRAITS_FILE)
    manual = tuple(check_name(t, At(TRAITS_FILE, "manual_tags").child(i))
                   for i, t in enumerate(doc.get("manual_tags") or []))
    clash = {t.name for t in rule_tags} & set(manual)
    if clash:
        raise At(TRAITS_FILE, "manual_tags").error(f"also defined as rule tags: {sorted(clash)}")
    all_tags = {t.name for t in rule_tags} | set(manual)
    rfm = parse_rfm(doc.get("rfm"), known, TRAITS_FILE)
    stage_scope = Scope(traits={**known, **{k: v for k, v in traits.items() if k.startswith("rfm_")}}, tags=all_tags)
    stages = parse_lifecycle(doc.get("lifecycle"), stage_scope, TRAITS_FILE)
    files = {}
    for path in sorted((project_dir / AUDIENCES_DIR).glob("*.yml")):
        rel = path.relative_to(project_dir).as_posix()
        files[rel] = _yaml(path, rel)
    audiences = parse_audiences(files, traits, all_tags, event_types(project_dir), DEFAULT_MAX_CHANGE)
    taken = set(traits) | {g.model for g in groups} | parts | {"customer_traits", "audience_membership"} | {
        p.stem for p in (project_dir / "models").rglob("*.sql") if "generated" not in p.parts} | {
        p.stem for p in (project_dir / "seeds").glob("*.csv")}
    for a in audiences:
        if a.name in taken:
            raise At(a.file, f"audience '{a.name}'").error("the name is taken by a trait or a model")
    return Specs(groups, ratios_t, rule_tags, manual, rfm, stages, audiences, traits,
                 _checks(doc.get("checks"), At(TRAITS_FILE, "checks")))


def _checks(raw: Any, at: At) -> dict[str, float]:
    out = {"max_null_shift": 0.2, "max_mean_change": 0.5, "min_customers": 1000}
    for key, value in (raw or {}).items():
        if key not in out:
            raise at.child(key).error(f"unexpected field (allowed: {', '.join(out)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise at.child(key).error(f"expected a {'count' if key == 'min_customers' else 'share'} > 0, "
                                      f"got {value!r}")
        out[key] = int(value) if key == "min_customers" else float(value)
    return out


def render(specs: Specs) -> dict[str, str]:
    """Generated file (relative to the project) -> its text."""
    out = {}
    header = f"-- Generated from {TRAITS_FILE} by pipelines/lib/specs: edit the YAML, not this file.\n"
    for g in specs.groups:
        models = part_models(g) if g.table.daily_parts else {g.model: group_sql(g)}
        models[g.model] = f"-- {' '.join(g.description.split())}\n" + models[g.model]
        out.update({f"{GENERATED[0]}/{name}.sql": header + sql for name, sql in models.items()})
    out[f"{GENERATED[0]}/customer_traits.sql"] = customer_traits_sql(
        specs.groups, specs.ratios, specs.tags, specs.rfm, specs.stages)
    out[f"{GENERATED[0]}/_traits__generated.yml"] = _traits_yml(specs)
    for a in specs.audiences:
        out[f"{GENERATED[1]}/{a.name}.sql"] = audience_sql(a)
    out[f"{GENERATED[1]}/audience_membership.sql"] = _membership_sql(specs.audiences)
    out[f"{GENERATED[1]}/_audiences__generated.yml"] = _audiences_yml(specs)
    return out


def compile_project(project_dir: Path) -> list[str]:
    """Write the generated models; returns the files written or removed (empty: up to date)."""
    files = render(load_specs(project_dir))
    changed = []
    for folder in GENERATED:
        d = project_dir / folder
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            rel = old.relative_to(project_dir).as_posix()
            if rel not in files:
                old.unlink()
                changed.append(rel)
    for rel, text in files.items():
        path = project_dir / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(rel)
    return changed


def _membership_sql(audiences: tuple[Audience, ...]) -> str:
    config = "{{ nightly_history() }}"
    if not audiences:
        body = ("select cast(null as string) as audience, {{ as_of_date() }} as as_of_date, "
                "cast(null as string) as customer_id, false as is_holdout where false")
    else:
        body = "\nunion all\n".join(
            f"select audience, as_of_date, customer_id, is_holdout from {{{{ ref('{a.name}') }}}}" for a in audiences)
    return f"{config}\n-- Generated from {AUDIENCES_DIR}/: one row per member per audience per as_of_date.\n{body}\n"


def _describe(text: str) -> str:
    """A YAML string (JSON quoting is valid YAML) on one line."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def _traits_yml(specs: Specs) -> str:
    lines = [f"# Generated from {TRAITS_FILE} by pipelines/lib/specs: edit the YAML, not this file.",
             "version: 2", "models:"]
    for g in specs.groups:
        lines += [f"  - name: {g.model}", f"    description: {_describe(g.description or g.name)}", "    columns:",
                  "      - name: customer_id", "        data_tests: [unique, not_null]"]
        lines += [f"      - name: {t.name}\n        description: {_describe(t.description)}" for t in g.traits if t.description]
    lines += ["  - name: customer_traits",
              "    description: \"One row per customer per as_of_date: every trait, RFM, tags and the lifecycle stage.\"",
              "    data_tests:",
              "      - unique_per_night:",
              "          arguments: {column_name: customer_id}",
              "      - traits_are_stable:",
              "          name: customer_traits_are_stable",
              "          arguments:",
              f"            columns: [{', '.join(c for c, t in specs.traits.items() if t != TEXT_LIST)}]",
              f"            numeric: [{', '.join(c for c, t in specs.traits.items() if t in (INTEGER, NUMBER))}]",
              f"            max_null_shift: {specs.checks['max_null_shift']}",
              f"            max_mean_change: {specs.checks['max_mean_change']}",
              f"            min_customers: {specs.checks['min_customers']}",
              "            windows: {" + ", ".join(f"{t.name}: {t.window.start}" for g in specs.groups
                                               for t in g.traits if t.window) + "}",
              "          config: {severity: warn, tags: [gate]}   # refuses the audiences and the snapshot",
              "    columns:",
              "      - name: customer_id", "        data_tests: [not_null]",
              "      - name: lifecycle_stage",
              "        data_tests:",
              "          - not_null",
              "          - accepted_values_per_night:",
              "              arguments: {values: [introduction, growth, maturity, dormancy, churn]}",
              "      - name: rfm_segment",
              "        data_tests:",
              "          - accepted_values_per_night:",
              f"              arguments: {{values: [{', '.join(sorted({s.name for s in specs.rfm.segments}))}]}}"]
    for r in specs.ratios:
        if r.description:
            lines += [f"      - name: {r.name}", f"        description: {_describe(r.description)}"]
    return "\n".join(lines) + "\n"


def _list_test(a: Audience) -> list[str]:
    lists = sorted({leaf.name for leaf in leaves(a.when) if isinstance(leaf, InList)})
    if not lists:
        return []
    return ["      - lists_are_uploaded:", f"          name: {a.name}_lists_are_uploaded",
            f"          arguments: {{lists: [{', '.join(lists)}]}}",
            "          config: {severity: warn, tags: [gate]}   # refuses this audience, not the night"]


def _audiences_yml(specs: Specs) -> str:
    lines = [f"# Generated from {AUDIENCES_DIR}/ by pipelines/lib/specs: edit the YAML, not this file.",
             "version: 2", "models:"]
    for a in specs.audiences:
        lines += [f"  - name: {a.name}", f"    description: {_describe(a.description)}",
                  "    config:", "      meta:", f"        owner: {_describe(a.owner)}", f"        purpose: {a.purpose}",
                  f"        holdout: {a.holdout}", f"        max_change: {a.max_change}", f"        spec_file: {a.file}",
                  *(["    data_tests:", *_list_test(a)] if _list_test(a) else []),
                  "    columns:", "      - name: customer_id", "        data_tests: [unique, not_null]"]
    lines += ["  - name: audience_membership",
              "    description: \"One row per member per audience per as_of_date (published contract).\"",
              "    data_tests:",
              "      - unique_per_night:",
              "          arguments: {column_name: \"audience || '/' || customer_id\"}"]
    return "\n".join(lines) + "\n"
