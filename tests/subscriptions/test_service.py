"""Recipients and subscriptions: every refusal says why, schedules follow the London clock."""

import base64
import dataclasses
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from backroom_reporting.subscriptions import service
from backroom_reporting.subscriptions.demo import load_demo_subscriptions
from backroom_reporting.subscriptions.service import SubscriptionError, next_delivery
from backroom_reporting.warehouse.tables.subscriptions import report_recipients, report_subscriptions
from tests.subscriptions import (
    DAILY_CRON,
    LEEDS,
    WEEKLY_CRON,
    set_venues,
    write_group_layouts,
    write_layouts,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday, the day before the clocks go forward
LONDON = "Europe/London"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return write_layouts(tmp_path_factory.mktemp("layouts"))


@pytest.fixture(scope="module")
def templates(layouts):
    return service.load_templates(layouts)


@pytest.fixture(scope="module")
def group_layouts(tmp_path_factory):
    return write_group_layouts(tmp_path_factory.mktemp("group_layouts"))


YORK = {"backroom-york": "The Backroom York"}


@pytest.fixture
def warehouse(databases):
    db = databases.warehouse
    set_venues(db, LEEDS)
    yield db
    db.close()


def jo(**changes) -> service.Recipient:
    """A general manager reachable by email, SMS and the dashboard."""
    details = dict(
        recipient_id="rcp-jo",
        email="jo@example.com",
        phone="07700 900123",
        channels=["email"],
        email_consent=True,
        sms_consent=True,
        now=NOW,
    )
    return service.new_recipient("Jo Bloggs", "manager", **(details | changes))


# --- schedules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # 22:00 GMT is 22:00 UTC until the clocks go forward at 01:00 UTC on Sunday 29 March...
        (at(2026, 3, 28, 12), at(2026, 3, 28, 22)),
        # ...and 22:00 BST is 21:00 UTC from that Sunday evening on.
        (at(2026, 3, 28, 22), at(2026, 3, 29, 21)),
        (at(2026, 3, 29, 21, 30), at(2026, 3, 30, 21)),
        # 22:00 BST is 21:00 UTC until the clocks go back at 01:00 UTC on Sunday 25 October...
        (at(2026, 10, 24, 12), at(2026, 10, 24, 21)),
        # ...and 22:00 GMT is 22:00 UTC again that Sunday evening.
        (at(2026, 10, 24, 21), at(2026, 10, 25, 22)),
        (at(2026, 10, 25, 21, 30), at(2026, 10, 25, 22)),
    ],
)
def test_a_daily_10pm_report_follows_the_london_clock_across_both_clock_changes(after, expected):
    assert next_delivery(DAILY_CRON, LONDON, after) == expected


def test_monday_9am_is_9_utc_in_winter_and_8_utc_in_summer():
    assert next_delivery(WEEKLY_CRON, LONDON, at(2026, 3, 28)) == at(2026, 3, 30, 8)
    assert next_delivery(WEEKLY_CRON, LONDON, at(2026, 10, 24)) == at(2026, 10, 26, 9)


def test_a_skipped_time_fires_after_the_jump_and_a_repeated_time_fires_once():
    # 01:30 does not exist on 29 March: it fires at 02:30 BST (01:30 UTC), even when asked
    # just after the jump.
    assert next_delivery("30 1 * * *", LONDON, at(2026, 3, 29, 0)) == at(2026, 3, 29, 1, 30)
    assert next_delivery("30 1 * * *", LONDON, at(2026, 3, 29, 1, 10)) == at(2026, 3, 29, 1, 30)
    # 01:30 happens twice on 25 October: first at 01:30 BST (00:30 UTC), and only then.
    assert next_delivery("30 1 * * *", LONDON, at(2026, 10, 24, 23)) == at(2026, 10, 25, 0, 30)
    assert next_delivery("30 1 * * *", LONDON, at(2026, 10, 25, 0, 30)) == at(2026, 10, 26, 1, 30)


