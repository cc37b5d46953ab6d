"""Who buys what, where and when, and how each order ends (shipped, completed, refunded, cancelled).

A day's orders are a pure function of (world, day) drawn from their own random stream, so the
day that re-delivers an order whose status changed (shipped two days later, refunded a week
later) simply re-plans the recent days instead of remembering them. Order details (items,
coupon, entry source, refund) come from a stream seeded by the order id: the same order reads
the same on every day it is delivered.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import HABITS, ORDER_PLATFORM_WEIGHTS, PERSONA_NAMES, PRODUCT_WEIGHTS, PRODUCTS, \
    STORE_HOURS, STORES, ONLINE_HOURS
from .rand import np_rng, py_rng
from .world import NEVER, World

PLATFORMS = ["app", "web", "miniprogram", "pos"]
POS = 3
LOOKBACK = 15                     # the longest order life: paid -> shipped -> completed -> refund
_ONLINE_P = np.asarray(ONLINE_HOURS) / sum(ONLINE_HOURS)
_STORE_P = np.asarray(STORE_HOURS) / sum(STORE_HOURS)
_ONE_OFF = PERSONA_NAMES.index("one_off_buyer")
_BARGAIN = PERSONA_NAMES.index("bargain_hunter")


@dataclass
class OrderPlan:
    """One day's orders, in time order, as arrays (cheap to re-plan for status re-deliveries)."""
    t: int
    person: np.ndarray
    platform: np.ndarray
    store: np.ndarray
    at_ms: np.ndarray
    cancelled: np.ndarray
    ship: np.ndarray
    complete: np.ndarray
    refund: np.ndarray
    refund_kind: np.ndarray        # 0 none, 1 full, 2 partial
    order_id: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.person)


def plan_orders(w: World, t: int) -> OrderPlan:
    cal, n = w.cal, w.n
    rng = np_rng(w.seed, "orders", t)
    alive = w.alive(t)
    lift = np.sqrt(w.activity) * cal.orders(t)
    lift = np.where((w.persona == _BARGAIN) & cal.is_sale(t), lift * 2.0, lift)
    online = alive & (rng.random(n) < w.habit("buy_online") * lift)
    in_store = alive & ~online & (rng.random(n) < w.habit("buy_store") * np.sqrt(w.activity) * cal.store_orders(t))
    one_off = alive & (w.one_off_day == t) & ~online & ~in_store
    one_off_store = one_off & (rng.random(n) < 0.3)
    in_store |= one_off_store
    online |= one_off & ~one_off_store

    # Online platform: the persona's preference among the channels the person can use today
    # (app and web checkout need an account and a log-in; the mini-program does not).
    idx = np.flatnonzero(online)
    can = np.stack([w.app_user[idx] & (w.app_login[idx] <= t), w.web_user[idx] & (w.web_login[idx] <= t),
                    w.mp_user[idx]], axis=1)
    pw = np.asarray(ORDER_PLATFORM_WEIGHTS)[w.persona[idx]] * can
    pw[pw.sum(1) == 0] = [0.0, 0.0, 1.0]
    u = rng.random(len(idx))
    plat = (u[:, None] > np.cumsum(pw, 1) / pw.sum(1, keepdims=True)).sum(1)
    # Nobody buys online through a channel they cannot use; a one-off buyer walks into a store.
    stuck = ~can.any(1)
    in_store[idx[stuck & one_off[idx]]] = True
    idx, plat = idx[~stuck], plat[~stuck]

    sidx = np.flatnonzero(in_store)
    away = rng.random(len(sidx)) < 0.1
    store = np.where(away, rng.integers(0, len(STORES), len(sidx)), w.store[sidx])

    person = np.concatenate([idx, sidx]).astype(np.int64)
    platform = np.concatenate([np.minimum(plat, 2), np.full(len(sidx), POS)]).astype(np.int8)
    stores = np.concatenate([np.full(len(idx), -1), store]).astype(np.int16)
    hours = np.concatenate([rng.choice(24, len(idx), p=_ONLINE_P), rng.choice(24, len(sidx), p=_STORE_P)])
    at_ms = cal.start_ms(t) + hours * 3_600_000 + rng.integers(0, 3_600_000, len(person))

    m = len(person)
    is_pos = platform == POS
    cancelled = ~is_pos & (rng.random(m) < 0.03)
    ship = t + 1 + (rng.random(m) < 0.4)
    complete = ship + rng.integers(3, 7, m)
    u = rng.random(m)
    kind = np.where(is_pos, np.where(u < 0.016, 1, np.where(u < 0.04, 2, 0)),
                    np.where(u < 0.05, 1, np.where(u < 0.085, 2, 0)))
    early = rng.random(m) < 0.4                         # refunded before it shipped
    refund = np.where(is_pos, t + rng.integers(1, 15, m),
                      np.where((kind == 1) & early, t + rng.integers(0, 2, m), complete + rng.integers(1, 6, m)))
    ship = np.where(is_pos | cancelled | ((kind == 1) & early & (refund < ship)), NEVER, ship)
    complete = np.where((ship == NEVER) | ((kind == 1) & early), NEVER, complete)   # returned, never completed
    kind = np.where(cancelled, 0, kind)
    refund = np.where(kind == 0, NEVER, refund)

    order = np.lexsort((person, at_ms))
    plan = OrderPlan(t, person[order], platform[order], stores[order], at_ms[order], cancelled[order],
                     ship[order], complete[order], refund[order], kind[order])
    date = cal.compact(t)
    seq_by_store: dict[int, int] = {}
    for k in range(len(plan)):
        if plan.platform[k] == POS:
            s = int(plan.store[k])
            seq_by_store[s] = seq_by_store.get(s, 0) + 1
            plan.order_id.append(f"{STORES[s].store_id}-{date}-{seq_by_store[s]:04d}")
        else:
            plan.order_id.append(f"MO{date}{k + 1:06d}")
    return plan


