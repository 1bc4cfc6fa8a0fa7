"""The record of report templates and generated reports, in the warehouse.

report_templates keeps one row per layout version, so every generated report names the
exact version that made it. report_generation_history keeps one row per generation,
successful or failed; an identical render (same template version, period, filters and
format) is reused within the template's cache TTL instead of being made again.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from dataclasses import dataclass

import polars as pl
import yaml

from backroom_reporting.rendering.layouts import Layout
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.reports import report_generation_history, report_templates
from backroom_reporting.warehouse.types import table_schema


def canonical(value) -> str:
    """JSON with sorted keys: equal values, equal text (used to match filters)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def summarise_change(before: str | None, after: str) -> str:
    """What changed between two versions of a layout, in a line a person can read."""
    if before is None:
        return "first version"
    if before == after:
        return "shared templates or stylesheet changed; the layout itself did not"
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    changed = sorted(k for k in (set(old) | set(new)) - {"sections"} if old.get(k) != new.get(k))
    old_sections = {s["key"]: s for s in old.get("sections", [])}
    new_sections = {s["key"]: s for s in new.get("sections", [])}
    parts = [f"changed {', '.join(changed)}"] if changed else []
    for verb, keys in (
        ("added sections", [k for k in new_sections if k not in old_sections]),
        ("removed sections", [k for k in old_sections if k not in new_sections]),
        (
            "changed sections",
            [k for k in new_sections if k in old_sections and new_sections[k] != old_sections[k]],
        ),
    ):
        if keys:
            parts.append(f"{verb} {', '.join(keys)}")
    if list(old_sections) != list(new_sections) and not any(
        p.startswith(("added", "removed")) for p in parts
    ):
        parts.append("reordered sections")
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    return f"{'; '.join(parts) or 'comments or layout of the file changed'} (+{added} -{removed} lines)"


def record_template_versions(db: Database, layouts: dict[str, Layout], now: dt.datetime) -> pl.DataFrame:
    """Add a report_templates row for each layout version not seen before; returns them."""
    known = db.read_table(report_templates)
    rows = []
    for layout in layouts.values():
        mine = known.filter(pl.col("template_key") == layout.key).sort("changed_at")
        if layout.content_hash in mine["content_hash"].to_list():
            continue
        previous = mine.tail(1).row(0, named=True) if mine.height else None
        rows.append(
            {
                "template_key": layout.key,
                "content_hash": layout.content_hash,
                "version": layout.version,
                "title": layout.title,
                "changed_at": now,
                "previous_hash": previous["content_hash"] if previous else None,
                "diff_summary": summarise_change(
                    previous["definition"] if previous else None, layout.definition
                ),
                "cron": layout.cron,
                "period": layout.period,
                "formats": json.dumps(list(layout.formats)),
                "definition": layout.definition,
            }
        )
    added = pl.DataFrame(rows, schema=table_schema(report_templates))
    db.append(report_templates, added)
    return added


@dataclass(frozen=True)
class Generation:
    """What one materialisation of a subscription's report produced (or failed to)."""

    generation_id: str
    subscription_id: str
    template_key: str
    template_hash: str
    venue_id: str | None
    period_kind: str
    period_first_day: dt.date
    period_last_day: dt.date
    filters: dict
    formats: list[str]
    files: list[dict]
    row_counts: dict
    key_metrics: dict
    warnings: list[str]
    duration_seconds: float
    status: str  # succeeded | failed
    error: str | None
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    dagster_run_id: str | None
    # The email body, when the subscription has the email channel: {html, text, images}.
    email_parts: dict | None = None


def append_generation(db: Database, generation: Generation) -> None:
    row = {
        **generation.__dict__,
        "filters": canonical(generation.filters),
        "formats": json.dumps(generation.formats),
        "files": json.dumps(generation.files),
        "row_counts": canonical(generation.row_counts),
        "key_metrics": canonical(generation.key_metrics),
        "warnings": json.dumps(generation.warnings),
        "email_parts": None if generation.email_parts is None else canonical(generation.email_parts),
    }
    db.append(report_generation_history, pl.DataFrame([row], schema=table_schema(report_generation_history)))


def reusable_files(
    db: Database, template_hash: str, first_day: dt.date, last_day: dt.date, filters: dict, now: dt.datetime
) -> dict[str, dict]:
    """Files of identical renders still within their reuse window, by format (newest first)."""
    table = report_generation_history
    rows = db.read_table(
        table,
        table.c.template_hash == template_hash,
        table.c.period_first_day == first_day,
        table.c.period_last_day == last_day,
        table.c.filters == canonical(filters),
        table.c.status == "succeeded",
        table.c.expires_at > now,
    ).sort("generated_at", descending=True)
    found: dict[str, dict] = {}
    for row in rows.iter_rows(named=True):
        for file in json.loads(row["files"]):
            # A reused file points at the generation that made it, not at the one that reused it.
            found.setdefault(
                file["format"], {**file, "reused_from": file.get("reused_from") or row["generation_id"]}
            )
    return found


def generations_of(db: Database, subscription_id: str) -> pl.DataFrame:
    """Every generation attempt of a subscription's report, oldest first."""
    table = report_generation_history
    return db.read_table(table, table.c.subscription_id == subscription_id).sort("generated_at")


@dataclass(frozen=True)
class LatestReport:
    generation: dict  # the last successful report_generation_history row
    stale: bool  # a later generation failed: this is the last good report, not a fresh one
    failure: str | None  # the error of the latest failed generation, when stale


def latest_report(db: Database, subscription_id: str) -> LatestReport | None:
    """The subscription's last good report, marked stale when a later render failed."""
    rows = generations_of(db, subscription_id)
    good = rows.filter(pl.col("status") == "succeeded")
    if good.is_empty():
        return None
    last_good = good.row(-1, named=True)
    failures = rows.filter(
        (pl.col("status") == "failed") & (pl.col("generated_at") > last_good["generated_at"])
    )
    return LatestReport(
        generation=last_good,
        stale=not failures.is_empty(),
        failure=failures["error"][-1] if failures.height else None,
    )
