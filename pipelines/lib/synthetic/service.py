"""Customer-service tickets: refunds and late parcels raise them, privacy requests and questions too.

A ticket is exported on the night it was opened, resolved or not; `resolved_at` is empty when it
was still open at export time, and `satisfaction` (1-5) is empty when the customer skipped the
survey. Each ticket carries the identifiers of the channel it came through.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .orders import POS
from .rand import iso_local

if TYPE_CHECKING:
    from .day import Day

SERVICE_HEADER = ["ticket_id", "member_id", "phone", "email", "unionid", "channel", "category", "created_at",
                  "resolved_at", "satisfaction"]
CHANNELS = ["phone", "wechat", "email", "app_chat"]
# How satisfied people say they were, by what they called about (1..5 weights).
SATISFACTION = {"refund": [0.15, 0.15, 0.25, 0.25, 0.2], "delivery": [0.1, 0.15, 0.25, 0.3, 0.2],
                "privacy": [0.05, 0.05, 0.2, 0.3, 0.4]}
DEFAULT_SATISFACTION = [0.04, 0.06, 0.15, 0.35, 0.4]


def tickets(day: "Day") -> list[list[str]]:
    w, t, book = day.w, day.t, day.book
    rng, r, nz = day.rng("service-plan"), day.py("service-tickets"), day.noise("service")
    callers: list[tuple[int, str]] = []
    for plan in book.plans():
        for k in np.flatnonzero((plan.refund == t) & (plan.platform != POS)).tolist():
            if r.random() < 0.35:
                callers.append((int(plan.person[k]), "refund"))
        for k in np.flatnonzero(plan.ship == t).tolist():
            if r.random() < 0.02:
                callers.append((int(plan.person[k]), "delivery"))
    callers += [(i, "privacy") for i in np.flatnonzero(w.erased == t).tolist()]
    asking = day.alive & (rng.random(w.n) < 0.0006 * np.sqrt(w.activity))
    for i in np.flatnonzero(asking).tolist():
        callers.append((i, r.choice(["product_question", "product_question", "account", "complaint", "store"])))

    rows: list[tuple[int, list[str]]] = []
    end = day.end_ms
    for i, category in callers:
        wechat = w.mp_user[i] or w.oa_user[i] or w.friend_day[i] < w.cal.days
        channel = r.choices(CHANNELS, weights=[0.35, 0.35 if wechat else 0.0, 0.1 if w.has_email[i] else 0.0, 0.2])[0]
        created = day.start_ms + r.randint(8 * 3_600_000, 22 * 3_600_000)
        resolved = created + int(r.expovariate(1 / 7_200_000))
        member = w.ids.member_id[i] if w.signup[i] <= t and r.random() < 0.8 else ""
        survey = r.random() < 0.55 and resolved <= end
        score = r.choices(range(1, 6), weights=SATISFACTION.get(category, DEFAULT_SATISFACTION))[0]
        rows.append((created, [
            "",                                                # numbered below, in time order
            nz.member(member) if member else "",
            nz.phone(w.ids.phone[i], masked=True) if channel == "phone" or r.random() < 0.3 else "",
            nz.email(w.ids.email[i]) if channel == "email" else "",
            nz.ident(w.ids.unionid[i]) if channel == "wechat" else "",
            channel, category, iso_local(created, millis=False),
            iso_local(resolved, millis=False) if resolved <= end else "",
            str(score) if survey else "",
        ]))
    rows.sort(key=lambda x: x[0])
    stamp = w.cal.compact(t)
    for n, (_, row) in enumerate(rows, 1):
        row[0] = f"T{stamp}{n:05d}"
    return [row for _, row in rows]
