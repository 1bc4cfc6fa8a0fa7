"""Generated demo data through the raw layer: nothing quarantined, every row in its place."""

import datetime as dt
from collections import Counter

from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine
from tests.assets.test_raw_layer import RAW_ASSETS, as_instant
from tests.worlds import night_of, source_rows

# Three weeks around the spring-forward night, for two venues.
WINDOW = BusinessWindow(dt.date(2026, 3, 16), dt.date(2026, 4, 5))


def test_generated_history_loads_completely(databases, materialise):
    generate(databases.source_url, 2, WINDOW.first_day, WINDOW.last_day, seed=11)
    materialise(WINDOW, RAW_ASSETS)
    assert databases.warehouse.read_table(raw_quarantine).height == 0
    for name, rules in CONTRACT.items():
        source = source_rows(databases.source_url, name)
        if rules.is_fact:
            nights = Counter(night_of(as_instant(r[rules.business_time])) for r in source)
            expected = {day: n for day, n in nights.items() if WINDOW.first_day <= day <= WINDOW.last_day}
            loaded = databases.warehouse.read_table(RAW[name])
            assert Counter(loaded["business_date"].to_list()) == expected, name
        else:
            loaded = databases.warehouse.read_table(RAW[name])
            assert sorted(loaded[rules.key]) == sorted(r[rules.key] for r in source), name
