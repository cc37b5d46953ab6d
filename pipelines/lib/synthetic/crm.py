"""The CRM's member master data: a full snapshot every night, plus that night's erasure requests.

A member appears from the night of sign-up. Points are recomputed every Monday at 03:00 (which
moves `updated_at`); a consent withdrawal flips all three consent flags from that day on; a
member who asked to be forgotten is absent from the snapshot of the request day onwards and is
listed in `erasure_requests.csv` of that day. Gender comes in the code of the system that
registered the member: app/web M/F, stores and guides 男/女, WeChat 1 (male) / 2 (female).
"""
from __future__ import annotations

import io

import numpy as np
import polars as pl

from .catalog import CITIES
from .noise import Noise
from .rand import BEIJING_MS, DAY_MS, iso_local, np_rng, py_rng
from .world import NEVER, REG_CHANNELS, TIERS, World

CRM_HEADER = ["member_id", "phone", "email", "name", "gender", "birthday", "city", "province", "tier",
              "register_channel", "registered_at", "points", "consent_sms", "consent_email", "consent_wechat",
              "updated_at"]
ERASURE_HEADER = ["member_id", "requested_at"]
GENDER_CODES = {"app": ("F", "M"), "web": ("F", "M"), "legacy_import": ("F", "M"), "store": ("女", "男"),
                "guide": ("女", "男"), "miniprogram": ("2", "1")}
_CACHE: dict[tuple, pl.DataFrame] = {}


def _members(w: World) -> pl.DataFrame:
    """Static member columns, built once per process (noise picked per member: stable by night)."""
    key = w.key
    if key in _CACHE:
        return _CACHE[key]
    idx = np.flatnonzero(w.signup < NEVER)
    nz, rng = Noise(w.noise, w.seed, "crm-members", 0), np_rng(w.seed, "crm-static")
    ids = w.ids
    day0 = w.cal.start_ms(0)
    reg_ms = day0 + w.signup[idx] * DAY_MS + rng.integers(9 * 3_600_000, 22 * 3_600_000, len(idx))
    wd_ms = day0 + np.minimum(w.withdraw[idx], 100_000) * DAY_MS + rng.integers(8 * 3_600_000, 23 * 3_600_000, len(idx))
    codes = np.array([GENDER_CODES[c] for c in REG_CHANNELS])                  # (female, male) per channel
    genders = codes[w.reg[idx], (~w.female[idx]).astype(int)]
    genders = np.where(rng.random(len(idx)) < 0.08, "unknown", genders)
    no_birthday = rng.random(len(idx)) < 0.1
    # Phones and e-mails as each member typed them once: the same odd form every night.
    phones = [nz.phone(ids.phone[i]) for i in idx.tolist()]
    emails = [nz.email(ids.email[i]) if w.has_email[i] else None for i in idx.tolist()]
    flags = w.consent[idx]
    df = pl.DataFrame({
        "member_id": pl.Series(ids.member_id.a[idx]).cast(pl.Utf8),
        "phone": phones, "email": pl.Series(emails, dtype=pl.Utf8), "name": w.ids.name[idx],
        "gender": genders,
        "birthday": pl.Series(w.birth[idx].astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d"),
        "no_birthday": no_birthday,
        "city": np.array([c[0] for c in CITIES])[w.city[idx]],
        "province": np.array([c[1] for c in CITIES])[w.city[idx]],
        "tier": np.array(TIERS)[w.tier[idx]], "register_channel": np.array(REG_CHANNELS)[w.reg[idx]],
        "signup": w.signup[idx], "withdraw": w.withdraw[idx], "erased": w.erased[idx],
        "registered_ms": reg_ms, "withdraw_ms": wd_ms, "points_base": w.points[idx], "gain": (w.tier[idx] + 1) * 40,
        "sms": np.where(flags & 1, "true", "false"), "email_ok": np.where(flags & 2, "true", "false"),
        "wechat": np.where(flags & 4, "true", "false"),
    }).with_columns(
        birthday=pl.when(pl.col("no_birthday")).then(None).otherwise(pl.col("birthday")),
        registered_at=_iso(pl.col("registered_ms")),
    ).sort("member_id")                        # the CRM dumps in member-id order
    _CACHE.clear()
    _CACHE[key] = df
    return df


def _iso(ms: pl.Expr) -> pl.Expr:
    """Epoch milliseconds as ISO-8601 Beijing time with its offset, to the second."""
    return pl.from_epoch(ms + BEIJING_MS, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def snapshot(w: World, t: int) -> tuple[bytes, int]:
    """Tonight's full member snapshot as CSV bytes, and its row count."""
    df = _members(w)
    first_monday = (-w.cal.weekday(0)) % 7
    last_monday = t - ((t - first_monday) % 7)
    refresh_ms = w.cal.start_ms(last_monday) + 3 * 3_600_000
    since = pl.max_horizontal(pl.col("signup") + 1, pl.lit(0))
    mondays = pl.max_horizontal((t - first_monday) // 7 - (since - 1 - first_monday) // 7, pl.lit(0))
    withdrawn = pl.col("withdraw") <= t
    off = pl.lit("false")
    cur = df.filter((pl.col("signup") <= t) & (pl.col("erased") > t)).with_columns(
        points=(pl.col("points_base") + pl.col("gain") * mondays).cast(pl.Utf8),
        consent_sms=pl.when(withdrawn).then(off).otherwise(pl.col("sms")),
        consent_email=pl.when(withdrawn).then(off).otherwise(pl.col("email_ok")),
        consent_wechat=pl.when(withdrawn).then(off).otherwise(pl.col("wechat")),
        updated_ms=pl.max_horizontal(
            pl.col("registered_ms"),
            pl.when(since <= last_monday).then(pl.lit(refresh_ms)).otherwise(pl.lit(0)),
            pl.when(withdrawn).then(pl.col("withdraw_ms")).otherwise(pl.lit(0)),
        ),
    ).with_columns(
        updated_at=_iso(pl.col("updated_ms"))
    ).select(CRM_HEADER)
    buf = io.BytesIO()
    cur.write_csv(buf)
    return buf.getvalue(), cur.height


def erasure_rows(w: World, t: int) -> list[list[str]]:
    """Members whose request to be forgotten arrived today."""
    r = py_rng(w.seed, "erasure", t)
    return [[w.ids.member_id[i], iso_local(w.cal.start_ms(t) + r.randint(9 * 3_600_000, 18 * 3_600_000), millis=False)]
            for i in np.flatnonzero(w.erased == t).tolist()]
