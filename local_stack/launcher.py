"""Everything `make run`, `make ui` and the tests start before Dagster: the warehouse (embedded
unless WAREHOUSE_URL is set), the Dagster instance settings, and the vendor sandbox for every
source without real credentials. The choice is made here, at start-up, and handed to Dagster
through the environment that its resources read with EnvVar."""

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.orchestration.dagster_storage import prepare_storage, storage_url
from pipelines.paths import LOCAL_DIR, PROJECT_ROOT
from pipelines.sources.mgage.client import DEFAULT_BASE_URL as MGAGE_DEFAULT_BASE_URL
from pipelines.sources.senderguide.client import DEFAULT_INTERACTION_TYPES
from local_stack.embedded import embedded_postgres
from pipelines.warehouse.migrations import migrate
from sandbox.config import SandboxConfig
from sandbox.process import RunningSandbox, sandbox_process

WEBEX_DEFAULT_PATH = "/campaignapi/resources/v3/customertransactions"


class ConfigurationError(Exception):
    """The environment asks for something inconsistent; the message says what to fix."""


@dataclass(frozen=True)
class SourceEnvironment:
    """How one source is configured: which variables make it real, which have defaults, and
    what the sandbox stands in for when it is not real."""

    source: str
    credential_vars: tuple[str, ...]
    required_vars: tuple[str, ...]
    defaults: Mapping[str, str]
    sandbox_env: Callable[[RunningSandbox], dict[str, str]]

    def mode(self, environ: Mapping[str, str]) -> str:
        present = [name for name in self.credential_vars if environ.get(name)]
        if not present:
            return "sandbox"
        missing = [name for name in self.credential_vars + self.required_vars if not environ.get(name)]
        if missing:
            raise ConfigurationError(
                f"{self.source}: {', '.join(present)} set but {', '.join(missing)} missing; "
                "set all of them to use the real vendor, or none to use the sandbox")
        return "vendor"


SOURCES: tuple[SourceEnvironment, ...] = (
    SourceEnvironment(
        source="mgage",
        credential_vars=("MGAGE_USERNAME", "MGAGE_PASSWORD"),
        required_vars=("MGAGE_PROGRAM_IDS",),
        defaults={"MGAGE_BASE_URL": MGAGE_DEFAULT_BASE_URL},
        sandbox_env=lambda sandbox: {
            "MGAGE_BASE_URL": sandbox.url,
            "MGAGE_USERNAME": sandbox.config.mgage.username,
            "MGAGE_PASSWORD": sandbox.config.mgage.password,
            "MGAGE_PROGRAM_IDS": ",".join(sandbox.config.mgage.program_ids),
        },
    ),
    SourceEnvironment(
        source="senderguide",
        credential_vars=("SENDERGUIDE_API_KEY",),
        required_vars=("SENDERGUIDE_BASE_URL", "SENDERGUIDE_MESSAGE_IDS"),
        defaults={"SENDERGUIDE_INTERACTION_TYPES": DEFAULT_INTERACTION_TYPES, "SENDERGUIDE_TIMEZONE": "UTC"},
        sandbox_env=lambda sandbox: {
            "SENDERGUIDE_BASE_URL": sandbox.url,
            "SENDERGUIDE_API_KEY": sandbox.config.senderguide.api_key,
            "SENDERGUIDE_MESSAGE_IDS": ",".join(sandbox.config.senderguide.message_ids),
            "SENDERGUIDE_INTERACTION_TYPES": DEFAULT_INTERACTION_TYPES,
            "SENDERGUIDE_TIMEZONE": sandbox.config.senderguide.timezone,
        },
    ),
    SourceEnvironment(
        source="cinnox",
        credential_vars=("CINNOX_APP_TOKEN",),
        required_vars=("CINNOX_BASE_URL", "CINNOX_APP_ID"),
        defaults={},
        sandbox_env=lambda sandbox: {
            "CINNOX_BASE_URL": sandbox.url,
            "CINNOX_APP_ID": sandbox.config.cinnox.app_id,
            "CINNOX_APP_TOKEN": sandbox.config.cinnox.app_token,
        },
    ),
    SourceEnvironment(
        source="webex",
        credential_vars=("WEBEX_API_KEY",),
        required_vars=("WEBEX_BASE_URL", "WEBEX_KEYS"),
        defaults={"WEBEX_TIMEZONE": "UTC", "WEBEX_TRANSACTIONS_PATH": WEBEX_DEFAULT_PATH,
                  "WEBEX_MAX_REQUESTS_PER_SECOND": "20"},
        sandbox_env=lambda sandbox: {
            "WEBEX_BASE_URL": sandbox.url,
            "WEBEX_API_KEY": sandbox.config.webex.api_key,
            "WEBEX_KEYS": ",".join(sandbox.config.webex.keys),
            "WEBEX_TIMEZONE": sandbox.config.webex.timezone,
            "WEBEX_TRANSACTIONS_PATH": WEBEX_DEFAULT_PATH,
            "WEBEX_MAX_REQUESTS_PER_SECOND": "0",  # the local sandbox needs no budget
        },
    ),
)

GLOBAL_DEFAULTS = {"PHONE_DEFAULT_REGION": "US"}


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
    modes = {spec.source: spec.mode(environ) for spec in SOURCES}
    exported: dict[str, str] = {}
    with ExitStack() as stack:
        warehouse_url = environ.get("WAREHOUSE_URL")
        dagster_url = environ.get("DAGSTER_POSTGRES_URL")
        if not warehouse_url:
            server = stack.enter_context(embedded_postgres(local_dir / "pgdata"))
            warehouse_url = server.database_url("warehouse")
            dagster_url = dagster_url or server.database_url("dagster")
        exported["WAREHOUSE_URL"] = warehouse_url
        dagster_url = dagster_url or warehouse_url
        prepare_storage(dagster_url)  # whole before anything opens it, whatever killed us before
        exported["DAGSTER_POSTGRES_URL"] = storage_url(dagster_url)
        exported |= _dagster_home(environ, local_dir)
        migrate(warehouse_url)

        if "sandbox" in modes.values() and sandbox is None:
            config = sandbox_config or SandboxConfig.with_random_credentials()
            sandbox = stack.enter_context(sandbox_process(config))
        for spec in SOURCES:
            if modes[spec.source] == "sandbox":
                exported |= spec.sandbox_env(sandbox)
            else:
                exported |= {name: value for name, value in spec.defaults.items() if not environ.get(name)}
        exported |= {name: value for name, value in GLOBAL_DEFAULTS.items() if not environ.get(name)}

        stack.callback(_restore_environment, {name: os.environ.get(name) for name in exported})
        os.environ.update(exported)
        yield LocalStack(warehouse_url=warehouse_url, modes=modes, sandbox=sandbox, environment=exported)


def _dagster_home(environ: Mapping[str, str], local_dir: Path) -> dict[str, str]:
    """Dagster's home under local state, with the project's dagster.yaml linked in, so that
    whatever Dagster writes next to its config (.nux, logs, artifacts) stays out of the repo."""
    dagster_dir = local_dir / "dagster"
    dagster_dir.mkdir(parents=True, exist_ok=True)
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
