"""The Webex customer keys to follow, as an asset: ops.webex_keys, refreshed from the data
team's audience query (sql/audiences/webex_keys.sql) plus WEBEX_KEYS.

The API lists no customers, so whom to follow is the warehouse's to say. A real tenant has up
to millions of customers, far more than an environment variable holds: the audience query
reads them from the warehouse (by default every phone and email recipient seen on any vendor
in the last WEBEX_FOLLOW_DAYS days). Keys that name one customer are one row."""

from datetime import timedelta
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines.model import clock
from pipelines.orchestration.materialize import OWNERS
from pipelines.orchestration.run_workers import record_worker
from pipelines.paths import AUDIENCES_DIR
from pipelines.sources.webex.client import WebexClient
from pipelines.warehouse.key_state import refresh_listed_keys, sync_configured_keys
from pipelines.warehouse.queries import fetch_one, query
from pipelines.warehouse.resource import Warehouse

FOLLOWED_KEYS = AssetKey(["webex", "followed_keys"])
AUDIENCE = AUDIENCES_DIR / "webex_keys.sql"
# Refreshed hourly (pipelines/sources/webex/__init__.py): a customer first seen on another
# vendor is followed within the hour; each load also follows WEBEX_KEYS at once.
REFRESH_CRON = "10 * * * *"


@asset(key=FOLLOWED_KEYS, group_name="webex", owners=OWNERS, kinds={"postgres"},
       metadata={"dagster/table_name": "ops.webex_keys"},
       description="The Webex customer keys to follow (ops.webex_keys): those the audience "
                   "query sql/audiences/webex_keys.sql returns, plus WEBEX_KEYS, one row per "
                   "customer, each with its watermark and next due time.")
def webex_followed_keys(context: AssetExecutionContext, webex: WebexClient,
                        warehouse: Warehouse) -> MaterializeResult[Any]:
    record_worker(context.instance, context.run_id)
    now = clock.now()
    params = {"since": now - timedelta(days=webex.follow_days), "now": now, "sandbox": webex.sandbox}
    with warehouse.connect() as conn:
        sync_configured_keys(conn, webex.configured_keys, now)
        refresh = refresh_listed_keys(conn, AUDIENCE.read_text(), params, now)
        with conn.transaction():
            followed, configured, listed = fetch_one(conn.execute(query("webex_followed_count")))
    context.log.info(f"webex keys: {followed} followed ({listed} listed by the audience, "
                     f"{configured} configured); {refresh.added} new, {refresh.dropped} no longer listed")
    return MaterializeResult(metadata={
        "followed": followed, "configured": configured, "listed": listed,
        "newly_listed": refresh.added, "no_longer_listed": refresh.dropped,
        "follow_days": webex.follow_days, "audience": str(AUDIENCE.relative_to(AUDIENCES_DIR.parent.parent))})
