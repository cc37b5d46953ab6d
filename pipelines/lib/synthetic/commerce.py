"""The two order systems: the online mall's order export and the store tills' POS export.

The mall re-delivers an order on every day its status changes (paid -> shipped -> completed, or
-> refunded / partially_refunded), each time as the whole order with a later `updated_at`.
Tills write one row per order line; a refund is a new till transaction (`<order>-R`) with
negative quantity and amount and `refund_of` naming the original sale.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from .catalog import CATEGORY_ZH, GUIDES, STORES
from .noise import Noise
from .orders import PLATFORMS, POS, Detail, OrderPlan
from .rand import DAY_MS, cents, cents_grouped, iso_local, naive_local, py_rng
from .world import NEVER, World

if TYPE_CHECKING:
    from .day import Day

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
POS_HEADER = ["order_id", "store_id", "guide_id", "member_card", "phone", "order_time", "sku", "product_id",
              "category", "quantity", "unit_price", "line_amount", "discount", "coupon_type", "payment_method",
              "refund_of"]
PAYMENTS = [("wechat_pay", "微信支付", 0.55), ("alipay", "支付宝", 0.3), ("card", "银行卡", 0.1),
            ("cash", "现金", 0.05)]


def statuses(w: World, plan: OrderPlan, k: int) -> list[tuple[int, str, int]]:
    """The life of online order k as (delivery day, status, epoch ms), in time order."""
    r = py_rng(w.seed, "status", plan.order_id[k])
    at, day0 = int(plan.at_ms[k]), w.cal.start_ms(0)
    end = day0 + (plan.t + 1) * DAY_MS - 2_000             # every step stays inside its planned day
    if plan.cancelled[k]:
        steps = [(plan.t, "cancelled", min(at + r.randint(60_000, 1_800_000), end))]
    else:
        paid = min(at + r.randint(20_000, 120_000), end)
        steps = [(plan.t, "paid", paid)]
        for day, status, lo, hi in ((plan.ship[k], "shipped", 9, 18), (plan.complete[k], "completed", 8, 22)):
            if day < NEVER:
                steps.append((int(day), status, day0 + int(day) * DAY_MS + r.randint(lo * 3_600_000, hi * 3_600_000)))
        if plan.refund_kind[k]:
            day = int(plan.refund[k])
            ms = day0 + day * DAY_MS + r.randint(10 * 3_600_000, 20 * 3_600_000)
            ms = min(max(ms, max(x[2] for x in steps) + 1_000), day0 + (day + 1) * DAY_MS - 1_000)
            steps.append((day, "refunded" if plan.refund_kind[k] == 1 else "partially_refunded", ms))
    return sorted(steps, key=lambda s: s[2])


def mall_order(w: World, plan: OrderPlan, k: int, d: Detail, steps: list[tuple[int, str, int]]) -> dict:
    """The mall's JSON for order k in the state of the last step given."""
    i, t0 = int(plan.person[k]), plan.t
    nz = Noise(w.noise, w.seed, f"mall:{plan.order_id[k]}", 0)   # the same stored values on every re-delivery
    mp = plan.platform[k] == 2
    _, status, updated = steps[-1]
    refunded = [ms for _, s, ms in steps if s.endswith("refunded")]
    paid = [ms for _, s, ms in steps if s == "paid"]
    return {
        "order_id": plan.order_id[k], "platform": PLATFORMS[int(plan.platform[k])], "status": status,
        "unionid": (nz.ident(w.ids.unionid[i]) or None) if mp and w.mp_auth[i] <= t0 else None,
        "openid": w.ids.mp_openid[i] if mp else None,
        "member_id": nz.member(w.ids.member_id[i]) if w.signup[i] <= t0 else None,
        "phone": nz.phone(w.ids.phone[i]),
        "created_at": iso_local(int(plan.at_ms[k]), millis=False),
        "paid_at": iso_local(paid[0], millis=False) if paid else None,
        "refunded_at": iso_local(refunded[0], millis=False) if refunded else None,
        "updated_at": iso_local(updated, millis=False),
        "items": [{"sku": x.sku, "product_id": x.product_id, "category": x.category, "quantity": x.quantity,
                   "unit_price": x.unit_cents / 100} for x in d.lines],
        "amount": d.amount_cents / 100, "discount": d.discount_cents / 100, "coupon_type": d.coupon_type,
        "refund_amount": d.refund_cents / 100 if refunded else None,
        "source": d.source,
    }


