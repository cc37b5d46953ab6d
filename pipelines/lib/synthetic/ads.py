"""Ad platforms: impression/click logs and the daily cost report per campaign.

Customer clicks are registered by the sessions they start (the same id arrives as `gdt_vid` in
the mini-program, or as `context.referrer.id` on app/web); people who are not customers click
too and then leave. The cost report counts exactly the impressions and clicks of the log
(before any noise duplicates), so spend, clicks and the log reconcile.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .catalog import APP_AGENTS, CAMPAIGNS
from .entry import click_id
from .rand import cents, uuid4

if TYPE_CHECKING:
    from .day import Day

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
PLATFORMS = ["tencent_ads", "ocean_engine", "baidu"]
COST_HEADER = ["date", "platform", "campaign_id", "campaign_name", "channel", "impressions", "clicks", "cost"]
_EMPTY_DEVICE = {"tencent_ads": 0.6, "ocean_engine": 0.25, "baidu": 0.4}   # WeChat hides most devices


@dataclass
class ClickLog:
    """Clicks that customers made today: (campaign index, click id, device id, time, person)."""
    clicks: list[tuple[int, str, str, int, int]] = field(default_factory=list)

    def add(self, campaign: int, cid: str, device: str, ts: int, person: int) -> None:
        self.clicks.append((campaign, cid, device, ts, person))


def _ad_device(day: "Day", device: str, person: int) -> str:
    """Ad platforms report iOS advertising ids upper-case (IDFA style), Android ones lower-case."""
    if device and APP_AGENTS[int(day.w.agent[person])][0] == "iOS":
        return device.upper()
    return device


def ad_logs(day: "Day", clicks: ClickLog) -> tuple[dict[str, list[tuple[int, str]]], list[list[str]]]:
    """Per platform, the log lines of the day; and the cost rows of every running campaign."""
    w, t, cal = day.w, day.t, day.w.cal
    rng, r, nz = day.rng("ads-outside"), day.py("ads-events"), day.noise("ads")
    scale = w.n / 20_000                      # outside traffic grows with the customer base
    lines: dict[str, list[tuple[int, str]]] = {p: [] for p in PLATFORMS}
    cost_rows: list[list[str]] = []
    mine: dict[int, list[tuple[str, str, int]]] = {}
    for campaign, cid, device, ts, person in clicks.clicks:
        mine.setdefault(campaign, []).append((cid, _ad_device(day, device, person), ts))
    for k, c in enumerate(CAMPAIGNS):
        if c not in cal.campaigns(t):
            continue
        outside = int(rng.poisson(c.daily_outside_clicks * scale * cal.online(t)))
        clicked = list(mine.get(k, []))
        for _ in range(outside):
            device = "" if r.random() < _EMPTY_DEVICE[c.platform] else uuid4(r)
            clicked.append((click_id(c.platform, r), device.upper() if r.random() < 0.4 else device,
                            day.start_ms + r.randint(0, 86_399_000)))
        impressions = max(len(clicked), round(len(clicked) / c.ctr))
        shown: list[tuple[int, str, str, str]] = []     # (click time, impression id, device, click id)
        for cid, device, ts in clicked:                 # counted on the day the cost report covers
            ts = min(max(ts, day.start_ms + 61_000), day.end_ms - 1_000)
            shown.append((ts, uuid4(r).replace("-", ""), device, cid))
        for _ in range(impressions - len(clicked)):
            device = "" if r.random() < _EMPTY_DEVICE[c.platform] else uuid4(r)
            shown.append((day.start_ms + int(r.random() * 86_399_000), uuid4(r).replace("-", ""), device, ""))
        for ts, imp, device, cid in shown:
            click_ts, ts = ts, (ts - 1_000 - int(r.random() * 59_000) if cid else ts)
            group = f"{c.campaign_id}{1 + int(r.random() * 3):02d}"
            creative = f"{group}{1 + (r.random() < 0.5)}"
            base = {"platform": c.platform, "event": "impression", "click_id": "", "impression_id": imp,
                    "campaign_id": c.campaign_id, "adgroup_id": group, "creative_id": creative,
                    "device_id": nz.device(device) if device else device, "ts": nz.timestamp(ts, day.end_ms)}
            lines[c.platform].append((ts, _encode(base)))
            if cid:
                base.update(event="click", click_id=cid, ts=nz.timestamp(click_ts, day.end_ms))
                lines[c.platform].append((click_ts, _encode(base)))
        cost = sum(round(c.cpc_cents * (0.8 + 0.4 * r.random())) for _ in clicked)
        cost_rows.append([cal.iso(t), c.platform, c.campaign_id, c.name, c.channel, str(impressions),
                          str(len(clicked)), cents(cost)])
    return lines, cost_rows