def test_next_delivery_is_strictly_after_and_in_utc():
    assert next_delivery(DAILY_CRON, LONDON, at(2026, 1, 5, 22)) == at(2026, 1, 6, 22)
    local = dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert next_delivery(DAILY_CRON, LONDON, local).tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        next_delivery(DAILY_CRON, LONDON, dt.datetime(2026, 7, 1))


# --- checks that need no warehouse ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(role="bouncer"), "unknown role 'bouncer'; known: owner, manager, events, finance"),
        (dict(name="  "), "a recipient needs a name"),
        (dict(name="Jo\nBloggs"), "a recipient's name is one line of text, without control characters"),
        (dict(name="Jo\x00Bloggs"), "without control characters"),
        (dict(name="J" * 10_000), "a recipient's name has at most 100 characters, not 10,000"),
        (dict(email="jo.example.com"), "'jo.example.com' is not an email address"),
        (dict(phone="call me"), "'call me' is not a phone number"),
        (dict(formats=["pdf", "docx"]), "unknown format 'docx'; known: pdf, html, xlsx, csv"),
        (
            dict(channels=["email", "fax"]),
            "unknown channel 'fax'; known: email, sms, slack, webhook, dashboard, api",
        ),
        (dict(timezone="Leeds/Headingley"), "timezone 'Leeds/Headingley' is not an IANA timezone name"),
        (dict(email=None), "Jo Bloggs has no email address, which the email channel needs"),
        (dict(email_consent=False), "Jo Bloggs has not consented to reports by email"),
        (dict(channels=["sms"], phone=None), "Jo Bloggs has no phone number, which the sms channel needs"),
        (dict(channels=["sms"], sms_consent=False), "Jo Bloggs has not consented to messages by SMS"),
        (dict(recipient_id="Jo Bloggs"), "recipient id 'Jo Bloggs' must be lower-case letters"),
    ],
)
def test_a_recipient_is_refused_with_the_reason(changes, message):
    changes = dict(changes)
    name, role = changes.pop("name", "Jo Bloggs"), changes.pop("role", "manager")
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        service.new_recipient(
            name,
            role,
            **(
                dict(
                    email="jo@example.com",
                    phone="07700 900123",
                    channels=["email"],
                    email_consent=True,
                    sms_consent=True,
                )
                | changes
            ),
        )


def test_a_name_is_tidied_to_one_line_and_an_address_to_lower_case():
    recipient = service.new_recipient(
        "  Jo   Bloggs ", "manager", email="Jo.Bloggs@Example.COM", email_consent=True
    )
    assert (recipient.name, recipient.email) == ("Jo Bloggs", "jo.bloggs@example.com")
    # Names in any script, with accents and emoji, are names.
    assert service.new_recipient("Zoë שָׁלוֹם 🎉", "owner", channels=["dashboard"]).name == "Zoë שָׁלוֹם 🎉"


def test_a_new_recipient_gets_pdf_by_email_an_id_and_a_consent_time():
    recipient = service.new_recipient(
        "Sam Lee", "finance", email="sam@example.com", email_consent=True, now=NOW
    )
    assert re.fullmatch(r"rcp-[0-9a-f]{8}", recipient.recipient_id)
    assert (recipient.preferred_formats, recipient.preferred_channels) == (("pdf",), ("email",))
    assert (recipient.timezone, recipient.consent_recorded_at, recipient.created_at) == (LONDON, NOW, NOW)
    assert not recipient.email_verified and not recipient.suppressed
    no_consent = service.new_recipient("Ali", "events", channels=["dashboard"], now=NOW)
    assert no_consent.email is None and no_consent.consent_recorded_at is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            dict(template_key="monthly_summary"),
            "unknown template 'monthly_summary'; known: daily_summary, weekly_summary",
        ),
        (dict(cron="0 25 * * *"), "cron '0 25 * * *' is not a valid cron expression"),
        (dict(cron="0 0 22 * * *"), "cron '0 0 22 * * *' has 6 fields; a cron has 5: minute hour"),
        (dict(cron="0 9 30 2 *"), "cron '0 9 30 2 *' never fires"),
        (dict(timezone="Europe/Leeds"), "timezone 'Europe/Leeds' is not an IANA timezone name"),
        (
            dict(venue_id="backroom-york"),
            "unknown venue 'backroom-york'; known: backroom-leeds (The Backroom Leeds)",
        ),
        (dict(brand="FOAM PARTY"), "unknown brand 'FOAM PARTY'; known: LA FIESTA, SHHH!, NOSTALGIA, PRIVATE"),
        (dict(formats=["docx"]), "unknown format 'docx'; known: pdf, html, xlsx, csv"),
        (dict(channels=["pigeon"]), "unknown channel 'pigeon'; known: email, sms, slack, webhook"),
        (dict(subscription_id="sub_1"), "subscription id 'sub_1' must be lower-case letters"),
    ],
)
def test_a_subscription_is_refused_with_the_reason(templates, changes, message):
    details = dict(template_key="daily_summary", templates=templates, known_venues=LEEDS, now=NOW) | changes
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        service.new_subscription(jo(), **details)


