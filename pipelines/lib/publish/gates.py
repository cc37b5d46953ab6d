"""The gate results that admitted a published table: its dbt tests in the night's build."""
from __future__ import annotations

import json
from pathlib import Path


def dbt_test_results(target_dir: Path, model: str) -> list[dict[str, str]]:
    """Every dbt test of `model` in the last build (`run_results.json` beside the warehouse), with
    its status (pass / warn / fail / error / skipped), sorted by name."""
    results, manifest = target_dir / "run_results.json", target_dir / "manifest.json"
    if not results.exists() or not manifest.exists():
        return []
    nodes = json.loads(manifest.read_text())["nodes"]
    model_id = next((k for k, n in nodes.items() if n["resource_type"] == "model" and n["name"] == model), None)
    out = []
    for result in json.loads(results.read_text())["results"]:
        node = nodes.get(result["unique_id"], {})
        if node.get("resource_type") == "test" and model_id in node.get("depends_on", {}).get("nodes", []):
            out.append({"gate": node["name"], "status": result["status"]})
    return sorted(out, key=lambda r: r["gate"])
