"""The check_failed sensor on a real Dagster instance: a night failing a blocking check raises
one incident naming the asset, the night and why; a warning raises none; the check passing on
that night again resolves it; a rule naming a check with `warnings` hears of its warnings too.
(A report failing to render: tests/reports/test_report_alerts.py.)"""

import dagster as dg
import pytest

from backroom_reporting.alerting.figures import CHECK_PASSED, CheckOutcome, check_title
from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.alerting.runs import RESOLVED_BY
from backroom_reporting.assets.stripe import payment_reconciliation_asset
from backroom_reporting.definitions import defs
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.figure_alerts import alert_on_failed_checks

NIGHTS = dg.DailyPartitionsDefinition(start_date="2026-11-01")
MONEY, ANOMALY, GUARD = "tiny_money_non_negative", "tiny_revenue_anomaly", "tiny_load_guard"
RULES = """\
rules:
  - key: figures_failed
    kind: check_failed
    severity: warning
    channels: [slack]
    escalation: none
  - key: guard_tripped
    kind: check_failed
    checks: [tiny_load_guard]
    severity: critical
    channels: [email]
    escalation: on_call
"""


def _broken(context, check: str) -> bool:
    return check in context.run.tags.get("broken", "").split(",")


@dg.asset(
    partitions_def=NIGHTS,
    check_specs=[
        dg.AssetCheckSpec(name, asset="tiny_nightly_figures", partitions_def=NIGHTS)
        for name in (MONEY, ANOMALY)
    ],
)
def tiny_nightly_figures(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult()
    night = context.partition_key
    yield dg.AssetCheckResult(
        check_name=MONEY,
        passed=not _broken(context, MONEY),
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{night}: 3 rows with negative money" if _broken(context, MONEY) else None,
    )
    yield dg.AssetCheckResult(
        check_name=ANOMALY,
        passed=not _broken(context, ANOMALY),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{night}: 1 venue with anomalous revenue" if _broken(context, ANOMALY) else None,
    )


@dg.asset(check_specs=[dg.AssetCheckSpec(GUARD, asset="tiny_venues")])
def tiny_venues(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name=GUARD,
        passed=not _broken(context, GUARD),
        severity=dg.AssetCheckSeverity.ERROR,
        description="venues was empty where it had 2 rows" if _broken(context, GUARD) else None,
    )


@pytest.fixture
def rules_text() -> str:
    return RULES


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def night(instance, key: str, *broken: str) -> None:
    dg.materialize(
        [tiny_nightly_figures], partition_key=key, instance=instance, tags={"broken": ",".join(broken)}
    )


def venues(instance, *broken: str) -> None:
    dg.materialize([tiny_venues], instance=instance, tags={"broken": ",".join(broken)})


class Sensor:
    """The sensor ticking as the daemon would: each tick starts from the last one's cursor."""

    def __init__(self, instance, warehouse):
        self.instance, self.warehouse, self.cursor = instance, warehouse, None

    def tick(self) -> str:
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"warehouse": self.warehouse, "delivery": DeliveryResource()},
        ) as context:
            result = alert_on_failed_checks(context)
        self.cursor = result.cursor
        return result.skip_reason.skip_message


def by_key(db) -> dict[str, object]:
    return {i.dedup_key: i for i in list_incidents(db)}


def test_a_blocking_failure_raises_one_incident_per_night_and_a_pass_resolves_it(instance, warehouse, db):
    sensor = Sensor(instance, warehouse)
    night(instance, "2026-11-28", MONEY, ANOMALY)
    sensor.tick()
    [incident] = list_incidents(db)  # the warning raises nothing; guard_tripped watches another check
    assert (incident.rule_key, incident.dedup_key, incident.status, incident.occurrences) == (
        "figures_failed",
        "figures_failed:check:tiny_nightly_figures:tiny_money_non_negative:2026-11-28",
        "triggered",
        1,
    )
    assert incident.title == (
        "tiny_nightly_figures 2026-11-28 failed its blocking check tiny_money_non_negative: "
        "2026-11-28: 3 rows with negative money"
    )

    # The next tick reads only runs finished since: the same result is not counted again.
    assert sensor.tick().startswith("0 run(s) finished")
    assert list_incidents(db)[0].occurrences == 1

    night(instance, "2026-11-29", MONEY)
    sensor.tick()
    assert sorted(by_key(db)) == [
        "figures_failed:check:tiny_nightly_figures:tiny_money_non_negative:2026-11-28",
        "figures_failed:check:tiny_nightly_figures:tiny_money_non_negative:2026-11-29",
    ]

    night(instance, "2026-11-28")  # put right
    assert "resolved" in sensor.tick()
    found = by_key(db)
    put_right = found["figures_failed:check:tiny_nightly_figures:tiny_money_non_negative:2026-11-28"]
    assert (put_right.status, put_right.resolved_by, put_right.resolved_via) == (
        "resolved",
        RESOLVED_BY,
        CHECK_PASSED,
    )
    still = found["figures_failed:check:tiny_nightly_figures:tiny_money_non_negative:2026-11-29"]
    assert still.status == "triggered"

    # Failing again later is a new incident: the first stays resolved.
    night(instance, "2026-11-28", MONEY)
    sensor.tick()
    again = [i for i in list_incidents(db) if i.dedup_key.endswith("2026-11-28")]
    assert sorted(i.status for i in again) == ["resolved", "triggered"]


