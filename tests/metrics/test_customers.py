"""Customer figures, keys, segments, churn examples and top-customer rankings.

customer_visits rows are built by hand here; every expected figure is worked out in this
file from those rows with plain Python, never taken from the code under test.
"""

import datetime as dt
import hashlib
import hmac
import math
from collections import defaultdict

import polars as pl
import pytest

from backroom_reporting.metrics.customers import (
    CUSTOMER_SCHEMA,
    HISTORY_COLUMNS,
    HISTORY_SCHEMA,
    churn_features,
    churn_labels,
    customer_history,
    customer_key,
    customer_profiles,
    label_top_customers,
    look_back,
    rank_top_customers,
    returned_customers,
    with_customer_keys,
)
from backroom_reporting.warehouse.tables.aggregations import customer_visits
from backroom_reporting.warehouse.types import table_schema

D = dt.date
KEY = "test-pseudonym-key"


def cv_row(
    customer: str,
    day: dt.date,
    *,
    venue: str = "leeds",
    visited: bool = True,
    spend: int = 0,
    party: int | None = None,
    occasion: str | None = None,
    brand: str | None = None,
    vip: bool = False,
) -> dict:
    """One customer_visits row: a visit (a booking when `party` is given, else a scan) or,
    with visited=False, other activity such as a ticket purchase."""
    booked = visited and party is not None
    return dict(
        venue_id=venue,
        customer_id=customer,
        business_date=day,
        visited=visited,
        booked_visit=booked,
        scanned_in=visited and not booked,
        is_vip=vip,
        party_size=party if booked else None,
        special_occasion=occasion,
        brand=brand if visited else None,
        tickets_bought=0,
        ticket_spend_pence=spend,
        table_spend_pence=0,
        spend_pence=spend,
        feedback_score=None,
    )


def cv_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=table_schema(customer_visits))


def expected_key(customer_id: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), customer_id.encode(), hashlib.sha256).hexdigest()[:16]


def percentile_ranks(values: list) -> list[float]:
    """Average rank (ties share it) over the count: the lowest of n distinct values gets 1/n."""
    n = len(values)
    return [(sum(v < x for v in values) + (sum(v == x for v in values) + 1) / 2) / n for x in values]


def expected_segment(as_of, first_visit, last_visit, visits_90d, is_vip) -> str:
    if first_visit is None:
        return "prospect"
    if (as_of - last_visit).days >= 90:
        return "lapsed"
    if (as_of - last_visit).days >= 42:
        return "at_risk"
    if is_vip:
        return "vip"
    if (as_of - first_visit).days < 28:
        return "new"
    if visits_90d >= 4:
        return "loyal"
    return "regular"


OCCASION_ORDER = ["birthday", "anniversary", "hen_party", "stag_party", "corporate"]


def expected_profiles(rows: list[dict], as_of: dt.date) -> dict[tuple[str, str], dict]:
    """customer_analytics figures (without churn) from the rows, by (venue, customer_id)."""
    by_customer = defaultdict(list)
    for row in rows:
        # The two years up to the day: 730 days, the day itself included.
        if 0 <= (as_of - row["business_date"]).days < 730:
            by_customer[(row["venue_id"], row["customer_id"])].append(row)
    out = {}
    for (venue, customer), mine in by_customer.items():
        visits = sorted(r["business_date"] for r in mine if r["visited"])
        spend = sum(r["spend_pence"] for r in mine)
        parties = [r["party_size"] for r in mine if r["party_size"] is not None]
        brands = defaultdict(list)
        for r in mine:
            if r["visited"] and r["brand"] is not None:
                brands[r["brand"]].append(r["business_date"])
        preferred = max(brands, key=lambda b: (len(brands[b]), max(brands[b]))) if brands else None
        occasions = [o for o in OCCASION_ORDER if any(r["special_occasion"] == o for r in mine)]
        latest = max(mine, key=lambda r: r["business_date"])
        recent = [d for d in visits if (as_of - d).days < 90]
        out[(venue, customer)] = dict(
            visits=len(visits),
            first_visit=visits[0] if visits else None,
            last_visit=visits[-1] if visits else None,
            days_since_last_visit=(as_of - visits[-1]).days if visits else None,
            visits_90d=len(recent),
            lifetime_value_pence=spend,
            avg_spend_pence=spend / len(visits) if visits else None,
            avg_party_size=sum(parties) / len(parties) if parties else None,
            preferred_night=preferred,
            special_occasions=", ".join(occasions) or None,
            special_occasion_nights=sum(r["special_occasion"] is not None for r in mine),
            is_vip=latest["is_vip"],
        )
    for venue in {v for v, _ in out}:
        visitors = [k for k in out if k[0] == venue and out[k]["visits"] > 0]
        ranks = {
            name: percentile_ranks([out[k][column] for k in visitors])
            for name, column in (
                ("r", "last_visit"),
                ("f", "visits"),
                ("m", "lifetime_value_pence"),
            )
        }
        for i, k in enumerate(visitors):
            out[k]["loyalty_score"] = 100 * (0.3 * ranks["r"][i] + 0.4 * ranks["f"][i] + 0.3 * ranks["m"][i])
    for p in out.values():
        p.setdefault("loyalty_score", 0.0)
        p["segment"] = expected_segment(
            as_of, p["first_visit"], p["last_visit"], p["visits_90d"], p["is_vip"]
        )
    return out


