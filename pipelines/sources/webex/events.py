"""The Webex Campaign event API (`POST {events_path}` with event-id, event-key, event-params):
an event checked against the vendor's limits before it leaves, and every answer classified by
its body's `code`, not only its HTTP status (the tenant decides whether errors come as 200 or
500). The API is not idempotent: a send is retried only when the vendor surely did not act."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from pipelines.model.phones import NumberReading, to_e164
from pipelines.transport.http import (
    InDoubtError,
    TransientVendorError,
    VendorError,
    VendorHttp,
    vendor_text,
)

VENDOR = "webex"
MAX_PARAMS = 400
MAX_PAYLOAD_BYTES = 24 * 1024
# Codes meaning "later": throttled, request failed, internal error, bad gateway. The vendor
# answered, so it did not act on the event; the shared HTTP layer retries them.
_LATER_CODES = frozenset({"429", "499", "500", "502"})
# Access refused: no event of the run can go, so the run stops and the event stays due.
_AUTH_CODES = frozenset({"430", "498"})
_AUTH_STATUSES = frozenset({401, 403})
_ACCEPTED_CODES = frozenset({"1000", "200", "0"})
_NULL_TEXT = frozenset({"null"})
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]*\d[\d\s().-]*")


class EventRejected(ValueError):
    """An event refused before sending: `code` names the rule, the message says why (never the
    key or a parameter's value)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class AccessRefused(VendorError):
    """The vendor refused the credentials: every event would fail alike, so the run stops."""


def normalize_key(raw: object, default_region: str) -> str:
    """The event key as the model keeps customer keys: an email lower-cased, an MSISDN in
    E.164 (its digits carry their country code, as Webex keys always do), an app device id
    verbatim."""
    key = raw.strip() if isinstance(raw, str) else str(raw).strip() if isinstance(raw, int) else ""
    if not key:
        raise EventRejected("missing_key", "event-key is missing")
    if "@" in key:
        if any(character.isspace() for character in key) or key.count("@") != 1:
            raise EventRejected("invalid_key", "event-key is not a valid email address")
        return key.lower()
    if _PHONE_LIKE.fullmatch(key):  # only digits and separators: an MSISDN or nothing
        number = to_e164(key, default_region, NumberReading.INTERNATIONAL)
        if number is None:
            raise EventRejected("invalid_key", "event-key is not a valid phone number")
        return number
    return key


def wire_key(key: str) -> str:
    """How a normalized key is sent: an E.164 number without its '+', as the document's
    example (`44839382928`) and the transactions API spell MSISDNs."""
    return key.removeprefix("+") if key.startswith("+") and key[1:].isdigit() else key


def param_text(name: str, value: Any) -> str:
    """A parameter's value as the text Webex personalizes messages with.

    The document forbids a "NULL"/"null" value even for an optional parameter (the vendor
    answers with an error); an SQL NULL would be sent as one, so both are refused here, in
    any letter case, rather than guessed at."""
    if value is None:
        raise EventRejected("null_param", f"event parameter {name!r} is NULL")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, int | float | Decimal | str):
        text = str(value)
    else:  # a JSON object or array: sent as its JSON text
        text = orjson.dumps(value).decode()
    if text.strip().lower() in _NULL_TEXT:
        raise EventRejected("null_param", f"event parameter {name!r} is the text NULL")
    return text


@dataclass(frozen=True)
class Event:
    """One event for one customer key, checked against the document's limits."""

    event_id: str
    key: str  # normalized (normalize_key)
    params: dict[str, str]

    def payload(self) -> dict[str, Any]:
        return {"event-id": self.event_id, "event-key": wire_key(self.key), "event-params": self.params}

    def body(self) -> bytes:
        return orjson.dumps(self.payload())


