"""Dagster split as a deployment runs it, on one machine: the code location served by
`dagster code-server` in a process of its own, a workspace that reaches it over gRPC, the daemon
and the webserver apart, and every run launched by the queue as a process of its own (the
default run launcher asks the code server to start it).

`make ui` runs all of this inside one `dagster dev`; here each piece is what it would be on its
own machine, so a test (tests/e2e/test_topology.py) and `python -m local_stack topology` show
that the code location, the daemon and the webserver need nothing from each other but the
workspace, Dagster's database and the environment."""

import os
import signal
import socket
import subprocess
import sysconfig
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import psutil
import yaml
from dagster import DagsterInstance
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipelines.paths import PROJECT_ROOT

# The code location, as the project's workspace.yaml names it (runs and schedules refer to it).
LOCATION_NAME = "messaging_pipelines"
DEFINITIONS = ("pipelines.definitions", "defs")
HOST = "127.0.0.1"
# What the code server reports as serving once its code has loaded (dagster's gRPC server).
_GRPC_SERVICE = "DagsterApi"
_STOP_TIMEOUT_S = 30.0

WORKSPACE_STATUS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class TopologyError(RuntimeError):
    """A process of the topology did not start; the message ends with its output's tail."""


@dataclass(frozen=True)
class Topology:
    """The running split: where its webserver answers, and its long-lived processes."""

    webserver_url: str
    workspace: Path
    code_server_port: int
    processes: Mapping[str, subprocess.Popen[bytes]]  # code_server, daemon, webserver
    logs: Path

    def service_pids(self) -> set[int]:
        """The pids of the services and of every process they run now: the code server's
        `dagster api grpc` child, and any run worker under way or finishing."""
        pids = set()
        for process in self.processes.values():
            try:
                leader = psutil.Process(process.pid)
                pids |= {leader.pid, *(child.pid for child in leader.children(recursive=True))}
            except psutil.NoSuchProcess:
                continue
        return pids

    def graphql(self, query: str, variables: Mapping[str, object] | None = None) -> dict[str, Any]:
        """The data of one GraphQL request to the webserver; its errors raised."""
        response = httpx.post(f"{self.webserver_url}/graphql", timeout=60,
                              json={"query": query, "variables": dict(variables or {})})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise TopologyError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data


