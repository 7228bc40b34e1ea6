"""The load path shared by every source: stream records into a staging table with COPY and
merge them set-wise into raw and core, chunk by chunk, in one transaction per partition, with
the partition's quarantine and load state. A run killed at any point leaves the warehouse as it
was before the partition.

Pages are fetched and mapped in a background thread while this one copies and merges: Postgres
merges a chunk while the next one downloads and normalizes, so most of the merge hides behind
the fetch; the transaction keeps it all-or-nothing."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date
from hashlib import blake2b
from typing import Any

import orjson
import psycopg

from pipelines.core.events import MessageEvent, RecordRejected
from pipelines.core.paging import Page, prefetch
from pipelines.warehouse.queries import query, query_with_table

# Maps one vendor record, with its page's context, to the shared model, or raises RecordRejected.
Mapper = Callable[[Any, dict[str, Any]], MessageEvent]

# Rows staged before a chunk is merged: big enough that per-statement overhead vanishes, small
# enough that the pages downloaded meanwhile fit in the prefetch buffer.
CHUNK_ROWS = 10_000

# Pages fetched and mapped ahead of the COPY: about one chunk, so the vendor keeps streaming
# while Postgres merges, in bounded memory.
PREFETCH_PAGES = 24


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


class PartitionLoad:
    """One partition's load in progress: pages in, chunks merged, totals at the end."""

    def __init__(self, cursor: psycopg.Cursor, target: LoadTarget, stats: LoadStats,
                 run_id: str | None, chunk_rows: int) -> None:
        self._cursor = cursor
        self._target = target
        self._run_id = run_id
        self._chunk_rows = chunk_rows
        self._copy: psycopg.Copy | None = None
        self._copy_block: Any = None
        self._rows_in_chunk = 0
        self.stats = stats

    @property
    def _scope(self) -> dict[str, Any]:
        return {"source": self._target.source, "partition_date": self.stats.partition_date,
                "run_id": self._run_id}

    def add_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Stage one page's prepared rows; merge the chunk when it is full."""
        write_row = self._open_copy().write_row
        for row in rows:
            write_row(row)
        self._rows_in_chunk += len(rows)
        if self._rows_in_chunk >= self._chunk_rows:
            self._merge_chunk()

    def _open_copy(self) -> psycopg.Copy:
        if self._copy is None:
            self._copy_block = self._cursor.copy(query("copy_stage"))
            self._copy = self._copy_block.__enter__()
        return self._copy

    def _close_copy(self) -> None:
        if self._copy is not None:
            self._copy_block.__exit__(None, None, None)
            self._copy = self._copy_block = None

    def _merge_chunk(self) -> None:
        """Merge what is staged into raw, core and quarantine, then empty the staging table."""
        self._close_copy()
        cursor = self._cursor
        cursor.execute(query_with_table("merge_stage", raw_table=self._target.raw_table))
        cursor.execute(query("quarantine_insert"), self._scope)
        cursor.execute(query("stage_keys_keep"))
        cursor.execute("TRUNCATE stage_records")
        self._rows_in_chunk = 0

    def finish(self) -> LoadStats:
        """Merge the last chunk, settle the quarantine, count, and record the load state."""
        self._merge_chunk()
        cursor, stats, scope = self._cursor, self.stats, self._scope
        cursor.execute(query("quarantine_prune"), scope)
        cursor.execute(query("partition_load_counts"), scope)
        distinct_records, stats.inserted, stats.updated, stats.unknown_status = cursor.fetchone()
        staged = stats.records_fetched - stats.quarantined - stats.out_of_window
        stats.duplicates = staged - distinct_records
        stats.unchanged = distinct_records - stats.inserted - stats.updated
        cursor.execute(query("record_partition_load"), scope | {
            "pages": stats.pages, "records_fetched": stats.records_fetched,
            "duplicates": stats.duplicates, "inserted": stats.inserted, "updated": stats.updated,
            "unchanged": stats.unchanged, "quarantined": stats.quarantined,
            "unknown_status": stats.unknown_status,
        })
        return stats


def stage_rows(page: Page, mapper: Mapper, stats: LoadStats) -> Iterator[tuple[Any, ...]]:
    """The staging rows of a page's records, normalized or rejected, counted in `stats`.

    Records that belong to another day (vendors' windows are not always exclusive at the end)
    are left to their own partition."""
    stats.pages += 1
    context = dict(page.context)
    context_json = orjson.dumps(context).decode()
    partition_date = stats.partition_date
    for record in page.records:
        stats.records_fetched += 1
        payload_json = orjson.dumps(record).decode()
        try:
            event = mapper(record, context)
        except RecordRejected as rejected:
            stats.quarantined += 1
            yield _rejected_row(partition_date, context_json, payload_json, rejected.reason)
            continue
        if event.occurred_at.astimezone(UTC).date() != partition_date:
            stats.out_of_window += 1
            continue
        yield (
            event.event_id, partition_date, context_json, payload_json, None,
            event.source, event.channel, event.direction, event.status_raw,
            event.occurred_at, event.recipient, event.campaign_id, event.campaign_name,
            event.message_id, event.error_code, event.error_reason,
            orjson.dumps(event.attributes).decode(),
        )


def _rejected_row(partition_date: date, context_json: str, payload_json: str,
                  reason: str) -> tuple[Any, ...]:
    record_hash = blake2b(f"{context_json}\x1f{payload_json}".encode(), digest_size=16).hexdigest()
    return (record_hash, partition_date, context_json, payload_json, reason) + (None,) * 12


@contextmanager
def load_partition(conn: psycopg.Connection, target: LoadTarget, stats: LoadStats,
                   run_id: str | None = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[PartitionLoad]:
    """Stage a partition's rows in the block; on leaving it, finish the merge and commit.

    Everything happens in one transaction: the rows, the quarantine and the load state commit
    together or not at all."""
    partition_date = stats.partition_date
    with conn.transaction(), conn.cursor() as cursor:
        # One writer per source partition at a time; a second waits, then sees the first's rows.
        cursor.execute(query("lock_partition"), {"source": target.source, "partition_date": partition_date})
        cursor.execute(query("create_stage"))
        load = PartitionLoad(cursor, target, stats, run_id, chunk_rows)
        try:
            yield load
        finally:
            load._close_copy()
        load.finish()


def load_pages(conn: psycopg.Connection, target: LoadTarget, partition_date: date,
               pages: Iterable[Page], mapper: Mapper, run_id: str | None = None,
               chunk_rows: int = CHUNK_ROWS) -> LoadStats:
    """Load one partition from its pages, end to end: fetched and mapped in a background
    thread, copied and merged in this one."""
    stats = LoadStats(source=target.source, partition_date=partition_date)
    prepared = prefetch((list(stage_rows(page, mapper, stats)) for page in pages), PREFETCH_PAGES)
    with load_partition(conn, target, stats, run_id, chunk_rows) as load:
        for rows in prepared:
            load.add_rows(rows)
    return load.stats
