"""Stripe: charges, refunds, disputes and payouts pulled by night, and the reconciliation of the
booking system's payments with them (docs/connectors.md, "Stripe").

Present only when STRIPE_API_KEY is set as the code location loads (`stripe_definitions`): the
embedded default needs no Stripe, and a graph without the key has nothing that could fail for
the want of one. The pulls are run by their own job and two schedules, like the raw layer's:
hourly for the open night, and at 06:20 for the night just closed and the recent nights
re-opened by Stripe's webhook (connectors/stripe_late.py). The reconciliation follows its inputs
like everything below the raw layer; its check is recorded night by night.
"""

import datetime as dt

import dagster as dg
import polars as pl

from backroom_reporting import settings
from backroom_reporting.assets.nights import AS_OF_TAG, as_of, check_evaluations, describe_nights, window_of
from backroom_reporting.assets.policies import BACKFILL, RETRY_TRANSIENT_FAULTS, SAME_NIGHTS
from backroom_reporting.checks.quarantine import quarantine_check_spec, quarantine_result
from backroom_reporting.connectors.stripe_late import PULLED_TABLES, reopened_nights
from backroom_reporting.connectors.stripe_load import Landing, land
from backroom_reporting.connectors.stripe_records import RULES
from backroom_reporting.metrics.business_time import BusinessWindow, last_closed_business_day
from backroom_reporting.metrics.reconciliation import reconcile
from backroom_reporting.partitions import HISTORY_START, business_days
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.stripe import StripeResource
from backroom_reporting.schedules.nightly import RECHECKED_NIGHTS, closing_requests, open_night
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.tables.stripe import payment_reconciliation, stripe_charges, stripe_refunds

GROUP = "stripe"
RECONCILIATION_GROUP = "payments"
MATCHES_STRIPE = "matches_stripe"
WHAT = {
    "stripe_charges": "Stripe's charges (deposits)",
    "stripe_refunds": "Stripe's refunds",
    "stripe_disputes": "Stripe's disputes (chargebacks)",
    "stripe_payouts": "Stripe's payouts to the bank (the whole account's, naming no venue)",
}


def _night_metadata(landing: Landing) -> dict[dt.date, dict]:
    return {
        row["business_date"]: {
            "dagster/row_count": row["rows_landed"],
            "rows": row["rows_landed"],
            "pulled": row["rows_pulled"],
            "quarantined": row["rows_quarantined"],
            "final": row["final"],
            "since": row["since"].isoformat(),
        }
        for row in landing.nights.iter_rows(named=True)
    }


def _quarantine_results(landing: Landing) -> dict[dt.date, list[dg.AssetCheckResult]]:
    """Each night pulled judged on this pull's records of it."""
    return {
        day: [
            quarantine_result(
                landing.table,
                landed,
                quarantined,
                landing.reasons_by_night.get(day, {}),
                day,
                limit=RULES[landing.table].quarantine_limit,
            )
        ]
        for day, (landed, quarantined) in landing.pulled_by_night.items()
    }


