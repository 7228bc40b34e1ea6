"""A zone the vendor's document says is the vendor's own is never assumed: against a real
vendor the run stops at start, naming the setting."""

from zoneinfo import ZoneInfo

import pytest

from local_stack.launcher import ConfigurationError, source_mode
from pipelines.orchestration.source import Role
from pipelines.orchestration.vendor import VendorZoneMissing
from pipelines.sources import registry
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.webex.client import WebexClient

CLIENTS = {
    "SENDERGUIDE_TIMEZONE": lambda **zone: SenderGuideClient(
        base_url="https://tenant.senderguide.test", api_key="k", message_ids="7001", **zone),
    "WEBEX_TIMEZONE": lambda **zone: WebexClient(
        base_url="https://tenant.webexcampaign.test", api_key="k", **zone),
}


@pytest.mark.parametrize("variable", CLIENTS)
def test_a_real_vendor_without_its_zone_stops_the_run_naming_the_setting(variable: str) -> None:
    client = CLIENTS[variable]()
    with pytest.raises(VendorZoneMissing, match=variable):
        _ = client.zone


@pytest.mark.parametrize("variable", CLIENTS)
def test_a_configured_zone_is_used_and_utc_must_be_said(variable: str) -> None:
    assert CLIENTS[variable](timezone="Asia/Kolkata").zone == ZoneInfo("Asia/Kolkata")
    assert CLIENTS[variable](timezone="UTC").zone == ZoneInfo("UTC")


@pytest.mark.parametrize("variable", CLIENTS)
def test_only_the_sandbox_may_fall_back_to_utc(variable: str) -> None:
    assert CLIENTS[variable](data_origin="sandbox").zone == ZoneInfo("UTC")


@pytest.mark.parametrize(("source", "variable"), [("senderguide", "SENDERGUIDE_TIMEZONE"),
                                                  ("webex", "WEBEX_TIMEZONE")])
def test_the_launcher_refuses_vendor_credentials_without_the_zone(source: str, variable: str) -> None:
    definition = next(item for item in registry() if item.name == source)
    environ = {name: "x" for name in definition.variables(Role.CREDENTIAL) + definition.variables(Role.REQUIRED)
               if name != variable}
    with pytest.raises(ConfigurationError, match=variable):
        source_mode(definition, environ)