@dataclass
class Line:
    sku: str
    product_id: str
    category: str
    quantity: int
    unit_cents: int
    discount_cents: int

    @property
    def paid_cents(self) -> int:
        return self.quantity * self.unit_cents - self.discount_cents


@dataclass
class Detail:
    """Everything about one order that the mall, the till, the app and the truth need."""
    lines: list[Line]
    discount_cents: int
    amount_cents: int
    coupon_type: str | None
    coupon_code: str | None
    refund_cents: int
    refund_lines: list[tuple[int, int]]    # (line index, quantity) returned at the till
    source: dict[str, object]
    campaign: int | None                    # index into CAMPAIGNS when an ad click led here
    click_id: str | None


def order_detail(w: World, plan: OrderPlan, k: int) -> Detail:
    """Items, coupon, entry source and refund of order k of a plan (stable across days)."""
    from .entry import entry_source            # entry sources need the calendar and campaigns

    r = py_rng(w.seed, "order", plan.order_id[k])
    i, t, platform = int(plan.person[k]), plan.t, int(plan.platform[k])
    count = 1 + (r.random() < 0.4) + (r.random() < 0.15)
    chosen = r.choices(PRODUCTS, weights=PRODUCT_WEIGHTS, k=count)
    lines = [Line(r.choice(p.skus), p.product_id, p.category, 1 if r.random() < 0.85 else r.randint(2, 3),
                  p.price_cents, 0) for p in chosen]
    subtotal = sum(x.quantity * x.unit_cents for x in lines)
    p_coupon = HABITS["coupon"][int(w.persona[i])] + (0.25 if w.cal.is_sale(t) else 0.0)
    coupon_type, discount = None, 0
    if r.random() < p_coupon:
        if platform == POS and w.friend_day[i] <= t:
            coupon_type, discount = "guide_voucher", 5000 if subtotal >= 20000 else 2000
        elif w.signup[i] == t:
            coupon_type, discount = "new_member", 3000
        elif subtotal >= 30000 and r.random() < 0.6:
            coupon_type, discount = "threshold", subtotal // 30000 * 5000
        else:
            coupon_type, discount = "percent_off", subtotal * r.choice((10, 15)) // 100
    discount = min(discount, subtotal - 100)
    left = discount
    for x in lines[:-1]:                     # spread the discount over lines by value
        share = discount * x.quantity * x.unit_cents // subtotal
        x.discount_cents, left = share, left - share
    lines[-1].discount_cents = left
    amount = subtotal - discount
    refund_cents, refund_lines = 0, []
    kind = int(plan.refund_kind[k])
    if kind == 1:
        refund_cents, refund_lines = amount, [(j, x.quantity) for j, x in enumerate(lines)]
    elif kind == 2:
        j = max(range(len(lines)), key=lambda n: lines[n].unit_cents)
        x = lines[j]
        if len(lines) > 1 or x.quantity > 1:
            refund_cents, refund_lines = x.paid_cents // x.quantity, [(j, 1)]
        elif platform == POS:                 # a till can only take the item back
            refund_cents, refund_lines = amount, [(j, 1)]
        else:                                 # the mall grants a price adjustment instead
            refund_cents, refund_lines = amount * 3 // 10, []
    source, campaign, click_id = entry_source(w, plan, k, r)
    return Detail(lines, discount, amount, coupon_type,
                  f"{coupon_type.upper()[:4]}{r.randint(1000, 9999)}" if coupon_type else None,
                  refund_cents, refund_lines, source, campaign, click_id)
