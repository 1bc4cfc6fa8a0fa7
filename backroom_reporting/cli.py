"""The `backroom` command: demo data, the warehouse schema, and the main job."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import traceback
import zipfile
from pathlib import Path

import click

from backroom_reporting import settings
from backroom_reporting.alerting.commands import alerts, watchdog_command
from backroom_reporting.choices import one_of
from backroom_reporting.command_line import open_warehouse, warehouse_url_option
from backroom_reporting.metrics.business_time import BusinessWindow, last_closed_business_day
from backroom_reporting.portal.commands import tokens_group, users_group
from backroom_reporting.privacy.commands import gdpr
from backroom_reporting.subscriptions.commands import recipients, subscriptions
from backroom_reporting.warehouse.source_contract import CONTRACT

DEFAULT_SEED = 20261127
DEFAULT_DAYS = 120


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _window(start: dt.date | None, end: dt.date | None, days: int) -> BusinessWindow:
    end = end or last_closed_business_day(dt.datetime.now(dt.UTC))
    start = start or end - dt.timedelta(days=days - 1)
    if start > end:
        raise click.BadParameter(f"start {start} is after end {end}")
    return BusinessWindow(start, end)


class Backroom(click.Group):
    """The command group: a database fault ends a command with its one plain sentence (the
    traceback too when BACKROOM_TRACEBACK is set, for engineers)."""

    def invoke(self, ctx: click.Context):
        from backroom_reporting.warehouse.faults import Fault

        try:
            return super().invoke(ctx)
        except Fault as fault:
            if os.environ.get("BACKROOM_TRACEBACK"):
                traceback.print_exception(fault)
            raise click.ClickException(fault.sentence) from fault


@click.group(cls=Backroom)
def main() -> None:
    """Backroom Reporting: reporting and alerting for The Backroom Leeds."""


main.add_command(subscriptions)
main.add_command(recipients)
main.add_command(tokens_group)
main.add_command(users_group)
main.add_command(alerts)
main.add_command(watchdog_command)
main.add_command(gdpr)


# --- the warehouse schema -----------------------------------------------------------------


@main.group()
def db() -> None:
    """The warehouse schema (Alembic migrations)."""


@db.command("upgrade")
@warehouse_url_option
def db_upgrade(url: str | None) -> None:
    """Bring the warehouse schema up to date."""
    import sqlalchemy as sa

    from backroom_reporting.warehouse.migrate import current_revisions, describe, upgrade

    url = url or settings.WAREHOUSE_URL.get()
    upgrade(url)
    # A release's migration prints to logs that outlive it: never the password.
    shown = sa.make_url(url).render_as_string(hide_password=True)
    click.echo(f"warehouse {shown} is at revision {describe(current_revisions(url))}")


@db.command("current")
@warehouse_url_option
def db_current(url: str | None) -> None:
    """Show the warehouse's schema revision and the code's."""
    from backroom_reporting.warehouse.migrate import current_revisions, describe, head_revisions

    url = url or settings.WAREHOUSE_URL.get()
    click.echo(f"warehouse: {describe(current_revisions(url))}; code: {describe(head_revisions())}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@warehouse_url_option
def db_revision(message: str, url: str | None) -> None:
    """Write a migration for the difference between warehouse/tables/ and an up-to-date database."""
    from backroom_reporting.warehouse.migrate import revision

    revision(url or settings.WAREHOUSE_URL.get(), message)


# --- demo data and the main job -------------------------------------------------------------

_venues = click.option(
    "--venues", default=1, show_default=True, type=click.IntRange(1, 500), help="How many venues."
)
_seed = click.option(
    "--seed", default=DEFAULT_SEED, show_default=True, type=int, help="Random seed (same seed, same data)."
)
_start = click.option("--start", callback=_date, help="First business day (default: --days before --end).")
_end = click.option(
    "--end", callback=_date, help="Last business day (default: the last closed one, usually yesterday)."
)
_days = click.option(
    "--days",
    default=DEFAULT_DAYS,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="Business days of history when --start is not given.",
)


def _generate(venues: int, window: BusinessWindow, seed: int) -> dict[str, int]:
    from backroom_reporting.demo.generator import generate

    url = settings.SOURCE_URL.get()
    click.echo(f"Generating {venues} venue(s), business days {window}, seed {seed} -> {url}")
    began = time.perf_counter()
    counts = generate(url, venues, window.first_day, window.last_day, seed)
    total = sum(counts.values())
    click.echo(
        f"  {total:,} source rows in {time.perf_counter() - began:.1f}s: "
        + ", ".join(f"{name} {n:,}" for name, n in counts.items())
    )
    return counts


@main.group(invoke_without_command=True)
@_venues
@_start
@_end
@_days
@_seed
@click.pass_context
def demo(ctx: click.Context, venues: int, start, end, days: int, seed: int) -> None:
    """The main job: generate demo data, upgrade the warehouse, materialise every asset."""
    if ctx.invoked_subcommand is not None:
        return
    began = time.perf_counter()
    window = _window(start, end, days)
    _generate(venues, window, seed)
    from backroom_reporting.ingest.load import earliest_business_day
    from backroom_reporting.warehouse.database import Database
    from backroom_reporting.warehouse.migrate import upgrade

    warehouse_url = settings.WAREHOUSE_URL.get()
    _start_fresh(warehouse_url)
    click.echo(f"Upgrading warehouse schema at {warehouse_url}")
    upgrade(warehouse_url)
    with Database(settings.SOURCE_URL.get()) as source:
        first = min(earliest_business_day(source) or window.first_day, window.first_day)
    _record_history_start(first)
    _materialise_everything(BusinessWindow(first, window.last_day))
    _summary(warehouse_url, time.perf_counter() - began)


def _start_fresh(warehouse_url: str) -> None:
    """A SQLite warehouse built from an earlier demo booking system is removed: the booking
    system was just generated anew (its ids depend on the range, so a demo on another day
    numbers rows differently). A PostgreSQL warehouse is never dropped by the demo."""
    from backroom_reporting.warehouse.connections import sqlite_file

    path = sqlite_file(warehouse_url)
    if path is not None and path.exists():
        click.echo(f"Starting a fresh warehouse at {path}: the demo booking system was generated anew")
        path.unlink()


@demo.command("generate")
@_venues
@_start
@_end
@_days
@_seed
def demo_generate(venues: int, start, end, days: int, seed: int) -> None:
    """Write the twelve booking-system tables with demo data (replacing what was there)."""
    _generate(venues, _window(start, end, days), seed)


ENV_FILE = Path(".env")


def _record_history_start(first: dt.date) -> None:
    """The demo's first night is where partitions begin: in this process, and in .env, which
    Dagster reads before it loads the code location (so `make dev` shows the same nights)."""
    name = settings.HISTORY_START.env
    os.environ[name] = first.isoformat()
    kept = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    lines = [line for line in kept if not line.startswith(f"{name}=")]
    ENV_FILE.write_text("\n".join([*lines, f"{name}={first.isoformat()}"]) + "\n")


# Every subscription's report and delivery, in one run (as the sensor asks at a report time).
REPORT_ASSETS = (
    "subscription_reports",
    "report_generation_history",
    "report_deliveries",
    "report_delivery_history",
)
# Exports of Dagster's own records: built last, so they include every run before them.
JOB_TABLES = ("scheduled_jobs", "job_dependencies", "job_execution_history")


def _progress(window: BusinessWindow):
    """Prints each stage of a backfill as it starts and ends."""
    import dagster as dg

    def progress(i: int, n: int, stage, result) -> None:
        names = ", ".join(k.to_user_string() for k in stage.keys)
        dynamic = isinstance(stage.partitions_def, dg.DynamicPartitionsDefinition)
        if result is None:
            scope = f"{window} ({len(window.days)} nights)" if stage.partitions_def else "snapshot"
            click.echo(f"[{i}/{n}] {'every subscription in one run' if dynamic else scope}: {names}")
            return
        runs = f" ({result.partitions} partitions in one run)" if result.partitions else ""
        if dynamic:
            runs = f" ({result.partitions} reports in one run)"
        click.echo(f"      done in {result.seconds:.1f}s{runs}")
        for check, failed in result.failed_checks.items():
            click.echo(f"      {'warning' if failed.severity == 'warn' else 'FAILED'}: {check} ({failed})")

    return progress


def _materialise_everything(window: BusinessWindow) -> None:
    """The whole graph over the window; then the demo subscriptions, and their reports."""
    import dagster as dg

    from backroom_reporting.assets.nights import AS_OF_TAG
    from backroom_reporting.backfill import backfill
    from backroom_reporting.definitions import defs
    from backroom_reporting.instance import instance
    from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
    from backroom_reporting.subscriptions.demo import load_demo_subscriptions
    from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
    from backroom_reporting.warehouse.database import Database

    graph = defs.resolve_asset_graph()
    later = (*REPORT_ASSETS, *JOB_TABLES)
    analytics = [k for k in graph.get_all_asset_keys() if k.to_user_string() not in later]
    click.echo(f"Materialising every asset over {window}")
    progress = _progress(window)
    with instance() as dagster:
        backfill(defs, window, dagster, on_stage=progress, selection=analytics)
        with Database(settings.WAREHOUSE_URL.get(), search_path=REPORTING_SCHEMA) as db:
            recipients, subscribed = load_demo_subscriptions(db)
        sync_subscription_partitions(dagster, [s.subscription_id for s in subscribed])
        click.echo(
            f"Demo subscriptions: {len(recipients)} recipients, {len(subscribed)} subscriptions; "
            "rendering and delivering"
        )
        # Reports stand at the morning after the demo's last night (which --end may set in the past).
        backfill(
            defs,
            window,
            dagster,
            on_stage=progress,
            selection=[dg.AssetKey(k) for k in REPORT_ASSETS],
            tags={AS_OF_TAG: window.end.isoformat()},
        )
        backfill(defs, window, dagster, on_stage=progress, selection=[dg.AssetKey(k) for k in JOB_TABLES])


# --- rebuilding nights from the source ---------------------------------------------------------


@main.command("rebuild")
@click.option("--from", "first", callback=_date, required=True, help="First night to rebuild (YYYY-MM-DD).")
@click.option("--to", "last", callback=_date, help="Last night to rebuild (default: --from).")
@click.option(
    "--select",
    "selection",
    help="Dagster asset selection to rebuild from, e.g. raw_ticket_sales or 'kpi_calculations'; "
    "what it selects and everything downstream of it are rebuilt (default: the raw layer, so "
    "everything is reloaded from the booking system).",
)
@click.option(
    "--accept-changes",
    "accept",
    multiple=True,
    type=click.Choice([*CONTRACT, "all"]),
    help="A source table whose load guard tripped (emptied, shrunk, collapsed, mostly bad) "
    "and whose change is real: load it anyway. Repeat for several tables.",
)
def rebuild(first: dt.date, last: dt.date | None, selection: str | None, accept: tuple[str, ...]) -> None:
    """Rebuild nights from the booking system, everything downstream included, in as few runs as
    the partitions allow; the runs are recorded in the Dagster instance (DAGSTER_HOME), tagged
    backroom/rebuild, so the UI shows them. Reports are not re-sent."""
    import uuid

    import dagster as dg

    from backroom_reporting.backfill import backfill
    from backroom_reporting.definitions import defs
    from backroom_reporting.ingest.guards import ACCEPT_TAG
    from backroom_reporting.instance import instance
    from backroom_reporting.partitions import HISTORY_START

    last = last or first
    closed = last_closed_business_day(dt.datetime.now(dt.UTC))
    if first > last:
        raise click.BadParameter(f"--from {first} is after --to {last}")
    if first < HISTORY_START:
        raise click.BadParameter(
            f"--from {first} is before the first night kept, {HISTORY_START} "
            f"({settings.HISTORY_START.env}); move that back first"
        )
    if last > closed:
        raise click.BadParameter(
            f"--to {last}: that night has not closed yet (the last closed night is {closed})"
        )
    graph = defs.resolve_asset_graph()
    try:
        start = dg.AssetSelection.from_string(selection) if selection else dg.AssetSelection.groups("raw")
        chosen = start.downstream().resolve(graph)
    except dg.DagsterError as exc:  # a selection that does not parse, or names no asset
        raise click.BadParameter(str(exc)) from exc
    skipped = {*REPORT_ASSETS, *JOB_TABLES}
    keys = [k for k in chosen if k.to_user_string() not in skipped and graph.get(k).is_materializable]
    if not keys:
        raise click.BadParameter(f"{selection!r} selects nothing to rebuild")
    window = BusinessWindow(first, last)
    rebuild_id = uuid.uuid4().hex[:8]
    tags = {"backroom/rebuild": rebuild_id}
    if accept:
        tags[ACCEPT_TAG] = ",".join(accept)
    click.echo(f"Rebuilding {window} ({len(keys)} assets), runs tagged backroom/rebuild={rebuild_id}")
    began = time.perf_counter()
    with instance() as dagster:
        results = backfill(
            defs,
            window,
            dagster,
            on_stage=_progress(window),
            selection=keys,
            tags=tags,
        )
    click.echo(f"Rebuilt {window} in {len(results)} runs, {time.perf_counter() - began:.0f}s.")
    failed = [
        f"{check} ({failure})"
        for result in results
        for check, failure in result.failed_checks.items()
        if failure.severity == "error"
    ]
    if failed:
        raise click.ClickException(
            f"{len(failed)} blocking check(s) failed, so the nights they name kept their previous "
            f"figures: {'; '.join(failed)}. The run's check results in the Dagster UI say why."
        )


@main.command("dev")
def dev() -> None:
    """Open the Dagster UI and run its daemon for this workspace at http://127.0.0.1:3000."""
    from backroom_reporting.instance import dagster_home

    dagster_home()
    command = ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3000"]
    os.execvp(command[0], command)