def test_an_unpartitioned_asset_and_a_rule_narrowed_to_its_check(instance, warehouse, db):
    sensor = Sensor(instance, warehouse)
    venues(instance, GUARD)
    night(instance, "2026-11-28")
    sensor.tick()
    found = by_key(db)
    assert sorted(found) == [
        "figures_failed:check:tiny_venues:tiny_load_guard",
        "guard_tripped:check:tiny_venues:tiny_load_guard",
    ]
    assert found["guard_tripped:check:tiny_venues:tiny_load_guard"].title == (
        "tiny_venues failed its blocking check tiny_load_guard: venues was empty where it had 2 rows"
    )
    assert found["guard_tripped:check:tiny_venues:tiny_load_guard"].severity == "critical"

    venues(instance)
    sensor.tick()
    assert {i.status for i in list_incidents(db)} == {"resolved"}


def test_a_failure_put_right_before_the_sensor_looked_raises_nothing(instance, warehouse, db):
    night(instance, "2026-11-28", MONEY)
    night(instance, "2026-11-28")
    assert Sensor(instance, warehouse).tick().startswith("2 run(s) finished, 2 check result(s)")
    assert list_incidents(db) == []


def test_a_report_with_nothing_to_send_in_its_place_says_so():
    outcome = CheckOutcome(
        asset="subscription_reports",
        check="report_rendered",
        partition="sub-owner-daily",
        passed=False,
        blocking=True,
        description="Daily Summary for Saturday 21 November 2026 could not be rendered: ...",
        metadata={
            "recipient": "Sam Okafor",
            "template": "Daily Summary",
            "period": "Saturday 21 November 2026",
        },
        job_name="__ASSET_JOB",
        run_id="r1",
    )
    assert check_title(outcome) == (
        "Subscription sub-owner-daily (Sam Okafor): the Daily Summary for Saturday 21 November 2026 "
        "failed to render; there was no earlier report to send in its place."
    )


def test_the_shipped_rules_name_checks_the_code_location_has():
    # Stripe's connector joins the code location only when configured; its check counts.
    declared = {key.name for key in defs.resolve_asset_graph().asset_check_keys} | {
        key.name for key in payment_reconciliation_asset.check_keys
    }
    rules = parse_rules("report_layouts/alerts/rules.yaml").of_kind("check_failed")
    named = {name for rule in rules for name in rule.thresholds.get("checks", ())}
    assert named and named <= declared, sorted(named - declared)
    assert "report_rendered" in named
    assert "matches_stripe" in named


WARNING_RULES = (
    RULES
    + """\
  - key: anomaly_seen
    kind: check_failed
    checks: [tiny_revenue_anomaly]
    warnings: true
    severity: info
    channels: [email]
    escalation: working_hours
"""
)


@pytest.mark.parametrize("rules_text", [WARNING_RULES])
def test_a_rule_hearing_of_warnings_raises_for_its_check_and_resolves_when_it_passes(instance, warehouse, db):
    sensor = Sensor(instance, warehouse)
    night(instance, "2026-11-28", ANOMALY)
    sensor.tick()
    # Only the rule that names the check and asks for warnings hears of one.
    [incident] = list_incidents(db)
    assert (incident.rule_key, incident.dedup_key, incident.severity) == (
        "anomaly_seen",
        "anomaly_seen:check:tiny_nightly_figures:tiny_revenue_anomaly:2026-11-28",
        "info",
    )
    assert incident.title == (
        "tiny_nightly_figures 2026-11-28 failed its check tiny_revenue_anomaly: "
        "2026-11-28: 1 venue with anomalous revenue"
    )
    night(instance, "2026-11-28")
    sensor.tick()
    assert [(i.status, i.resolved_via) for i in list_incidents(db)] == [("resolved", CHECK_PASSED)]
