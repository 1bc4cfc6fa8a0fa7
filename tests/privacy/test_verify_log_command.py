"""`backroom gdpr verify-log`: the access log's chain holds, and an edited entry is named."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log
from tests.commands import ok

AT = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)


def test_verify_log_names_the_first_edited_entry(databases, monkeypatch):
    db = databases.warehouse
    monkeypatch.setenv("BACKROOM_WAREHOUSE_URL", databases.warehouse_url)
    for minute, (actor, action, subject) in enumerate(
        [("usr-1", "sign_in", None), ("usr-1", "download", "report:g-1"), ("tok-1", "api", "deliveries")]
    ):
        audit.record(db, actor, action, AT + dt.timedelta(minutes=minute), subject, {"ip": "127.0.0.1"})
    runner = CliRunner()
    assert "3 entries" in ok(runner.invoke(main, ["gdpr", "verify-log"]))

    second = audit.entries(db)[1]
    with db.engine.begin() as conn:  # someone hides what was downloaded
        conn.execute(
            sa.update(access_log).where(access_log.c.entry_id == second.entry_id).values(subject="report:g-2")
        )
    result = runner.invoke(main, ["gdpr", "verify-log"])
    assert result.exit_code == 1
    assert f"the access log is broken at entry {second.entry_id} (download by usr-1" in result.stderr
