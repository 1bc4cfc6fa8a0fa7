"""Each kind of bad source row is quarantined with its reason; good rows are untouched."""

import json

import polars as pl
import pytest

from backroom_reporting.ingest.validate import SOURCE_ORDER, validate
from backroom_reporting.warehouse.source_contract import CONTRACT

GOOD_BOOKING = {
    "booking_id": "bkg-1",
    "venue_id": "v1",
    "customer_id": "c1",
    "event_id": "e1",
    "table_id": "t1",
    "created_at": "2026-11-01T12:00:00.000000",
    "booking_start": "2026-11-21T22:00:00.000000",
    "party_size": "6",
    "status": "completed",
    "cancelled_at": None,
    "deposit_pence": "6000",
    "special_occasion": "birthday",
    "source": "website",
}
KNOWN = {
    "venues": pl.Series(["v1"]),
    "customers": pl.Series(["c1", "c2"]),
    "events": pl.Series(["e1"]),
    "venue_tables": pl.Series(["t1"]),
}


def bookings(*changes: dict) -> pl.DataFrame:
    """Good booking rows bkg-1..bkg-3 followed by one row per change."""
    rows = [{**GOOD_BOOKING, "booking_id": f"bkg-{i}"} for i in (1, 2, 3)]
    rows += [{**GOOD_BOOKING, "booking_id": f"bad-{i}", **change} for i, change in enumerate(changes)]
    return pl.DataFrame(rows, schema={k: pl.String for k in GOOD_BOOKING}).with_row_index(SOURCE_ORDER)


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        ({"status": "pending"}, "unknown_enum", "status='pending' is not one of"),
        ({"source": "carrier pigeon"}, "unknown_enum", "source="),
        ({"deposit_pence": "-500"}, "negative_money", "deposit_pence=-500 is negative"),
        ({"party_size": "0"}, "not_positive", "party_size=0"),
        ({"party_size": "-2"}, "not_positive", "party_size=-2"),
        ({"customer_id": None}, "missing_required", "customer_id is required"),
        ({"booking_start": None}, "missing_required", "booking_start is required"),
        (
            {"customer_id": "c-nobody"},
            "unknown_reference",
            "customer_id='c-nobody' is not a known customers row",
        ),
        ({"venue_id": "v-nowhere"}, "unknown_reference", "venue_id='v-nowhere'"),
        ({"event_id": "e-never"}, "unknown_reference", "event_id='e-never'"),
        ({"party_size": "six"}, "invalid_value", "party_size='six' is not a whole number"),
        ({"party_size": "12.5"}, "invalid_value", "party_size='12.5' is not a whole number"),
        ({"deposit_pence": "100000000000000"}, "implausible_value", "is above the plausible £50,000.00"),
        # Above 2^53 a float would round it to ...992: read as an integer it stays exact.
        (
            {"deposit_pence": "9007199254740993"},
            "implausible_value",
            "deposit_pence=9007199254740993 is above",
        ),
        ({"deposit_pence": "9223372036854775808"}, "invalid_value", "is not a whole number"),  # above int64
        ({"party_size": "1001"}, "implausible_value", "party_size=1001 is above the plausible 1,000"),
        ({"booking_start": "next saturday"}, "invalid_value", "is not an ISO-8601 timestamp"),
    ],
)
def test_bad_booking_is_quarantined_with_its_reason(change, reason, words):
    checked = validate(bookings(change), CONTRACT["bookings"], KNOWN)
    assert checked.good["booking_id"].to_list() == ["bkg-1", "bkg-2", "bkg-3"]
    assert checked.quarantined.height == 1
    bad = checked.quarantined.row(0, named=True)
    assert bad["record_id"] == "bad-0"
    assert bad["reason"] == reason
    assert words in bad["detail"]
    # The raw values are kept as the source had them.
    raw = json.loads(bad["raw_values"])
    for column, value in change.items():
        assert raw[column] == value


def test_a_row_with_several_problems_names_them_all():
    checked = validate(bookings({"status": "pending", "deposit_pence": "-1"}), CONTRACT["bookings"], KNOWN)
    detail = checked.quarantined["detail"][0]
    assert "unknown_enum" in detail and "negative_money" in detail


def test_duplicate_ids_keep_the_first_valid_row_in_source_order():
    rows = bookings({"booking_id": "bkg-2", "party_size": "9"}, {"booking_id": "bkg-3", "status": "pending"})
    checked = validate(rows, CONTRACT["bookings"], KNOWN)
    assert checked.good.sort("booking_id")["party_size"].to_list() == [6, 6, 6]
    reasons = dict(zip(checked.quarantined["record_id"], checked.quarantined["reason"], strict=True))
    assert reasons == {"bkg-2": "duplicate_id", "bkg-3": "unknown_enum"}


