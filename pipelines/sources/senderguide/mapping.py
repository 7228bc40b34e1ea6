"""SenderGuide interaction rows to the shared message-event model."""

from datetime import tzinfo
from functools import partial
from typing import Any

from pipelines.model.events import MessageEvent, RecordRejected, make_event_id
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.warehouse.loading import Mapper

SOURCE = "senderguide"
# The version of these rules: raised with every change to what a stored record maps to, so
# that the warehouse_remap job re-maps the rows already loaded (2: issue 11's corrections).
MAPPING_VERSION = 2
# No interaction id: an interaction is keyed by its content (two clicks of one contact in one
# second are two rows, by their occurrence: LoadTarget.content_keyed), as are both passes of a
# repeated daylight-saving hour, which read the same naive time.
CONTENT_KEYED = True


def map_interaction(record: Any, context: dict[str, Any], *, zone: tzinfo) -> MessageEvent:
    """One interaction (a send, an open, a click...) as a message event.

    Timestamps are naive in the account's zone. The natural key is the email's id, the
    contact, the interaction type and the interaction time."""
    if not isinstance(record, dict):
        raise RecordRejected("interaction is not a JSON object")
    # Read first: it decides which day's partition a broken record is quarantined in.
    occurred_at = parse_vendor_time(record.get("interaction_date"), zone)
    email = record.get("contact_email")
    if not isinstance(email, str) or "@" not in email:
        raise RecordRejected("missing or malformed contact_email", occurred_at)
    contact_id = record.get("contact_id")
    if contact_id is None or isinstance(contact_id, bool):
        raise RecordRejected("missing contact_id", occurred_at)
    interaction_type = record.get("interaction_type") or context["interaction_type"]
    message_id = str(record.get("message_id") or context["message_id"])
    return MessageEvent(
        event_id=make_event_id(SOURCE, message_id, contact_id, interaction_type, occurred_at.isoformat()),
        source=SOURCE,
        channel="email",
        direction="outbound",
        status_raw=interaction_type,
        occurred_at=occurred_at,
        recipient=email.strip().lower(),
        campaign_id=message_id,
        message_id=message_id,
        attributes={"contact_id": contact_id, "send_date": _send_date(record.get("send_date"), zone)},
    )


def _send_date(value: Any, zone: tzinfo) -> str | None:
    """The send time in UTC; a detail that is kept as received rather than sink the record."""
    if not value:
        return None
    try:
        return parse_vendor_time(value, zone).isoformat()
    except RecordRejected:
        return str(value)


def mapper_for(client: SenderGuideClient, settings: ModelSettings) -> Mapper:
    """The mapper a load (and a re-map) of this source uses, from its configuration."""
    return partial(map_interaction, zone=client.zone)