@pytest.mark.parametrize(
    ("recipient", "channel", "message"),
    [
        (jo(email=None, channels=["dashboard"]), "email", "Jo Bloggs has no email address"),
        (
            jo(email_consent=False, channels=["dashboard"]),
            "email",
            "Jo Bloggs has not consented to reports by email",
        ),
        (jo(phone=None), "sms", "Jo Bloggs has no phone number, which the sms channel needs"),
        (jo(sms_consent=False), "sms", "Jo Bloggs has not consented to messages by SMS"),
    ],
)
def test_a_channel_needs_the_address_and_the_consent(templates, recipient, channel, message):
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        service.new_subscription(
            recipient, "daily_summary", templates=templates, known_venues=LEEDS, channels=[channel], now=NOW
        )


def test_venues_one_is_chosen_for_you_several_need_a_choice_none_is_refused(templates):
    def venue(known, venue_id=None) -> str:
        return service.new_subscription(
            jo(), "daily_summary", templates=templates, known_venues=known, venue_id=venue_id, now=NOW
        ).venue_id

    assert venue(LEEDS) == "backroom-leeds"
    two = LEEDS | {"backroom-york": "The Backroom York"}
    assert venue(two, "backroom-york") == "backroom-york"
    message = "choose a venue: backroom-leeds (The Backroom Leeds), backroom-york (The Backroom York)"
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        venue(two)
    with pytest.raises(SubscriptionError, match="the warehouse holds no venues yet"):
        venue({})


def test_a_group_subscription_covers_every_venue_through_a_group_layout(group_layouts):
    templates = service.load_templates(group_layouts)
    group = service.new_subscription(
        jo(), "group_daily_summary", templates=templates, known_venues=LEEDS | YORK, group=True, now=NOW
    )
    assert group.filters == {"scope": "group"}
    assert (group.group, group.venue_id, group.next_delivery_at) == (True, None, at(2026, 3, 28, 22))
    one = service.new_subscription(
        jo(),
        "daily_summary",
        templates=templates,
        known_venues=LEEDS | YORK,
        venue_id="backroom-york",
        now=NOW,
    )
    assert (one.group, one.filters) == (False, {"venue_id": "backroom-york"})


@pytest.mark.parametrize(
    ("template", "changes", "message"),
    [
        (
            "daily_summary",
            dict(group=True),
            "daily_summary is one venue's report; for every venue side by side choose "
            "group_daily_summary, group_weekly_summary",
        ),
        (
            "group_weekly_summary",
            dict(venue_id="backroom-york"),
            "group_weekly_summary shows every venue side by side: subscribe to it as a group report, "
            "without a venue (backroom subscriptions add --group)",
        ),
        (
            "group_weekly_summary",
            {},
            "group_weekly_summary shows every venue side by side: subscribe to it as a group report",
        ),
        (
            "group_daily_summary",
            dict(group=True, venue_id="backroom-york"),
            "a group report covers every venue: subscribe to the group or to venue 'backroom-york', not both",
        ),
        (
            "group_daily_summary",
            dict(group=True, brand="NOSTALGIA"),
            "a group report shows every venue's whole nights, so it takes no brand; "
            "a brand narrows one venue's report",
        ),
    ],
)
def test_a_group_subscription_is_refused_with_the_reason(group_layouts, template, changes, message):
    templates = service.load_templates(group_layouts)
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        service.new_subscription(
            jo(), template, templates=templates, known_venues=LEEDS | YORK, now=NOW, **changes
        )
    with pytest.raises(SubscriptionError, match="the warehouse holds no venues yet"):
        service.new_subscription(
            jo(), "group_daily_summary", templates=templates, known_venues={}, group=True, now=NOW
        )