def test_a_bad_first_copy_lets_the_later_good_copy_load():
    rows = pl.concat(
        [
            bookings({"booking_id": "dup", "status": "pending"}).head(4).tail(1),
            bookings({"booking_id": "dup", "party_size": "4"}).tail(1),
        ]
    ).with_columns(pl.int_range(pl.len()).cast(pl.UInt32).alias(SOURCE_ORDER))
    checked = validate(rows, CONTRACT["bookings"], KNOWN)
    assert checked.good["party_size"].to_list() == [4]
    assert checked.quarantined["reason"].to_list() == ["unknown_enum"]


def test_an_id_already_loaded_for_another_day_is_a_duplicate():
    import datetime as dt

    elsewhere = pl.DataFrame({"booking_id": ["bkg-2"], "business_date": [dt.date(2026, 11, 14)]})
    checked = validate(bookings(), CONTRACT["bookings"], KNOWN, loaded_elsewhere=elsewhere)
    assert checked.good["booking_id"].to_list() == ["bkg-1", "bkg-3"]
    assert "already loaded for business day 2026-11-14" in checked.quarantined["detail"][0]


@pytest.mark.parametrize(
    ("table", "row", "reason"),
    [
        ("feedback", {"score": "6"}, "out_of_range"),
        ("feedback", {"score": "0"}, "out_of_range"),
        ("feedback", {"nps": "11"}, "out_of_range"),
        ("payments", {"amount_pence": "0"}, "not_positive"),
        ("payments", {"kind": "chargeback"}, "unknown_enum"),
        ("ticket_sales", {"fee_pence": "900", "gross_pence": "500"}, "exceeds"),
        ("ticket_sales", {"gross_pence": "-100"}, "negative_money"),
        ("bar_transactions", {"amount_pence": "-350"}, "negative_money"),
        ("staff_shifts", {"ends_at": "2026-11-21T19:00:00"}, "misordered"),
        ("check_ins", {"direction": "sideways"}, "unknown_enum"),
    ],
)
def test_rules_of_other_tables(table, row, reason):
    rules = CONTRACT[table]
    good = {c.name: None for c in rules.table.columns}
    good.update(
        {
            rules.key: "x1",
            "venue_id": "v1",
            "customer_id": "c1",
            "staff_id": "s1",
            "event_id": "e1",
            "score": "4",
            "nps": "9",
            "kind": "deposit",
            "status": "paid" if table == "ticket_sales" else "succeeded",
            "amount_pence": "500",
            "quantity": "2",
            "gross_pence": "2000",
            "fee_pence": "200",
            "items": "2",
            "direction": "in",
            "starts_at": "2026-11-21T20:00:00",
            "ends_at": "2026-11-22T03:00:00",
            "submitted_at": "2026-11-22T10:00:00",
            "created_at": "2026-11-21T21:00:00",
            "purchased_at": "2026-11-20T10:00:00",
            "scanned_at": "2026-11-21T22:00:00",
            "occurred_at": "2026-11-21T23:00:00",
        }
    )
    good = {k: v for k, v in good.items() if k in rules.table.columns}
    frame = pl.DataFrame([good, {**good, rules.key: "x2", **row}], schema={k: pl.String for k in good})
    known = {
        "venues": pl.Series(["v1"]),
        "customers": pl.Series(["c1"]),
        "staff": pl.Series(["s1"]),
        "events": pl.Series(["e1"]),
    }
    checked = validate(frame.with_row_index(SOURCE_ORDER), rules, known)
    assert checked.good[rules.key].to_list() == ["x1"]
    assert checked.quarantined["reason"].to_list() == [reason]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timezone": "Europe/Leeds"}, "timezone='Europe/Leeds' is not one of the"),
        ({"business_day_cutoff": "6am"}, "business_day_cutoff='6am' is not a time HH:MM"),
        ({"business_day_cutoff": "25:00"}, "is not a time HH:MM"),
    ],
)
def test_venue_settings_must_be_usable(change, words):
    good = {
        "venue_id": "v1",
        "name": "The Backroom Leeds",
        "city": "Leeds",
        "timezone": "Europe/London",
        "capacity": "300",
        "business_day_cutoff": "06:00",
    }
    frame = pl.DataFrame([good, {**good, "venue_id": "v2", **change}]).with_row_index(SOURCE_ORDER)
    checked = validate(frame, CONTRACT["venues"], {})
    assert checked.good["venue_id"].to_list() == ["v1"]
    assert words in checked.quarantined["detail"][0]


def test_a_cancellation_cannot_precede_the_booking():
    checked = validate(
        bookings({"status": "cancelled", "cancelled_at": "2026-10-01T00:00:00"}), CONTRACT["bookings"], KNOWN
    )
    assert checked.quarantined["reason"].to_list() == ["misordered"]


def test_whole_numbers_written_as_decimals_load_exactly():
    checked = validate(
        bookings({"party_size": "12.0", "deposit_pence": " 4999999 "}), CONTRACT["bookings"], KNOWN
    )
    assert checked.quarantined.is_empty()
    assert checked.good.filter(pl.col("booking_id") == "bad-0").select("party_size", "deposit_pence").row(
        0
    ) == (
        12,
        4_999_999,
    )
