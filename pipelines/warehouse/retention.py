"""Retention, two kinds, both off by default:
- of personal content: message bodies, preview links and quarantined payloads older than a
  number of days are removed, while the events themselves (who, what status, when) stay for
  analysis (PIPELINES_RETENTION_DAYS);
- of whole months: the month partitions of the events and the landing tables older than a
  number of months are dropped (PIPELINES_KEEP_MONTHS)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import psycopg

from pipelines.warehouse.queries import fetch_one, query, query_with_table


@dataclass(frozen=True)
class ContentFields:
    """Where one source keeps message content: its raw table, and the payload keys (also
    attribute keys of its events) that hold bodies or links to them."""

    source: str
    raw_table: str
    fields: tuple[str, ...]


def purge_content(conn: psycopg.Connection, sources: list[ContentFields], cutoff: date) -> dict[str, int]:
    """Remove content of days before `cutoff` (and quarantined before it), in one transaction;
    the number of rows changed, per source and for the quarantine. Re-running changes nothing."""
    purged: dict[str, int] = {}
    with conn.transaction(), conn.cursor() as cursor:
        for source in sources:
            if not source.fields:
                continue
            params = {"source": source.source, "fields": list(source.fields), "cutoff": cutoff}
            cursor.execute(query_with_table("retention_raw_content", raw_table=source.raw_table), params)
            (raw,) = fetch_one(cursor)
            cursor.execute(query("retention_event_content"), params)
            (events,) = fetch_one(cursor)
            purged[source.source] = raw + events
        cursor.execute(query("retention_quarantine"),
                       {"cutoff": datetime.combine(cutoff, time(), UTC)})
        (purged["quarantine"],) = fetch_one(cursor)
    return purged


def drop_months_before(conn: psycopg.Connection, cutoff: date) -> list[date]:
    """Drop every month partition of raw and core that ends on or before `cutoff`, in one
    transaction; the first day of each month dropped. Dropping a month is a catalog change, not
    a delete: no dead rows, no vacuum, however many rows it held."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("retention_drop_months"), {"cutoff": cutoff})
        return sorted({row[0] for row in cursor.fetchall()})
