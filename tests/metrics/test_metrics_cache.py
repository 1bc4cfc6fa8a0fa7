"""The report metrics cache: scorecard entries, live reads and expiry, on SQLite and PostgreSQL."""

import datetime as dt
import json

import polars as pl
import pytest
import yaml

from backroom_reporting.metrics import kpis
from backroom_reporting.metrics.metrics_cache import (
    KPI_SCORECARD,
    cache_key,
    drop_expired,
    live_entry,
    period_kpis,
    scorecard_entries,
)
from backroom_reporting.warehouse.tables.kpis import kpi_calculations, report_metrics_cache
from backroom_reporting.warehouse.types import table_schema

COMPUTED_AT = dt.datetime(2026, 3, 29, 5, 30, tzinfo=dt.UTC)


def kpi(key: str, calculation: str, ttl: int | None = None, **more) -> dict:
    entry = dict(
        key=key,
        name=key.replace("_", " ").title(),
        description=f"{key} for the test.",
        category="bookings",
        unit="fraction",
        metric={"numerator": "no_shows", "denominator": "bookings_confirmed"},
        target=0.05,
        warning=0.1,
        critical=0.2,
        direction="lower_better",
        calculation=calculation,
    )
    if ttl is not None:
        entry["cache_ttl_minutes"] = ttl
    return entry | more


DEFINITIONS = kpis.parse_catalogue(
    yaml.safe_dump(
        {
            "version": 1,
            "kpis": [
                kpi("live_rate", "real_time"),
                kpi("slow_rate", "cached", 60),
                kpi("quick_rate", "cached", 20),
                kpi("switched_off", "cached", 5, enabled=False),
            ],
        }
    ).encode()
).definitions


def calculation(
    venue: str, period_type: str, start: dt.date, end: dt.date, key: str, value: float | None
) -> dict:
    return dict(
        venue_id=venue,
        period_type=period_type,
        period_start=start,
        kpi_key=key,
        period_end=end,
        value=value,
        value_week_ago=0.08,
        value_month_ago=None,
        value_year_ago=0.12,
        change_week_ago=0.25,
        change_month_ago=None,
        change_year_ago=-1 / 6,
        trailing_periods=3,
        trailing_min=0.05,
        trailing_max=0.15,
        trailing_mean=0.1,
        trailing_stddev=0.05,
        status="warning" if value is not None else None,
        trend="flat" if value is not None else None,
        catalogue_hash="abc123",
        computed_at=COMPUTED_AT,
        expires_at=None,
    )


def test_a_scorecard_holds_the_cached_kpis_of_one_venue_and_period():
    saturday, week = dt.date(2026, 3, 28), dt.date(2026, 3, 23)
    rows = [
        calculation("leeds", "day", saturday, saturday, key, value)
        for key, value in (
            ("live_rate", 0.3),
            ("slow_rate", 0.1),
            ("quick_rate", None),
            ("switched_off", 0.5),
        )
    ] + [
        calculation("leeds", "week", week, dt.date(2026, 3, 29), "slow_rate", 0.12),
        calculation("york", "day", saturday, saturday, "slow_rate", 0.11),
    ]
    entries = scorecard_entries(pl.DataFrame(rows), DEFINITIONS, COMPUTED_AT)
    assert entries["cache_key"].to_list() == [
        "kpi_scorecard/leeds/day/2026-03-28",
        "kpi_scorecard/leeds/week/2026-03-23",
        "kpi_scorecard/york/day/2026-03-28",
    ]
    assert set(entries["metric"]) == {KPI_SCORECARD}
    # The shortest TTL of the enabled cached KPIs: 20 minutes (the disabled one's 5 does not count).
    assert set(entries["expires_at"]) == {COMPUTED_AT + dt.timedelta(minutes=20)}
    leeds_day = json.loads(entries["value_json"][0])
    assert leeds_day["catalogue_hash"] == "abc123"
    # Real-time and disabled KPIs are never served from the cache; order is catalogue order.
    assert list(leeds_day["kpis"]) == ["slow_rate", "quick_rate"]
    assert leeds_day["kpis"]["slow_rate"] == {
        "name": "Slow Rate",
        "unit": "fraction",
        "direction": "lower_better",
        "target": 0.05,
        "value": 0.1,
        "status": "warning",
        "trend": "flat",
        "value_week_ago": 0.08,
        "value_month_ago": None,
        "value_year_ago": 0.12,
        "change_week_ago": 0.25,
        "change_month_ago": None,
        "change_year_ago": -1 / 6,
        "trailing_mean": 0.1,
    }
    assert leeds_day["kpis"]["quick_rate"]["value"] is None
    week_row = entries.row(1, named=True)
    assert (week_row["period_type"], week_row["period_start"], week_row["period_end"]) == (
        "week",
        week,
        dt.date(2026, 3, 29),
    )


