"""WeChat-side behaviour: mini-program log, official-account interactions, live rooms, WeCom guides.

The mini-program shows `openid` from the first visit and `unionid` only from the day the person
authorised; the official account shows `unionid` for subscribers; live rooms run inside the
mini-program (same openid); guides add people on WeCom (external_userid + unionid). Article
click-throughs and live product clicks open the mini-program with the matching scene (1058 with
article_id, 1035 from the menu, 1177 with room_id), so the channels hand people to each other.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from .catalog import GUIDES, MP_APPID, OA_APPID, ONLINE_HOURS, PRODUCT_WEIGHTS, PRODUCTS
from .entry import mp_entry
from .rand import iso_local, naive_local, token

if TYPE_CHECKING:
    from .day import Day

_HOURS_P = np.asarray(ONLINE_HOURS) / sum(ONLINE_HOURS)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
Handoff = tuple[int, int, int, str]          # (person, time, scene, article_id or room_id)
OA_HEADER = ["appid", "openid", "unionid", "article_id", "article_title", "action", "ts"]
GUIDE_HEADER = ["guide_id", "store_id", "external_userid", "unionid", "action", "product_id", "coupon_id", "ts"]


def _starts(day: "Day", rng: np.random.Generator, n: int) -> np.ndarray:
    return day.start_ms + rng.choice(24, n, p=_HOURS_P) * 3_600_000 + rng.integers(0, 3_600_000, n)


def official_account(day: "Day") -> tuple[list[list[str]], list[Handoff]]:
    """Article reads, likes, shares, click-throughs and (un)subscribes of one day."""
    w, t = day.w, day.t
    rng, r, nz = day.rng("oa-sessions"), day.py("oa-plan"), day.noise("official_account")
    articles = w.cal.recent_articles(t)
    rows: list[tuple[int, list[str]]] = []
    handoff: list[Handoff] = []

    def row(i: int, ts: int, action: str, article: tuple[str, str] = ("", "")) -> None:
        union = w.ids.unionid[i] if w.oa_sub[i] <= t and (t <= w.oa_unsub[i]) else ""
        stamp = naive_local(nz.timestamp(ts, day.end_ms))
        rows.append((ts, [OA_APPID, w.ids.oa_openid[i], nz.ident(union) if union else union,
                          article[0], article[1], action, stamp]))

    for action, day_of in (("subscribe", w.oa_sub), ("unsubscribe", w.oa_unsub)):
        idx = np.flatnonzero(day.alive & (day_of == t))
        for i, ts in zip(idx.tolist(), _starts(day, rng, len(idx)).tolist()):
            row(i, ts, action)
    active = day.alive & w.oa_user & (rng.random(w.n) < w.habit("oa") * w.activity * w.cal.online(t))
    idx = np.flatnonzero(active)
    for i, ts in zip(idx.tolist(), _starts(day, rng, len(idx)).tolist()):
        if not articles or r.random() < 0.05:             # the menu's "shop" entry
            row(i, ts, "click_through")
            handoff.append((i, ts + r.randint(2_000, 9_000), 1035, ""))
            continue
        for a in r.sample(articles, k=min(len(articles), 1 + (r.random() < 0.25))):
            if ts >= day.end_ms:
                break
            row(i, ts, "read", a)
            for action, p in (("like", 0.2), ("share", 0.06), ("click_through", 0.12)):
                if r.random() < p and ts + 240_000 < day.end_ms:     # the export is cut at midnight
                    ts += r.randint(20_000, 240_000)
                    row(i, ts, action, a)
                    if action == "click_through":
                        handoff.append((i, ts + r.randint(2_000, 9_000), 1058, a[0]))
            ts += r.randint(60_000, 600_000)
    rows.sort(key=lambda x: x[0])
    return [x for _, x in rows], handoff


def live(day: "Day") -> tuple[list[tuple[int, str]], list[Handoff]]:
    """Viewers of tonight's live room: enter, like, comment, click products, share, leave."""
    w, t = day.w, day.t
    room = w.cal.live_room(t)
    if room is None:
        return [], []
    rng, r, nz = day.rng("live-viewers"), day.py("live-plan"), day.noise("live")
    lift = 1.3 if w.cal.is_sale(t) else 1.0
    viewers = day.alive & w.mp_user & (rng.random(w.n) < w.habit("live") * np.sqrt(w.activity) * lift)
    out: list[tuple[int, str]] = []
    handoff: list[Handoff] = []
    for i in np.flatnonzero(viewers).tolist():
        union = w.ids.unionid[i] if w.mp_auth[i] <= t else ""
        openid, union = w.ids.mp_openid[i], nz.ident(union) if union else union
        ts = day.start_ms + 20 * 3_600_000 + r.randint(0, 4_500_000)
        actions = ["enter"] + ["like"] * (int(rng.geometric(0.3)) - 1)
        actions += [a for a, p in (("comment", 0.3), ("product_click", 0.35), ("share", 0.05)) if r.random() < p]
        for action in actions + ["leave"]:
            product = ""
            if action == "product_click":
                product = r.choices(PRODUCTS, weights=PRODUCT_WEIGHTS)[0].product_id
                handoff.append((i, ts + r.randint(1_000, 5_000), 1177, room))
            stamp = iso_local(nz.timestamp(ts, day.end_ms), millis=False)
            out.append((ts, _encode({"room_id": room, "openid": openid, "unionid": union, "action": action,
                                     "product_id": product, "ts": stamp})))
            ts += 15_000 + int(r.random() * 585_000)
    return out, handoff


