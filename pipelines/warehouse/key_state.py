"""The state of sources pulled per key from a watermark (Webex): each key's watermark and the
days whose answer was cut, written in the transaction of the rows they describe."""

from collections.abc import Sequence
from datetime import date

import psycopg

from pipelines.warehouse.queries import query


def read_watermarks(conn: psycopg.Connection, keys: list[str]) -> dict[str, date]:
    """Each key's `loaded_through` (the tenant-local date it is loaded through), for the keys
    that have one."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("webex_key_watermarks"), {"keys": keys})
        return dict(cursor.fetchall())


def record_key_state(cursor: psycopg.Cursor, key: str, first: date, last: date,
                     truncated: Sequence[tuple[date, int]], run_id: str | None) -> None:
    """A key's state after loading its window `first`..`last`: the watermark moves to `last`,
    and the window's truncated days (date, transactions returned) are recorded; days of the
    window no longer truncated leave the table."""
    dates = [day for day, _ in truncated]
    cursor.execute(query("webex_clear_truncations"),
                   {"key": key, "first": first, "last": last, "dates": dates})
    if dates:
        cursor.execute(query("webex_record_truncations"), {
            "key": key, "dates": dates, "run_id": run_id,
            "returned": [returned for _, returned in truncated]})
    cursor.execute(query("webex_record_key_state"),
                   {"key": key, "loaded_through": last, "run_id": run_id})


def release_corrected_quarantine(cursor: psycopg.Cursor) -> None:
    """Quarantined records whose id has now loaded usable leave quarantine (an incremental
    scope never sees a whole day, so it cannot prune by absence)."""
    cursor.execute(query("webex_quarantine_corrected"))
