"""Refreshing the mart tables (sql/migrations/0012_status_history_and_marts.sql): what the
dashboards read, computed once after the loads instead of by every dashboard query.

Every load's merge appends the UTC days it touched to ops.mart_dirty_days, in the load's own
transaction. A refresh takes the marks its snapshot sees, recomputes those days (in UTC and in
the reporting zone), and the messages, campaigns and recipients of the rows those loads wrote,
whole, and deletes the marks it consumed, all in one REPEATABLE READ transaction: the mart tables
change together, from one consistent view of core, and a load committing meanwhile keeps its
marks for the next refresh. Two refreshes never overlap (a session advisory lock, taken before
the snapshot).

A refresh rebuilds everything instead when the marts were never built, when the reporting zone
changed, when a migration or a source's mapping rules changed since the last one (either can
rewrite rows without marking their days), or when asked."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import IsolationLevel

from pipelines.warehouse.queries import fetch_one, query

# The mart tables, in the order a refresh computes them: opt-outs read the stop replies
# classified first; campaign latency reads message latency.
MART_TABLES = ("volume_daily", "volume_hourly", "failures_daily", "engagement_by_hour",
               "opt_outs_daily", "message_latency", "campaign_delivery_latency", "customer_360")
_STEPS = ("marts_refresh_stop_replies", "marts_refresh_volume", "marts_refresh_failures",
          "marts_refresh_engagement", "marts_refresh_opt_outs", "marts_refresh_message_latency",
          "marts_refresh_campaign_latency", "marts_refresh_customer_360")

# pg_advisory_lock key of the mart refresh (an arbitrary, fixed number).
_REFRESH_LOCK_KEY = 0x6D61_7274_7321


@dataclass(frozen=True)
class MartRefresh:
    """What one refresh did, and the state it left."""

    full: bool
    reason: str
    time_zone: str
    utc_days: list[date]
    refreshed_at: datetime
    newest_event_at: datetime | None
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return f"full ({self.reason})" if self.full else "incremental"


def refresh_marts(conn: psycopg.Connection[Any], time_zone: str, *, run_id: str | None = None,
                  full: bool = False) -> MartRefresh:
    """Bring the mart tables up to date with core, in the reporting zone `time_zone` (an IANA
    name): the days loads touched since the last refresh, or everything (`full`, or when the
    last refresh was made under other rules; see the module's docstring). `conn` is the
    refresh's own: it is left in autocommit."""
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_REFRESH_LOCK_KEY,))
    try:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor() as cursor:
            return _refresh(cursor, time_zone, run_id, full)
    finally:
        conn.isolation_level = None
        conn.execute("SELECT pg_advisory_unlock(%s)", (_REFRESH_LOCK_KEY,))


def _refresh(cursor: psycopg.Cursor[Any], time_zone: str, run_id: str | None,
             asked: bool) -> MartRefresh:
    cursor.execute(query("marts_last_refresh"))
    last = cursor.fetchone()
    cursor.execute(query("marts_inputs"))
    (inputs,) = fetch_one(cursor)
    reason = _full_refresh_reason(last, time_zone, inputs, asked)
    full = reason is not None

    cursor.execute(query("marts_scope_create"))
    cursor.execute(query("marts_scope_zone"), {"time_zone": time_zone})
    cursor.execute(query("marts_scope_marks"), {"full": full})
    cursor.execute(query("marts_scope_days"))
    cursor.execute(query("marts_scope_keys"))
    cursor.execute(query("marts_scope_analyze"))
    if full:
        cursor.execute(query("marts_clear"))
    for step in _STEPS:
        cursor.execute(query(step))
    cursor.execute(query("marts_consume_marks"))
    utc_days = [day for (day,) in cursor.fetchall()]
    cursor.execute(query("marts_record_refresh"), {
        "run_id": run_id, "time_zone": time_zone, "full_refresh": full,
        "reason": reason or "days loads touched", "utc_days": len(utc_days), "inputs": inputs})
    refreshed_at, newest_event_at = fetch_one(cursor)
    cursor.execute(query("marts_table_rows"))
    rows = dict(zip(MART_TABLES, fetch_one(cursor), strict=True))
    return MartRefresh(full=full, reason=reason or "", time_zone=time_zone, utc_days=utc_days,
                       refreshed_at=refreshed_at, newest_event_at=newest_event_at, rows=rows)


def _full_refresh_reason(last: tuple[str, str] | None, time_zone: str, inputs: str,
                         asked: bool) -> str | None:
    """Why this refresh must rebuild everything, or None when the marked days suffice."""
    if asked:
        return "asked for"
    if last is None:
        return "first refresh"
    last_zone, last_inputs = last
    if last_zone != time_zone:
        return f"reporting zone changed from {last_zone}"
    if last_inputs != inputs:
        return "migrations or mapping rules changed"
    return None
