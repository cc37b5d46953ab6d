"""Which gates admit a published output: the dbt tests of the night's build that guard it.

A test guards an output when it tests one of the output's tables, or when it is tagged `gate`
and tests any table upstream of them (the traits' drift gate guards every audience). A guarding
test that failed refuses the output: at `error` severity (the build itself failed), and for
tests tagged `gate` also at `warn` severity, which is how such a gate lets the rest of the build
go on: everything that does not depend on it is still built and published.
"""
from __future__ import annotations

import json
from pathlib import Path

GATE_TAG = "gate"
REFUSING = ("fail", "error")


def _load(target_dir: Path) -> tuple[dict, list[dict]] | None:
    results, manifest = target_dir / "run_results.json", target_dir / "manifest.json"
    if not results.exists() or not manifest.exists():
        return None
    return json.loads(manifest.read_text())["nodes"], json.loads(results.read_text())["results"]


def _upstream(nodes: dict, start: set[str]) -> set[str]:
    """`start` and every node they read from, transitively."""
    seen, todo = set(), list(start)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo += [n for n in nodes.get(node, {}).get("depends_on", {}).get("nodes", []) if n in nodes]
    return seen


def guarding_gates(target_dir: Path, models: list[str] | tuple[str, ...]) -> list[dict]:
    """Every dbt test of the last build guarding `models`, sorted by name: its name, the table it
    tests, its status (pass / warn / fail / error / skipped), its failing rows, whether it refuses."""
    loaded = _load(target_dir)
    if loaded is None:
        return []
    nodes, results = loaded
    own = {k for k, n in nodes.items() if n["resource_type"] in ("model", "seed") and n["name"] in models}
    upstream = _upstream(nodes, own)
    out = []
    for result in results:
        test = nodes.get(result["unique_id"], {})
        if test.get("resource_type") != "test":
            continue
        # a generic test tests the table it is attached to (it may read others, as the traits'
        # gate reads `events`); a singular test, every table it reads
        attached = test.get("attached_node")
        tested = [attached] if attached in nodes else [
            n for n in test.get("depends_on", {}).get("nodes", []) if n in nodes]
        is_gate = GATE_TAG in test.get("tags", [])
        if not (set(tested) & own or (is_gate and set(tested) & upstream)):
            continue
        status = result["status"]
        out.append({"gate": test["name"], "table": nodes[tested[0]]["name"] if tested else None,
                    "status": status, "failures": result.get("failures"),
                    "refuses": status in REFUSING or (is_gate and status == "warn")})
    return sorted(out, key=lambda g: g["gate"])


def refusing(gates: list[dict]) -> list[str]:
    """Each refusing gate with its status and failing rows, for a message a person can act on."""
    return [f"{g['gate']} ({g['status']}, {g['failures']} failing rows)" for g in gates if g["refuses"]]


class PublishRefused(RuntimeError):
    """A gate said no: nothing of this output was published tonight; yesterday's stays."""


def admit(target_dir: Path, models: list[str] | tuple[str, ...], output: str) -> list[dict]:
    """The gates guarding `models`, for the output's manifest; `PublishRefused` naming every
    refusing gate if one refuses."""
    gates = guarding_gates(target_dir, models)
    refused = refusing(gates)
    if refused:
        raise PublishRefused(f"{output}: gates refused it ({'; '.join(refused)}); yesterday's version stays")
    return [{"gate": g["gate"], "status": g["status"]} for g in gates]
