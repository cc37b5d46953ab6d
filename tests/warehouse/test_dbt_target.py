"""A release deployed to a new directory builds from its own project, not from the checkout the
warehouse's dbt target was last parsed from (dbt's partial parse keeps absolute paths)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, warehouse_target


def _checkout(at: Path) -> Path:
    project = at / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return project


def _seed_roots(project: Path, target: Path) -> set[str]:
    """Parse `project` into `target` (partially, from what `target` keeps) and say where the
    manifest reads its seeds from."""
    done = subprocess.run([str(DBT), "parse", "--project-dir", str(project), "--profiles-dir", str(project),
                           "--target-path", str(target)], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    return {n["root_path"] for n in nodes if n["resource_type"] == "seed"}


def test_a_project_in_a_new_directory_parses_its_own_seeds(tmp_path):
    old, new = _checkout(tmp_path / "release-1"), _checkout(tmp_path / "release-2")
    layout = Layout(tmp_path / "data")
    assert _seed_roots(old, warehouse_target(layout, old)) == {str(old)}
    # dbt alone: the same target parsed from the new checkout still points at the old one
    bare = tmp_path / "bare-target"
    shutil.copytree(layout.dbt_target, bare)
    assert _seed_roots(new, bare) == {str(old)}

    shutil.rmtree(old)
    target = warehouse_target(layout, new)
    assert not (target / "partial_parse.msgpack").exists()
    assert _seed_roots(new, target) == {str(new)}
    # the same checkout again keeps its parse state (the nightly partial parse)
    assert (warehouse_target(layout, new) / "partial_parse.msgpack").exists()
