"""Pins the clock of every Python process a test starts (`make run`, the sandbox, Dagster's
processes) when the test puts this folder on PYTHONPATH and names the instant in
PIPELINES_TEST_NOW: Python imports `sitecustomize` at start-up, and the variables pass on to
grandchildren. Each process's clock starts at that instant and ticks from there, or stays at
it when PIPELINES_TEST_CLOCK is "frozen": then every process of a run sees the vendor's data
as of one instant, however long the run takes."""

import os

if instant := os.environ.get("PIPELINES_TEST_NOW"):
    import time_machine

    time_machine.travel(instant, tick=os.environ.get("PIPELINES_TEST_CLOCK") != "frozen").start()
