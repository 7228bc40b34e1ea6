"""SQL lives in sql/queries/*.sql; this module reads it, once per process."""

from functools import cache
from typing import Any

import psycopg
from psycopg import sql

from pipelines.paths import QUERIES_DIR


def fetch_one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The one row a statement returns (an aggregate, a RETURNING); its absence is a bug."""
    row: tuple[Any, ...] | None = cursor.fetchone()
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


@cache
def query(name: str) -> str:
    """The text of sql/queries/<name>.sql."""
    return (QUERIES_DIR / f"{name}.sql").read_text()


def query_with_table(name: str, **tables: str) -> sql.Composed:
    """A query whose {placeholders} are table names chosen by code (schema-qualified)."""
    identifiers = {
        placeholder: sql.Identifier(*qualified.split("."))
        for placeholder, qualified in tables.items()
    }
    return sql.SQL(query(name)).format(**identifiers)