def test_templates_come_from_the_configured_folder(monkeypatch, layouts, tmp_path):
    monkeypatch.setenv("BACKROOM_LAYOUTS_DIR", str(layouts))
    assert set(service.load_templates()) == {"daily_summary", "weekly_summary"}
    with pytest.raises(SubscriptionError, match="no report templates in"):
        service.load_templates(tmp_path)
    with pytest.raises(SubscriptionError, match="cannot read the report templates: no report layouts folder"):
        service.load_templates(tmp_path / "missing")


def test_schedule_and_formats_default_to_the_template_and_the_recipient(templates):
    default = service.new_subscription(
        jo(), "daily_summary", templates=templates, known_venues=LEEDS, now=NOW
    )
    assert (default.cron, default.timezone, default.formats, default.channels) == (
        None,
        None,
        None,
        ("email",),
    )
    assert default.delivery_schedule(templates["daily_summary"], jo()) == (DAILY_CRON, LONDON)
    assert default.next_delivery_at == at(2026, 3, 28, 22)
    # Without a timezone of its own, the template's 22:00 is on the recipient's clock:
    # New York is on EDT (UTC-4) from 8 March.
    abroad = jo(timezone="America/New_York")
    in_new_york = service.new_subscription(
        abroad, "daily_summary", templates=templates, known_venues=LEEDS, now=NOW
    )
    assert in_new_york.delivery_schedule(templates["daily_summary"], abroad) == (
        DAILY_CRON,
        "America/New_York",
    )
    assert in_new_york.next_delivery_at == at(2026, 3, 29, 2)
    own = service.new_subscription(
        jo(),
        "weekly_summary",
        templates=templates,
        known_venues=LEEDS,
        cron="30 7 * * 1",
        timezone="America/New_York",
        brand="NOSTALGIA",
        formats=["xlsx", "csv", "xlsx"],
        channels=["sms", "email"],
        now=NOW,
    )
    assert own.filters == {"venue_id": "backroom-leeds", "brand": "NOSTALGIA"}
    assert (own.formats, own.channels) == (("xlsx", "csv"), ("sms", "email"))
    # Monday 30 March 07:30 in New York (EDT, UTC-4).
    assert own.next_delivery_at == at(2026, 3, 30, 11, 30)


# --- the warehouse ----------------------------------------------------------------------------


def test_recipients_and_subscriptions_are_stored_and_listed(warehouse, layouts):
    jo_ = service.add_recipient(
        warehouse, "Jo Bloggs", "manager", email="jo@example.com", email_consent=True, now=NOW
    )
    sam = service.add_recipient(
        warehouse,
        "Sam Lee",
        "finance",
        recipient_id="rcp-sam",
        email="sam@example.com",
        formats=["xlsx"],
        channels=["email", "dashboard"],
        email_consent=True,
        now=NOW,
    )
    assert service.list_recipients(warehouse) == sorted([jo_, sam], key=lambda r: r.recipient_id)
    daily = service.add_subscription(
        warehouse, jo_.recipient_id, "daily_summary", layouts_dir=layouts, now=NOW
    )
    weekly = service.add_subscription(
        warehouse,
        "rcp-sam",
        "weekly_summary",
        layouts_dir=layouts,
        subscription_id="sub-sam-weekly",
        cron="30 7 * * 1",
        formats=["xlsx", "csv"],
        now=NOW,
    )
    assert re.fullmatch(r"sub-[0-9a-f]{8}", daily.subscription_id)
    assert daily.filters == {"venue_id": "backroom-leeds"}
    assert daily.next_delivery_at == at(2026, 3, 28, 22)
    assert weekly.channels == ("email", "dashboard")
    assert weekly.next_delivery_at == at(2026, 3, 30, 6, 30)  # 07:30 BST
    assert service.get_subscription(warehouse, daily.subscription_id) == daily
    assert service.get_subscription(warehouse, "sub-sam-weekly") == weekly
    assert service.list_subscriptions(warehouse, template_key="weekly_summary") == [weekly]
    assert service.list_subscriptions(warehouse, recipient_id=jo_.recipient_id) == [daily]
    assert len(service.active_subscriptions(warehouse)) == 2
    assert service.list_subscriptions(warehouse, paused=True) == []
    stored = (
        warehouse.read_table(report_subscriptions).filter(subscription_id="sub-sam-weekly").row(0, named=True)
    )
    assert (stored["filters"], stored["channels"], stored["formats"]) == (
        '{"venue_id": "backroom-leeds"}',
        '["email", "dashboard"]',
        '["xlsx", "csv"]',
    )