def checked_event(event_id: str, raw_key: object, values: Mapping[str, Any],
                  default_region: str) -> Event:
    """The event for one audience row, or EventRejected naming the first rule it breaks:
    event-id and event-key present, parameter names non-empty, no NULL value, at most 400
    parameters, at most 24 KB sent."""
    if not event_id.strip():
        raise EventRejected("missing_event_id", "event-id is missing")
    key = normalize_key(raw_key, default_region)
    if len(values) > MAX_PARAMS:
        raise EventRejected("too_many_params", f"{len(values)} event parameters; at most {MAX_PARAMS}")
    params: dict[str, str] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip():
            raise EventRejected("invalid_param_name", "an event parameter has no name")
        params[name] = param_text(name, value)
    event = Event(event_id.strip(), key, params)
    if (size := len(event.body())) > MAX_PAYLOAD_BYTES:
        raise EventRejected("payload_too_large", f"payload of {size} bytes; at most {MAX_PAYLOAD_BYTES}")
    return event


class Outcome(Enum):
    ACCEPTED = "accepted"   # the vendor took it: sent
    REFUSED = "refused"     # the vendor refused it for good (1001, 1002, 1003, 404...): failed
    LATER = "later"         # the vendor answered "later" until the retries ran out: due again
    IN_DOUBT = "in_doubt"   # no answer: it may have acted; settled from its transactions


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    transaction_id: str | None = None
    code: str | None = None
    text: str | None = None


def _code(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("code") is not None:
        return str(body["code"]).strip()
    return None


def check_event_body(endpoint: str, body: Any) -> None:
    """A 200 answer is an acceptance only if its code says so (or it has none and carries a
    transaction-id); a "later" code is retried; any other code is the vendor's refusal."""
    code = _code(body)
    if code is None or code in _ACCEPTED_CODES:
        return
    _raise_for_code(endpoint, 200, body, code)


def check_event_error(endpoint: str, status: int, body: Any) -> None:
    code = _code(body)
    if code is not None:
        _raise_for_code(endpoint, status, body, code)
    if status == 499:  # "request failed" without a body: the vendor answered, it did not act
        raise TransientVendorError(VENDOR, endpoint, status, "request failed", vendor_code="499")


def _raise_for_code(endpoint: str, status: int, body: Any, code: str) -> None:
    description = vendor_text(body.get("description") or body.get("message") or "")
    detail = f"code {code}: {description}"
    if code in _LATER_CODES:
        raise TransientVendorError(VENDOR, endpoint, status, detail, vendor_code=code,
                                   throttled=code == "429")
    if code in _AUTH_CODES:
        raise AccessRefused(VENDOR, endpoint, status, detail, vendor_code=code)
    raise VendorError(VENDOR, endpoint, status, detail, vendor_code=code)




def send_event(http: VendorHttp, path: str, event: Event) -> SendResult:
    """Post one event and say what became of it. Raises AccessRefused when the credentials are
    refused (the event surely did not go); every other failure is a SendResult."""
    endpoint = f"POST {path}"
    try:
        body = http.request_json("POST", path, endpoint=endpoint, json=event.payload(), idempotent=False)
    except InDoubtError as error:
        return SendResult(Outcome.IN_DOUBT, code=None, text=error.detail)
    except AccessRefused:
        raise
    except TransientVendorError as error:
        return SendResult(Outcome.LATER, code=error.vendor_code or _status(error), text=str(error.detail))
    except VendorError as error:
        if error.status in _AUTH_STATUSES:
            raise AccessRefused(VENDOR, endpoint, error.status, error.detail,
                                vendor_code=error.vendor_code) from None
        return SendResult(Outcome.REFUSED, code=error.vendor_code or _status(error), text=error.detail)
    transaction = body.get("transaction-id") if isinstance(body, dict) else None
    return SendResult(Outcome.ACCEPTED, transaction_id=str(transaction).strip() or None if transaction else None,
                      code=_code(body))


def _status(error: VendorError) -> str | None:
    return None if error.status is None else f"HTTP {error.status}"