def free_port() -> int:
    """A TCP port free on the loopback address right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def write_workspace(path: Path, port: int) -> Path:
    """A workspace whose only code location is the code server on `port` (the same location
    name as the project's workspace.yaml, which loads it in-process instead)."""
    entry = {"grpc_server": {"host": HOST, "port": port, "location_name": LOCATION_NAME}}
    path.write_text(yaml.safe_dump({"load_from": [entry]}, sort_keys=False))
    return path


@contextmanager
def topology(environment: Mapping[str, str], *, webserver_port: int | None = None,
             startup_timeout_s: float = 120.0) -> Iterator[Topology]:
    """Start the code server, then the daemon and the webserver on a workspace that points at
    it, each its own process (and process group), in `environment`: a prepared stack's
    (local_stack.launcher.local_stack), whose DAGSTER_HOME receives the workspace and the
    processes' logs. Yields once the webserver has loaded the code location; stops them all on
    exit, the webserver and the daemon before the code server they read. (The stack has given
    the sources' pools their limits: pipelines/orchestration/dagster_storage.register_pools.)"""
    home = Path(environment["DAGSTER_HOME"])
    logs = home / "topology"
    logs.mkdir(mode=0o700, exist_ok=True)
    grpc_port, web_port = free_port(), webserver_port or free_port()
    workspace = write_workspace(home / "workspace.yaml", grpc_port)
    module, attribute = DEFINITIONS
    commands = {
        "code_server": [_script("dagster"), "code-server", "start", "-m", module, "-a", attribute,
                        "--location-name", LOCATION_NAME, "-h", HOST, "-p", str(grpc_port)],
        "daemon": [_script("dagster-daemon"), "run", "-w", str(workspace)],
        "webserver": [_script("dagster-webserver"), "-w", str(workspace), "-h", HOST,
                      "-p", str(web_port)],
    }
    deadline = time.monotonic() + startup_timeout_s
    processes: dict[str, subprocess.Popen[bytes]] = {}
    with ExitStack() as stack:
        stack.callback(_stop_all, processes)  # whatever has started, however the start ends
        processes["code_server"] = _start(commands["code_server"], environment, logs / "code_server.log")
        _wait_for_code_server(grpc_port, processes["code_server"], logs / "code_server.log", deadline)
        for name in ("daemon", "webserver"):
            processes[name] = _start(commands[name], environment, logs / f"{name}.log")
        url = f"http://{HOST}:{web_port}"
        running = Topology(webserver_url=url, workspace=workspace, code_server_port=grpc_port,
                           processes=processes, logs=logs)
        _wait_for_webserver(running, deadline)
        yield running


def serve(port: int) -> int:
    """`python -m local_stack topology`: the split on the same warehouse, instance and sandbox
    as `make ui`, the webserver on `port`, until Ctrl-C or SIGTERM."""
    from local_stack.launcher import local_stack
    from pipelines.orchestration.run_workers import fail_dead_runs

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with local_stack() as stack:
        with DagsterInstance.get() as instance:
            fail_dead_runs(instance)
        print(f"Sources — {', '.join(f'{s}: {m}' for s, m in stack.modes.items())}", flush=True)
        with topology(os.environ, webserver_port=port) as running:
            print(f"Webserver {running.webserver_url}, code server on {HOST}:{running.code_server_port}, "
                  f"workspace {running.workspace}, logs in {running.logs}; Ctrl-C stops them", flush=True)
            stop.wait()
    return 0


def _script(name: str) -> str:
    """A console script of this interpreter's environment (the venv's `dagster`, ...)."""
    return str(Path(sysconfig.get_path("scripts")) / name)


def _start(command: list[str], environment: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A service in a process group of its own (so that its children stop with it), its output
    in `log` (this start's only)."""
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=dict(environment), stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_code_server(port: int, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    """Until the code server's gRPC health service says it serves: it binds its port only once
    the code location has loaded (or failed to, which the webserver then reports).

    Each try is a new channel (a failed one waits out a growing reconnect backoff), and a call
    without a gRPC deadline: gRPC computes deadlines from time.time(), which a test may pin in
    the past, and its C core reads them on the real clock. A refused connection fails at once."""
    while True:
        _check_alive("code server", process, log)
        with grpc.insecure_channel(f"{HOST}:{port}") as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=_GRPC_SERVICE))
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
        _sleep_until(deadline, "the code server", log)


def _wait_for_webserver(running: Topology, deadline: float) -> None:
    """Until the webserver answers and has loaded the code location from the code server."""
    log = running.logs / "webserver.log"
    while True:
        for name, process in running.processes.items():
            _check_alive(name.replace("_", " "), process, running.logs / f"{name}.log")
        try:
            if httpx.get(f"{running.webserver_url}/server_info", timeout=2).status_code == 200:
                entries = running.graphql(WORKSPACE_STATUS)["workspaceOrError"]["locationEntries"]
                [entry] = [entry for entry in entries if entry["name"] == LOCATION_NAME]
                if entry["loadStatus"] == "LOADED":
                    loaded = entry["locationOrLoadError"]
                    if loaded["__typename"] != "RepositoryLocation":
                        raise TopologyError(f"{LOCATION_NAME} failed to load: {loaded.get('message')}")
                    return
        except httpx.TransportError:
            pass
        _sleep_until(deadline, "the webserver", log)


def _check_alive(name: str, process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise TopologyError(f"the {name} exited with {process.returncode}:\n{_tail(log)}")


def _sleep_until(deadline: float, what: str, log: Path) -> None:
    if time.monotonic() > deadline:
        raise TopologyError(f"{what} was not ready in time:\n{_tail(log)}")
    time.sleep(0.25)


def _tail(log: Path, characters: int = 3000) -> str:
    return log.read_text(errors="replace")[-characters:] if log.exists() else "(no output)"


def _stop_all(processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """Stop the webserver and the daemon (together), then the code server they read."""
    readers = [process for name, process in processes.items() if name != "code_server"]
    _stop(readers)
    _stop([process for name, process in processes.items() if name == "code_server"])


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT, which each Dagster service handles as Ctrl-C (shutting its own children down);
    SIGKILL to the whole group of one that has not stopped in time. Whatever is left of a
    group (a run worker under way) goes with it."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
        _kill_group(process.pid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already
        pass