AS_OF = D(2026, 3, 31)
PROFILE_ROWS = [
    # A regular of Friday's SHHH!, who once booked a table for a birthday on a Saturday.
    cv_row("c-regular", D(2026, 2, 20), visited=False, spend=1800),  # bought tickets, did not come
    cv_row("c-regular", D(2026, 3, 6), spend=3000, brand="SHHH!"),
    cv_row("c-regular", D(2026, 3, 13), spend=2000, brand="SHHH!"),
    cv_row("c-regular", D(2026, 3, 21), spend=5000, brand="NOSTALGIA", party=6, occasion="birthday"),
    cv_row("c-regular", D(2026, 3, 27), brand="SHHH!"),
    cv_row("c-regular", D(2026, 4, 2), spend=9999, brand="LA FIESTA"),  # after the snapshot day
    cv_row("c-regular", AS_OF - dt.timedelta(days=730), spend=777, brand="LA FIESTA"),  # before the two years
    # One LA FIESTA and one NOSTALGIA: the tie goes to the more recent night.
    cv_row("c-tie", D(2026, 3, 5), spend=1500, brand="LA FIESTA", party=2, occasion="anniversary"),
    cv_row("c-tie", D(2026, 3, 14), spend=1500, brand="NOSTALGIA", party=4, occasion="hen_party"),
    cv_row("c-tie", AS_OF - dt.timedelta(days=729), spend=50),  # the two years' first day
    # Bought tickets, never came.
    cv_row("c-prospect", D(2026, 3, 30), visited=False, spend=2400),
    # VIP once, no longer on the latest row.
    cv_row("c-was-vip", D(2025, 12, 1), spend=800, vip=True),
    cv_row("c-was-vip", D(2026, 2, 10), spend=800, vip=False, brand="LA FIESTA"),
    # Came once on a night without an event, long ago.
    cv_row("c-lapsed", D(2025, 11, 12), spend=100),
    # The same person at another venue is another row.
    cv_row("c-regular", D(2026, 3, 28), venue="york", spend=700, brand="NOSTALGIA", vip=True),
]


def test_customer_key_is_a_keyed_hash_that_changes_with_the_key():
    assert customer_key("cus-01-0000001", KEY) == expected_key("cus-01-0000001")
    assert len(customer_key("cus-01-0000001", KEY)) == 16
    assert customer_key("cus-01-0000001", KEY) != customer_key("cus-01-0000001", "another key")
    assert customer_key("cus-01-0000001", KEY) != customer_key("cus-01-0000002", KEY)


def test_with_customer_keys_replaces_the_id_in_place():
    frame = pl.DataFrame({"venue_id": ["leeds", "leeds"], "customer_id": ["a", "b"], "visits": [1, 2]})
    keyed = with_customer_keys(frame, KEY)
    assert keyed.columns == ["venue_id", "customer_key", "visits"]
    assert keyed.sort("visits")["customer_key"].to_list() == [expected_key("a"), expected_key("b")]


def history_from(db, as_of: dt.date) -> pl.DataFrame:
    """What customer_analytics reads and groups: the look-back's rows, by customer."""
    return customer_history(visit_rows(db, *look_back(as_of)), as_of)


def visit_rows(db, first: dt.date, last: dt.date) -> pl.DataFrame:
    cv = customer_visits.c
    return db.read_columns(*(cv[c] for c in HISTORY_COLUMNS), where=cv.business_date.between(first, last))


