"""One subscription broken among many due at the same time fails alone: the others are
rendered and delivered in the same run, the broken one is recorded failed in its history,
its partition alone reads failed in Dagster, and on call is told whose report it was."""

import dataclasses

import dagster as dg
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.delivery import ledger
from backroom_reporting.partitions import subscriptions
from backroom_reporting.sensors.figure_alerts import alert_on_failed_checks
from backroom_reporting.subscriptions import service
from tests.alerting import write_rules
from tests.reports.volume import SUNDAY_2200, due_copies, history, launch, materialised, sensor_tick

GOOD = {f"sub-fine-{i}": "sub-owner-daily" for i in range(3)}
BROKEN = "sub-fine-9"  # sorts last: the broken one is rendered after the others
RULES = """\
rules:
  - key: report_failed
    kind: check_failed
    checks: [report_rendered]
    severity: warning
    channels: [email]
    escalation: none
"""


def failed_partitions(instance, asset: str) -> set[str]:
    value = get_and_update_asset_status_cache_value(instance, dg.AssetKey(asset), subscriptions)
    return set(value.deserialize_failed_partition_subsets(subscriptions).get_partition_keys())


def test_a_broken_subscription_fails_alone_and_is_recorded_and_alerted(venue, tmp_path, monkeypatch):
    due_copies(venue, {**GOOD, BROKEN: "sub-owner-daily"})
    broken = service.get_subscription(venue.db, BROKEN)
    # A filter naming no venue (a misspelt key): the builder cannot tell whose report it is.
    service.store(venue.db, subscriptions=[dataclasses.replace(broken, filters={"venue": "backroom-leeds"})])
    [request] = sensor_tick(venue, SUNDAY_2200)[0]

    result = launch(venue, request)

    assert not result.success  # the run says something went wrong ...
    failure = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failure] == ["report_deliveries"]
    assert BROKEN in failure[0].event_specific_data.error.message
    # ... and only the broken subscription's partitions read failed.
    assert materialised(venue, "subscription_reports") == set(GOOD)
    assert materialised(venue, "report_deliveries") == set(GOOD)
    assert failed_partitions(venue.instance, "subscription_reports") == {BROKEN}
    assert failed_partitions(venue.instance, "report_deliveries") == {BROKEN}
    rows = history(venue, [*GOOD, BROKEN])
    assert {s: rows[s]["status"] for s in GOOD} == dict.fromkeys(GOOD, "succeeded")
    assert rows[BROKEN]["status"] == "failed" and "venue_id" in rows[BROKEN]["error"]
    for subscription_id in GOOD:
        sent = ledger.of_subscription(venue.db, subscription_id)
        assert sent and {d.status for d in sent} <= {"sent", "delivered"}
    assert ledger.of_subscription(venue.db, BROKEN) == []
    assert len(list(venue.outbox.glob("*.eml"))) == len(GOOD)

    # On call hears of the broken one, by name, and of no other.
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path / "alerts", RULES)))
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "alert-outbox"))
    with dg.build_sensor_context(instance=venue.instance, resources=venue.resources) as context:
        alert_on_failed_checks(context)
    [incident] = list_incidents(venue.db)
    assert incident.dedup_key == f"report_failed:check:subscription_reports:report_rendered:{BROKEN}"
    assert incident.title.startswith(f"Subscription {BROKEN} (Morgan Ashby): the Daily Summary for ")
    assert "there was no earlier report to send in its place" in incident.title