def test_references_are_checked_against_the_warehouse(warehouse, layouts):
    with pytest.raises(SubscriptionError, match=re.escape("unknown recipient 'rcp-nobody'; known: none yet")):
        service.add_subscription(warehouse, "rcp-nobody", "daily_summary", layouts_dir=layouts)
    service.add_recipient(
        warehouse, "Jo Bloggs", "manager", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
    )
    with pytest.raises(SubscriptionError, match=re.escape("unknown recipient 'rcp-nobody'; known: rcp-jo")):
        service.add_subscription(warehouse, "rcp-nobody", "daily_summary", layouts_dir=layouts)
    with pytest.raises(SubscriptionError, match="recipient rcp-jo already exists"):
        service.add_recipient(warehouse, "Jo Again", "owner", recipient_id="rcp-jo", channels=["dashboard"])
    # One address, one recipient, however it is capitalised.
    with pytest.raises(
        SubscriptionError, match=re.escape("jo@example.com is already the address of Jo Bloggs (rcp-jo)")
    ):
        service.add_recipient(warehouse, "Joanne", "owner", email=" JO@Example.com ", email_consent=True)
    with pytest.raises(
        SubscriptionError, match=re.escape("unknown venue 'backroom-york'; known: backroom-leeds")
    ):
        service.add_subscription(
            warehouse, "rcp-jo", "daily_summary", layouts_dir=layouts, venue_id="backroom-york"
        )
    service.add_subscription(
        warehouse, "rcp-jo", "daily_summary", layouts_dir=layouts, subscription_id="sub-jo"
    )
    with pytest.raises(SubscriptionError, match="subscription sub-jo already exists"):
        service.add_subscription(
            warehouse, "rcp-jo", "weekly_summary", layouts_dir=layouts, subscription_id="sub-jo"
        )
    set_venues(warehouse, LEEDS | {"backroom-york": "The Backroom York"})
    with pytest.raises(
        SubscriptionError, match=re.escape("choose a venue: backroom-leeds (The Backroom Leeds), ")
    ):
        service.add_subscription(warehouse, "rcp-jo", "weekly_summary", layouts_dir=layouts)
    for act in (service.get_subscription, service.pause, service.resume):
        with pytest.raises(
            SubscriptionError, match=re.escape("unknown subscription 'sub-nope'; known: sub-jo")
        ):
            act(warehouse, "sub-nope")


def test_pause_stops_deliveries_and_resume_recomputes_the_next_one(warehouse, layouts):
    service.add_recipient(
        warehouse, "Jo Bloggs", "manager", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
    )
    added = service.add_subscription(
        warehouse, "rcp-jo", "daily_summary", layouts_dir=layouts, subscription_id="sub-jo", now=NOW
    )
    with pytest.raises(
        SubscriptionError, match=re.escape("subscription sub-jo is already active (not paused)")
    ):
        service.resume(warehouse, "sub-jo", layouts_dir=layouts)
    paused_at = at(2026, 3, 28, 13)
    paused = service.pause(warehouse, "sub-jo", now=paused_at)
    assert (paused.paused, paused.next_delivery_at, paused.updated_at) == (True, None, paused_at)
    assert service.get_subscription(warehouse, "sub-jo") == paused
    assert service.active_subscriptions(warehouse) == []
    assert service.list_subscriptions(warehouse, paused=True) == [paused]
    with pytest.raises(SubscriptionError, match=re.escape("subscription sub-jo is already paused")):
        service.pause(warehouse, "sub-jo")
    # Resumed on the Monday after the clocks went forward: the next is 22:00 BST that night.
    resumed_at = at(2026, 3, 30, 9)
    resumed = service.resume(warehouse, "sub-jo", layouts_dir=layouts, now=resumed_at)
    assert (resumed.paused, resumed.next_delivery_at) == (False, at(2026, 3, 30, 21))
    assert resumed == dataclasses.replace(added, next_delivery_at=at(2026, 3, 30, 21), updated_at=resumed_at)
    assert service.get_subscription(warehouse, "sub-jo") == resumed


