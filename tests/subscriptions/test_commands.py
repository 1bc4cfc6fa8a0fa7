"""`backroom subscriptions` and `backroom recipients`: readable tables, refusals exit 2 with the reason."""

import re
import sqlite3

import pytest
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.subscriptions import service
from backroom_reporting.subscriptions.commands import recipients, subscriptions
from tests.commands import ok, refused
from tests.subscriptions import LEEDS, set_venues, write_group_layouts, write_layouts


@pytest.fixture
def run(databases, tmp_path):
    """Run a command against the test warehouse, with the test layouts as the templates."""
    with databases.warehouse as db:
        set_venues(db, LEEDS)
    env = {
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_LAYOUTS_DIR": str(write_layouts(tmp_path / "layouts")),
    }

    def invoke(group, *args: str):
        return CliRunner().invoke(group, list(args), env=env)

    return invoke


def test_add_list_pause_and_resume(run):
    added = ok(
        run(
            recipients,
            "add",
            "--name",
            "Jo Bloggs",
            "--email",
            "jo@example.com",
            "--phone",
            "07700 900123",
            "--role",
            "manager",
            "--format",
            "pdf",
            "--format",
            "html",
            "--email-consent",
        )
    )
    recipient_id = re.search(r"Added Jo Bloggs \((rcp-[0-9a-f]{8})\): manager, pdf, html by email", added)[1]
    listed = ok(run(recipients, "list")).splitlines()
    assert listed[0].split() == [
        "ID",
        "NAME",
        "ROLE",
        "EMAIL",
        "ADDRESS",
        "PHONE",
        "SLACK",
        "FORMATS",
        "CHANNELS",
        "CONSENT",
        "TIMEZONE",
    ]
    assert re.match(
        rf"{recipient_id}\s+Jo Bloggs\s+manager\s+jo@example.com\s+unverified\s+"
        rf"\+447700900123\s+-\s+pdf, html\s+",
        listed[1],
    )
    assert "Europe/London" in listed[1]

    added = ok(run(subscriptions, "add", "--recipient", recipient_id, "--template", "daily_summary"))
    daily = re.search(r"Added (sub-[0-9a-f]{8}): daily_summary for Jo Bloggs", added)[1]
    assert "venue backroom-leeds; next delivery" in added
    ok(
        run(
            subscriptions,
            "add",
            "--recipient",
            recipient_id,
            "--template",
            "weekly_summary",
            "--cron",
            "30 7 * * 1",
            "--brand",
            "NOSTALGIA",
            "--format",
            "xlsx",
            "--channel",
            "email",
            "--venue",
            "backroom-leeds",
        )
    )
    table = ok(run(subscriptions, "list")).splitlines()
    assert table[0].split()[:4] == ["ID", "RECIPIENT", "TEMPLATE", "SCHEDULE"]
    assert len(table) == 3
    weekly_line = next(line for line in table if "weekly_summary" in line)
    for cell in ("30 7 * * 1", "NOSTALGIA", "xlsx", "active", "07:30"):
        assert cell in weekly_line
    daily_line = next(line for line in table if daily in line)
    assert "template's" in daily_line and "recipient's" in daily_line and "22:00" in daily_line

    assert f"Paused {daily} (daily_summary)" in ok(run(subscriptions, "pause", daily))
    paused = ok(run(subscriptions, "list", "--paused")).splitlines()
    assert len(paused) == 2 and daily in paused[1] and "paused" in paused[1]
    active = ok(run(subscriptions, "list", "--active")).splitlines()
    assert len(active) == 2 and "weekly_summary" in active[1]
    assert len(ok(run(subscriptions, "list", "--template", "daily_summary")).splitlines()) == 2
    assert ok(run(subscriptions, "list", "--recipient", "rcp-other")) == "No subscriptions match.\n"

    resumed = ok(run(subscriptions, "resume", daily))
    assert re.search(rf"Resumed {daily} \(daily_summary\); next delivery \w{{3}} .* 22:00 (GMT|BST)", resumed)


