"""customer_analytics and top_customers, materialised through Dagster on SQLite and PostgreSQL.

customer_visits rows are written straight into the warehouse where a test needs known
answers; the anonymisation test runs the whole chain on generated data. Expected
figures come from the rows with plain Python (tests/metrics/test_customers.py).
"""

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics import churn
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.aggregations import customer_visits
from backroom_reporting.warehouse.tables.customers import churn_examples, customer_analytics, top_customers
from tests.metrics.test_customers import KEY, cv_frame, cv_row, expected_key, expected_profiles, expected_top
from tests.worlds import source_rows

D = dt.date
OTHER_KEY = "another-key-entirely"
DEMO_KEY = "backroom-demo-pseudonym-key"
ANALYTICS = ["customer_analytics"]
PII = ("customer_id", "email", "phone", "first_name", "last_name")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("BACKROOM_PSEUDONYM_KEY", KEY)
    return KEY


def metadata_of(results, asset: str) -> dict:
    for stage in results:
        for m in stage.materializations:
            if m.asset_key.to_user_string() == asset:
                return {k: v.value for k, v in m.metadata.items()}
    raise AssertionError(f"{asset} was not materialised")


def failed_checks(results) -> set[str]:
    return {f for stage in results for f in stage.check_failures}


# --- customer_analytics on known rows ----------------------------------------------------------------

LATEST = D(2026, 6, 28)  # a Sunday: the last night of its business week
FIRST = LATEST - dt.timedelta(days=129)


