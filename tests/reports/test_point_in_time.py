"""A weekly report for an earlier week re-renders as it was sent: its customer segments and
forecast are that week's snapshots, whatever happens after it."""

import datetime as dt
import shutil

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.backfill import backfill
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse import source_contract
from backroom_reporting.warehouse.database import Database
from tests.assets.conftest import definitions_for
from tests.conftest import Databases
from tests.reports.conftest import REPORT_ASSETS
from tests.reports.test_build import build

OLD_WEEK, LATER_WEEK = dt.date(2026, 11, 9), dt.date(2026, 11, 16)
SNAPSHOT_SECTIONS = ("revenue", "customers")


def snapshot_sections(db: Database, monday: dt.date) -> dict:
    sections = {s.key: s for s in build(db, "weekly_summary", monday).sections}
    revenue, customers = sections["revenue"], sections["customers"]
    return {"revenue": (revenue.chart.data, revenue.paragraphs), "customers": customers.table}


def same(a: dict, b: dict) -> bool:
    return (
        a["revenue"][0].equals(b["revenue"][0])
        and a["revenue"][1] == b["revenue"][1]
        and a["customers"].equals(b["customers"])
    )


def test_an_old_week_re_renders_the_same_after_later_weeks_are_materialised(reporting_world, tmp_path):
    world = reporting_world.databases
    copies = Databases("sqlite", f"sqlite:///{tmp_path}/booking.db", f"sqlite:///{tmp_path}/warehouse.db")
    for url, copy in ((world.source_url, copies.source_url), (world.warehouse_url, copies.warehouse_url)):
        shutil.copy(url.removeprefix("sqlite:///"), copy.removeprefix("sqlite:///"))
    db = Database(copies.warehouse_url)
    old_before, later_before = snapshot_sections(db, OLD_WEEK), snapshot_sections(db, LATER_WEEK)
    with db.engine.connect() as conn:
        segments = dict(
            conn.execute(
                sa.text(
                    "SELECT segment, COUNT(*) FROM customer_analytics "
                    "WHERE venue_id = 'backroom-leeds' AND week_start = :monday GROUP BY segment"
                ),
                {"monday": OLD_WEEK.isoformat()},
            ).all()
        )
    # The old week shows its own snapshot: the segments counted in the week's rows.
    words = {"at_risk": "At risk", "vip": "VIP"}  # segments read as words, never codes
    segments = {words.get(code, code.capitalize()): count for code, count in segments.items()}
    assert segments and dict(old_before["customers"].select("segment", "customers").rows()) == segments

    # New facts arrive for the later week (the bar took half as much again) and the later
    # week's figures, customers and forecast are made again from them.
    sales = source_contract.bar_transactions
    night = BusinessWindow(LATER_WEEK, LATER_WEEK + dt.timedelta(days=6))
    source = sa.create_engine(copies.source_url)
    with source.begin() as conn:
        conn.execute(
            sa.update(sales)
            .where(sales.c.occurred_at >= night.start, sales.c.occurred_at < night.end)
            .values(amount_pence=sales.c.amount_pence * 3 // 2)
        )
    source.dispose()
    graph = definitions_for(copies)
    keys = [
        k for k in graph.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in REPORT_ASSETS
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        backfill(graph, night, instance, selection=keys)

    later_after = snapshot_sections(db, LATER_WEEK)
    assert not later_after["revenue"][0].equals(later_before["revenue"][0])  # the later week did change
    assert same(snapshot_sections(db, OLD_WEEK), old_before)
