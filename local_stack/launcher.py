"""Everything `make run`, `make ui` and the tests start before Dagster: the warehouse (embedded
unless WAREHOUSE_URL is set), the Dagster instance settings, and the vendor sandbox for every
source without real credentials. The choice is made here, at start-up, and handed to Dagster
through the environment that its resources read with EnvVar."""

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterInstance

from local_stack import private
from local_stack.embedded import EmbeddedPostgres, embedded_postgres
from local_stack.roles import grant_loader, provision
from pipelines.orchestration.dagster_storage import prepare_storage, register_pools, storage_url
from pipelines.orchestration.settings import ModelSettings, ReportingSettings
from pipelines.orchestration.source import Role, SourceDefinition
from pipelines.paths import LOCAL_DIR, PROJECT_ROOT
from pipelines.sources import registry
from pipelines.warehouse.migrations import fill_pseudonyms, migrate
from pipelines.warehouse.resource import Warehouse
from pipelines.warehouse.urls import unverified_remote
from sandbox.config import SandboxConfig
from sandbox.process import RunningSandbox, sandbox_process
from sandbox.vendors import pipeline_environment

# Settings every source shares, with their defaults (the resource's own).
GLOBAL_DEFAULTS = {
    "PHONE_DEFAULT_REGION": ModelSettings.model_fields["phone_default_region"].default,
    "PIPELINES_RETENTION_DAYS": str(Warehouse.model_fields["retention_days"].default),
    "PIPELINES_KEEP_MONTHS": str(Warehouse.model_fields["keep_months"].default),
    "PIPELINES_REPORTING_TIMEZONE": ReportingSettings.model_fields["timezone"].default,
}


class ConfigurationError(Exception):
    """The environment asks for something inconsistent; the message says what to fix."""


def source_mode(source: SourceDefinition, environ: Mapping[str, str]) -> str:
    """"vendor" when all of a source's credentials and required settings are set, "sandbox"
    when none of its credentials is; anything in between is an error that names what is
    missing."""
    credentials = source.variables(Role.CREDENTIAL)
    present = [name for name in credentials if environ.get(name)]
    if not present:
        return "sandbox"
    missing = [name for name in credentials + source.variables(Role.REQUIRED) if not environ.get(name)]
    if missing:
        raise ConfigurationError(
            f"{source.name}: {', '.join(present)} set but {', '.join(missing)} missing; "
            "set all of them to use the real vendor, or none to use the sandbox")
    return "vendor"


def source_variables() -> set[str]:
    """Every variable that configures a source (what the tests isolate from the developer's)."""
    return {setting.env for source in registry() for setting in source.settings}


@dataclass
class LocalStack:
    warehouse_url: str  # the loader's: what the product connects as
    migration_url: str  # the migrating role's, which owns the schemas
    admin_url: str | None  # the embedded server's superuser (None for WAREHOUSE_URL): tests only
    modes: dict[str, str]
    sandbox: RunningSandbox | None = None
    environment: dict[str, str] = field(default_factory=dict)
    server: EmbeddedPostgres | None = None  # the embedded server: logins made on demand (make dashboards)


