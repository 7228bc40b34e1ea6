"""The load path shared by every source: stream records into a staging table with COPY and
merge them set-wise into raw and core, chunk by chunk, in one transaction per load scope (a
source's daily partition, or one Webex key's increment), together with the scope's quarantine
and load state. A run killed at any point leaves the warehouse as it was before the scope. A
day that holds nothing yet (a first load, a backfill) COPYs its new records straight into the
tables instead (fresh.py): only what might already be there is merged.

Pages are fetched in one background thread, mapped and formatted for COPY in another, while
this one copies and merges: the vendor makes the next page while this one is mapped, and
Postgres merges a chunk while the next one downloads and normalizes, so most of the merge hides
behind the fetch; the transaction keeps it all-or-nothing."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from hashlib import blake2b
from io import BytesIO
from typing import Any

import orjson
import psycopg
from psycopg.copy import FileWriter

from pipelines.model.events import MessageEvent, RecordRejected, make_event_id
from pipelines.model.pseudonyms import Pseudonyms
from pipelines.model.timestamps import month_start
from pipelines.transport.concurrency import quick_handoffs
from pipelines.transport.paging import Page, prefetch
from pipelines.warehouse import event_sql
from pipelines.warehouse.fresh import EventTypes, FreshLoad, event_day, is_unknown
from pipelines.warehouse.queries import fetch_one, query, query_with_table

# Maps one vendor record, with its page's context, to the shared model, or raises RecordRejected.
Mapper = Callable[[Any, dict[str, Any]], MessageEvent]

# Rows staged before a chunk is merged: big enough that per-statement overhead vanishes, small
# enough that the pages downloaded meanwhile fit in the prefetch buffer.
CHUNK_ROWS = 10_000

_NUL, _REPLACEMENT = "\\u0000", "\\ufffd"  # as JSON escapes
_NO_EVENT = (None,) * len(event_sql.STAGED_COLUMNS)  # a rejected record's event columns
_ATTRIBUTES = MessageEvent._fields.index("attributes")

# How far (in days) a record's partition day may move between loads and still be found and
# moved rather than kept twice (sql/queries/relocate_moved.sql). What can move one: a changed
# time zone (the SenderGuide account's, the Webex tenant's) moves a local day by at most one; a
# CINNOX campaign's send day and a Webex deployment date are when it was sent. (mGage's and
# SenderGuide's timestamps are part of their ids: a corrected one is another record.) Three days
# hold those with room, and keep the look-up to the loaded day's month but for the three days
# at either end of it: every staged record is probed, so its cost must not grow with the table.
# A move further than that is kept twice, and the events check reports the duplicate id.
MOVE_WINDOW_DAYS = 3

# Month partitions a load makes beyond the last day it writes, so that the month after next
# exists before its first row arrives: creating one locks the table for a moment, which is
# better done by a load ahead of time, between loads, than inside the one that first needs it.
MONTHS_AHEAD = 1

# Pages fetched and mapped ahead of the COPY: about one chunk, so the vendor keeps streaming
# while Postgres merges, in bounded memory.
PREFETCH_PAGES = 24

# Pages read from the vendor ahead of the mapping, by a thread of their own: a walk one page at
# a time (a vendor that answers fast, where fan_out starts no threads) then waits for the
# vendor's next answer while it maps this one, not after. 200,000 mGage messages at 0 ms a page
# loaded in 16.8 and 18.1 s instead of 20.4 and 23.3 (make bench's pipeline, taking turns).
READ_AHEAD_PAGES = 2


@dataclass(frozen=True)
class LoadTarget:
    """Where a source's records land, and whether their key is their content.

    A `content_keyed` source has no record id (mGage, SenderGuide): its mapper keys a record by
    what it says (number, time to the second, body...), so two genuinely distinct records can
    share a key, e.g. a customer's doubled STOP, or two clicks in one second. Identical records
    within one page are then told apart by their occurrence (the second is another row; see
    `occurrence_id`), while a record that a later page repeats is the same record seen again
    (pages that shift while being walked), merged as last seen. Reading a page is one
    consistent answer, so within it a repeat can only be another record; across pages the two
    cannot be told apart, and a repeat is read as the vendor's overlap, never as new data. Only
    two identical records split by a page boundary merge: counted as a duplicate in the load's
    metadata, not silent."""

    source: str
    raw_table: str
    content_keyed: bool = False
    # A record's partition day follows from its key: the key holds its time, and its scopes'
    # days are fixed-zone days of that time (mGage: UTC). Such a record can never be stored under
    # another day, so the load skips the look-up for moved ones (a probe per staged record).
    day_in_key: bool = False


@dataclass(frozen=True)
class Stamp:
    """What the loader writes on every row besides the mapped event (the `loader` columns of
    EVENT_COLUMNS): the recipient's keyed pseudonym, for the analyst role, and whether the rows
    come from the local sandbox rather than a vendor."""

    pii_key: str
    sandbox: bool = False
    _pseudonyms: Pseudonyms = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pseudonyms", Pseudonyms(self.pii_key))  # keyed once per load

    def values(self, event: MessageEvent) -> tuple[str, bool]:
        return self._pseudonyms(event.recipient), self.sandbox


@dataclass(frozen=True)
class LoadScope:
    """One unit of loading, committed whole: what it is called in ops (`key`), the daily
    partition its rows belong to (when the source has one), and the time window its records
    must fall in (when the vendor's window is not exact).

    `complete` says a load sees the whole scope (a day), so quarantine rows it no longer
    rejects can leave; an incremental scope (a Webex key from its watermark) sees only its
    newest days and must not clear the older ones."""

    target: LoadTarget
    key: str
    partition_date: date | None = None
    window: tuple[datetime, datetime] | None = None
    complete: bool = True
    # The first and last partition days its rows should have, when the scope has no single
    # day (a Webex key's window): their month partitions are made before the load starts.
    days: tuple[date, date] | None = None

    @classmethod
    def day(cls, target: LoadTarget, day: date, zone: tzinfo | None = UTC) -> "LoadScope":
        """A daily partition whose records must fall on `day` in `zone` (None: no time check,
        membership is decided by the request, e.g. a campaign's send date)."""
        window = None
        if zone is not None:
            window = (datetime.combine(day, time(), zone).astimezone(UTC),
                      datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC))
        return cls(target, day.isoformat(), day, window)

    def row_partition_date(self, event: MessageEvent) -> date:
        return self.partition_date or event.occurred_at.astimezone(UTC).date()

    def day_range(self) -> tuple[date, date] | None:
        """The first and last partition days its rows should have: its day, or its days."""
        if self.partition_date is not None:
            return self.partition_date, self.partition_date
        return self.days

    def partition_months(self) -> list[date]:
        """The first day of every month the scope's rows should fall in, and of the months
        ahead of it (MONTHS_AHEAD): the month partitions to have before the load."""
        if (days := self.day_range()) is None:
            return []
        first, last = days
        month, months = month_start(first), []
        ahead = month_start(last, MONTHS_AHEAD)
        while month <= ahead:
            months.append(month)
            month = month_start(month, 1)
        return months


def ensure_partitions(conn: psycopg.Connection, months: list[date]) -> int:
    """Make the month partitions that `months` need, in a transaction of their own so that the
    brief lock of creating one is not held through a load; the number created."""
    if not months:
        return 0
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(query("ensure_partitions"), {"days": months})
        (created,) = fetch_one(cursor)
    return int(created)


@dataclass
class LoadStats:
    """What one load saw and changed."""

    source: str
    scope: str
    pages: int = 0
    records_fetched: int = 0
    out_of_window: int = 0
    quarantined: int = 0
    duplicates: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown_status: int = 0
    moved: int = 0  # records loaded before under another partition day, moved to this one
    # Of those inserted, how many a fresh day's load COPYed straight into the tables
    # (pipelines/warehouse/fresh.py) rather than merged.
    inserted_direct: int = 0
    # The first and last partition days the load was for (its day, or its scope's days).
    days: tuple[date, date] | None = None

    def as_metadata(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if name != "days"}


# Writes a load's state (ops.partition_loads, a watermark...) inside the load's transaction.
StateRecorder = Callable[[psycopg.Cursor, LoadScope, LoadStats, str | None], None]


def record_partition_load(cursor: psycopg.Cursor, scope: LoadScope, stats: LoadStats,
                          run_id: str | None) -> None:
    """The state of daily sources: the last load of each partition."""
    cursor.execute(query("record_partition_load"), {
        "source": scope.target.source, "partition_date": scope.partition_date, "run_id": run_id,
        "pages": stats.pages, "records_fetched": stats.records_fetched,
        "duplicates": stats.duplicates, "inserted": stats.inserted, "updated": stats.updated,
        "unchanged": stats.unchanged, "quarantined": stats.quarantined,
        "unknown_status": stats.unknown_status, "out_of_window": stats.out_of_window,
    })


class ScopeLoad:
    """One scope's load in progress: rows in, chunks merged, totals at the end."""

    def __init__(self, cursor: psycopg.Cursor, scope: LoadScope, stats: LoadStats,
                 run_id: str | None, chunk_rows: int, fresh: FreshLoad | None = None) -> None:
        self._cursor = cursor
        self._scope = scope
        self._run_id = run_id
        self._chunk_rows = chunk_rows
        self._copy: psycopg.Copy | None = None
        self._copy_block: Any = None
        self._staged_in_chunk = 0
        self._unknown_seen = 0
        self.stats = stats
        # A fresh day's load (see fresh.py): its direct rows, written at the chunk's end.
        self.fresh = fresh
        self._direct_in_chunk = 0
        self._direct_raw: list[bytes] = []
        self._direct_events: list[bytes] = []
        self._direct_days: set[date] = set()
        self._direct_unknown = 0

    @property
    def _params(self) -> dict[str, Any]:
        return {"source": self._scope.target.source, "scope": self._scope.key, "run_id": self._run_id}

    def add_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Stage prepared rows; merge the chunk when it is full."""
        self.add_formatted(FormattedRows.of(self._cursor.connection.cursor(), rows))

    def add_formatted(self, rows: "FormattedRows") -> None:
        """Stage rows already in COPY's format (formatted in the thread that fetched them, so
        this one only sends them), and keep a fresh load's direct rows for the chunk's end;
        write the chunk when it is full."""
        if rows.count:
            self._open_copy().write(rows.data)
            self._staged_in_chunk += rows.count
        if rows.direct:
            self._direct_raw.append(rows.raw)
            self._direct_events.append(rows.events)
            self._direct_in_chunk += rows.direct
            self._direct_days |= rows.days
            self._direct_unknown += rows.unknown
        if self._staged_in_chunk + self._direct_in_chunk >= self._chunk_rows:
            self._merge_chunk()

    def _open_copy(self) -> psycopg.Copy:
        if self._copy is None:
            self._copy_block = self._cursor.copy(event_sql.copy_stage())
            self._copy = self._copy_block.__enter__()
        return self._copy

    def _close_copy(self) -> None:
        if self._copy is not None:
            self._copy_block.__exit__(None, None, None)
            self._copy = self._copy_block = None

    def _merge_chunk(self) -> None:
        """Write the chunk: a fresh load's direct rows first, so that a repeat staged with them
        merges over them as the last seen; then what is staged."""
        self._close_copy()
        if self._direct_in_chunk:
            self._copy_direct()
        if self._staged_in_chunk:
            self._merge_staged()

    def _copy_direct(self) -> None:
        """COPY the chunk's direct rows into the raw table and core.message_events."""
        with self._cursor.copy(query_with_table("copy_raw", raw_table=self._scope.target.raw_table)) as copy:
            for data in self._direct_raw:
                copy.write(data)
        with self._cursor.copy(event_sql.copy_events()) as copy:
            for data in self._direct_events:
                copy.write(data)
        self.stats.inserted += self._direct_in_chunk
        self.stats.inserted_direct += self._direct_in_chunk
        self._direct_raw.clear()
        self._direct_events.clear()
        self._direct_in_chunk = 0

    def _merge_staged(self) -> None:
        """Merge what is staged into raw, core and quarantine, then empty the staging table.
        The merge also records each status change in core.status_history under this run, and
        the days it touched for the marts, in the load's transaction."""
        cursor = self._cursor
        raw_table = self._scope.target.raw_table
        # A scope without a day of its own (Webex) dates its rows by their times: one outside the
        # months made before the load (a vendor's stray old record) gets its partition here,
        # inside the load: rare, and it holds a lock on the table until commit. A daily scope's
        # rows all have its day, whose month was made before.
        if self._scope.partition_date is None:
            cursor.execute(query("ensure_stage_partitions"))
        # Planned afresh for every chunk, never prepared (psycopg prepares a statement from its
        # fifth run): a plan kept from the first chunks reads the month being loaded as the
        # empty table it was then, and scans it whole for every staged row once it has grown.
        # A fresh load's days held nothing to move (load_fresh.sql, under the scope's lock): it
        # skips the look-up, two key probes per staged record.
        if not self._scope.target.day_in_key and self.fresh is None:
            cursor.execute(event_sql.relocate_moved(raw_table), {"move_window": MOVE_WINDOW_DAYS},
                           prepare=False)
            _raw_moved, events_moved = fetch_one(cursor)
            self.stats.moved += events_moved
        cursor.execute(event_sql.merge_stage(raw_table), {"run_id": self._run_id}, prepare=False)
        inserted, updated, unknown_seen = fetch_one(cursor)
        self.stats.inserted += inserted
        self.stats.updated += updated
        self._unknown_seen += unknown_seen
        cursor.execute(query("quarantine_insert"), self._params)
        cursor.execute(query("stage_keys_keep"))
        if self.fresh is not None:  # the event types the merge wrote, for the rows after it
            cursor.execute(query("stage_event_types"))
            self.fresh.event_types.learn(cursor.fetchall())
        cursor.execute("TRUNCATE stage_records")
        self._staged_in_chunk = 0

    def finish(self, record_state: StateRecorder) -> LoadStats:
        """Merge the last chunk, settle the quarantine, count, and record the load state."""
        self._merge_chunk()
        cursor, stats = self._cursor, self.stats
        if self._scope.complete:
            cursor.execute(query("quarantine_prune"), self._params)
        if self.fresh is None:
            cursor.execute(query("load_distinct_records"))
            (distinct_records,) = fetch_one(cursor)
            if self._unknown_seen:  # exact, over the load's distinct records, only when any
                cursor.execute(query("load_unknown_status"))
                (stats.unknown_status,) = fetch_one(cursor)
        else:
            # The day held nothing before: each distinct record is one the load inserted, and
            # each of the source's events on the day is the load's.
            distinct_records = stats.inserted + stats.updated
            if self._unknown_seen or self._direct_unknown:
                cursor.execute(query("load_unknown_status_day"), {
                    "source": self._scope.target.source, "day": self._scope.partition_date})
                (stats.unknown_status,) = fetch_one(cursor)
            if self._direct_days:
                cursor.execute(query("mark_dirty_days"), {"days": sorted(self._direct_days)})
        staged = stats.records_fetched - stats.quarantined - stats.out_of_window
        stats.duplicates = staged - distinct_records
        stats.unchanged = distinct_records - stats.inserted - stats.updated
        record_state(cursor, self._scope, stats, self._run_id)
        return stats


