"""The event API client without a network: the checks before sending, and what each answer
means (the body's code first, the HTTP status second)."""

from pathlib import Path

import httpx
import pytest

from pipelines.sources.webex.activations import Activation, ActivationSettings, checked_row, load_activations
from pipelines.sources.webex.events import (
    MAX_PAYLOAD_BYTES,
    AccessRefused,
    Event,
    EventRejected,
    Outcome,
    check_event_body,
    check_event_error,
    checked_event,
    normalize_key,
    send_event,
    wire_key,
)
from pipelines.transport.http import RetryPolicy, VendorHttp


@pytest.mark.parametrize(("raw", "key", "wire"), [
    ("6591234567", "+6591234567", "6591234567"),          # Singapore, never North America
    ("+91 98123 45670", "+919812345670", "919812345670"),
    ("Rohan.Mehta@Example.COM", "rohan.mehta@example.com", "rohan.mehta@example.com"),
    ("app-7f3a9c21e4b04d8f", "app-7f3a9c21e4b04d8f", "app-7f3a9c21e4b04d8f"),
    (447700900123, "+447700900123", "447700900123"),
])
def test_keys_are_normalized_as_the_model_does_and_sent_as_the_document_spells_them(raw, key, wire) -> None:
    assert normalize_key(raw, "US") == key
    assert wire_key(key) == wire


@pytest.mark.parametrize(("raw", "code"), [
    (None, "missing_key"), ("  ", "missing_key"), ("12", "invalid_key"), ("+(0)", "invalid_key"),
    ("two@at@example.com", "invalid_key"), ("a b@example.com", "invalid_key"),
])
def test_unusable_keys_are_rejected_with_their_rule(raw, code) -> None:
    with pytest.raises(EventRejected) as rejected:
        normalize_key(raw, "US")
    assert rejected.value.code == code


def test_parameters_become_text_and_null_in_any_form_is_refused() -> None:
    event = checked_event("evt_1", "6591234567", {"n": 3, "ok": True, "when": "2026-11-18", "list": [1]}, "US")
    assert event.params == {"n": "3", "ok": "true", "when": "2026-11-18", "list": "[1]"}
    assert event.payload() == {"event-id": "evt_1", "event-key": "6591234567", "event-params": event.params}
    for value in (None, "NULL", "null", " Null "):
        with pytest.raises(EventRejected, match="'first_name'") as rejected:
            checked_event("evt_1", "6591234567", {"first_name": value}, "US")
        assert rejected.value.code == "null_param"


def test_the_vendors_limits_are_checked_before_sending() -> None:
    checked_event("evt_1", "a@example.com", {f"p{n}": "v" for n in range(400)}, "US")  # 400 is allowed
    with pytest.raises(EventRejected, match="401 event parameters"):
        checked_event("evt_1", "a@example.com", {f"p{n}": "v" for n in range(401)}, "US")
    with pytest.raises(EventRejected, match="bytes") as rejected:
        checked_event("evt_1", "a@example.com", {"story": "x" * MAX_PAYLOAD_BYTES}, "US")
    assert rejected.value.code == "payload_too_large"
    with pytest.raises(EventRejected) as rejected:
        checked_event(" ", "a@example.com", {}, "US")
    assert rejected.value.code == "missing_event_id"


def test_a_rejected_row_keeps_what_came_and_names_no_personal_value(tmp_path: Path) -> None:
    target = Activation("a", ActivationSettings(description="d", event_id="evt"), tmp_path / "a.sql")
    row = checked_row(target, {"event_key": "+919812345670", "first_name": None, "city": "Pune"}, "US")
    assert (row.event_key, row.params, row.reject_code) == (
        "+919812345670", {"first_name": None, "city": "Pune"}, "null_param")
    assert "919812345670" not in (row.reject_text or "")
    good = checked_row(target, {"event_key": "6591234567", "event_params": {"city": "Pune"}}, "US")
    assert (good.event_key, good.params, good.reject_code) == ("+6591234567", {"city": "Pune"}, None)


def sender(*answers: httpx.Response | Exception) -> tuple[VendorHttp, list[httpx.Request]]:
    pending, seen = list(answers), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return VendorHttp("webex", "https://tenant.test", transport=httpx.MockTransport(handler),
                      retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.001, max_backoff_s=0.002),
                      check_body=check_event_body, check_error=check_event_error), seen


EVENT = Event("evt_1", "+6591234567", {"first_name": "Asha"})


@pytest.mark.parametrize("status", [200, 500])  # the tenant chooses which status errors come with
def test_the_bodys_code_decides_whatever_the_status(status: int) -> None:
    http, seen = sender(httpx.Response(status, json={"code": 1003, "description": "No recommendation"}))
    result = send_event(http, "/v3/events", EVENT)
    assert (result.outcome, result.code, len(seen)) == (Outcome.REFUSED, "1003", 1)
    http, seen = sender(httpx.Response(status, json={"code": 499, "description": "failed"}),
                        httpx.Response(200, json={"code": 1000, "transaction-id": "t-1"}))
    result = send_event(http, "/v3/events", EVENT)
    assert (result.outcome, result.transaction_id, len(seen)) == (Outcome.ACCEPTED, "t-1", 2)


def test_later_answers_are_retried_then_left_due_and_lost_answers_are_in_doubt() -> None:
    http, seen = sender(*[httpx.Response(429, headers={"Retry-After": "0"})] * 3)
    assert send_event(http, "/v3/events", EVENT).outcome is Outcome.LATER
    assert len(seen) == 3
    http, seen = sender(httpx.RemoteProtocolError("closed"))
    assert send_event(http, "/v3/events", EVENT).outcome is Outcome.IN_DOUBT
    assert len(seen) == 1
    assert seen[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize("answer", [httpx.Response(401, json={"code": 430, "description": "no"}),
                                    httpx.Response(200, json={"code": 498, "description": "expired"}),
                                    httpx.Response(403)])
def test_refused_credentials_stop_everything(answer: httpx.Response) -> None:
    http, _ = sender(answer)
    with pytest.raises(AccessRefused):
        send_event(http, "/v3/events", EVENT)


def test_activations_are_file_pairs_and_half_a_pair_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1 AS event_key")
    (tmp_path / "a.toml").write_text('description = "d"\nevent_id = "evt"\nreads = ["mgage/message_events"]\n')
    [only] = load_activations(tmp_path)
    assert (only.name, only.job_name, only.resend_after) == ("a", "activate_a", None)
    (tmp_path / "b.sql").write_text("SELECT 1 AS event_key")
    with pytest.raises(ValueError, match=r"b: the \.toml is missing"):
        load_activations(tmp_path)
    (tmp_path / "b.toml").write_text('description = "d"\nevent_id = "evt"\nsend_twice = true\n')
    with pytest.raises(ValueError, match="send_twice"):
        load_activations(tmp_path)
