"""CINNOX sent-campaign recipients to the shared message-event model."""

import re
from datetime import datetime
from functools import partial
from typing import Any

import phonenumbers

from pipelines.model.events import Channel, MessageEvent, RecordRejected, make_event_id
from pipelines.model.phones import NumberReading, to_e164
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.warehouse.loading import Mapper

SOURCE = "cinnox"
# The version of these rules: raised with every change to what a stored record maps to, so
# that the warehouse_remap job re-maps the rows already loaded (2: issue 11's corrections).
MAPPING_VERSION = 2
CONTENT_KEYED = False  # keyed by the vendor's id
# The summary's channel names, compared lower-cased and without spaces.
_CHANNELS: dict[str, Channel] = {"sms": "sms", "whatsapp": "whatsapp"}
# "Error Code: 7061120 - 360Dialog bad request", also without the dash, the prefix or a reason.
# Without the "Error Code" prefix the number must stand alone ("360dialog ..." is not a code).
_FAILED_REASON = re.compile(
    r"(?:error\s*code\s*[:#]?\s*(?P<prefixed>\d+)|(?P<bare>\d+)\b)\s*[-–—:]?\s*(?P<reason>.*)",  # noqa: RUF001 - dashes vendors type
    re.IGNORECASE | re.DOTALL)
# The text is stripped before matching and the reason is greedy, so matching is linear in the
# text; and a vendor's reason is capped (the raw payload keeps it whole).
MAX_REASON_CHARS = 1_000


def map_recipient(record: Any, context: dict[str, Any], *, default_region: str) -> MessageEvent:
    """One recipient row of a sent campaign as a message event.

    The detail row does not carry its campaign: historyID, name and channel come from the
    page's context (the summary row). One campaign sending reaches a number once, so the
    natural key is historyID + E.164 recipient; never the status, so that Pending -> Delivered
    -> Read updates the same row. The row's `id` is the created campaign's id, shared by every
    sending of that campaign: it is the campaign_id, not a message id."""
    if not isinstance(record, dict):
        raise RecordRejected("recipient row is not a JSON object")
    history_id = context.get("history_id")
    if not history_id:
        raise RecordRejected("no historyID in the page context")
    channel = _channel(context.get("channel"))
    recipient = _recipient(record, channel, default_region)
    sent_at = parse_vendor_time(record.get("date") or context.get("campaign_date"))
    last_updated_at = _last_updated(record)
    status = record.get("status")
    error_code, error_reason = parse_failed_reason(record.get("failedReason"))
    campaign_id = record.get("id")
    return MessageEvent(
        event_id=make_event_id(SOURCE, history_id, recipient),
        source=SOURCE,
        channel=channel,
        direction="outbound",
        status_raw=status if isinstance(status, str) else None,
        # The status's own time (Delivered, Read...), where the vendor gives it.
        occurred_at=last_updated_at or sent_at,
        recipient=recipient,
        campaign_id=str(campaign_id) if campaign_id not in (None, "") else str(history_id),
        campaign_name=context.get("campaign_name"),
        message_id=str(history_id),
        error_code=error_code,
        error_reason=error_reason,
        attributes={
            "carrier_network_status": record.get("carrierNetworkStatus"),
            "num_sms": record.get("numSMS"),
            "recipient_country": record.get("recipientCountry"),
            "sender": record.get("sender"),
            "subject": record.get("subject"),
            "sent_at": sent_at.isoformat(),
            "last_updated_at": last_updated_at and last_updated_at.isoformat(),
        },
    )


def parse_failed_reason(value: Any) -> tuple[str | None, str | None]:
    """(error code, reason) from a `failedReason`: "Error Code: 7061120 - 360Dialog bad request"
    gives ("7061120", "360Dialog bad request"); text without a code is all reason."""
    if value is None or isinstance(value, bool):
        return None, None
    text = str(value).strip()[:MAX_REASON_CHARS].strip()
    if not text:
        return None, None
    match = _FAILED_REASON.fullmatch(text)
    if match is None:
        return None, text
    return match["prefixed"] or match["bare"], match["reason"] or None


def _channel(value: Any) -> Channel:
    channel = _CHANNELS.get(str(value).replace(" ", "").lower()) if isinstance(value, str) else None
    if channel is None:
        raise RecordRejected("unknown campaign channel")
    return channel


def _recipient(record: dict[str, Any], channel: Channel, default_region: str) -> str:
    """The recipient in E.164. It comes as digits, '+digits' or a JSON number.

    A WhatsApp recipient is an international number (WhatsApp ids are E.164 without '+'), so
    its digits are never read as national. An SMS recipient comes with `recipientCountry`, the
    country it was sent to: its digits are read in that country (with or without its country
    code), else in the default region."""
    raw = record.get("recipient")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int):
        raise RecordRejected("missing or malformed recipient")
    country = record.get("recipientCountry")
    region = country.strip().upper() if isinstance(country, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        region = default_region
    reading = NumberReading.INTERNATIONAL if channel == "whatsapp" else NumberReading.IN_COUNTRY
    recipient = to_e164(str(raw), region, reading)
    if recipient is None:
        raise RecordRejected("not a phone number")
    return recipient


def _last_updated(record: dict[str, Any]) -> datetime | None:
    """The vendor's last-update time (the current status's time); it comes in either casing.
    An unreadable one is left out rather than sink the record: the send time stands in."""
    value = record.get("LastUpdatedDateTime") or record.get("lastUpdatedDateTime")
    if not value:
        return None
    try:
        return parse_vendor_time(value)
    except RecordRejected:
        return None


def mapper_for(client: CinnoxClient, settings: ModelSettings) -> Mapper:
    """The mapper a load (and a re-map) of this source uses, from its configuration."""
    return partial(map_recipient, default_region=settings.phone_default_region)