def test_the_demo_list_loads_idempotently_beside_other_subscriptions(warehouse, group_layouts):
    set_venues(warehouse, LEEDS | YORK)
    service.add_recipient(
        warehouse, "Jo Bloggs", "manager", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
    )
    service.add_subscription(
        warehouse,
        "rcp-jo",
        "daily_summary",
        venue_id="backroom-york",
        subscription_id="sub-jo",
        layouts_dir=group_layouts,
    )
    recipients, subscriptions = load_demo_subscriptions(warehouse, group_layouts, now=NOW)
    first = warehouse.read_table(report_recipients), warehouse.read_table(report_subscriptions)

    assert {r.recipient_id: r.role for r in recipients} == {
        "rcp-owner": "owner",
        "rcp-manager": "manager",
        "rcp-events": "events",
        "rcp-finance": "finance",
    }
    for r in recipients:
        assert r.email.endswith("@example.com") and re.fullmatch(r"\+447700900\d{3}", r.phone)
        assert r.email_consent and r.consent_recorded_at == NOW
    by_id = {s.subscription_id: s for s in subscriptions}
    assert {(s.recipient_id, s.template_key) for s in subscriptions} == {
        ("rcp-owner", "daily_summary"),
        ("rcp-owner", "weekly_summary"),
        ("rcp-manager", "daily_summary"),
        ("rcp-manager", "weekly_summary"),
        ("rcp-events", "weekly_summary"),
        ("rcp-finance", "daily_summary"),
        ("rcp-finance", "weekly_summary"),
        # With two venues: the group's reports for the owner...
        ("rcp-owner", "group_daily_summary"),
        ("rcp-owner", "group_weekly_summary"),
    }
    # ...and the manager's daily report of the other venue.
    assert len(subscriptions) == 10
    assert by_id["sub-manager-daily-backroom-york"].venue_id == "backroom-york"
    assert {k for k, s in by_id.items() if s.group} == {"sub-owner-group-daily", "sub-owner-group-weekly"}
    assert by_id["sub-owner-daily"].formats == ("pdf", "xlsx")
    assert by_id["sub-manager-daily"].formats == ("pdf", "html")
    assert by_id["sub-finance-daily"].formats == ("xlsx", "csv")
    assert by_id["sub-events-weekly"].brand == "NOSTALGIA"
    finance_weekly = by_id["sub-finance-weekly"]
    assert (finance_weekly.cron, finance_weekly.formats) == ("30 7 * * 1", ("xlsx", "csv", "pdf"))
    assert finance_weekly.next_delivery_at == at(2026, 3, 30, 6, 30)  # Monday 07:30 BST
    assert {s.venue_id for s in subscriptions} == {"backroom-leeds", "backroom-york", None}

    # Again, at the same moment: the very same rows.
    load_demo_subscriptions(warehouse, group_layouts, now=NOW)
    again = warehouse.read_table(report_recipients), warehouse.read_table(report_subscriptions)
    assert first[0].equals(again[0]) and first[1].equals(again[1])
    assert again[1].height == 11  # ten demo subscriptions and Jo's, untouched

    # Later, after a pause: the demo list is restored, keeping when each row was created.
    service.pause(warehouse, "sub-owner-daily")
    later = at(2026, 4, 2, 12)
    load_demo_subscriptions(warehouse, group_layouts, now=later)
    owner_daily = service.get_subscription(warehouse, "sub-owner-daily")
    assert not owner_daily.paused and owner_daily.created_at == NOW and owner_daily.updated_at == later
    assert owner_daily.next_delivery_at == at(2026, 4, 2, 21)
    assert service.get_recipient(warehouse, "rcp-owner").consent_recorded_at == NOW
    assert warehouse.scalar(sa.select(sa.func.count()).select_from(report_subscriptions)) == 11


