"""A fresh day's fast path. When a daily load finds its source's day empty (a first load, a
backfill: sql/queries/load_fresh.sql), its new records need no merge: they are COPYed straight
into the raw table and core.message_events, which skips the staging table, the sort, the
conflict checks and the keys kept across chunks, about a third of the warehouse's work per
record (see `make bench`).

A record goes the merge's way instead whenever it might already be there:
- its id may have been sent before in this load (`SentIds`): a record repeated across pages;
- its status has no event type known yet (`EventTypes`), since the mapping lives in SQL;
- it is rejected (quarantine), as always.
Within a chunk the direct rows are written before the merge, so a repeat merged after them
still wins as the last seen, and the merge counts it as a duplicate, not an insert
(sql/queries/merge_stage.sql). Nothing else writes the day meanwhile: the load holds the
scope's lock from the check to its commit."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from pipelines.warehouse import event_sql

# Where each written event column is in a staged row, and where the raw table's columns are.
_AT = {name: index for index, name in enumerate(event_sql.STAGE_ROW)}
_TYPE_AT = event_sql.WRITTEN_COLUMNS.index("event_type")
_BEFORE_TYPE = itemgetter(*(_AT["record_id" if name == "event_id" else name]
                            for name in event_sql.WRITTEN_COLUMNS[:_TYPE_AT]))
_AFTER_TYPE = itemgetter(*(_AT[name] for name in event_sql.WRITTEN_COLUMNS[_TYPE_AT + 1:]))
_RAW = itemgetter(_AT["record_id"], _AT["partition_date"], _AT["context"], _AT["payload"])
_REJECTED, _CHANNEL, _STATUS = _AT["reject_reason"], _AT["channel"], _AT["status_raw"]
_WRITTEN_OCCURRED_AT = event_sql.WRITTEN_COLUMNS.index("occurred_at")


class SentIds:
    """The record ids a load has sent, as a one-hash Bloom filter: 16 MiB whatever the load's
    size, never a false "not sent". A false "maybe sent" (1 id in 670 by the 200,000th of a load,
    1 in 135 by the millionth) only sends a new record the merge's way, which writes it all the
    same. One hash costs half of two in the formatting thread, which the load waits on."""

    _BITS = 1 << 27
    _MASK = _BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS >> 3)

    def add(self, record_id: str) -> bool:
        """Remember `record_id`; whether it may have been added before. (str hashes are stable
        within a process, which is all an in-memory filter needs.)"""
        bit = hash(record_id) & self._MASK
        byte, mask = bit >> 3, 1 << (bit & 7)
        seen = self._bits[byte] & mask
        self._bits[byte] |= mask
        return bool(seen)


class EventTypes:
    """The event type of each (channel, status) of a source, as core.event_type_for answers: read
    from the map before the load, then learnt from each merge. The mapping stays in SQL alone;
    this only remembers its answers, for rows that skip SQL on their way in. Written by the
    loading thread, read by the formatting one (single dict operations, atomic in CPython)."""

    def __init__(self, known: Iterable[tuple[str, str, str]] = ()) -> None:
        self._types: dict[tuple[str, str], str] = {}
        self.learn(known)

    def learn(self, answers: Iterable[tuple[str, str, str]]) -> None:
        for channel, status, event_type in answers:
            self._types[channel, status] = event_type

    def get(self, channel: str, status: str | None) -> str | None:
        return self._types.get((channel, status or ""))


class FreshLoad:
    """A fresh load's routing of staged rows: straight into the tables, or to the merge."""

    def __init__(self, event_types: EventTypes) -> None:
        self.event_types = event_types
        self._sent = SentIds()

    def direct_rows(self, row: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
        """The raw and event rows of a staged row that may be COPYed directly; None when it goes
        the merge's way. Every accepted record's id is remembered, whichever way it goes, so a
        later repeat of a record staged now cannot be COPYed as new."""
        if row[_REJECTED] is not None:
            return None
        if self._sent.add(row[0]):
            return None
        event_type = self.event_types.get(row[_CHANNEL], row[_STATUS])
        if event_type is None:
            return None
        return _RAW(row), (*_BEFORE_TYPE(row), event_type, *_AFTER_TYPE(row))


def event_day(event_row: tuple[Any, ...]) -> date:
    """The UTC day of a direct event row, for the marts' refresh."""
    occurred_at: datetime = event_row[_WRITTEN_OCCURRED_AT]
    return occurred_at.astimezone(UTC).date()


def is_unknown(event_row: tuple[Any, ...]) -> bool:
    return bool(event_row[_TYPE_AT] == "unknown")
