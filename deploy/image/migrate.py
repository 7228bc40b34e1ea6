"""The image's `make migrate`, for the Kubernetes Job deploy/k8s/migrate-job.yaml: everything the
databases need before the code location and Dagster start, each step safe to run again.

1. The warehouse migrations (roles included), as the migrating role (WAREHOUSE_MIGRATION_URL,
   or WAREHOUSE_URL for a warehouse with one login). The product refuses to load while one is
   pending, and never changes the schema itself.
2. The pseudonyms of events loaded before there were any (PIPELINES_PII_KEY).
3. Dagster's own tables, built whole in their schema (pipelines/orchestration/dagster_storage.py),
   as the login the Helm release gives Dagster (DAGSTER_POSTGRES_URL): its storage reads them
   through `search_path`, and would otherwise create them one by one on first use.

The local stack does the same at every `make run` (local_stack/launcher.py), which the image
does not carry. Like it, this refuses a remote database reached without TLS that verifies the
server, unless PIPELINES_ALLOW_UNVERIFIED_TLS=1. Only redacted URLs are printed."""

import os
import sys
from collections.abc import Mapping

from pipelines.orchestration.dagster_storage import prepare_storage
from pipelines.warehouse.migrations import fill_pseudonyms, migrate
from pipelines.warehouse.urls import redacted, unverified_remote

REQUIRED = ("PIPELINES_PII_KEY", "DAGSTER_POSTGRES_URL")


def main(environ: Mapping[str, str]) -> int:
    migration_url = environ.get("WAREHOUSE_MIGRATION_URL") or environ.get("WAREHOUSE_URL")
    missing = [name for name in REQUIRED if not environ.get(name)]
    if not migration_url or missing:
        names = [*([] if migration_url else ["WAREHOUSE_MIGRATION_URL (or WAREHOUSE_URL)"]), *missing]
        print(f"migrate: {', '.join(names)} not set", file=sys.stderr)
        return 2
    dagster_url = environ["DAGSTER_POSTGRES_URL"]
    if environ.get("PIPELINES_ALLOW_UNVERIFIED_TLS") != "1":
        urls = {"WAREHOUSE_MIGRATION_URL": migration_url, "DAGSTER_POSTGRES_URL": dagster_url}
        if unverified := [name for name, url in urls.items() if unverified_remote(url, environ)]:
            print(f"migrate: {', '.join(unverified)}: a remote database needs sslmode=verify-full "
                  "(or verify-ca); PIPELINES_ALLOW_UNVERIFIED_TLS=1 only on a trusted network", file=sys.stderr)
            return 2
    applied = migrate(migration_url)
    print(f"Migrations on {redacted(migration_url)}: {', '.join(applied) or 'none pending'}", flush=True)
    filled = fill_pseudonyms(migration_url, environ["PIPELINES_PII_KEY"])
    print(f"Pseudonyms stamped on {filled} earlier events", flush=True)
    built = prepare_storage(dagster_url)
    print(f"Dagster storage on {redacted(dagster_url)}: {'built' if built else 'already whole'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
