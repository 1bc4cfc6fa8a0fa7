"""Reading Fatsoma over HTTP: retries with backoff on 5xx, timeouts and dropped connections,
429 honouring Retry-After, one sentence when the tries run out, pages followed by links.next."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket

import pytest

from backroom_reporting.connectors.http import ConnectorFault, JsonApi, retry_after
from tests.connectors.fatsoma.fatsoma_stub import FatsomaStub, event
from tests.delivery.loopback import Reply

T = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)


def api(stub: FatsomaStub, waits: list[float], **overrides) -> JsonApi:
    settings = dict(base_url=stub.base_url, timeout_seconds=0.5, max_retries=3, backoff_seconds=0.01)
    settings |= overrides
    return JsonApi(
        name="Fatsoma",
        headers={"Authorization": "Bearer k"},
        credential_hint="FATSOMA_API_KEY",
        sleep=waits.append,
        **settings,
    )


def some_events(stub: FatsomaStub, count: int) -> list[str]:
    ids = [f"ev-{i}" for i in range(count)]
    stub.records["events"] = [event(i, f"LA FIESTA {i}", T, T + dt.timedelta(hours=5), T) for i in ids]
    return ids


def test_every_page_is_followed_by_its_next_link(stub):
    ids = some_events(stub, 7)
    waits: list[float] = []
    with api(stub, waits) as client:
        pages = list(client.pages("events", {"page[size]": "100"}))
    # The stand-in caps pages at 3 records: 3 + 3 + 1, each asked for with the key.
    assert [[r["id"] for r in page] for page in pages] == [ids[0:3], ids[3:6], ids[6:7]]
    served = stub.pages_served("events")
    assert len(served) == 3 and waits == []
    assert {r.headers["authorization"] for r in served} == {"Bearer k"}


def test_a_collection_paged_by_number_is_followed_by_number(stub):
    """As Fatsoma's public events endpoint pages: `page[number]` and `meta.total-pages`, no next link."""
    ids = some_events(stub, 5)

    def by_number(request, match):
        number = int(request.query.get("page[number]", ["1"])[0])
        page = stub.records["events"][(number - 1) * 2 : number * 2]
        return Reply(200, {"data": page, "links": {}, "meta": {"total-pages": 3}})

    stub.server._routes.clear()
    stub.server.route("GET", r"/v1/events", by_number)
    with api(stub, []) as client:
        pages = list(client.pages("events", {"page[size]": "2"}))
    assert [[r["id"] for r in page] for page in pages] == [ids[0:2], ids[2:4], ids[4:5]]


def test_a_429_waits_as_long_as_its_retry_after_says_then_goes_on(stub):
    some_events(stub, 2)
    stub.fail_next(Reply(429, {"errors": [{"status": "429"}]}, {"Retry-After": "2"}))
    waits: list[float] = []
    with api(stub, waits) as client:
        document = client.get("events")
    assert len(document["data"]) == 2
    assert waits == [2.0]
    assert len(stub.pages_served("events")) == 2


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    now = dt.datetime(2026, 3, 27, 12, 0, 0, tzinfo=dt.UTC)
    date = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert retry_after(date, now) == 90.0
    assert retry_after("7", now) == 7.0
    assert retry_after(email.utils.format_datetime(now - dt.timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_a_500_and_a_timeout_are_tried_again_with_growing_backoff(stub):
    some_events(stub, 1)
    stub.fail_next(Reply(500, "upstream exploded"), 1.5)  # the second stalls past the 0.5 s timeout
    waits: list[float] = []
    with api(stub, waits) as client:
        assert [r["id"] for r in client.get("events")["data"]] == ["ev-0"]
    assert len(waits) == 2
    # Full jitter: each wait is at most the base times 2^attempt.
    assert 0 <= waits[0] <= 0.01 and 0 <= waits[1] <= 0.02


def test_retries_run_out_in_one_sentence(stub):
    stub.fail_next(*[Reply(503, "busy")] * 4)
    waits: list[float] = []
    with api(stub, waits) as client, pytest.raises(ConnectorFault) as raised:
        client.get("events")
    fault = raised.value
    assert fault.transient
    assert fault.sentence == (
        "Fatsoma answered 503 at /v1/events on all 4 tries: check its status page and the base URL; "
        "the next scheduled pull resumes where this one stopped."
    )
    assert len(stub.pages_served("events")) == 4 and len(waits) == 3


def test_a_refused_key_is_not_retried_and_names_the_setting(stub):
    stub.fail_next(Reply(401, {"errors": [{"title": "Unauthorized"}]}))
    waits: list[float] = []
    with api(stub, waits) as client, pytest.raises(ConnectorFault) as raised:
        client.get("events")
    assert not raised.value.transient
    assert raised.value.sentence == (
        "Fatsoma refused the credentials (401 at /v1/events): check FATSOMA_API_KEY."
    )
    assert waits == []


def test_a_body_that_is_not_json_is_tried_again(stub):
    some_events(stub, 1)
    stub.fail_next(Reply(200, "<html>maintenance</html>"))
    waits: list[float] = []
    with api(stub, waits) as client:
        assert len(client.get("events")["data"]) == 1
    assert len(waits) == 1


def test_an_unreachable_api_is_a_transient_fault(stub):
    # A port of loopback that was free a moment ago: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    unreachable = api(stub, waits, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    with unreachable as client, pytest.raises(ConnectorFault) as raised:
        client.get("events")
    assert raised.value.transient
    assert raised.value.sentence.startswith(
        "Fatsoma could not be reached (ConnectError) at /v1/events on all 2 tries"
    )
    assert len(waits) == 1


def test_a_retry_after_beyond_what_a_step_waits_ends_the_pull(stub):
    stub.fail_next(Reply(429, "slow down", {"Retry-After": "3600"}))
    waits: list[float] = []
    with api(stub, waits) as client, pytest.raises(ConnectorFault) as raised:
        client.get("events")
    assert raised.value.transient and "3600 s" in raised.value.sentence
    assert waits == []
