"""When reports go out: the deliveries_due sensor over simulated nights.

A subscription is due when its next_delivery_at has come; the run it asks for reports the
period complete at the latest time its cron fired, once that period's nights are final.
The world's nights end on Sunday 22 November 2026 (London is on GMT then, so UTC = wall clock).
"""

import dataclasses
import datetime as dt

import dagster as dg

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.sensors.deliveries import deliveries_due, due_requests
from backroom_reporting.subscriptions import consent, service
from tests.reports.test_report_assets import LAYOUTS

SUNDAY_2200 = dt.datetime(2026, 11, 22, 22, tzinfo=dt.UTC)


def due_at(venue, subscription_id: str, when: dt.datetime) -> None:
    subscription = service.get_subscription(venue.db, subscription_id)
    service.store(venue.db, subscriptions=[dataclasses.replace(subscription, next_delivery_at=when)])


def requests_at(venue, now: dt.datetime):
    return due_requests(venue.db, load_layouts(LAYOUTS), now)


def only_daily_due(venue, when: dt.datetime) -> None:
    """Every demo subscription far in the future but the owner's daily one, due at `when`."""
    for s in service.list_subscriptions(venue.db):
        due_at(venue, s.subscription_id, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    due_at(venue, "sub-owner-daily", when)


def test_a_subscription_whose_time_has_come_gets_its_report_and_delivery(venue):
    only_daily_due(venue, SUNDAY_2200)
    requests, waiting = requests_at(venue, SUNDAY_2200 + dt.timedelta(minutes=1))
    assert waiting == []
    [request] = requests
    assert request.partition_key == "sub-owner-daily"
    assert request.run_key == f"sub-owner-daily:{SUNDAY_2200.isoformat()}"
    assert request.tags[AS_OF_TAG] == SUNDAY_2200.isoformat()
    assert request.asset_selection is None  # the sensor's target: the report and its delivery
    # A minute early, nothing is due.
    assert requests_at(venue, SUNDAY_2200 - dt.timedelta(minutes=1)) == ([], [])


def test_a_second_tick_asks_for_the_same_run_which_dagster_does_not_start_twice(venue):
    only_daily_due(venue, SUNDAY_2200)
    first, _ = requests_at(venue, SUNDAY_2200 + dt.timedelta(minutes=1))
    second, _ = requests_at(venue, SUNDAY_2200 + dt.timedelta(minutes=2))
    assert [r.run_key for r in first] == [r.run_key for r in second]


def test_paused_subscriptions_send_nothing(venue):
    only_daily_due(venue, SUNDAY_2200)
    service.pause(venue.db, "sub-owner-daily")
    assert requests_at(venue, SUNDAY_2200 + dt.timedelta(hours=1)) == ([], [])


def test_a_subscription_resumed_after_weeks_gets_the_latest_period_not_a_backlog(venue):
    # Due since 1 November and never sent: at 22:30 on the 22nd only the latest tick is asked for.
    only_daily_due(venue, dt.datetime(2026, 11, 1, 22, tzinfo=dt.UTC))
    requests, _ = requests_at(venue, SUNDAY_2200 + dt.timedelta(minutes=30))
    assert [r.run_key for r in requests] == [f"sub-owner-daily:{SUNDAY_2200.isoformat()}"]


def test_a_report_whose_nights_are_not_final_waits_and_says_why(venue):
    # At 22:00 on Friday 27 November the report is of Thursday night, which the world never loaded.
    friday = dt.datetime(2026, 11, 27, 22, tzinfo=dt.UTC)
    only_daily_due(venue, friday)
    requests, waiting = requests_at(venue, friday + dt.timedelta(minutes=5))
    assert requests == []
    [reason] = waiting
    assert reason.startswith("sub-owner-daily waits: ")
    assert "Thursday 26 November 2026 are not ready" in reason


def test_the_cron_is_read_on_the_recipients_clock(venue):
    # A recipient in New York with the template's 22:00: due at 22:00 Eastern, 03:00 UTC.
    owner = service.get_recipient(venue.db, "rcp-owner")
    service.store(venue.db, recipients=[dataclasses.replace(owner, timezone="America/New_York")])
    subscription = service.get_subscription(venue.db, "sub-owner-daily")
    layout = load_layouts(LAYOUTS)["daily_summary"]
    cron, timezone = subscription.delivery_schedule(layout, service.get_recipient(venue.db, "rcp-owner"))
    assert (cron, timezone) == ("0 22 * * *", "America/New_York")
    after = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
    assert service.next_delivery(cron, timezone, after) == dt.datetime(2026, 11, 23, 3, tzinfo=dt.UTC)


def test_the_sensor_skips_with_a_reason_when_nothing_is_due(venue):
    for s in service.list_subscriptions(venue.db):
        due_at(venue, s.subscription_id, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    with dg.build_sensor_context(instance=venue.instance, resources=venue.resources) as context:
        result = deliveries_due(context)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "no subscription is due"


def test_a_held_delivery_goes_once_the_address_is_verified(venue):
    # The manager's address is new: the Saturday report is held, and a verification mail sent.
    manager = service.get_recipient(venue.db, "rcp-manager")
    service.store(venue.db, recipients=[dataclasses.replace(manager, email_verified=False)])
    only_daily_due(venue, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    venue.deliver("sub-manager-daily")
    requests, _ = requests_at(venue, SUNDAY_2200)
    assert requests == []
    consent.verify_email(venue.db, "rcp-manager", manager.email, SUNDAY_2200)
    [request] = requests_at(venue, SUNDAY_2200)[0]
    assert request.partition_key == "sub-manager-daily"
    assert request.tags[REPORT_DAY_TAG] == "2026-11-21"
    assert request.asset_selection == [
        dg.AssetKey("report_deliveries"),
        dg.AssetKey("report_delivery_history"),
    ]
