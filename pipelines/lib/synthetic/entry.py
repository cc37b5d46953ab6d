"""How people arrive: mini-program entry scenes, ad clicks, shared cards, articles, live rooms.

One place decides entries for browsing sessions and for orders, so an order's `source` object,
the mini-program session that led to it and the ad platform's click log always agree.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .catalog import CAMPAIGNS, GUIDES, HABITS, PERSONA_NAMES, SCENE_WEIGHTS, SCENES
from .rand import token

if TYPE_CHECKING:
    from .orders import OrderPlan
    from .world import World

_REGULAR = PERSONA_NAMES.index("store_regular")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def click_id(platform: str, r: random.Random) -> str:
    """Click ids in each platform's own shape (gdt_vid, Ocean Engine clickid, Baidu bd_vid)."""
    if platform == "tencent_ads":
        return "wx0" + token(r, 15)
    if platform == "ocean_engine":
        return "B." + token(r, 30, _ALNUM)
    return "bdv" + token(r, 22, _ALNUM)


def ad_campaign(w: "World", t: int, lands_on: str, r: random.Random) -> int | None:
    """An ad running today that lands on this surface, or None when none does."""
    running = w.cal.campaigns(t)
    options = [k for k, c in enumerate(CAMPAIGNS) if c.lands_on == lands_on and c in running]
    return r.choice(options) if options else None


def mp_entry(w: "World", t: int, i: int, r: random.Random, scene: int | None = None) -> dict[str, object]:
    """A mini-program entry for person i: scene plus the field that scene carries.

    Scenes that need something that does not exist today (no live room in the last days, no
    running ad) fall back to 1089, the recent-apps list.
    """
    if scene is None:
        scene = r.choices(SCENES, weights=SCENE_WEIGHTS[int(w.persona[i])])[0]
    e: dict[str, object] = {"scene": scene, "gdt_vid": "", "room_id": "", "article_id": "",
                            "share_from_openid": "", "guide_id": "", "campaign": None}
    if scene in (1007, 1008):
        buddy = int(w.buddy[i])
        if buddy != i:
            e["share_from_openid"] = w.ids.mp_openid[buddy]
        else:
            e["scene"] = 1089
    elif scene == 1058:
        articles = w.cal.recent_articles(t)
        if articles:
            e["article_id"] = r.choice(articles)[0]
        else:
            e["scene"] = 1089
    elif scene == 1177:
        room = w.cal.recent_room(t)
        if room:
            e["room_id"] = room
        else:
            e["scene"] = 1089
    elif scene == 1095:
        c = ad_campaign(w, t, "miniprogram", r)
        if c is None:
            e["scene"] = 1089
        else:
            e["campaign"], e["gdt_vid"] = c, click_id("tencent_ads", r)
    return e


def entry_source(w: "World", plan: "OrderPlan", k: int,
                 r: random.Random) -> tuple[dict[str, object] | None, int | None, str | None]:
    """The mall's `source` object for order k, plus the ad campaign and click id behind it."""
    i, t, platform = int(plan.person[k]), plan.t, int(plan.platform[k])
    if platform == 3:
        return None, None, None
    keys = ("scene", "gdt_vid", "room_id", "article_id", "guide_id", "share_from_openid")
    if platform == 2:
        guide_led = w.persona[i] == _REGULAR and w.friend_day[i] <= t and r.random() < 0.4
        e = mp_entry(w, t, i, r, scene=1007 if guide_led else None)
        if guide_led:
            e["share_from_openid"], e["guide_id"] = "", GUIDES[int(w.guide[i])][0]
        src = {key: (e[key] or None) for key in keys}
        return src, e["campaign"], (e["gdt_vid"] or None)  # type: ignore[return-value]
    # App and web checkouts: the mall records no WeChat entry, but an ad may have led the visit.
    campaign = None
    if r.random() < 2 * HABITS["ad_session"][int(w.persona[i])]:
        campaign = ad_campaign(w, t, "app" if platform == 0 else "web", r)
    cid = click_id(CAMPAIGNS[campaign].platform, r) if campaign is not None else None
    return {key: None for key in keys}, campaign, cid
