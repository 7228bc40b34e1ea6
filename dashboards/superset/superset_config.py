"""Superset's settings under `make dashboards` (SUPERSET_CONFIG_PATH points here).

Read by Superset in its own virtual environment (.venv-bi), never by the pipeline. Everything
secret or machine-specific comes from the environment that local_stack/dashboards.py gives
the Superset processes:

- SUPERSET_SECRET_KEY: signs sessions and encrypts what Superset keeps; generated once under
  .local/superset/ (Superset's own settings read it from the environment too).
- SUPERSET_METADATA_URL: Superset's own database (users, charts, dashboards) on the same
  PostgreSQL as the warehouse, as a login that reaches nothing else.
- SUPERSET_WAREHOUSE_URL: the warehouse as the `analyst` role's login, password included.
  The dashboards bundle names the login without its password, and Superset stores the URI
  that way; the password is added below at each connection and never written anywhere.
- SUPERSET_HOME: Superset's folder of local files (logs, uploads), under .local/superset/.
"""

import os
from typing import Any

from sqlalchemy.engine.url import URL, make_url

APP_NAME = "Messaging campaigns"
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URL"]
# Superset's recommendation for its metadata database on PostgreSQL.
SQLALCHEMY_ENGINE_OPTIONS = {"isolation_level": "READ COMMITTED", "pool_pre_ping": True}

_WAREHOUSE = make_url(os.environ["SUPERSET_WAREHOUSE_URL"])


def DB_CONNECTION_MUTATOR(  # Superset's name for the hook
        url: URL, params: dict[str, Any], username: str | None, security_manager: Any,
        source: Any) -> tuple[URL, dict[str, Any]]:
    """The analyst login's password, added to a connection to exactly the warehouse URI that
    make dashboards imported; any other database Superset is told about is left as it is."""
    if _where(url) == _where(_WAREHOUSE):
        url = url.set(password=_WAREHOUSE.password)
    return url, params


def _where(url: URL) -> tuple[object, ...]:
    """Everything a URL says but its password (URL.set(password=None) keeps the password)."""
    return url.drivername, url.username, url.host, url.port, url.database, dict(url.query)


# The dashboards show what the warehouse holds now: no result cache to go stale after make run.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
# One process on one machine: login attempts are rate-limited in memory, on purpose.
RATELIMIT_STORAGE_URI = "memory://"
# Nothing leaves the machine: no map tiles, no telemetry. Superset's own policy, less the other
# hosts it lets the browser reach (its telemetry pixel among them).
MAPBOX_API_KEY = ""
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
FEATURE_FLAGS = {"ALERT_REPORTS": False, "THUMBNAILS": False, "EMBEDDED_SUPERSET": False}
