"""Where report sections get their data: warehouse tables, read for a period and a venue.

A layout names a source by key; the registry says which table it is and how a report's
period and filters select its rows. Adding a table here makes it available to every
layout; a new layout over existing sources needs no Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from backroom_reporting.metrics.customers import SEGMENTS
from backroom_reporting.metrics.staff import TOP_PERFORMER_COLUMNS
from backroom_reporting.warehouse.source_contract import STAFF_ROLES
from backroom_reporting.warehouse.tables import aggregations, customers, events, kpis

PeriodKind = Literal["business_day", "business_week", "month"]
# How a source's rows belong to a period:
#   range    a date column within [first_day - look_back, last_day]
#   as_of    a date column equal to the period's last day (rankings as of a day)
#   starts   a period-start column equal to the period's first day, with a period-type column
#   week     a week-start column equal to the reported week's (weekly snapshots: analytics,
#            forecasts), so an old period re-renders as it was
Selection = Literal["range", "as_of", "starts", "week"]


@dataclass(frozen=True)
class TableSource:
    key: str
    table: sa.Table
    selection: Selection
    date_column: str | None = None
    period_type_column: str | None = None  # for "starts": the column holding day/week/month
    brand_column: str | None = None  # the subscription's brand filter applies here

    def columns(self) -> set[str]:
        return set(self.table.c.keys())


PERIOD_TYPE = {"business_day": "day", "business_week": "week", "month": "month"}

# Coded columns as a report reads them (at_risk -> At risk): a report never prints a code.
CODE_LABELS: dict[str, dict[str, str]] = {
    "segment": {code: code.replace("_", " ").capitalize() for code in SEGMENTS} | {"vip": "VIP"},
    "role": {code: code.capitalize() for code in STAFF_ROLES},
}

TABLE_SOURCES: dict[str, TableSource] = {
    s.key: s
    for s in (
        TableSource("daily_aggregations", aggregations.daily_aggregations, "range", "business_date"),
        TableSource("hourly_aggregations", aggregations.hourly_aggregations, "range", "business_date"),
        TableSource("weekly_summary", aggregations.weekly_summary, "range", "week_start"),
        TableSource("monthly_summary", aggregations.monthly_summary, "range", "month_start"),
        TableSource("kpi_calculations", kpis.kpi_calculations, "starts", "period_start", "period_type"),
        TableSource(
            "event_performance_analytics",
            events.event_performance_analytics,
            "range",
            "business_date",
            brand_column="brand",
        ),
        TableSource("staff_performance", customers.staff_performance, "range", "business_date"),
        TableSource("top_customers", customers.top_customers, "as_of", "business_date"),
        TableSource("customer_analytics", customers.customer_analytics, "week", "week_start"),
        TableSource("revenue_forecast", events.revenue_forecast, "week", "week_start"),
    )
}

# Sections computed in Python from the sources above (rendering/build.py), by the columns
# they give: what one table's rows cannot say on their own.
#   forecast_with_actuals   the reported week's forecast of the nights the venue is expected
#                           to trade, beside the nights it traded in the weeks up to it
#   top_performers_by_role  staff_performance over the period, ranked within each role
DERIVED_SOURCES: dict[str, frozenset[str]] = {
    "forecast_with_actuals": frozenset(
        {
            "business_date",
            "actual_pence",
            "predicted_pence",
            "lower_80_pence",
            "upper_80_pence",
            "lower_95_pence",
            "upper_95_pence",
        }
    ),
    "top_performers_by_role": frozenset(TOP_PERFORMER_COLUMNS),
}


def reported_week(last_day: dt.date) -> dt.date:
    """The first night of the week whose snapshot a period reports: the last business week
    ended by the period's last night (a business week's own; for a day or a month, the week
    that closed last, since an open week has no snapshot yet)."""
    sunday = last_day - dt.timedelta(days=(last_day.weekday() + 1) % 7)
    return sunday - dt.timedelta(days=6)


def period_condition(
    source: TableSource, kind: PeriodKind, first_day: dt.date, last_day: dt.date, look_back_days: int = 0
) -> sa.ColumnElement[bool]:
    """The rows of `source` that belong to a report period."""
    table = source.table
    if source.selection == "range":
        start = first_day - dt.timedelta(days=look_back_days)
        return table.c[source.date_column].between(start, last_day)
    if source.selection == "as_of":
        return table.c[source.date_column] == last_day
    if source.selection == "starts":
        return sa.and_(
            table.c[source.period_type_column] == PERIOD_TYPE[kind], table.c[source.date_column] == first_day
        )
    return table.c[source.date_column] == reported_week(last_day)
