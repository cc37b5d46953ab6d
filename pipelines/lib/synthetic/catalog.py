"""The brand's fixed reference data: cities, names, products, stores, guides, ad campaigns, personas.

Nothing here depends on the seed: every generated world sells the same catalogue in the same
stores, so two worlds differ only in their people and what those people do. All ids are written
in the forms the channels really export (WeChat-style appids, numeric ad ids, store codes).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# (city, province, weight): weights roughly follow where a premium beauty brand sells.
CITIES: list[tuple[str, str, float]] = [
    ("上海", "上海", 12), ("北京", "北京", 10), ("深圳", "广东", 8), ("广州", "广东", 7),
    ("杭州", "浙江", 6), ("成都", "四川", 6), ("南京", "江苏", 5), ("重庆", "重庆", 5),
    ("武汉", "湖北", 5), ("苏州", "江苏", 4), ("西安", "陕西", 4), ("天津", "天津", 3),
    ("长沙", "湖南", 3), ("郑州", "河南", 3), ("青岛", "山东", 3), ("厦门", "福建", 2),
    ("宁波", "浙江", 2), ("沈阳", "辽宁", 2), ("昆明", "云南", 2), ("合肥", "安徽", 2),
]
# Mainland mobile prefixes actually in service (1[3-9]x).
PHONE_PREFIXES = [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156,
                  157, 158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186,
                  187, 188, 189, 198, 199]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲宇浩婷雪琳晨欣怡思涵子轩梓"
PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
          "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao", "xiao", "mei", "ling", "jie", "ying",
          "hua", "fang", "min", "jing", "lei", "tao", "yu", "xin", "yi", "han", "chen", "qing"]
EMAIL_DOMAINS = [("qq.com", 40), ("163.com", 22), ("126.com", 8), ("foxmail.com", 6),
                 ("gmail.com", 6), ("outlook.com", 6), ("sina.com", 6), ("icloud.com", 6)]

# (code, Chinese name as legacy tills print it, price range in CNY)
CATEGORIES = [("skincare", "护肤", 180, 680), ("makeup", "彩妆", 90, 380),
              ("fragrance", "香氛", 420, 1280), ("haircare", "洗护", 60, 220),
              ("bodycare", "身体护理", 50, 180), ("gift_set", "礼盒", 388, 1888)]
CATEGORY_ZH = {code: zh for code, zh, _, _ in CATEGORIES}

MP_APPID = "wx6f2a91c3d8e4b705"   # the mall mini-program
OA_APPID = "wx1b7e04c9a2d35f86"   # the official account (a different appid: openids differ)


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    skus: tuple[str, ...]
    price_cents: int


@dataclass(frozen=True)
class Store:
    store_id: str
    city_index: int
    legacy_till: bool          # GB18030 export, Chinese labels, thousands separators
    guides: tuple[str, ...]


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    platform: str              # tencent_ads | ocean_engine | baidu
    name: str
    channel: str
    lands_on: str              # miniprogram | app | web
    promo_only: bool           # runs only around the sale
    daily_outside_clicks: int  # clicks from people who are not (yet) customers
    ctr: float
    cpc_cents: int
    utm_medium: str
    utm_term: str


def _products() -> list[Product]:
    """Seventy-odd products with one to three sizes; the same catalogue for every seed."""
    r = random.Random("catalog")
    out = []
    for ci, (code, _zh, lo, hi) in enumerate(CATEGORIES):
        for k in range(12):
            pid = f"P{ci + 1}{k + 1:03d}"
            sizes = r.choice([("STD",), ("30ML", "50ML"), ("S", "M", "L"), ("STD", "REFILL")])
            price = r.randrange(lo, hi + 1) // 10 * 1000 - 100 + (100 if r.random() < 0.3 else 0)
            out.append(Product(pid, code, tuple(f"{pid}-{s}" for s in sizes), max(price, 1900)))
    return out


PRODUCTS = _products()
# Zipf-like popularity: a few hero products sell most.
PRODUCT_WEIGHTS = [1.0 / (1 + (i * 7) % len(PRODUCTS)) ** 0.8 for i in range(len(PRODUCTS))]


def _stores() -> list[Store]:
    """Twenty-four stores in the larger cities; every third one still runs a legacy till."""
    out = []
    plan = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    for n, city in enumerate(plan, 1):
        guides = tuple(f"G{n:03d}{g}" for g in range(1, 4))
        out.append(Store(f"S{n:03d}", city, legacy_till=(n % 3 == 0), guides=guides))
    return out


STORES = _stores()
FLAGSHIP = 0            # the Shanghai flagship: its in-store tablet is the shared device
GUIDES = [(g, s.store_id) for s in STORES for g in s.guides]

CAMPAIGNS = [
    Campaign("3581204417", "tencent_ads", "朋友圈-焕颜精华-常投", "wechat_moments", "miniprogram", False, 30, 0.12, 180, "cpc", ""),
    Campaign("3581209932", "tencent_ads", "公众号底部-会员拉新", "wechat_oa", "miniprogram", False, 15, 0.10, 150, "cpc", ""),
    Campaign("3581277105", "tencent_ads", "朋友圈-年中大促", "wechat_moments", "miniprogram", True, 80, 0.15, 210, "cpc", ""),
    Campaign("1790331458806276", "ocean_engine", "抖音信息流-香氛种草", "douyin_feed", "app", False, 40, 0.14, 120, "paid_social", ""),
    Campaign("1790338817450019", "ocean_engine", "抖音-大促直达", "douyin_feed", "web", True, 60, 0.15, 140, "paid_social", ""),
    Campaign("88120431", "baidu", "品牌词-搜索", "search", "web", False, 20, 0.22, 90, "cpc", "品牌官网"),
    Campaign("88120877", "baidu", "品类词-精华面霜", "search", "web", False, 25, 0.18, 160, "cpc", "精华 推荐"),
]

# Persona habits. Rates are daily probabilities of one session/visit for an average person
# (each person's own activity multiplier scales them); buy rates are per day.
PERSONA_NAMES = ["app_loyalist", "wechat_native", "store_regular", "live_fan", "article_reader",
                 "bargain_hunter", "one_off_buyer", "browser"]
PERSONA_SHARES = [0.11, 0.18, 0.13, 0.07, 0.10, 0.10, 0.13, 0.18]
HABITS: dict[str, list[float]] = {
    #                 app    wechat store  live   reader bargain oneoff browser
    "uses_app":      [1.0,  0.05,  0.25,  0.0,   0.0,   0.6,    0.2,   0.35],
    "uses_web":      [0.3,  0.1,   0.1,   0.05,  0.25,  0.6,    0.4,   0.8],
    "uses_mp":       [0.3,  1.0,   0.6,   1.0,   0.7,   0.7,    0.4,   0.3],
    "uses_oa":       [0.1,  0.6,   0.3,   0.4,   1.0,   0.2,    0.1,   0.1],
    "guide_friend":  [0.1,  0.15,  0.8,   0.05,  0.05,  0.1,    0.05,  0.0],
    "member":        [0.95, 0.55,  0.97,  0.5,   0.35,  0.75,   0.3,   0.15],
    "app":           [0.20, 0.0,   0.02,  0.0,   0.0,   0.065,  0.013, 0.032],
    "web":           [0.02, 0.01,  0.005, 0.01,  0.015, 0.04,   0.015, 0.05],
    "mp":            [0.015, 0.10, 0.02,  0.065, 0.032, 0.05,   0.01,  0.015],
    "oa":            [0.02, 0.06,  0.02,  0.03,  0.25,  0.02,   0.01,  0.01],
    "live":          [0.0,  0.01,  0.0,   0.25,  0.01,  0.015,  0.0,   0.0],
    "guide":         [0.02, 0.02,  0.06,  0.01,  0.01,  0.02,   0.01,  0.0],
    "buy_online":    [0.010, 0.008, 0.001, 0.009, 0.002, 0.004, 0.0,   0.0],
    "buy_store":     [0.001, 0.001, 0.025, 0.0,   0.001, 0.003, 0.0,   0.0],
    "coupon":        [0.15, 0.2,   0.25,  0.3,   0.1,   0.75,   0.2,   0.0],
    "ad_session":    [0.015, 0.025, 0.005, 0.02, 0.015, 0.08,   0.12,  0.06],
}
# Where each persona's online orders happen: app, web, miniprogram.
ORDER_PLATFORM_WEIGHTS = [
    [0.8, 0.1, 0.1], [0.0, 0.05, 0.95], [0.2, 0.1, 0.7], [0.0, 0.0, 1.0],
    [0.0, 0.3, 0.7], [0.35, 0.3, 0.35], [0.15, 0.4, 0.45], [0.3, 0.4, 0.3],
]
# Mini-program entry scenes by persona (the share of sessions entering each way).
SCENES = [1089, 1007, 1008, 1011, 1035, 1043, 1058, 1095, 1177]
SCENE_WEIGHTS = [
    [0.6, 0.1, 0.05, 0.05, 0.05, 0.1, 0.02, 0.03, 0.0],
    [0.35, 0.15, 0.07, 0.05, 0.1, 0.08, 0.08, 0.07, 0.05],
    [0.3, 0.25, 0.05, 0.2, 0.05, 0.1, 0.02, 0.03, 0.0],
    [0.25, 0.1, 0.05, 0.0, 0.05, 0.05, 0.0, 0.05, 0.45],
    [0.25, 0.1, 0.05, 0.0, 0.15, 0.05, 0.35, 0.03, 0.02],
    [0.3, 0.15, 0.1, 0.05, 0.05, 0.1, 0.05, 0.15, 0.05],
    [0.3, 0.2, 0.1, 0.1, 0.0, 0.0, 0.05, 0.25, 0.0],
    [0.4, 0.2, 0.1, 0.05, 0.05, 0.0, 0.05, 0.15, 0.0],
]
ONLINE_HOURS = [1, .5, .3, .2, .2, .3, .8, 1.5, 2, 2.5, 3, 3.5, 4, 3.5, 3, 3, 3, 3.5, 4.5, 5.5, 6, 6, 5, 3]
STORE_HOURS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 4, 4, 4, 4, 4, 5, 6, 6, 4, 1, 0]
WEEKDAY_ONLINE = [0.92, 0.9, 0.95, 1.0, 1.08, 1.2, 1.15]   # Monday first
WEEKDAY_STORE = [0.75, 0.75, 0.8, 0.85, 1.05, 1.55, 1.45]

APP_AGENTS = [
    ("iOS", "Lumen/5.12.0 (iPhone; iOS 17.5.1; Scale/3.00)"),
    ("iOS", "Lumen/5.11.2 (iPhone; iOS 16.7.8; Scale/3.00)"),
    ("Android", "Lumen/5.12.0 (Android 14; HUAWEI ALN-AL00)"),
    ("Android", "Lumen/5.12.0 (Android 13; Xiaomi 2211133C)"),
    ("Android", "Lumen/5.10.4 (Android 12; OPPO PFEM10)"),
]
WEB_AGENTS = [
    ("iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49"),
    ("iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"),
    ("Android", "Mozilla/5.0 (Linux; Android 14; ALN-AL00) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36"),
    ("Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    ("Mac OS X", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"),
]
ARTICLE_TITLES = ["冬日修护指南：换季肌肤这样养", "新品首发｜焕颜精华，28天见证改变", "会员日福利来袭，积分翻倍",
                  "成分党必看：烟酰胺与维C能一起用吗？", "直播预告：今晚8点，品牌创始人亲自讲解",
                  "门店活动｜到店体验，领取专属小样", "香氛故事：一瓶香水里的江南春天",
                  "大促攻略：满300减50，叠加会员券更划算"]
SEARCH_QUERIES = ["精华", "面霜", "香水", "洗发水", "礼盒", "防晒", "vitamin c", "口红", "身体乳", "眼霜"]
UNKNOWN_EVENTS = ["Wishlist Added", "app_crash", "Banner Clicked", "test_event", "Page Scrolled 50%"]
