"""The on-call file: who is on call when (hand-overs on the wall clock, across the clocks
changing), overrides, the staff table's managers by default, and mistakes named plainly."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from backroom_reporting.alerting.on_call import OnCallError, parse_on_call
from backroom_reporting.warehouse.tables.raw import RAW
from tests.alerting import ON_CALL, write_on_call

LONDON = ZoneInfo("Europe/London")


def local(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=LONDON)


@pytest.fixture
def on_call(tmp_path):
    return parse_on_call(write_on_call(tmp_path))


def who(roster, moment: dt.datetime) -> str:
    return roster.on_call_at(moment).name


def test_the_turn_passes_at_the_hand_over_each_week(on_call):
    roster = on_call.roster(db=None)  # the file names its people: no staff table needed
    assert who(roster, local(2026, 11, 23, 10, 0)) == "Sam Okafor"
    assert who(roster, local(2026, 11, 30, 9, 59)) == "Sam Okafor"
    assert who(roster, local(2026, 11, 30, 10, 0)) == "Alex Reid"
    assert who(roster, local(2026, 12, 7, 10, 0)) == "Sam Okafor"
    assert who(roster, local(2026, 11, 23, 9, 59)) == "Alex Reid"  # the week before the rota began
    assert roster.venue_manager().name == "Alex Reid"


def test_the_hand_over_stays_at_ten_on_the_wall_clock_across_the_clocks_changing(tmp_path):
    # 2026-10-25: the clocks go back; the Monday after, the hand-over is still 10:00 local (10:00 UTC).
    text = ON_CALL.replace("starting: 2026-11-23", "starting: 2026-10-19")
    roster = parse_on_call(write_on_call(tmp_path, text)).roster(db=None)
    assert who(roster, local(2026, 10, 26, 9, 59)) == "Sam Okafor"
    assert who(roster, dt.datetime(2026, 10, 26, 10, 0, tzinfo=dt.UTC)) == "Alex Reid"
    # 2026-03-29: the clocks go forward; 10:00 BST is 09:00 UTC.
    text = ON_CALL.replace("starting: 2026-11-23", "starting: 2026-03-23")
    roster = parse_on_call(write_on_call(tmp_path, text)).roster(db=None)
    assert who(roster, dt.datetime(2026, 3, 30, 8, 59, tzinfo=dt.UTC)) == "Sam Okafor"
    assert who(roster, dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC)) == "Alex Reid"


def test_an_override_takes_the_turn_for_its_hours(tmp_path):
    text = ON_CALL.replace(
        "  starting: 2026-11-23\n",
        "  starting: 2026-11-23\n  overrides:\n"
        "    - {name: Alex Reid, from: 2026-11-24 18:00, until: 2026-11-25 10:00}\n",
    )
    roster = parse_on_call(write_on_call(tmp_path, text)).roster(db=None)
    assert who(roster, local(2026, 11, 24, 17, 59)) == "Sam Okafor"
    assert who(roster, local(2026, 11, 24, 18, 0)) == "Alex Reid"
    assert who(roster, local(2026, 11, 25, 10, 0)) == "Sam Okafor"


def test_phones_are_kept_in_e164_and_found_by_an_sms_reply(on_call):
    roster = on_call.roster(db=None)
    assert roster.person("Sam Okafor").phone == "+447700900111"
    assert roster.by_phone("+447700900111").name == "Sam Okafor"
    assert roster.by_phone("07700 900222").name == "Alex Reid"
    assert roster.by_phone("+447700900999") is None


def test_without_people_the_staff_tables_active_managers_are_the_rota(databases, tmp_path):
    text = (
        ON_CALL.split("people:")[0]
        + "rota:"
        + ON_CALL.split("rota:")[1].replace("venue_manager: Alex Reid\n", "")
    )
    on_call = parse_on_call(write_on_call(tmp_path, text))
    staff = RAW["staff"]
    rows = [
        ("s3", "Priya Shah", "manager", "07700 900333", True),
        ("s1", "Tom Hart", "bar", "07700 900444", True),
        ("s2", "Jo Lee", "manager", "07700 900555", True),
        ("s4", "Old Manager", "manager", "07700 900666", False),
    ]
    with databases.warehouse as db:
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(staff),
                [
                    {
                        "staff_id": i,
                        "venue_id": "v1",
                        "name": n,
                        "role": r,
                        "email": f"{i}@x.example",
                        "phone": p,
                        "active": a,
                    }
                    for i, n, r, p, a in rows
                ],
            )
        roster = on_call.roster(db)
    assert [p.name for p in roster.people] == ["Jo Lee", "Priya Shah"]
    assert roster.people[0].phone == "+447700900555"
    assert roster.venue_manager().name == "Jo Lee"
    assert who(roster, local(2026, 11, 23, 10, 0)) == "Jo Lee"
    assert who(roster, local(2026, 11, 30, 10, 0)) == "Priya Shah"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("hand_over: monday 10:00", "hand_over: mondays 10:00"),
            "rota.hand_over: 'mondays 10:00' does not start with a day of the week",
        ),
        (
            ("starting: 2026-11-23", "starting: 2026-11-24"),
            "rota.starting: 2026-11-24 is a tuesday, not a monday",
        ),
        (
            ("venue_manager: Alex Reid", "venue_manager: Alex"),
            "venue_manager: 'Alex' is not one of the people",
        ),
        (('phone: "+447700900222"', 'phone: "12"'), "people[2].phone: '12' is not a phone number in use"),
        (("  none: {}\n", ""), "escalation: the rules' policies need timings here: none"),
        (('hours: "10:00-18:00"', 'hours: "18:00-10:00"'), "does not close after it opens"),
        (("repeats: 2}", "repeats: 2, repeat_every: null}"), "a policy that repeats needs repeat_every"),
    ],
)
def test_mistakes_name_the_field(tmp_path, change, message):
    path = write_on_call(tmp_path, ON_CALL.replace(*change))
    with pytest.raises(OnCallError) as refused:
        parse_on_call(path)
    assert message in str(refused.value)
    assert str(path) in str(refused.value)


def test_the_shipped_on_call_file_is_valid():
    on_call = parse_on_call("report_layouts/alerts/on_call.yaml")
    assert set(on_call.policies) == {"on_call", "working_hours", "none"}
