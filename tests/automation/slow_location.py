"""A code location with a job that runs past its time limit and one whose process is killed,
for the run-monitoring tests."""

import os
import signal
import time

import dagster as dg


@dg.op
def wait_a_minute() -> None:
    time.sleep(60)


@dg.job(tags={"dagster/max_runtime": 3})
def runs_past_its_limit():
    wait_a_minute()


@dg.op
def kill_my_own_process() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


# In process, so the kill takes the run's own process, as the embedded instance runs it.
@dg.job(executor_def=dg.in_process_executor)
def dies_mid_run():
    kill_my_own_process()


defs = dg.Definitions(jobs=[runs_past_its_limit, dies_mid_run])
