"""The summary `make run` prints, read back from the warehouse."""

from datetime import date

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from pipelines.warehouse.queries import query
from pipelines.warehouse.urls import sqlalchemy_url


def warehouse_summary(warehouse_url: str, first_day: date, last_day: date) -> str:
    engine = create_engine(sqlalchemy_url(warehouse_url), poolclass=NullPool)
    params = {"first_day": first_day, "last_day": last_day}
    with engine.connect() as conn:
        events = pd.read_sql(text(query("summary")), conn, params=params)
        loads = pd.read_sql(text(query("summary_loads")), conn, params=params)
        webex = pd.read_sql(text(query("summary_webex")), conn)
    if events.empty:
        return "No events in the warehouse for these days."
    table = (events.pivot_table(index=["source", "channel"], columns="event_type", values="events",
                                aggfunc="sum", fill_value=0)
             .assign(total=lambda frame: frame.sum(axis=1)))
    table.columns.name = None
    return "\n\n".join([
        f"Events by source / channel / event type, {first_day} .. {last_day} (UTC):",
        table.to_string(),
        "Last loads of these days:",
        loads.to_string(index=False),
        "Webex keys (pulled from per-key watermarks):",
        webex.to_string(index=False),
    ])
