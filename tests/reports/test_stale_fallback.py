"""The fallback to the last good report, through Dagster: when Saturday's report fails, its
delivery sends Friday's, marked stale and saying why, and the run still fails, and on call hears
whose report it was; once Saturday's figures are put right, the fresh Saturday report goes out
once, and nothing more after that."""

import dataclasses
import datetime as dt

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.assets.deliveries import FRESH_FOR_TAG
from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.delivery import ledger
from backroom_reporting.rendering.history import generations_of
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.sensors.deliveries import due_requests
from backroom_reporting.sensors.figure_alerts import alert_on_failed_checks
from backroom_reporting.subscriptions import service
from tests.reports.test_delivery_assets import outbox_mails
from tests.reports.venue import DELIVERIES, LAYOUTS, REPORTS, SATURDAY

FRIDAY = SATURDAY - dt.timedelta(days=1)
SUBSCRIPTION = "sub-manager-daily"  # Priya Hollins: by email and on the dashboard


def report_mails(venue) -> list:
    """The outbox's report emails, not the alerts paged to the people on call beside them."""
    return [m for m in outbox_mails(venue) if not paged_alert(m)]


def paged_alert(mail) -> bool:
    return ".incident-" in mail["Message-ID"]  # make_msgid's idstring, e.g. incident-4821-1


def shift_saturday_bar_takings(venue, pence: int) -> None:
    """Saturday's hours no longer add up to the day (pence != 0): the report refuses its figures."""
    engine = sa.create_engine(venue.databases.warehouse_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE hourly_aggregations SET bar_revenue_pence = bar_revenue_pence + :pence "
                "WHERE business_date = '2026-11-21' AND local_hour = 0"
            ),
            {"pence": pence},
        )
    engine.dispose()


def email_rows(venue) -> list[ledger.Delivery]:
    return [d for d in ledger.of_subscription(venue.db, SUBSCRIPTION) if d.channel == "email"]


def mail_of(venue, row: ledger.Delivery):
    [mail] = [m for m in outbox_mails(venue) if m["Message-ID"] == row.provider_message_id]
    return mail


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(("html",)).get_content()


