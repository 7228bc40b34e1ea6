"""Re-mapping a source's stored raw records with its current mapping rules: how a change to
the rules reaches rows already loaded, as a migration, without asking the vendor again (the
vendors keep a year; the warehouse may hold more).

Each daily partition of the raw table is re-mapped in one transaction through the load path
itself (stage, merge, quarantine), so a re-mapped row is exactly what a load with the new
rules writes; rows the new rules no longer produce (an id that changed with a corrected
recipient, a record now rejected into quarantine) leave core and raw in the same transaction.
A run killed half-way leaves whole partitions re-mapped or not, and a rerun finishes the rest:
re-mapping a re-mapped partition changes nothing."""

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import psycopg

from pipelines.transport.paging import Page
from pipelines.warehouse.loading import (
    LoadScope,
    LoadStats,
    LoadTarget,
    Mapper,
    Stamp,
    load_scope,
    stage_rows,
)
from pipelines.warehouse.queries import fetch_one, query, query_with_table

# Raw records read per round trip: a partition streams through in bounded memory.
_BATCH_ROWS = 5_000


@dataclass
class RemapStats:
    """What re-mapping one source changed."""

    source: str
    version: int
    partitions: int = 0
    records: int = 0
    updated: int = 0
    replaced: int = 0
    quarantined: int = 0
    loads: list[LoadStats] = field(default_factory=list, repr=False)

    def as_metadata(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if name != "loads"}


def mapping_version(conn: psycopg.Connection, source: str) -> int:
    """The mapping rules `source`'s stored rows were made with."""
    with conn.transaction():
        (version,) = fetch_one(conn.execute(query("mapping_version"), {"source": source}))
    return int(version)


def remap_source(conn: psycopg.Connection, reader: psycopg.Connection, target: LoadTarget,
                 mapper: Mapper, *, stamp: Stamp, version: int, run_id: str | None = None) -> RemapStats:
    """Re-map every stored raw record of `target` with `mapper`, partition by partition, then
    record that its rows follow rules `version`. `reader` (a second connection) streams the
    stored records while `conn` copies and merges them: one connection cannot read a cursor
    while it is in a COPY. Nothing else may load the source meanwhile (its Dagster pool).

    The id of a record keyed by its content (`target.content_keyed`) is kept as stored: it
    also carries the record's occurrence among identical ones, which a raw row alone cannot
    tell again; so a rules change may not change what a content key is made of (that needs a
    reload). Records with a vendor id take the id the new rules give them."""
    stats = RemapStats(target.source, version)
    with conn.transaction():  # each partition's re-map is then a transaction of its own
        days = [row[0] for row in conn.execute(
            query_with_table("remap_partitions", raw_table=target.raw_table))]
    for day in days:
        load = _remap_partition(conn, reader, target, day, mapper, stamp, run_id)
        stats.partitions += 1
        stats.records += load.records_fetched
        stats.updated += load.updated
        stats.replaced += load.inserted
        stats.quarantined += load.quarantined
        stats.loads.append(load)
    with conn.transaction():
        conn.execute(query("record_mapping_version"),
                     {"source": target.source, "version": version, "run_id": run_id})
    return stats


def _remap_partition(conn: psycopg.Connection, reader: psycopg.Connection, target: LoadTarget,
                     day: date, mapper: Mapper, stamp: Stamp, run_id: str | None) -> LoadStats:
    # The partition is the stored one: no time window, and the quarantine of the partition's
    # own loads is left as it is (a re-map sees only what was landed). Records are staged one
    # by one, without occurrence numbers: a content-keyed record keeps its stored id instead.
    scope = LoadScope(replace(target, content_keyed=False), f"remap:{day.isoformat()}",
                      partition_date=day, complete=False)
    stats = LoadStats(source=target.source, scope=scope.key)

    def drop_unmapped(cursor: psycopg.Cursor, scope: LoadScope, stats: LoadStats,
                      run_id: str | None) -> None:
        cursor.execute(query_with_table("remap_drop_unmapped", raw_table=target.raw_table),
                       {"source": target.source, "partition_date": day})

    with load_scope(conn, scope, stats, run_id, record_state=drop_unmapped) as load:
        for rows in _restaged(reader, target, day, mapper, scope, stats, stamp):
            load.add_rows(rows)
    return load.stats


def _restaged(reader: psycopg.Connection, target: LoadTarget, day: date, mapper: Mapper,
              scope: LoadScope, stats: LoadStats, stamp: Stamp) -> Iterator[list[tuple[Any, ...]]]:
    """The partition's raw records as staging rows, a batch at a time. Each record is its own
    page (it keeps its own context); a content-keyed record keeps its stored id."""
    with reader.transaction(), reader.cursor(name=f"remap_{target.source}") as cursor:
        cursor.execute(query_with_table("remap_raw_records", raw_table=target.raw_table),
                       {"partition_date": day})
        while batch := cursor.fetchmany(_BATCH_ROWS):
            rows: list[tuple[Any, ...]] = []
            for record_id, context, payload in batch:
                for row in stage_rows(Page([payload], context), mapper, scope, stats, stamp):
                    keep_id = target.content_keyed and row[4] is None  # mapped, not rejected
                    rows.append((record_id, *row[1:]) if keep_id else row)
            yield rows
