"""Customer analytics (pseudonymous), top customers and staff performance.

Customers leave this module only as customer_key, a keyed hash (HMAC-SHA256) of their
customer_id under the pseudonym key, read from the environment when each run starts.
Staff performance is an internal staff report and names the staff.
"""

import datetime as dt
import time

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting import settings
from backroom_reporting.assets.policies import FOLLOW_INPUTS, FOLLOW_INPUTS_DESPITE_GAPS, same_nights
from backroom_reporting.metrics import churn
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.customers import (
    CUSTOMER,
    CUSTOMER_SCHEMA,
    HISTORY_SCHEMA,
    SEGMENTS,
    TRAILING_DAYS,
    churn_features,
    churn_labels,
    customer_profiles,
    earlier_visits_query,
    history_query,
    label_top_customers,
    rank_top_customers,
    returned_query,
    with_customer_keys,
)
from backroom_reporting.metrics.staff import staff_performance as compute_staff_performance
from backroom_reporting.partitions import business_days
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import IN_LIST_CHUNK, Database
from backroom_reporting.warehouse.tables import customers as tables
from backroom_reporting.warehouse.tables.aggregations import customer_visits
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema

GROUP = "analytics"
# Below this hold-out ROC AUC the churn probabilities rank customers little better than chance.
MIN_ROC_AUC = 0.6
# Model figures also recorded as metadata entries of their own, so the UI plots them over runs.
CHURN_FIGURES = ("roc_auc", "brier_score", "base_rate", "n_train", "n_holdout", "horizon_days")

VISIT_ROWS_SCHEMA = {
    "venue_id": pl.String(),
    "customer_id": pl.String(),
    "business_date": pl.Date(),
    "visited": pl.Boolean(),
    "spend_pence": pl.Int64(),
    "is_vip": pl.Boolean(),
}


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


def _trailing_window_check(first_day: dt.date | None, window: BusinessWindow) -> dg.AssetCheckResult:
    """Days whose 90-day window starts before customer_visits does rank on less history."""
    short = [
        day
        for day in window.days
        if first_day is None or day - dt.timedelta(days=TRAILING_DAYS - 1) < first_day
    ]
    description = None
    if short:
        since = f"customer_visits begins on {first_day}" if first_day else "customer_visits is empty"
        description = (
            f"{len(short)} day(s) ({short[0]}..{short[-1]}) rank customers on fewer than "
            f"{TRAILING_DAYS} days: {since}"
        )
    return dg.AssetCheckResult(
        check_name="trailing_window_complete",
        passed=not short,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "days_ranked_on_less_than_90_days": len(short),
            "customer_visits_from": str(first_day),
        },
        description=description,
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    automation_condition=FOLLOW_INPUTS,
    deps=[
        dg.AssetDep(
            "customer_visits",
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-(TRAILING_DAYS - 1), allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "trailing_window_complete",
            asset="top_customers",
            description=f"Warns when a day's ranking covers fewer than {TRAILING_DAYS} days of visits.",
        )
    ],
    kinds={"polars", "sql"},
)
def top_customers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """As of each business day: the venue's 25 top spenders and 25 most frequent visitors
    over the 90 days ending that day, ranked, with their segment, by customer key only."""
    began = time.perf_counter()
    db, window = warehouse.database(), BusinessWindow.from_instants(*context.partition_time_window)
    key = settings.PSEUDONYM_KEY.get()
    span_start = window.first_day - dt.timedelta(days=TRAILING_DAYS - 1)
    cv = customer_visits.c
    rows = db.read(
        sa.select(*(cv[c] for c in VISIT_ROWS_SCHEMA)).where(
            cv.business_date.between(span_start, window.last_day)
        ),
        VISIT_ROWS_SCHEMA,
    )
    ranked = rank_top_customers(rows, window.days, key)
    earlier = _earlier_visits(db, span_start, ranked["customer_id"])
    frame = label_top_customers(ranked, rows.filter(pl.col("visited")), earlier)
    table = tables.top_customers
    db.replace(table, frame, table.c.business_date.between(window.first_day, window.last_day))
    first_day, _ = _history_span(db)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "window": str(window),
            "customer_visits_rows_read": rows.height,
            "pseudonym_key_is_demo_default": _uses_demo_key(),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - began, 3)),
        },
        check_results=[_trailing_window_check(first_day, window)],
    )


# --- customer_analytics --------------------------------------------------------------------------


def _labelled_examples(db: Database, cutoff: dt.date) -> pl.DataFrame:
    history = db.read(history_query(cutoff), HISTORY_SCHEMA)
    returned = db.read(returned_query(cutoff, churn.HORIZON_DAYS), CUSTOMER_SCHEMA)
    return churn_labels(churn_features(history, cutoff), returned)


