"""Ground truth, written next to (never inside) the landing zone: who is who, and what was bought.

- persons.parquet      one row per person: persona, member id, demographics, and the day of each
                       life event (first seen, sign-up, first log-ins, WeChat authorisation,
                       guide friendship, consent withdrawal, erasure, shared-tablet use)
- identifiers.parquet  (id_type, id_value in the contract's normal form, person_id, is_shared):
                       every identifier a person can show, plus the ad click ids they produced;
                       the shared store tablet gets one row per person who used it
- orders.parquet       every order of the range (mall and till) with its person and true money

Identifiers and orders are streamed day by day (a Parquet row group per day), so truth never
holds the whole run in memory.
"""
from __future__ import annotations

from pathlib import Path

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .catalog import CITIES, GUIDES, MP_APPID, OA_APPID, PERSONA_NAMES, STORES
from .world import NEVER, REG_CHANNELS, World

ORDER_SCHEMA = pa.schema([
    ("order_id", pa.string()), ("source", pa.string()), ("person_id", pa.int64()), ("platform", pa.string()),
    ("store_id", pa.string()), ("ordered_date", pa.date32()), ("ordered_at", pa.timestamp("ms", tz="UTC")),
    ("status", pa.string()), ("paid_amount", pa.float64()), ("discount", pa.float64()),
    ("coupon_type", pa.string()), ("refund_amount", pa.float64()), ("net_amount", pa.float64()),
    ("refund_order_id", pa.string()), ("refunded_date", pa.date32()),
])
ID_SCHEMA = pa.schema([("id_type", pa.string()), ("id_value", pa.string()), ("person_id", pa.int64()),
                       ("is_shared", pa.bool_())])


def _dates(w: World, days: np.ndarray) -> pa.Array:
    """Day indexes as dates; NEVER becomes null."""
    base = w.cal.start.toordinal() - 719_163
    return pa.array(np.where(days < NEVER, days + base, 0).astype(np.int32), type=pa.date32(),
                    mask=days >= NEVER)


def _labels(codes: np.ndarray, names: list[str], mask: np.ndarray | None = None) -> pa.Array:
    """Codes -> their names as a plain string column, without a Python string per row."""
    out = pc.take(pa.array(names, pa.string()), pa.array(codes.astype(np.int32)))
    return pc.if_else(pa.array(mask), pa.nulls(len(codes), pa.string()), out) if mask is not None else out


def _text(values: np.ndarray) -> pa.Array:
    """A numpy bytes column (ASCII ids) as Arrow strings."""
    return pa.array(values, pa.binary()).cast(pa.string())


def persons_table(w: World) -> pa.Table:
    member = w.signup < NEVER
    friend = w.friend_day < NEVER
    return pa.table({
        "person_id": pa.array(np.arange(w.n, dtype=np.int64)),
        "persona": _labels(w.persona, PERSONA_NAMES),
        "member_id": pc.if_else(pa.array(member), _text(w.ids.member_id.a), pa.nulls(w.n, pa.string())),
        "gender": _labels(w.female.astype(np.int32), ["M", "F"]),
        "birth_date": pa.array(w.birth.astype(np.int32), type=pa.date32()),
        "city": _labels(w.city, [c[0] for c in CITIES]),
        "province": _labels(w.city, [c[1] for c in CITIES]),
        "home_store_id": _labels(w.store, [s.store_id for s in STORES]),
        "guide_id": _labels(w.guide, [g for g, _ in GUIDES], mask=~friend),
        "register_channel": _labels(w.reg, REG_CHANNELS, mask=~member),
        "first_seen_date": _dates(w, w.first_seen),
        "signup_date": _dates(w, w.signup),
        "app_login_date": _dates(w, w.app_login),
        "web_login_date": _dates(w, w.web_login),
        "first_login_date": _dates(w, np.minimum(w.app_login, w.web_login)),
        "mp_authorised_date": _dates(w, w.mp_auth),
        "oa_subscribed_date": _dates(w, w.oa_sub),
        "guide_friend_date": _dates(w, w.friend_day),
        "consent_withdrawn_date": _dates(w, w.withdraw),
        "erased_date": _dates(w, w.erased),
        "is_tablet_user": pa.array(w.tablet_day < NEVER),
        "tablet_login_date": _dates(w, w.tablet_day),
    })


def identifier_parts(w: World) -> Iterator[pa.Table]:
    """Every identifier each person holds, in normal form (phone +86..., openid appid:openid).

    One table per identifier kind, so the whole set is never materialised at once."""
    ids = w.ids
    wechat = w.mp_user | w.oa_user | (w.friend_day < NEVER)
    parts = [
        ("member_id", w.signup < NEVER, ids.member_id.a),
        ("phone", np.ones(w.n, bool), np.char.add(b"+86", ids.phone.a)),
        ("email", w.has_email, ids.email.a),
        ("device_id", w.app_user, ids.app_device.a),
        ("device_id", w.web_user, ids.web_cookie.a),
        ("unionid", wechat, ids.unionid.a),
        ("openid", w.mp_user, np.char.add(f"{MP_APPID}:".encode(), ids.mp_openid.a)),
        ("openid", w.oa_user, np.char.add(f"{OA_APPID}:".encode(), ids.oa_openid.a)),
        ("external_userid", w.friend_day < NEVER, ids.external_userid.a),
    ]
    for kind, mask, values in parts:
        idx = np.flatnonzero(mask)
        yield _id_table(kind, _text(values[idx]), idx, False)
    tablet = np.flatnonzero(w.tablet_day < NEVER)         # one shared device, one row per user
    yield _id_table("device_id", pa.array([ids.tablet_device] * len(tablet), pa.string()), tablet, True)


def _id_table(kind: str, values: pa.Array, people: np.ndarray, shared: bool) -> pa.Table:
    n = len(values)
    return pa.table({"id_type": pa.array([kind], pa.string()).take(pa.array(np.zeros(n, np.int32))),
                     "id_value": values, "person_id": pa.array(people.astype(np.int64)),
                     "is_shared": pa.array(np.full(n, shared))}, schema=ID_SCHEMA)


class TruthWriter:
    """Streams truth tables to `<data_dir>/truth/` as days complete, in day order."""

    def __init__(self, folder: Path, w: World):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        pq.write_table(persons_table(w), folder / "persons.parquet")
        self.ids = pq.ParquetWriter(folder / "identifiers.parquet", ID_SCHEMA)
        for part in identifier_parts(w):
            self.ids.write_table(part)
        self.orders = pq.ParquetWriter(folder / "orders.parquet", ORDER_SCHEMA)
        self.order_count = 0

    def add_day(self, orders: list[tuple], clicks: list[tuple[str, int]]) -> None:
        if orders:
            cols = list(zip(*orders))
            self.orders.write_table(pa.table({f.name: pa.array(c, f.type) for f, c in zip(ORDER_SCHEMA, cols)},
                                             schema=ORDER_SCHEMA))
            self.order_count += len(orders)
        if clicks:
            self.ids.write_table(_id_table("click_id", pa.array([c for c, _ in clicks], pa.string()),
                                           np.array([p for _, p in clicks], dtype=np.int64), False))

    def close(self) -> list[Path]:
        self.ids.close()
        self.orders.close()
        return [self.folder / f for f in ("persons.parquet", "identifiers.parquet", "orders.parquet")]
