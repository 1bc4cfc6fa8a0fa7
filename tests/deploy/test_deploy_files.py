"""The deployment's files agree with Dagster's Helm chart and with the project.

deploy/helm/values.yaml is validated against the chart's own schema, when it has been fetched
beside it with `helm pull` (deploy/helm/README.md; the chart's file is not committed here), as
Helm does: over the chart's values.yaml, so a key the chart already sets need not be repeated,
but a list replaces the chart's whole and each item must be complete. The schema's Kubernetes
objects (resources, volumes, env) point at definitions online; they are not fetched here and
accept any object (`helm lint` checks them against the chart)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from backroom_reporting import settings
from backroom_reporting.assets.policies import backfill_policy
from backroom_reporting.warehouse.migrate import current_revisions, describe, head_revisions

pytestmark = pytest.mark.deploy

DEPLOY = Path(__file__).parents[2] / "deploy"
SCHEMA_FILE = DEPLOY / "helm" / "values.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text()) if SCHEMA_FILE.exists() else {}
needs_schema = pytest.mark.skipif(
    not SCHEMA,
    reason="deploy/helm/values.schema.json is absent: fetch the chart's (deploy/helm/README.md)",
)
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
KUBERNETES = "https://kubernetesjsonschema.dev/"
OVERRIDE = "-override"


def as_override(schema: dict) -> dict:
    """The schema for a values file laid over the chart's: nothing outside a list is required
    (the chart's values.yaml has it); inside a list everything the chart requires is."""

    def walk(node, in_list: bool):
        if isinstance(node, list):
            return [walk(item, in_list) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "required" and not in_list:
                continue
            if key == "$ref" and value.startswith("#/definitions/") and not in_list:
                value += OVERRIDE
            out[key] = walk(value, in_list or key == "items")
        return out

    definitions = schema["definitions"]
    relaxed = walk({k: v for k, v in schema.items() if k != "definitions"}, False)
    relaxed["definitions"] = {
        **definitions,
        **{name + OVERRIDE: walk(definition, False) for name, definition in definitions.items()},
    }
    return relaxed


def kubernetes_stub(schema: dict) -> dict:
    """Every Kubernetes definition the schema points at, as a schema that accepts anything."""
    stub: dict = {}
    for ref in re.findall(
        r'"\$ref": "https://kubernetesjsonschema\.dev/[^#"]*#/([^"]+)"', json.dumps(schema)
    ):
        node = stub
        for part in ref.split("/"):
            node = node.setdefault(part, {})
    return stub


def validator() -> jsonschema.Draft7Validator:
    stub = Resource.from_contents(kubernetes_stub(SCHEMA), default_specification=DRAFT7)

    def retrieve(uri: str) -> Resource:
        if uri.startswith(KUBERNETES):
            return stub
        raise NoSuchResource(uri)  # nothing is fetched from anywhere

    return jsonschema.Draft7Validator(as_override(SCHEMA), registry=Registry(retrieve=retrieve))


def leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """An error where it is, not where an `anyOf` above it gave up (the schema allows most
    objects to be null as well: that branch's complaint says nothing)."""
    if not error.context:
        return [] if (error.validator, error.validator_value) == ("type", "null") else [error]
    return [leaf for inner in error.context for leaf in leaves(inner)]


def errors(values: dict) -> list[str]:
    found = (leaf for error in validator().iter_errors(values) for leaf in leaves(error))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


@needs_schema
def test_the_helm_values_validate_against_the_charts_schema():
    assert errors(VALUES) == []


@needs_schema
def test_the_schema_is_the_charts():
    assert SCHEMA["title"] == "DagsterHelmValues"
    assert {"dagster-user-deployments", "runLauncher", "dagsterDaemon", "postgresql"} <= SCHEMA[
        "properties"
    ].keys()


def broken(path: str, change) -> dict:
    values = copy.deepcopy(VALUES)
    *parents, last = path.split(".")
    node = values
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    change(node, last)
    return values


def rename(node, key):
    node[key + "s" if not key.endswith("s") else key[:-1]] = node.pop(key)


@pytest.mark.parametrize(
    "path, change, expected",
    [
        # a misspelt key: `resource` for `resources`
        (
            "runLauncher.config.k8sRunLauncher.resources",
            rename,
            "runLauncher/config/k8sRunLauncher: Additional properties are not allowed "
            "('resource' was unexpected)",
        ),
        (
            "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.maxConcurrentRuns",
            rename,
            "dagsterDaemon/runCoordinator/config/queuedRunCoordinator: Additional properties are not allowed "
            "('maxConcurrentRun' was unexpected)",
        ),
        (
            "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.tagConcurrencyLimits.0.limit",
            rename,
            "dagsterDaemon/runCoordinator/config/queuedRunCoordinator/tagConcurrencyLimits/0: 'limit' is a "
            "required property",
        ),
        # a value of the wrong type
        (
            "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.maxConcurrentRuns",
            lambda node, key: node.__setitem__(key, "ten"),
            "dagsterDaemon/runCoordinator/config/queuedRunCoordinator/maxConcurrentRuns: 'ten' is not of "
            "type 'integer'",
        ),
        # a list item replaces the chart's and must be whole
        (
            "dagster-user-deployments.deployments.0.port",
            lambda node, key: node.pop(key),
            "dagster-user-deployments/deployments/0: 'port' is a required property",
        ),
        (
            "runLauncher.type",
            lambda node, key: node.__setitem__(key, "KubernetesRunLauncher"),
            "runLauncher/type: 'KubernetesRunLauncher' is not one of ['CeleryK8sRunLauncher', "
            "'K8sRunLauncher', 'CustomRunLauncher']",
        ),
    ],
    ids=[
        "misspelt-launcher-key",
        "misspelt-queue-key",
        "limit-misspelt",
        "wrong-type",
        "half-a-deployment",
        "no-such-launcher",
    ],
)
@needs_schema
def test_a_wrong_key_or_value_is_refused(path, change, expected):
    assert expected in errors(broken(path, change))


# --- the files agree with the project and with each other ----------------------------------

SETTINGS = {s.env for s in vars(settings).values() if isinstance(s, settings.Setting)}
# Read by Dagster or the deployment, not by the platform's code.
DEPLOYMENT_VARIABLES = {"DAGSTER_EVENT_BATCH_SIZE"}


def env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


def env_references(node) -> set[str]:
    """The variables a Dagster YAML file reads (`env: NAME`)."""
    if isinstance(node, dict):
        found = {node["env"]} if isinstance(node.get("env"), str) else set()
        return found.union(*(env_references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(v) for v in node))
    return set()


def test_every_variable_dagster_reads_is_in_the_env_example():
    example = env_file(DEPLOY / ".env.example")
    for name in ("dagster.yaml", "workspace.yaml"):
        missing = env_references(yaml.safe_load((DEPLOY / name).read_text())) - example.keys()
        assert not missing, f"deploy/{name} reads {sorted(missing)}, which deploy/.env.example does not set"


def test_every_platform_variable_set_for_production_is_a_setting():
    example = env_file(DEPLOY / ".env.example")
    [deployment] = VALUES["dagster-user-deployments"]["deployments"]
    named = {n for n in example if not n.startswith(("DAGSTER_", "POSTGRES_"))} | deployment["env"].keys()
    assert named - SETTINGS - DEPLOYMENT_VARIABLES == set()


def test_production_backfills_in_runs_of_nights():
    [deployment] = VALUES["dagster-user-deployments"]["deployments"]
    for value in (
        deployment["env"]["BACKROOM_BACKFILL_POLICY"],
        env_file(DEPLOY / ".env.example")["BACKROOM_BACKFILL_POLICY"],
    ):
        assert backfill_policy(value).max_partitions_per_run > 1


def test_one_machine_and_kubernetes_limit_runs_by_the_same_tags():
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    queue = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    on_one_machine = [
        (t["key"], t.get("value")) for t in instance["concurrency"]["runs"]["tag_concurrency_limits"]
    ]
    on_kubernetes = [(t["key"], t.get("value")) for t in queue["tagConcurrencyLimits"]]
    assert on_one_machine == on_kubernetes
    assert ("dagster/code_location", {"applyLimitPerUniqueValue": True}) in on_kubernetes


# --- the image's roles ------------------------------------------------------------------------

ENTRYPOINT = DEPLOY / "entrypoint.sh"


def roles() -> set[str]:
    return set(re.findall(r"^  ([a-z-]+)\)$", ENTRYPOINT.read_text(), flags=re.MULTILINE))


def test_every_compose_service_of_the_image_runs_one_of_its_roles():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    commands = {
        name: service["command"]
        for name, service in compose["services"].items()
        if service.get("image", "").startswith("${BACKROOM_IMAGE")
    }
    assert commands.keys() == {"migrate", "code-server", "webserver", "daemon", "portal"}
    assert {command[0] for command in commands.values()} == roles() == set(commands)


@pytest.mark.postgres
def test_the_migrate_role_upgrades_the_warehouse_and_keeps_its_password_out_of_the_log(
    postgres_url, tmp_path
):
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BACKROOM_WAREHOUSE_URL": postgres_url,
    }
    done = subprocess.run(
        [ENTRYPOINT, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    password = sa.make_url(postgres_url).password
    assert f":{password}@" not in done.stdout + done.stderr
    assert done.stdout.strip().endswith(f"is at revision {describe(head_revisions())}")
    assert current_revisions(postgres_url) == head_revisions()


def test_any_other_command_runs_as_given():
    # As the Helm chart and the Kubernetes run launcher start `dagster ...` in the image.
    done = subprocess.run(
        [ENTRYPOINT, "sh", "-c", 'echo "$0 $1"', "as", "given"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "as given\n")
