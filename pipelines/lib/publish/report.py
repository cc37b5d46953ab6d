"""The run report (published contract §5): `published/reports/<YYYY-MM-DD>/index.html`.

One static page a marketer can open from a file share: no script, no font or chart library, no
network. Charts are inline SVG drawn here. It reads what the night left behind: the ingest log
(rows per source), the working warehouse (tables, audiences, funnel, lifecycle, attribution),
dbt's `run_results.json` (every gate of the build) and the published manifests.

A failed night gets its page too (written by the runner, since Dagster skips the report after a
failed step): what failed, what consumers still read and from which night, and whatever the
night did build.
"""
from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import publish_folder, read_manifest
from pipelines.lib.publish.summary import published_summary

STAGE_TABLES = ("customers", "identity_map", "events", "orders", "customer_traits", "audience_membership",
                "touchpoints", "conversions", "attribution", "channel_performance")
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "markov",
          "shapley")
REPORT_LOOKBACK = 7
PALETTE = ("#3b6ea5", "#e07b39", "#5a9e6f", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c")

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 68rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: .2rem .6rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.ok { color: #2d7a3e; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; } .muted { color: #777; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
"""


def report_folder(layout: Layout, night: date) -> Path:
    return layout.data_dir / "published" / "reports" / night.isoformat()


def _e(value: object) -> str:
    return html.escape(str(value))


def _number(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else _e(value)


def table(header: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_number(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p class='muted'>nothing tonight</p>"


def bar_chart(items: list[tuple[str, float]], title: str, width: int = 640) -> str:
    """Horizontal bars, one per item, labelled with its value."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1
    row, label_w = 22, 190
    bars = []
    for k, (label, value) in enumerate(items):
        w = (width - label_w - 90) * value / top
        y = k * row
        bars.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{_number(value)}</text>')
    return (f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{len(items) * row + 4}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>')


def grouped_bars(channels: list[str], series: dict[str, dict[str, float]], title: str, width: int = 960) -> str:
    """One group per channel, one bar per model (the legend names the colours)."""
    if not channels:
        return ""
    top = max((v for s in series.values() for v in s.values()), default=0) or 1
    group_h, bar_h, label_w = 12 * len(series) + 10, 12, 150
    parts = []
    for g, channel in enumerate(channels):
        y0 = g * group_h
        parts.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2 + 4}" text-anchor="end">{_e(channel)}</text>')
        for k, (model, values) in enumerate(series.items()):
            w = (width - label_w - 20) * values.get(channel, 0.0) / top
            parts.append(f'<rect x="{label_w}" y="{y0 + k * bar_h}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{PALETTE[k % len(PALETTE)]}"><title>{_e(model)}: {_number(values.get(channel, 0.0))}'
                         f'</title></rect>')
    legend = "".join(f'<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
                     f'width:.8rem;height:.8rem;background:{PALETTE[k % len(PALETTE)]}"></span> {_e(m)}</span>'
                     for k, m in enumerate(series))
    return (f'<div>{legend}</div><svg role="img" aria-label="{_e(title)}" width="{width}" '
            f'height="{len(channels) * group_h}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _gates(target_dir: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    results = target_dir / "run_results.json"
    if not results.exists():
        return {}, []
    counts: dict[str, int] = {}
    bad = []
    for r in json.loads(results.read_text())["results"]:
        if not r["unique_id"].startswith("test."):
            continue
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["status"] not in ("pass", "success"):
            bad.append((r["unique_id"].split(".")[2], r["status"]))
    return counts, sorted(bad)


def _published(layout: Layout, night: date) -> list[tuple]:
    rows = []
    for kind in ("audiences", "conversions"):
        for folder in sorted((layout.data_dir / "published" / kind).glob(f"*/{night.isoformat()}")):
            manifest = read_manifest(folder) or {}
            gates = manifest.get("gates", [])
            rows.append((f"{kind}/{folder.parent.name}", manifest.get("row_count"),
                         "pass" if all(g["status"] == "pass" for g in gates) else "see manifest"))
    return rows


def _outcome(layout: Layout, failure: str | None) -> str:
    if failure is None:
        return "<p class='ok'>Every stage ran and every output passed its gates.</p>"
    kept = published_summary(layout.data_dir)
    return (f"<p class='bad'>{_e(failure)}</p><p>What consumers read now (yesterday's versions stay in place):</p>"
            + ("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in kept) + "</ul>" if kept
               else "<p class='muted'>nothing published yet</p>"))


def render(layout: Layout, night: date, run_id: str, failure: str | None = None) -> str:
    """The page as HTML text; `failure` says what stopped a failed night."""
    d = night.isoformat()
    with duckdb.connect() as con:
        present: set[str] = set()
        if layout.warehouse.exists():
            con.execute(f"ATTACH '{layout.warehouse}' AS w (READ_ONLY)")
            con.execute("USE w")
            present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'w' "
                                                 "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'w'")
                       .fetchall()}
        ingest = []
        if layout.ingest_log.exists():
            ingest = con.execute(f"""SELECT source, sum(rows_read)::BIGINT, sum(rows_in_lake)::BIGINT,
                    sum(rows_quarantined)::BIGINT, sum(rows_deduplicated)::BIGINT
                FROM read_parquet('{layout.ingest_log}') WHERE delivery_date = DATE '{d}'
                GROUP BY ALL ORDER BY ALL""").fetchall()
        stages = [(t, con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]) for t in STAGE_TABLES if t in present]

        def fetch(*tables: str, sql: str) -> list[tuple]:
            """The query's rows, or none when the night did not build one of its tables."""
            return con.execute(sql).fetchall() if set(tables) <= present else []

        audiences = fetch("audience_membership", "audience_changes", sql=f"""
            SELECT m.audience, count(*), count(*) FILTER (WHERE is_holdout),
                (SELECT count(*) FROM audience_changes c WHERE c.audience = m.audience AND c.as_of_date = DATE '{d}'
                 AND c.change = 'entered'),
                (SELECT count(*) FROM audience_changes c WHERE c.audience = m.audience AND c.as_of_date = DATE '{d}'
                 AND c.change = 'exited')
            FROM audience_membership m WHERE m.as_of_date = DATE '{d}' GROUP BY ALL ORDER BY ALL""")
        funnel = (fetch("funnel_daily", sql="""
            SELECT sum(visits), sum(product_viewed), sum(product_added), sum(ordered), sum(refunded)
            FROM funnel_daily WHERE audience = 'all' AND window_complete
              AND entry_date > (SELECT max(entry_date) FROM funnel_daily WHERE window_complete) - 7""")
                  or [(None,) * 5])[0]
        stages_now = fetch("customer_traits", sql=f"""SELECT lifecycle_stage, count(*) FROM customer_traits
            WHERE as_of_date = DATE '{d}' GROUP BY ALL ORDER BY 2 DESC""")
        moves = fetch("lifecycle_transitions", sql=f"""SELECT coalesce(from_stage, 'new'), to_stage, count(*)
            FROM lifecycle_transitions WHERE as_of_date = DATE '{d}' GROUP BY ALL ORDER BY 3 DESC LIMIT 12""")
        credits = fetch("attribution", sql=f"""SELECT channel, model, sum(attributed_revenue) FROM attribution
            WHERE lookback_days = {REPORT_LOOKBACK} AND touch_mode = 'click' GROUP BY ALL""")
    counts, bad = _gates(layout.dbt_target)
    by_model: dict[str, dict[str, float]] = {m: {} for m in MODELS}
    for channel, model, revenue in credits:
        by_model.setdefault(model, {})[channel] = float(revenue or 0)
    channels = sorted({c for c, _, _ in credits}, key=lambda c: -by_model["last_touch"].get(c, 0.0))
    funnel_steps = list(zip(("visit", "product view", "add to cart", "order", "refund"), funnel))
    gate_line = ", ".join(f"<span class='{'ok' if s in ('pass', 'success') else 'bad'}'>{n:,} {_e(s)}</span>"
                          for s, n in sorted(counts.items()))
    body = [
        f"<h1>Night {d}{' failed' if failure else ''}</h1><p class='muted'>run {_e(run_id)}</p>",
        _outcome(layout, failure),
        "<h2>Rows per stage</h2>",
        table(["source (tonight's deliveries)", "read", "into the lake", "quarantined", "duplicates"], ingest),
        table(["warehouse table", "rows"], stages),
        table(["published", "rows", "gates"], _published(layout, night)),
        "<h2>Gates</h2>",
        f"<p>dbt tests of the build: {gate_line or 'no results'}</p>",
        table(["gate not passed", "status"], bad) if bad else "<p class='ok'>every gate passed</p>",
        "<h2>Audiences</h2>",
        table(["audience", "members", "holdout", "entered", "exited"], audiences),
        bar_chart([(a, n) for a, n, *_ in audiences], "audience sizes"),
        "<h2>Funnel (entries of the last 7 complete days)</h2>",
        table(["step", "customers"], funnel_steps),
        bar_chart([(s, float(v or 0)) for s, v in funnel_steps], "funnel"),
        "<h2>Lifecycle</h2>",
        bar_chart([(s, n) for s, n in stages_now], "lifecycle stages"),
        table(["from", "to", "customers tonight"], moves),
        f"<h2>Attribution by model (revenue, {REPORT_LOOKBACK}-day lookback, clicks)</h2>",
        grouped_bars(channels, by_model, "attributed revenue by channel and model"),
        table(["channel", *MODELS], [(c, *(by_model[m].get(c, 0.0) for m in MODELS)) for c in channels]),
    ]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cdp night {d}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def publish_report(layout: Layout, night: date, run_id: str, failure: str | None = None) -> Path:
    page = render(layout, night, run_id, failure)

    def write(folder: Path) -> dict[str, int]:
        (folder / "index.html").write_text(page, encoding="utf-8")
        return {"index.html": 1}

    target = report_folder(layout, night)
    publish_folder(layout, target, write, {"kind": "run_report", "as_of_date": night.isoformat(), "run_id": run_id,
                                           "outcome": "failed" if failure else "ok"})
    return target / "index.html"
