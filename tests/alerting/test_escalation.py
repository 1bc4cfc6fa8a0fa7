"""An escalation's steps and when each is due, worked out by hand from the policy's minutes."""

import datetime as dt
from zoneinfo import ZoneInfo

from backroom_reporting.alerting.escalation import due, steps
from backroom_reporting.alerting.on_call import Policy

LONDON = ZoneInfo("Europe/London")
OPENED = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
ON_CALL = Policy("on_call", 15 * MIN, 15 * MIN, 30 * MIN, 2, None)


def test_level_one_then_texts_to_on_call_and_manager_in_rounds():
    planned = steps(ON_CALL, ("slack", "email"), OPENED, LONDON)
    # Round r texts on call at 15 + 45r minutes and the manager 15 minutes later.
    assert [(s.key, (s.due_at - OPENED) // MIN, s.whom, s.channels) for s in planned] == [
        ("1", 0, "on_call", ("slack", "email")),
        ("2.0", 15, "on_call", ("sms",)),
        ("3.0", 30, "venue_manager", ("sms",)),
        ("2.1", 60, "on_call", ("sms",)),
        ("3.1", 75, "venue_manager", ("sms",)),
        ("2.2", 105, "on_call", ("sms",)),
        ("3.2", 120, "venue_manager", ("sms",)),
    ]


def test_what_is_due_skips_what_was_taken_and_a_round_missed_whole():
    planned = steps(ON_CALL, ("slack",), OPENED, LONDON)
    assert [s.key for s in due(planned, set(), OPENED)] == ["1"]
    assert due(planned, {"1"}, OPENED + 14 * MIN) == []
    assert [s.key for s in due(planned, {"1"}, OPENED + 15 * MIN)] == ["2.0"]
    # The sensors were down from minute 10 to 65: only the latest text of each level goes.
    assert [s.key for s in due(planned, {"1"}, OPENED + 65 * MIN)] == ["3.0", "2.1"]
    # ... and the skipped 2.0 is not sent later.
    assert [s.key for s in due(planned, {"1", "3.0", "2.1"}, OPENED + 70 * MIN)] == []
    assert [s.key for s in due(planned, {"1", "3.0", "2.1"}, OPENED + 75 * MIN)] == ["3.1"]


def test_a_policy_without_texts_has_level_one_only():
    planned = steps(Policy("none", None, None, None, 0, None), ("email",), OPENED, LONDON)
    assert [s.key for s in planned] == ["1"]


def test_texts_outside_working_hours_wait_for_them_to_open():
    hours = (dt.time(10), dt.time(18))
    policy = Policy("working_hours", 60 * MIN, 60 * MIN, None, 0, hours)
    # Opened at 02:00 UTC on a winter night (02:00 local): texts wait for 10:00 local.
    planned = {s.key: s.due_at for s in steps(policy, ("email",), OPENED, LONDON)}
    assert planned["1"] == OPENED
    assert planned["2.0"] == planned["3.0"] == dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
    # In summer 10:00 local is 09:00 UTC; opened 16:30 BST, the manager's text (18:30) waits a day.
    summer = dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)
    planned = {s.key: s.due_at for s in steps(policy, ("email",), summer, LONDON)}
    assert planned["2.0"] == summer + 60 * MIN
    assert planned["3.0"] == dt.datetime(2026, 7, 2, 9, 0, tzinfo=dt.UTC)
