"""Report templates (one row per layout version) and the history of generated reports."""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp

report_templates = sa.Table(
    "report_templates",
    WAREHOUSE,
    sa.Column("template_key", sa.Text, primary_key=True),
    # sha256 of the layout file with the shared templates and stylesheet
    sa.Column("content_hash", sa.Text, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),  # the layout's own `version` field
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("changed_at", UtcTimestamp, nullable=False),  # when this version was first seen
    sa.Column("previous_hash", sa.Text, nullable=True),
    sa.Column("diff_summary", sa.Text, nullable=False),
    sa.Column("cron", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("formats", sa.Text, nullable=False),  # JSON list
    sa.Column("definition", sa.Text, nullable=False),  # the layout's YAML
)

report_generation_history = sa.Table(
    "report_generation_history",
    WAREHOUSE,
    sa.Column("generation_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("template_key", sa.Text, nullable=False),
    sa.Column("template_hash", sa.Text, nullable=False),
    sa.Column("venue_id", sa.Text, nullable=True),
    sa.Column("period_kind", sa.Text, nullable=False),
    sa.Column("period_first_day", sa.Date, nullable=False),
    sa.Column("period_last_day", sa.Date, nullable=False),
    sa.Column("filters", sa.Text, nullable=False),  # JSON object
    sa.Column("formats", sa.Text, nullable=False),  # JSON list
    # JSON list of {format, name, path, sha256, size_bytes, reused_from}: reused_from names
    # the generation whose identical render was reused within the template's cache TTL.
    sa.Column("files", sa.Text, nullable=False),
    # The email body of the report, when a subscription has the email channel: JSON
    # {html, text, images: [{cid, path}]}, store paths; charts are PNG parts shown by cid:.
    sa.Column("email_parts", sa.Text, nullable=True),
    sa.Column("row_counts", sa.Text, nullable=False),  # JSON {section: rows}
    sa.Column("key_metrics", sa.Text, nullable=False),  # JSON {metric: value}
    sa.Column("warnings", sa.Text, nullable=False),  # JSON list of text
    sa.Column("duration_seconds", sa.Float, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # succeeded | failed
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("generated_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=True),  # reuse window of its files
    sa.Column("dagster_run_id", sa.Text, nullable=True),
    # When the Sunday housekeeping removed its files (past their retention); null while kept.
    sa.Column("files_removed_at", UtcTimestamp, nullable=True),
    sa.Index(None, "subscription_id", "generated_at"),
    sa.Index(None, "template_hash", "period_first_day"),
    # The archive's pages, newest first: of every venue, and of one venue.
    sa.Index(None, "generated_at", "generation_id"),
    sa.Index(None, "venue_id", "generated_at"),
)