def test_profiles_from_the_database_match_the_rows(databases):
    db = databases.warehouse
    db.replace(customer_visits, cv_frame(PROFILE_ROWS))
    history = history_from(db, AS_OF)
    profiles = customer_profiles(history, AS_OF)
    expected = expected_profiles(PROFILE_ROWS, AS_OF)

    actual = {(r["venue_id"], r["customer_id"]): r for r in profiles.to_dicts()}
    assert actual.keys() == expected.keys()
    for k, figures in expected.items():
        assert actual[k]["as_of_date"] == AS_OF
        for column, value in figures.items():
            if isinstance(value, float):
                assert actual[k][column] == pytest.approx(value), (k, column)
            else:
                assert actual[k][column] == value, (k, column)

    # The same figures, stated by hand for the two customers the rows were written for.
    regular = actual[("leeds", "c-regular")]
    assert (regular["visits"], regular["lifetime_value_pence"]) == (4, 11800)
    assert regular["avg_spend_pence"] == 2950.0
    assert (regular["preferred_night"], regular["special_occasions"]) == ("SHHH!", "birthday")
    assert actual[("leeds", "c-tie")]["preferred_night"] == "NOSTALGIA"
    assert actual[("leeds", "c-tie")]["first_visit"] == D(2024, 4, 1)
    assert actual[("leeds", "c-tie")]["special_occasions"] == "anniversary, hen_party"
    prospect = actual[("leeds", "c-prospect")]
    assert (prospect["segment"], prospect["loyalty_score"], prospect["avg_spend_pence"]) == (
        "prospect",
        0.0,
        None,
    )
    assert actual[("leeds", "c-was-vip")]["is_vip"] is False
    assert actual[("leeds", "c-lapsed")]["segment"] == "lapsed"
    assert actual[("york", "c-regular")]["segment"] == "vip"


SEGMENT_CASES = [
    # (visits, as days before the snapshot day; VIP; segment)
    ([], False, "prospect"),
    ([], True, "prospect"),
    ([400, 90], True, "lapsed"),
    ([400, 89], False, "at_risk"),
    ([400, 42], True, "at_risk"),
    ([400, 41], True, "vip"),
    ([10, 3], True, "vip"),
    ([27, 0], False, "new"),
    ([28, 2, 1, 0], False, "loyal"),
    ([28, 1, 0], False, "regular"),
    ([120, 89, 60, 50, 41], False, "loyal"),
    ([90, 89, 60, 41], False, "regular"),  # the visit 90 days back is outside the 90 days
]


@pytest.mark.parametrize(("days_ago", "vip", "segment"), SEGMENT_CASES)
def test_segment_rules(days_ago, vip, segment):
    """Each rule at its boundary, through the path customer_analytics takes."""
    rows = [cv_row("c", AS_OF - dt.timedelta(days=n), vip=vip) for n in days_ago]
    rows = rows or [cv_row("c", AS_OF, visited=False, spend=1200, vip=vip)]
    history = aggregate_like_the_database(rows, AS_OF)
    assert customer_profiles(history, AS_OF)["segment"].to_list() == [segment]


def aggregate_like_the_database(rows: list[dict], as_of: dt.date) -> pl.DataFrame:
    """customer_history's result for rows of one customer, written out by hand."""
    mine = [r for r in rows if r["business_date"] <= as_of]
    visits = [r["business_date"] for r in mine if r["visited"]]
    vip_days = [r["business_date"] for r in mine if r["is_vip"]]
    row = {c: 0 for c, t in HISTORY_SCHEMA.items() if t == pl.Int64()}
    row |= {c: None for c, t in HISTORY_SCHEMA.items() if t == pl.Date()}
    row |= dict(
        venue_id="leeds",
        customer_id=mine[0]["customer_id"],
        visits=len(visits),
        first_visit=min(visits, default=None),
        last_visit=max(visits, default=None),
        visits_28d=sum((as_of - d).days < 28 for d in visits),
        visits_90d=sum((as_of - d).days < 90 for d in visits),
        lifetime_value_pence=sum(r["spend_pence"] for r in mine),
        party_size_total=None,
        last_active=max(r["business_date"] for r in mine),
        last_vip_day=max(vip_days, default=None),
    )
    return pl.DataFrame([row], schema=HISTORY_SCHEMA)


