"""The warehouse as a Dagster resource."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from pipelines.model.pseudonyms import pseudonym
from pipelines.warehouse.loading import Stamp
from pipelines.warehouse.migrations import pending_migrations
from pipelines.warehouse.urls import libpq_url, sqlalchemy_url


class SchemaOutOfDate(Exception):
    """The warehouse lacks migrations this code needs; `make migrate` applies them."""


class Warehouse(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """The Postgres warehouse, as the loader role sees it: it writes rows, never the schema.
    Migrations are their own step (`make migrate`, as the migrating role); a run against a
    warehouse that lacks some stops before it loads anything."""

    url: str = Field(description="Postgres URL (postgresql://user:pass@host:port/db)")
    pii_key: str = Field(description=(
        "secret of the keyed pseudonyms that stand for phone numbers, emails and customer keys "
        "for the analyst role and everywhere outside the warehouse (PIPELINES_PII_KEY)"))
    retention_days: int = Field(default=0, ge=0, description=(
        "days message bodies, preview links and quarantined payloads are kept; 0 keeps them "
        "(PIPELINES_RETENTION_DAYS)"))
    keep_months: int = Field(default=0, ge=0, description=(
        "whole months of events and landed records kept, the current one included; older month "
        "partitions are dropped. 0 keeps every month (PIPELINES_KEEP_MONTHS)"))

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if pending := pending_migrations(self.url):
            raise SchemaOutOfDate(f"the warehouse lacks migrations {', '.join(pending)}: run "
                                  "`make migrate` (as the migrating role) first")

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(libpq_url(self.url)) as conn:
            yield conn

    def engine(self) -> Engine:
        """A SQLAlchemy engine for reads (summaries, checks, previews)."""
        return create_engine(sqlalchemy_url(self.url), poolclass=NullPool)

    def pseudonym(self, value: str) -> str:
        """How a personal value may appear in logs, errors and Dagster metadata: the same
        pseudonym the analyst role sees in the marts."""
        return pseudonym(value, self.pii_key)

    def stamp(self, *, sandbox: bool) -> Stamp:
        """What a load writes on every row besides the mapped event."""
        return Stamp(pii_key=self.pii_key, sandbox=sandbox)
