"""The image, without a container builder (none can be had on the test machines, nor the base
image): the Dockerfile's own rules, read from it, and its install steps run as they are, in a
fresh virtual environment holding only what the Dockerfile copies (they end on `pip check`).
Then, through the image's entrypoint, what the container does in the cluster: the code location
loads and every resource starts with nothing but the deployment's Secret, and the migrate Job's
script migrates a new warehouse and builds Dagster's storage."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from local_stack.launcher import LocalStack
from pipelines.definitions import defs
from pipelines.orchestration.source import Role
from pipelines.paths import PROJECT_ROOT
from pipelines.sources import registry
from pipelines.warehouse.migrations import pending_migrations

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
INSTALL_SCRIPT = "deploy/image/install.sh"
# What never enters the build context, nor so the image.
EXCLUDED = ("tests", "sandbox", "bench", "local_stack", ".venv*", ".local")
# Passed on to the installers: how this machine reaches the package index.
_INDEX_VARIABLES = re.compile(r"^(PIP_|UV_|SSL_CERT|REQUESTS_CA_BUNDLE$|(HTTPS?|NO)_PROXY$)", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    parsed = (line.strip().partition(" ") for line in joined.splitlines() if line.strip())
    return [Instruction(keyword, rest.strip()) for keyword, _, rest in parsed]


def arguments(keyword: str) -> list[str]:
    return [instruction.arguments for instruction in instructions() if instruction.keyword == keyword]


def test_the_base_image_is_official_python_311_slim_pinned_by_digest() -> None:
    (base,) = arguments("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", base)


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    keywords = [instruction.keyword for instruction in instructions()]
    (user,) = arguments("USER")
    assert user.isdigit() and int(user) != 0
    assert max(index for index, keyword in enumerate(keywords) if keyword == "RUN") < keywords.index("USER")


def test_packages_are_installed_only_by_the_shared_script_from_the_hashed_locks() -> None:
    runs = arguments("RUN")
    installs = [run for run in runs if run.startswith(INSTALL_SCRIPT)]
    assert [run.split()[1] for run in installs] == ["dependencies", "project"]
    assert not [run for run in runs if run not in installs and re.search(r"\b(pip|uv|setup\.py)\b", run)]
    commands = re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / INSTALL_SCRIPT).read_text()).splitlines()
    for lock in ("requirements/bootstrap.txt", "requirements/runtime.txt"):
        (command,) = [command for command in commands if f"-r {lock}" in command]
        assert "--require-hashes" in command, command
    # The project step ends on `pip check`: the `image` fixture below fails if it does not pass.
    project_step = re.search(r"^project\)\n(.*?)\n\s*;;", "\n".join(commands), re.MULTILINE | re.DOTALL)
    assert project_step and "-m pip check" in project_step.group(1).splitlines()[-1]


def pins(lock: str) -> dict[str, str]:
    """A lock's `name==version` pins, each checked to carry the hashes of its files."""
    entries = re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / "requirements" / lock).read_text()).splitlines()
    found = {}
    for entry in (entry for entry in entries if entry.strip() and not entry.lstrip().startswith("#")):
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", entry)
        assert match and "--hash=sha256:" in entry, entry
        found[match.group(1).lower()] = match.group(2)
    return found


def test_the_images_lock_is_the_runtime_part_of_the_tested_lock() -> None:
    """requirements/runtime.txt pins what lock.txt pins (the tests run those versions), hashed,
    with the Kubernetes and Postgres integrations and without the dev extra's tools."""
    runtime, full = pins("runtime.txt"), pins("lock.txt")
    assert runtime and {name: full.get(name) for name in runtime} == runtime
    assert {"dagster", "dagster-k8s", "dagster-postgres"} <= runtime.keys()
    assert not {"pytest", "kubernetes-validate", "ruff", "mypy", "playwright"} & runtime.keys()


def test_the_build_context_and_the_image_hold_no_tests_sandbox_bench_or_local_stack() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert set(EXCLUDED) <= set(ignored)
    sources = [source for copy in arguments("COPY") for source in copy.split()[:-1]]
    assert sources and all((PROJECT_ROOT / source).exists() for source in sources)
    assert not [source for source in sources if source.split("/")[0].rstrip("/") in
                {"tests", "sandbox", "bench", "local_stack", "docs"} or source.startswith((".venv", ".local"))]


def test_the_container_command_is_the_code_server_behind_the_entrypoint() -> None:
    (entrypoint,) = arguments("ENTRYPOINT")
    (command,) = arguments("CMD")
    assert json.loads(entrypoint) == ["python", "/opt/pipelines/deploy/image/entrypoint.py"]
    assert json.loads(command)[:5] == ["dagster", "code-server", "start", "-m", "pipelines.definitions"]


