"""Seeded randomness, id makers and timestamp formatting shared by every source.

Determinism rules (the generator promises byte-identical output for the same arguments):
- every random stream is derived from (seed, purpose, day), never from `hash()` (salted per
  process) or the clock, so any day can be generated alone, in any process, in any order;
- string seeds go through `random.Random(str)`, which hashes with SHA-512 (stable everywhere);
- timestamps are integers (epoch milliseconds) until the moment they are formatted.
"""
from __future__ import annotations

import base64
import random
import zlib
from datetime import date, timedelta

import numpy as np

DAY_MS = 86_400_000
BEIJING_MS = 8 * 3_600_000      # Asia/Shanghai has had no DST since 1991: a fixed +08:00
_EPOCH = date(1970, 1, 1)


def np_rng(seed: int, purpose: str, day: int = 0) -> np.random.Generator:
    """A numpy stream for one purpose on one day; crc32 keeps the purpose code process-stable."""
    return np.random.default_rng([seed & 0xFFFF_FFFF, zlib.crc32(purpose.encode()), day + 1_000_000])


def py_rng(seed: int, purpose: str, day: int = 0) -> random.Random:
    """A stdlib stream for one purpose on one day (string seeding is SHA-512 based: stable)."""
    return random.Random(f"{seed}:{purpose}:{day}")


def day_start_ms(d: date) -> int:
    """Epoch milliseconds of local (Beijing) midnight that starts business day `d`."""
    return (d - _EPOCH).days * DAY_MS - BEIJING_MS


_DATES: dict[int, str] = {}


def _date_of(days_since_epoch: int) -> str:
    s = _DATES.get(days_since_epoch)
    if s is None:
        s = _DATES[days_since_epoch] = (_EPOCH + timedelta(days=days_since_epoch)).isoformat()
    return s


def _split(ms: int) -> tuple[str, int, int, int, int]:
    d, rest = divmod(ms, DAY_MS)
    h, rest = divmod(rest, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return _date_of(d), h, m, s, milli


def iso_local(ms: int, millis: bool = True) -> str:
    """ISO-8601 in Beijing time with its offset: `2026-01-05T20:13:05.123+08:00`."""
    d, h, m, s, milli = _split(ms + BEIJING_MS)
    if millis:
        return f"{d}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}+08:00"
    return f"{d}T{h:02d}:{m:02d}:{s:02d}+08:00"


def iso_utc(ms: int) -> str:
    """ISO-8601 in UTC with `Z`, the form browsers' Segment libraries send: `2026-01-05T12:13:05.123Z`."""
    d, h, m, s, milli = _split(ms)
    return f"{d}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def naive_local(ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS` in Beijing time without an offset (WeChat exports, store tills)."""
    d, h, m, s, _ = _split(ms + BEIJING_MS)
    return f"{d} {h:02d}:{m:02d}:{s:02d}"


def uuid4(r: random.Random) -> str:
    """A version-4-shaped UUID from a seeded stream (uuid.uuid4() reads the OS: not repeatable)."""
    h = "%032x" % r.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def token(r: random.Random, n: int, alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz") -> str:
    """A random string of `n` characters (click ids, coupon codes)."""
    return "".join(r.choices(alphabet, k=n))


def _fixed(buf: np.ndarray) -> np.ndarray:
    """Rows of a 2-D uint8 array as one fixed-width bytes array (no Python string per row)."""
    buf = np.ascontiguousarray(buf)
    return buf.view(f"S{buf.shape[1]}").ravel()


def wechat_ids(rng: np.random.Generator, n: int, prefix: str, length: int) -> np.ndarray:
    """`n` WeChat-style ids (`o` + base64url, 28 chars for openid/unionid) in one vectorised pass."""
    raw = np.frombuffer(base64.urlsafe_b64encode(rng.bytes(n * 24)), dtype=np.uint8).reshape(n, 32)
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return _fixed(np.hstack([np.broadcast_to(head, (n, len(head))), raw[:, :length - len(head)]]))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` lower-case version-4 UUIDs (app device ids, web cookies) as a bytes array."""
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4                                   # version 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)            # RFC 4122 variant
    hexes = _HEX[nibbles]
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    return _fixed(np.hstack([hexes[:, :8], dash, hexes[:, 8:12], dash, hexes[:, 12:16], dash,
                             hexes[:, 16:20], dash, hexes[:, 20:]]))


def distinct(rng: np.random.Generator, n: int, modulus: int) -> np.ndarray:
    """`n` distinct random numbers below `modulus` (ids that must never collide between people)."""
    return rng.choice(modulus, size=n, replace=False)


def cents(c: int) -> str:
    """Cents as a plain decimal string: 123456 -> `1234.56`, -990 -> `-9.90`."""
    sign = "-" if c < 0 else ""
    q, r = divmod(abs(c), 100)
    return f"{sign}{q}.{r:02d}"


def cents_grouped(c: int) -> str:
    """Cents with thousands separators as legacy tills print them: 128800 -> `1,288.00`."""
    sign = "-" if c < 0 else ""
    q, r = divmod(abs(c), 100)
    return f"{sign}{q:,}.{r:02d}"