@contextmanager
def local_stack(*, sandbox_config: SandboxConfig | None = None, sandbox: RunningSandbox | None = None,
                local_dir: Path | None = None) -> Iterator[LocalStack]:
    """Start what is needed, apply pending migrations (as the migrating role), export the
    settings into os.environ, and undo both on exit.

    Local state (embedded data, Dagster storage) goes under `local_dir`, by default
    $PIPELINES_LOCAL_DIR or .local/ in the project. A `sandbox` already running (the tests
    serve theirs in-process, where a pinned clock reaches it) is used instead of starting one."""
    environ = dict(os.environ)
    local_dir = local_dir or Path(environ.get("PIPELINES_LOCAL_DIR") or LOCAL_DIR)
    modes = {source.name: source_mode(source, environ) for source in registry()}
    # Everything the environment gets wrong is refused before anything starts.
    _check_real_warehouse(environ)
    _sandbox_allowed(modes, environ)
    exported: dict[str, str] = {}
    with ExitStack() as stack:
        database = stack.enter_context(migrated_warehouse(environ, local_dir))
        exported["PIPELINES_PII_KEY"] = database.pii_key
        warehouse_url, migration_url, dagster_url = database.loader, database.migrator, database.dagster
        exported["WAREHOUSE_URL"] = warehouse_url
        prepare_storage(dagster_url)  # whole before anything opens it, whatever killed us before
        stack.enter_context(private.private_local_state(local_dir))  # what Dagster writes: 0700/0600
        exported["DAGSTER_POSTGRES_URL"] = storage_url(dagster_url)
        exported |= _dagster_home(environ, local_dir)

        if "sandbox" in modes.values() and sandbox is None:
            config = sandbox_config or SandboxConfig.with_random_credentials()
            sandbox = stack.enter_context(sandbox_process(config))
        for source in registry():
            exported |= {name: value for name, value in source.defaults().items() if not environ.get(name)}
            # Where the rows come from is this function's finding, never a setting to forge.
            exported[source.origin_variable] = modes[source.name]
            if modes[source.name] == "sandbox":
                stand_in = pipeline_environment(source.name, sandbox.url, sandbox.config)
                if stand_in is None:
                    raise ConfigurationError(f"{source.name}: no credentials set, and the sandbox "
                                             "does not play this vendor")
                exported |= stand_in
        exported |= {name: value for name, value in GLOBAL_DEFAULTS.items() if not environ.get(name)}

        stack.callback(_restore_environment, {name: os.environ.get(name) for name in exported})
        os.environ.update(exported)
        with DagsterInstance.get() as instance:  # before any daemon reads the queue
            register_pools(instance, (source.name for source in registry()))
        yield LocalStack(warehouse_url=warehouse_url, migration_url=migration_url,
                         admin_url=database.admin, modes=modes,
                         sandbox=sandbox, environment=exported, server=database.server)


@dataclass(frozen=True)
class Databases:
    """The connections of each role, and the migrations this start applied."""

    migrator: str  # make migrate: owns the schemas
    loader: str    # the product (WAREHOUSE_URL)
    dagster: str   # Dagster's own storage (DAGSTER_POSTGRES_URL)
    pii_key: str   # the pseudonyms' secret (PIPELINES_PII_KEY)
    applied: list[str]
    admin: str | None = None  # the embedded server's superuser: setup and tests only
    server: EmbeddedPostgres | None = None  # the embedded server: logins made on demand (make dashboards)


@contextmanager
def migrated_warehouse(environ: Mapping[str, str], local_dir: Path) -> Iterator[Databases]:
    """The warehouse, embedded or WAREHOUSE_URL, with every migration applied as the migrating
    role (WAREHOUSE_MIGRATION_URL, or WAREHOUSE_URL for a warehouse with one login), and events
    from before the pseudonyms stamped with theirs."""
    _check_real_warehouse(environ)
    pii_key = _pii_key(environ, local_dir)
    if warehouse_url := environ.get("WAREHOUSE_URL"):
        migration_url = environ.get("WAREHOUSE_MIGRATION_URL") or warehouse_url
        applied = migrate(migration_url)
        fill_pseudonyms(migration_url, pii_key)
        yield Databases(migration_url, warehouse_url, environ["DAGSTER_POSTGRES_URL"], pii_key, applied)
        return
    with embedded_postgres(local_dir / "pgdata") as server:
        urls = provision(server)
        applied = migrate(urls.migrator)
        fill_pseudonyms(urls.migrator, pii_key)
        grant_loader(urls)  # the group exists once the roles migration has run
        yield Databases(urls.migrator, urls.loader, environ.get("DAGSTER_POSTGRES_URL") or urls.dagster,
                        pii_key, applied, admin=urls.admin, server=server)


