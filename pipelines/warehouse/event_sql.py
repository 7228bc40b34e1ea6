"""The load path's SQL around the event row, composed from its one definition
(`EVENT_COLUMNS` in pipelines/model/events.py): the staging table, the COPY list, and the merge
into core.message_events. A column added there reaches all three."""

from functools import cache

from psycopg import sql

from pipelines.model.events import EVENT_COLUMNS, MAPPED_COLUMNS, STAMPED_COLUMNS
from pipelines.warehouse.queries import query

# A mapper's columns as staged (event_id is staged as record_id, in front of them), then the
# loader's stamps.
STAGED_COLUMNS: tuple[str, ...] = MAPPED_COLUMNS[1:] + STAMPED_COLUMNS
# A staged row, in COPY order: the record's keys and landing, then its event (stage_rows builds
# it, fresh.py reads it back out).
STAGE_ROW: tuple[str, ...] = ("record_id", "partition_date", "context", "payload", "reject_reason",
                              *STAGED_COLUMNS)
# What a load writes into core.message_events (the load times are the database's).
WRITTEN_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in EVENT_COLUMNS if column.name not in ("first_loaded_at", "loaded_at"))
# Where the merge takes each written column from: the staged record, or its status's mapping.
_ORIGIN = {"event_id": sql.SQL("l.record_id"), "event_type": sql.SQL("s.event_type")}


def _join(parts: list[sql.Composable]) -> sql.Composed:
    return sql.SQL(", ").join(parts)


def _names(columns: tuple[str, ...]) -> sql.Composed:
    return _join([sql.Identifier(name) for name in columns])


@cache
def create_stage() -> sql.Composed:
    types = {column.name: column.pg_type for column in EVENT_COLUMNS}
    return sql.SQL(query("create_stage")).format(event_column_types=_join([
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(types[name]))
        for name in STAGED_COLUMNS]))


@cache
def copy_stage() -> sql.Composed:
    return sql.SQL(query("copy_stage")).format(columns=_names(STAGE_ROW))


@cache
def merge_stage(raw_table: str) -> sql.Composed:
    """The merge of a staged chunk into `raw_table` (a code constant) and core.message_events,
    with the status changes it makes into core.status_history (under the `run_id` parameter)
    and the days it touched into ops.mart_dirty_days."""
    # The key (event id and partition day) is what the conflict matched on, never updated.
    updated = [name for name in WRITTEN_COLUMNS if name not in ("event_id", "partition_date")]
    return sql.SQL(query("merge_stage")).format(
        raw_table=sql.Identifier(*raw_table.split(".")),
        written=_names(WRITTEN_COLUMNS),
        staged=_join([sql.SQL("{} AS {}").format(_ORIGIN.get(name, sql.Identifier("l", name)),
                                                 sql.Identifier(name))
                      for name in WRITTEN_COLUMNS]),
        updates=_join([sql.SQL("{} = {}").format(sql.Identifier(name), sql.Identifier("excluded", name))
                       for name in updated]),
        current=_join([sql.Identifier("t", name) for name in updated]),
        incoming=_join([sql.Identifier("excluded", name) for name in updated]))


@cache
def relocate_moved(raw_table: str) -> sql.Composed:
    """The move of staged records already loaded under another partition day to the day they
    are staged under, in `raw_table` (a code constant) and core.message_events."""
    return sql.SQL(query("relocate_moved")).format(raw_table=sql.Identifier(*raw_table.split(".")))


@cache
def copy_events() -> sql.Composed:
    """The COPY of a fresh load's new events straight into core.message_events."""
    return sql.SQL(query("copy_events")).format(written=_names(WRITTEN_COLUMNS))
