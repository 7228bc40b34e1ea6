"""Webex Campaign customer transactions to the shared message-event model."""

import re
from datetime import tzinfo
from functools import partial
from typing import Any

from pipelines.model.events import Channel, Direction, MessageEvent, RecordRejected, make_event_id
from pipelines.model.phones import NumberReading, to_e164
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.webex.client import WebexClient
from pipelines.warehouse.loading import Mapper

SOURCE = "webex"
# The version of these rules: raised with every change to what a stored record maps to, so
# that the warehouse_remap job re-maps the rows already loaded (2: issue 11's corrections).
MAPPING_VERSION = 2
CONTENT_KEYED = False  # keyed by the vendor's id

# The `channel` field: documented codes, and the names the request parameter uses.
CHANNELS: dict[str, Channel] = {
    "0": "sms", "1": "mms", "3": "ussd", "6": "obd", "7": "email", "8": "app_push",
    "sms": "sms", "mms": "mms", "ussd": "ussd", "obd": "obd", "email": "email", "app": "app_push",
}
_PHONE_CHANNELS = frozenset({"sms", "mms", "ussd", "obd"})

# Statuses of what the customer sent or did on their own: MO messages and opting in or out.
# Everything else is a message we sent, its engagement (opens, clicks, DTMF answers belong to
# the outbound message, which `link-transaction-id` names), or an event we posted through the
# event API (EventProcessed*: ours, so outbound, `triggered` or `failed`).
INBOUND_STATUSES = frozenset({
    "moprocessedsuccess", "moprocessedfailed", "dndaddition", "dndremoval",
    "email unsubscribe", "msisdn unsubscribe",
})
# "Success"/"0" codes mean no error at all.
_NO_ERROR = frozenset({"", "0"})


def status_key(status: str) -> str:
    """A status compared as core.status_key does: case, runs of spaces and spaces around
    commas and hyphens ignored ("Email,Opened" is "Email, Opened")."""
    collapsed = re.sub(r"\s+", " ", re.sub(r"\s*([,-])\s*", r"\1", status))
    return collapsed.strip().lower()


def map_transaction(record: Any, context: dict[str, Any], *, zone: tzinfo,
                    default_region: str) -> MessageEvent:
    """One Webex transaction as a message event.

    `transaction-id` is the natural key, so a later status updates the same row.
    `deployment-date` is naive in the tenant's zone (`zone`) and lands in UTC."""
    if not isinstance(record, dict):
        raise RecordRejected("transaction is not a JSON object")
    transaction_id = _text(record.get("transaction-id"))
    if transaction_id is None:
        raise RecordRejected("missing transaction-id")
    channel_code = _text(record.get("channel"))
    channel = CHANNELS.get((channel_code or "").lower())
    if channel is None:
        raise RecordRejected("unknown channel code")
    occurred_at = parse_vendor_time(record.get("deployment-date"), zone)
    recipient = _recipient(_text(record.get("key")) or _text(context.get("key")), channel,
                           default_region)
    status = record.get("transaction-status")
    status_raw = status if isinstance(status, str) else None
    direction: Direction = "inbound" if status_raw and status_key(status_raw) in INBOUND_STATUSES else "outbound"
    error_code = _text(record.get("error-code"))
    if error_code in _NO_ERROR:
        error_code = None
    description = _text(record.get("description"))
    return MessageEvent(
        event_id=make_event_id(SOURCE, transaction_id),
        source=SOURCE,
        channel=channel,
        direction=direction,
        status_raw=status_raw,
        occurred_at=occurred_at,
        recipient=recipient,
        campaign_id=_text(record.get("campaign-id")),
        campaign_name=_text(record.get("campaign-name")),
        message_id=transaction_id,
        error_code=error_code,
        error_reason=description if error_code else None,
        attributes={
            "deployment_id": _text(record.get("deployment-id")),
            "deployment_name": _text(record.get("deployment-name")),
            "customer_id": _text(record.get("customer-id")),
            "msg_preview_url": _text(record.get("msg_preview_url")),
            "description": description,
            "channel_code": channel_code,
        },
        # "the pushed transaction id for the responses": the message this one answers.
        linked_message_id=_text(record.get("link-transaction-id")),
    )


def _recipient(key: str | None, channel: Channel, default_region: str) -> str:
    """The customer's address by the key's shape and the channel: an email lower-cased, an
    MSISDN in E.164, an app device id verbatim. A key that cannot be what its channel needs is
    rejected.

    An MSISDN carries its country code by definition (`6591234567` is +65 9123 4567, never a
    North-American number), so its digits are read as international, whatever the region."""
    if key is None:
        raise RecordRejected("missing key")
    if channel == "email":
        if "@" not in key or any(character.isspace() for character in key):
            raise RecordRejected("email transaction without an email key")
        return key.lower()
    if channel in _PHONE_CHANNELS:
        number = to_e164(key, default_region, NumberReading.INTERNATIONAL)
        if number is None:
            raise RecordRejected("not a phone number")
        return number
    return key


def _text(value: Any) -> str | None:
    """A field as stripped text; None for absent, empty, or non-scalar values."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def mapper_for(client: WebexClient, settings: ModelSettings) -> Mapper:
    """The mapper a load (and a re-map) of this source uses, from its configuration."""
    return partial(map_transaction, zone=client.zone,
                   default_region=settings.phone_default_region)
