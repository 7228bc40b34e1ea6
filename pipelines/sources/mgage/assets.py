"""mGage assets: raw landing and normalized events, loaded together per UTC day."""

from datetime import UTC, timedelta
from functools import partial

from dagster import FreshnessPolicy

from pipelines.orchestration.materialize import daily_source_asset
from pipelines.sources.mgage.mapping import SOURCE, map_message

mgage_load = daily_source_asset(
    source=SOURCE,
    raw_name="raw_messages",
    raw_table="raw.mgage_messages",
    client_key="mgage",
    make_mapper=lambda client, settings: partial(map_message, default_region=settings.phone_default_region),
    day_zone=lambda client: UTC,  # mGage dates are GMT
    # Today's partition loads several times an hour or two (pipelines/schedules.py).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
    description="Walk every configured program, MT and MO, page by page, for each UTC day of "
                "the range; stage with COPY and merge each day in one transaction.",
    raw_description="mGage MT and MO messages as exported, one row per message "
                    "(raw.mgage_messages), with the program and type they were asked for.",
    events_description="mGage messages in the shared model (core.message_events where "
                       "source = 'mgage'): E.164 recipients, UTC times, canonical event types.",
)
