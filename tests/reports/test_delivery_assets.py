"""report_deliveries through Dagster: a subscription's report reaches each of its channels once,
re-runs send nothing twice, a failed report is never sent, and the subscription moves on to
its next time only once every outcome is recorded."""

import datetime as dt
import email
import email.policy
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting.delivery import ledger
from backroom_reporting.subscriptions import consent, service

LONDON = ZoneInfo("Europe/London")


def outbox_mails(venue) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(venue.outbox.glob("*.eml"))
    ]


def rows(venue, subscription_id: str) -> dict[str, ledger.Delivery]:
    return {d.channel: d for d in ledger.of_subscription(venue.db, subscription_id)}


def statuses(venue, delivery_id: str) -> list[str]:
    return ledger.history(venue.db, delivery_id).sort("event_id")["status"].to_list()


def test_a_report_reaches_each_channel_of_its_subscription_once(venue):
    before = dt.datetime.now(dt.UTC)
    venue.deliver("sub-manager-daily")  # Priya Hollins: PDF and HTML, by email and on the dashboard
    [mail] = outbox_mails(venue)
    assert mail["To"].addresses[0].addr_spec == "priya.hollins@example.com"
    assert "Daily Summary" in mail["Subject"]
    attached = sorted(part.get_filename() for part in mail.iter_attachments())
    assert [name.rsplit(".", 1)[1] for name in attached] == ["html", "pdf"]
    by_channel = rows(venue, "sub-manager-daily")
    assert set(by_channel) == {"email", "dashboard"}
    sent, listed = by_channel["email"], by_channel["dashboard"]
    assert (sent.status, sent.attempts, sent.period) == ("sent", 1, "2026-11-21")
    assert sent.provider_message_id == mail["Message-ID"]
    assert listed.status == "delivered"
    assert statuses(venue, sent.delivery_id) == ["queued", "sending", "sent"]
    # The next delivery is the next 22:00 on the recipient's (London) clock after the send.
    moved = service.get_subscription(venue.db, "sub-manager-daily").next_delivery_at
    assert moved > before and moved - before <= dt.timedelta(days=1)
    assert moved.astimezone(LONDON).time() == dt.time(22, 0)


def test_a_rerun_or_a_second_run_for_the_same_period_sends_nothing_again(venue):
    venue.deliver("sub-manager-daily")
    first = rows(venue, "sub-manager-daily")
    again = venue.deliver("sub-manager-daily")
    assert len(outbox_mails(venue)) == 1
    [materialisation] = [
        m
        for m in again.asset_materializations_for_node("report_deliveries")
        if m.asset_key == dg.AssetKey("report_deliveries")
    ]
    assert materialisation.metadata["sent_now"].value == 0
    second = rows(venue, "sub-manager-daily")
    assert {c: (d.status, d.attempts) for c, d in second.items()} == {
        c: (d.status, d.attempts) for c, d in first.items()
    }
    assert statuses(venue, first["email"].delivery_id).count("sent") == 1


def test_each_period_is_its_own_delivery(venue):
    venue.deliver("sub-manager-daily")
    venue.deliver("sub-manager-daily", day=dt.date(2026, 11, 20))
    periods = sorted(
        d.period for d in ledger.of_subscription(venue.db, "sub-manager-daily") if d.channel == "email"
    )
    assert periods == ["2026-11-20", "2026-11-21"]
    assert len(outbox_mails(venue)) == 2


def test_a_report_that_failed_is_not_sent(venue):
    engine = sa.create_engine(venue.databases.warehouse_url)
    with engine.begin() as conn:  # Saturday's hours no longer add up to the day: the report refuses
        conn.execute(
            sa.text(
                "UPDATE hourly_aggregations SET bar_revenue_pence = bar_revenue_pence + 100 "
                "WHERE business_date = '2026-11-21' AND local_hour = 0"
            )
        )
    engine.dispose()
    due = service.get_subscription(venue.db, "sub-owner-daily").next_delivery_at
    result = venue.deliver("sub-owner-daily", raise_on_error=False)
    assert not result.success
    assert ledger.of_subscription(venue.db, "sub-owner-daily") == []
    assert outbox_mails(venue) == []
    # Still due: the next tick tries again.
    assert service.get_subscription(venue.db, "sub-owner-daily").next_delivery_at == due


def test_a_suppressed_address_is_recorded_and_not_sent_to(venue):
    consent.suppress_email(venue.db, "rcp-manager", "a hard bounce", dt.datetime.now(dt.UTC), by="test")
    venue.deliver("sub-manager-daily")
    assert outbox_mails(venue) == []
    email_row = rows(venue, "sub-manager-daily")["email"]
    assert email_row.status == "suppressed" and "hard bounce" in email_row.detail
    assert rows(venue, "sub-manager-daily")["dashboard"].status == "delivered"


def test_the_history_is_one_row_per_change_with_its_source(venue):
    result = venue.deliver("sub-owner-daily")
    run_id = result.run_id
    events = ledger.history(venue.db).filter(pl.col("status").is_in(["queued", "sending", "sent"]))
    assert set(events["source"]) == {run_id}
    assert events["at"].dtype == pl.Datetime("us", "UTC")
