"""Customer analytics (pseudonymous), top customers and staff performance.

Customers leave this module only as customer_key, a keyed hash (HMAC-SHA256) of their
customer_id under the pseudonym key, read from the environment when each run starts.
Staff performance is an internal staff report and names the staff.
"""

import concurrent.futures
import datetime as dt
import functools
from collections.abc import Callable

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting import settings
from backroom_reporting.assets.aggregations import nights_of
from backroom_reporting.assets.nights import (
    check_evaluations,
    chunks_of,
    describe_nights,
    per_night,
    snapshot_weeks,
    window_of,
)
from backroom_reporting.assets.policies import (
    LATE_NIGHTS_OF_WEEK,
    RETRY_TRANSIENT_FAULTS,
    looking_back,
    same_nights,
)
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.checks import analytics as checks
from backroom_reporting.metrics import churn
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.customers import (
    CUSTOMER,
    CUSTOMER_SCHEMA,
    HISTORY_COLUMNS,
    SEGMENTS,
    TRAILING_DAYS,
    churn_features,
    churn_labels,
    customer_history,
    customer_profiles,
    earlier_visits_query,
    label_top_customers,
    look_back,
    rank_top_customers,
    returned_customers,
    with_customer_keys,
)
from backroom_reporting.metrics.staff import staff_performance as compute_staff_performance
from backroom_reporting.partitions import business_days, business_weeks
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import IN_LIST_CHUNK, Database
from backroom_reporting.warehouse.tables import customers as tables
from backroom_reporting.warehouse.tables.aggregations import customer_visits
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema

GROUP = "analytics"
# Model figures also recorded as metadata entries of their own, so the UI plots them over runs.
CHURN_FIGURES = ("roc_auc", "brier_score", "base_rate", "n_train", "n_holdout", "horizon_days")
EXAMPLE = (*churn.FEATURES, "churned", "draw")  # what the model reads of a kept example

# What top_customers reads of customer_visits.
RANKED_COLUMNS = ("venue_id", "customer_id", "business_date", "visited", "spend_pence", "is_vip")


def _uses_demo_key() -> bool:
    return settings.PSEUDONYM_KEY.get() == settings.PSEUDONYM_KEY.default


def _history_span(db: Database) -> tuple[dt.date | None, dt.date | None]:
    """The first and latest business day present in customer_visits."""
    day = customer_visits.c.business_date
    span = db.read(
        sa.select(sa.func.min(day).label("first"), sa.func.max(day).label("latest")),
        {"first": pl.Date(), "latest": pl.Date()},
    )
    return span["first"][0], span["latest"][0]


# --- top_customers -------------------------------------------------------------------------------