def test_a_group_subscription_is_added_with_group_and_listed_for_every_venue(databases, tmp_path):
    with databases.warehouse as db:
        set_venues(db, LEEDS | {"backroom-york": "The Backroom York"})
        service.add_recipient(
            db, "Jo Bloggs", "owner", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
        )
    env = {
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_LAYOUTS_DIR": str(write_group_layouts(tmp_path / "layouts")),
    }

    def run(*args: str):
        return CliRunner().invoke(subscriptions, list(args), env=env)

    add = ("add", "--recipient", "rcp-jo", "--template")
    added = ok(run(*add, "group_weekly_summary", "--group"))
    assert re.search(
        r"Added sub-[0-9a-f]{8}: group_weekly_summary for Jo Bloggs \(rcp-jo\), every venue \(group\);", added
    )
    refused(
        run(*add, "group_daily_summary", "--venue", "backroom-york"),
        "group_daily_summary shows every venue side by side: subscribe to it as a group report, "
        "without a venue (backroom subscriptions add --group)",
    )
    refused(
        run(*add, "group_daily_summary", "--group", "--venue", "backroom-york"),
        "a group report covers every venue: subscribe to the group or to venue 'backroom-york', not both",
    )
    refused(
        run(*add, "daily_summary", "--group"),
        "daily_summary is one venue's report; for every venue side by side choose group_daily_summary, "
        "group_weekly_summary",
    )
    refused(run(*add, "daily_summary"), "choose a venue: backroom-leeds (The Backroom Leeds), backroom-york")
    listed = ok(run("list")).splitlines()
    assert len(listed) == 2 and "group (all)" in listed[1] and "group_weekly_summary" in listed[1]


def test_refusals_exit_2_with_the_reason(run, databases, tmp_path):
    with databases.warehouse as db:
        service.add_recipient(
            db, "Jo Bloggs", "manager", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
        )
        service.add_subscription(
            db, "rcp-jo", "daily_summary", subscription_id="sub-jo", layouts_dir=tmp_path / "layouts"
        )
    add = (subscriptions, "add", "--recipient", "rcp-jo", "--template")
    refused(run(*add, "monthly"), "unknown template 'monthly'; known: daily_summary, weekly_summary")
    refused(
        run(*add, "daily_summary", "--cron", "every night"),
        "cron 'every night' has 2 fields; a cron has 5: minute hour day-of-month month day-of-week",
    )
    refused(
        run(*add, "daily_summary", "--cron", "0 0 22 * * *"),
        "cron '0 0 22 * * *' has 6 fields; a cron has 5: minute hour day-of-month month day-of-week",
    )
    refused(run(*add, "daily_summary", "--cron", "0 22 * * 8"), "cron '0 22 * * 8' is not a valid cron")
    refused(run(*add, "daily_summary", "--cron", "0 9 30 2 *"), "cron '0 9 30 2 *' never fires")
    refused(
        run(*add, "daily_summary", "--cron", "0 22 * * *", "--timezone", "Europe/Leeds"),
        "timezone 'Europe/Leeds' is not an IANA timezone name; use one such as Europe/London",
    )
    refused(run(*add, "daily_summary", "--brand", "FOAM"), "unknown brand 'FOAM'; known: LA FIESTA, SHHH!")
    refused(run(*add, "daily_summary", "--venue", "york"), "unknown venue 'york'; known: backroom-leeds")
    refused(run(*add, "daily_summary", "--channel", "fax"), "unknown channel 'fax'")
    refused(run(*add, "daily_summary", "--format", "docx"), "unknown format 'docx'")
    refused(run(*add, "daily_summary", "--channel", "sms"), "Jo Bloggs has no phone number")
    refused(
        run(subscriptions, "add", "--recipient", "rcp-x", "--template", "daily_summary"),
        "unknown recipient 'rcp-x'; known: rcp-jo",
    )
    refused(run(subscriptions, "resume", "sub-jo"), "subscription sub-jo is already active (not paused)")
    ok(run(subscriptions, "pause", "sub-jo"))
    refused(run(subscriptions, "pause", "sub-jo"), "subscription sub-jo is already paused")
    refused(run(subscriptions, "pause", "sub-nope"), "unknown subscription 'sub-nope'; known: sub-jo")
    refused(
        run(recipients, "add", "--name", "Sam", "--email", "sam@example.com", "--role", "finance"),
        "Sam has not consented to reports by email",
    )
    refused(
        run(recipients, "add", "--name", "Sam", "--email", "sam@example.com", "--role", "cashier"),
        "unknown role 'cashier'; known: owner, manager, events, finance",
    )
    refused(
        run(
            recipients,
            "add",
            "--name",
            "Sam",
            "--email",
            "sam@example.com",
            "--role",
            "finance",
            "--email-consent",
            "--timezone",
            "BST",
        ),
        "timezone 'BST' is not an IANA timezone name",
    )
    assert len(ok(run(recipients, "list")).splitlines()) == 2  # nothing refused was stored
    assert len(ok(run(subscriptions, "list")).splitlines()) == 2