def build_pull_asset(table: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(table)
    # Refunds and disputes take their venue and booking from their charge when they carry none.
    charges = (
        [dg.AssetDep("stripe_charges", partition_mapping=SAME_NIGHTS)]
        if table in ("stripe_refunds", "stripe_disputes")
        else []
    )

    @dg.asset(
        key=key,
        group_name=GROUP,
        description=f"{WHAT[table]}, pulled by `created` and upserted by Stripe id; "
        "partitioned by the night of `created`.",
        partitions_def=business_days,
        backfill_policy=BACKFILL,
        deps=[dg.AssetKey("raw_venues"), *charges],
        check_specs=[quarantine_check_spec(key, business_days)],
        kinds={"stripe", "sql"},
        tags={"layer": "raw"},
        retry_policy=RETRY_TRANSIENT_FAULTS,
    )
    def pulled(context: dg.AssetExecutionContext, stripe: StripeResource, warehouse: WarehouseResource):
        landing = land(
            stripe.client(),
            warehouse.database(),
            table,
            window_of(context),
            as_of(context),
            rate_limit_retries=stripe.rate_limit_retries,
            first_wait=stripe.rate_limit_wait_seconds,
        )
        context.log.info(
            f"{table} {landing.window} from {landing.since:%Y-%m-%d %H:%M} UTC: "
            f"{landing.pulled.pages} pages, {landing.landed} landed, {landing.quarantined} quarantined, "
            f"{landing.pulled.duplicates} duplicates kept once, "
            f"{landing.pulled.rate_limited} rate-limited pages asked again"
        )
        results = _quarantine_results(landing)
        describe_nights(context, _night_metadata(landing), results)
        yield dg.MaterializeResult(
            metadata={
                "since": landing.since.isoformat(),
                "pages": landing.pulled.pages,
                "duplicates": landing.pulled.duplicates,
                "rate_limited": landing.pulled.rate_limited,
                "outside_window": landing.outside_window,
                "quarantine_reasons": dg.MetadataValue.json(landing.reasons),
                "records_per_second": round(len(landing.pulled.records) / landing.seconds, 1)
                if landing.seconds
                else 0.0,
            }
        )
        yield from check_evaluations(context, key, results)

    return pulled


# --- reconciliation ---------------------------------------------------------------------------


def _reconciliation_results(
    differences: pl.DataFrame, window: BusinessWindow
) -> dict[dt.date, list[dg.AssetCheckResult]]:
    results = {}
    for day in window.days:
        found = differences.filter(pl.col("business_date") == day)
        sentences = found["difference"].to_list()
        results[day] = [
            dg.AssetCheckResult(
                check_name=MATCHES_STRIPE,
                passed=not sentences,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{day:%A %-d %B %Y}: {len(sentences)} difference(s) between the booking system "
                f"and Stripe. " + " ".join(f"{s}." for s in sentences[:10])
                if sentences
                else None,
                metadata={"differences": len(sentences), "sentences": dg.MetadataValue.json(sentences)},
            )
        ]
    return results


@dg.asset(
    key="payment_reconciliation",
    group_name=RECONCILIATION_GROUP,
    description="Each difference between the booking system's deposits and refunds and Stripe's charges and "
    "refunds, per venue and night, in one sentence; a night that reconciles has no rows.",
    partitions_def=business_days,
    backfill_policy=BACKFILL,
    deps=[
        dg.AssetDep("raw_payments", partition_mapping=SAME_NIGHTS),
        dg.AssetDep("stripe_charges", partition_mapping=SAME_NIGHTS),
        dg.AssetDep("stripe_refunds", partition_mapping=SAME_NIGHTS),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            MATCHES_STRIPE,
            asset="payment_reconciliation",
            partitions_def=business_days,
            description="Warns for a night whose booking-system deposits and refunds differ from Stripe's, "
            "naming each difference.",
        )
    ],
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
def payment_reconciliation_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    db, window = warehouse.database(), window_of(context)

    def nights(table):
        return table.c.business_date.between(window.first_day, window.last_day)

    payments = db.read_table(RAW["payments"], nights(RAW["payments"]))
    differences = reconcile(
        payments,
        db.read_table(stripe_charges, nights(stripe_charges)),
        db.read_table(stripe_refunds, nights(stripe_refunds)),
    )
    db.replace(payment_reconciliation, differences, nights(payment_reconciliation))
    results = _reconciliation_results(differences, window)
    counts = differences.group_by("business_date").len()
    by_night = dict(counts.iter_rows())
    describe_nights(context, {day: {"differences": by_night.get(day, 0)} for day in window.days}, results)
    yield dg.MaterializeResult(metadata={"dagster/row_count": differences.height})
    yield from check_evaluations(context, dg.AssetKey("payment_reconciliation"), results)


# --- job and schedules ------------------------------------------------------------------------

stripe_pull = dg.define_asset_job(
    "stripe_pull",
    selection=dg.AssetSelection.groups(GROUP),
    description="Stripe's charges, refunds, disputes and payouts for the nights asked; "
    "the reconciliation follows.",
    tags={"dagster/max_runtime": 15 * 60, "dagster/priority": "1"},
)


@dg.schedule(
    job=stripe_pull,
    cron_schedule="10 12-23,0-5 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour from 12:10 to 05:10: what Stripe created on the open night since the last pull.",
)
def stripe_open_night_schedule(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    return dg.RunRequest(
        run_key=f"stripe-open-night:{tick.isoformat()}",
        partition_key=open_night(tick).isoformat(),
        tags={AS_OF_TAG: tick.isoformat()},
    )


@dg.schedule(
    job=stripe_pull,
    cron_schedule="20 6 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 06:20: the night just closed, pulled whole, and any of the 14 nights before it that a "
    "Stripe webhook event re-opened (a late refund or dispute) or that was never pulled.",
)
def stripe_closing_schedule(context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource):
    tick = context.scheduled_execution_time
    closed = last_closed_business_day(tick)
    first = max(HISTORY_START, closed - dt.timedelta(days=RECHECKED_NIGHTS))
    reopened = (
        reopened_nights(warehouse.database(), BusinessWindow(first, closed - dt.timedelta(days=1)))
        if first < closed
        else {}
    )
    if reopened:
        context.log.info(
            "re-opened for Stripe: " + "; ".join(f"{d} ({', '.join(t)})" for d, t in reopened.items())
        )
    return closing_requests("stripe-closing", tick, closed, reopened)


pull_assets = [build_pull_asset(table) for table in PULLED_TABLES]


def stripe_resource() -> StripeResource:
    return StripeResource(
        api_key=dg.EnvVar(settings.STRIPE_API_KEY.env), base_url=settings.STRIPE_BASE_URL.for_resource()
    )


def stripe_definitions() -> dg.Definitions | None:
    """Stripe's assets, check, job and schedules, when STRIPE_API_KEY is set; else None."""
    if not settings.STRIPE_API_KEY.get():
        return None
    return dg.Definitions(
        assets=[*pull_assets, payment_reconciliation_asset],
        jobs=[stripe_pull],
        schedules=[stripe_open_night_schedule, stripe_closing_schedule],
        resources={"stripe": stripe_resource()},
    )
