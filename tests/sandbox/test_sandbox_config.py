"""The sandbox config of the three newer vendors: JSON round trip, random credentials, and a
child-process sandbox (config passed as JSON) answering each vendor with its credentials."""

import httpx

from sandbox.config import CinnoxSandbox, SandboxConfig, SenderGuideSandbox, WebexSandbox
from sandbox.process import sandbox_process


def test_json_round_trip_keeps_every_vendor() -> None:
    config = SandboxConfig(seed=5, senderguide=SenderGuideSandbox(daily_sends=7, timezone="UTC"),
                           cinnox=CinnoxSandbox(max_limit=50), webex=WebexSandbox(keys=["1"]))
    assert SandboxConfig.from_json(config.to_json()) == config
    for documented in (True, False):
        config.documented = documented
        assert SandboxConfig.from_json(config.to_json()).documented is documented


def test_older_json_without_the_new_vendors_still_loads() -> None:
    text = '{"seed": 1, "mgage": {}}'
    config = SandboxConfig.from_json(text)
    assert config.senderguide == SenderGuideSandbox() and config.webex == WebexSandbox()
    assert config.documented  # the documents' behaviour is the default


def test_random_credentials_replace_the_recognisable_defaults() -> None:
    config = SandboxConfig.with_random_credentials()
    defaults = SandboxConfig()
    assert config.senderguide.api_key != defaults.senderguide.api_key
    assert config.cinnox.app_token != defaults.cinnox.app_token
    assert config.webex.api_key != defaults.webex.api_key
    assert config.cinnox.app_id == defaults.cinnox.app_id  # an id, not a secret


def test_child_process_serves_the_three_vendors() -> None:
    config = SandboxConfig.with_random_credentials()
    with sandbox_process(config) as sandbox, httpx.Client(base_url=sandbox.url, timeout=10) as client:
        senderguide = client.post(
            f"/api/3.0/messages/interaction-data/{config.senderguide.message_ids[0]}",
            headers={"Authorization": f"Bearer {config.senderguide.api_key}"},
            json={"interactionType": "sends", "fromDate": "2026-11-02", "toDate": "2026-11-03", "order": "asc"})
        assert senderguide.status_code == 200 and senderguide.json()["total_rows"] > 0
        cinnox = client.get(
            f"/v1/api/apps/{config.cinnox.app_id}/data/sent-campaigns-summary",
            headers={"Authorization": f"Bearer {config.cinnox.app_token}"},
            params={"startAt": "2026-11-01T00:00:00Z", "endAt": "2026-11-03T00:00:00Z"})
        assert cinnox.status_code == 200 and cinnox.json()["code"] == 0
        webex = client.get(
            "/campaignapi/resources/v3/customertransactions",
            headers={"Authorization": f"Bearer {config.webex.api_key}"},
            params={"key": config.webex.busy_keys[0], "count": "50", "from-date": "2026-11-02",
                    "to-date": "2026-11-03"})  # exclusive (documented mode): the day 2026-11-02
        body = webex.json()
        assert webex.status_code == 200 and len(body["transactions"] if isinstance(body, dict) else body) == 50