def _earlier_visits(db: Database, before: dt.date, customer_ids: pl.Series) -> pl.DataFrame:
    ids = customer_ids.unique().sort().to_list()
    schema = {**CUSTOMER_SCHEMA, "first_visit": pl.Date(), "last_visit": pl.Date()}
    parts = [
        db.read(earlier_visits_query(before, ids[i : i + IN_LIST_CHUNK]), schema)
        for i in range(0, len(ids), IN_LIST_CHUNK)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[dg.AssetDep("customer_visits", partition_mapping=looking_back(TRAILING_DAYS - 1))],
    check_specs=[
        checks.spec(
            checks.TRAILING_WINDOW_COMPLETE,
            "top_customers",
            f"Warns when a night's ranking covers fewer than {TRAILING_DAYS} days of visits.",
            business_days,
        )
    ],
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def top_customers(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """As of each night: the venue's 25 top spenders and 25 most frequent visitors over the
    90 days ending that night, ranked, with their segment, by customer key only."""
    db, window = warehouse.database(), window_of(context)
    key = settings.PSEUDONYM_KEY.get()
    table = tables.top_customers
    metadata, rows_read = {}, 0
    for chunk in chunks_of(db, window):
        frame, rows = _top_customers(db, chunk, key)
        db.replace(table, frame, nights_of(table, chunk))
        metadata |= per_night(frame, chunk, **{"dagster/row_count": pl.len()})
        # Rows an earlier chunk read too count once, as in a run of one piece.
        fresh = (
            rows
            if chunk.first_day == window.first_day
            else rows.filter(pl.col("business_date") >= chunk.first_day)
        )
        rows_read += fresh.height
    first_day, _ = _history_span(db)
    results = {day: [r] for day, r in checks.trailing_window_results(first_day, window).items()}
    describe_nights(context, metadata, results)
    yield dg.MaterializeResult(
        metadata={
            "customer_visits_rows_read": rows_read,
            "pseudonym_key_is_demo_default": _uses_demo_key(),
        }
    )
    yield from check_evaluations(context, context.asset_key, results)


def _visit_rows(db: Database, columns: tuple[str, ...], first: dt.date, last: dt.date) -> pl.DataFrame:
    """`columns` of the customer_visits rows of nights first..last."""
    table = customer_visits
    return db.read_columns(
        *(table.c[c] for c in columns), where=nights_of(table, BusinessWindow(first, last))
    )


def _top_customers(db: Database, window: BusinessWindow, key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The window's rankings, and the customer_visits rows they were made from."""
    span_start = window.first_day - dt.timedelta(days=TRAILING_DAYS - 1)
    rows = _visit_rows(db, RANKED_COLUMNS, span_start, window.last_day)
    ranked = rank_top_customers(rows, window.days, key)
    earlier = _earlier_visits(db, span_start, ranked["customer_id"])
    return label_top_customers(ranked, rows.filter(pl.col("visited")), earlier), rows


# --- customer_analytics --------------------------------------------------------------------------


# The HISTORY_COLUMNS of customer_visits rows of nights first..last.
Visits = Callable[[dt.date, dt.date], pl.DataFrame]
# Writes a window of a table: Database.replace, or the same on another connection.
Replace = Callable[[sa.Table, pl.DataFrame, sa.ColumnElement[bool]], object]


def _history(visits: Visits, as_of: dt.date) -> pl.DataFrame:
    """Per venue and customer, their history as of `as_of` (`customer_history`)."""
    return customer_history(visits(*look_back(as_of)), as_of)


def _labelled_examples(db: Database, keep: Replace, visits: Visits, cutoff: dt.date) -> pl.DataFrame:
    """The churn model's examples at a cutoff, all of them: its features, whether they
    churned, and their draw.

    Kept in churn_examples (by `keep`): the weeks that train on a cutoff after the first read
    it back instead of going through its two years of customer_visits again."""
    table = tables.churn_examples
    examples = db.read_table(table, table.c.cutoff == cutoff)
    if examples.height == 0:
        rows = visits(look_back(cutoff)[0], cutoff + dt.timedelta(days=churn.HORIZON_DAYS))
        labelled = churn_labels(
            churn_features(customer_history(rows, cutoff), cutoff), returned_customers(rows, cutoff)
        )
        made = {c: dtype for c, dtype in table_schema(table).items() if c != "draw"}
        # In draw order, so the (cutoff, draw) index is written in order, not at random.
        examples = churn.with_draws(labelled.select(made.keys()).cast(made)).sort("draw")
        keep(table, examples, table.c.cutoff == cutoff)
    return examples.select(*EXAMPLE)


def _training_share(db: Database, keep: Replace, visits: Visits, cutoff: dt.date) -> tuple[pl.DataFrame, int]:
    """Of a training cutoff's examples, those a fit's sample could hold (the MAX_FIT_EXAMPLES
    that draw lowest), and how many examples there are: a year of 25 venues keeps 150,000 a
    cutoff, and a fit takes 10,000 of all its cutoffs'."""
    table = tables.churn_examples
    at_cutoff = table.c.cutoff == cutoff
    count = db.scalar(sa.select(sa.func.count()).select_from(table).where(at_cutoff))
    if count == 0:
        examples = _labelled_examples(db, keep, visits, cutoff)
        return churn.fixed_sample(examples, churn.MAX_FIT_EXAMPLES), examples.height
    lowest = sa.select(*(table.c[c] for c in EXAMPLE)).where(at_cutoff).order_by(table.c.draw)
    schema = table_schema(table)
    share = db.read(lowest.limit(churn.MAX_FIT_EXAMPLES), {c: schema[c] for c in EXAMPLE})
    return share, count


def _churn_scores(
    examples: Callable[[dt.date], pl.DataFrame],
    training_share: Callable[[dt.date], tuple[pl.DataFrame, int]],
    history: Callable[[], pl.DataFrame],
    first_day: dt.date,
    as_of: dt.date,
) -> tuple[pl.DataFrame, dict]:
    """Churn probabilities of the customers as of `as_of`, and what to record about the model.

    examples, training_share: a cutoff's labelled examples, and a training cutoff's share of
    them (`_labelled_examples`, `_training_share`; the weeks of a range share their cutoffs).
    history: the customers' history as of `as_of`, asked for once the examples are in."""
    no_scores = pl.DataFrame(schema={**CUSTOMER_SCHEMA, "churn_probability": pl.Float64()})
    about: dict = {"horizon_days": churn.HORIZON_DAYS, "model": churn.MODEL, "features": list(churn.FEATURES)}
    try:
        plan = churn.plan_cutoffs(first_day, as_of)
        about |= {
            "training_cutoffs": [str(c) for c in plan.training_cutoffs],
            "holdout_cutoff": str(plan.holdout_cutoff),
            "scoring_cutoff": str(plan.scoring_cutoff),
        }
        shares = [training_share(c) for c in plan.training_cutoffs]
        training = pl.concat([share for share, _ in shares])
        holdout = examples(plan.holdout_cutoff)
        scores, evaluation = churn.fit_evaluate_and_score(
            training, holdout, churn_features(history(), as_of), n_train=sum(n for _, n in shares)
        )
    except churn.NoHonestHoldOut as reason:
        return no_scores, about | {"status": "not scored", "reason": str(reason)}
    return scores, about | {
        "status": "scored",
        "roc_auc": round(evaluation.roc_auc, 4),
        "brier_score": round(evaluation.brier_score, 4),
        "base_rate": round(evaluation.base_rate, 4),
        "n_train": evaluation.n_train,
        "n_holdout": evaluation.n_holdout,
    }


@dg.asset(
    group_name=GROUP,
    partitions_def=business_weeks,
    deps=[dg.AssetDep("customer_visits", partition_mapping=LATE_NIGHTS_OF_WEEK)],
    check_specs=[
        checks.spec(
            checks.PSEUDONYM_KEY_CONFIGURED,
            "customer_analytics",
            "Warns when customer keys are made with the public demo pseudonym key.",
            business_weeks,
        ),
        checks.spec(
            checks.CHURN_MODEL_QUALITY,
            "customer_analytics",
            "Warns when churn probabilities could not be computed honestly, or when the model's "
            f"time-based hold-out ROC AUC is below {checks.MIN_ROC_AUC}.",
            business_weeks,
        ),
    ],
    kinds={"polars", "sql", "scikit-learn"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def customer_analytics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Each business week's snapshot, as it stood at the end of the week: per venue and
    pseudonymous customer key, visits, first and last visit, lifetime value, averages,
    preferred night, special occasions, loyalty score, churn probability and segment, over
    the two years up to the week's last night."""
    db = warehouse.database()
    key, demo_key = settings.PSEUDONYM_KEY.get(), _uses_demo_key()
    table = tables.customer_analytics
    first_day, _ = _history_span(db)
    metadata, results = {}, {}
    # A second connection, beside the first: it reads the nights of the week's snapshot and
    # of its new churn cutoff (two years and six weeks; a year of 25 venues, 800,000 rows in
    # half a second) while the training examples are read on the first, then keeps the new
    # examples while the model is fitted and the snapshot made (150,000 rows, half a second).
    with db.sibling() as beside, concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        keeping: list[concurrent.futures.Future] = []
        week: tuple[dt.date, dt.date, concurrent.futures.Future] | None = None

        def keep_beside(into: sa.Table, frame: pl.DataFrame, where: sa.ColumnElement[bool]) -> None:
            keeping.append(worker.submit(beside.replace, into, frame, where))

        def visits(first: dt.date, last: dt.date) -> pl.DataFrame:
            if week is not None and week[0] <= first and last <= week[1]:
                return week[2].result()
            return _visit_rows(db, HISTORY_COLUMNS, first, last)

        # The weeks of a range meet the same cutoffs again as they pass: each is read once.
        kept = functools.lru_cache(maxsize=churn.CUTOFF_SPAN_WEEKS)
        examples = kept(functools.partial(_labelled_examples, db, keep_beside, visits))
        training_share = kept(functools.partial(_training_share, db, keep_beside, visits))
        for week_start, as_of_day in snapshot_weeks(context).items():
            if first_day is None:
                frame = pl.DataFrame(schema=table_schema(table))
                about = {"status": "not scored", "reason": "customer_visits is empty"}
            else:
                # The week's hold-out cutoff is HORIZON_DAYS back: its look-back starts earliest.
                first = look_back(as_of_day - dt.timedelta(days=churn.HORIZON_DAYS))[0]
                week = (
                    first,
                    as_of_day,
                    worker.submit(_visit_rows, beside, HISTORY_COLUMNS, first, as_of_day),
                )
                history = functools.cache(functools.partial(_history, visits, as_of_day))
                scores, about = _churn_scores(examples, training_share, history, first_day, as_of_day)
                profiles = customer_profiles(history(), as_of_day).join(scores, on=CUSTOMER, how="left")
                frame = (
                    with_customer_keys(profiles, key)
                    .with_columns(pl.lit(week_start).alias("week_start"))
                    .select(table_schema(table).keys())
                )
            # The examples are kept before the week is: a later week may read them back.
            while keeping:
                keeping.pop().result()
            db.replace(table, frame, table.c.week_start == week_start)
            segments = dict(frame["segment"].value_counts().iter_rows())
            context.log.info(
                f"customer_analytics week of {week_start} as of {as_of_day}: {frame.height} customers, "
                f"churn {about['status']}"
            )
            metadata[week_start] = {
                "dagster/row_count": frame.height,
                "as_of_date": str(as_of_day),
                "segments": dg.MetadataValue.json({s: segments.get(s, 0) for s in SEGMENTS}),
                "pseudonym_key_is_demo_default": demo_key,
                "churn_model": dg.MetadataValue.json(about),
                **{f"churn_{k}": about[k] for k in CHURN_FIGURES if k in about},
            }
            results[week_start] = [
                checks.pseudonym_key_result(demo_key, settings.PSEUDONYM_KEY.env),
                checks.churn_model_result(about),
            ]
    describe_nights(context, metadata, results)
    yield dg.MaterializeResult()
    yield from check_evaluations(context, context.asset_key, results)


# --- staff_performance ---------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[*same_nights("staff_shifts", "bar_transactions", "check_ins"), "raw_staff"],
    check_specs=[
        checks.spec(
            checks.ACTIVITY_WITHOUT_SHIFT,
            "staff_performance",
            "Warns when someone rang up sales or scanned people in on a night without a shift.",
            business_days,
        )
    ],
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def staff_performance(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per staff member and night: hours on shift, bar sales and transactions, entries
    processed at the door, and sales per hour."""
    db, window = warehouse.database(), window_of(context)
    table, staff = tables.staff_performance, db.read_table(RAW["staff"])
    metadata, results = {}, {}
    for chunk in chunks_of(db, window):
        shifts, sales, scans = (
            db.read_table(RAW[name], nights_of(RAW[name], chunk))
            for name in ("staff_shifts", "bar_transactions", "check_ins")
        )
        frame = compute_staff_performance(shifts, sales, scans, staff)
        db.replace(table, frame, nights_of(table, chunk))
        results |= {day: [r] for day, r in checks.unrostered_results(frame, chunk).items()}
        metadata |= per_night(
            frame,
            chunk,
            **{"dagster/row_count": pl.len(), "hours_on_shift": pl.col("hours_on_shift").sum().round(2)},
        )
    describe_nights(context, metadata, results)
    yield dg.MaterializeResult()
    yield from check_evaluations(context, context.asset_key, results)
