"""The people of a generated world and the plan of their lives, decided once, up front.

Every life event a day depends on (first visit, sign-up, first log-in on app/web, WeChat
authorisation, following the official account, becoming a guide's WeCom friend, consent
withdrawal, erasure, a one-off purchase, a log-in on the store tablet) is a day index fixed
here. A day's activity is then a pure function of (world, day, seed): no state flows between
days, so days can be generated in any order, in parallel, with memory bounded by the number of
customers. Day indexes: 0 = the first day of the range, negative = before it, NEVER = not
within the range.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import CITIES, FLAGSHIP, HABITS, PERSONA_NAMES, PERSONA_SHARES, STORES
from .identities import Identities, build_identities
from .noise import RATES
from .rand import np_rng
from .timeline import Calendar

NEVER = 1 << 20
NEW_PER_DAY = 0.006            # new customers per day, as a share of the customer base
REG_CHANNELS = ["app", "web", "miniprogram", "store", "guide", "legacy_import"]
# Where each persona's members registered (app, web, miniprogram, store, guide; legacy is by age).
REG_WEIGHTS = np.array([
    [0.8, 0.1, 0.1, 0, 0], [0, 0.05, 0.95, 0, 0], [0.05, 0, 0.1, 0.6, 0.25], [0, 0, 1, 0, 0],
    [0, 0.2, 0.8, 0, 0], [0.35, 0.3, 0.35, 0, 0], [0, 0.3, 0.4, 0.3, 0], [0.2, 0.6, 0.2, 0, 0],
])
TIERS = ["classic", "silver", "gold", "platinum"]


@dataclass
class World:
    seed: int
    noise: float
    cal: Calendar
    n: int
    persona: np.ndarray
    activity: np.ndarray       # personal intensity: lognormal, mean ~1, a heavy tail
    female: np.ndarray
    birth: np.ndarray          # days since 1970-01-01
    city: np.ndarray
    store: np.ndarray          # home store index
    guide: np.ndarray          # index into catalog.GUIDES (the home store's guide who adds them)
    first_seen: np.ndarray
    signup: np.ndarray         # member since (NEVER: not a member by the end of the range)
    reg: np.ndarray            # index into REG_CHANNELS
    app_user: np.ndarray
    app_login: np.ndarray      # first app log-in: anonymousId only before it
    web_user: np.ndarray
    web_login: np.ndarray
    mp_user: np.ndarray
    mp_auth: np.ndarray        # unionid shows in the mini-program from this day
    oa_user: np.ndarray
    oa_sub: np.ndarray
    oa_unsub: np.ndarray
    friend_day: np.ndarray     # the guide adds them on WeCom
    withdraw: np.ndarray       # consent withdrawn
    erased: np.ndarray         # asked to be forgotten: gone from the CRM, inactive from that day
    one_off_day: np.ndarray
    tablet_day: np.ndarray     # logs in on the flagship's shared tablet (noise > 0 only)
    has_email: np.ndarray
    buddy: np.ndarray          # a mini-program user who shares cards with them
    ip: np.ndarray
    agent: np.ndarray
    consent: np.ndarray        # bits: 1 sms, 2 email, 4 wechat
    tier: np.ndarray
    points: np.ndarray
    ids: Identities

    @property
    def key(self) -> tuple:
        """What the world is a function of (for per-process caches)."""
        return (self.seed, self.n, self.cal.start, self.cal.days, self.noise)

    def habit(self, name: str) -> np.ndarray:
        """A persona habit (catalog.HABITS) spread over every person."""
        return np.asarray(HABITS[name], dtype=np.float64)[self.persona]

    def alive(self, t: int) -> np.ndarray:
        """People who exist for the brand on day t and have not asked to be forgotten."""
        return (self.first_seen <= t) & (t < self.erased)


def _within(rng: np.random.Generator, lo: np.ndarray, hi: int) -> np.ndarray:
    """A uniform day in [lo, hi) per person, NEVER where the window is empty."""
    lo = np.maximum(lo, 0)
    day = lo + np.floor(rng.random(len(lo)) * np.maximum(hi - lo, 0)).astype(np.int64)
    return np.where(lo < hi, day, NEVER)


def _hazard(rng: np.random.Generator, n: int, per_day: float, days: int) -> np.ndarray:
    """The first day in the range something with a daily probability happens, NEVER if it does not."""
    day = rng.geometric(per_day, n) - 1
    return np.where(day < days, day, NEVER)


def _before(rng: np.random.Generator, lo: np.ndarray) -> np.ndarray:
    """A day in [lo, -1] (some time before the range, after `lo`)."""
    return lo + np.floor(rng.random(len(lo)) * np.maximum(-lo, 1)).astype(np.int64)


def _choose(rng: np.random.Generator, mask: np.ndarray, k: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    return rng.choice(idx, size=min(k, len(idx)), replace=False) if len(idx) else idx


def build_world(customers: int, cal: Calendar, seed: int, noise: float) -> World:
    """Draw every person and their life plan; the same arguments give the same world anywhere."""
    n, days = customers, cal.days
    rng = np_rng(seed, "world")
    persona = rng.choice(len(PERSONA_NAMES), n, p=PERSONA_SHARES)
    hab = {k: np.asarray(v)[persona] for k, v in HABITS.items()}
    activity = rng.lognormal(-0.35, 0.85, n)
    # New customers arrive at a daily rate (and in-range life events below have daily rates too),
    # so a short range is not crowded with newcomers and sign-ups.
    existing = rng.random(n) >= 1 - (1 - NEW_PER_DAY) ** days
    first_seen = np.where(existing, -rng.integers(30, 1000, n), rng.integers(0, days, n))
    lag = rng.geometric(0.3, n) - 1
    joins_now = rng.random(n) < 0.3             # existing customers not yet in the programme
    signup = np.where(existing, np.where(joins_now, _hazard(rng, n, 0.006, days), _before(rng, first_seen)),
                      first_seen + lag)
    signup = np.where((rng.random(n) < hab["member"]) & (signup < days), signup, NEVER)
    member = signup < NEVER
    w = REG_WEIGHTS[persona]
    reg = (rng.random(n)[:, None] > np.cumsum(w, axis=1) / w.sum(1, keepdims=True)).sum(1)
    reg = np.where(member & (signup < -700), 5, np.minimum(reg, 4))

    app_user = (rng.random(n) < hab["uses_app"]) | (member & (reg == 0))
    web_user = (rng.random(n) < hab["uses_web"]) | (member & (reg == 1))
    mp_user = (rng.random(n) < hab["uses_mp"]) | (member & (reg == 2))
    oa_user = rng.random(n) < hab["uses_oa"]
    friend = (rng.random(n) < hab["guide_friend"]) | (member & (reg == 4))

    def login(users: np.ndarray, channel: int, ever: float) -> np.ndarray:
        """First log-in on app (0) or web (1): at sign-up there, or days after; `ever` of members do."""
        late = signup + rng.geometric(0.2, n)
        old = np.where(rng.random(n) < 0.7, _before(rng, signup), _hazard(rng, n, 0.006, days))
        day = np.where(signup < 0, old, np.where(reg == channel, signup, late))
        keep = users & member & (rng.random(n) < ever) & (day < days)
        return np.where(keep, day, NEVER)

    app_login = login(app_user, 0, 0.95)
    web_login = login(web_user, 1, 0.45)
    later = first_seen + rng.geometric(0.25, n)
    u = rng.random(n)
    in_range = _hazard(rng, n, 0.015, days)
    mp_auth = np.where(existing, np.where(u < 0.75, first_seen, np.where(u < 0.95, in_range, NEVER)),
                       np.where(u < 0.2, first_seen, np.where(u < 0.7, later, NEVER)))
    mp_auth = np.where(member & (reg == 2), np.minimum(mp_auth, signup), mp_auth)
    mp_auth = np.where(mp_user & (mp_auth < days), mp_auth, NEVER)
    u = rng.random(n)
    oa_sub = np.where(existing, np.where(u < 0.8, first_seen, NEVER), np.where(u < 0.5, later, NEVER))
    oa_sub = np.where(oa_user & (oa_sub < days), oa_sub, NEVER)
    oa_unsub = np.where((oa_sub < NEVER) & (rng.random(n) < 0.03), _within(rng, oa_sub + 1, days), NEVER)
    u = rng.random(n)
    friend_day = np.where(existing & (u < 0.6), first_seen, np.where(existing, _hazard(rng, n, 0.02, days),
                                                                     first_seen + rng.geometric(0.2, n)))
    friend_day = np.where(member & (reg == 4), np.minimum(friend_day, signup), friend_day)
    friend_day = np.where(friend & (friend_day < days), friend_day, NEVER)

    # Consent withdrawals and erasures: a fixed share of members, at least one each, so even a
    # tiny world exercises both paths.
    withdraw = np.full(n, NEVER, dtype=np.int64)
    erased = np.full(n, NEVER, dtype=np.int64)
    can = member & (signup < days - 1)
    pick = _choose(rng, can, max(1, round(0.02 * can.sum())))
    withdraw[pick] = _within(rng, signup[pick] + 1, days)
    pick = _choose(rng, can, max(1, round(0.004 * can.sum())))
    erased[pick] = _within(rng, np.maximum(signup[pick] + 1, 1), days)
    # One-off buyers: newcomers buy within days of arriving, known ones at a low daily rate.
    one_off_day = np.where(existing, rng.geometric(0.01, n) - 1, first_seen + rng.geometric(0.3, n) - 1)
    one_off_day = np.where((persona == PERSONA_NAMES.index("one_off_buyer")) & (one_off_day < days), one_off_day, NEVER)

    city_w = np.array([c[2] for c in CITIES], dtype=float)
    city = rng.choice(len(CITIES), n, p=city_w / city_w.sum())
    store_cities = sorted({s.city_index for s in STORES})
    regulars = persona == PERSONA_NAMES.index("store_regular")
    sc_w = city_w[store_cities] / city_w[store_cities].sum()
    city = np.where(regulars, np.asarray(store_cities)[rng.choice(len(store_cities), n, p=sc_w)], city)
    by_city = {c: [i for i, s in enumerate(STORES) if s.city_index == c] for c in range(len(CITIES))}
    pick_u = rng.random(n)
    store = np.array([(by_city[c] or list(range(len(STORES))))[int(x * len(by_city[c] or STORES))]
                      for c, x in zip(city.tolist(), pick_u.tolist())], dtype=np.int16)
    guide = store.astype(np.int32) * 3 + rng.integers(0, 3, n)

    # The shared tablet (noise): members of the flagship's city first, then any member.
    tablet_day = np.full(n, NEVER, dtype=np.int64)
    k = int(min(400, round(RATES["shared_device"] * noise * n))) if noise > 0 else 0
    if k:                                       # its own stream: noise never changes who people are
        trng = np_rng(seed, "tablet")
        cands = can & (erased == NEVER)
        near = _choose(trng, cands & (store == FLAGSHIP), k)
        rest = _choose(trng, cands & (store != FLAGSHIP), k - len(near))
        pick = np.concatenate([near, rest]).astype(np.int64)
        tablet_day[pick] = _within(trng, signup[pick], days)

    mp_idx = np.flatnonzero(mp_user) if mp_user.any() else np.arange(n)
    buddy = mp_idx[rng.integers(0, len(mp_idx), n)]
    has_email = rng.random(n) < 0.7
    tier = np.minimum(3, (rng.random(n) * (1.6 + 1.2 * regulars)).astype(np.int64))
    return World(
        seed=seed, noise=noise, cal=cal, n=n, persona=persona, activity=activity,
        female=rng.random(n) < 0.78,
        birth=(cal.start.toordinal() - 719_163 - np.clip(rng.normal(32, 8, n), 18, 65) * 365.25).astype(np.int64),
        city=city, store=store, guide=guide, first_seen=first_seen, signup=signup, reg=reg,
        app_user=app_user, app_login=app_login, web_user=web_user, web_login=web_login,
        mp_user=mp_user, mp_auth=mp_auth, oa_user=oa_user, oa_sub=oa_sub, oa_unsub=oa_unsub,
        friend_day=friend_day, withdraw=withdraw, erased=erased, one_off_day=one_off_day,
        tablet_day=tablet_day, has_email=has_email, buddy=buddy,
        ip=(rng.choice([36, 58, 101, 112, 113, 117, 120, 183, 222, 223], n).astype(np.int64) << 24)
        + rng.integers(0, 1 << 24, n),
        agent=rng.integers(0, 5, n),
        consent=((rng.random(n) < 0.7) * 1 + (has_email & (rng.random(n) < 0.5)) * 2 + (rng.random(n) < 0.8) * 4),
        tier=tier, points=(tier * 3000 + rng.integers(0, 3000, n)),
        ids=build_identities(n, seed, has_email),
    )
