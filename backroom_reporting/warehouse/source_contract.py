"""The booking system's tables (docs/metrics.md, Raw layer) and the rules a row must meet to be loaded.

The source is owned by another system, so nothing here is trusted: the demo generator
creates these tables without keys or constraints, exactly as loose as a source can be,
and the raw layer checks every rule below before a row reaches the warehouse.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

import sqlalchemy as sa

from backroom_reporting.warehouse.types import Count, Money, UtcTimestamp

SOURCE = sa.MetaData()

BRANDS = ("LA FIESTA", "SHHH!", "NOSTALGIA", "PRIVATE")
BOOKING_STATUSES = ("confirmed", "completed", "cancelled", "no_show")
SPECIAL_OCCASIONS = ("birthday", "anniversary", "hen_party", "stag_party", "corporate")
BOOKING_SOURCES = ("website", "phone", "walk_in", "social")
STAFF_ROLES = ("bar", "door", "host", "manager", "events")
TIMEZONES = tuple(sorted(zoneinfo.available_timezones()))


def _table(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, SOURCE, *columns)


def _id(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=nullable)


venues = _table(
    "venues",
    _id("venue_id"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("city", sa.Text, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("capacity", Count, nullable=False),
    sa.Column("business_day_cutoff", sa.Text, nullable=False),
)
customers = _table(
    "customers",
    _id("customer_id"),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=False),
    sa.Column("date_of_birth", sa.Date, nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("marketing_consent", sa.Boolean, nullable=False),
    sa.Column("is_vip", sa.Boolean, nullable=False),
)
events = _table(
    "events",
    _id("event_id"),
    _id("venue_id"),
    sa.Column("brand", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("starts_at", UtcTimestamp, nullable=False),
    sa.Column("ends_at", UtcTimestamp, nullable=False),
    sa.Column("capacity", Count, nullable=False),
    sa.Column("ticket_price_pence", Money, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
)
venue_tables = _table(
    "venue_tables",
    _id("table_id"),
    _id("venue_id"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("area", sa.Text, nullable=False),
    sa.Column("seats", Count, nullable=False),
    sa.Column("minimum_spend_pence", Money, nullable=False),
)
bookings = _table(
    "bookings",
    _id("booking_id"),
    _id("venue_id"),
    _id("customer_id"),
    _id("event_id", nullable=True),
    _id("table_id", nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("booking_start", UtcTimestamp, nullable=False),
    sa.Column("party_size", Count, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cancelled_at", UtcTimestamp, nullable=True),
    sa.Column("deposit_pence", Money, nullable=False),
    sa.Column("special_occasion", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
)
payments = _table(
    "payments",
    _id("payment_id"),
    _id("venue_id"),
    _id("booking_id", nullable=True),
    _id("customer_id", nullable=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_pence", Money, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", UtcTimestamp, nullable=False),
)
ticket_sales = _table(
    "ticket_sales",
    _id("order_id"),
    _id("venue_id"),
    _id("event_id"),
    _id("customer_id", nullable=True),
    sa.Column("quantity", Count, nullable=False),
    sa.Column("gross_pence", Money, nullable=False),
    sa.Column("fee_pence", Money, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("purchased_at", UtcTimestamp, nullable=False),
    sa.Column("refunded_at", UtcTimestamp, nullable=True),
)
check_ins = _table(
    "check_ins",
    _id("check_in_id"),
    _id("venue_id"),
    _id("event_id", nullable=True),
    _id("booking_id", nullable=True),
    _id("order_id", nullable=True),
    _id("customer_id", nullable=True),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("scanned_at", UtcTimestamp, nullable=False),
    _id("staff_id"),
)
bar_transactions = _table(
    "bar_transactions",
    _id("transaction_id"),
    _id("venue_id"),
    _id("staff_id"),
    _id("booking_id", nullable=True),
    _id("table_id", nullable=True),
    sa.Column("amount_pence", Money, nullable=False),
    sa.Column("items", Count, nullable=False),
    sa.Column("occurred_at", UtcTimestamp, nullable=False),
)
feedback = _table(
    "feedback",
    _id("feedback_id"),
    _id("venue_id"),
    _id("customer_id"),
    _id("booking_id", nullable=True),
    _id("event_id", nullable=True),
    sa.Column("score", Count, nullable=False),
    sa.Column("nps", Count, nullable=True),
    sa.Column("submitted_at", UtcTimestamp, nullable=False),
)
staff = _table(
    "staff",
    _id("staff_id"),
    _id("venue_id"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)
staff_shifts = _table(
    "staff_shifts",
    _id("shift_id"),
    _id("venue_id"),
    _id("staff_id"),
    sa.Column("starts_at", UtcTimestamp, nullable=False),
    sa.Column("ends_at", UtcTimestamp, nullable=False),
)


@dataclass(frozen=True)
class Rules:
    """What a row of one source table must satisfy. Columns that are NOT NULL in the
    table above are required; everything else is stated here."""

    table: sa.Table
    key: str
    # Facts are partitioned by the business day of this timestamp; snapshots have none.
    business_time: str | None = None
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    non_negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    # column -> source table whose key it names
    references: dict[str, str] = field(default_factory=dict)
    # (earlier, later): the later timestamp may not precede the earlier one
    ordered: tuple[tuple[str, str], ...] = ()
    # (part, whole): part may not exceed whole
    at_most: tuple[tuple[str, str], ...] = ()
    # column -> (regular expression, what it means)
    patterns: dict[str, tuple[str, str]] = field(default_factory=dict)
    # column -> the most one row can plausibly hold: above it the value is a typo or a fault
    # (a bar round of £1 trillion), quarantined before it reaches a night's takings
    plausible: dict[str, int] = field(default_factory=dict)
    # The share of a load's rows that may fail the contract before the source counts as
    # broken and the load is stopped (ingest/guards.py).
    quarantine_limit: float = 0.01
    # Columns checked at load but not kept in the raw layer: personal data analytics never
    # reads (docs/privacy.md, "What the warehouse keeps"). A bad one still quarantines the row.
    not_kept: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns if not c.nullable)

    @property
    def is_fact(self) -> bool:
        return self.business_time is not None


CONTRACT: dict[str, Rules] = {
    r.name: r
    for r in (
        Rules(
            venues,
            "venue_id",
            positive=("capacity",),
            enums={"timezone": TIMEZONES},
            patterns={"business_day_cutoff": (r"^([01]\d|2[0-3]):[0-5]\d$", "a time HH:MM")},
            plausible={"capacity": 20_000},
        ),
        Rules(
            customers,
            "customer_id",
            not_kept=("email", "phone", "first_name", "last_name", "date_of_birth"),
        ),
        Rules(
            events,
            "event_id",
            enums={"brand": BRANDS, "status": ("scheduled", "completed", "cancelled")},
            non_negative=("ticket_price_pence",),
            positive=("capacity",),
            references={"venue_id": "venues"},
            ordered=(("starts_at", "ends_at"),),
            plausible={"ticket_price_pence": 50_000, "capacity": 20_000},
        ),
        Rules(
            venue_tables,
            "table_id",
            non_negative=("minimum_spend_pence",),
            positive=("seats",),
            references={"venue_id": "venues"},
            plausible={"minimum_spend_pence": 5_000_000, "seats": 100},
        ),
        Rules(staff, "staff_id", enums={"role": STAFF_ROLES}, references={"venue_id": "venues"}),
        Rules(
            bookings,
            "booking_id",
            business_time="booking_start",
            enums={
                "status": BOOKING_STATUSES,
                "special_occasion": SPECIAL_OCCASIONS,
                "source": BOOKING_SOURCES,
            },
            non_negative=("deposit_pence",),
            positive=("party_size",),
            plausible={"deposit_pence": 5_000_000, "party_size": 1_000},
            references={
                "venue_id": "venues",
                "customer_id": "customers",
                "event_id": "events",
                "table_id": "venue_tables",
            },
            ordered=(("created_at", "cancelled_at"),),
        ),
        Rules(
            payments,
            "payment_id",
            business_time="created_at",
            enums={"kind": ("deposit", "refund"), "status": ("succeeded", "failed")},
            positive=("amount_pence",),
            references={"venue_id": "venues", "booking_id": "bookings", "customer_id": "customers"},
            plausible={"amount_pence": 5_000_000},
        ),
        Rules(
            ticket_sales,
            "order_id",
            business_time="purchased_at",
            enums={"status": ("paid", "refunded")},
            non_negative=("gross_pence", "fee_pence"),
            positive=("quantity",),
            references={"venue_id": "venues", "event_id": "events", "customer_id": "customers"},
            ordered=(("purchased_at", "refunded_at"),),
            at_most=(("fee_pence", "gross_pence"),),
            plausible={"gross_pence": 2_000_000, "fee_pence": 2_000_000, "quantity": 500},
        ),
        Rules(
            check_ins,
            "check_in_id",
            business_time="scanned_at",
            enums={"direction": ("in", "out")},
            references={
                "venue_id": "venues",
                "event_id": "events",
                "booking_id": "bookings",
                "order_id": "ticket_sales",
                "customer_id": "customers",
                "staff_id": "staff",
            },
        ),
        Rules(
            bar_transactions,
            "transaction_id",
            business_time="occurred_at",
            non_negative=("amount_pence",),
            positive=("items",),
            references={
                "venue_id": "venues",
                "staff_id": "staff",
                "booking_id": "bookings",
                "table_id": "venue_tables",
            },
            # A bar round above £10,000 is a mistyped amount, not a sale.
            plausible={"amount_pence": 1_000_000, "items": 500},
        ),
        Rules(
            feedback,
            "feedback_id",
            business_time="submitted_at",
            ranges={"score": (1, 5), "nps": (0, 10)},
            # Typed by guests, a few a night: a stray score is noise, not a broken export.
            quarantine_limit=0.05,
            references={
                "venue_id": "venues",
                "customer_id": "customers",
                "booking_id": "bookings",
                "event_id": "events",
            },
        ),
        Rules(
            staff_shifts,
            "shift_id",
            business_time="starts_at",
            references={"venue_id": "venues", "staff_id": "staff"},
            ordered=(("starts_at", "ends_at"),),
        ),
    )
}

# The tables partitioned by night, in contract order.
FACT_TABLES = tuple(r.name for r in CONTRACT.values() if r.is_fact)


def _loose_metadata() -> sa.MetaData:
    loose = sa.MetaData()
    for rules in CONTRACT.values():
        sa.Table(rules.name, loose, *(sa.Column(c.name, c.type, nullable=True) for c in rules.table.columns))
    return loose


def create_loose_source(engine: sa.Engine, *, indexes: bool = True) -> None:
    """(Re)create the twelve tables at `engine` with no keys, NOT NULLs or other constraints.

    This is how the demo and the tests stand in for the booking system: as loose as a
    source can be, so any bad row an outside writer could produce can be written and
    must be caught by the raw layer. A bulk load passes indexes=False and calls
    `create_source_indexes` afterwards, which is faster.
    """
    loose = _loose_metadata()
    loose.drop_all(engine)
    loose.create_all(engine)
    if indexes:
        create_source_indexes(engine)


def create_source_indexes(engine: sa.Engine) -> None:
    """Non-unique indexes on each key and business-time column, as the real system has,
    created in name order so the database file is the same on every run."""
    loose = _loose_metadata()
    specs = sorted(
        (f"ix_{rules.name}_{column}", rules.name, column)
        for rules in CONTRACT.values()
        for column in (rules.key, rules.business_time)
        if column
    )
    for name, table, column in specs:
        sa.Index(name, loose.tables[table].c[column]).create(engine)
