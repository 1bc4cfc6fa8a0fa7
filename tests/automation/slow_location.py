"""A code location with one job that runs past its time limit, for the run-monitoring test."""

import time

import dagster as dg


@dg.op
def wait_a_minute() -> None:
    time.sleep(60)


@dg.job(tags={"dagster/max_runtime": 3})
def runs_past_its_limit():
    wait_a_minute()


defs = dg.Definitions(jobs=[runs_past_its_limit])