def test_the_one_venue_demo_keeps_its_seven_subscriptions(warehouse, group_layouts):
    _, subscriptions = load_demo_subscriptions(warehouse, group_layouts, now=NOW)
    assert len(subscriptions) == 7
    assert {s.venue_id for s in subscriptions} == {"backroom-leeds"}


# --- delivery details -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("0113 496 0123", "+441134960123"),  # Ofcom's drama range for Leeds
        ("020 7946 0999", "+442079460999"),  # ... and for London
        ("+44 113 496 0123", "+441134960123"),
        ("+1 212-555-0123", "+12125550123"),  # abroad, by its country code
        ("0909 879 0000", None),  # Ofcom's premium-rate drama range: a valid number, but no phone
        ("07700 900123", "+447700900123"),  # Ofcom's mobile drama range: reserved, taken as a mobile
        ("07700 901123", None),  # next to it, not in use
        ("0113 496", None),
        ("call me", None),
    ],
)
def test_phone_numbers_are_stored_in_e164_or_refused(phone, e164):
    if e164 is None:
        with pytest.raises(SubscriptionError, match=re.escape(f"{phone!r} is not a phone number in use")):
            jo(phone=phone)
    else:
        assert jo(phone=phone).phone == e164


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("jo@localhost", "'jo@localhost' is not an email address"),
        ("jo@exa_mple.com", "'exa_mple.com' is not a domain name"),
        ("jo@-example.com", "'-example.com' is not a domain name"),
        ("jo@example..com", "'example..com' is not a domain name"),
    ],
)
def test_an_email_domain_needs_a_dot_and_legal_characters(email, message):
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        jo(email=email)
    assert jo(email="Jo@Bücher.Example").email == "jo@bücher.example"


@pytest.mark.parametrize("slack", ["C0BACKROOM1", "U12345678", "G0123456789A", "D0AB12CD3"])
def test_a_slack_channel_or_member_id_is_kept(slack):
    assert jo(slack_channel=slack, channels=["slack"]).slack_channel == slack


@pytest.mark.parametrize("slack", ["#events", "c0backroom1", "C0123", "X0BACKROOM1", "C0123456789AB"])
def test_anything_else_is_not_a_slack_id(slack):
    with pytest.raises(SubscriptionError, match=re.escape(f"{slack!r} is not a Slack channel or member id")):
        jo(slack_channel=slack)


def test_the_slack_channel_needs_a_slack_id(templates):
    message = "Jo Bloggs has no Slack channel or member id, which the slack channel needs"
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        jo(channels=["slack"])
    with pytest.raises(SubscriptionError, match=re.escape(message)):
        service.new_subscription(
            jo(), "daily_summary", templates=templates, known_venues=LEEDS, channels=["slack"], now=NOW
        )


def hooked(templates, url: str | None, channels=("webhook",)) -> service.Subscription:
    return service.new_subscription(
        jo(), "daily_summary", templates=templates, known_venues=LEEDS, channels=channels, webhook_url=url
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "give an https URL with a host"),
        ("https:///hook", "give an https URL with a host"),
        ("example.com/hook", "give an https URL with a host"),
        ("http://example.com/hook", "reports are only posted over https (http only to 127.0.0.1)"),
        ("https://user:pw@example.com/hook", "it holds a user name or password"),
        ("https://example.com/hook#top", "a fragment (#top) is never sent to the receiver"),
    ],
)
def test_a_webhook_url_is_refused_with_the_reason(templates, url, message):
    with pytest.raises(SubscriptionError, match=re.escape(f"webhook URL {url!r} is refused: {message}")):
        hooked(templates, url)


