"""Schema migrations: ordered SQL files under sql/migrations, applied with yoyo and recorded
in the database, so that re-applying is a no-op and concurrent runners wait on one lock."""

from yoyo import get_backend, read_migrations

from pipelines.paths import MIGRATIONS_DIR
from pipelines.warehouse.urls import sqlalchemy_url


def migrate(url: str) -> list[str]:
    """Apply every pending migration; return the ids applied by this call."""
    backend = get_backend(sqlalchemy_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [migration.id for migration in pending]
    finally:
        backend.connection.close()