def miniprogram(day: "Day", handoffs: list[Handoff]) -> list[tuple[int, str]]:
    """Mini-program sessions: organic ones, the ones other channels hand over, and purchases."""
    w, t, book = day.w, day.t, day.book
    rng, r, nz = day.rng("mp-sessions"), day.py("mp-events"), day.noise("miniprogram")
    out: list[tuple[int, str]] = []

    def session(i: int, ts: int, e: dict, products: list[tuple[str, int]], coupon: bool) -> None:
        union = w.ids.unionid[i] if w.mp_auth[i] <= t else ""
        base = {"appid": MP_APPID, "openid": w.ids.mp_openid[i], "unionid": nz.ident(union) if union else union,
                "event": "", "page_path": "", "scene": e["scene"], "share_from_openid": e["share_from_openid"],
                "gdt_vid": e["gdt_vid"], "room_id": e["room_id"], "article_id": e["article_id"],
                "product_id": "", "ts": 0}
        if e.get("campaign") is not None and e["gdt_vid"]:
            day.clicks.add(int(e["campaign"]), str(e["gdt_vid"]), "", ts - r.randint(2_000, 20_000), i)
        steps = [("launch", "pages/index/index", ""), ("page_view", "pages/index/index", "")]
        for pid, add in products:
            steps.append(("product_view", f"pages/product/detail?id={pid}", pid))
            if add:
                steps.append(("add_cart", f"pages/product/detail?id={pid}", pid))
        if coupon:
            steps.append(("coupon_claim", "pages/coupon/center", ""))
        if r.random() < 0.05 and products:
            steps.append(("share", f"pages/product/detail?id={products[-1][0]}", products[-1][0]))
        for event, path, pid in steps:
            ts += 2_000 + int(r.random() * 58_000)
            ev = dict(base, event=event, page_path=path, product_id=pid, ts=nz.timestamp(ts, day.end_ms))
            out.append((ts, _encode(ev)))

    def browse_products() -> list[tuple[str, int]]:
        k = min(int(rng.geometric(0.4)), 8)
        picks = r.choices(PRODUCTS, weights=PRODUCT_WEIGHTS, k=k)
        return [(p.product_id, int(n == k - 1 and r.random() < 0.25)) for n, p in enumerate(picks)]

    plan = book.today
    for k in np.flatnonzero(plan.platform == 2).tolist():
        i, d = int(plan.person[k]), book.detail(plan, k)
        src = d.source or {}
        e = {key: (src.get(key) or "") for key in ("scene", "share_from_openid", "gdt_vid", "room_id", "article_id")}
        e["campaign"] = d.campaign
        session(i, int(plan.at_ms[k]) - 240_000, e, [(x.product_id, 1) for x in d.lines], bool(d.coupon_code))
    for i, ts, scene, ref in handoffs:
        if w.mp_user[i]:
            e = mp_entry(w, t, i, r, scene=scene)
            e["article_id" if scene == 1058 else "room_id"] = ref if scene in (1058, 1177) else ""
            session(i, ts, e, browse_products(), False)
    active = day.alive & w.mp_user & (rng.random(w.n) < w.habit("mp") * w.activity * w.cal.online(t))
    idx = np.flatnonzero(active)
    for i, ts in zip(idx.tolist(), _starts(day, rng, len(idx)).tolist()):
        session(i, ts, mp_entry(w, t, i, r), browse_products(), r.random() < 0.04)
    return out


def guide(day: "Day") -> list[list[str]]:
    """Shopping guides on WeCom: new friends, chats, product cards, coupons, store invitations."""
    w, t, book = day.w, day.t, day.book
    rng, r, nz = day.rng("guide-plan"), day.py("guide-events"), day.noise("guide")
    rows: list[tuple[int, list[str]]] = []

    def row(i: int, ts: int, action: str, product: str = "", coupon: str = "") -> None:
        guide_id, store_id = GUIDES[int(w.guide[i])]
        stamp = iso_local(nz.timestamp(ts, day.end_ms), millis=False)
        rows.append((ts, [guide_id, store_id, nz.ident(w.ids.external_userid[i]), nz.ident(w.ids.unionid[i]),
                          action, product, coupon, stamp]))

    work = lambda: day.start_ms + r.randint(10 * 3_600_000, 21 * 3_600_000)  # noqa: E731
    for i in np.flatnonzero(day.alive & (w.friend_day == t)).tolist():
        row(i, work(), "add_friend")
    lift = np.sqrt(w.activity) * w.cal.store(t)
    chatty = day.alive & (w.friend_day < t) & (rng.random(w.n) < w.habit("guide") * lift)
    for i in np.flatnonzero(chatty).tolist():
        u = r.random()
        action = ("chat" if u < 0.55 else "share_product" if u < 0.75 else
                  "send_coupon" if u < 0.87 else "invite_to_store")
        product = r.choices(PRODUCTS, weights=PRODUCT_WEIGHTS)[0].product_id if action == "share_product" else ""
        row(i, work(), action, product, f"CPN{token(r, 8).upper()}" if action == "send_coupon" else "")
    plan = book.today                       # the product card behind a guide-led mini-program order
    for k in np.flatnonzero(plan.platform == 2).tolist():
        d = book.detail(plan, k)
        if d.source and d.source.get("guide_id"):
            i = int(plan.person[k])
            row(i, max(day.start_ms, int(plan.at_ms[k]) - r.randint(600_000, 7_200_000)), "share_product",
                d.lines[0].product_id)
    rows.sort(key=lambda x: x[0])
    return [x for _, x in rows]
