"""A deterministic synthetic landing zone: a brand's channels exporting every night, plus the truth.

    from pipelines.lib.synthetic import generate
    summary = generate(Path("data"), customers=20_000, days=60, start=date(2026, 1, 1), seed=7)

writes `<data_dir>/raw/<source>/<YYYY-MM-DD>/...` for every source of the raw-export contract
(shared/contracts/raw_exports.md) and `<data_dir>/truth/` (persons, identifiers, orders, and a
manifest) so the pipeline can be developed, demoed, benchmarked and scored against what really
happened. Same arguments, same bytes. The generator shares no code with ingestion on purpose:
the two sides cannot agree by construction, only by honouring the contract.

Files per source and day (D = delivery date; `-part-NNNN` numbers parts of 200k lines):
  app               events-D-part-NNNN.jsonl.gz          web          events-D-part-NNNN.jsonl
  miniprogram       mp-log-D-part-NNNN.jsonl.gz          live         live-room-D-part-NNNN.jsonl (live days)
  official_account  oa-interactions-D.csv                guide        wecom-guide-D.csv
  mall_orders       orders-D-part-NNNN.jsonl             pos          pos-<store_id>-D.csv (stores with sales)
  crm               members-D.csv.gz, erasure_requests.csv (days with requests)
  ads               clicks-<platform>-D-part-NNNN.jsonl.gz, cost-<platform>-D.csv
  service           tickets-D.csv
`<stem>-backfill-<origin date>-part-NNNN...` files carry lines exported with a later night: the
after-midnight tail of visits that began the day before (at every noise level) and, with noise,
late events and retried duplicates. With noise, re-delivered files appear as `<name>-resent.<ext>`
the same day or under the same name in the next day's folder. noise.py lists every kind of noise
and its rate; catalog.py the brand (stores, products, campaigns, persona habits).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .run import run
from .timeline import SALE_VISIT_LIFT, Calendar
from .world import NEW_PER_DAY

# Behaviour records (app, web, miniprogram, live, official_account, guide, ad impressions and
# clicks) per customer per day, measured on the demo world (20,000 customers, 60 days, seed 7,
# noise 1: 844,919 events, 0.704): pick `customers = events / (EVENTS_PER_CUSTOMER_DAY * days)`.
# Short ranges run denser; events_per_customer_day(days) corrects for that.
EVENTS_PER_CUSTOMER_DAY = 0.70


def events_per_customer_day(days: int) -> float:
    """EVENTS_PER_CUSTOMER_DAY for a range of `days` (10 days: measured 0.995, this says 0.92).

    A short range runs denser because the three-day sale is a bigger share of it and fewer of
    the customers are still to arrive (new customers come at a daily rate)."""
    def density(d: int) -> float:
        arrived = 1 - (1 - (1 - NEW_PER_DAY) ** d) / 2
        sale = sum(Calendar(date(2026, 1, 1), d).is_sale(t) for t in range(d))
        return arrived * (d + sale * (SALE_VISIT_LIFT - 1)) / d
    return EVENTS_PER_CUSTOMER_DAY * density(days) / density(60)


@dataclass(frozen=True)
class SourceCount:
    files: int
    records: int          # data lines/rows a reader will see (headers and blank lines excluded)


@dataclass(frozen=True)
class GenerateSummary:
    data_dir: Path
    customers: int
    days: int
    start: date
    seed: int
    noise: float
    sources: dict[str, SourceCount]
    events: int                            # behaviour records written (see EVENTS_PER_CUSTOMER_DAY)
    orders: int                            # orders in truth/orders.parquet
    paths: list[Path] = field(repr=False)  # every raw file written, sorted
    truth_files: list[Path] = field(repr=False)

    @property
    def total_events(self) -> int:
        """The same as `events` (the name the CLI prints)."""
        return self.events

    @property
    def files(self) -> int:
        return sum(s.files for s in self.sources.values())

    @property
    def events_per_customer_day(self) -> float:
        return self.events / (self.customers * self.days)


def generate(data_dir: Path, customers: int, days: int, start: date, seed: int = 1, noise: float = 1.0,
             progress: Callable[[str, int, int], None] | None = None, *, workers: int | None = None) -> GenerateSummary:
    """Write a landing zone of `days` nights for `customers` people, starting on `start`.

    `noise` multiplies the documented noise rates (0 = clean). `progress(stage, done, total)` is
    called after each day. `workers` overrides the process count (default: 2 for big runs).
    Replaces raw/ and truth/ left by an earlier `generate`; refuses to touch anything else.
    """
    if customers < 1 or days < 1:
        raise ValueError(f"customers and days must be at least 1 (got customers={customers}, days={days})")
    if noise < 0:
        raise ValueError(f"noise is a multiplier of the default rates and cannot be negative (got {noise})")
    r = run(Path(data_dir), customers, days, start, seed, noise, progress, workers)
    return GenerateSummary(
        data_dir=Path(data_dir), customers=customers, days=days, start=start, seed=seed, noise=noise,
        sources={s: SourceCount(v["files"], v["records"]) for s, v in r["sources"].items()},
        events=r["events"], orders=r["orders"], paths=[Path(p) for p in r["paths"]], truth_files=r["truth_files"],
    )


__all__ = ["EVENTS_PER_CUSTOMER_DAY", "GenerateSummary", "SourceCount", "events_per_customer_day", "generate"]
