"""The shared message-event model every source normalizes into (core.message_events)."""

from collections.abc import Mapping
from datetime import datetime
from hashlib import blake2b
from typing import Any, Literal, NamedTuple

Channel = Literal["sms", "mms", "email", "whatsapp", "app_push", "ussd", "obd"]
Direction = Literal["outbound", "inbound"]

_KEY_SEPARATOR = "\x1f"


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


class RecordRejected(Exception):
    """A vendor record that cannot be normalized; it goes to quarantine with this reason.

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
