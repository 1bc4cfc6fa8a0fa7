"""Subscriptions that share a template version, a period and filters share their report: in
one run its data is built once and each file rendered once, and every subscription is handed
the same bytes, its history row naming the generation that made them."""

import dataclasses
from collections import Counter

import dagster as dg

from backroom_reporting.subscriptions import service
from tests.reports.volume import SUNDAY_2200, due_copies, files_of, history, launch, sensor_tick

# Owner's (pdf, xlsx) and finance's (xlsx, csv) daily reports: one template, period and venue.
COPIES = {
    **{f"sub-share-{i:02d}": "sub-owner-daily" for i in range(4)},
    **{f"sub-share-{i:02d}": "sub-finance-daily" for i in range(4, 7)},
}
NARROWED = "sub-share-07"  # the owner's daily narrowed to one brand of night: a report of its own


def test_a_report_shared_by_subscriptions_is_built_and_rendered_once(venue):
    due_copies(venue, {**COPIES, NARROWED: "sub-owner-daily"})
    narrowed = service.get_subscription(venue.db, NARROWED)
    service.store(
        venue.db,
        subscriptions=[dataclasses.replace(narrowed, filters={**narrowed.filters, "brand": "NOSTALGIA"})],
    )
    subscriptions = {s.subscription_id: s for s in service.list_subscriptions(venue.db)}
    mine = [*COPIES, NARROWED]
    [request] = sensor_tick(venue, SUNDAY_2200)[0]
    result = launch(venue, request)
    assert result.success

    rows = history(venue, mine)
    # What the test expects, from the subscriptions alone: one report per distinct filters.
    reports = {tuple(sorted(subscriptions[s].filters.items())) for s in mine}
    report_from = {
        e.materialization.partition: e.materialization.metadata["report_from"].value
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("subscription_reports")
    }
    assert len(set(report_from.values())) == len(reports) == 2
    # The builders are among the run's own generations: one of the shared, and the narrowed one.
    assert report_from[NARROWED] == rows[NARROWED]["generation_id"]
    shared = {report_from[s] for s in COPIES}
    assert len(shared) == 1 and shared <= {rows[s]["generation_id"] for s in COPIES}

    # Each format of the shared report: the same bytes for everyone, made by one generation.
    by_format: dict[str, set[str]] = {}
    makers: Counter[str] = Counter()
    for subscription_id in COPIES:
        for fmt, file in files_of(rows[subscription_id]).items():
            by_format.setdefault(fmt, set()).add(file["sha256"])
            makers[fmt] += file["reused_from"] is None
            if file["reused_from"] is not None:
                assert file["reused_from"] in {rows[s]["generation_id"] for s in COPIES}
            assert venue.store.path_of(file["path"]).is_file()
    wanted = {f for s in COPIES for f in subscriptions[s].formats}
    assert set(by_format) == wanted == {"pdf", "xlsx", "csv"}
    assert {fmt: len(hashes) for fmt, hashes in by_format.items()} == dict.fromkeys(wanted, 1)
    assert makers == Counter(dict.fromkeys(wanted, 1))
    # The narrowed report is its own: none of its files came from the others.
    narrowed_files = files_of(rows[NARROWED])
    assert all(f["reused_from"] is None for f in narrowed_files.values())
    assert narrowed_files["pdf"]["sha256"] not in by_format["pdf"]

    # Two distinct reports want a PDF: both were printed beside the run, ahead of their turn.
    distinct_pdfs = {
        tuple(sorted(subscriptions[s].filters.items())) for s in mine if "pdf" in subscriptions[s].formats
    }
    printed_ahead = {
        e.materialization.metadata["printed_ahead"].value
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("report_generation_history")
    }
    assert printed_ahead == {len(distinct_pdfs)} == {2}
