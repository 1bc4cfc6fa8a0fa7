"""The Dagster instance the `backroom` commands and `make dev` share.

DAGSTER_HOME defaults to var/dagster; when it holds no dagster.yaml yet, the embedded
configuration is put there (SQLite storage, run monitoring, run retries).

DAGSTER_EVENT_BATCH_SIZE makes Dagster write a run's materialisation and planning events in
batches instead of one transaction each: a backfill of a year of nights records thousands
of them, and on the embedded SQLite storage batching cuts the demo's build by a quarter.
Set here for the commands and for `dagster dev` (its daemon and runs inherit it).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import dagster as dg

DEFAULT_HOME = Path("var/dagster")
EVENT_BATCH_SIZE = "500"


def dagster_home() -> Path:
    """DAGSTER_HOME (set to var/dagster when unset), with a dagster.yaml in it."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_HOME.resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(resources.files("backroom_reporting").joinpath("dagster_embedded.yaml").read_text())
    return home


def instance() -> dg.DagsterInstance:
    dagster_home()
    return dg.DagsterInstance.get()
