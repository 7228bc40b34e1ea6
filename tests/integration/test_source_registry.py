"""A fifth vendor is one new folder: a minimal source that lives only in this test (its client
over fake HTTP, its mapping, its asset and its definition) joins the registry's sources, and
its asset, checks, job, schedules and marts dependency appear, and it loads into the real
warehouse, with no shared file edited."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from dagster import AssetExecutionContext, AssetKey, ConfigurableResource, DagsterInstance, FreshnessPolicy

from local_stack.launcher import source_mode
from pipelines.definitions import build_definitions
from pipelines.model.events import MessageEvent, make_event_id
from pipelines.orchestration.materialize import DayPlan, daily_source_asset
from pipelines.orchestration.source import Role, Setting, daily_source
from pipelines.sources import registry
from pipelines.transport.http import VendorHttp
from pipelines.transport.paging import Page
from pipelines.warehouse.resource import Warehouse
from tests.support import days_ago

# -- the source, as its folder would hold it ---------------------------------------------------


def echo_api(request: httpx.Request) -> httpx.Response:
    """The vendor: two delivered messages a day, for the day asked."""
    day = request.url.params["day"]
    return httpx.Response(200, json={"messages": [
        {"id": f"{day}-{n}", "to": f"+1555000000{n}", "at": f"{day}T1{n}:00:00+00:00",
         "status": "Delivered"} for n in range(2)]})


class EchoSession:
    def __init__(self, http: VendorHttp) -> None:
        self.http = http

    def day_pages(self, day: date) -> Iterator[Page]:
        body = self.http.request_json("GET", "/messages", endpoint="GET /messages",
                                      params={"day": day.isoformat()})
        yield Page(records=body["messages"], context={})


class EchoClient(ConfigurableResource):
    base_url: str
    api_key: str
    data_origin: str = "vendor"

    @property
    def sandbox(self) -> bool:
        return self.data_origin == "sandbox"

    @contextmanager
    def session(self) -> Iterator[EchoSession]:
        with VendorHttp("echo", self.base_url, headers={"Authorization": f"Bearer {self.api_key}"},
                        transport=httpx.MockTransport(echo_api)) as http:
            yield EchoSession(http)


def map_echo(record: Any, context: dict[str, Any]) -> MessageEvent:
    return MessageEvent(event_id=make_event_id("echo", record["id"]), source="echo",
                        channel="sms", direction="outbound", status_raw=record["status"],
                        occurred_at=datetime.fromisoformat(record["at"]), recipient=record["to"],
                        message_id=record["id"])


@daily_source_asset(
    source="echo", raw_name="raw_messages", raw_table="raw.echo_messages",
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=3)),
    raw_description="Echo messages as received.", events_description="Echo messages in the shared model.")
def echo_load(context: AssetExecutionContext, echo: EchoClient, warehouse: Warehouse) -> DayPlan:
    """Echo messages per UTC day."""
    return DayPlan(echo, warehouse, map_echo, zone=UTC)


ECHO = daily_source(
    name="echo", resource=EchoClient,
    settings=(Setting("ECHO_API_KEY", "api_key", Role.CREDENTIAL),
              Setting("ECHO_BASE_URL", "base_url", Role.REQUIRED)),
    load=echo_load, raw_table="raw.echo_messages", job_description="Load Echo per UTC day.",
    today_cron="10 * * * *", lookback_days=2, lookback_cron="0 3 * * *",
    mapper_for=lambda client, settings: map_echo)

# -- the test ----------------------------------------------------------------------------------


def test_a_new_source_is_one_definition_and_appears_everywhere(
        warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    defs = build_definitions([*registry(), ECHO])
    graph = defs.resolve_asset_graph()
    events = AssetKey(["echo", "message_events"])
    assert {AssetKey(["echo", "raw_messages"]), events} <= set(graph.get_all_asset_keys())
    assert graph.get_check_keys_for_assets({events})
    assert events in graph.get(AssetKey(["marts", "daily_events"])).parent_keys
    schedules = {schedule.name for schedule in defs.schedules}
    assert {"echo_daily_today", "echo_daily_lookback_2d"} <= schedules
    assert source_mode(ECHO, {}) == "sandbox" and source_mode(
        ECHO, {"ECHO_API_KEY": "k", "ECHO_BASE_URL": "https://echo.test"}) == "vendor"

    # Its raw table is its own migration's job; its statuses are rows of the mapping table.
    warehouse.execute("CREATE TABLE IF NOT EXISTS raw.echo_messages (LIKE raw.mgage_messages INCLUDING ALL)")
    warehouse.execute("INSERT INTO core.event_type_map (source, status_key, status_raw, event_type) "
                      "VALUES ('echo', 'delivered', 'Delivered', 'delivered') ON CONFLICT DO NOTHING")
    monkeypatch.setenv("ECHO_API_KEY", "echo-key")
    monkeypatch.setenv("ECHO_BASE_URL", "https://echo.test")
    monkeypatch.setenv("ECHO_DATA_ORIGIN", "vendor")
    day = days_ago(1)
    try:
        result = defs.resolve_job_def("echo_daily").execute_in_process(
            instance=DagsterInstance.ephemeral(), partition_key=day.isoformat())
        assert result.success
        assert all(check.passed for check in result.get_asset_check_evaluations())
        rows = warehouse.execute("SELECT message_id, event_type, partition_date FROM core.message_events "
                                 "WHERE source = 'echo' ORDER BY 1").fetchall()
        assert rows == [(f"{day}-0", "delivered", day), (f"{day}-1", "delivered", day)]
    finally:
        warehouse.execute("DELETE FROM core.message_events WHERE source = 'echo'")
        warehouse.execute("DELETE FROM core.event_type_map WHERE source = 'echo'")
        warehouse.execute("DROP TABLE raw.echo_messages")