@main.command("portal")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def portal(host: str, port: int) -> None:
    """Serve the web app: downloads, dashboard, API, tracking, unsubscribe and provider callbacks."""
    import uvicorn

    from backroom_reporting.portal.app import create_app

    click.echo(f"the web app is at http://{host}:{port} (links in messages use ${settings.PORTAL_URL.env})")
    uvicorn.run(create_app(), host=host, port=port, proxy_headers=True)


def _latest_reports(warehouse) -> list[dict]:
    """The newest successful generation of each subscription."""
    import polars as pl

    from backroom_reporting.warehouse.tables.reports import report_generation_history

    rows = warehouse.read_table(report_generation_history).filter(pl.col("status") == "succeeded")
    return rows.sort("generated_at").group_by("subscription_id").last().sort("subscription_id").to_dicts()


def _summary(warehouse_url: str, seconds: float) -> None:
    import sqlalchemy as sa

    from backroom_reporting.rendering.store import ReportStore
    from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
    from backroom_reporting.warehouse.database import Database
    from backroom_reporting.warehouse.source_contract import CONTRACT
    from backroom_reporting.warehouse.tables import WAREHOUSE
    from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine

    def count(db: Database, table: sa.Table) -> int:
        return db.scalar(sa.select(sa.func.count()).select_from(table))

    with (
        Database(warehouse_url, search_path=REPORTING_SCHEMA) as warehouse,
        Database(settings.SOURCE_URL.get()) as source,
    ):
        quarantined = dict(
            warehouse.read(
                sa.select(raw_quarantine.c.source_table, sa.func.count().label("rows")).group_by(
                    raw_quarantine.c.source_table
                )
            ).iter_rows()
        )
        click.echo("\nSource tables: rows in the booking system -> loaded, quarantined, awaiting their night")
        for name, rules in CONTRACT.items():
            total, loaded, bad = (
                count(source, rules.table),
                count(warehouse, RAW[name]),
                quarantined.get(name, 0),
            )
            click.echo(f"  {name:<20} {total:>9,} -> {loaded:>9,} {bad:>6,} {total - loaded - bad:>6,}")
        click.echo("Warehouse tables (rows):")
        for table in sorted(WAREHOUSE.tables.values(), key=lambda t: t.name):
            if not table.name.startswith("raw_"):
                click.echo(f"  {table.name:<32} {count(warehouse, table):>10,}")
        reports = _latest_reports(warehouse)
    if sum(quarantined.values()):
        click.echo("Quarantined rows are in table raw_quarantine, with their reasons and raw values.")
    store = ReportStore()
    click.echo(
        f"Reports: each subscription's newest, to open (every render is also kept in {store.root}/, "
        "content-addressed):"
    )
    for subscription_id in (row["subscription_id"] for row in reports):
        names = ", ".join(p.name for p in store.latest_files(subscription_id)) or "none yet"
        click.echo(f"  {subscription_id:<22} {store.latest_folder(subscription_id)}/: {names}")
    outbox = Path(settings.OUTBOX_DIR.get())
    sent = sorted(outbox.glob("*")) if outbox.is_dir() else []
    click.echo(
        f"Deliveries (no SMTP, Twilio or Slack configured): {len(sent)} messages in {outbox}/ "
        "(emails as .eml files to open in a mail client; SMS, Slack and webhook payloads as JSON)"
    )
    click.echo(f"\nDone in {seconds:.0f}s.")
    click.echo(f"  booking system : {settings.SOURCE_URL.get()}")
    click.echo(f"  warehouse      : {warehouse_url}")
    click.echo(f"  Dagster runs   : {os.environ.get('DAGSTER_HOME')} (browse them with `make dev`)")


