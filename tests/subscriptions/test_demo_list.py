"""The demo distribution list (demo_subscriptions.yaml): a mistake in it names the file, the
entry and the field, whether the file's shape or the service refuses it."""

from importlib import resources

import pytest

from backroom_reporting.subscriptions import demo
from backroom_reporting.subscriptions.service import SubscriptionError

TEXT = resources.files(demo.__package__).joinpath(demo.DEMO_LIST).read_text(encoding="utf-8")
FINANCE_WEEKLY = 'template_key: weekly_summary\n    formats: [xlsx, csv, pdf]\n    cron: "30 7 * * 1"'


def test_the_packaged_list_reads_as_seven_subscriptions_for_four_people():
    listed = demo.demo_list(TEXT)
    assert (len(listed.recipients), len(listed.subscriptions)) == (4, 7)
    assert listed.subscriptions[6].cron == "30 7 * * 1"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            FINANCE_WEEKLY.replace('"30 7 * * 1"', '"0 30 7 * * 1"'),
            "demo_subscriptions.yaml: subscriptions[7].cron: '0 30 7 * * 1' has 6 fields; a cron has 5",
        ),
        (
            FINANCE_WEEKLY + "\n    timezone: Europe/Leeds",
            "demo_subscriptions.yaml: subscriptions[7].timezone: 'Europe/Leeds' is not an IANA timezone name",
        ),
        (
            FINANCE_WEEKLY + "\n    colour: red",
            "demo_subscriptions.yaml: subscriptions[7].colour: unknown field",
        ),
        (
            FINANCE_WEEKLY.replace("template_key: weekly_summary\n    ", ""),
            "demo_subscriptions.yaml: subscriptions[7].template_key: missing field",
        ),
    ],
)
def test_a_mistake_in_the_file_names_the_entry_and_the_field(edit, message):
    assert FINANCE_WEEKLY in TEXT
    with pytest.raises(SubscriptionError) as refused:
        demo.demo_list(TEXT.replace(FINANCE_WEEKLY, edit))
    assert str(refused.value).startswith(message)


def test_a_subscription_for_someone_not_on_the_list_is_refused():
    text = TEXT.replace(
        "recipient_id: rcp-finance\n    template_key: weekly", "recipient_id: rcp-x\n    template_key: weekly"
    )
    assert text != TEXT
    with pytest.raises(SubscriptionError) as refused:
        demo.demo_list(text)
    assert str(refused.value) == (
        "demo_subscriptions.yaml: subscriptions[7].recipient_id: 'rcp-x' is not a recipient of this list"
    )
