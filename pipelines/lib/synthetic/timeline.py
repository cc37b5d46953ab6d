"""The business calendar of a generated range: seasonality, the sale, articles, live streams, campaigns.

Everything is a pure function of the day index `t` (0 = `start`; negative days are before the
range), so any day can be generated without looking at the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .catalog import ARTICLE_TITLES, CAMPAIGNS, WEEKDAY_ONLINE, WEEKDAY_STORE, Campaign
from .rand import day_start_ms

LIVE_WEEKDAYS = (1, 3, 5, 6)     # Tue, Thu, Sat, Sun evenings, plus every day of the sale
SALE_DAYS = 3
SALE_ORDER_LIFT = 3.0            # the sale roughly triples orders
SALE_VISIT_LIFT = 1.6            # and lifts visits less: people come to buy what they had seen


@dataclass(frozen=True)
class Calendar:
    start: date
    days: int

    @property
    def sale_start(self) -> int:
        """A three-day sale around two thirds of the range (a mid-year or year-end promotion)."""
        return max(0, round(self.days * 2 / 3) - 1)

    def date(self, t: int) -> date:
        return self.start + timedelta(days=t)

    def iso(self, t: int) -> str:
        return self.date(t).isoformat()

    def compact(self, t: int) -> str:
        return self.date(t).strftime("%Y%m%d")

    def start_ms(self, t: int) -> int:
        return day_start_ms(self.date(t))

    def weekday(self, t: int) -> int:
        return self.date(t).weekday()

    def is_sale(self, t: int) -> bool:
        return self.sale_start <= t < self.sale_start + SALE_DAYS

    def online(self, t: int) -> float:
        """Visit intensity online: weekends a little higher, the sale much higher."""
        return WEEKDAY_ONLINE[self.weekday(t)] * (SALE_VISIT_LIFT if self.is_sale(t) else 1.0)

    def store(self, t: int) -> float:
        return WEEKDAY_STORE[self.weekday(t)] * (1.3 if self.is_sale(t) else 1.0)

    def store_orders(self, t: int) -> float:
        return WEEKDAY_STORE[self.weekday(t)] * (SALE_ORDER_LIFT if self.is_sale(t) else 1.0)

    def orders(self, t: int) -> float:
        return WEEKDAY_ONLINE[self.weekday(t)] * (SALE_ORDER_LIFT if self.is_sale(t) else 1.0)

    def article(self, t: int) -> tuple[str, str] | None:
        """The official account publishes every other day (by calendar date, not by range)."""
        d = self.date(t)
        if d.toordinal() % 2:
            return None
        return f"A{d.strftime('%Y%m%d')}", ARTICLE_TITLES[(d.toordinal() // 2) % len(ARTICLE_TITLES)]

    def recent_articles(self, t: int) -> list[tuple[str, str]]:
        """Articles people still read on day t: published in the last four days."""
        return [a for a in (self.article(t - k) for k in range(4)) if a is not None]

    def live_room(self, t: int) -> str | None:
        if self.weekday(t) in LIVE_WEEKDAYS or self.is_sale(t):
            return f"R{self.compact(t)}"
        return None

    def recent_room(self, t: int) -> str | None:
        """The latest live room within three days (replays and product cards stay up)."""
        for k in range(4):
            room = self.live_room(t - k)
            if room:
                return room
        return None

    def campaigns(self, t: int) -> list[Campaign]:
        """Campaigns running on day t: always-on ones, and sale ones from three days before the sale."""
        s = self.sale_start
        return [c for c in CAMPAIGNS if not c.promo_only or s - 3 <= t < s + SALE_DAYS]
