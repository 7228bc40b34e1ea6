"""The load path shared by every source: stream records into a staging table with COPY, then
merge the partition set-wise into raw and core, with its quarantine and load state, in one
transaction. A run killed at any point leaves the warehouse as it was before the partition."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date
from hashlib import blake2b
from typing import Any

import orjson
import psycopg

from pipelines.core.events import MessageEvent, RecordRejected
from pipelines.core.paging import Page
from pipelines.warehouse.queries import query, query_with_table

# Maps one vendor record, with its page's context, to the shared model, or raises RecordRejected.
Mapper = Callable[[Any, dict[str, Any]], MessageEvent]

# The sort behind de-duplication runs in memory rather than spilling to disk.
_MERGE_WORK_MEM = "128MB"


@dataclass(frozen=True)
class LoadTarget:
    """Where a source's records land."""

    source: str
    raw_table: str


@dataclass
class LoadStats:
    """What one partition load saw and changed."""

    source: str
    partition_date: date
    pages: int = 0
    records_fetched: int = 0
    out_of_window: int = 0
    quarantined: int = 0
    duplicates: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown_status: int = 0

    def as_metadata(self) -> dict[str, Any]:
        values = asdict(self)
        values["partition_date"] = self.partition_date.isoformat()
        return values


class StagingWriter:
    """Writes one partition's records into the open COPY stream, normalized or rejected."""

    def __init__(self, copy: psycopg.Copy, stats: LoadStats) -> None:
        self._copy = copy
        self.stats = stats

    def add_page(self, page: Page, mapper: Mapper) -> None:
        """Normalize and stage every record of `page`. Records that belong to another day
        (vendors' windows are not always exclusive at the end) are left to their own partition."""
        stats = self.stats
        stats.pages += 1
        context = dict(page.context)
        context_json = orjson.dumps(context).decode()
        partition_date = stats.partition_date
        write_row = self._copy.write_row
        for record in page.records:
            stats.records_fetched += 1
            payload_json = orjson.dumps(record).decode()
            try:
                event = mapper(record, context)
            except RecordRejected as rejected:
                stats.quarantined += 1
                write_row(_rejected_row(partition_date, context_json, payload_json, rejected.reason))
                continue
            if event.occurred_at.astimezone(UTC).date() != partition_date:
                stats.out_of_window += 1
                continue
            write_row((
                event.event_id, partition_date, context_json, payload_json, None,
                event.source, event.channel, event.direction, event.status_raw,
                event.occurred_at, event.recipient, event.campaign_id, event.campaign_name,
                event.message_id, event.error_code, event.error_reason,
                orjson.dumps(event.attributes).decode(),
            ))


def _rejected_row(partition_date: date, context_json: str, payload_json: str,
                  reason: str) -> tuple[Any, ...]:
    record_hash = blake2b(f"{context_json}\x1f{payload_json}".encode(), digest_size=16).hexdigest()
    return (record_hash, partition_date, context_json, payload_json, reason) + (None,) * 12


@contextmanager
def load_partition(conn: psycopg.Connection, target: LoadTarget, partition_date: date,
                   run_id: str | None = None) -> Iterator[StagingWriter]:
    """Stage a partition's records in the block; on leaving it, merge them and commit.

    Everything happens in one transaction: the rows, the quarantine and the load state commit
    together or not at all."""
    stats = LoadStats(source=target.source, partition_date=partition_date)
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("create_stage"))
        with cursor.copy(query("copy_stage")) as copy:
            yield StagingWriter(copy, stats)
        _merge(cursor, target, stats, run_id)


def _merge(cursor: psycopg.Cursor, target: LoadTarget, stats: LoadStats, run_id: str | None) -> None:
    cursor.execute("SELECT set_config('work_mem', %s, true)", (_MERGE_WORK_MEM,))
    cursor.execute(query_with_table("merge_stage", raw_table=target.raw_table))
    distinct_records, inserted, updated, unknown_status, _raw_written = cursor.fetchone()
    staged = stats.records_fetched - stats.quarantined - stats.out_of_window
    stats.duplicates = staged - distinct_records
    stats.inserted, stats.updated = inserted, updated
    stats.unchanged = distinct_records - inserted - updated
    stats.unknown_status = unknown_status

    scope = {"source": target.source, "partition_date": stats.partition_date, "run_id": run_id}
    cursor.execute(query("quarantine_prune"), scope)
    cursor.execute(query("quarantine_insert"), scope)
    cursor.execute(query("record_partition_load"), scope | {
        "pages": stats.pages, "records_fetched": stats.records_fetched,
        "duplicates": stats.duplicates, "inserted": stats.inserted, "updated": stats.updated,
        "unchanged": stats.unchanged, "quarantined": stats.quarantined,
        "unknown_status": stats.unknown_status,
    })


def load_pages(conn: psycopg.Connection, target: LoadTarget, partition_date: date,
               pages: Iterable[Page], mapper: Mapper, run_id: str | None = None) -> LoadStats:
    """Load one partition from its pages, end to end."""
    with load_partition(conn, target, partition_date, run_id) as writer:
        for page in pages:
            writer.add_page(page, mapper)
    return writer.stats
