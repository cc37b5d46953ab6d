"""The mess real exports carry, injected at documented rates so ingestion can be scored against it.

`noise` is a multiplier on the rates below (0 = perfectly clean, 1 = the default, 2 = twice as
messy; a rate never exceeds 1). At noise 0 nothing here happens: every line is a valid record of
its source, nothing is duplicated or re-delivered, no identifier is junk. The format variety that
is *not* noise stays at every level: GB18030 legacy tills (Chinese labels, thousands separators,
CRLF), gzip files, the per-source timestamp forms, CRM gender codes, upper-case iOS ad ids.

Kind (rate at noise=1)                      Where
- duplicate_event     0.8% of lines         app, web, miniprogram, live, ads clicks: the same line
                                            again (same messageId / click_id), 70% later in the
                                            same file, 30% in the next day's backfill file
- late_event          1.5% of lines         same sources: delivered 1-3 days late, in a
                                            `*-backfill-<origin date>*` file of a later folder
- clock_skew          0.1% of events        stamped 0-10 minutes into the next day
- future_timestamp    0.05% of events       1-30 years ahead
- past_timestamp      0.05% of events       3-12 years back
- not_json            0.05% of lines        a garbage line (HTML error page, log text, half object)
- truncated_file      10% of JSONL parts    the last line cut in half, no final newline
- no_identity         0.2% of app/web       neither anonymousId nor userId
- unknown_event       0.3% of app/web       an extra track event with a name outside the spec
- numbers_as_strings  1% of app/web tracks  `"price": "429.00"`, `"quantity": "1"`
- junk_identifier     0.4% of id fields     "", null/NULL/None/undefined, placeholder phones
                                            (11111111111, 13800000000), test@test.com, zero IDFA
- phone_format        3% of phones          `138 1234 5678`, `+86-138-1234-5678`, `8613812345678`
- masked_phone        4% of pos/service     `138****5678` (not an identifier)
- id_case             1% of ids             member ids lower-case or padded, emails mixed case/padded
- redelivered_file    3% of files           same bytes again: a `-resent` copy the same day, or the
                                            same name in the next day's folder (never for CRM)
- blank_lines         20% of POS files      1-3 trailing blank lines
- shared_device       1.5% of customers     (max 400) members who log in on the flagship store's
                                            tablet: one device_id shared by all of them
"""
from __future__ import annotations

import random
from collections import defaultdict
from operator import itemgetter

from .rand import DAY_MS, py_rng

RATES: dict[str, float] = {
    "duplicate_event": 0.008, "late_event": 0.015, "clock_skew": 0.001, "future_timestamp": 0.0005,
    "past_timestamp": 0.0005, "not_json": 0.0005, "truncated_file": 0.10, "no_identity": 0.002,
    "unknown_event": 0.003, "numbers_as_strings": 0.01, "junk_identifier": 0.004,
    "phone_format": 0.03, "masked_phone": 0.04, "id_case": 0.01, "redelivered_file": 0.03,
    "blank_lines": 0.20, "shared_device": 0.015,
}
JUNK_VALUES = ["", "null", "NULL", "None", "undefined"]
PLACEHOLDER_PHONES = ["11111111111", "13800000000"]
JUNK_EMAILS = ["test@test.com", "TEST@test.com", "test@example.com"]
ZERO_IDFA = "00000000-0000-0000-0000-000000000000"
GARBAGE_LINES = [
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "2026-01-01 00:00:00,001 ERROR exporter: connection reset by peer",
    '{"messageId": "',
    "Traceback (most recent call last):",
]


class Noise:
    """One source's noise on one day: a private random stream, so clean content never shifts."""

    def __init__(self, level: float, seed: int, source: str, t: int):
        self.on = level > 0
        self.p = {k: min(1.0, v * level) for k, v in RATES.items()}
        self.r: random.Random = py_rng(seed, f"noise:{source}", t)

    def hit(self, kind: str) -> bool:
        return self.on and self.r.random() < self.p[kind]

    # -- identifiers -------------------------------------------------------------------------
    def phone(self, p11: str, masked: bool = False) -> str:
        """A mainland phone as some system typed it; `masked` allows the `138****5678` form."""
        if not self.on:
            return p11
        if self.hit("junk_identifier"):
            return self.r.choice(PLACEHOLDER_PHONES + JUNK_VALUES)
        if masked and self.hit("masked_phone"):
            return f"{p11[:3]}****{p11[7:]}"
        if self.hit("phone_format"):
            form = self.r.randrange(3)
            if form == 0:
                return f"{p11[:3]} {p11[3:7]} {p11[7:]}"
            if form == 1:
                return f"+86-{p11[:3]}-{p11[3:7]}-{p11[7:]}"
            return f"86{p11}"
        return p11

    def ident(self, value: str) -> str:
        """Any identifier field: occasionally a junk value instead."""
        if self.hit("junk_identifier"):
            return self.r.choice(JUNK_VALUES)
        return value

    def member(self, member_id: str) -> str:
        """Member ids typed at a till or kept by an old app build: lower-case, padded, or junk."""
        if self.hit("id_case"):
            return self.r.choice([member_id.lower(), f" {member_id} ", f"{member_id.lower()} "])
        return self.ident(member_id)

    def email(self, email: str) -> str:
        if self.hit("junk_identifier"):
            return self.r.choice(JUNK_EMAILS)
        if self.hit("id_case"):
            local, _, domain = email.partition("@")
            return f" {local.capitalize()}@{domain.upper()}"
        return email

    def device(self, device_id: str) -> str:
        """Ad-platform device ids: limit-ad-tracking zeros or junk now and then."""
        if self.hit("junk_identifier"):
            return self.r.choice([ZERO_IDFA, "null", ""])
        return device_id

    def timestamp(self, ms: int, day_end_ms: int) -> int:
        """An event time as the device clock reported it."""
        if not self.on:
            return ms
        u = self.r.random()
        if u < self.p["future_timestamp"]:
            return ms + self.r.randint(1, 30) * 365 * DAY_MS
        u -= self.p["future_timestamp"]
        if u < self.p["past_timestamp"]:
            return ms - self.r.randint(3, 12) * 365 * DAY_MS
        u -= self.p["past_timestamp"]
        if u < self.p["clock_skew"]:
            return day_end_ms + self.r.randint(0, 600_000)
        return ms

    # -- whole lines ---------------------------------------------------------------------------
    def deliver(self, events: list[tuple[int, str]], t: int, last: int,
                garbage: bool = True) -> tuple[list[str], dict[int, list[str]]]:
        """Order a day's lines by time and apply line noise.

        Returns today's lines and, per later delivery day, the lines that arrive there
        (late events and retried duplicates). Duplicates inside today's file land a few
        minutes after the original, as an SDK retry would.
        """
        events.sort(key=itemgetter(0))
        if not self.on:
            return [line for _, line in events], {}
        today: list[tuple[int, str]] = []
        later: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for ts, line in events:
            if t < last and self.hit("late_event"):
                later[t + self.r.randint(1, min(3, last - t))].append((ts, line))
                continue
            today.append((ts, line))
            if self.hit("duplicate_event"):
                if t < last and self.r.random() < 0.3:
                    later[t + 1].append((ts, line))
                else:
                    today.append((ts + self.r.randint(1_000, 300_000), line))
            if garbage and self.hit("not_json"):
                today.append((ts, self.r.choice(GARBAGE_LINES)))
        today.sort(key=itemgetter(0))
        return [line for _, line in today], {d: [line for _, line in sorted(v, key=itemgetter(0))]
                                            for d, v in sorted(later.items())}
