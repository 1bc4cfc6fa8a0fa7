"""The warehouse the run sensors write incidents to, with the rules they read."""

import pytest

from backroom_reporting.resources.databases import WarehouseResource
from tests.alerting import RULES, write_rules


@pytest.fixture
def rules_text() -> str:
    """The rules file's text (a test module overrides this fixture for other rules)."""
    return RULES


@pytest.fixture
def warehouse(databases, tmp_path, monkeypatch, rules_text):
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path / "alerts", rules_text)))
    return WarehouseResource(url=databases.warehouse_url)


@pytest.fixture
def db(databases):
    with databases.warehouse as db:
        yield db
