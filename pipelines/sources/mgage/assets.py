"""mGage assets: raw landing and normalized events, loaded together per UTC day."""

from functools import partial

from dagster import AssetExecutionContext, AssetKey, AssetSpec, BackfillPolicy, multi_asset

from pipelines.core.materialize import load_partition_range, range_results
from pipelines.core.partitions import DAILY_PARTITIONS
from pipelines.core.settings import ModelSettings
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import SOURCE, map_message
from pipelines.warehouse.loading import LoadTarget
from pipelines.warehouse.resource import Warehouse

TARGET = LoadTarget(source=SOURCE, raw_table="raw.mgage_messages")
RAW_KEY = AssetKey(["mgage", "raw_messages"])
EVENTS_KEY = AssetKey(["mgage", "message_events"])
_COMMON = {"group_name": "mgage", "owners": ["team:data-engineering"]}


@multi_asset(
    name="mgage_messages",
    specs=[
        AssetSpec(RAW_KEY, description="mGage MT and MO messages as exported, one row per "
                  "message (raw.mgage_messages), with the program and type they were asked for.",
                  kinds={"python", "postgres"}, **_COMMON),
        AssetSpec(EVENTS_KEY, deps=[RAW_KEY], description="mGage messages in the shared model "
                  "(core.message_events where source = 'mgage'): E.164 recipients, UTC times, "
                  "canonical event types.", kinds={"postgres"}, **_COMMON),
    ],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=BackfillPolicy.single_run(),
    pool="mgage",
)
def mgage_messages(context: AssetExecutionContext, mgage: MgageClient, warehouse: Warehouse,
                   model_settings: ModelSettings):
    """Walk every configured program, MT and MO, page by page, for each day of the range;
    stage with COPY and merge each day in one transaction."""
    mapper = partial(map_message, default_region=model_settings.phone_default_region)
    with mgage.session() as api:
        outcome = load_partition_range(context, warehouse, api.http, TARGET, api.day_pages, mapper)
    yield from range_results(warehouse, TARGET, RAW_KEY, EVENTS_KEY, outcome)
