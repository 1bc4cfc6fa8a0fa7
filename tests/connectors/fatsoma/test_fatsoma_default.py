"""The embedded default: tickets from the booking system. The connector then asks Fatsoma
nothing (the demo needs no network), its schedule skips, and the raw layer reads the
booking system's ticket_sales as before; a deployment switched to Fatsoma without a key is
told, in one sentence, what to set."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from backroom_reporting.connectors.fatsoma import FatsomaResource, parse_venues
from backroom_reporting.schedules.fatsoma import fatsoma_sync_schedule
from backroom_reporting.warehouse.tables.raw import RAW
from tests.connectors.fatsoma.ticket_world import WINDOW, build_nights, pull
from tests.worlds import source_rows


@pytest.fixture
def booking_tickets(stub) -> FatsomaResource:
    """The connector as a deployment that did not switch has it: pointed at the stand-in,
    with a key, but tickets from the booking system."""
    return FatsomaResource(tickets_source="booking_system", base_url=stub.base_url, api_key="k", venues="")


def test_with_tickets_from_the_booking_system_fatsoma_is_never_asked(world, stub, booking_tickets, instance):
    result = pull(world, booking_tickets, instance)
    build_nights(world, booking_tickets, instance, WINDOW)
    assert stub.server.requests == []
    for asset in ("fatsoma_events", "fatsoma_orders"):
        [m] = result.asset_materializations_for_node(asset)
        assert m.metadata["pulled"].value is False
    loaded = {r["order_id"] for r in world.warehouse.read_table(RAW["ticket_sales"]).to_dicts()}
    assert loaded == {r["order_id"] for r in source_rows(world.source_url, "ticket_sales")}


def test_the_schedule_skips_while_tickets_come_from_the_booking_system(booking_tickets, fatsoma):
    tick = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 27, 12, 15, tzinfo=dt.UTC))
    skipped = fatsoma_sync_schedule(tick, fatsoma=booking_tickets)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == (
        "Tickets come from the booking system (BACKROOM_TICKETS_SOURCE): nothing to pull."
    )
    request = fatsoma_sync_schedule(tick, fatsoma=fatsoma)
    assert isinstance(request, dg.RunRequest) and request.run_key == "fatsoma:2026-03-27T12:15:00+00:00"


def test_switched_to_fatsoma_without_a_key_says_what_to_set(monkeypatch):
    monkeypatch.delenv("FATSOMA_API_KEY", raising=False)
    with pytest.raises(dg.Failure) as raised:
        FatsomaResource(tickets_source="fatsoma").api()
    assert raised.value.description == (
        "Tickets come from Fatsoma but FATSOMA_API_KEY is not set: set it, "
        "or BACKROOM_TICKETS_SOURCE=booking_system."
    )
    with pytest.raises(dg.Failure) as raised:
        FatsomaResource(tickets_source="eventbrite").for_tickets()
    assert (
        raised.value.description
        == "BACKROOM_TICKETS_SOURCE='eventbrite' is neither booking_system nor fatsoma."
    )


def test_the_settings_reach_the_resource_when_a_run_starts(monkeypatch):
    monkeypatch.setenv("BACKROOM_TICKETS_SOURCE", "fatsoma")
    monkeypatch.setenv("FATSOMA_API_KEY", "from-the-environment")
    monkeypatch.setenv("FATSOMA_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("FATSOMA_VENUES", "loc-a=leeds, loc-b=york")
    resource = FatsomaResource()
    assert resource.for_tickets() and resource.venue_map() == {"loc-a": "leeds", "loc-b": "york"}
    with resource.api() as api:
        assert api.base_url == "http://127.0.0.1:1/v1" and api.headers == {
            "Authorization": "Bearer from-the-environment"
        }
    with pytest.raises(ValueError, match="'loc-c' is not location-id=venue-id"):
        parse_venues("loc-a=leeds,loc-c")
