"""The email channel's message as a mail client reads it: parts, images by cid:, attachments or
download links, the headers the providers and RFC 8058 ask for, and the outbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest

from backroom_reporting.delivery import links
from backroom_reporting.delivery.channels.email import EmailChannel, verification_message
from backroom_reporting.delivery.mailer import Mailer
from backroom_reporting.delivery.model import CannotTell, Headline, Outcome, SendError
from backroom_reporting.delivery.outbox import Outbox
from tests.delivery.conftest import DELIVERY_ID, Relay, jo, parcel_of

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
PORTAL = "http://127.0.0.1:8000"


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a mail client gets it: its bytes read back by a real parser."""
    return BytesParser(policy=default).parsebytes(message.as_bytes())


def signed(purpose: str, url: str):
    """The payload of one of our links, checked as the portal will check it."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PORTAL
    prefix = links.PATHS[purpose]
    assert parts.path.startswith(prefix)
    return links.read(purpose, unquote(parts.path[len(prefix) :]))


class Anchors(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tags: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])
        if tag == "img":
            self.images.append(dict(attrs))


@pytest.fixture(autouse=True)
def mail_settings(monkeypatch):
    monkeypatch.setenv("BACKROOM_PORTAL_URL", PORTAL)
    monkeypatch.setenv("BACKROOM_MAIL_FROM", "The Backroom Leeds <reports@backroom-leeds.example>")
    monkeypatch.delenv("BACKROOM_EMAIL_SIZE_CAP_MB", raising=False)


@pytest.fixture
def channel(rendered, tmp_path):
    store, _ = rendered
    return EmailChannel(
        store, Mailer("", Outbox(tmp_path / "outbox")), venues={"backroom-leeds": "The Backroom Leeds"}
    )


@pytest.fixture
def report(rendered):
    return rendered[1]


def html_and_text(message: EmailMessage) -> tuple[str, str]:
    return (
        message.get_body(("html",)).get_content(),
        message.get_body(("plain",)).get_content(),
    )


def test_the_message_is_text_and_html_with_every_chart_image_beside_it(channel, report):
    message = parsed(channel.compose(parcel_of(report), now=NOW))
    assert message.get_content_type() == "multipart/mixed"
    [alternative, *_] = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    html, text = html_and_text(message)
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert sorted(cids) == ["chart-occupancy_trend@backroom", "chart-revenue_by_hour@backroom"]
    by_cid = {image["Content-ID"]: image for image in images}
    assert set(by_cid) == {f"<{cid}>" for cid in cids}
    for image in by_cid.values():
        assert image.get_content_type() == "image/png"
        assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Revenue by Hour" in [img["alt"] for img in Anchors(html).images]
    assert "£12,345.67" in html and "£12,345.67" in text  # the hour-by-hour total, in both


def test_the_html_has_no_stylesheet_script_or_svg(channel, report):
    html, _ = html_and_text(parsed(channel.compose(parcel_of(report), now=NOW)))
    tags = Anchors(html).tags
    assert not tags & {"style", "link", "script", "svg"}
    assert "<svg" not in html and "<style" not in html


def test_the_report_files_are_attached_with_their_names_and_types(channel, report):
    message = parsed(channel.compose(parcel_of(report), now=NOW))
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attached) == {
        "daily_summary_backroom-leeds_2026-11-21.pdf",
        "daily_summary_backroom-leeds_2026-11-21.xlsx",
    }
    pdf = attached["daily_summary_backroom-leeds_2026-11-21.pdf"]
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF-")
    xlsx = attached["daily_summary_backroom-leeds_2026-11-21.xlsx"]
    assert xlsx.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sizes = {f.name: f.size_bytes for f in report.files}
    assert {name: len(part.get_content()) for name, part in attached.items()} == sizes
    _, text = html_and_text(message)
    assert "Attached: daily_summary_backroom-leeds_2026-11-21.pdf" in text


def test_above_the_size_cap_the_files_are_signed_download_links(channel, report, monkeypatch):
    total = sum(f.size_bytes for f in report.files)
    monkeypatch.setenv("BACKROOM_EMAIL_SIZE_CAP_MB", str((total - 1) / 1024 / 1024))
    message = parsed(channel.compose(parcel_of(report), now=NOW))
    assert list(message.iter_attachments()) == []
    html, text = html_and_text(message)
    clicks = [signed("click", href) for href in Anchors(html).hrefs if "/t/c/" in href]
    assert all(click["d"] == DELIVERY_ID for click in clicks)
    downloads = [signed("download", click["u"]) for click in clicks if "/d/" in click["u"]]
    assert downloads == [{"d": DELIVERY_ID, "p": f.path, "n": f.name} for f in report.files]
    assert "too large to attach" in text and text.count(f"{PORTAL}/t/c/") == len(report.files) + 1


def test_exactly_at_the_cap_the_files_are_still_attached(channel, report, monkeypatch):
    total = sum(f.size_bytes for f in report.files)
    monkeypatch.setenv("BACKROOM_EMAIL_SIZE_CAP_MB", str(total / 1024 / 1024))
    message = parsed(channel.compose(parcel_of(report), now=NOW))
    assert len(list(message.iter_attachments())) == 2


def test_headers_name_the_report_the_delivery_and_a_one_click_unsubscribe(channel, report):
    message = parsed(channel.compose(parcel_of(report), now=NOW))
    assert message["Subject"] == "Daily Summary - Sat 21 Nov 2026 - The Backroom Leeds"
    assert message["From"] == "The Backroom Leeds <reports@backroom-leeds.example>"
    assert message["To"] == "Jo Bloggs <jo@example.com>"
    assert message["Message-ID"] == f"<{DELIVERY_ID}@backroom-reporting>"
    assert message["Auto-Submitted"] == "auto-generated"
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"])[1]
    assert signed("unsubscribe", unsubscribe) == {"s": "sub-jo-daily", "r": "rcp-jo"}
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert json.loads(message["X-SMTPAPI"]) == {"unique_args": {"delivery_id": DELIVERY_ID}}
    assert message["X-PM-Metadata-delivery_id"] == DELIVERY_ID


def test_the_same_delivery_makes_the_same_message_id_and_another_delivery_another(channel, report):
    first = channel.compose(parcel_of(report), now=NOW)
    again = channel.compose(parcel_of(report), now=NOW + dt.timedelta(hours=1))
    other = channel.compose(parcel_of(report, "dlv-fedcba9876543210"), now=NOW)
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]


def test_opens_and_clicks_are_tracked_for_this_delivery(channel, report):
    html, _ = html_and_text(parsed(channel.compose(parcel_of(report), now=NOW)))
    anchors = Anchors(html)
    [pixel] = [img for img in anchors.images if "/t/o/" in img["src"]]
    assert (pixel["width"], pixel["height"]) == ("1", "1")
    assert signed("open", pixel["src"]) == {"d": DELIVERY_ID}
    tracked = [signed("click", href) for href in anchors.hrefs if "/t/c/" in href]
    assert [signed("report", click["u"]) for click in tracked] == [{"d": DELIVERY_ID}]
    untracked = [href for href in anchors.hrefs if "/t/c/" not in href]
    assert [signed("unsubscribe", href) for href in untracked] == [{"s": "sub-jo-daily", "r": "rcp-jo"}]


def test_a_report_without_an_email_body_still_gets_its_figures_and_files(channel, report):
    older = dataclasses.replace(
        report,
        email_parts=None,
        headline=Headline(1_539_617, 287, None),
        warnings=("3 rows were quarantined.",),
    )
    message = parsed(channel.compose(parcel_of(older), now=NOW))
    html, text = html_and_text(message)
    for body in (html, text):
        assert "daily summary" in body.lower() and "£15,396.17" in body and "287" in body
        assert "3 rows were quarantined." in body
    assert "<style" not in html and "<svg" not in html
    assert len(list(message.iter_attachments())) == 2


def test_sending_to_the_outbox_and_finding_it_there_again(channel, report):
    parcel = parcel_of(report)
    assert channel.look_up(parcel) is None
    outcome = channel.send(parcel)
    assert outcome == Outcome("sent", provider_message_id=f"<{DELIVERY_ID}@backroom-reporting>")
    assert channel.look_up(parcel) == outcome
    kept = BytesParser(policy=default).parsebytes(
        channel.mailer.outbox_file(outcome.provider_message_id).read_bytes()
    )
    assert kept["Subject"] == "Daily Summary - Sat 21 Nov 2026 - The Backroom Leeds"


def test_sent_through_a_relay_the_message_arrives_whole(rendered, report, smtp_relay):
    relay, port = smtp_relay(Relay())
    channel = EmailChannel(rendered[0], Mailer(f"smtp://127.0.0.1:{port}"))
    channel.send(parcel_of(report))
    [got] = relay.messages()
    assert got["Message-ID"] == f"<{DELIVERY_ID}@backroom-reporting>"
    assert len(list(got.iter_attachments())) == 2
    html = got.get_body(("html",)).get_content()
    assert len(re.findall(r'src="cid:', html)) == 2
    with pytest.raises(CannotTell):
        channel.look_up(parcel_of(report))


def test_a_verification_mail_carries_a_signed_link_for_the_address():
    message = parsed(verification_message(jo(), now=NOW))
    assert message["To"] == "Jo Bloggs <jo@example.com>"
    assert "confirm" in message["Subject"].lower()
    text = message.get_body(("plain",)).get_content()
    [link] = re.findall(rf"{PORTAL}/verify/\S+", text)
    assert signed("verify", link) == {"r": "rcp-jo", "e": "jo@example.com"}
    html = message.get_body(("html",)).get_content()
    assert Anchors(html).hrefs == [link]


def test_an_email_body_no_longer_in_the_store_gives_way_to_the_plain_one(channel, report):
    gone = {**report.email_parts, "html": f"00/{'0' * 64}.html"}
    message = parsed(channel.compose(parcel_of(dataclasses.replace(report, email_parts=gone)), now=NOW))
    html, text = html_and_text(message)
    assert "£15,396.17" in html and "£15,396.17" in text and "cid:" not in html


def test_a_report_file_no_longer_in_the_store_is_not_sent_without_it(channel, report):
    [pdf, xlsx] = report.files
    missing = dataclasses.replace(pdf, path=f"00/{'0' * 64}.pdf")
    with pytest.raises(
        SendError, match=r"daily_summary_backroom-leeds_2026-11-21\.pdf .* no longer in the report store"
    ) as refused:
        channel.send(parcel_of(dataclasses.replace(report, files=(missing, xlsx))))
    assert not refused.value.retryable
    assert not channel.look_up(parcel_of(report))


@pytest.mark.parametrize(
    ("first", "last", "subject"),
    [
        (
            dt.date(2026, 11, 23),
            dt.date(2026, 11, 29),
            "Weekly Summary - 23-29 Nov 2026 - The Backroom Leeds",
        ),
        (
            dt.date(2026, 11, 30),
            dt.date(2026, 12, 6),
            "Weekly Summary - 30 Nov-6 Dec 2026 - The Backroom Leeds",
        ),
        (
            dt.date(2026, 12, 28),
            dt.date(2027, 1, 3),
            "Weekly Summary - 28 Dec 2026-3 Jan 2027 - The Backroom Leeds",
        ),
    ],
)
def test_a_weeks_subject_fits_on_one_line(channel, report, first, last, subject):
    weekly = dataclasses.replace(report, title="Weekly Summary", period_first_day=first, period_last_day=last)
    raw = channel.compose(parcel_of(weekly), now=NOW).as_bytes()
    assert f"Subject: {subject}\n".encode() in raw.replace(b"\r\n", b"\n")
    assert parsed(channel.compose(parcel_of(weekly), now=NOW))["Subject"] == subject


def test_each_multipart_names_its_own_boundary_found_in_no_part(channel, report):
    outcome = channel.send(parcel_of(report))
    sent = channel.mailer.outbox_file(outcome.provider_message_id).read_bytes()
    message = BytesParser(policy=default).parsebytes(sent)
    boundaries = [part.get_boundary() for part in message.walk() if part.is_multipart()]
    assert len(boundaries) == len(set(boundaries)) == 3  # mixed, alternative, related
    for boundary in boundaries:
        # Only as delimiter lines: once per part it separates, and once to close.
        lines = [line for line in sent.split(b"\r\n") if boundary.encode() in line]
        assert all(line.strip(b"-") == boundary.encode() for line in lines[1:])


def test_deliveries_of_one_report_each_carry_its_files_whole(channel, report):
    """The subscriptions sharing a report share its encoded attachments: every message,
    written side by side in threads as the dispatcher does, still carries every file whole."""
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"dlv-{i:016x}" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(lambda d: channel.compose(parcel_of(report, d), now=NOW).as_bytes(), ids))
    sizes = {f.name: f.size_bytes for f in report.files}
    for delivery_id, raw in zip(ids, sent, strict=True):
        message = BytesParser(policy=default).parsebytes(raw)
        assert message["Message-ID"] == f"<{delivery_id}@backroom-reporting>"
        attached = {p.get_filename(): len(p.get_content()) for p in message.iter_attachments()}
        assert attached == sizes
