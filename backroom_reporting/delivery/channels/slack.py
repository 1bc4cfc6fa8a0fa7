"""Slack: a Block Kit summary of the report in a channel, and its PDF in the message's thread.

The message carries metadata naming the delivery, by which `look_up` finds it in the
channel's history after a crash. The SDK's own retries are off: a refusal goes back to the
dispatcher, which waits what Slack asked (Retry-After) and tries once more, so nothing is
posted twice. Without SLACK_BOT_TOKEN the message goes to the outbox instead.
"""

from __future__ import annotations

import threading
import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from backroom_reporting import settings
from backroom_reporting.delivery import links
from backroom_reporting.delivery.model import CannotTell, DeliverableReport, Outcome, Parcel, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.rendering.formatting import format_count, format_money
from backroom_reporting.rendering.store import ReportStore

EVENT_TYPE = "backroom_report_delivered"
TIMEOUT_SECONDS = 30
# Block Kit's limits: a header's text, a section's text.
MAX_HEADER = 150
MAX_SECTION = 3000
# Errors of a request that never reached Slack, or whose answer was lost: worth another try.
UNREACHABLE = (urllib.error.URLError, TimeoutError, ConnectionError, SlackRequestError)


def summary(report: DeliverableReport, link: str) -> list[dict]:
    """The message's blocks: title, period, the headline figures, the warnings, a button to the report."""
    headline = report.headline
    figures = [
        {"type": "mrkdwn", "text": f"*{label}*\n{value}"}
        for label, value in (
            ("Revenue", None if headline.revenue_pence is None else format_money(headline.revenue_pence)),
            ("Admissions", None if headline.admissions is None else format_count(headline.admissions)),
        )
        if value is not None
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": report.title[:MAX_HEADER]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Period: *{report.period}*"}]},
    ]
    if report.stale:
        # First after the title: the figures below are of an earlier period than the one due.
        stale = (
            f":hourglass: *Stale: figures as of {report.period}.* The report for {report.stale.period} "
            f"could not be made: {report.stale.reason}."
        )
        blocks.insert(1, {"type": "section", "text": {"type": "mrkdwn", "text": stale[:MAX_SECTION]}})
    if figures:
        blocks.append({"type": "section", "fields": figures})
    if report.warnings:
        listed = "\n".join(f"• {warning}" for warning in report.warnings)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {listed}"[:MAX_SECTION]}}
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the report"},
                    "url": link,
                    "action_id": "open_report",
                }
            ],
        }
    )
    return blocks


def _fallback_text(report: DeliverableReport) -> str:
    """What notifications and screen readers show instead of the blocks."""
    headline = report.headline
    figures = [
        text
        for text in (
            None if headline.revenue_pence is None else f"{format_money(headline.revenue_pence)} taken",
            None if headline.admissions is None else f"{format_count(headline.admissions)} admissions",
        )
        if text
    ]
    stale = f"[Stale] figures as of {report.period}, " if report.stale else ""
    return f"{stale}{report.title}, {report.period}" + (f": {', '.join(figures)}" if figures else "")


def slack_client() -> WebClient | None:
    """Slack's client as configured now, without the SDK's own retries; None without
    SLACK_BOT_TOKEN (the outbox instead)."""
    token = settings.SLACK_BOT_TOKEN.get()
    if not token:
        return None
    return WebClient(
        token=token,
        base_url=settings.SLACK_BASE_URL.get() or WebClient.BASE_URL,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[],
    )


class SlackChannel:
    name = "slack"
    concurrency = 4

    def __init__(self, store: ReportStore, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()
        self.store = store
        self.client = slack_client()
        # chat.postMessage allows about one message a second per channel; the outbox has no rate.
        self.per_second = 1.0 if self.client else 0.0
        # Messages posted whose PDF is still to follow (an upload refused after the post): a
        # retry in this claim uploads the PDF into the thread and does not post again.
        self._posted: dict[str, str] = {}
        self._lock = threading.Lock()

    def message(self, parcel: Parcel) -> dict:
        """chat.postMessage's arguments for this parcel."""
        link = links.url("report", {"d": parcel.delivery_id})
        return {
            "channel": parcel.address,
            "text": _fallback_text(parcel.report),
            "blocks": summary(parcel.report, link),
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": parcel.delivery_id}},
            "unfurl_links": False,
        }

    def send(self, parcel: Parcel) -> Outcome:
        message = self.message(parcel)
        pdfs = [f for f in parcel.report.files if f.format == "pdf"]
        if self.client is None:
            attachments = [{"filename": f.name, "path": str(self.store.path_of(f.path))} for f in pdfs]
            return self.outbox.write_json(parcel.delivery_id, self.name, message | {"files": attachments})
        with self._lock:
            ts = self._posted.get(parcel.delivery_id)
        try:
            if ts is None:
                ts = self.client.chat_postMessage(**message)["ts"]
                with self._lock:
                    self._posted[parcel.delivery_id] = ts
            for pdf in pdfs:
                self.client.files_upload_v2(
                    channel=parcel.address,
                    thread_ts=ts,
                    file=str(self.store.path_of(pdf.path)),
                    filename=pdf.name,
                    title=pdf.name,
                )
        except SlackApiError as exc:
            raise slack_refusal(exc, parcel.address) from exc
        except UNREACHABLE as exc:
            raise SendError(f"Slack could not be reached ({exc})", retryable=True) from exc
        with self._lock:
            self._posted.pop(parcel.delivery_id, None)
        return Outcome("sent", provider_message_id=ts, detail=f"posted in {parcel.address}")

    def look_up(self, parcel: Parcel) -> Outcome | None:
        if self.client is None:
            return self.outbox.look_up(parcel.delivery_id, self.name)
        try:
            # The report was made before the delivery was claimed: nothing older can be it.
            pages = self.client.conversations_history(
                channel=parcel.address,
                oldest=f"{parcel.report.generated_at.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            )
            for page in pages:
                for message in page.get("messages", []):
                    metadata = message.get("metadata") or {}
                    if (
                        metadata.get("event_type") == EVENT_TYPE
                        and metadata.get("event_payload", {}).get("delivery_id") == parcel.delivery_id
                    ):
                        return Outcome(
                            "sent", provider_message_id=message["ts"], detail="found in the channel's history"
                        )
        except (SlackApiError, *UNREACHABLE) as exc:
            raise CannotTell(
                f"the history of Slack channel {parcel.address} could not be read ({exc})"
            ) from exc
        return None


def slack_refusal(exc: SlackApiError, channel: str) -> SendError:
    status = exc.response.status_code
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    if status == 429:
        wait = {k.lower(): v for k, v in exc.response.headers.items()}.get("retry-after")
        return SendError(
            f"Slack is rate limiting us ({error or 'ratelimited'})",
            retryable=True,
            retry_after=float(wait) if wait else None,
        )
    if status >= 500:
        return SendError(f"Slack answered {status} ({error or 'server error'})", retryable=True)
    return SendError(f"Slack refused the message to channel {channel} ({error})", retryable=False)
