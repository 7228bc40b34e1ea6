"""SenderGuide assets: raw landing and normalized events, per account-local day."""

from datetime import timedelta
from functools import partial

from dagster import FreshnessPolicy

from pipelines.orchestration.materialize import daily_source_asset
from pipelines.sources.senderguide.mapping import SOURCE, map_interaction

senderguide_load = daily_source_asset(
    source=SOURCE,
    raw_name="raw_interactions",
    raw_table="raw.senderguide_interactions",
    client_key="senderguide",
    make_mapper=lambda client, settings: partial(map_interaction, zone=client.zone),
    # The day is the account's: fromDate = toDate = the partition's date in its zone.
    day_zone=lambda client: client.zone,
    # Today's partition loads several times an hour or two (pipelines/schedules.py).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=6), warn_window=timedelta(hours=4)),
    description="For every configured email and interaction type, pages 1..total_pages of the "
                "partition's account-local day (order=asc), checked against total_rows; "
                "merged in one transaction per day.",
    raw_description="SenderGuide interaction-data rows as received "
                    "(raw.senderguide_interactions), with the email and type asked for.",
    events_description="SenderGuide interactions in the shared model (core.message_events where "
                       "source = 'senderguide'): lower-cased emails, UTC times, canonical types.",
    fetched_landed="total_rows reconciles: the rows of pages 1..total_pages (held to page 1's "
                   "total_rows by the walk) are all landed, quarantined or duplicates",
)