def _churn_scores(
    db: Database, history: pl.DataFrame, first_day: dt.date, latest_day: dt.date
) -> tuple[pl.DataFrame, dict]:
    """Churn probabilities of today's customers, and what to record about the model."""
    no_scores = pl.DataFrame(schema={**CUSTOMER_SCHEMA, "churn_probability": pl.Float64()})
    about: dict = {"horizon_days": churn.HORIZON_DAYS, "model": churn.MODEL, "features": list(churn.FEATURES)}
    try:
        plan = churn.plan_cutoffs(first_day, latest_day)
        about |= {
            "training_cutoffs": [str(c) for c in plan.training_cutoffs],
            "holdout_cutoff": str(plan.holdout_cutoff),
            "scoring_cutoff": str(plan.scoring_cutoff),
        }
        training = pl.concat([_labelled_examples(db, c) for c in plan.training_cutoffs])
        holdout = _labelled_examples(db, plan.holdout_cutoff)
        scores, evaluation = churn.fit_evaluate_and_score(
            training, holdout, churn_features(history, latest_day)
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


def _key_check() -> dg.AssetCheckResult:
    demo = _uses_demo_key()
    return dg.AssetCheckResult(
        check_name="pseudonym_key_configured",
        passed=not demo,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"pseudonym_key_is_demo_default": demo},
        description=(
            f"Customer keys use the public demo key: set {settings.PSEUDONYM_KEY.env} to a secret of your own"
            if demo
            else None
        ),
    )


def _churn_check(about: dict) -> dg.AssetCheckResult:
    scored = about["status"] == "scored"
    passed = scored and about["roc_auc"] >= MIN_ROC_AUC
    if not scored:
        description = f"No churn probabilities: {about['reason']}"
    elif not passed:
        description = f"Hold-out ROC AUC {about['roc_auc']} is below {MIN_ROC_AUC}"
    else:
        description = None
    return dg.AssetCheckResult(
        check_name="churn_model_quality",
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={k: v for k, v in about.items() if k in ("status", "roc_auc", "brier_score", "base_rate")},
        description=description,
    )


@dg.asset(
    group_name=GROUP,
    deps=["customer_visits"],
    # The snapshot reads every partition it has; missing old partitions must not hold it back.
    automation_condition=FOLLOW_INPUTS_DESPITE_GAPS,
    check_specs=[
        dg.AssetCheckSpec(
            "pseudonym_key_configured",
            asset="customer_analytics",
            description="Warns when customer keys are made with the public demo pseudonym key.",
        ),
        dg.AssetCheckSpec(
            "churn_model_quality",
            asset="customer_analytics",
            description=(
                "Warns when churn probabilities could not be computed honestly, or when the model's "
                f"time-based hold-out ROC AUC is below {MIN_ROC_AUC}."
            ),
        ),
    ],
    kinds={"polars", "sql", "scikit-learn"},
)
def customer_analytics(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per venue and pseudonymous customer key, as of the latest business day in
    customer_visits: visits, first and last visit, lifetime value, averages, preferred
    night, special occasions, loyalty score, churn probability and segment."""
    began = time.perf_counter()
    db = warehouse.database()
    key = settings.PSEUDONYM_KEY.get()
    table = tables.customer_analytics
    first_day, latest_day = _history_span(db)
    if latest_day is None:
        frame = pl.DataFrame(schema=table_schema(table))
        about = {"status": "not scored", "reason": "customer_visits is empty"}
    else:
        history = db.read(history_query(latest_day), HISTORY_SCHEMA)
        scores, about = _churn_scores(db, history, first_day, latest_day)
        profiles = customer_profiles(history, latest_day).join(scores, on=CUSTOMER, how="left")
        frame = with_customer_keys(profiles, key).select(table_schema(table).keys())
    db.replace(table, frame)
    segments = dict(frame["segment"].value_counts().iter_rows())
    context.log.info(
        f"customer_analytics as of {latest_day}: {frame.height} customers, churn {about['status']}"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "as_of_date": str(latest_day),
            "segments": dg.MetadataValue.json({s: segments.get(s, 0) for s in SEGMENTS}),
            "pseudonym_key_is_demo_default": _uses_demo_key(),
            "churn_model": dg.MetadataValue.json(about),
            **{f"churn_{k}": about[k] for k in CHURN_FIGURES if k in about},
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - began, 3)),
        },
        check_results=[_key_check(), _churn_check(about)],
    )


# --- staff_performance ---------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    automation_condition=FOLLOW_INPUTS,
    deps=[*same_nights("staff_shifts", "bar_transactions", "check_ins"), "raw_staff"],
    check_specs=[
        dg.AssetCheckSpec(
            "activity_without_shift",
            asset="staff_performance",
            description="Warns when someone rang up sales or scanned people in on a day without a shift.",
        )
    ],
    kinds={"polars", "sql"},
)
def staff_performance(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per staff member and business day: hours on shift, bar sales and transactions,
    entries processed at the door, and sales per hour."""
    db, window = warehouse.database(), BusinessWindow.from_instants(*context.partition_time_window)

    def facts(name: str) -> pl.DataFrame:
        table = RAW[name]
        return db.read_table(table, table.c.business_date.between(window.first_day, window.last_day))

    frame = compute_staff_performance(
        facts("staff_shifts"), facts("bar_transactions"), facts("check_ins"), db.read_table(RAW["staff"])
    )
    table = tables.staff_performance
    db.replace(table, frame, table.c.business_date.between(window.first_day, window.last_day))
    unrostered = frame.filter(
        (pl.col("shifts") == 0) & ((pl.col("bar_transactions") > 0) | (pl.col("entries_processed") > 0))
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "window": str(window),
            "hours_on_shift": dg.MetadataValue.float(round(frame["hours_on_shift"].sum(), 2)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="activity_without_shift",
                passed=unrostered.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "staff_days": unrostered.height,
                    "sample": dg.MetadataValue.json(
                        unrostered.head(10).select("business_date", "staff_id").cast(pl.String).to_dicts()
                    ),
                },
                description=(
                    f"{unrostered.height} staff day(s) with sales or door entries but no shift"
                    if unrostered.height
                    else None
                ),
            )
        ],
    )
