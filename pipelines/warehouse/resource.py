"""The warehouse as a Dagster resource."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from pipelines.warehouse.migrations import migrate
from pipelines.warehouse.urls import libpq_url, sqlalchemy_url


class Warehouse(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """The Postgres warehouse. Pending migrations are applied before any asset uses it."""

    url: str = Field(description="Postgres URL (postgresql://user:pass@host:port/db)")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        applied = migrate(self.url)
        if applied and context.log:
            context.log.info(f"applied migrations: {', '.join(applied)}")

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(libpq_url(self.url)) as conn:
            yield conn

    def engine(self) -> Engine:
        """A SQLAlchemy engine for reads (summaries, checks, previews)."""
        return create_engine(sqlalchemy_url(self.url), poolclass=NullPool)
