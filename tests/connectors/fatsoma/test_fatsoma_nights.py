"""Fatsoma's orders as the deployment's ticket sales, night by night: the same contract and
quarantine as every source, figures from Fatsoma alone (never also the booking system's
ticket_sales), a re-run that changes nothing, and an event renamed and moved in Fatsoma
moving its tickets' revenue from the old night to the new one through the raw loads the
sensor asks for and the automation that follows them. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.definitions import defs
from backroom_reporting.schedules.fatsoma import fatsoma_reload
from backroom_reporting.schedules.nightly import CHANGED_TABLES_TAG, closing_run_schedule
from backroom_reporting.sensors.fatsoma import fatsoma_nights
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import check_ins as booked_scans
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine
from tests.connectors.fatsoma.fatsoma_stub import order
from tests.connectors.fatsoma.ticket_world import (
    FRI,
    NIGHTS,
    SAT,
    SUN,
    build_nights,
    expected_ticket_figures,
    latest,
    pull,
    stamp,
    wired,
)
from tests.worlds import LONDON, at


def ticket_figures(databases) -> tuple[dict, dict]:
    rows = databases.warehouse.read_table(daily_aggregations).to_dicts()
    assert {r["business_date"] for r in rows} == set(NIGHTS)
    return (
        {r["business_date"]: r["ticket_revenue_pence"] for r in rows},
        {r["business_date"]: r["ticket_sales_taken_pence"] for r in rows},
    )


def with_zeros(figures: dict) -> dict:
    return {night: figures.get(night, 0) for night in NIGHTS}


def raw_orders(databases) -> dict[str, dict]:
    return {r["order_id"]: r for r in databases.warehouse.read_table(RAW["ticket_sales"]).to_dicts()}


def test_the_nights_ticket_figures_are_fatsomas_alone(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    build_nights(world, fatsoma, instance)
    revenue, taken = expected_ticket_figures(stub)
    # Worked out by hand from the stand-in's records, to be sure the helper is right too:
    # Friday's event sold o1 (£21.60 net, bought Thursday) and o2 (£10.80); Saturday's o4
    # (£43.20); o3 was refunded; o5 has no total; o6 is for an event at an unmapped venue.
    assert revenue == {FRI: 3240, SAT: 4320}
    assert (with_zeros(revenue), with_zeros(taken)) == ticket_figures(world)
    # The booking system's own ticket_sales (one order a night) are not read at all.
    assert sorted(raw_orders(world)) == ["o1", "o2", "o3", "o4"]
    assert raw_orders(world)["o3"]["status"] == "refunded"
    quarantined = {
        r["record_id"]: r
        for r in world.warehouse.read_table(raw_quarantine).to_dicts()
        if r["source_table"] == "ticket_sales"
    }
    assert sorted(quarantined) == ["o5", "o6"]
    assert quarantined["o5"]["reason"] == "missing_required"
    assert quarantined["o5"]["detail"] == "missing_required: gross_pence is required but empty"
    assert quarantined["o6"]["reason"] == "unknown_reference"
    assert "event_id='fz-away' is not a known events row" in quarantined["o6"]["detail"]
    # Door scans are checked against Fatsoma's orders: Sunday's ticket (in and out) is one
    # Fatsoma lacks; Friday's and Saturday's are Fatsoma's o2 and o4.
    scans = [
        r for r in world.warehouse.read_table(raw_quarantine).to_dicts() if r["source_table"] == "check_ins"
    ]
    assert [(r["business_date"], r["reason"]) for r in scans] == [(SUN, "unknown_reference")] * 2
    assert "order_id='o-not-in-fatsoma' is not a known ticket_sales row" in scans[0]["detail"]
    events = {
        r["record_id"]: r["detail"]
        for r in world.warehouse.read_table(raw_quarantine).to_dicts()
        if r["source_table"] == "events"
    }
    assert events == {
        "fz-away": "unknown_reference: venue_id='fatsoma-location:loc-york' is not a known venues row"
    }
    # Fatsoma's events join the booking system's in raw_events.
    held = {r["event_id"] for r in world.warehouse.read_table(RAW["events"]).to_dicts()}
    assert {"fz-fri", "fz-sat"} <= held and {f"e-{night}" for night in NIGHTS} <= held


def test_pulling_and_building_again_changes_nothing(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    build_nights(world, fatsoma, instance)
    first = (raw_orders(world), ticket_figures(world), world.warehouse.read_table(raw_quarantine).height)
    pull(world, fatsoma, instance)
    build_nights(world, fatsoma, instance)
    assert (
        raw_orders(world),
        ticket_figures(world),
        world.warehouse.read_table(raw_quarantine).height,
    ) == first


def test_an_event_renamed_and_moved_in_fatsoma_moves_its_night(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    definitions = wired(world, fatsoma)
    # The sensor's look at the first pull: Thursday to Saturday's purchases, in one range.
    look = dg.build_sensor_context(instance=instance, definitions=definitions)
    [loads] = fatsoma_nights(look)
    assert (
        loads.tags["dagster/asset_partition_range_start"],
        loads.tags["dagster/asset_partition_range_end"],
    ) == (
        str(NIGHTS[0]),
        str(NIGHTS[2]),
    )
    build_nights(world, fatsoma, instance)
    daily = dg.AssetSelection.assets("daily_aggregations")
    # The automation's first look, after the nights were built: nothing new to do.
    first = dg.evaluate_automation_conditions(definitions, instance, asset_selection=daily)
    # The promoter moves Friday's night to Sunday and renames it.
    friday = next(e for e in stub.records["events"] if e["id"] == "fz-fri")
    friday["attributes"] |= {
        "name": "LA FIESTA Sunday Special",
        "starts-at": at(SUN, "21:00").isoformat(),
        "ends-at": at(SUN, "03:00").isoformat(),
        "updated-at": stamp(500).isoformat(),
    }
    pull(world, fatsoma, instance)
    # The sensor asks for the raw loads of the old night and the new one.
    requests = fatsoma_nights(
        dg.build_sensor_context(instance=instance, definitions=definitions, cursor=look.cursor)
    )
    assert sorted(r.partition_key for r in requests) == [str(FRI), str(SUN)]
    for request in requests:
        dg.materialize(
            list(definitions.assets),
            selection=["raw_events", "raw_ticket_sales"],
            partition_key=request.partition_key,
            instance=instance,
            resources=definitions.resources,
            tags=request.tags,
        )
    moved = next(r for r in world.warehouse.read_table(RAW["events"]).to_dicts() if r["event_id"] == "fz-fri")
    assert moved["name"] == "LA FIESTA Sunday Special" and moved["starts_at"] == at(SUN, "21:00")
    # Those loads updated the nights: the automation recomputes both (Saturday too, which
    # reads Friday's presales), and nothing beyond the built nights.
    result = dg.evaluate_automation_conditions(
        definitions, instance, asset_selection=daily, cursor=first.cursor
    )
    requested = set(result.get_requested_partitions(dg.AssetKey("daily_aggregations")))
    assert {str(FRI), str(SUN)} <= requested <= {str(n) for n in NIGHTS}
    dg.materialize(
        list(definitions.assets),
        selection=["daily_aggregations"],
        instance=instance,
        resources=definitions.resources,
        tags={
            "dagster/asset_partition_range_start": min(requested),
            "dagster/asset_partition_range_end": max(requested),
        },
    )
    revenue, taken = expected_ticket_figures(stub)
    assert revenue[SUN] == 3240 and FRI not in revenue
    assert (with_zeros(revenue), with_zeros(taken)) == ticket_figures(world)
    # The moved event's orders were not touched: no order changed, so none was reloaded for it.
    assert latest(stub.records["orders"]).keys() >= raw_orders(world).keys()


def test_the_code_location_wires_the_connector_to_its_settings():
    resource = defs.resources["fatsoma"]
    assert resource.tickets_source is None and resource.base_url is None  # read when a run starts


def test_the_closing_runs_recheck_compares_fatsomas_nights_with_what_landed(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    build_nights(world, fatsoma, instance)
    # Sunday 14:00 Saturday's o4 is refunded in Fatsoma and the next pull lands it.
    o4 = next(o for o in stub.records["orders"] if o["id"] == "o4")
    o4["attributes"] |= {
        "status": "refunded",
        "refunded-at": at(SUN, "14:00").isoformat(),
        "updated-at": stamp(600).isoformat(),
    }
    pull(world, fatsoma, instance)
    definitions = wired(world, fatsoma)
    monday = dt.datetime(2026, 3, 30, 6, 15, tzinfo=LONDON)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=monday, resources=definitions.resources
    ) as context:
        requests = closing_run_schedule(context)
    changed = {}
    for request in requests:
        changed |= json.loads(request.tags[CHANGED_TABLES_TAG])
    # Of the nights loaded before (nights never loaded count as changed), only Saturday's
    # tickets changed; the booking system's ticket_sales, which no longer feed the raw layer,
    # make no night look changed.
    loaded = {str(night) for night in NIGHTS[:3]}
    assert {day: tables for day, tables in changed.items() if day in loaded} == {str(SAT): ["ticket_sales"]}


def test_a_door_scan_of_an_order_fatsoma_lands_late_is_kept_once_it_lands(world, stub, fatsoma, instance):
    """A walk-up ticket bought at the door and scanned before the next pull: the scan names an
    order not landed yet and is quarantined; the pull that lands the order reloads its night's
    door scans, and the scan is kept."""
    scans = RAW["check_ins"]
    with Database(world.source_url) as source:
        walk_up = source.read_table(booked_scans, booked_scans.c.order_id == "o4")["check_in_id"][0]
        with source.engine.begin() as conn:
            conn.execute(
                sa.update(booked_scans)
                .where(booked_scans.c.check_in_id == walk_up)
                .values(order_id="o-walk-up")
            )
    pull(world, fatsoma, instance)
    definitions = wired(world, fatsoma)
    look = dg.build_sensor_context(instance=instance, definitions=definitions)
    fatsoma_nights(look)  # the first pull's nights: built below, as the other tests do
    build_nights(world, fatsoma, instance)
    held = {r["record_id"]: r for r in world.warehouse.read_table(raw_quarantine).to_dicts()}
    assert held[walk_up]["reason"] == "unknown_reference" and "o-walk-up" in held[walk_up]["detail"]

    stub.records["orders"].append(order("o-walk-up", "fz-sat", at(SAT, "23:40"), stamp(700)))
    pull(world, fatsoma, instance)
    requests = fatsoma_nights(
        dg.build_sensor_context(instance=instance, definitions=definitions, cursor=look.cursor)
    )
    assert [r.partition_key for r in requests] == [str(SAT)]
    for request in requests:
        dg.materialize(
            list(definitions.assets),
            selection=fatsoma_reload.selection,
            partition_key=request.partition_key,
            instance=instance,
            resources=definitions.resources,
            tags=request.tags,
        )
    kept = world.warehouse.read_table(scans, scans.c.check_in_id == walk_up)
    assert kept["order_id"].to_list() == ["o-walk-up"]
    assert walk_up not in {r["record_id"] for r in world.warehouse.read_table(raw_quarantine).to_dicts()}
