"""App and web behaviour as Segment-spec event streams (track / identify / page / screen).

People are anonymous (anonymousId only) until their first log-in day, when the session carries
`Signed Up` or `Logged In` and an `identify` with traits; from then on `userId` is the member id.
Purchases end in `Order Completed` with the mall's order id (a client-side signal of the same
order, never an extra one); refunds arrive as `Order Refunded`. Visits that start from an ad
carry UTM tags in `context.campaign` and the click id in `context.referrer`.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from .catalog import APP_AGENTS, CAMPAIGNS, CITIES, ONLINE_HOURS, PRODUCT_WEIGHTS, PRODUCTS, \
    SEARCH_QUERIES, UNKNOWN_EVENTS, WEB_AGENTS
from .entry import ad_campaign, click_id
from .orders import Detail
from .rand import iso_local, iso_utc, uuid4
from .world import REG_CHANNELS

if TYPE_CHECKING:
    from .day import Day

_HOURS_P = np.asarray(ONLINE_HOURS) / sum(ONLINE_HOURS)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
SITE = "https://www.lumen-beauty.example.cn"
UTM_SOURCE = {"ocean_engine": "douyin", "baidu": "baidu", "tencent_ads": "wechat"}
_PRODUCT_INDEX = {p.product_id: k for k, p in enumerate(PRODUCTS)}
ORGANIC = ["https://www.baidu.com/", "https://cn.bing.com/", "https://www.xiaohongshu.com/"]
REFERRERS = {"ocean_engine": "https://www.douyin.com/", "baidu": "https://m.baidu.com/s?word="}


class Session:
    """One visit of one person on one surface: a clock, an identity and a context."""

    def __init__(self, day: "Day", surface: str, i: int, start_ms: int, user: str | None,
                 anon: str | None, out: list[tuple[int, str]]):
        w = day.w
        self.day, self.surface, self.i, self.ts, self.out = day, surface, i, start_ms, out
        self.app = surface == "app"
        self.nz, self.r = day.noise(surface), day.py(f"{surface}-events")
        self.user = self.nz.member(user) if user else None
        self.anon = anon
        os_name, agent = (APP_AGENTS if self.app else WEB_AGENTS)[int(w.agent[i])]
        ip = int(w.ip[i])
        self.ctx: dict[str, object] = {"ip": f"{ip >> 24}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}",
                                       "locale": "zh-CN", "userAgent": agent, "os": {"name": os_name}}
        self._ctx_json: str | None = None        # the context is encoded once per visit, not per event
        # Web: where the first page came from (direct, organic search, or an ad's landing URL).
        self.url, self.referrer, self.landing = "", "", ""
        self.came_from = "" if self.r.random() < 0.7 else self.r.choice(ORGANIC)

    def from_ad(self, campaign: int, cid: str) -> None:
        """The visit starts from an ad click: UTM tags, the click id, and a click in the ad log."""
        c = CAMPAIGNS[campaign]
        utm = {"source": UTM_SOURCE[c.platform], "medium": c.utm_medium, "name": c.campaign_id,
               "content": f"{c.campaign_id}01"}
        if c.utm_term:
            utm["term"] = c.utm_term
        self.ctx["campaign"] = utm
        self.ctx["referrer"] = {"type": "click_id", "id": cid}
        self._ctx_json = None
        self.came_from = REFERRERS.get(c.platform, "")
        self.landing = f"{SITE}/?utm_source={utm['source']}&utm_medium={c.utm_medium}&utm_campaign={c.campaign_id}"
        device = self.day.w.ids.app_device[self.i] if self.app else ""
        self.day.clicks.add(campaign, cid, device, self.ts - self.r.randint(2_000, 30_000), self.i)

    def emit(self, typ: str, event: str | None = None, props: dict | None = None,
             traits: dict | None = None, page: str | None = None) -> None:
        r, nz = self.r, self.nz
        self.ts += 3_000 + int(r.random() * 87_000)
        ev: dict[str, object] = {"messageId": uuid4(r), "type": typ}
        if event:
            ev["event"] = event
        if self.anon is not None:                # an SDK now and then sends "undefined" and the like
            ev["anonymousId"] = nz.ident(self.anon) if nz.on else self.anon
        if self.user:
            ev["userId"] = nz.ident(self.user) if nz.on else self.user
        ts = nz.timestamp(self.ts, self.day.end_ms) if nz.on else self.ts
        ev["timestamp"] = iso_local(ts) if self.app else iso_utc(ts)
        if self._ctx_json is None:
            self._ctx_json = _encode(self.ctx)
        ctx = self._ctx_json
        if not self.app:
            if page and not self.url:            # the first page of the visit
                self.url, self.referrer = self.landing or f"{SITE}{page}", self.came_from
            elif page:
                self.referrer, self.url = self.url, f"{SITE}{page}"
            ctx = f'{ctx[:-1]},"page":{_encode({"url": self.url, "referrer": self.referrer})}}}'
        if nz.on and nz.hit("no_identity"):
            ev.pop("anonymousId", None)
            ev.pop("userId", None)
        parts = [_encode(ev)[:-1], ',"context":', ctx]
        if props is not None:
            if nz.on and typ == "track" and nz.hit("numbers_as_strings"):
                props = {k: (f"{v:.2f}" if isinstance(v, float) else str(v)) if isinstance(v, (int, float)) else v
                         for k, v in props.items()}
            parts += [',"properties":', _encode(props)]
        if traits is not None:
            parts += [',"traits":', _encode(traits)]
        parts.append("}")
        self.out.append((self.ts, "".join(parts)))
        if nz.on and typ == "track" and nz.hit("unknown_event"):
            self.emit("track", r.choice(UNKNOWN_EVENTS), {})

    def view(self, product_index: int, add: bool = False, quantity: int = 1) -> None:
        p = PRODUCTS[product_index]
        props = {"product_id": p.product_id, "sku": self.r.choice(p.skus), "category": p.category,
                 "price": p.price_cents / 100, "currency": "CNY"}
        if self.app:
            self.emit("screen", props={"category": p.category})
        else:
            self.emit("page", props={"category": p.category}, page=f"/p/{p.product_id}")
        self.emit("track", "Product Viewed", props)
        if add:
            self.emit("track", "Product Added", dict(props, quantity=quantity))

    def login(self, member_id: str, signed_up: bool) -> None:
        """First log-in on this surface: the event, then identify with traits, then userId."""
        w, i, nz = self.day.w, self.i, self.nz
        self.user = nz.member(member_id)
        self.emit("track", "Signed Up" if signed_up else "Logged In", {})
        city = CITIES[int(w.city[i])][0]
        traits: dict[str, object] = {"phone": nz.phone(w.ids.phone[i]), "name": str(w.ids.name[i]),
                                     "gender": "female" if w.female[i] else "male",
                                     "birthday": str(np.datetime64(int(w.birth[i]), "D")), "city": city}
        if w.has_email[i]:
            traits["email"] = nz.email(w.ids.email[i])
        self.emit("identify", traits=traits)

    def browse(self, views: int) -> None:
        r = self.r
        if self.app and self.user and r.random() < 0.1:
            self.emit("track", "Push Opened", {})
        if self.app:
            self.emit("screen", props={})
        else:
            self.emit("page", props={}, page="/")
        if r.random() < 0.2:
            self.emit("track", "Products Searched", {"search_query": r.choice(SEARCH_QUERIES)})
        picks = r.choices(range(len(PRODUCTS)), weights=PRODUCT_WEIGHTS, k=views)
        for n, k in enumerate(picks):
            self.view(k, add=(n == len(picks) - 1 and r.random() < 0.25))
        if r.random() < 0.04:
            self.emit("track", "Experiment Viewed", {"experiment_id": "exp_checkout_v2", "variant": r.choice("AB")})

    def purchase(self, order_id: str, d: Detail, cancelled: bool) -> None:
        for line in d.lines:
            self.view(_PRODUCT_INDEX[line.product_id], add=True, quantity=line.quantity)
        self.emit("track", "Cart Viewed", {})
        subtotal = sum(x.quantity * x.unit_cents for x in d.lines)
        self.emit("track", "Checkout Started", {"order_id": order_id, "revenue": subtotal / 100, "currency": "CNY"})
        if d.coupon_code:
            self.emit("track", "Coupon Applied", {"order_id": order_id, "coupon": d.coupon_code,
                                                  "discount": d.discount_cents / 100})
        if not cancelled:
            self.emit("track", "Order Completed", {
                "order_id": order_id, "revenue": d.amount_cents / 100, "discount": d.discount_cents / 100,
                "coupon": d.coupon_code or "", "currency": "CNY"})


def app_web_events(day: "Day", surface: str) -> list[tuple[int, str]]:
    """Every Segment event of one surface on one day, as (true time, JSON line)."""
    w, t, book = day.w, day.t, day.book
    app = surface == "app"
    rng, r = day.rng(f"{surface}-sessions"), day.py(f"{surface}-plan")
    users, first_login = (w.app_user, w.app_login) if app else (w.web_user, w.web_login)
    device = w.ids.app_device if app else w.ids.web_cookie
    active = day.alive & users & (rng.random(w.n) < w.habit(surface) * w.activity * w.cal.online(t))
    logs_in = day.alive & users & (first_login == t)
    out: list[tuple[int, str]] = []
    logged: set[int] = set()

    def member(i: int) -> str | None:
        return w.ids.member_id[i] if first_login[i] < t or i in logged else None

    def signs_up(i: int) -> bool:
        return bool(w.signup[i] == t) and REG_CHANNELS[int(w.reg[i])] == surface

    plan = book.today
    for k in np.flatnonzero(plan.platform == (0 if app else 1)).tolist():
        i, d = int(plan.person[k]), book.detail(plan, k)
        s = Session(day, surface, i, int(plan.at_ms[k]) - (3 * len(d.lines) + 5) * 45_000, member(i), device[i], out)
        if d.campaign is not None and d.click_id:
            s.from_ad(d.campaign, d.click_id)
        if logs_in[i] and i not in logged:
            s.login(w.ids.member_id[i], signs_up(i))
            logged.add(i)
        s.purchase(plan.order_id[k], d, bool(plan.cancelled[k]))

    idx = np.flatnonzero(active | logs_in)
    start = day.start_ms + rng.choice(24, len(idx), p=_HOURS_P) * 3_600_000 + rng.integers(0, 3_600_000, len(idx))
    views = np.minimum(rng.geometric(0.4, len(idx)), 10)
    p_ad = w.habit("ad_session")[idx] * np.where(w.first_seen[idx] == t, 3.0, 1.0)
    ad = rng.random(len(idx)) < p_ad
    for j, i in enumerate(idx.tolist()):
        if i in logged:
            continue
        s = Session(day, surface, i, int(start[j]), member(i), device[i], out)
        if ad[j]:
            c = ad_campaign(w, t, surface, r)
            if c is not None:
                s.from_ad(c, click_id(CAMPAIGNS[c].platform, r))
        if logs_in[i]:                       # anonymous browsing, then the first log-in
            s.browse(1)
            s.login(w.ids.member_id[i], signs_up(i))
            logged.add(i)
        s.browse(int(views[j]))

    for plan in book.plans():
        for k in np.flatnonzero((plan.refund == t) & (plan.platform == (0 if app else 1))).tolist():
            i = int(plan.person[k])
            if day.alive[i]:
                s = Session(day, surface, i, day.start_ms + r.randint(36_000_000, 72_000_000),
                            w.ids.member_id[i], device[i], out)
                s.emit("track", "Order Refunded", {"order_id": plan.order_id[k], "currency": "CNY",
                                                   "revenue": book.detail(plan, k).refund_cents / 100})
    if app:                                  # members checking points on the flagship's tablet
        for i in np.flatnonzero(day.alive & (w.tablet_day == t)).tolist():
            s = Session(day, surface, i, day.start_ms + r.randint(39_600_000, 75_600_000), None,
                        w.ids.tablet_device, out)
            s.login(w.ids.member_id[i], False)
            s.browse(1)
    return out