def _check_real_warehouse(environ: Mapping[str, str]) -> None:
    """With WAREHOUSE_URL: Dagster's runs and event logs get a database of their own
    (never the warehouse's, unasked), and the pseudonyms' secret must be set, so that they stay
    the same whichever machine runs the pipeline. A database on another machine is reached
    only over TLS that verifies the server (sslmode verify-full or verify-ca), unless
    PIPELINES_ALLOW_UNVERIFIED_TLS=1 says the network is trusted: otherwise its password and
    personal data go to whoever answers on the way."""
    if not environ.get("WAREHOUSE_URL"):
        return
    if not environ.get("DAGSTER_POSTGRES_URL"):
        raise ConfigurationError("DAGSTER_POSTGRES_URL is required with WAREHOUSE_URL: the "
                                 "database for Dagster's runs, event logs and schedules")
    if not environ.get("PIPELINES_PII_KEY"):
        raise ConfigurationError("PIPELINES_PII_KEY is required with WAREHOUSE_URL: the secret of "
                                 "the pseudonyms that stand for personal data outside the warehouse")
    if environ.get("PIPELINES_ALLOW_UNVERIFIED_TLS") == "1":
        return
    urls = {name: environ[name] for name in ("WAREHOUSE_URL", "WAREHOUSE_MIGRATION_URL",
                                             "DAGSTER_POSTGRES_URL") if environ.get(name)}
    if unverified := [name for name, url in urls.items() if unverified_remote(url, environ)]:
        raise ConfigurationError(
            f"{', '.join(unverified)}: a remote database needs sslmode=verify-full (or verify-ca) "
            "in its URL or PGSSLMODE; set PIPELINES_ALLOW_UNVERIFIED_TLS=1 only on a trusted network")


def _sandbox_allowed(modes: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """The sandbox stands in for sources without credentials on the embedded warehouse; with a
    real one (WAREHOUSE_URL) only when PIPELINES_SANDBOX=1 says so, so that a forgotten
    credential never fills a production warehouse with synthetic rows. Rows loaded from it
    are marked (core.message_events.sandbox) either way."""
    sandboxed = [name for name, mode in modes.items() if mode == "sandbox"]
    if sandboxed and environ.get("WAREHOUSE_URL") and environ.get("PIPELINES_SANDBOX") != "1":
        raise ConfigurationError(
            f"{', '.join(sandboxed)}: no credentials set. With WAREHOUSE_URL the local sandbox "
            "stands in only with PIPELINES_SANDBOX=1 (its rows are marked as sandbox data); "
            "otherwise set the vendor's credentials")


def _pii_key(environ: Mapping[str, str], local_dir: Path) -> str:
    """PIPELINES_PII_KEY, the pseudonyms' secret: from the environment (a real warehouse
    requires it, see _check_real_warehouse), or for the embedded warehouse generated once and
    kept in local state (0600)."""
    return environ.get("PIPELINES_PII_KEY") or private.kept_secret(local_dir / "pii.key")


def _dagster_home(environ: Mapping[str, str], local_dir: Path) -> dict[str, str]:
    """Dagster's home under local state, with the project's dagster.yaml linked in, so that
    whatever Dagster writes next to its config (.nux, logs, artifacts) stays out of the repo;
    private, like its compute logs and artifacts (which may hold what a run printed)."""
    dagster_dir = private.private_dir(local_dir / "dagster")
    private.private_dir(dagster_dir / "logs")
    private.private_dir(dagster_dir / "storage")
    config = dagster_dir / "dagster.yaml"
    if not config.is_symlink():
        config.unlink(missing_ok=True)
        config.symlink_to(PROJECT_ROOT / "dagster.yaml")
    return {
        "DAGSTER_HOME": environ.get("DAGSTER_HOME") or str(dagster_dir),
        "DAGSTER_ARTIFACTS_DIR": environ.get("DAGSTER_ARTIFACTS_DIR") or str(dagster_dir / "storage"),
        "DAGSTER_COMPUTE_LOGS_DIR": environ.get("DAGSTER_COMPUTE_LOGS_DIR") or str(dagster_dir / "logs"),
    }


def _restore_environment(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