def test_a_webhook_gets_its_own_secret_and_needs_its_channel(templates):
    first = hooked(templates, "https://hooks.example.com/backroom?venue=leeds")
    second = hooked(templates, "http://127.0.0.1:8080/hook")
    assert first.webhook_url == "https://hooks.example.com/backroom?venue=leeds"
    for subscription in (first, second):
        # Standard Webhooks: whsec_ and the base64 of the key's bytes.
        prefix, key = subscription.webhook_secret[:6], subscription.webhook_secret[6:]
        assert prefix == "whsec_" and len(base64.b64decode(key, validate=True)) == 24
        assert subscription.webhook_previous_secret is None
    assert first.webhook_secret != second.webhook_secret
    assert hooked(templates, None, channels=("email",)).webhook_secret is None
    with pytest.raises(SubscriptionError, match="the webhook channel needs a webhook URL"):
        hooked(templates, None)
    with pytest.raises(SubscriptionError, match="a webhook URL is only used by the webhook channel"):
        hooked(templates, "https://hooks.example.com/backroom", channels=("email",))


def test_rotating_a_secret_keeps_the_old_one_beside_it(warehouse, layouts):
    service.add_recipient(warehouse, "Jo Bloggs", "manager", recipient_id="rcp-jo", channels=["dashboard"])
    added = service.add_subscription(
        warehouse,
        "rcp-jo",
        "daily_summary",
        layouts_dir=layouts,
        channels=["webhook"],
        webhook_url="https://hooks.example.com/backroom",
        now=NOW,
    )
    later = at(2026, 4, 1, 9)
    rotated = service.rotate_webhook_secret(warehouse, added.subscription_id, now=later)
    assert rotated.webhook_previous_secret == added.webhook_secret
    assert rotated.webhook_secret.startswith("whsec_") and rotated.webhook_secret != added.webhook_secret
    assert rotated.webhook_secret_rotated_at == later
    assert service.get_subscription(warehouse, added.subscription_id) == rotated
    plain = service.add_subscription(
        warehouse, "rcp-jo", "weekly_summary", layouts_dir=layouts, subscription_id="sub-plain"
    )
    with pytest.raises(
        SubscriptionError, match="subscription sub-plain has no webhook, so no secret to rotate"
    ):
        service.rotate_webhook_secret(warehouse, plain.subscription_id)


def test_advance_moves_the_next_delivery_past_the_recorded_one(warehouse, layouts):
    service.add_recipient(
        warehouse,
        "Jo Bloggs",
        "manager",
        recipient_id="rcp-jo",
        channels=["dashboard"],
        timezone="Asia/Tokyo",
    )
    service.add_subscription(
        warehouse, "rcp-jo", "daily_summary", layouts_dir=layouts, subscription_id="sub-jo", now=NOW
    )
    # 22:00 in Tokyo (UTC+9, no summer time) is 13:00 UTC.
    assert service.get_subscription(warehouse, "sub-jo").next_delivery_at == at(2026, 3, 28, 13)
    templates = service.load_templates(layouts)  # as a run hands over the layouts it read
    jo = service.get_recipient(warehouse, "rcp-jo")
    advanced = service.advance(warehouse, "sub-jo", at(2026, 3, 28, 13), templates=templates, recipient=jo)
    assert advanced.next_delivery_at == at(2026, 3, 29, 13)
    # A recipient handed over who is not the subscription's (it changed hands) is not used.
    london = dataclasses.replace(jo, recipient_id="rcp-other", timezone="Europe/London")
    again = service.advance(warehouse, "sub-jo", at(2026, 3, 29, 13), templates=templates, recipient=london)
    assert again.next_delivery_at == at(2026, 3, 30, 13)
    advanced = service.advance(warehouse, "sub-jo", after=at(2026, 3, 29, 13), templates=templates)
    assert advanced.next_delivery_at == at(2026, 3, 30, 13)
    assert service.get_subscription(warehouse, "sub-jo") == advanced
    paused = service.pause(warehouse, "sub-jo")
    assert service.advance(warehouse, "sub-jo", after=at(2026, 3, 30, 13), templates=templates) == paused
