"""Who the people are: names, phones, emails, member ids and every channel id they will show.

Ids that must never collide between two people (phones, member ids, emails) are drawn without
replacement, so uniqueness holds by construction instead of by luck; the WeChat and device ids
carry 120+ random bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import EMAIL_DOMAINS, GIVEN, PHONE_PREFIXES, PINYIN, SURNAMES
from .rand import distinct, np_rng, py_rng, uuids, wechat_ids


class Strings:
    """ASCII strings kept one byte a character (a world of 200k people stays small) read as str."""

    __slots__ = ("a",)

    def __init__(self, values: np.ndarray | list[str]):
        self.a = np.asarray(values).astype("S")

    def __getitem__(self, i: int) -> str:
        return self.a[i].decode()

    def __len__(self) -> int:
        return len(self.a)

    def text(self) -> np.ndarray:
        """All values as a numpy unicode array (for vectorised table building)."""
        return self.a.astype("U")


@dataclass
class Identities:
    member_id: Strings       # M + 8 digits, upper-case (the normal form)
    phone: Strings           # 11 digits, mainland mobile
    email: Strings           # lower-case; "" for people who never gave one
    name: np.ndarray         # Chinese full names
    app_device: Strings      # app anonymousId = advertising id, lower-case UUID
    web_cookie: Strings      # web anonymousId
    mp_openid: Strings       # openid under the mini-program appid
    oa_openid: Strings       # openid under the official-account appid (a different value)
    unionid: Strings         # one per person across the brand's WeChat apps
    external_userid: Strings  # WeCom external contact id
    tablet_device: str       # the flagship store's shared tablet


def _bad_phone_suffix(s: np.ndarray) -> np.ndarray:
    """Suffixes that would make placeholder-looking phones (`13800000000`, repeated digits)."""
    repeated = (s % 11_111_111 == 0)
    return (s % 10_000 == 0) | repeated


def phones(n: int, seed: int) -> list[str]:
    rng = np_rng(seed, "phones")
    pool = distinct(rng, n + n // 50 + 100, 10**8)
    suffix = pool[~_bad_phone_suffix(pool)][:n]
    prefix = np.asarray(PHONE_PREFIXES)[rng.integers(0, len(PHONE_PREFIXES), n)]
    return [f"{p}{s:08d}" for p, s in zip(prefix.tolist(), suffix.tolist())]


def emails(n: int, seed: int, has_email: np.ndarray) -> list[str]:
    """QQ-number mail for QQ users, pinyin + digits elsewhere; unique because the digits are."""
    rng = np_rng(seed, "emails")
    weights = np.array([w for _, w in EMAIL_DOMAINS], dtype=float)
    domain = rng.choice(len(EMAIL_DOMAINS), n, p=weights / weights.sum())
    a = rng.integers(0, len(PINYIN), n)
    b = rng.integers(0, len(PINYIN), n)
    digits = distinct(rng, n, 10**8) + 10**8
    out = []
    for i in range(n):
        if not has_email[i]:
            out.append("")
            continue
        dom = EMAIL_DOMAINS[domain[i]][0]
        local = str(digits[i]) if dom == "qq.com" else f"{PINYIN[a[i]]}{PINYIN[b[i]]}{digits[i]}"
        out.append(f"{local}@{dom}")
    return out


def names(n: int, seed: int) -> np.ndarray:
    r = py_rng(seed, "names")
    return np.array([r.choice(SURNAMES) + "".join(r.choices(GIVEN, k=r.choice((1, 2, 2))))
                     for _ in range(n)])


def build_identities(n: int, seed: int, has_email: np.ndarray) -> Identities:
    rng = np_rng(seed, "channel-ids")
    member = distinct(np_rng(seed, "member-ids"), n, 10**8)
    return Identities(
        member_id=Strings([f"M{m:08d}" for m in member.tolist()]),
        phone=Strings(phones(n, seed)),
        email=Strings(emails(n, seed, has_email)),
        name=names(n, seed),
        app_device=Strings(uuids(rng, n)),
        web_cookie=Strings(uuids(rng, n)),
        mp_openid=Strings(wechat_ids(rng, n, "o", 28)),
        oa_openid=Strings(wechat_ids(rng, n, "o", 28)),
        unionid=Strings(wechat_ids(rng, n, "o", 28)),
        external_userid=Strings(wechat_ids(rng, n, "wm", 32)),
        tablet_device=uuids(rng, 1)[0].decode(),
    )
