"""Everything `make run`, `make ui` and the tests start before Dagster: the warehouse (embedded
unless WAREHOUSE_URL is set), the Dagster instance settings, and the vendor sandbox for every
source without real credentials. The choice is made here, at start-up, and handed to Dagster
through the environment that its resources read with EnvVar."""

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from local_stack import private
from local_stack.embedded import embedded_postgres
from pipelines.orchestration.dagster_storage import prepare_storage, storage_url
from pipelines.orchestration.settings import ModelSettings
from pipelines.orchestration.source import Role, SourceDefinition
from pipelines.paths import LOCAL_DIR, PROJECT_ROOT
from pipelines.sources import registry
from pipelines.warehouse.migrations import migrate
from sandbox.config import SandboxConfig
from sandbox.process import RunningSandbox, sandbox_process
from sandbox.vendors import pipeline_environment

# Settings every source shares, with their defaults (the resource's own).
GLOBAL_DEFAULTS = {"PHONE_DEFAULT_REGION": ModelSettings.model_fields["phone_default_region"].default}


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
    warehouse_url: str
    modes: dict[str, str]
    sandbox: RunningSandbox | None = None
    environment: dict[str, str] = field(default_factory=dict)


@contextmanager
def local_stack(*, sandbox_config: SandboxConfig | None = None, sandbox: RunningSandbox | None = None,
                local_dir: Path | None = None) -> Iterator[LocalStack]:
    """Start what is needed, export its settings into os.environ, and undo both on exit.

    Local state (embedded data, Dagster storage) goes under `local_dir`, by default
    $PIPELINES_LOCAL_DIR or .local/ in the project. A `sandbox` already running (the tests
    serve theirs in-process, where a pinned clock reaches it) is used instead of starting one."""
    environ = dict(os.environ)
    local_dir = local_dir or Path(environ.get("PIPELINES_LOCAL_DIR") or LOCAL_DIR)
    modes = {source.name: source_mode(source, environ) for source in registry()}
    exported: dict[str, str] = {}
    with ExitStack() as stack:
        warehouse_url = environ.get("WAREHOUSE_URL")
        dagster_url = environ.get("DAGSTER_POSTGRES_URL")
        if warehouse_url and not dagster_url:
            # Dagster's runs and event logs never move into the warehouse database unasked.
            raise ConfigurationError("DAGSTER_POSTGRES_URL is required with WAREHOUSE_URL: the "
                                     "database for Dagster's runs, event logs and schedules")
        if not warehouse_url:
            server = stack.enter_context(embedded_postgres(local_dir / "pgdata"))
            warehouse_url = server.database_url("warehouse")
            dagster_url = dagster_url or server.database_url("dagster")
        exported["WAREHOUSE_URL"] = warehouse_url
        exported["PIPELINES_PII_KEY"] = _pii_key(environ, local_dir, embedded=not environ.get("WAREHOUSE_URL"))
        assert dagster_url is not None
        prepare_storage(dagster_url)  # whole before anything opens it, whatever killed us before
        stack.enter_context(private.private_local_state(local_dir))  # what Dagster writes: 0700/0600
        exported["DAGSTER_POSTGRES_URL"] = storage_url(dagster_url)
        exported |= _dagster_home(environ, local_dir)
        migrate(warehouse_url)

        if "sandbox" in modes.values() and sandbox is None:
            config = sandbox_config or SandboxConfig.with_random_credentials()
            sandbox = stack.enter_context(sandbox_process(config))
        for source in registry():
            exported |= {name: value for name, value in source.defaults().items() if not environ.get(name)}
            if modes[source.name] == "sandbox":
                stand_in = pipeline_environment(source.name, sandbox.url, sandbox.config)
                if stand_in is None:
                    raise ConfigurationError(f"{source.name}: no credentials set, and the sandbox "
                                             "does not play this vendor")
                exported |= stand_in
        exported |= {name: value for name, value in GLOBAL_DEFAULTS.items() if not environ.get(name)}

        stack.callback(_restore_environment, {name: os.environ.get(name) for name in exported})
        os.environ.update(exported)
        yield LocalStack(warehouse_url=warehouse_url, modes=modes, sandbox=sandbox, environment=exported)


def _pii_key(environ: Mapping[str, str], local_dir: Path, *, embedded: bool) -> str:
    """PIPELINES_PII_KEY, the pseudonyms' secret: from the environment, or for the embedded
    warehouse generated once and kept in local state (0600); a real warehouse needs it set,
    so that its pseudonyms stay the same whichever machine runs the pipeline."""
    if environ.get("PIPELINES_PII_KEY"):
        return environ["PIPELINES_PII_KEY"]
    if not embedded:
        raise ConfigurationError("PIPELINES_PII_KEY is required with WAREHOUSE_URL: the secret of "
                                 "the pseudonyms that stand for personal data outside the warehouse")
    return private.kept_secret(local_dir / "pii.key")


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