def churn_rows() -> list[dict]:
    """130 days: weekly regulars who keep coming, one-off visitors who never return,
    and ticket buyers who never came."""
    rows = []
    for i in range(12):
        start = FIRST + dt.timedelta(days=i % 7)
        rows += [
            cv_row(f"weekly-{i}", start + dt.timedelta(days=7 * k), spend=1000 + 10 * i, brand="NOSTALGIA")
            for k in range((LATEST - start).days // 7 + 1)
        ]
    for i in range(40):
        rows.append(cv_row(f"once-{i}", FIRST + dt.timedelta(days=3 * i), spend=500 + i, party=2 + i % 5))
    for i in range(3):
        rows.append(cv_row(f"tickets-{i}", LATEST - dt.timedelta(days=i), visited=False, spend=1200))
    return rows


def test_customer_analytics_figures_and_churn_model_on_known_rows(databases, materialise, key):
    rows = churn_rows()
    databases.warehouse.replace(customer_visits, cv_frame(rows))
    results = materialise(BusinessWindow(LATEST, LATEST), ANALYTICS)

    table = databases.warehouse.read_table(customer_analytics)
    expected = expected_profiles(rows, LATEST)
    assert table.height == len(expected)
    by_key = {r["customer_key"]: r for r in table.to_dicts()}
    for (venue, customer), figures in expected.items():
        row = by_key[expected_key(customer, KEY)]
        assert (row["week_start"], row["venue_id"], row["as_of_date"]) == (
            LATEST - dt.timedelta(days=6),
            venue,
            LATEST,
        )
        for column, value in figures.items():
            assert row[column] == (pytest.approx(value) if isinstance(value, float) else value), (
                customer,
                column,
            )
        has_visited = figures["visits"] > 0
        assert (row["churn_probability"] is not None) == has_visited, customer

    # The split, worked out from the rows: hold-out 42 days before the latest day,
    # one training cutoff 49 days before that.
    holdout, training = LATEST - dt.timedelta(days=42), LATEST - dt.timedelta(days=91)

    def population(cutoff):
        return {r["customer_id"] for r in rows if r["visited"] and r["business_date"] <= cutoff}

    def came_back(cutoff):
        return {
            r["customer_id"]
            for r in rows
            if r["visited"] and cutoff < r["business_date"] <= cutoff + dt.timedelta(days=42)
        }

    about = metadata_of(results, "customer_analytics")["churn_model"]
    assert about["status"] == "scored"
    assert (about["holdout_cutoff"], about["training_cutoffs"]) == (str(holdout), [str(training)])
    assert about["scoring_cutoff"] == str(LATEST)
    assert about["horizon_days"] == 42
    assert about["n_train"] == len(population(training))
    assert about["n_holdout"] == len(population(holdout))
    churned = population(holdout) - came_back(holdout)
    assert about["base_rate"] == pytest.approx(len(churned) / len(population(holdout)), abs=1e-4)
    # Regulars and one-off visitors are told apart perfectly.
    assert about["roc_auc"] == 1.0
    assert "churn_model_quality" not in {f.split(":")[1] for f in failed_checks(results)}
    probabilities = {c: by_key[expected_key(c, KEY)]["churn_probability"] for c in ("weekly-0", "once-0")}
    assert probabilities["weekly-0"] < 0.5 < probabilities["once-0"]


def test_a_fit_reads_back_only_the_training_examples_its_sample_could_hold(
    databases, materialise, key, monkeypatch
):
    # A sample of 20: the training cutoff keeps more, and only its 20 lowest draws are read back.
    monkeypatch.setattr(churn, "MAX_FIT_EXAMPLES", 20)
    databases.warehouse.replace(customer_visits, cv_frame(churn_rows()))
    week = BusinessWindow(LATEST, LATEST)
    made = metadata_of(materialise(week, ANALYTICS), "customer_analytics")["churn_model"]
    read_back = metadata_of(materialise(week, ANALYTICS), "customer_analytics")["churn_model"]

    kept = databases.warehouse.read_table(churn_examples)
    training = kept.filter(pl.col("cutoff") == LATEST - dt.timedelta(days=91))
    holdout = kept.filter(pl.col("cutoff") == LATEST - dt.timedelta(days=42))
    assert training.height > 20
    # What a fit on every kept example makes of the hold-out.
    everything = churn.evaluate(churn.fit(training), training.height, holdout)
    for about in (made, read_back):
        assert about["n_train"] == training.height
        assert about["brier_score"] == round(everything.brier_score, 4)
        assert about["roc_auc"] == round(everything.roc_auc, 4)


def test_each_week_has_its_snapshot_as_the_week_ended_over_two_years_back(databases, materialise, key):
    # Someone last seen 800 days ago, and someone who came back after as long away.
    rows = [
        *churn_rows(),
        cv_row("long-gone", LATEST - dt.timedelta(days=800), spend=999),
        cv_row("back-again", LATEST - dt.timedelta(days=800), spend=700),
        cv_row("back-again", LATEST - dt.timedelta(days=10), spend=300),
    ]
    databases.warehouse.replace(customer_visits, cv_frame(rows))
    weeks = BusinessWindow(LATEST - dt.timedelta(days=20), LATEST)  # three business weeks
    results = materialise(weeks, ANALYTICS)

    table = databases.warehouse.read_table(customer_analytics)
    assert table["week_start"].unique().sort().to_list() == weeks.days[::7]
    for week_start in weeks.days[::7]:
        sunday = week_start + dt.timedelta(days=6)
        # What the snapshot sees: the rows of the two years up to the week's last night.
        seen = [r for r in rows if sunday - dt.timedelta(days=729) <= r["business_date"] <= sunday]
        expected = expected_profiles(seen, sunday)
        snapshot = {r["customer_key"]: r for r in table.filter(pl.col("week_start") == week_start).to_dicts()}
        assert snapshot.keys() == {expected_key(c) for _, c in expected}, week_start
        for (_, customer), figures in expected.items():
            row = snapshot[expected_key(customer)]
            assert row["as_of_date"] == sunday
            for column in ("visits", "first_visit", "last_visit", "lifetime_value_pence", "segment"):
                assert row[column] == figures[column], (week_start, customer, column)
    assert expected_key("long-gone") not in set(table["customer_key"])
    back = table.filter(pl.col("customer_key") == expected_key("back-again")).row(-1, named=True)
    assert (back["visits"], back["lifetime_value_pence"]) == (1, 300)
    # Each week's model is held out 42 days before the week ends, on the customers seen in
    # the two years up to then.
    models = {
        m.partition: m.metadata["churn_model"].value
        for stage in results
        for m in stage.materializations
        if m.asset_key.to_user_string() == "customer_analytics"
    }
    assert sorted(models) == [str(d) for d in weeks.days[::7]]
    for week_start, about in models.items():
        holdout = dt.date.fromisoformat(week_start) + dt.timedelta(days=6 - 42)
        seen = {
            r["customer_id"]
            for r in rows
            if r["visited"] and holdout - dt.timedelta(days=729) <= r["business_date"] <= holdout
        }
        assert (about["status"], about["holdout_cutoff"], about["n_holdout"]) == (
            "scored",
            str(holdout),
            len(seen),
        )

    # A week made again on its own is the week made in the range: the same rows and figures, the
    # churn probabilities to float rounding (PostgreSQL may hand the model its examples in
    # another order, and a fit sums in that order).
    materialise(BusinessWindow(LATEST - dt.timedelta(days=6), LATEST), ANALYTICS)
    assert_frame_equal(
        databases.warehouse.read_table(customer_analytics), table, check_exact=False, rel_tol=1e-9
    )


def test_each_cutoffs_examples_are_kept_until_the_nights_they_read_are_rewritten(databases, materialise, key):
    rows = churn_rows()
    db = databases.warehouse
    db.replace(customer_visits, cv_frame(rows))
    week = BusinessWindow(LATEST, LATEST)
    holdout, training = LATEST - dt.timedelta(days=42), LATEST - dt.timedelta(days=91)

    def expected_examples(rows, cutoff) -> tuple[int, int]:
        """(examples, churned) at a cutoff, from the rows."""
        seen = {r["customer_id"] for r in rows if r["visited"] and r["business_date"] <= cutoff}
        back = {
            r["customer_id"]
            for r in rows
            if r["visited"] and cutoff < r["business_date"] <= cutoff + dt.timedelta(days=42)
        }
        return len(seen), len(seen - back)

    def kept(cutoff) -> tuple[int, int]:
        examples = db.read_table(churn_examples, churn_examples.c.cutoff == cutoff)
        return examples.height, int(examples["churned"].sum())

    materialise(week, ANALYTICS)
    assert kept(holdout) == expected_examples(rows, holdout)
    assert kept(training) == expected_examples(rows, training)

    # The next snapshot trains on the kept examples: with their labels turned round, the
    # model takes the regulars for the ones who leave, and fails its hold-out.
    flipped = db.read_table(churn_examples, churn_examples.c.cutoff == training).with_columns(
        ~pl.col("churned")
    )
    db.replace(churn_examples, flipped, churn_examples.c.cutoff == training)
    about = metadata_of(materialise(week, ANALYTICS), "customer_analytics")["churn_model"]
    assert about["roc_auc"] < 0.5

    # customer_visits rewrites a night inside the hold-out's label window (its booking-system
    # rows are gone): the hold-out's examples are made again from the nights as they are now;
    # the training cutoff, whose look-back and label window end before that night, is kept.
    night = holdout + dt.timedelta(days=10)
    materialise(BusinessWindow(night, night), ["customer_visits"])
    assert kept(holdout) == (0, 0)
    assert kept(training) == (flipped.height, int(flipped["churned"].sum()))
    results = materialise(week, ANALYTICS)
    remaining = [r for r in rows if r["business_date"] != night]
    assert kept(holdout) == expected_examples(remaining, holdout)
    about = metadata_of(results, "customer_analytics")["churn_model"]
    n_holdout, churned = expected_examples(remaining, holdout)
    assert (about["n_holdout"], about["base_rate"]) == (
        n_holdout,
        pytest.approx(churned / n_holdout, abs=1e-4),
    )


REFUSE_EXAMPLES = {
    "sqlite": [
        "CREATE TRIGGER refuse_examples BEFORE INSERT ON churn_examples "
        "BEGIN SELECT RAISE(ABORT, 'churn examples refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_examples() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'churn examples refused'; END $$",
        "CREATE TRIGGER refuse_examples BEFORE INSERT ON churn_examples "
        "FOR EACH ROW EXECUTE FUNCTION refuse_examples()",
    ],
}


def test_a_week_whose_examples_cannot_be_kept_fails_and_writes_no_snapshot(databases, materialise, key):
    """New examples are kept on a second connection while the week goes on: a failure there
    fails the week before its snapshot is written."""
    db = databases.warehouse
    db.replace(customer_visits, cv_frame(churn_rows()))
    with db.engine.begin() as conn:
        for statement in REFUSE_EXAMPLES[db.dialect]:
            conn.exec_driver_sql(statement)
    with pytest.raises(Exception, match="churn examples refused"):
        materialise(BusinessWindow(LATEST, LATEST), ANALYTICS)
    assert db.read_table(churn_examples).height == 0
    assert db.read_table(customer_analytics).height == 0


def test_customer_analytics_of_an_empty_history(databases, materialise, key):
    results = materialise(BusinessWindow(LATEST, LATEST), ANALYTICS)
    assert databases.warehouse.read_table(customer_analytics).height == 0
    about = metadata_of(results, "customer_analytics")["churn_model"]
    assert about == {"status": "not scored", "reason": "customer_visits is empty"}


def test_keys_change_with_the_pseudonym_key_and_the_demo_key_is_flagged(databases, materialise, monkeypatch):
    rows = churn_rows()[:60]
    databases.warehouse.replace(customer_visits, cv_frame(rows))
    customers = sorted({r["customer_id"] for r in rows})
    window = BusinessWindow(FIRST + dt.timedelta(days=20), FIRST + dt.timedelta(days=21))
    selection = ["customer_analytics", "top_customers"]

    def keys_in_tables() -> set[str]:
        db = databases.warehouse
        return set(db.read_table(customer_analytics)["customer_key"]) | set(
            db.read_table(top_customers)["customer_key"]
        )

    monkeypatch.setenv("BACKROOM_PSEUDONYM_KEY", KEY)
    first = materialise(window, selection)
    under_first = keys_in_tables()
    monkeypatch.setenv("BACKROOM_PSEUDONYM_KEY", OTHER_KEY)
    materialise(window, selection)
    under_second = keys_in_tables()
    monkeypatch.delenv("BACKROOM_PSEUDONYM_KEY")
    demo = materialise(window, selection)

    assert under_first == {expected_key(c, KEY) for c in customers}
    assert under_second == {expected_key(c, OTHER_KEY) for c in customers}
    assert keys_in_tables() == {expected_key(c, DEMO_KEY) for c in customers}
    assert metadata_of(first, "customer_analytics")["pseudonym_key_is_demo_default"] is False
    assert metadata_of(demo, "customer_analytics")["pseudonym_key_is_demo_default"] is True
    assert "customer_analytics:pseudonym_key_configured" not in failed_checks(first)
    assert "customer_analytics:pseudonym_key_configured" in failed_checks(demo)


# --- top_customers on known rows -----------------------------------------------------------------------

TOP_WINDOW = BusinessWindow(D(2026, 3, 27), D(2026, 3, 29))  # includes the 23-hour night


def top_rows() -> list[dict]:
    rows = [
        cv_row(
            f"c{i:02d}", D(2026, 1, 1) + dt.timedelta(days=(5 * i) % 80), spend=700 * (i % 9), brand="SHHH!"
        )
        for i in range(40)
    ]
    # Regulars over the whole span, one of them also seen long before it.
    rows += [cv_row("regular", D(2025, 12, 29) + dt.timedelta(days=7 * k), spend=1500) for k in range(14)]
    rows += [cv_row("old-friend", D(2025, 6, 7)), cv_row("old-friend", D(2026, 3, 20), spend=400)]
    rows.append(cv_row("old-friend", D(2026, 3, 28), spend=350, vip=True))
    # Bought tickets in the window but has not been in 90 days.
    rows += [
        cv_row("lapsed", D(2025, 11, 1), spend=100),
        cv_row("lapsed", D(2026, 3, 29), visited=False, spend=9000),
    ]
    rows.append(cv_row("after", D(2026, 3, 30), spend=99999))  # after the window: counts nowhere
    return rows


def test_top_customers_match_the_rows_and_rematerialise_identically(databases, materialise, key):
    rows = top_rows()
    databases.warehouse.replace(customer_visits, cv_frame(rows))
    results = materialise(TOP_WINDOW, ["top_customers"])

    table = databases.warehouse.read_table(top_customers)
    span_start = TOP_WINDOW.first_day - dt.timedelta(days=89)
    read = [r for r in rows if span_start <= r["business_date"] <= TOP_WINDOW.last_day]
    earlier = {}
    for r in rows:
        if r["visited"] and r["business_date"] < span_start:
            first, last = earlier.get(r["customer_id"], (r["business_date"], r["business_date"]))
            earlier[r["customer_id"]] = (min(first, r["business_date"]), max(last, r["business_date"]))
    for day in TOP_WINDOW.days:
        expected = expected_top(read, day, earlier)
        for ranking in ("spend", "visits"):
            got = table.filter((pl.col("business_date") == day) & (pl.col("ranking") == ranking))
            assert got.drop("venue_id", "business_date", "ranking").to_dicts() == expected[ranking], (
                day,
                ranking,
            )
    assert set(table["business_date"]) == set(TOP_WINDOW.days)
    segments = dict(
        table.filter(pl.col("business_date") == D(2026, 3, 29))
        .select("customer_key", "segment")
        .unique()
        .iter_rows()
    )
    assert segments[expected_key("lapsed", KEY)] == "lapsed"
    assert segments[expected_key("old-friend", KEY)] == "vip"
    assert expected_key("after", KEY) not in set(table["customer_key"])
    # The history starts on 2025-06-07, long enough for every day's 90 days.
    assert "top_customers:trailing_window_complete" not in failed_checks(results)

    materialise(BusinessWindow(D(2026, 3, 28), D(2026, 3, 28)), ["top_customers"])
    assert databases.warehouse.read_table(top_customers).equals(table)


def test_top_customers_warn_when_history_is_shorter_than_90_days(databases, materialise, key):
    databases.warehouse.replace(customer_visits, cv_frame([cv_row("c", D(2026, 3, 1), spend=100)]))
    results = materialise(TOP_WINDOW, ["top_customers"])
    assert "top_customers:trailing_window_complete" in failed_checks(results)
    assert databases.warehouse.read_table(top_customers).height == 2 * len(TOP_WINDOW.days)


# --- the whole chain on generated data ----------------------------------------------------------------

GENERATED = BusinessWindow(D(2026, 3, 16), D(2026, 3, 29))  # two weeks, to the 23-hour night


def test_generated_customers_leave_no_personal_data_in_the_analytics(databases, materialise, key):
    generate(databases.source_url, 1, GENERATED.first_day, GENERATED.last_day, seed=7)
    raw = [f"raw_{name}" for name in CONTRACT]
    results = materialise(GENERATED, [*raw, "customer_visits", "top_customers", "customer_analytics"])

    people = source_rows(databases.source_url, "customers")
    personal = {str(p[c]) for p in people for c in PII}
    db = databases.warehouse
    analytics, top = db.read_table(customer_analytics), db.read_table(top_customers)
    assert analytics.height > 0 and top.height > 0
    for table in (analytics, top):
        assert not set(table.columns) & set(PII)
        text = "\n".join("\t".join(map(str, row)) for row in table.rows())
        leaked = [value for value in personal if value in text]
        assert leaked == []

    # Every customer with activity is there, under the key of their id.
    active = set(db.read_table(customer_visits)["customer_id"])
    assert set(analytics["customer_key"]) == {expected_key(c, KEY) for c in active}
    # Three weeks cannot support an honest hold-out: no churn figures, and the reason.
    assert analytics["churn_probability"].null_count() == analytics.height
    about = metadata_of(results, "customer_analytics")["churn_model"]
    assert about["status"] == "not scored"
    assert "needs 119" in about["reason"]
    assert "customer_analytics:churn_model_quality" in failed_checks(results)
    # One snapshot per week; the last day's ranking and its week's snapshot agree on segments.
    assert set(analytics["week_start"]) == {GENERATED.first_day, GENERATED.first_day + dt.timedelta(days=7)}
    last_day = top.filter(pl.col("business_date") == GENERATED.last_day).select("customer_key", "segment")
    last_week = analytics.filter(pl.col("as_of_date") == GENERATED.last_day)
    snapshot = dict(last_week.select("customer_key", "segment").iter_rows())
    for customer, segment in last_day.iter_rows():
        assert snapshot[customer] == segment
