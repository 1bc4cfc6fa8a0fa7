"""The Mailer against real relays on loopback: plain, STARTTLS and SMTPS, refusals, a relay that
is down, and the outbox when no relay is configured."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from urllib.parse import quote

import pytest

from backroom_reporting.delivery.mailer import Mailer, tell_owner
from backroom_reporting.delivery.model import CannotTell, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.subscriptions import service
from tests.delivery.conftest import PASSWORD, USER, Relay, free_port

CREDENTIALS = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"


def note(message_id: str = "<dlv-1@backroom-reporting>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "reports@backroom-leeds.example"
    message["To"] = "Jo Bloggs <jo@example.com>"
    message["Subject"] = "Daily Summary"
    message["Message-ID"] = message_id
    message.set_content("Takings £15,396.17.")
    return message


def test_a_plain_relay_gets_the_message_as_it_was_made(smtp_relay):
    relay, port = smtp_relay(Relay())
    assert Mailer(f"smtp://127.0.0.1:{port}").send(note()) == "<dlv-1@backroom-reporting>"
    [got] = relay.messages()
    assert got["Message-ID"] == "<dlv-1@backroom-reporting>"
    assert got.get_content().rstrip() == "Takings £15,396.17."
    assert relay.envelopes == [("reports@backroom-leeds.example", ["jo@example.com"])]


def test_starttls_with_url_encoded_credentials_and_a_trusted_self_signed_certificate(smtp_relay, trust_relay):
    relay, port = smtp_relay(Relay(), tls="starttls")
    Mailer(f"smtp://{CREDENTIALS}@127.0.0.1:{port}").send(note())
    assert relay.logins == [(USER, PASSWORD)]
    assert len(relay.received) == 1


def test_smtps_speaks_tls_from_the_start(smtp_relay, trust_relay):
    relay, port = smtp_relay(Relay(), tls="smtps")
    Mailer(f"smtps://{CREDENTIALS}@127.0.0.1:{port}?timeout=5").send(note())
    assert relay.logins == [(USER, PASSWORD)] and len(relay.received) == 1


def test_a_certificate_nobody_trusts_is_refused_and_nothing_is_sent(smtp_relay):
    relay, port = smtp_relay(Relay(), tls="smtps")
    with pytest.raises(SendError, match="could not be reached securely") as refused:
        Mailer(f"smtps://{CREDENTIALS}@127.0.0.1:{port}").send(note())
    assert not refused.value.retryable and relay.received == [] and relay.logins == []


def test_a_wrong_password_is_a_permanent_failure(smtp_relay, trust_relay):
    _, port = smtp_relay(Relay(), tls="starttls")
    with pytest.raises(SendError, match=r"replied 535 .*refused") as refused:
        Mailer(f"smtp://{quote(USER, safe='')}:wrong@127.0.0.1:{port}").send(note())
    assert not refused.value.retryable and refused.value.status == "failed"


def test_a_421_is_retryable_and_the_next_attempt_is_accepted(smtp_relay):
    relay, port = smtp_relay(Relay(data_refusals=["421 4.3.2 Service shutting down, try later"]))
    mailer = Mailer(f"smtp://127.0.0.1:{port}")
    with pytest.raises(SendError, match=r"replied 421 .*trying again later") as busy:
        mailer.send(note())
    assert busy.value.retryable and relay.received == []
    mailer.send(note())
    assert len(relay.received) == 1


def test_a_550_for_the_address_is_a_bounce(smtp_relay):
    relay, port = smtp_relay(Relay(rcpt_refusals=["550 5.1.1 No such mailbox"]))
    with pytest.raises(SendError, match=r"replied 550 5\.1\.1 No such mailbox") as bounced:
        Mailer(f"smtp://127.0.0.1:{port}").send(note())
    assert not bounced.value.retryable and bounced.value.status == "bounced"
    assert relay.received == []


def test_a_554_refusal_of_the_message_is_permanent_but_not_a_bounce(smtp_relay):
    _, port = smtp_relay(Relay(data_refusals=["554 5.7.1 Message rejected as spam"]))
    with pytest.raises(SendError) as refused:
        Mailer(f"smtp://127.0.0.1:{port}").send(note())
    assert not refused.value.retryable and refused.value.status == "failed"


def test_a_relay_that_is_down_is_retryable():
    port = free_port()  # nothing listens on it
    with pytest.raises(SendError, match=f"127.0.0.1:{port} could not be reached") as down:
        Mailer(f"smtp://127.0.0.1:{port}?timeout=2").send(note())
    assert down.value.retryable


def test_a_relay_cannot_be_asked_what_it_accepted():
    with pytest.raises(CannotTell, match="an SMTP relay cannot be asked"):
        Mailer("smtp://127.0.0.1:2525").has_sent("<dlv-1@backroom-reporting>")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://mail.example:25", "is not a mail relay address"),
        ("smtp://user:secret@127.0.0.1:25?timeout=soon", "timeout 'soon' is not a number"),
    ],
)
def test_a_bad_relay_url_is_refused_without_showing_its_password(url, said):
    with pytest.raises(ValueError, match=said) as refused:
        Mailer(url)
    assert "secret" not in str(refused.value)


def test_without_a_relay_the_message_is_written_whole_to_the_outbox(tmp_path):
    mailer = Mailer("", Outbox(tmp_path / "outbox"))
    assert not mailer.has_sent("<dlv-1@backroom-reporting>")
    mailer.send(note())
    assert mailer.has_sent("<dlv-1@backroom-reporting>")
    [written] = (tmp_path / "outbox").iterdir()  # no temporary file left beside it
    assert written.name == "dlv-1@backroom-reporting.eml"
    kept = BytesParser(policy=default).parsebytes(written.read_bytes())
    assert kept["Subject"] == "Daily Summary" and kept.get_content() == "Takings £15,396.17.\n"


def test_the_outbox_and_relay_default_to_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "box"))
    monkeypatch.delenv("BACKROOM_SMTP_URL", raising=False)
    Mailer().send(note())
    assert (tmp_path / "box" / "dlv-1@backroom-reporting.eml").is_file()


def test_the_owners_with_a_working_address_are_told(warehouse, tmp_path):
    owner = service.new_recipient(
        "Sam Owner", "owner", email="sam@example.com", email_consent=True, recipient_id="rcp-sam"
    )
    gone = service.new_recipient(
        "Ali Owner", "owner", email="ali@example.com", email_consent=True, recipient_id="rcp-ali"
    )
    no_mail = service.new_recipient(
        "Kim Owner", "owner", phone="07700 900456", channels=["sms"], sms_consent=True, recipient_id="rcp-kim"
    )
    manager = service.new_recipient(
        "Jo Bloggs", "manager", email="jo@example.com", email_consent=True, recipient_id="rcp-jo"
    )
    service.store(warehouse, recipients=[owner, dataclasses.replace(gone, suppressed=True), no_mail, manager])
    mailer = Mailer("", Outbox(tmp_path))
    told = tell_owner(warehouse, "A report bounced", "jo@example.com does not take mail.", mailer=mailer)
    assert told == ["sam@example.com"]
    [written] = tmp_path.glob("*.eml")
    kept = BytesParser(policy=default).parsebytes(written.read_bytes())
    assert kept["To"] == "Sam Owner <sam@example.com>" and kept["Subject"] == "A report bounced"
    assert kept.get_content() == "jo@example.com does not take mail.\n"


def test_credentials_are_never_sent_to_a_relay_without_starttls(smtp_relay):
    relay, port = smtp_relay(Relay())
    with pytest.raises(SendError, match="cannot be used as configured: STARTTLS") as refused:
        Mailer(f"smtp://{CREDENTIALS}@127.0.0.1:{port}").send(note())
    assert not refused.value.retryable and relay.logins == [] and relay.received == []
