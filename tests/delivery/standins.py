"""Stand-ins for the providers on loopback servers: Twilio's Messages.json, Slack's Web API and
a webhook receiver, each answering as the provider documents (shared by the channel tests and
benchmarks/bench_delivery.py)."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import time
import uuid

from standardwebhooks import Webhook, WebhookVerificationError

from tests.delivery.loopback import Loopback, Reply, then

# --- Twilio -------------------------------------------------------------------------------------

SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"
SENDER = "+447700900000"
MESSAGES = rf"/2010-04-01/Accounts/{SID}/Messages\.json"


class TwilioStandIn:
    """Messages.json as Twilio documents it: create from a form, list newest first, filtered by To
    and DateSent>."""

    def __init__(self, server: Loopback):
        self.server = server
        self.messages: list[dict] = []
        self.create_faults: list[Reply] = []
        server.route("POST", MESSAGES, lambda request, match: self._faulty(request))
        server.route("GET", MESSAGES, lambda request, match: self._list(request))

    def _faulty(self, request) -> Reply:
        return self.create_faults.pop(0) if self.create_faults else self._create(request)

    def _create(self, request) -> Reply:
        form = request.form()
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
        sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": SID,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "2",
            "price": None,
            "price_unit": "GBP",
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
        }
        self.messages.insert(0, message)
        return Reply(201, message)

    def _list(self, request) -> Reply:
        to = request.query["To"][-1]
        after = dt.datetime.fromisoformat(request.query["DateSent>"][-1])
        found = [
            m
            for m in self.messages
            if m["to"] == to
            and email.utils.parsedate_to_datetime(m["date_sent"]) > after - dt.timedelta(seconds=1)
        ]
        uri = f"/2010-04-01/Accounts/{SID}/Messages.json"
        return Reply(
            200,
            {
                "messages": found,
                "end": len(found) - 1,
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )

    def creates(self):
        return self.server.received("POST", MESSAGES)


def twilio_error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


# --- Slack --------------------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-test-token"
SLACK_POST = "/api/chat.postMessage"


class SlackStandIn:
    """chat.postMessage, the three steps of files_upload_v2 and conversations.history, as Slack
    documents them; each method may be given faults to answer with first."""

    def __init__(self, server: Loopback):
        self.server = server
        self.history: dict[str, list[dict]] = {}  # channel -> messages, newest first
        self.uploads: dict[str, bytes] = {}  # file id -> content
        self.shared: list[dict] = []  # completed uploads: file, channel, thread
        self.faults: dict[str, list[Reply]] = {}
        self._clock = time.time()
        for method, path, answer in (
            ("POST", SLACK_POST, self._post),
            ("POST", "/api/files.getUploadURLExternal", self._upload_url),
            ("POST", r"/upload/(F\w+)", self._upload),
            ("POST", "/api/files.completeUploadExternal", self._complete),
            # Slack takes GET or POST here; the SDK sends POST.
            ("POST", "/api/conversations.history", self._history),
        ):
            server.route(method, path, self._checked(path, answer))

    def _checked(self, path, answer):
        def checked(request, match):
            if self.faults.get(path):
                return self.faults[path].pop(0)
            if path.startswith("/api/") and request.headers.get("authorization") != f"Bearer {SLACK_TOKEN}":
                return Reply(200, {"ok": False, "error": "invalid_auth"})
            return answer(request, match)

        return checked

    def _ts(self) -> str:
        self._clock += 0.0001
        return f"{self._clock:.6f}"

    def _post(self, request, _match) -> Reply:
        args = request.args()
        message = {
            "type": "message",
            "user": "UBOT",
            "text": args["text"],
            "ts": self._ts(),
            "blocks": args["blocks"],
        }
        message["metadata"] = args.get("metadata")
        self.history.setdefault(args["channel"], []).insert(0, message)
        return Reply(200, {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message})

    def _upload_url(self, _request, _match) -> Reply:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.uploads[file_id] = b""
        return Reply(
            200, {"ok": True, "upload_url": f"{self.server.url}/upload/{file_id}", "file_id": file_id}
        )

    def _upload(self, request, match) -> Reply:
        self.uploads[match[1]] = request.body
        return Reply(200, f"OK - {len(request.body)}")

    def _complete(self, request, _match) -> Reply:
        args = request.args()
        files = json.loads(args["files"])
        for f in files:
            self.shared.append(
                {"id": f["id"], "title": f["title"], **{k: args.get(k) for k in ("channel_id", "thread_ts")}}
            )
        return Reply(200, {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]})

    def _history(self, request, _match) -> Reply:
        args = request.args()
        messages = [
            m if args.get("include_all_metadata") == "1" else {k: v for k, v in m.items() if k != "metadata"}
            for m in self.history.get(args["channel"], [])
            if float(m["ts"]) > float(args.get("oldest") or 0)
        ]
        return Reply(200, {"ok": True, "messages": messages, "has_more": False})

    def posts(self):
        return self.server.received("POST", SLACK_POST)


# --- a webhook receiver -------------------------------------------------------------------------

HOOK = "/hooks/backroom"
SECRET = "whsec_" + base64.b64encode(b"the receiver's secret, 32 bytes!").decode()


class Receiver:
    """A receiver as the spec asks one to be written: verify with the secret it was given, keep
    each webhook-id once, answer 2xx."""

    def __init__(self, server: Loopback, secret: str, *faults: Reply):
        self.server = server
        self.secret = secret
        self.events: dict[str, dict] = {}  # webhook-id -> the verified event
        server.route("POST", HOOK, then(*faults, after=self._receive))

    def _receive(self, request, _match) -> Reply:
        try:
            event = Webhook(self.secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            return Reply(401, f"signature refused: {exc}")
        self.events.setdefault(request.headers["webhook-id"], event)
        return Reply(204)

    def posts(self):
        return self.server.received("POST", HOOK)