# --- reports ------------------------------------------------------------------------------------


@main.group()
def report() -> None:
    """Reports rendered from the warehouse."""


def _check_out(out: Path | None, formats: tuple[str, ...], layout) -> None:
    """Refuse an --out file whose name is not the one file asked for."""
    if out is None or out.is_dir() or not out.suffix:
        return
    if len(formats) > 1:
        raise click.BadParameter(
            f"{len(formats)} formats make several files: give --out a folder", param_hint="--out"
        )
    [fmt] = formats
    sections = len(layout.sections)
    several = fmt == "csv" and sections > 1
    if several and out.suffix != ".zip":
        raise click.BadParameter(
            f"{layout.title} makes {sections} CSV files, one per section: give --out a folder to write "
            f"them there, or a .zip to have them zipped",
            param_hint="--out",
        )
    wanted = "zip" if several else fmt
    if out.suffix.lstrip(".").lower() != wanted:
        raise click.BadParameter(f"{out.name} is not a .{wanted} file name", param_hint="--out")


def _outputs(files, out: Path | None) -> list[tuple[Path, bytes]]:
    """Where each rendered file goes: --out itself when it names one file, else the folder
    (the current one by default), with zipped CSVs unpacked there as plain CSV files."""
    if out is not None and out.suffix and not out.is_dir():
        return [(out, files[0].content)]
    folder = out or Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file in files:
        if file.format == "csv" and file.name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(file.content)) as zipped:
                stem = file.name.removesuffix(".zip")
                written += [(folder / f"{stem}-{name}", zipped.read(name)) for name in zipped.namelist()]
        else:
            written.append((folder / file.name, file.content))
    return written