def mall_lines(day: "Day") -> list[tuple[int, str]]:
    """Every order whose status changed today, as it stands tonight."""
    w, t, book = day.w, day.t, day.book
    out: list[tuple[int, str]] = []
    for plan in book.plans():
        changed = (plan.t == t) | (plan.ship == t) | (plan.complete == t) | (plan.refund == t)
        touched = (plan.platform != POS) & changed
        for k in np.flatnonzero(touched).tolist():
            steps = statuses(w, plan, k)
            if any(d == t for d, _, _ in steps):
                upto = [s for s in steps if s[0] <= t]
                out.append((upto[-1][2], _encode(mall_order(w, plan, k, book.detail(plan, k), upto))))
    return out


def _till_rows(w: World, plan: OrderPlan, k: int, d: Detail, refund: bool, t: int) -> list[tuple[int, list[str]]]:
    """Rows of a sale (or of its refund) as store k's till prints them."""
    i, oid = int(plan.person[k]), plan.order_id[k]
    store = STORES[int(plan.store[k])]
    r = py_rng(w.seed, "till", oid)           # the same card, phone and guide on sale and refund
    nz = Noise(w.noise, w.seed, f"till:{oid}", 0)
    member = w.signup[i] <= plan.t
    card = nz.member(w.ids.member_id[i]) if member and r.random() < 0.85 else ""
    phone = nz.phone(w.ids.phone[i], masked=True) if r.random() < (0.15 if card else 0.5) else ""
    own = GUIDES[int(w.guide[i])]
    guide = own[0] if own[1] == store.store_id and w.friend_day[i] <= plan.t and r.random() < 0.7 else \
        (r.choice(store.guides) if r.random() < 0.35 else "")
    pay = r.choices(PAYMENTS, weights=[p[2] for p in PAYMENTS])[0]
    money = cents_grouped if store.legacy_till else cents
    if refund:
        ms = w.cal.start_ms(t) + r.randint(11 * 3_600_000, 21 * 3_600_000)
        picks = d.refund_lines
    else:
        ms = int(plan.at_ms[k])
        picks = [(j, x.quantity) for j, x in enumerate(d.lines)]
    rows = []
    for j, q in picks:
        x = d.lines[j]
        amount = x.paid_cents * q // x.quantity
        sign = -1 if refund else 1
        rows.append((ms, [f"{oid}-R" if refund else oid, store.store_id, guide, card, phone, naive_local(ms), x.sku,
                          x.product_id, CATEGORY_ZH[x.category] if store.legacy_till else x.category, str(sign * q),
                          money(x.unit_cents), money(sign * amount), money(sign * (x.unit_cents * q - amount)),
                          d.coupon_type or "", pay[1] if store.legacy_till else pay[0], oid if refund else ""]))
    return rows


def pos_rows(day: "Day") -> dict[int, list[list[str]]]:
    """Per store index, today's till rows: sales of today and refunds of earlier sales."""
    w, t, book = day.w, day.t, day.book
    by_store: dict[int, list[tuple[int, list[str]]]] = {}
    for plan in book.plans():
        for k in np.flatnonzero((plan.platform == POS) & ((plan.t == t) | (plan.refund == t))).tolist():
            d = book.detail(plan, k)
            by_store.setdefault(int(plan.store[k]), []).extend(_till_rows(w, plan, k, d, plan.t != t, t))
    return {s: [row for _, row in sorted(rows, key=lambda x: x[0])] for s, rows in sorted(by_store.items())}


def truth_row(w: World, plan: OrderPlan, k: int, d: Detail) -> tuple:
    """The order as it really ended by the last day of the range (ORDER_SCHEMA column order)."""
    last, oid = w.cal.days - 1, plan.order_id[k]
    refund_day = None
    if plan.platform[k] == POS:
        source, store, status, paid = "pos", STORES[int(plan.store[k])].store_id, "completed", d.amount_cents
        if plan.refund[k] <= last:
            refund_day = int(plan.refund[k])
            status = "refunded" if d.refund_cents == d.amount_cents else "partially_refunded"
    else:
        steps = [s for s in statuses(w, plan, k) if s[0] <= last]
        source, store, status = "mall_orders", None, steps[-1][1]
        paid = 0 if plan.cancelled[k] else d.amount_cents
        refund_day = next((day for day, s, _ in steps if s.endswith("refunded")), None)
    refund = d.refund_cents if refund_day is not None else 0
    return (oid, source, int(plan.person[k]), PLATFORMS[int(plan.platform[k])], store, w.cal.date(plan.t),
            int(plan.at_ms[k]), status, paid / 100, d.discount_cents / 100, d.coupon_type, refund / 100,
            (paid - refund) / 100, f"{oid}-R" if refund_day is not None and source == "pos" else None,
            w.cal.date(refund_day) if refund_day is not None else None)
