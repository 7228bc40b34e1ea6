"""What the benchmark needs to know of each source: how to size the sandbox for about N
records in one partition, how to build its client from the environment, and its mapper."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import Any

from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.sources.cinnox.mapping import map_recipient
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import map_message
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.senderguide.mapping import map_interaction
from pipelines.warehouse.loading import LoadTarget, Mapper
from sandbox.config import CinnoxSandbox, MgageSandbox, SandboxConfig, SenderGuideSandbox


@dataclass(frozen=True)
class BenchSource:
    name: str
    job: str
    target: LoadTarget
    sandbox: Callable[[int], SandboxConfig]
    client: Callable[[], Any]
    mapper: Callable[[Any], Mapper]
    day_zone: Callable[[Any], Any]
    # Environment to set beyond what the launcher exports for the sandbox.
    environment: dict[str, str]


SOURCES: dict[str, BenchSource] = {
    "mgage": BenchSource(
        name="mgage", job="mgage_daily", target=LoadTarget("mgage", "raw.mgage_messages"),
        sandbox=lambda n: SandboxConfig(mgage=MgageSandbox(
            program_ids=["500001"], daily_messages=n, mo_ratio=0.0, volume_jitter=0.0)),
        client=lambda: MgageClient(
            base_url=os.environ["MGAGE_BASE_URL"], username=os.environ["MGAGE_USERNAME"],
            password=os.environ["MGAGE_PASSWORD"], program_ids=os.environ["MGAGE_PROGRAM_IDS"]),
        mapper=lambda client: partial(map_message, default_region="US"),
        day_zone=lambda client: UTC,
        environment={},
    ),
    "senderguide": BenchSource(
        name="senderguide", job="senderguide_daily",
        target=LoadTarget("senderguide", "raw.senderguide_interactions"),
        sandbox=lambda n: SandboxConfig(senderguide=SenderGuideSandbox(
            message_ids=["900001"], daily_sends=n, volume_jitter=0.0, timezone="UTC")),
        client=lambda: SenderGuideClient(
            base_url=os.environ["SENDERGUIDE_BASE_URL"], api_key=os.environ["SENDERGUIDE_API_KEY"],
            message_ids=os.environ["SENDERGUIDE_MESSAGE_IDS"], interaction_types="sends",
            timezone="UTC"),
        mapper=lambda client: partial(map_interaction, zone=client.zone),
        day_zone=lambda client: client.zone,
        environment={"SENDERGUIDE_INTERACTION_TYPES": "sends", "SENDERGUIDE_TIMEZONE": "UTC"},
    ),
    "cinnox": BenchSource(
        name="cinnox", job="cinnox_daily",
        target=LoadTarget("cinnox", "raw.cinnox_campaign_recipients"),
        # Four campaigns a day on average (the sandbox varies it day by day), N/4 recipients each.
        sandbox=lambda n: SandboxConfig(cinnox=CinnoxSandbox(
            campaigns_per_day=4, min_recipients=max(1, n // 4), max_recipients=max(1, n // 4))),
        client=lambda: CinnoxClient(base_url=os.environ["CINNOX_BASE_URL"],
                                    app_id=os.environ["CINNOX_APP_ID"],
                                    app_token=os.environ["CINNOX_APP_TOKEN"]),
        mapper=lambda client: partial(map_recipient, default_region="US"),
        day_zone=lambda client: None,
        environment={},
    ),
}