def test_loyalty_score_is_weighted_percentile_ranks_within_the_venue():
    as_of = D(2026, 3, 31)
    # a: most recent, b: most visits, c: biggest spender, d: tied with a on recency.
    rows = [
        cv_row("a", D(2026, 3, 30), spend=100),
        cv_row("b", D(2026, 3, 1), spend=100),
        cv_row("b", D(2026, 3, 8), spend=100),
        cv_row("b", D(2026, 3, 15), spend=100),
        cv_row("c", D(2026, 3, 20), spend=90000),
        cv_row("d", D(2026, 3, 30), spend=50),
    ]
    history = pl.concat(
        [aggregate_like_the_database([r for r in rows if r["customer_id"] == c], as_of) for c in "abcd"]
    )
    scores = dict(customer_profiles(history, as_of).select("customer_id", "loyalty_score").iter_rows())
    # Recency ranks: b 1, c 2, a and d share 3.5; visits: a, c and d share 2, b 4;
    # spend (50, 100, 300, 90 000 pence): d 1, a 2, b 3, c 4. a scores 61.25 (docs/metrics.md).
    recency = {"a": 3.5, "b": 1, "c": 2, "d": 3.5}
    frequency = {"a": 2, "b": 4, "c": 2, "d": 2}
    monetary = {"a": 2, "b": 3, "c": 4, "d": 1}
    for c in "abcd":
        expected = 100 * (0.3 * recency[c] + 0.4 * frequency[c] + 0.3 * monetary[c]) / 4
        assert scores[c] == pytest.approx(expected), c
    assert scores["a"] == pytest.approx(61.25)


def test_churn_examples_see_nothing_after_the_cutoff_and_label_the_next_42_days(databases):
    cutoff = D(2026, 6, 1)
    rows = [
        cv_row("stays", D(2026, 5, 1), spend=1000),
        cv_row("stays", cutoff + dt.timedelta(days=42), spend=5000),  # last day of the horizon
        cv_row("leaves", D(2026, 5, 20), spend=1000),
        cv_row("leaves", cutoff + dt.timedelta(days=43), spend=5000),  # one day too late
        cv_row("on-cutoff", cutoff, spend=1000),  # a visit on the cutoff day is history, not label
        cv_row("newcomer", cutoff + dt.timedelta(days=1)),  # not a customer yet at the cutoff
        cv_row("browser", D(2026, 5, 2), visited=False, spend=900),  # never visited
    ]
    db = databases.warehouse
    db.replace(customer_visits, cv_frame(rows))
    # What customer_analytics reads for a new cutoff: its look-back and its label window at once.
    read = visit_rows(db, cutoff - dt.timedelta(days=729), cutoff + dt.timedelta(days=42))
    history = customer_history(read, cutoff)
    examples = churn_labels(churn_features(history, cutoff), returned_customers(read, cutoff))

    assert dict(examples.select("customer_id", "churned").iter_rows()) == {
        "stays": False,
        "leaves": True,
        "on-cutoff": True,
    }
    # Features are the same whether or not anything after the cutoff exists.
    db.replace(customer_visits, cv_frame([r for r in rows if r["business_date"] <= cutoff]))
    before_only = churn_features(history_from(db, cutoff), cutoff)
    assert before_only.sort("customer_id").equals(churn_features(history, cutoff).sort("customer_id"))
    stays = examples.filter(pl.col("customer_id") == "stays").row(0, named=True)
    assert stays["days_since_last_visit"] == 31
    assert stays["log_lifetime_value"] == pytest.approx(math.log1p(1000))


# --- top customers ---------------------------------------------------------------------------------


def expected_top(rows: list[dict], day: dt.date, earlier: dict[str, tuple]) -> dict[str, list[dict]]:
    """Both rankings for one venue and day, from the rows, by the documented rules.

    earlier: customer -> (first, last) visit before the rows begin.
    """
    start = day - dt.timedelta(days=89)
    window = [r for r in rows if start <= r["business_date"] <= day]
    stats = {}
    for r in sorted(window, key=lambda r: r["business_date"]):
        s = stats.setdefault(r["customer_id"], dict(visits=0, spend=0, last_in_window=None, vip=False))
        s["visits"] += r["visited"]
        s["spend"] += r["spend_pence"]
        s["vip"] = r["is_vip"]
        if r["visited"]:
            s["last_in_window"] = r["business_date"]
    out = {}
    for ranking, primary, secondary in (("spend", "spend", "visits"), ("visits", "visits", "spend")):
        eligible = [c for c, s in stats.items() if s[primary] > 0]
        eligible.sort(
            key=lambda c: (
                -stats[c][primary],
                -stats[c][secondary],
                -(stats[c]["last_in_window"] or D(1, 1, 1)).toordinal(),
                expected_key(c),
            )
        )
        ranked = []
        for rank, c in enumerate(eligible[:25], start=1):
            visits_to_day = [r["business_date"] for r in rows if r["customer_id"] == c and r["visited"]]
            visits_to_day = [d for d in visits_to_day if d <= day]
            first = earlier.get(c, (None, None))[0] or min(visits_to_day, default=None)
            last = max(visits_to_day, default=None) or earlier.get(c, (None, None))[1]
            ranked.append(
                dict(
                    rank=rank,
                    customer_key=expected_key(c),
                    visits_90d=stats[c]["visits"],
                    spend_90d_pence=stats[c]["spend"],
                    last_visit=last,
                    segment=expected_segment(day, first, last, stats[c]["visits"], stats[c]["vip"]),
                )
            )
        out[ranking] = ranked
    return out