def test_without_cached_kpis_there_is_nothing_to_cache():
    only_live = DEFINITIONS.filter(pl.col("calculation") == "real_time")
    saturday = dt.date(2026, 3, 28)
    rows = pl.DataFrame([calculation("leeds", "day", saturday, saturday, "live_rate", 0.3)])
    assert scorecard_entries(rows, only_live, COMPUTED_AT).is_empty()


def entry(key: str, value, expires_at: dt.datetime) -> dict:
    day = dt.date(2026, 3, 28)
    return dict(
        cache_key=key,
        metric="forecast",
        venue_id="leeds",
        period_type="day",
        period_start=day,
        period_end=day,
        value_json=json.dumps(value),
        computed_at=COMPUTED_AT,
        expires_at=expires_at,
    )


@pytest.fixture
def cache(databases):
    warehouse = databases.warehouse
    warehouse.replace(
        report_metrics_cache,
        pl.DataFrame(
            [
                entry("fresh", {"revenue": [1, 2.5, None]}, COMPUTED_AT + dt.timedelta(minutes=30)),
                entry("stale", {"revenue": [0]}, COMPUTED_AT + dt.timedelta(minutes=10)),
            ],
            schema=table_schema(report_metrics_cache),
        ),
    )
    yield warehouse
    warehouse.close()


def test_a_live_entry_is_read_until_it_expires(cache):
    assert live_entry(cache, "fresh", COMPUTED_AT) == {"revenue": [1, 2.5, None]}
    just_before = COMPUTED_AT + dt.timedelta(minutes=30, microseconds=-1)
    assert live_entry(cache, "fresh", just_before) == {"revenue": [1, 2.5, None]}
    # At expires_at the entry is gone; so is one that never existed.
    assert live_entry(cache, "fresh", COMPUTED_AT + dt.timedelta(minutes=30)) is None
    assert live_entry(cache, "missing", COMPUTED_AT) is None
    # A reader in another timezone means the same instant.
    london = dt.timezone(dt.timedelta(hours=1))
    assert live_entry(cache, "stale", (COMPUTED_AT + dt.timedelta(minutes=9)).astimezone(london)) == {
        "revenue": [0]
    }


def test_dropping_expired_entries_keeps_the_live_ones(cache):
    assert drop_expired(cache, COMPUTED_AT + dt.timedelta(minutes=10)) == 1
    assert cache.read_table(report_metrics_cache)["cache_key"].to_list() == ["fresh"]
    assert drop_expired(cache, COMPUTED_AT + dt.timedelta(minutes=10)) == 0


def test_cache_keys_name_metric_venue_period_type_and_start():
    assert (
        cache_key("kpi_scorecard", "leeds", "month", dt.date(2026, 3, 1))
        == "kpi_scorecard/leeds/month/2026-03-01"
    )


def test_a_report_reads_cached_kpis_from_the_live_scorecard_and_puts_back_an_expired_one(databases):
    saturday = dt.date(2026, 3, 28)
    warehouse = databases.warehouse
    rows = [
        calculation("leeds", "day", saturday, saturday, key, value)
        for key, value in (("live_rate", 0.3), ("slow_rate", 0.1), ("quick_rate", 0.2))
    ]
    warehouse.replace(kpi_calculations, pl.DataFrame(rows, schema=table_schema(kpi_calculations)))

    def values(now: dt.datetime) -> dict:
        found = period_kpis(warehouse, "leeds", "day", saturday, DEFINITIONS, now)
        return {k: v["value"] for k, v in found.items()}

    # No scorecard yet: made from kpi_calculations and put in the cache for 20 minutes.
    assert values(COMPUTED_AT) == {"live_rate": 0.3, "slow_rate": 0.1, "quick_rate": 0.2}
    key = cache_key(KPI_SCORECARD, "leeds", "day", saturday)
    [stored] = warehouse.read_table(report_metrics_cache).to_dicts()
    assert (stored["cache_key"], stored["expires_at"]) == (key, COMPUTED_AT + dt.timedelta(minutes=20))
    # The figures move; while the scorecard lives, cached KPIs are served from it and the
    # real-time one is read afresh.
    moved = [{**r, "value": r["value"] * 2} for r in rows]
    warehouse.replace(kpi_calculations, pl.DataFrame(moved, schema=table_schema(kpi_calculations)))
    ten_minutes_on = COMPUTED_AT + dt.timedelta(minutes=10)
    assert values(ten_minutes_on) == {"live_rate": 0.6, "slow_rate": 0.1, "quick_rate": 0.2}
    # Once it has expired, the scorecard is made again and put back.
    later = COMPUTED_AT + dt.timedelta(minutes=20)
    assert values(later) == {"live_rate": 0.6, "slow_rate": 0.2, "quick_rate": 0.4}
    [stored] = warehouse.read_table(report_metrics_cache).to_dicts()
    assert stored["expires_at"] == later + dt.timedelta(minutes=20)
    warehouse.close()
