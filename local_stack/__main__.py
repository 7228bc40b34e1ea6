"""`python -m local_stack run|ui|topology|migrate|dashboards`: what `make run`, `make ui`,
`make migrate` and `make dashboards` call, and the split topology a deployment runs (code
server, daemon, webserver apart)."""

import argparse
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from local_stack.launcher import ConfigurationError, local_stack, migrated_warehouse
from pipelines.model import clock
from pipelines.paths import LOCAL_DIR, PROJECT_ROOT
from pipelines.warehouse.urls import redacted

if TYPE_CHECKING:
    from dagster import ExecuteInProcessResult, PartitionsDefinition

# Step-level DEBUG events stay in the run's event log (make ui); the terminal gets INFO.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run(days: int) -> int:
    """Load the last `days` UTC days (today included) of every source through Dagster."""
    from dagster import DagsterInstance

    from local_stack.marts import refresh_marts
    from local_stack.summary import warehouse_summary
    from pipelines.definitions import defs
    from pipelines.orchestration.remap import JOB_NAME as REMAP_JOB
    from pipelines.orchestration.run_workers import fail_dead_runs, worker_tag
    from pipelines.sources import registry

    last_day = clock.today()
    first_day = last_day - timedelta(days=days - 1)
    with local_stack() as stack:
        modes = ", ".join(f"{source}: {mode}" for source, mode in stack.modes.items())
        print(f"Loading {first_day} .. {last_day} (UTC) — {modes}", flush=True)
        outcomes: dict[str, tuple[bool, str]] = {}
        activated: list[str] = []
        with DagsterInstance.get() as instance:
            if dead := fail_dead_runs(instance):
                print(f"Marked {len(dead)} run(s) failed whose process had died", flush=True)
            # Rows loaded under older mapping rules are re-mapped before anything loads.
            remapped = defs.resolve_job_def(REMAP_JOB).execute_in_process(
                instance=instance, raise_on_error=False, run_config=_QUIET_CONSOLE, tags=worker_tag())
            if not remapped.success:
                print("Re-mapping stored records FAILED (see the warehouse_remap run in make ui)")
                return 1
            for source in registry():
                # Its supporting assets first (Webex: whom to follow), then its load.
                runs: list[tuple[str, dict[str, str]]] = [
                    (support.job_name, {}) for support in source.supporting]
                runs.append((source.job_name, _whole_range(source.partitions_def, first_day, last_day)))
                ok = True
                for job_name, tags in runs:
                    # A kill leaves the run failed, not STARTED (orchestration/run_workers.py).
                    result = defs.resolve_job_def(job_name).execute_in_process(
                        instance=instance, raise_on_error=False, run_config=_QUIET_CONSOLE,
                        tags=tags | worker_tag())
                    ok = ok and result.success
                outcomes[source.name] = ok, "loaded"
            # Activations act on the vendor: only ever on the local sandbox here.
            activations = [action for source in registry() for action in source.actions
                           if stack.modes[source.name] == "sandbox"]
            for action in activations:
                result = defs.resolve_job_def(action.job_name).execute_in_process(
                    instance=instance, raise_on_error=False, tags=worker_tag(),
                    run_config=action.run_config.to_config_dict() | _QUIET_CONSOLE)
                outcomes[action.job_name] = result.success, "ran"
                activated.append(_activation_line(action.job_name, result))
            # What the loads wrote reaches the marts, and the dashboards reading them, as
            # make ui's sensor does after each load: a run that leaves them stale would have
            # an analyst read yesterday's figures next to today's events.
            outcomes["marts"] = refresh_marts(instance), "refreshed"
        print()
        print(warehouse_summary(stack.warehouse_url, first_day, last_day))
        for line in activated:
            print(line)
    print()
    for name, (ok, done) in outcomes.items():
        print(f"{name}: {done if ok else 'FAILED (see the run in make ui)'}")
    return 0 if all(ok for ok, _ in outcomes.values()) else 1


def _activation_line(job_name: str, result: "ExecuteInProcessResult") -> str:
    """What an activation run did, from its materialization's metadata."""
    if not result.success:
        return f"{job_name}: FAILED (see the run in make ui)"
    [materialization] = result.get_asset_materialization_events()[-1:]
    metadata = {name: value.value for name, value in
                materialization.step_materialization_data.materialization.metadata.items()}
    counts = ", ".join(f"{metadata[name]} {name.replace('_', ' ')}" for name in
                       ("audience", "sent", "rejected", "failed", "in_doubt", "skipped_already_sent"))
    return f"{job_name} (on the sandbox): {counts}"


def _whole_range(partitions: "PartitionsDefinition | None", first_day: date, last_day: date) -> dict[str, str]:
    """The tags of one run over what `make run` loads: the days first_day..last_day of a
    day-partitioned source, every shard of a sharded one, nothing for an unpartitioned one."""
    from dagster import TimeWindowPartitionsDefinition

    from pipelines.orchestration.partitions import partition_range_tags

    if partitions is None:
        return {}
    if isinstance(partitions, TimeWindowPartitionsDefinition):
        return partition_range_tags(first_day.isoformat(), last_day.isoformat())
    keys = partitions.get_partition_keys()
    return partition_range_tags(keys[0], keys[-1])


def migrate() -> int:
    """Apply pending migrations (roles included) as the migrating role. `make run` and
    `make ui` do the same first; the product itself never changes the schema."""
    local_dir = Path(os.environ.get("PIPELINES_LOCAL_DIR") or LOCAL_DIR)
    with migrated_warehouse(os.environ, local_dir) as databases:
        applied = ", ".join(databases.applied) or "none pending"
        print(f"Migrations on {redacted(databases.migrator)}: {applied}", flush=True)
    return 0


def ui() -> int:
    """`dagster dev` (webserver and daemon) on the same warehouse, instance and sandbox.

    Ctrl-C or SIGTERM asks dagster dev to stop its services; the sandbox and the embedded
    warehouse stop after it."""
    from dagster import DagsterInstance

    from pipelines.orchestration.run_workers import fail_dead_runs

    with local_stack() as stack:
        with DagsterInstance.get() as instance:
            fail_dead_runs(instance)
        print(f"Sources — {', '.join(f'{s}: {m}' for s, m in stack.modes.items())}", flush=True)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")]
        if port := os.environ.get("DAGSTER_PORT"):
            command += ["--port", port]
        # A command started in the background inherits SIGINT ignored; dagster dev needs it back
        # to shut its webserver, daemon and code servers down when asked.
        dagster_dev = subprocess.Popen(
            command, cwd=PROJECT_ROOT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

        def stop(signum: int, frame: object) -> None:
            dagster_dev.send_signal(signal.SIGINT)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        dagster_dev.wait()
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="load the last DAYS days of every source and print a summary")
    commands.add_parser("ui", help="start dagster dev")
    commands.add_parser("topology", help="start the code server, the daemon and the webserver as "
                                         "separate processes, as a deployment splits them")
    commands.add_parser("migrate", help="apply the warehouse migrations as the migrating role")
    dashboards = commands.add_parser("dashboards", help="serve the Superset dashboards on the marts")
    dashboards.add_argument("--export", action="store_true",
                            help="write the dashboards as Superset has them back to dashboards/superset/bundle")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run(int(os.environ.get("DAYS") or 7))
        if args.command == "migrate":
            return migrate()
        if args.command == "topology":
            from local_stack.topology import serve

            return serve(int(os.environ.get("DAGSTER_PORT") or 3000))
        if args.command == "dashboards":
            from local_stack.dashboards import dashboards as serve_dashboards

            return serve_dashboards(export_bundle=args.export)
        return ui()
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