def test_an_out_of_date_warehouse_is_refused(tmp_path):
    sqlite3.connect(tmp_path / "empty.db").execute(
        "CREATE TABLE something_else (x)"
    )  # a database, never upgraded
    result = CliRunner().invoke(subscriptions, ["list", "--url", f"sqlite:///{tmp_path}/empty.db"])
    refused(result, "The warehouse schema at sqlite:///")
    assert re.search(
        r"empty.db is at nothing but this code needs \S+: run `backroom db upgrade`", result.stderr
    )


def test_a_warehouse_that_is_not_there_is_not_created(tmp_path):
    missing = tmp_path / "typo" / "warehouse.db"
    result = CliRunner().invoke(main, ["subscriptions", "list", "--url", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert f"There is no SQLite database at {missing} for the warehouse" in result.stderr
    assert not missing.parent.exists()


def test_slack_and_webhook_details_and_secret_rotation(run, databases):
    added = ok(
        run(
            recipients,
            "add",
            "--name",
            "Ops Room",
            "--role",
            "events",
            "--slack-channel",
            "C0BACKROOM1",
            "--channel",
            "slack",
        )
    )
    recipient_id = re.search(r"Added Ops Room \((rcp-[0-9a-f]{8})\): events, pdf by slack", added)[1]
    listed = ok(run(recipients, "list")).splitlines()
    assert re.match(rf"{recipient_id}\s+Ops Room\s+events\s+-\s+-\s+-\s+C0BACKROOM1\s+pdf\s+slack", listed[1])
    refused(
        run(recipients, "add", "--name", "Sam", "--role", "events", "--slack-channel", "#events"),
        "'#events' is not a Slack channel or member id",
    )
    add = (subscriptions, "add", "--recipient", recipient_id, "--template", "daily_summary")
    refused(
        run(*add, "--channel", "webhook", "--webhook-url", "http://example.com/hook"),
        "webhook URL 'http://example.com/hook' is refused: reports are only posted over https",
    )
    refused(run(*add, "--channel", "webhook"), "the webhook channel needs a webhook URL")
    added = ok(run(*add, "--channel", "webhook", "--webhook-url", "https://hooks.example.com/backroom"))
    subscription_id = re.search(r"Added (sub-[0-9a-f]{8})", added)[1]
    secret = re.search(r"Webhook signing secret: (whsec_\S+)\n", added)[1]
    assert "https://hooks.example.com/backroom to keep" in added and "not shown again" in added
    with databases.warehouse as db:
        assert service.get_subscription(db, subscription_id).webhook_secret == secret
    rotated = ok(run(subscriptions, "rotate-secret", subscription_id))
    new = re.search(r"Webhook signing secret: (whsec_\S+)\n", rotated)[1]
    with databases.warehouse as db:
        stored = service.get_subscription(db, subscription_id)
    assert (stored.webhook_secret, stored.webhook_previous_secret) == (new, secret) and new != secret
    refused(run(subscriptions, "rotate-secret", "sub-nope"), "unknown subscription 'sub-nope'")