def _check_night_held(db, day: dt.date) -> None:
    """Refuse a --date outside the nights the warehouse holds, saying which it holds."""
    import polars as pl
    import sqlalchemy as sa

    from backroom_reporting.warehouse.tables.aggregations import night_status

    held = db.read(
        sa.select(
            sa.func.min(night_status.c.business_date).label("first"),
            sa.func.max(night_status.c.business_date).label("last"),
        ),
        {"first": pl.Date(), "last": pl.Date()},
    ).row(0)
    if held[0] is None:
        raise click.BadParameter(
            "the warehouse holds no nights yet: run `backroom demo` or wait for the first",
            param_hint="--date",
        )
    if not held[0] <= day <= held[1]:
        raise click.BadParameter(
            f"{day} is outside the nights the warehouse holds, {held[0]} to {held[1]}", param_hint="--date"
        )


def _chosen_venue(venue: str | None, known: dict[str, str]) -> str:
    """--venue, checked; without it the warehouse's only venue."""
    if venue is None and len(known) != 1:
        raise click.BadParameter(f"choose a venue with --venue: {', '.join(sorted(known)) or 'none loaded'}")
    venue = venue or next(iter(known))
    if venue not in known:
        raise click.BadParameter(f"unknown venue {venue!r}; known: {', '.join(sorted(known))}")
    return venue