def stage_rows(page: Page, mapper: Mapper, scope: LoadScope, stats: LoadStats,
               stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """The staging rows of a page's records, normalized or rejected, counted in `stats`.

    Records outside the scope's window (vendors' windows are not always exclusive at the end)
    are left to their own scope."""
    stats.pages += 1
    context = dict(page.context)
    context_json = orjson.dumps(context).decode()
    window = scope.window
    occurrences: dict[str, int] | None = {} if scope.target.content_keyed else None
    for record in page.records:
        stats.records_fetched += 1
        payload_json = orjson.dumps(record).decode()
        if _NUL in payload_json:
            # Postgres text and jsonb cannot hold NUL: one such record must not fail the COPY.
            stats.quarantined += 1
            yield _rejected_row(scope, context_json, payload_json.replace(_NUL, _REPLACEMENT),
                                "payload contains a NUL character (stored as U+FFFD)")
            continue
        try:
            event = mapper(record, context)
        except RecordRejected as rejected:
            if window is not None and rejected.occurred_at is not None \
                    and not window[0] <= rejected.occurred_at < window[1]:
                stats.out_of_window += 1  # another scope's record: quarantined there
                continue
            stats.quarantined += 1
            yield _rejected_row(scope, context_json, payload_json, rejected.reason)
            continue
        if window is not None and not window[0] <= event.occurred_at < window[1]:
            stats.out_of_window += 1
            continue
        if occurrences is not None:
            seen = occurrences[event.event_id] = occurrences.get(event.event_id, 0) + 1
            if seen > 1:
                event = event._replace(event_id=occurrence_id(event, seen))
        # The staged row: the record's keys, then the event's fields in their defined order
        # (event_sql.STAGED_COLUMNS: its attributes as JSON), then the loader's stamps.
        yield (event.event_id, scope.row_partition_date(event), context_json, payload_json, None,
               *event[1:_ATTRIBUTES], orjson.dumps(event.attributes).decode(),
               *event[_ATTRIBUTES + 1:], *stamp.values(event))


@dataclass(frozen=True)
class FormattedRows:
    """Staging rows in COPY's text format, ready to send: a page's rows are formatted where the
    page was fetched, in the background, leaving the loading thread (the one that waits on each
    chunk's merge, the load's critical path) only the sending. Bytes also hold a page in a
    fraction of the memory its row tuples take while it waits in the prefetch buffer."""

    data: bytes  # staging rows
    count: int
    # A fresh load's rows for its direct COPY (fresh.py): raw and event rows, how many, their
    # UTC days (for the marts) and how many have no known event type.
    raw: bytes = b""
    events: bytes = b""
    direct: int = 0
    days: frozenset[date] = frozenset()
    unknown: int = 0

    @classmethod
    def of(cls, cursor: psycopg.Cursor, rows: Iterable[tuple[Any, ...]],
           fresh: FreshLoad | None = None) -> "FormattedRows":
        """Format `rows` with psycopg's own adapters for the connection of `cursor` (one that has
        run nothing), exactly as `Copy.write_row` would on the connection: a Copy that writes to
        memory (psycopg's documented way to produce COPY data away from the server) touches no
        connection state, so it may run in another thread while the connection works. In a
        fresh load, the rows `fresh` lets through are formatted for the direct COPY."""
        staged, count = BytesIO(), 0
        if fresh is None:
            with psycopg.Copy(cursor, binary=False, writer=FileWriter(staged)) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return cls(staged.getvalue(), count)  # once the Copy has flushed, on leaving
        raw, events, direct, unknown, days = BytesIO(), BytesIO(), 0, 0, set()
        with psycopg.Copy(cursor, binary=False, writer=FileWriter(staged)) as copy, \
                psycopg.Copy(cursor, binary=False, writer=FileWriter(raw)) as raw_copy, \
                psycopg.Copy(cursor, binary=False, writer=FileWriter(events)) as events_copy:
            for row in rows:
                if (written := fresh.direct_rows(row)) is None:
                    copy.write_row(row)
                    count += 1
                    continue
                raw_row, event_row = written
                raw_copy.write_row(raw_row)
                events_copy.write_row(event_row)
                direct += 1
                days.add(event_day(event_row))
                unknown += is_unknown(event_row)
        return cls(staged.getvalue(), count, raw.getvalue(), events.getvalue(), direct,
                   frozenset(days), unknown)


def occurrence_id(event: MessageEvent, occurrence: int) -> str:
    """The id of the `occurrence`-th (from 2) identical record of a page: derived from the first
    one's, so the first keeps the id it always had and a rerun of the same answer gives the
    same ids."""
    return make_event_id(event.source, event.event_id, occurrence)


def _rejected_row(scope: LoadScope, context_json: str, payload_json: str,
                  reason: str) -> tuple[Any, ...]:
    record_hash = blake2b(f"{context_json}\x1f{payload_json}".encode(), digest_size=16).hexdigest()
    return (record_hash, scope.partition_date, context_json, payload_json, reason, *_NO_EVENT)


def fresh_load(cursor: psycopg.Cursor, scope: LoadScope) -> FreshLoad | None:
    """A daily scope's fast path, when its source's day is empty (fresh.py), with the event
    types its map gives; None for any other scope. Asked under the scope's lock."""
    if scope.partition_date is None:
        return None
    # A record staged under this day may be stored under another within the move window, unless
    # its day follows from its key: those days must be empty too.
    reach = timedelta(days=0 if scope.target.day_in_key else MOVE_WINDOW_DAYS)
    cursor.execute(query_with_table("load_fresh", raw_table=scope.target.raw_table), {
        "source": scope.target.source, "first_day": scope.partition_date - reach,
        "last_day": scope.partition_date + reach})
    (fresh,) = fetch_one(cursor)
    if not fresh:
        return None
    cursor.execute(query("event_types_known"), {"source": scope.target.source})
    return FreshLoad(EventTypes(cursor.fetchall()))


@contextmanager
def load_scope(conn: psycopg.Connection, scope: LoadScope, stats: LoadStats,
               run_id: str | None = None, chunk_rows: int = CHUNK_ROWS,
               record_state: StateRecorder = record_partition_load,
               fast_path: bool = False) -> Iterator[ScopeLoad]:
    """Stage a scope's rows in the block; on leaving it, finish the merge and commit. With
    `fast_path`, a daily scope whose day is empty takes the direct COPY (`ScopeLoad.fresh`).

    Everything happens in one transaction: the rows, the quarantine and the load state commit
    together or not at all. The month partitions it should need are made first, apart."""
    ensure_partitions(conn, scope.partition_months())
    with conn.transaction(), conn.cursor() as cursor:
        # One writer per scope at a time; a second waits, then sees the first's rows.
        cursor.execute(query("lock_scope"), {"source": scope.target.source, "scope": scope.key})
        cursor.execute(event_sql.create_stage())
        fresh = fresh_load(cursor, scope) if fast_path else None
        load = ScopeLoad(cursor, scope, stats, run_id, chunk_rows, fresh)
        try:
            yield load
        finally:
            load._close_copy()
        load.finish(record_state)


def load_pages(conn: psycopg.Connection, scope: LoadScope, pages: Iterable[Page], mapper: Mapper,
               *, stamp: Stamp, run_id: str | None = None, chunk_rows: int = CHUNK_ROWS,
               record_state: StateRecorder = record_partition_load,
               fast_path: bool = True) -> LoadStats:
    """Load one scope from its pages, end to end: fetched in a background thread, mapped and
    formatted in another, copied and merged in this one. A fresh day takes the direct COPY
    (fresh.py) unless `fast_path` is off, which merges it like any other (and shows that both
    write the same)."""
    stats = LoadStats(source=scope.target.source, scope=scope.key, days=scope.day_range())
    formatting = conn.cursor()  # runs nothing: the background thread's, for the adapters
    with quick_handoffs(), load_scope(conn, scope, stats, run_id, chunk_rows, record_state,
                                      fast_path) as load:
        # The pages start once the load knows whether its day is fresh: that decides the format.
        read = prefetch(pages, READ_AHEAD_PAGES)
        for rows in prefetch((FormattedRows.of(formatting, stage_rows(page, mapper, scope, stats, stamp),
                                               load.fresh) for page in read), PREFETCH_PAGES):
            load.add_formatted(rows)
    return load.stats
