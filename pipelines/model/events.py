"""The shared message-event model every source normalizes into (core.message_events)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from typing import Any, Literal, NamedTuple

Channel = Literal["sms", "mms", "email", "whatsapp", "app_push", "ussd", "obd"]
Direction = Literal["outbound", "inbound"]

_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Column:
    """A column of core.message_events: its name, Postgres type and meaning, and who fills it:
    the source's mapper (the fields of MessageEvent, in order), the loader (what it stamps on
    every row besides the vendor's record), or the warehouse (event_type from the status map,
    partition_date, load times)."""

    name: str
    pg_type: str
    description: str
    filled_by: Literal["mapper", "loader", "warehouse"] = "mapper"


# The event row, defined once: MessageEvent's fields, the staging table, the COPY list, the
# merge and the Dagster column schema all follow this list; a test holds the migrated table to it.
EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "text", "source-prefixed hash of the vendor's natural key, never of the status"),
    Column("source", "text", "mgage, senderguide, cinnox, webex"),
    Column("channel", "text", "sms, mms, email, whatsapp, app_push, ussd, obd"),
    Column("direction", "text", "outbound (MT, sent by us) or inbound (MO, from the customer)"),
    Column("event_type", "text", "canonical lifecycle state, from core.event_type_map", "warehouse"),
    Column("status_raw", "text", "the vendor's status or interaction type, verbatim"),
    Column("occurred_at", "timestamp with time zone", "when it happened, in UTC"),
    Column("recipient", "text", "E.164 phone, lower-cased email, or app device id"),
    Column("campaign_id", "text", "the vendor's campaign, program or deployment id"),
    Column("campaign_name", "text", "the vendor's campaign, program or deployment name"),
    Column("message_id", "text", "the vendor's id of the message, transaction or sent campaign"),
    Column("error_code", "text", "the vendor's failure code"),
    Column("error_reason", "text", "the vendor's failure reason"),
    Column("attributes", "jsonb", "source-specific details worth querying (network, carrier...)"),
    Column("partition_date", "date", "the daily partition (UTC) that loads the row", "warehouse"),
    Column("first_loaded_at", "timestamp with time zone", "when the row was first written", "warehouse"),
    Column("loaded_at", "timestamp with time zone", "when the row last changed", "warehouse"),
    Column("recipient_pseudonym", "text", "keyed pseudonym of recipient (what analysts see)", "loader"),
    Column("sandbox", "boolean", "loaded from the local vendor sandbox (synthetic data)", "loader"),
    Column("linked_message_id", "text",
           "for a response or engagement, the message_id of the outbound message it belongs to"),
)
MAPPED_COLUMNS: tuple[str, ...] = tuple(column.name for column in EVENT_COLUMNS if column.filled_by == "mapper")
STAMPED_COLUMNS: tuple[str, ...] = tuple(column.name for column in EVENT_COLUMNS if column.filled_by == "loader")


class MessageEvent(NamedTuple):
    """One normalized vendor record. `event_type` is not here: the warehouse derives it from
    `status_raw` through core.event_type_map, so the mapping stays data."""

    event_id: str
    source: str
    channel: Channel
    direction: Direction
    status_raw: str | None
    occurred_at: datetime
    recipient: str
    campaign_id: str | None = None
    campaign_name: str | None = None
    message_id: str | None = None
    error_code: str | None = None
    error_reason: str | None = None
    attributes: Mapping[str, Any] = {}
    linked_message_id: str | None = None


class RecordRejected(Exception):
    """A vendor record that cannot be normalized; it goes to quarantine with this reason.

    A reason is a category ("not a phone number"), never the offending value: it is grouped
    by and shown in Dagster, while the value stays in the quarantined payload, in the warehouse.

    `occurred_at` is the record's time when it could be read: a broken record dated outside
    the window being loaded belongs to another scope, which quarantines it (and, once the vendor
    corrects it, loads it) there."""

    def __init__(self, reason: str, occurred_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.occurred_at = occurred_at


def make_event_id(source: str, *natural_key: object) -> str:
    """Stable id of a vendor record: the source and a hash of its natural key.

    The key must identify the message, never its status, so that a later status updates the
    same row. Parts are normalized by the caller (E.164 numbers, UTC instants)."""
    key = _KEY_SEPARATOR.join("" if part is None else str(part) for part in natural_key)
    return f"{source}:{blake2b(key.encode(), digest_size=16).hexdigest()}"