@report.command("render")
@click.argument("template")
@click.option(
    "--date", "day", callback=_date, help="A day in the period to report (default: the latest complete one)."
)
@click.option("--venue", help="Venue id (default: the only venue in the warehouse).")
@click.option("--brand", help="Narrow the event sections to one brand of night.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["pdf", "html", "xlsx", "csv"]),
    help="Format(s) to render (default: the layout's).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="File to write, named for its format (a folder for several files; default: the current folder).",
)
def report_render(
    template: str, day, venue: str | None, brand: str | None, formats: tuple[str, ...], out
) -> None:
    """Render a report now, outside any schedule, e.g.

    backroom report render daily_summary --date 2026-11-20 --venue backroom-leeds
    --format pdf --out report.pdf"""
    from backroom_reporting.rendering.build import ReportBuilder, ReportInputError, Subject
    from backroom_reporting.rendering.charts import ChartRenderer
    from backroom_reporting.rendering.formats import render
    from backroom_reporting.rendering.layouts import LayoutError, load_layouts
    from backroom_reporting.rendering.periods import latest_completed, period_containing
    from backroom_reporting.subscriptions.service import SubscriptionError, venues
    from backroom_reporting.warehouse.source_contract import BRANDS

    now = dt.datetime.now(dt.UTC)
    try:
        layouts = load_layouts(settings.LAYOUTS_DIR.get())
    except LayoutError as exc:
        raise click.ClickException(str(exc)) from exc
    if template not in layouts:
        raise click.BadParameter(f"unknown template {template!r}; known: {', '.join(sorted(layouts))}")
    layout = layouts[template]
    if brand is not None:
        one_of("brand", brand, BRANDS, click.BadParameter)
    wanted = formats or layout.formats
    _check_out(out, wanted, layout)
    group = layout.scope == "group"  # every venue side by side (docs/reports.md "Group reports")
    if group and (venue or brand):
        raise click.BadParameter(
            f"{template} shows every venue side by side: leave out --venue and --brand", param_hint="--venue"
        )
    with open_warehouse(None) as db:
        subject = Subject(None) if group else Subject(_chosen_venue(venue, venues(db)), brand)
        if day is not None:
            _check_night_held(db, day)
        period = period_containing(layout.period, day) if day else latest_completed(layout.period, now)
        try:
            built = ReportBuilder(db, layout, period, subject, now).build()
        except (ReportInputError, SubscriptionError) as exc:
            raise click.ClickException(str(exc)) from exc
    with ChartRenderer() as charts:
        files, seconds = render(built, wanted, charts, Path(settings.LAYOUTS_DIR.get()))
    for path, content in _outputs(files, out):
        path.write_bytes(content)
        click.echo(f"{path} ({len(content):,} bytes)")
    click.echo(
        f"{layout.title} for {built.period_label}, {built.venue_name}: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items())
    )
