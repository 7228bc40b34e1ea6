"""Schema migrations: ordered SQL files under sql/migrations, applied with yoyo and recorded
in the database, so that re-applying is a no-op and concurrent runners wait on one lock.

Migrating is its own step (`make migrate`), run by the role that owns the schemas and creates
the others (sql/migrations/0007_roles.sql); the loader only checks that nothing is pending.

yoyo's own lock is a row holding the migrator's pid: a migrator killed while holding it leaves
the row, and every later start times out on it. So migrators first take a Postgres advisory
lock, which the server releases when its session ends, however the process died; whoever
holds it is the only live migrator, and any yoyo lock row it finds is a dead one's, cleared."""

import psycopg
from yoyo import get_backend, read_migrations

from pipelines.model.pseudonyms import Pseudonyms
from pipelines.paths import MIGRATIONS_DIR
from pipelines.warehouse.queries import query
from pipelines.warehouse.urls import libpq_url, sqlalchemy_url

# pg_advisory_lock key of the migrators (an arbitrary, fixed number).
_MIGRATION_LOCK_KEY = 0x6D69_6772_6174_6521


def pending_migrations(url: str) -> list[str]:
    """The ids of the migrations this code has that the warehouse has not recorded."""
    wanted = sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql"))
    with psycopg.connect(libpq_url(url)) as conn:
        if conn.execute("SELECT to_regclass('public._yoyo_migration')").fetchone() == (None,):
            return wanted
        applied = {row[0] for row in conn.execute("SELECT migration_id FROM public._yoyo_migration")}
    return [migration for migration in wanted if migration not in applied]


def migrate(url: str) -> list[str]:
    """Apply every pending migration; return the ids applied by this call."""
    with psycopg.connect(libpq_url(url), autocommit=True) as guard:
        guard.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        if guard.execute("SELECT to_regclass('yoyo_lock')").fetchone() != (None,):
            guard.execute("DELETE FROM yoyo_lock")  # left by a migrator that was killed
        backend = get_backend(sqlalchemy_url(url))
        try:
            migrations = read_migrations(str(MIGRATIONS_DIR))
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.ensure_internal_schema_updated()
                for migration in pending:
                    # yoyo would commit a migration's steps, then record it in a second
                    # transaction: a kill in between leaves it applied but pending, and the
                    # next start fails re-applying it. Steps and record commit together here.
                    with backend.transaction():
                        migration.process_steps(backend, "apply")
                        backend.mark_one(migration, log=False)
                        backend.log_migration(migration, "apply")
            return [migration.id for migration in pending]
        finally:
            backend.connection.close()


def fill_pseudonyms(url: str, pii_key: str, batch: int = 20_000) -> int:
    """Stamp recipient pseudonyms on events loaded before the loader did (a data step of the
    roles migration, which needs the key and so cannot be SQL): batch by batch, each committed,
    so a killed fill resumes where it stopped. The number of events stamped."""
    filled, pseudonym = 0, Pseudonyms(pii_key)
    with psycopg.connect(libpq_url(url)) as conn:
        while rows := conn.execute(query("pseudonyms_missing"), {"batch": batch}).fetchall():
            conn.execute(query("pseudonyms_fill"), {
                "event_ids": [event_id for event_id, _ in rows],
                "pseudonyms": [pseudonym(recipient) for _, recipient in rows]})
            conn.commit()
            filled += len(rows)
    return filled