def nothing_else_due(venue) -> None:
    for s in service.list_subscriptions(venue.db):
        later = dataclasses.replace(s, next_delivery_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        service.store(venue.db, subscriptions=[later])


def check_alerts(venue, cursor: str | None) -> str:
    """A tick of the check_failed sensor (the shipped rules); the cursor for the next."""
    with dg.build_sensor_context(
        instance=venue.instance, cursor=cursor, resources=venue.resources
    ) as context:
        return alert_on_failed_checks(context).cursor


def test_a_failed_report_sends_the_last_good_one_marked_stale_then_the_fresh_one_once(venue, monkeypatch):
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(LAYOUTS / "alerts" / "rules.yaml"))
    venue.deliver(SUBSCRIPTION, day=FRIDAY)
    friday_generation = venue.latest(SUBSCRIPTION)["generation_id"]
    shift_saturday_bar_takings(venue, 100)

    failed = venue.deliver(SUBSCRIPTION, raise_on_error=False)

    # Dagster shows the failure: the report's check fails and so does the run.
    assert not failed.success
    [check] = failed.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("report_rendered", False)
    saturday = generations_of(venue.db, SUBSCRIPTION).row(-1, named=True)
    assert (saturday["period_first_day"], saturday["status"]) == (SATURDAY, "failed")
    # Friday's report went out for Saturday, marked stale, with the reason.
    assert len(outbox_mails(venue)) == 2
    stale = next(d for d in email_rows(venue) if d.period == "2026-11-21")
    stale_mail = mail_of(venue, stale)
    assert stale_mail["Subject"].startswith("[Stale] Daily Summary - Fri 20 Nov 2026")
    error_line = saturday["error"].strip().splitlines()[0]
    assert stale.stale_reason == f"the Daily Summary for Saturday 21 November 2026 failed: {error_line}"
    assert (stale.status, stale.generation_id) == ("sent", friday_generation)
    text = text_of(stale_mail)
    first_line = text.splitlines()[0]
    assert first_line.startswith("Stale: figures as of Fri 20 Nov 2026 (made ")
    assert stale.stale_reason in " ".join(text.split())
    html = html_of(stale_mail)
    assert html.index("Stale: figures as of Fri 20 Nov 2026") < html.index("Daily Summary</")
    assert "Saturday 21 November 2026 failed" in html
    [dashboard] = [
        d
        for d in ledger.of_subscription(venue.db, "sub-manager-daily", "2026-11-21")
        if d.channel == "dashboard"
    ]
    assert (dashboard.status, dashboard.stale_reason) == ("delivered", stale.stale_reason)
    # On call hears of it once, by the rule for reports: whose report, and what went instead.
    cursor = check_alerts(venue, None)
    [incident] = list_incidents(venue.db)
    assert (incident.rule_key, incident.dedup_key) == (
        "report_failed",
        "report_failed:check:subscription_reports:report_rendered:sub-manager-daily",
    )
    assert incident.title == (
        "Subscription sub-manager-daily (Priya Hollins): the Daily Summary for Saturday 21 November 2026 "
        "failed to render; its recipients were sent the last good report (Friday 20 November 2026), "
        "marked stale."
    )
    # ... and the manager on call has it by email (the outbox, with no relay configured).
    [paged] = [m for m in outbox_mails(venue) if paged_alert(m)]
    assert paged["Subject"].endswith(f"#{incident.incident_number} {incident.title}")
    # The subscription moves on: the next tick does not send the stale report again.
    assert service.get_subscription(venue.db, SUBSCRIPTION).next_delivery_at > dt.datetime.now(dt.UTC)

    # A second failed run sends no second stale report; on call sees a second occurrence.
    venue.deliver(SUBSCRIPTION, raise_on_error=False)
    assert len(report_mails(venue)) == 2
    cursor = check_alerts(venue, cursor)
    assert [(i.status, i.occurrences) for i in list_incidents(venue.db)] == [("triggered", 2)]

    shift_saturday_bar_takings(venue, -100)
    venue.deliver(SUBSCRIPTION)

    fresh = [d for d in email_rows(venue) if d.period == "2026-11-21" and d.stale_reason is None]
    assert [d.generation_id for d in fresh] == [venue.latest(SUBSCRIPTION)["generation_id"]]
    assert len(report_mails(venue)) == 3
    fresh_mail = mail_of(venue, fresh[0])
    assert fresh_mail["Subject"].startswith("Daily Summary - Sat 21 Nov 2026")
    assert "Stale" not in text_of(fresh_mail)

    venue.deliver(SUBSCRIPTION)
    assert len(report_mails(venue)) == 3
    # The report rendered: its incident is resolved.
    check_alerts(venue, cursor)
    [incident] = list_incidents(venue.db)
    assert (incident.status, incident.resolved_by, incident.resolved_via) == (
        "resolved",
        "dagster",
        "check passed",
    )
    assert sorted((d.period, d.stale_reason is not None) for d in email_rows(venue)) == [
        ("2026-11-20", False),
        ("2026-11-21", False),
        ("2026-11-21", True),
    ]


def test_the_sensor_asks_for_a_period_sent_stale_again_until_its_fresh_report_goes_out(venue):
    venue.deliver(SUBSCRIPTION, day=FRIDAY)
    shift_saturday_bar_takings(venue, 100)
    venue.deliver(SUBSCRIPTION, raise_on_error=False)
    nothing_else_due(venue)
    layouts = load_layouts(LAYOUTS)
    now = dt.datetime.now(dt.UTC)

    [request], _ = due_requests(venue.db, layouts, now)
    assert request.partition_key == SUBSCRIPTION
    assert request.asset_selection is None  # the sensor's target: the report and its delivery
    assert request.tags == {REPORT_DAY_TAG: "2026-11-21", FRESH_FOR_TAG: "2026-11-21"}
    # The same hour, the same run key: Dagster starts it once; the next hour it is tried again.
    [again], _ = due_requests(venue.db, layouts, now + dt.timedelta(seconds=1))
    [next_hour], _ = due_requests(venue.db, layouts, now + dt.timedelta(hours=1))
    assert again.run_key == request.run_key != next_hour.run_key

    shift_saturday_bar_takings(venue, -100)
    due_before = service.get_subscription(venue.db, SUBSCRIPTION).next_delivery_at
    run = venue.materialize(REPORTS + DELIVERIES, SUBSCRIPTION, SATURDAY, True, request.tags)
    assert run.success
    assert len(report_mails(venue)) == 3
    # The schedule is the period due's: making an old period again leaves it alone.
    assert service.get_subscription(venue.db, SUBSCRIPTION).next_delivery_at == due_before
    assert due_requests(venue.db, layouts, now + dt.timedelta(hours=2)) == ([], [])