@dataclass(frozen=True)
class ImageEnvironment:
    venv: Path
    app: Path  # the image's WORKDIR, holding only what the Dockerfile copies

    def run(self, *command: str, environment: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`command` through the image's entrypoint, in its working directory and environment."""
        return subprocess.run(
            [str(self.venv / "bin" / "python"), str(self.app / "deploy/image/entrypoint.py"), *command],
            cwd=self.app, env=self.environment(environment or {}), capture_output=True, text=True,
            timeout=timeout, check=False)

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
                "VENV": str(self.venv), **extra}


def build_environment(root: Path) -> ImageEnvironment:
    """The Dockerfile's COPY and install steps, in order, into `root` (app/ and venv/)."""
    app, venv = root / "app", root / "venv"
    app.mkdir()
    machine = {name: value for name, value in os.environ.items() if _INDEX_VARIABLES.match(name)}
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    for instruction in instructions():
        if instruction.keyword == "COPY":  # as Docker does: a folder's content, a file by its name
            *sources, destination = instruction.arguments.split()
            target = app / destination  # relative to WORKDIR, as every destination here is
            for source in sources:
                origin = PROJECT_ROOT / source
                if origin.is_dir():
                    shutil.copytree(origin, target, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target / origin.name)
        elif instruction.keyword == "RUN" and instruction.arguments.startswith(INSTALL_SCRIPT):
            subprocess.run(shlex.split(instruction.arguments), cwd=app, check=True, timeout=600,
                           env={**machine, "PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
                                "VENV": str(venv), "PYTHON": str(python)})
    return ImageEnvironment(venv, app)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageEnvironment]:
    root = tmp_path_factory.mktemp("image")
    yield build_environment(root)
    shutil.rmtree(root)  # half a gigabyte, of no use once these tests are done


def deployment_secret(warehouse_url: str) -> dict[str, str]:
    """What the deployment's Secret holds: the warehouse, the pseudonyms' key, and every source's
    credentials and required settings (placeholders: nothing here calls a vendor)."""
    placeholders = {"TIMEZONE": "America/New_York", "BASE_URL": "https://vendor.example.com",
                    "IDS": "1001,1002", "APP_ID": "app-1"}
    secret = {"WAREHOUSE_URL": warehouse_url, "PIPELINES_PII_KEY": "deploy-test-pii-key"}
    for source in registry():
        for name in source.variables(Role.CREDENTIAL) + source.variables(Role.REQUIRED):
            secret[name] = next((value for suffix, value in placeholders.items() if name.endswith(suffix)),
                                f"placeholder-{name.lower()}")
    return secret


@pytest.fixture
def scratch_databases(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """Two new, empty databases on the test server (fixed names, dropped afterwards): a
    warehouse and Dagster's; their URLs, as the server's superuser."""
    admin = stack.admin_url
    assert admin is not None
    names = ("deploy_image_warehouse", "deploy_image_dagster")
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        warehouse, dagster = (urlunsplit(urlsplit(admin)._replace(path=f"/{name}")) for name in names)
        yield warehouse, dagster
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.slow
def test_the_migrate_job_readies_new_databases_for_the_code_location_and_its_runs(
        image: ImageEnvironment, scratch_databases: tuple[str, str], tmp_path: Path) -> None:
    """One test, so that one process of the suite builds the image's environment. First the
    migrate Job's script, on a new warehouse and a new Dagster database: migrations applied,
    Dagster's tables whole in their schema. Then, in one process (each start imports Dagster),
    the code location as a run's pod has it, with nothing but the deployment's Secret: no test,
    sandbox, bench or local stack module importable, the copied package, the definitions
    loadable, and every resource started, the warehouse's (which refuses pending migrations)
    against the one just migrated. No optional setting is in the Secret: the entrypoint gives
    each its default, or the first unset EnvVar would fail the run."""
    warehouse_url, dagster_url = scratch_databases
    migrated = image.run("python", "deploy/image/migrate.py", environment={
        "WAREHOUSE_MIGRATION_URL": warehouse_url, "DAGSTER_POSTGRES_URL": dagster_url,
        "PIPELINES_PII_KEY": "deploy-test-pii-key"})
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "deploy-test-pii-key" not in migrated.stdout + migrated.stderr
    assert pending_migrations(warehouse_url) == []
    with psycopg.connect(dagster_url) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dagster'")}
    assert {"runs", "event_logs", "jobs"} <= tables

    script = ("import importlib.util, pipelines\n"
              "print(pipelines.__file__)\n"
              "print([n for n in ('sandbox', 'local_stack', 'tests', 'bench') if importlib.util.find_spec(n)])\n"
              "from dagster import Definitions\n"
              "from pipelines.definitions import defs\n"
              "Definitions.validate_loadable(defs)\n"
              "for name, resource in sorted(defs.resources.items()):\n"
              "    resource.process_config_and_initialize()\n"
              "    print(name)\n")
    loaded = image.run("python", "-c", script, environment={
        **deployment_secret(warehouse_url), "DAGSTER_HOME": str(tmp_path)})
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    package, importable, *started = loaded.stdout.splitlines()
    assert Path(package).is_relative_to(image.app) and importable == "[]"
    assert set(started) == set(defs.resources or {})
