"""mGage messages to the shared message-event model."""

from functools import partial
from typing import Any

from pipelines.model.events import Direction, MessageEvent, RecordRejected, make_event_id
from pipelines.model.phones import to_e164
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.mgage.client import MgageClient
from pipelines.warehouse.loading import Mapper

SOURCE = "mgage"
# The version of these rules: raised with every change to what a stored record maps to, so
# that the warehouse_remap job re-maps the rows already loaded (2: issue 11's corrections).
MAPPING_VERSION = 2
# No message id: a message is keyed by its content, and identical ones in an answer are told
# apart by their occurrence (LoadTarget.content_keyed).
CONTENT_KEYED = True
# A message's UTC time is part of its key, and its partition day is that time's UTC day (mGage
# dates are GMT): a stored message can never belong to another day (LoadTarget.day_in_key).
DAY_IN_KEY = True
_DIRECTIONS: dict[str, Direction] = {"MT": "outbound", "MO": "inbound"}


def map_message(message: Any, context: dict[str, Any], *, default_region: str) -> MessageEvent:
    """One mGage message as a message event.

    mGage has no message id, so the natural key is program, type, number (E.164), time and
    body; never the status, so that Sent -> Delivered updates the same row."""
    if not isinstance(message, dict):
        raise RecordRejected("message is not a JSON object")
    message_type = message.get("type") or context["message_type"]
    direction = _DIRECTIONS.get(message_type)
    if direction is None:
        raise RecordRejected("unknown message type")
    occurred_at = parse_vendor_time(message.get("date"))  # GMT, no offset; read first: it
    # decides which day's partition a broken record is quarantined in
    raw_number = message.get("number")
    if raw_number is None or isinstance(raw_number, bool | float):
        raise RecordRejected("missing or malformed number", occurred_at)
    recipient = to_e164(str(raw_number), default_region)
    if recipient is None:
        raise RecordRejected("not a phone number", occurred_at)
    status = message.get("deliveryStatus")
    body = message.get("body")
    program_id = context["program_id"]
    return MessageEvent(
        event_id=make_event_id(SOURCE, program_id, message_type, recipient,
                               occurred_at.isoformat(), body),
        source=SOURCE,
        channel="sms",
        direction=direction,
        status_raw=status if isinstance(status, str) else None,
        occurred_at=occurred_at,
        recipient=recipient,
        # mGage has no campaign id: the program is the unit messages are exported by. The
        # answer names its campaign and its program apart, and each keeps its own name.
        campaign_id=program_id,
        campaign_name=context.get("campaign_name"),
        attributes={
            "network": message.get("network"),
            "program_name": context.get("program_name"),
            "program_type": context.get("program_type"),
        },
    )


def mapper_for(client: MgageClient, settings: ModelSettings) -> Mapper:
    """The mapper a load (and a re-map) of this source uses, from its configuration."""
    return partial(map_message, default_region=settings.phone_default_region)