TOP_DAYS = [D(2026, 3, 24), D(2026, 3, 25)]


def top_rows() -> list[dict]:
    rows = []
    # Thirty customers spending different amounts on one night: only 25 are ranked.
    for i in range(30):
        rows.append(cv_row(f"spender-{i:02d}", D(2026, 3, 6), spend=1000 + 100 * i, brand="SHHH!"))
    # Ties: equal spend and visits, broken by the more recent visit, then by key.
    rows += [
        cv_row("tie-early", D(2026, 3, 5), spend=9000),
        cv_row("tie-late", D(2026, 3, 12), spend=9000),
        cv_row("tie-key-1", D(2026, 3, 13), spend=8000),
        cv_row("tie-key-2", D(2026, 3, 13), spend=8000),
    ]
    # A weekly regular, whose first visit on the window's edge drops out a day later.
    first = TOP_DAYS[0] - dt.timedelta(days=89)
    rows += [cv_row("weekly", first + dt.timedelta(days=7 * k), spend=500) for k in range(13)]
    # Spend without a visit in the window: tickets bought; came once long before.
    rows.append(cv_row("ticket-only", D(2026, 3, 10), visited=False, spend=20000))
    return rows


def test_top_customers_rank_the_trailing_90_days_with_documented_tie_breaks():
    rows = top_rows()
    earlier = {"ticket-only": (D(2025, 6, 1), D(2025, 6, 1))}
    days = TOP_DAYS
    frame = cv_frame(rows).filter(pl.col("business_date") >= days[0] - dt.timedelta(days=89))
    ranked = rank_top_customers(frame, days, KEY)
    earlier_frame = pl.DataFrame(
        [
            dict(venue_id="leeds", customer_id=c, first_visit=f, last_visit=la)
            for c, (f, la) in earlier.items()
        ]
    )
    top = label_top_customers(ranked, frame.filter(pl.col("visited")), earlier_frame)

    for day in days:
        expected = expected_top(rows, day, earlier)
        for ranking in ("spend", "visits"):
            actual = (
                top.filter((pl.col("business_date") == day) & (pl.col("ranking") == ranking))
                .drop("venue_id", "business_date", "ranking")
                .to_dicts()
            )
            assert actual == expected[ranking], (day, ranking)

    spend = top.filter((pl.col("business_date") == days[0]) & (pl.col("ranking") == "spend"))
    order = spend["customer_key"].to_list()
    assert order[0] == expected_key("ticket-only")
    assert order.index(expected_key("tie-late")) + 1 == order.index(expected_key("tie-early"))
    assert spend.height == 25
    assert spend.filter(pl.col("customer_key") == expected_key("ticket-only"))["segment"].item() == "lapsed"
    # The regular's first visit is 89 days before 2026-03-24, so it no longer counts on 2026-03-25.
    weekly = top.filter((pl.col("ranking") == "visits") & (pl.col("customer_key") == expected_key("weekly")))
    assert weekly.sort("business_date")["visits_90d"].to_list() == [13, 12]


def test_customers_tied_across_the_last_place_are_chosen_by_key():
    """Thirty customers alike in every figure, behind three clear leaders: the places left
    go to the lowest keys, in key order."""
    day = TOP_DAYS[0]
    alike = [f"alike-{i:02d}" for i in range(30)]
    leaders = [cv_row(f"leader-{i}", day, spend=5000 + i) for i in range(3)]
    frame = cv_frame([*leaders, *(cv_row(c, day, spend=1200) for c in alike)])
    spend = rank_top_customers(frame, [day], KEY).filter(pl.col("ranking") == "spend").sort("rank")
    expected = sorted(expected_key(c) for c in alike)[:22]
    assert spend["customer_key"].to_list()[3:] == expected
    assert spend["customer_id"].to_list()[:3] == ["leader-2", "leader-1", "leader-0"]


def test_top_customers_of_an_empty_window_are_empty():
    empty = cv_frame([])
    ranked = rank_top_customers(empty, [D(2026, 3, 24)], KEY)
    top = label_top_customers(
        ranked, empty, pl.DataFrame(schema={**CUSTOMER_SCHEMA, "first_visit": pl.Date, "last_visit": pl.Date})
    )
    assert top.height == 0
