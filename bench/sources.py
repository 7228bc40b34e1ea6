"""What the benchmark needs to know of each source: how to size the sandbox for about N
records in one run, how to build its client from the environment, how to walk everything one
run fetches, and its mapper."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date
from functools import partial
from typing import Any

from pipelines.orchestration.partitions import partition_range_tags
from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.sources.cinnox.mapping import map_recipient
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import CONTENT_KEYED as MGAGE_CONTENT_KEYED
from pipelines.sources.mgage.mapping import map_message
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.senderguide.mapping import CONTENT_KEYED as SENDERGUIDE_CONTENT_KEYED
from pipelines.sources.senderguide.mapping import map_interaction
from pipelines.sources.webex.client import WebexClient, key_window
from pipelines.sources.webex.mapping import map_transaction
from pipelines.sources.webex.shards import SHARDS
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadTarget, Mapper, Stamp
from sandbox.config import (
    CinnoxSandbox,
    MgageSandbox,
    SandboxConfig,
    SenderGuideSandbox,
    WebexSandbox,
)

# What the loader stamps on the bench's rows: pseudonyms under the bench's own key, and marked
# as sandbox data, which they are.
BENCH_STAMP = Stamp(pii_key="bench-pii-key", sandbox=True)


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
    # Every page one run fetches: a day's pages for day-partitioned sources.
    pages: Callable[[Any, Any, date], Iterator[Page]] = lambda client, session, day: session.day_pages(day)
    # How one run loads everything: the day's partition, or (Webex) every shard at once.
    run_tags: Callable[[date], dict[str, str]] = lambda day: {}
    partitioned: bool = True
    # What makes its pipeline walk one page at a time, as before pages were fetched side by side.
    sequential: dict[str, str] | None = None
    page_size: int = 500  # records a page holds, for what a request budget allows

    @property
    def sequential_environment(self) -> dict[str, str]:
        return self.sequential or {f"{self.name.upper()}_MAX_CONCURRENCY": "1"}


def _walk_settings(**variables: str) -> dict[str, int]:
    """The client fields that the environment sets, as the pipeline's resource binds them (the
    sequential walk sets some): fetch-only then walks the pages the pipeline walks."""
    return {field: int(os.environ[name]) for field, name in variables.items() if os.environ.get(name)}


def every_shard(day: date) -> dict[str, str]:
    shards = SHARDS.get_partition_keys()
    return partition_range_tags(shards[0], shards[-1])


def webex_pages(client: WebexClient, session: Any, day: date) -> Iterator[Page]:
    """What a first Webex run fetches: every key's initial window, concurrently."""
    windows = (key_window(key, None, client.today(), initial_days=client.initial_days)
               for key in client.configured_keys)
    for increment in session.fetch_keys(windows):
        yield Page(records=increment.transactions, context={"key": increment.window.key})


SOURCES: dict[str, BenchSource] = {
    "mgage": BenchSource(
        name="mgage", job="mgage_daily",
        target=LoadTarget("mgage", "raw.mgage_messages", content_keyed=MGAGE_CONTENT_KEYED),
        sandbox=lambda n: SandboxConfig(mgage=MgageSandbox(
            program_ids=["500001"], daily_messages=n, mo_ratio=0.0, volume_jitter=0.0)),
        client=lambda: MgageClient(
            base_url=os.environ["MGAGE_BASE_URL"], username=os.environ["MGAGE_USERNAME"],
            password=os.environ["MGAGE_PASSWORD"], program_ids=os.environ["MGAGE_PROGRAM_IDS"],
            **_walk_settings(time_slices="MGAGE_TIME_SLICES", max_concurrency="MGAGE_MAX_CONCURRENCY")),
        mapper=lambda client: partial(map_message, default_region="US"),
        day_zone=lambda client: UTC,
        environment={},
        sequential={"MGAGE_MAX_CONCURRENCY": "1", "MGAGE_TIME_SLICES": "1"},
    ),
    "senderguide": BenchSource(
        name="senderguide", job="senderguide_daily",
        target=LoadTarget("senderguide", "raw.senderguide_interactions",
                          content_keyed=SENDERGUIDE_CONTENT_KEYED),
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
    "webex": BenchSource(
        name="webex", job="webex_incremental",
        target=LoadTarget("webex", "raw.webex_transactions"),
        # About 70 transactions per key over a first run's 7 days (0-20 a day, so some windows
        # split): a few thousand keys, as WEBEX_KEYS must fit in one environment variable.
        sandbox=lambda n: SandboxConfig(webex=WebexSandbox(
            keys=[f"9198{i:08d}" for i in range(max(1, n // 70))], busy_keys=[],
            max_daily_transactions=20, timezone="UTC")),
        client=lambda: WebexClient(base_url=os.environ["WEBEX_BASE_URL"],
                                   api_key=os.environ["WEBEX_API_KEY"],
                                   keys=os.environ["WEBEX_KEYS"], timezone="UTC",
                                   max_requests_per_second=int(os.environ["WEBEX_MAX_REQUESTS_PER_SECOND"])),
        mapper=lambda client: partial(map_transaction, zone=client.zone, default_region="US"),
        day_zone=lambda client: None,
        environment={"WEBEX_TIMEZONE": "UTC"},
        pages=webex_pages,
        run_tags=every_shard,
        partitioned=False,
    ),
}
