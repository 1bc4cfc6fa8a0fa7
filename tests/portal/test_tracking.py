"""Open pixel and click redirect: recorded in the ledger from signed links only."""

from __future__ import annotations

import io

from PIL import Image

from backroom_reporting.delivery import ledger, links
from tests.portal.conftest import NIGHTS

TARGET = "https://reports.backroom-leeds.example/weekly?from=mail"


def history_of(portal, delivery_id: str) -> list[tuple[str, str]]:
    rows = ledger.history(portal.db, delivery_id).sort("event_id")
    return list(zip(rows["status"], rows["source"], strict=True))


def test_the_pixel_is_a_transparent_gif_that_records_the_open(portal, world):
    delivery_id = world.deliveries[NIGHTS[-1]]["email"]
    answer = portal.http.get(portal.path(links.url("open", {"d": delivery_id})))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    assert "no-store" in answer.headers["cache-control"]
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "GIF" and image.size == (1, 1)
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0  # fully transparent
    delivery = ledger.get(portal.db, delivery_id)
    assert delivery.status == "opened"
    assert delivery.opened_at is not None
    assert history_of(portal, delivery_id)[-1] == ("opened", "tracking")


def test_a_forged_pixel_still_answers_the_gif_and_records_nothing(portal, world):
    delivery_id = world.deliveries[NIGHTS[-1]]["email"]
    before = history_of(portal, delivery_id)
    genuine = portal.http.get(portal.path(links.url("open", {"d": "dlv-x"}))).content
    for token in (
        links.token("open", {"d": delivery_id}, secret="guessed"),
        links.token("click", {"d": delivery_id}),
    ):
        answer = portal.http.get(f"/t/o/{token}")
        assert answer.status_code == 200
        assert answer.content == genuine
    assert history_of(portal, delivery_id) == before
    assert ledger.get(portal.db, delivery_id).status == "sent"


def test_a_click_is_recorded_and_sent_on_to_the_signed_target(portal, world):
    delivery_id = world.deliveries[NIGHTS[0]]["email"]
    answer = portal.http.get(portal.path(links.url("click", {"d": delivery_id, "u": TARGET})))
    assert answer.status_code == 303
    assert answer.headers["location"] == TARGET
    delivery = ledger.get(portal.db, delivery_id)
    assert delivery.status == "clicked"
    # A click is an open the pixel did not see.
    assert delivery.clicked_at is not None and delivery.opened_at == delivery.clicked_at
    assert history_of(portal, delivery_id)[-1] == ("clicked", "tracking")


def test_a_forged_click_or_a_target_that_is_not_a_web_page_is_refused(portal, world):
    delivery_id = world.deliveries[NIGHTS[0]]["email"]
    before = history_of(portal, delivery_id)
    forged = links.token("click", {"d": delivery_id, "u": "https://evil.example/"}, secret="guessed")
    answer = portal.http.get(f"/t/c/{forged}")
    assert answer.status_code == 403
    assert "location" not in answer.headers
    script = portal.http.get(portal.path(links.url("click", {"d": delivery_id, "u": "javascript:alert(1)"})))
    assert script.status_code == 403
    assert history_of(portal, delivery_id) == before
