"""One generated day: every source's deliveries for day t, and that day's slice of the truth.

`run_day(world, t, data_dir)` is a pure function of its arguments: it re-plans the orders of the
previous days it needs (status changes, refunds) instead of receiving state, so days can run in
any order and in any process and still write the same bytes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ads, commerce, crm, segment, service, wechat
from .catalog import STORES
from .noise import Noise
from .orders import LOOKBACK, Detail, OrderPlan, order_detail, plan_orders
from .rand import DAY_MS, np_rng, py_rng
from .writers import Delivery

_PLANS: dict[tuple, OrderPlan] = {}      # per process: recent days' plans, re-used


def _plan(w, t: int) -> OrderPlan:
    key = (*w.key, t)
    if key not in _PLANS:
        if len(_PLANS) > 3 * LOOKBACK:
            for old in list(_PLANS)[:LOOKBACK]:        # insertion order: the oldest first
                del _PLANS[old]
        _PLANS[key] = plan_orders(w, t)
    return _PLANS[key]


class OrderBook:
    """Today's orders and those of the last LOOKBACK days (whose status may change today)."""

    def __init__(self, w, t: int):
        self.w = w
        self.today = _plan(w, t)
        self.past = [_plan(w, d) for d in range(max(0, t - LOOKBACK), t)]
        self._details: dict[str, Detail] = {}

    def plans(self) -> list[OrderPlan]:
        return self.past + [self.today]

    def detail(self, plan: OrderPlan, k: int) -> Detail:
        oid = plan.order_id[k]
        if oid not in self._details:
            self._details[oid] = order_detail(self.w, plan, k)
        return self._details[oid]


class Day:
    """What every source generator needs for day t: the world, the clock, streams, order book."""

    def __init__(self, w, t: int, out: Delivery):
        self.w, self.t, self.out = w, t, out
        self.last = w.cal.days - 1
        self.start_ms = w.cal.start_ms(t)
        self.end_ms = self.start_ms + DAY_MS
        self.alive = w.alive(t)
        self.book = OrderBook(w, t)
        self.clicks = ads.ClickLog()
        self._noise: dict[str, Noise] = {}
        self._py: dict[str, random.Random] = {}

    def noise(self, source: str) -> Noise:
        if source not in self._noise:
            self._noise[source] = Noise(self.w.noise, self.w.seed, source, self.t)
        return self._noise[source]

    def py(self, purpose: str) -> random.Random:
        """One stdlib stream per purpose and day, shared by every caller with that purpose."""
        if purpose not in self._py:
            self._py[purpose] = py_rng(self.w.seed, purpose, self.t)
        return self._py[purpose]

    def rng(self, purpose: str) -> np.random.Generator:
        """A numpy stream per purpose and day (call once per purpose: a second call repeats it)."""
        return np_rng(self.w.seed, purpose, self.t)

    def stream(self, source: str, stem: str, events: list[tuple[int, str]], gz: bool, line_noise: bool = True) -> None:
        """Write a day's JSON lines; what happened after midnight goes out with the next night.

        Sessions that begin before midnight and end after it are exported by event time, so their
        tail lands in a `-backfill-` file of the next folder (dropped after the last night); with
        noise, late events and retries spill into later folders the same way.
        """
        nz = self.noise(source)
        after = sorted(e for e in events if e[0] >= self.end_ms)
        events = [e for e in events if e[0] < self.end_ms]
        if line_noise:
            today, later = nz.deliver(events, self.t, self.last)
        else:
            events.sort(key=lambda e: e[0])
            today, later = [line for _, line in events], {}
        if after and self.t < self.last:
            later[self.t + 1] = [line for _, line in after] + later.get(self.t + 1, [])
        self.out.jsonl(source, self.t, stem.format(date=self.w.cal.iso(self.t)), today, gz, nz, truncate=line_noise)
        for d, lines in later.items():
            self.out.jsonl(source, d, stem.format(date=self.w.cal.iso(d)) + f"-backfill-{self.w.cal.iso(self.t)}",
                           lines, gz, nz)


@dataclass
class DayResult:
    t: int
    counts: dict[str, list[int]]
    events: int
    paths: list[str]
    orders: list[tuple]
    clicks: list[tuple[str, int]]


def run_day(w, t: int, data_dir: Path) -> DayResult:
    cal = w.cal
    out = Delivery(data_dir, [cal.iso(d) for d in range(cal.days)])
    day = Day(w, t, out)
    iso = cal.iso(t)

    oa_rows, to_mp = wechat.official_account(day)
    live_lines, from_live = wechat.live(day)
    day.stream("miniprogram", "mp-log-{date}", wechat.miniprogram(day, to_mp + from_live), gz=True)
    day.stream("live", "live-room-{date}", live_lines, gz=False)
    day.stream("app", "events-{date}", segment.app_web_events(day, "app"), gz=True)
    day.stream("web", "events-{date}", segment.app_web_events(day, "web"), gz=False)
    out.csv("official_account", t, f"oa-interactions-{iso}.csv", wechat.OA_HEADER, oa_rows,
            nz=day.noise("official_account"))
    out.csv("guide", t, f"wecom-guide-{iso}.csv", wechat.GUIDE_HEADER, wechat.guide(day), nz=day.noise("guide"))
    out.csv("service", t, f"tickets-{iso}.csv", service.SERVICE_HEADER, service.tickets(day), nz=day.noise("service"))
    day.stream("mall_orders", "orders-{date}", commerce.mall_lines(day), gz=False, line_noise=False)
    for s, rows in commerce.pos_rows(day).items():
        store = STORES[s]
        out.csv("pos", t, f"pos-{store.store_id}-{iso}.csv", commerce.POS_HEADER, rows,
                encoding="gb18030" if store.legacy_till else "utf-8", crlf=store.legacy_till,
                nz=day.noise("pos"), blank_lines=True)
    ad_lines, cost_rows = ads.ad_logs(day, day.clicks)
    for platform in ads.PLATFORMS:
        day.stream("ads", f"clicks-{platform}-{{date}}", ad_lines[platform], gz=True)
        rows = [r for r in cost_rows if r[1] == platform]
        if rows:
            out.csv("ads", t, f"cost-{platform}-{iso}.csv", ads.COST_HEADER, rows, nz=day.noise("ads"))
    data, records = crm.snapshot(w, t)
    out.write("crm", t, f"members-{iso}.csv", data, records, gz=True, nz=day.noise("crm"), next_day_ok=False)
    erasures = crm.erasure_rows(w, t)
    if erasures:
        out.csv("crm", t, "erasure_requests.csv", crm.ERASURE_HEADER, erasures, nz=day.noise("crm"), next_day_ok=False)

    plan = day.book.today
    orders = [commerce.truth_row(w, plan, k, day.book.detail(plan, k)) for k in range(len(plan))]
    clicks = [(cid, person) for _, cid, _, _, person in day.clicks.clicks]
    return DayResult(t, dict(out.counts), out.events, out.paths, orders, clicks)
