"""Helpers shared by the subscription and sensor tests: report layouts and venues."""

from pathlib import Path

import polars as pl

from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema

# The templates' default schedules, as the specification gives them (Europe/London).
DAILY_CRON = "0 22 * * *"  # 10pm daily
WEEKLY_CRON = "0 9 * * 1"  # Monday 9am

LEEDS = {"backroom-leeds": "The Backroom Leeds"}


def write_layouts(folder: Path) -> Path:
    """Minimal valid daily_summary and weekly_summary layouts in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, cron, period in (
        ("daily_summary", DAILY_CRON, "business_day"),
        ("weekly_summary", WEEKLY_CRON, "business_week"),
    ):
        (folder / f"{key}.yaml").write_text(
            f"""
key: {key}
title: {key.replace("_", " ").title()}
version: 1
schedule:
  cron: "{cron}"
  timezone: Europe/London
period: {period}
formats: [pdf, html]
cache_ttl_minutes: 60
sections:
  - key: overview
    title: Overview
    type: summary
    source: executive_summary
""",
            encoding="utf-8",
        )
    return folder


def write_group_layouts(folder: Path) -> Path:
    """Minimal valid daily_summary and weekly_summary layouts, and group_daily_summary and
    group_weekly_summary (scope: group, every venue side by side), in `folder`."""
    write_layouts(folder)
    for key, cron, period in (
        ("group_daily_summary", DAILY_CRON, "business_day"),
        ("group_weekly_summary", WEEKLY_CRON, "business_week"),
    ):
        (folder / f"{key}.yaml").write_text(
            f"""
key: {key}
title: {key.replace("_", " ").title()}
version: 1
scope: group
schedule:
  cron: "{cron}"
  timezone: Europe/London
period: {period}
formats: [pdf, xlsx]
cache_ttl_minutes: 60
sections:
  - key: overview
    title: Overview
    type: summary
    source: group_overview
""",
            encoding="utf-8",
        )
    return folder


def set_venues(db: Database, venues: dict[str, str]) -> None:
    """Make `venues` (id -> name) the warehouse's raw_venues."""
    rows = [
        dict(
            venue_id=venue_id,
            name=name,
            city=name.rsplit(" ", 1)[-1],
            timezone="Europe/London",
            capacity=300,
            business_day_cutoff="06:00",
        )
        for venue_id, name in venues.items()
    ]
    db.replace(RAW["venues"], pl.DataFrame(rows, schema=table_schema(RAW["venues"]), orient="row"))
