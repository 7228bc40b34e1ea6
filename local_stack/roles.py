"""Who connects as whom on the embedded server: the superuser only sets up the three logins
below and then is never used by the product.

- `pipelines_migrator` owns the warehouse database and everything in it, and may create
  roles: `make migrate` runs as it (sql/migrations/0007_roles.sql makes the group roles).
- `pipelines_loader` is a member of `warehouse_loader`: what Dagster's assets connect as.
- `pipelines_dagster` owns Dagster's own database (runs, event logs, schedules) and nothing
  else, so Dagster's credentials reach no warehouse table.
- `make dashboards` adds two more (`provision_dashboards`): `pipelines_analyst`, a member of
  `analyst` (the marts, pseudonymized), what the BI tool reads the warehouse as; and
  `pipelines_superset`, owner of the BI tool's own database (users, charts) and nothing else.

A real warehouse (WAREHOUSE_URL) is provisioned by its administrators the same way:
WAREHOUSE_MIGRATION_URL for a login that owns the schemas, WAREHOUSE_URL for a member of
`warehouse_loader`."""

from dataclasses import dataclass

import psycopg
from psycopg import sql

from local_stack.embedded import WAREHOUSE_DATABASE, EmbeddedPostgres

MIGRATOR, LOADER, DAGSTER = "pipelines_migrator", "pipelines_loader", "pipelines_dagster"
DAGSTER_DATABASE = "dagster"
LOADER_GROUP = "warehouse_loader"  # made by the roles migration
ANALYST, ANALYST_GROUP = "pipelines_analyst", "analyst"  # the group: made by the roles migration
SUPERSET, SUPERSET_DATABASE = "pipelines_superset", "superset"


@dataclass(frozen=True)
class EmbeddedUrls:
    admin: str      # the superuser: setup only
    migrator: str   # make migrate
    loader: str     # the product (WAREHOUSE_URL)
    dagster: str    # Dagster's storage (DAGSTER_POSTGRES_URL)


def provision(server: EmbeddedPostgres) -> EmbeddedUrls:
    """The logins and their ownerships, made or repaired on every start (idempotent)."""
    urls = EmbeddedUrls(
        admin=server.database_url(WAREHOUSE_DATABASE),
        migrator=server.database_url(WAREHOUSE_DATABASE, role=MIGRATOR),
        loader=server.database_url(WAREHOUSE_DATABASE, role=LOADER),
        dagster=server.database_url(DAGSTER_DATABASE, role=DAGSTER),
    )
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(MIGRATOR)))
        _own_database(conn, WAREHOUSE_DATABASE, MIGRATOR)
        _own_database(conn, DAGSTER_DATABASE, DAGSTER)
        _take_over(conn, MIGRATOR)
    with psycopg.connect(server.database_url(DAGSTER_DATABASE), autocommit=True) as conn:
        _take_over(conn, DAGSTER)
    return urls


def grant_loader(urls: EmbeddedUrls) -> None:
    """Make the product's login a loader (after the migrations have made the group)."""
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(LOADER_GROUP), sql.Identifier(LOADER)))


@dataclass(frozen=True)
class DashboardUrls:
    analyst: str   # the warehouse as the BI tool reads it: the marts only
    metadata: str  # the BI tool's own database


def provision_dashboards(server: EmbeddedPostgres) -> DashboardUrls:
    """The BI tool's two logins, made or repaired (idempotent), once the migrations have made
    the `analyst` group: it reads the warehouse as an analyst and nothing more, and keeps its
    own state in a database that no product login reaches."""
    urls = DashboardUrls(analyst=server.database_url(WAREHOUSE_DATABASE, role=ANALYST),
                         metadata=server.database_url(SUPERSET_DATABASE, role=SUPERSET))
    with psycopg.connect(server.database_url(WAREHOUSE_DATABASE), autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ANALYST_GROUP), sql.Identifier(ANALYST)))
        _own_database(conn, SUPERSET_DATABASE, SUPERSET)
    return urls


def _own_database(conn: psycopg.Connection, database: str, owner: str) -> None:
    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner)))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))


# Every object of the database's own schemas (not the system's) and its kind's ALTER command.
_FOREIGN_OBJECTS = """
SELECT 'SCHEMA', format('%%I', n.nspname) FROM pg_namespace AS n
WHERE n.nspowner <> %(owner)s::regrole
  AND n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
       format('%%I.%%I', n.nspname, c.relname)
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relowner <> %(owner)s::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT 'FUNCTION', format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE p.proowner <> %(owner)s::regrole
  AND n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
"""


def _take_over(conn: psycopg.Connection, owner: str) -> None:
    """Give `owner` the objects an earlier version made as the superuser (a data directory
    from before the roles); on a fresh server there are none."""
    for kind, name in conn.execute(_FOREIGN_OBJECTS, {"owner": owner}).fetchall():
        if kind == "SCHEMA" and name == "public":
            continue  # owned by pg_database_owner, which is `owner` already
        conn.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(
            sql.SQL(kind), sql.SQL(name), sql.Identifier(owner)))
