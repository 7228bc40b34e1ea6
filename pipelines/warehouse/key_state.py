"""The state of sources pulled per key (Webex): which keys are followed and why, each key's
watermark and next due time, and the days whose answer was cut. What a load changes is
written in the transaction of the rows it describes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql

from pipelines.warehouse.queries import fetch_one, query


@dataclass(frozen=True)
class Shards:
    """The shards a run pulls, of `count`: a key belongs to shard `hash mod count`."""

    ids: tuple[int, ...]
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or any(not 0 <= shard < self.count for shard in self.ids):
            raise ValueError(f"shards {self.ids} are not shards of {self.count}")

    @property
    def params(self) -> dict[str, Any]:
        return {"shards": list(self.ids), "shard_count": self.count}

    def __str__(self) -> str:
        return f"shard(s) {', '.join(map(str, self.ids))} of {self.count}"


@dataclass(frozen=True)
class FollowedKey:
    """A due key as the warehouse knows it: how far it is loaded and when it last had traffic."""

    key: str
    loaded_through: date | None
    last_activity_on: date | None
    seen_at: datetime | None


@dataclass(frozen=True)
class PulledKey:
    """A key after a pull of its days `first`..`last`: its truncated days (date, rows
    returned), its latest transaction's day, and when it is next due."""

    key: str
    first: date
    last: date
    truncated: Sequence[tuple[date, int]]
    last_activity_on: date | None
    due_at: datetime


def sync_configured_keys(conn: psycopg.Connection, keys: Sequence[str], now: datetime) -> None:
    """Follow the configured keys (as their identity); stop following on that account the
    keys no longer configured."""
    with conn.transaction():
        conn.execute(query("webex_sync_configured_keys"), {"keys": list(keys), "now": now})


def claim_shards(conn: psycopg.Connection, shards: Shards) -> Shards | None:
    """The shards of `shards` no other run is pulling, now held by this connection until it
    closes; None when every one of them is held elsewhere."""
    claimed = []
    for shard in shards.ids:
        with conn.transaction():
            held, = fetch_one(conn.execute(query("webex_claim_shard"),
                                           {"shard": shard, "shard_count": shards.count}))
        if held:
            claimed.append(shard)
    return Shards(tuple(claimed), shards.count) if claimed else None


def due_keys(conn: psycopg.Connection, shards: Shards, now: datetime, limit: int | None) -> list[FollowedKey]:
    """The followed keys of `shards` due at `now`, the longest due first, at most `limit`."""
    with conn.transaction():
        rows = conn.execute(query("webex_due_keys"),
                            {**shards.params, "now": now, "limit": limit}).fetchall()
    return [FollowedKey(*row) for row in rows]


def due_backlog(conn: psycopg.Connection, shards: Shards, now: datetime,
                pulled_by: str | None = None) -> tuple[int, datetime | None]:
    """How many followed keys of `shards` were due at `now` and not pulled by the run
    `pulled_by`, and the due time of the longest due of them."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("webex_due_backlog"), {**shards.params, "now": now, "run_id": pulled_by})
        count, oldest = fetch_one(cursor)
    return int(count), oldest


def record_pulled_keys(cursor: psycopg.Cursor[Any], pulled: Sequence[PulledKey], pulled_at: datetime,
                       run_id: str | None) -> None:
    """A batch's keys after their pull, in the batch's transaction: the days of their windows
    no longer truncated leave the truncation table and the truncated ones are recorded; each
    watermark moves to its window's last day, and the next due time is set."""
    cut = [(key.key, day, returned) for key in pulled for day, returned in key.truncated]
    cuts = {"cut_keys": [c[0] for c in cut], "cut_dates": [c[1] for c in cut],
            "returned": [c[2] for c in cut], "run_id": run_id}
    keys = [key.key for key in pulled]
    cursor.execute(query("webex_clear_truncations"), {
        "keys": keys, "firsts": [key.first for key in pulled], "lasts": [key.last for key in pulled],
        **cuts})
    if cut:
        cursor.execute(query("webex_record_truncations"), cuts)
    cursor.execute(query("webex_record_keys"), {
        "keys": keys, "loaded_through": [key.last for key in pulled],
        "activity": [key.last_activity_on for key in pulled],
        "due_at": [key.due_at for key in pulled], "pulled_at": pulled_at, "run_id": run_id})


@dataclass(frozen=True)
class Refresh:
    """What a refresh of the listed keys did."""

    listed: int
    added: int
    dropped: int


def refresh_listed_keys(conn: psycopg.Connection, audience: str, params: dict[str, Any],
                        now: datetime) -> Refresh:
    """Make the keys the `audience` query returns (columns key, seen_at) the listed keys, in
    one transaction: what a data team's SQL file says is who is followed."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("webex_audience_create"))
        # A repository file, not input: composed in whole, its parameters bound by the server.
        select = sql.SQL(audience.strip().rstrip(";"))
        cursor.execute(sql.SQL(query("webex_audience_fill")).format(audience=select), params)
        cursor.execute(query("webex_refresh_keys"), {"now": now})
        listed, added, dropped = fetch_one(cursor)
    return Refresh(int(listed), int(added), int(dropped))


def release_corrected_quarantine(cursor: psycopg.Cursor[Any]) -> None:
    """Quarantined records whose id has now loaded usable leave quarantine (an incremental
    scope never sees a whole day, so it cannot prune by absence)."""
    cursor.execute(query("webex_quarantine_corrected"))
