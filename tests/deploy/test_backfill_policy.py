"""BACKROOM_BACKFILL_POLICY: a backfill in one run (the default, and the embedded demo's), or
in runs of at most N nights each, which a deployment with a pod per run spreads out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from backroom_reporting.assets.policies import backfill_policy

pytestmark = pytest.mark.deploy

# Every materialisable asset's backfill policy, as the code location loads it.
POLICIES = """
import json
from backroom_reporting.definitions import defs
graph = defs.resolve_asset_graph()
nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
policies = {n.key.to_user_string(): n.backfill_policy for n in nodes if n.is_materializable}
print(json.dumps({k: [p.policy_type.value, p.max_partitions_per_run] for k, p in policies.items()}))
"""


def loaded_policies(value: str | None) -> dict[str, list]:
    env = {k: v for k, v in os.environ.items() if k != "BACKROOM_BACKFILL_POLICY"}
    if value is not None:
        env["BACKROOM_BACKFILL_POLICY"] = value
    done = subprocess.run(
        [sys.executable, "-c", POLICIES], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_every_asset_backfills_in_runs_of_at_most_n_nights_when_set():
    policies = loaded_policies("multi_run:7")
    assert len(policies) > 30  # the whole graph, not a corner of it
    assert {name: policy for name, policy in policies.items() if policy != ["MULTI_RUN", 7]} == {}


def test_by_default_every_asset_backfills_in_one_run():
    policies = loaded_policies(None)
    assert {name: policy for name, policy in policies.items() if policy != ["SINGLE_RUN", None]} == {}


def test_the_setting_is_read_as_written():
    assert backfill_policy("single_run") == dg.BackfillPolicy.single_run()
    assert backfill_policy("multi_run:30") == dg.BackfillPolicy.multi_run(30)
    assert backfill_policy(" multi_run:1 ") == dg.BackfillPolicy.multi_run(1)


@pytest.mark.parametrize(
    "value", ["multi_run", "multi_run:0", "multi_run:-3", "multi_run:ten", "multi-run:5", ""]
)
def test_a_policy_that_is_not_one_is_named_in_one_sentence(value):
    with pytest.raises(ValueError) as raised:
        backfill_policy(value)
    assert str(raised.value) == (
        f"BACKROOM_BACKFILL_POLICY is {value!r}: use single_run, or multi_run:<N> with N nights per "
        "run (a whole number from 1), e.g. multi_run:30."
    )
