"""Deterministic demo data for the booking system's source tables (warehouse/source_contract.py).

`generate(url, venues, start, end, seed)` drops and recreates the twelve source tables at
`url` (loose, by `create_loose_source`: no keys or constraints, only non-unique indexes on
each key column and each fact's business-time column), fills them with a plausible history
of `venues` nightclubs for the business dates `start`..`end` (inclusive) and returns the
row count per table. `source_frames(venues, start, end, seed)` yields the same tables as
polars frames without touching a database. No Dagster here: assets and the CLI call these.

Determinism
    The same arguments give byte-for-byte the same tables. Every random draw comes from a
    numpy `Generator` seeded with `SeedSequence(seed, spawn_key=(venue, stream))`: each
    venue has its own streams (one per part of the model, see `_STREAMS`), so venue 1 is
    the same whether 1 or 25 venues are generated. Venue v may reuse customers created by
    venues 1..v-1 (people travel), never the other way round. Nothing reads the clock.

As-of instant
    `end` is "today": the data is what the booking system would hold at 06:00 London on
    the morning after business day `end`. Nights up to `end` are complete; the fourteen
    nights after it have `scheduled` events, `confirmed` (or cancelled) bookings and the
    ticket orders placed so far. Nothing carries a timestamp after that instant (feedback
    not yet written, retries not yet made are simply absent).

Time
    A night runs 21:00 Europe/London on its business date to 03:00 London the next
    morning; both instants come from zoneinfo, so the 2026-03-28 night lasts 5 hours and
    the 2026-10-24 night 7. Every on-premise time is an offset between those instants.
    Open nights: Wednesday to Saturday, plus Sundays before an English bank-holiday
    Monday. On-premise facts (bookings by booking_start, scans, bar sales, shifts) exist
    only on open nights whose event was not cancelled; online facts (ticket purchases,
    deposits, refunds, feedback) happen when customers act, on any day.

IDs (text, unique per table across venues; VV = venue number, 01 = The Backroom Leeds)
    venue_id        backroom-leeds, backroom-manchester, ... (city slug; -N suffix on reuse)
    customer_id     cus-VV-NNNNNNN  VV = the venue that first saw the customer; N by created_at
    event_id        evt-VV-NNNNN    by date
    table_id        tbl-VV-NNN
    staff_id        stf-VV-NNN
    booking_id      bkg-VV-NNNNNNN  by created_at
    payment_id      pay-VV-NNNNNNN  by created_at
    order_id        ord-VV-NNNNNNN  by purchased_at
    check_in_id     chk-VV-NNNNNNNN by scanned_at (an `out` before an `in` in the same second)
    transaction_id  bar-VV-NNNNNNNN by occurred_at
    feedback_id     fbk-VV-NNNNNNN  by submitted_at
    shift_id        sft-VV-NNNNNN   by night, then role
    Sequence numbers start at 1 in every venue and depend on the generated range.

Realism (the constants below hold the figures)
    Nights: Thursday LA FIESTA, Friday SHHH!, Saturday NOSTALGIA, bank-holiday Sunday a
    LA FIESTA special; Wednesday is bar and tables only, one in six a PRIVATE hire (one
    organiser booking, guests at the door, no tickets). About 1% of events are cancelled:
    the night has no on-premise facts and its ticket orders are refunded.
    Demand: expected arrivals = capacity x night factor (Wed 0.35, private Wed 0.55,
    Thu 0.8, Fri 1.1, Sat 1.35, bank-holiday Sunday 1.05) x month factor (Jan 0.7 ...
    Dec 1.3) x venue popularity x lognormal noise. Arrivals from 21:00, peaking near
    midnight; stays of about 2.6 hours; everyone is out before 03:00. The door admits
    people in order of arrival while the venue holds fewer than its capacity (table
    parties' places are held for them), so busy Saturdays and December turn people away.
    Attendees are ticket holders (orders of 1-6, 10% fee, ~3% refunded, 5% no-show),
    table parties and walk-ins (no customer). Tables: one booking per table per night at
    most, party 2-12, 10% cancelled, 7% no-show, GBP 10 a head deposit (3% of deposit
    payments fail and are retried), 85% of cancelled deposits refunded, table tabs that
    reach the minimum spend. Customers: Pareto-weighted pool (a loyal core, ~3% VIPs who
    come and spend more, newcomers all through the range, ~3% of a venue's customers
    first seen at another venue). Feedback on a third of visits, score mean about 4.1.
    Staff of 20-30 per venue; every open night has at least one manager, three door and
    four bar staff, more on busy nights; two former staff worked only the earlier nights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import sqlalchemy as sa

from backroom_reporting.metrics.business_time import bank_holiday_sundays
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import (
    BOOKING_SOURCES,
    BOOKING_STATUSES,
    SOURCE,
    SPECIAL_OCCASIONS,
    STAFF_ROLES,
    create_loose_source,
    create_source_indexes,
)
from backroom_reporting.warehouse.types import table_schema

LONDON = ZoneInfo("Europe/London")
TIMEZONE = "Europe/London"
CUTOFF = "06:00"
FUTURE_DAYS = 14  # scheduled events and forward bookings after `end`

HOUR = 3600
DAY = 86400
MINUTE = 60

# ---------------------------------------------------------------------------- venues
FLAGSHIP = ("backroom-leeds", "The Backroom Leeds", "Leeds", 300)
CITIES = (
    "Manchester",
    "Sheffield",
    "Newcastle",
    "Liverpool",
    "Nottingham",
    "Birmingham",
    "Bristol",
    "York",
    "Hull",
    "Bradford",
    "Leicester",
    "Brighton",
    "Sunderland",
    "Derby",
    "Coventry",
    "Southampton",
    "Portsmouth",
    "Norwich",
    "Plymouth",
    "Exeter",
    "Lincoln",
    "Durham",
    "Cambridge",
    "Oxford",
    "Bath",
    "Reading",
    "Preston",
    "Lancaster",
    "Huddersfield",
    "Wakefield",
    "Middlesbrough",
    "Stoke-on-Trent",
    "Wolverhampton",
    "Northampton",
    "Bournemouth",
    "Canterbury",
    "Chester",
    "Carlisle",
    "Harrogate",
    "Doncaster",
)  # English cities only: every venue keeps the English bank holidays

# ---------------------------------------------------------------------------- nights
# Night kinds. CLOSED nights have no on-premise facts at all.
CLOSED, PLAIN_WED, THURSDAY, FRIDAY, SATURDAY, PRIVATE_WED, BANK_HOLIDAY_SUNDAY = -1, 0, 1, 2, 3, 4, 5
KIND_BRAND = {
    THURSDAY: "LA FIESTA",
    FRIDAY: "SHHH!",
    SATURDAY: "NOSTALGIA",
    PRIVATE_WED: "PRIVATE",
    BANK_HOLIDAY_SUNDAY: "LA FIESTA",
}
KIND_PRICE_PENCE = np.array([0, 800, 1000, 1200, 0, 1500])
KIND_DEMAND = np.array([0.35, 0.80, 1.10, 1.35, 0.55, 1.05])  # x capacity, expected arrivals
KIND_TABLE_FILL = np.array([0.25, 0.40, 0.60, 0.80, 0.0, 0.55])  # share of tables booked
KIND_TICKET_SHARE = np.array([0.0, 0.50, 0.55, 0.60, 0.0, 0.60])  # of non-table arrivals
KIND_GUEST_LIST = np.array([0.10, 0.25, 0.25, 0.25, 0.0, 0.25])  # non-table bookings a night
MONTH_DEMAND = np.array([np.nan, 0.70, 0.80, 0.90, 0.95, 1.00, 1.00, 0.95, 0.90, 1.05, 1.05, 1.10, 1.30])
PRIVATE_HIRE_SHARE = 1 / 6  # of Wednesdays
EVENT_CANCELLED_SHARE = 0.01
DEMAND_NOISE = 0.12  # lognormal sigma, per night

# ---------------------------------------------------------------------------- tables
TABLES_PER_CAPACITY = 20 / 300
AREAS = ("Main Room", "Mezzanine", "VIP Booth")
AREA_SEATS = ((2, 4, 4, 6, 6, 8), (4, 6, 6, 8, 8, 10), (8, 10, 12))
AREA_MIN_SPEND = ((10000, 25000), (20000, 40000), (50000, 100000))  # pence, in steps of 2500/5000

# ---------------------------------------------------------------------------- bookings
PARTY_SIZES = np.arange(2, 13)
PARTY_P = np.array([0.06, 0.06, 0.14, 0.14, 0.16, 0.12, 0.12, 0.06, 0.06, 0.04, 0.04])
SLOT_P = np.array([0.05, 0.08, 0.12, 0.15, 0.15, 0.13, 0.11, 0.08, 0.06, 0.04, 0.03])  # 21:00..23:30
SOURCE_P = {"website": 0.45, "social": 0.25, "phone": 0.20, "walk_in": 0.10}
OCCASION_P = {"birthday": 0.15, "anniversary": 0.03, "hen_party": 0.02, "stag_party": 0.02, "corporate": 0.02}
CANCELLED_SHARE = 0.10
NO_SHOW_SHARE = 0.07
DEPOSIT_PER_HEAD_PENCE = 1000
MEMBER_SHOWS = 0.92  # each member of a completed party past the booker
DEPOSIT_FAILED_SHARE = 0.03
REFUNDED_CANCELLATION_SHARE = 0.85

# ---------------------------------------------------------------------------- tickets
QUANTITIES = np.arange(1, 7)
QUANTITY_P = np.array([0.30, 0.32, 0.14, 0.14, 0.05, 0.05])
TICKET_FEE_SHARE = 0.10
TICKET_REFUNDED_SHARE = 0.03
TICKET_NO_SHOW_SHARE = 0.05
TICKET_KNOWN_CUSTOMER = 0.90
PURCHASE_LEAD_MAX_HOURS = 1000

# ---------------------------------------------------------------------------- the crowd
WALK_IN_GROUPS = np.arange(1, 5)
WALK_IN_GROUP_P = np.array([0.35, 0.35, 0.20, 0.10])
LAST_ENTRY = 45 * MINUTE  # before closing
MIN_STAY = 20 * MINUTE  # also the block width of the door simulation (see `admit`)
ARRIVAL_BETA = (3.2, 3.0)  # shape of arrivals between 21:00 and last entry: mode near midnight

# ---------------------------------------------------------------------------- bar
WALK_UP_RATE = 1.1  # bar transactions per admitted non-table person
TABLE_GUEST_WALK_UP_RATE = 0.25
ITEMS_P = np.array([0.35, 0.30, 0.18, 0.10, 0.07])  # 1..5 items
ITEM_PRICE_PENCE = (500, 800)
VIP_SPEND = 1.35

# ---------------------------------------------------------------------------- customers
POOL_PER_USE = 0.75  # candidate customers per booking or ticket order
POOL_PARETO = 1.3
POOL_MAX_PROPENSITY = 40.0  # the keenest regular is about 40x an occasional visitor
ESTABLISHED_SHARE = 0.35  # of the pool, customers since before the range
VIP_SHARE_TOP, VIP_SHARE_REST = 0.15, 0.01  # of the top 5% by propensity / the rest
TRAVELLER_SHARE = 0.03  # of a venue's customer uses, by customers of earlier venues
MARKETING_CONSENT = 0.60
DOB_KNOWN = 0.70

# ---------------------------------------------------------------------------- feedback
FEEDBACK_SHARE = 1 / 3
SCORE_P = np.array([0.03, 0.05, 0.12, 0.37, 0.43])  # 1..5, mean 4.12
NPS_KNOWN = 0.60

# ---------------------------------------------------------------------------- staff
ROLE = {name: i for i, name in enumerate(STAFF_ROLES)}  # bar, door, host, manager, events
SHIFT_START_MINUTES = {  # before 21:00 (choices, 15-minute steps)
    "manager": (60,),
    "events": (30, 45, 60),
    "door": (30, 45),
    "host": (15, 30),
    "bar": (0, 15, 30),
}
SHIFT_END_MINUTES = {  # after 03:00
    "manager": (15, 30),
    "events": (0, 15),
    "door": (15, 30),
    "host": (0, 15),
    "bar": (0, 15, 30),
}

FIRST_NAMES = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Ella",
    "Evie",
    "Poppy",
    "Chloe",
    "Emily",
    "Jessica",
    "Hannah",
    "Lucy",
    "Megan",
    "Zara",
    "Aisha",
    "Priya",
    "Niamh",
    "Erin",
    "Caitlin",
    "Holly",
    "Leah",
    "Ruby",
    "Sophie",
    "Charlotte",
    "Oliver",
    "George",
    "Noah",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Jack",
    "Charlie",
    "Jacob",
    "Thomas",
    "James",
    "William",
    "Joshua",
    "Alfie",
    "Henry",
    "Ethan",
    "Samuel",
    "Daniel",
    "Callum",
    "Liam",
    "Ryan",
    "Kieran",
    "Connor",
    "Adam",
    "Ben",
    "Tom",
    "Josh",
    "Luke",
    "Aaron",
    "Kofi",
    "Yusuf",
    "Ravi",
    "Dev",
    "Sean",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "Harris",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "Turner",
    "King",
    "Baker",
    "Harrison",
    "Morris",
    "Lee",
    "Allen",
    "Scott",
    "Mitchell",
    "Young",
    "Anderson",
    "Hussain",
    "Ali",
    "Shah",
    "Begum",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Campbell",
    "Stewart",
    "Murray",
    "Bell",
    "Shaw",
    "Holmes",
    "Barker",
    "Fletcher",
    "Atkinson",
    "Sutcliffe",
    "Ackroyd",
    "Firth",
    "Haigh",
)
DRAMA_PHONE_PREFIX = "07700 900"  # Ofcom's drama range: 07700 900000-900999

# Independent random streams per venue. Append only: reordering changes every venue's data.
_STREAMS = (
    "venue",
    "tables",
    "staff",
    "nights",
    "bookings",
    "tickets",
    "customers",
    "crowd",
    "door",
    "shifts",
    "bar",
    "payments",
    "feedback",
)

# Text ids: column -> (prefix, digits). customer_id is special: its code carries its venue.
ID_FORMATS = {
    "customer_id": ("cus", 7),
    "event_id": ("evt", 5),
    "table_id": ("tbl", 3),
    "staff_id": ("stf", 3),
    "booking_id": ("bkg", 7),
    "payment_id": ("pay", 7),
    "order_id": ("ord", 7),
    "check_in_id": ("chk", 8),
    "transaction_id": ("bar", 8),
    "feedback_id": ("fbk", 7),
    "shift_id": ("sft", 6),
}
CUSTOMER_CODE_BASE = 10_000_000  # customer code = venue number * base + sequence number


# ============================================================================ helpers
def _rng(seed: int, venue: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(venue, _STREAMS.index(stream))))


def _choice(rng: np.random.Generator, values: np.ndarray, p: np.ndarray, size: int) -> np.ndarray:
    """`size` draws of `values` with probabilities `p` (normalised), by inverse CDF."""
    cdf = np.cumsum(p / p.sum())
    idx = np.searchsorted(cdf, rng.random(size), side="right")
    return np.asarray(values)[np.minimum(idx, len(cdf) - 1)]


def _segments(counts: np.ndarray) -> np.ndarray:
    """For counts [2, 0, 3] the owner of each slot: [0, 0, 2, 2, 2]."""
    return np.repeat(np.arange(len(counts)), counts)


def _positions(counts: np.ndarray) -> np.ndarray:
    """For counts [2, 0, 3] each slot's position in its segment: [0, 1, 0, 1, 2]."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(counts.sum()) - np.repeat(starts, counts)


def _sequence(*keys: np.ndarray) -> np.ndarray:
    """1-based sequence numbers of the rows sorted by keys (first key most significant; ties keep
    their order), returned in the rows' original order."""
    n = len(keys[0])
    order = np.lexsort(tuple(reversed(keys))) if n else np.zeros(0, dtype=np.int64)
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(1, n + 1)
    return seq


def _take(values: np.ndarray, idx: np.ndarray, missing: int | float | bool = -1) -> np.ndarray:
    """values[idx], with `missing` where idx < 0 (safe when values is empty)."""
    values = np.asarray(values)
    if not len(values):
        return np.full(len(idx), missing)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], missing)


def _local(date: dt.date, hour: int, minute: int = 0) -> int:
    """The UTC epoch second of a London wall-clock time (never in a DST gap for our hours)."""
    return int(dt.datetime.combine(date, dt.time(hour, minute), tzinfo=LONDON).timestamp())


# ============================================================================ calendar
@dataclass(frozen=True)
class Calendar:
    """Every business date from `start` to `end` + FUTURE_DAYS, the same for every venue."""

    dates: tuple[dt.date, ...]
    weekday: np.ndarray  # Monday 0
    month: np.ndarray
    is_open: np.ndarray
    bank_holiday_sunday: np.ndarray
    opens: np.ndarray  # UTC epoch second of 21:00 London on the business date
    closes: np.ndarray  # UTC epoch second of 03:00 London the next calendar day
    past: np.ndarray  # business date <= end
    start_instant: int  # 06:00 London on `start`
    as_of: int  # 06:00 London on the day after `end`

    @property
    def size(self) -> int:
        return len(self.dates)


def build_calendar(start: dt.date, end: dt.date) -> Calendar:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    last = end + dt.timedelta(days=FUTURE_DAYS)
    dates = tuple(start + dt.timedelta(days=i) for i in range((last - start).days + 1))
    sundays_open = bank_holiday_sundays(start, last)
    weekday = np.array([d.weekday() for d in dates], dtype=np.int64)
    bh_sunday = np.array([d in sundays_open for d in dates])
    return Calendar(
        dates=dates,
        weekday=weekday,
        month=np.array([d.month for d in dates], dtype=np.int64),
        is_open=((weekday >= 2) & (weekday <= 5)) | bh_sunday,
        bank_holiday_sunday=bh_sunday,
        opens=np.array([_local(d, 21) for d in dates], dtype=np.int64),
        closes=np.array([_local(d + dt.timedelta(days=1), 3) for d in dates], dtype=np.int64),
        past=np.array([d <= end for d in dates]),
        start_instant=_local(start, 6),
        as_of=_local(end + dt.timedelta(days=1), 6),
    )


# ============================================================================ venue
@dataclass(frozen=True)
class Venue:
    number: int  # 1-based; 1 is The Backroom Leeds
    venue_id: str
    name: str
    city: str
    capacity: int
    popularity: float  # demand multiplier
    price_factor: float  # ticket price multiplier

    @property
    def tag(self) -> str:
        return f"{self.number:02d}"


def venue_spec(number: int, seed: int) -> Venue:
    if number == 1:
        venue_id, name, city, capacity = FLAGSHIP
        return Venue(1, venue_id, name, city, capacity, 1.0, 1.0)
    rng = _rng(seed, number, "venue")
    city = CITIES[(number - 2) % len(CITIES)]
    cycle = (number - 2) // len(CITIES)
    slug = city.lower().replace(" ", "-")
    suffix = f"-{cycle + 1}" if cycle else ""
    capacity = int(180 + 10 * rng.integers(0, 48))  # 180..650
    popularity = float(np.round(rng.uniform(0.85, 1.15), 3))
    price_factor = float(np.round(rng.uniform(0.9, 1.2), 2))
    name = f"The Backroom {city}" + (f" {cycle + 1}" if cycle else "")
    return Venue(number, f"backroom-{slug}{suffix}", name, city, capacity, popularity, price_factor)


def venues_frame(specs: list[Venue]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "venue_id": [v.venue_id for v in specs],
            "name": [v.name for v in specs],
            "city": [v.city for v in specs],
            "timezone": [TIMEZONE] * len(specs),
            "capacity": [v.capacity for v in specs],
            "business_day_cutoff": [CUTOFF] * len(specs),
        },
        schema=table_schema(SOURCE.tables["venues"]),
    )


# ============================================================================ tables
@dataclass(frozen=True)
class Tables:
    area: np.ndarray
    seats: np.ndarray
    min_spend: np.ndarray

    @property
    def size(self) -> int:
        return len(self.seats)


def plan_tables(venue: Venue, rng: np.random.Generator) -> Tables:
    n = max(6, round(venue.capacity * TABLES_PER_CAPACITY))
    vip = max(2, round(n * 0.15))
    mezzanine = round(n * 0.35)
    area = np.repeat([0, 1, 2], [n - vip - mezzanine, mezzanine, vip])
    seats = np.empty(n, dtype=np.int64)
    spend = np.empty(n, dtype=np.int64)
    for a, (choices, (low, high)) in enumerate(zip(AREA_SEATS, AREA_MIN_SPEND, strict=True)):
        mask = area == a
        seats[mask] = rng.choice(np.array(choices), size=mask.sum())
        step = 5000 if a == 2 else 2500
        spend[mask] = low + step * rng.integers(0, (high - low) // step + 1, size=mask.sum())
    return Tables(area=area, seats=seats, min_spend=spend)


def tables_raw(venue: Venue, tables: Tables) -> pl.DataFrame:
    number_in_area = _positions(np.bincount(tables.area, minlength=len(AREAS))) + 1
    return pl.DataFrame(
        {
            "v": np.full(tables.size, venue.number),
            "table_id": np.arange(1, tables.size + 1),
            "name": [f"{AREAS[a]} {k}" for a, k in zip(tables.area, number_in_area, strict=True)],
            "area": [AREAS[a] for a in tables.area],
            "seats": tables.seats,
            "minimum_spend_pence": tables.min_spend,
        }
    )


# ============================================================================ staff
@dataclass(frozen=True)
class Staff:
    role: np.ndarray  # index into STAFF_ROLES
    active: np.ndarray
    leaves_at: np.ndarray  # UTC second after which they work no more (far future when active)
    first: np.ndarray  # index into FIRST_NAMES
    last: np.ndarray

    @property
    def size(self) -> int:
        return len(self.role)


def plan_staff(venue: Venue, cal: Calendar, rng: np.random.Generator) -> Staff:
    cap = venue.capacity
    counts = {
        "manager": 2 + (cap >= 450),
        "events": 1 + (cap >= 500),
        "host": 2 + (cap >= 400),
        "door": 4 + cap // 120,
        "bar": 6 + cap // 100,
    }
    roles = [ROLE[r] for r, k in counts.items() for _ in range(k)]
    leavers = [ROLE["bar"], ROLE["door"]]  # a couple of former staff, gone part-way through
    role = np.array(roles + leavers, dtype=np.int64)
    n = len(role)
    active = np.arange(n) < len(roles)
    span = max(cal.as_of - cal.start_instant, DAY)
    leave = cal.start_instant + (rng.uniform(0.15, 0.6, size=n) * span).astype(np.int64)
    leaves_at = np.where(active, np.iinfo(np.int64).max, leave)
    # distinct names within the venue
    combo = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=n, replace=False)
    order = rng.permutation(n)  # ids in no particular role order
    return Staff(
        role=role[order],
        active=active[order],
        leaves_at=leaves_at[order],
        first=combo // len(LAST_NAMES),
        last=combo % len(LAST_NAMES),
    )


def staff_raw(venue: Venue, staff: Staff, rng: np.random.Generator) -> pl.DataFrame:
    first = np.array(FIRST_NAMES)[staff.first]
    last = np.array(LAST_NAMES)[staff.last]
    local = [f"{f}.{s}".lower().replace("'", "") for f, s in zip(first, last, strict=True)]
    return pl.DataFrame(
        {
            "v": np.full(staff.size, venue.number),
            "staff_id": np.arange(1, staff.size + 1),
            "name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
            "role": [STAFF_ROLES[r] for r in staff.role],
            "email": [f"{x}@{venue.venue_id}.example.com" for x in local],
            "phone": [f"{DRAMA_PHONE_PREFIX}{k:03d}" for k in rng.integers(0, 1000, size=staff.size)],
            "active": staff.active,
        }
    )


# ============================================================================ nights
@dataclass(frozen=True)
class Nights:
    kind: np.ndarray  # CLOSED or a night kind
    event: np.ndarray  # event sequence number, -1 without an event
    cancelled: np.ndarray  # the event was cancelled: no on-premise facts
    live: np.ndarray  # open and not cancelled
    demand: np.ndarray  # expected arrivals
    table_fill: np.ndarray
    price: np.ndarray  # ticket price, pence


def plan_nights(venue: Venue, cal: Calendar, rng: np.random.Generator) -> Nights:
    n = cal.size
    private = rng.random(n) < PRIVATE_HIRE_SHARE
    cancel_draw = rng.random(n)
    noise = rng.lognormal(0.0, DEMAND_NOISE, size=n)
    fill_noise = rng.lognormal(0.0, 0.15, size=n)
    kind = np.full(n, CLOSED)
    wd = cal.weekday
    kind[wd == 2] = np.where(private[wd == 2], PRIVATE_WED, PLAIN_WED)
    kind[wd == 3] = THURSDAY
    kind[wd == 4] = FRIDAY
    kind[wd == 5] = SATURDAY
    kind[cal.bank_holiday_sunday] = BANK_HOLIDAY_SUNDAY
    kind[~cal.is_open] = CLOSED
    has_event = (kind != CLOSED) & (kind != PLAIN_WED)
    cancelled = has_event & (cancel_draw < EVENT_CANCELLED_SHARE)
    event = np.where(has_event, np.cumsum(has_event), -1)
    k = np.maximum(kind, 0)
    special = np.array(
        [
            1.4 if (d.month, d.day) == (12, 31) else 1.15 if (d.month, d.day) == (12, 24) else 1.0
            for d in cal.dates
        ]
    )
    month = MONTH_DEMAND[cal.month]
    demand = np.where(
        kind == CLOSED, 0.0, venue.capacity * KIND_DEMAND[k] * month * venue.popularity * special * noise
    )
    fill = np.clip(KIND_TABLE_FILL[k] * month * venue.popularity * fill_noise, 0.0, 0.95)
    price = (np.round(KIND_PRICE_PENCE[k] * venue.price_factor / 50) * 50).astype(np.int64)
    return Nights(
        kind=kind,
        event=event,
        cancelled=cancelled,
        live=(kind != CLOSED) & ~cancelled,
        demand=demand,
        table_fill=np.where(kind == CLOSED, 0.0, fill),
        price=price,
    )


def events_raw(venue: Venue, cal: Calendar, nights: Nights) -> pl.DataFrame:
    idx = np.flatnonzero(nights.event > 0)
    names = []
    for i in idx:
        brand = KIND_BRAND[int(nights.kind[i])]
        special = " Bank Holiday Special" if nights.kind[i] == BANK_HOLIDAY_SUNDAY else ""
        names.append(f"{brand}{special} — {cal.dates[i].isoformat()}")
    status = np.where(nights.cancelled[idx], "cancelled", np.where(cal.past[idx], "completed", "scheduled"))
    return pl.DataFrame(
        {
            "v": np.full(len(idx), venue.number),
            "event_id": nights.event[idx],
            "brand": [KIND_BRAND[int(k)] for k in nights.kind[idx]],
            "name": names,
            "starts_at": cal.opens[idx],
            "ends_at": cal.closes[idx],
            "capacity": np.full(len(idx), venue.capacity),
            "ticket_price_pence": nights.price[idx],
            "status": status,
        }
    )


# ============================================================================ bookings
@dataclass(frozen=True)
class Bookings:
    night: np.ndarray
    table: np.ndarray  # -1: no table
    party: np.ndarray
    start: np.ndarray
    created: np.ndarray
    status: np.ndarray  # index into BOOKING_STATUSES
    cancelled_at: np.ndarray  # -1 when not cancelled
    deposit: np.ndarray
    occasion: np.ndarray  # index into SPECIAL_OCCASIONS, -1 none
    source: np.ndarray  # index into BOOKING_SOURCES
    shown: np.ndarray  # members who come (0 unless completed)

    @property
    def size(self) -> int:
        return len(self.night)


def plan_bookings(cal: Calendar, nights: Nights, tables: Tables, rng: np.random.Generator) -> Bookings:
    n_nights = cal.size
    live = nights.live
    # table bookings: at most one per table per night
    n_table = np.where(live, rng.binomial(tables.size, nights.table_fill), 0)
    keys = rng.random((n_nights, tables.size))
    order = np.argsort(keys, axis=1, kind="stable")
    take = np.arange(tables.size)[None, :] < n_table[:, None]
    t_night = _segments(n_table)
    t_table = order[take]
    # guest-list bookings (no table) and private-hire organisers
    k = np.maximum(nights.kind, 0)
    n_guest = np.where(live, rng.poisson(KIND_GUEST_LIST[k]), 0)
    g_night = _segments(n_guest)
    p_night = np.flatnonzero(live & (nights.kind == PRIVATE_WED))
    night = np.concatenate([t_night, g_night, p_night])
    table = np.concatenate([t_table, np.full(len(g_night) + len(p_night), -1)])
    private = np.concatenate([np.zeros(len(t_night) + len(g_night), bool), np.ones(len(p_night), bool)])
    n = len(night)

    party = _choice(rng, PARTY_SIZES, PARTY_P, n)
    party = np.where(table >= 0, np.minimum(party, tables.seats[np.maximum(table, 0)]), party)
    party = np.where(private, rng.integers(8, 13, size=n), party)
    slot = _choice(rng, np.arange(len(SLOT_P)), SLOT_P, n)
    start = cal.opens[night] + slot * 15 * MINUTE
    lead = DAY + (29 * DAY * rng.beta(1.2, 3.0, size=n)).astype(np.int64)
    created = start - lead
    sources = np.array([BOOKING_SOURCES.index(s) for s in SOURCE_P])
    source = _choice(rng, sources, np.array(list(SOURCE_P.values())), n)
    source = np.where(private, BOOKING_SOURCES.index("phone"), source)
    occasions = np.array([SPECIAL_OCCASIONS.index(o) for o in OCCASION_P] + [-1])
    occ_p = np.array([*OCCASION_P.values(), 1 - sum(OCCASION_P.values())])
    occasion = _choice(rng, occasions, occ_p, n)
    hire_occasions = ("corporate", "birthday", "anniversary", "hen_party", "stag_party")
    private_occ = _choice(
        rng,
        np.array([SPECIAL_OCCASIONS.index(o) for o in hire_occasions]),
        np.array([0.4, 0.4, 0.1, 0.05, 0.05]),
        n,
    )
    occasion = np.where(private, private_occ, occasion)
    deposit = np.where(table >= 0, party * DEPOSIT_PER_HEAD_PENCE, 0)

    u = rng.random(n)
    cancel_frac = rng.uniform(0.05, 0.95, size=n)
    members = rng.binomial(np.maximum(party - 1, 0), MEMBER_SHOWS)
    no_show_share = np.where(table >= 0, NO_SHOW_SHARE, 2 * NO_SHOW_SHARE)
    cancelled = (u < CANCELLED_SHARE) & ~private
    no_show = (u >= CANCELLED_SHARE) & (u < CANCELLED_SHARE + no_show_share) & ~private
    past = cal.past[night]
    cancelled_at = np.where(
        cancelled, created + (cancel_frac * (np.minimum(start, cal.as_of) - created)).astype(np.int64), -1
    )
    status = np.full(n, BOOKING_STATUSES.index("completed"))
    status[no_show] = BOOKING_STATUSES.index("no_show")
    status[~past] = BOOKING_STATUSES.index("confirmed")
    status[cancelled] = BOOKING_STATUSES.index("cancelled")
    shown = np.where(status == BOOKING_STATUSES.index("completed"), 1 + members, 0)

    # what exists at the as-of instant (forward bookings made after it do not yet)
    keep = created <= cal.as_of - HOUR
    order = np.lexsort((np.arange(n), created))
    order = order[keep[order]]
    return Bookings(
        night=night[order],
        table=table[order],
        party=party[order],
        start=start[order],
        created=created[order],
        status=status[order],
        cancelled_at=cancelled_at[order],
        deposit=deposit[order],
        occasion=occasion[order],
        source=source[order],
        shown=shown[order],
    )


# ============================================================================ tickets
@dataclass(frozen=True)
class Orders:
    night: np.ndarray
    quantity: np.ndarray
    purchased: np.ndarray
    refunded_at: np.ndarray  # -1: paid
    known: np.ndarray  # the buyer is a known customer
    attends: np.ndarray

    @property
    def size(self) -> int:
        return len(self.night)


def plan_orders(cal: Calendar, nights: Nights, bookings: Bookings, rng: np.random.Generator) -> Orders:
    k = np.maximum(nights.kind, 0)
    ticketed = (nights.kind != CLOSED) & (KIND_TICKET_SHARE[k] > 0)
    expected_tickets = _door_demand(cal, nights, bookings) * KIND_TICKET_SHARE[k]
    attend_rate = (1 - TICKET_REFUNDED_SHARE) * (1 - TICKET_NO_SHOW_SHARE)
    mean_qty = float((QUANTITIES * QUANTITY_P).sum())
    n_orders = np.where(ticketed, rng.poisson(expected_tickets / (mean_qty * attend_rate)), 0)
    night = _segments(n_orders)
    n = len(night)
    quantity = _choice(rng, QUANTITIES, QUANTITY_P, n)
    lead_hours = 1 + np.minimum(rng.gamma(0.9, 110.0, size=n), PURCHASE_LEAD_MAX_HOURS)
    purchased = cal.opens[night] - (lead_hours * HOUR).astype(np.int64)
    refunded = (rng.random(n) < TICKET_REFUNDED_SHARE) | nights.cancelled[night]
    refund_frac = rng.uniform(0.1, 0.9, size=n)
    refund_window = np.minimum(cal.opens[night], cal.as_of) - purchased
    refunded_at = np.where(refunded, purchased + (refund_frac * refund_window).astype(np.int64), -1)
    known = rng.random(n) < TICKET_KNOWN_CUSTOMER
    attends = ~refunded & cal.past[night] & nights.live[night] & (rng.random(n) >= TICKET_NO_SHOW_SHARE)
    keep = purchased <= cal.as_of
    order = np.lexsort((np.arange(n), purchased))
    order = order[keep[order]]
    return Orders(
        night=night[order],
        quantity=quantity[order],
        purchased=purchased[order],
        refunded_at=refunded_at[order],
        known=known[order],
        attends=attends[order],
    )


def _door_demand(cal: Calendar, nights: Nights, bookings: Bookings) -> np.ndarray:
    """Expected arrivals a night beyond the table parties (never below 15% of demand)."""
    live = bookings.status != BOOKING_STATUSES.index("cancelled")
    expected_party = np.where(live, bookings.party * 0.9, 0.0)
    booked = np.bincount(bookings.night, weights=expected_party, minlength=cal.size)
    return np.maximum(nights.demand - booked, 0.15 * nights.demand)


# ============================================================================ customers
@dataclass(frozen=True)
class KnownCustomers:
    """Customers created so far (by earlier venues), sorted by created_at."""

    created: np.ndarray
    code: np.ndarray
    vip: np.ndarray

    @staticmethod
    def empty() -> KnownCustomers:
        return KnownCustomers(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))

    def plus(self, created: np.ndarray, code: np.ndarray, vip: np.ndarray) -> KnownCustomers:
        c = np.concatenate([self.created, created])
        k = np.concatenate([self.code, code])
        v = np.concatenate([self.vip, vip])
        order = np.lexsort((k, c))
        return KnownCustomers(c[order], k[order], v[order])


def assign_customers(
    venue: Venue,
    cal: Calendar,
    used_at: np.ndarray,
    is_booking: np.ndarray,
    earlier: KnownCustomers,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """Pick the customer behind each booking / ticket order (`used_at` = when they made it).

    Returns each use's customer code, whether that customer is a VIP, and the raw frame of
    the venue's own new customers (created strictly before their first use).
    """
    n = len(used_at)
    m = max(100, round(POOL_PER_USE * n))
    propensity = np.minimum(1.0 + rng.pareto(POOL_PARETO, size=m), POOL_MAX_PROPENSITY)
    top = propensity >= np.quantile(propensity, 0.95)
    vip = rng.random(m) < np.where(top, VIP_SHARE_TOP, VIP_SHARE_REST)
    established = rng.random(m) < ESTABLISHED_SHARE
    established[0] = True  # someone is always there to make the earliest booking
    # established customers joined before the earliest possible use; the rest join through the range
    first_possible = cal.start_instant - 60 * DAY
    join = np.where(
        established,
        first_possible - (rng.uniform(0, 1500, size=m) * DAY).astype(np.int64),
        first_possible + (rng.random(m) * (cal.as_of - first_possible)).astype(np.int64),
    )
    by_join = np.lexsort((np.arange(m), join))
    join_sorted = join[by_join]
    w_booking = np.cumsum((propensity * np.where(vip, 4.0, 1.0))[by_join])
    w_ticket = np.cumsum((propensity * np.where(vip, 2.0, 1.0))[by_join])
    eligible = np.maximum(np.searchsorted(join_sorted, used_at, side="left"), 1)  # joined strictly before
    cum = np.where(is_booking, w_booking[eligible - 1], w_ticket[eligible - 1]) * rng.random(n)
    pos = np.where(
        is_booking,
        np.searchsorted(w_booking, cum, side="right"),
        np.searchsorted(w_ticket, cum, side="right"),
    )
    candidate = by_join[np.minimum(pos, eligible - 1)]

    # travellers: customers first seen at an earlier venue, created before this use
    travel_draw = rng.random(n)
    travel_pick = rng.random(n)
    traveller_ok = np.searchsorted(earlier.created, used_at, side="left")
    traveller = (travel_draw < TRAVELLER_SHARE) & (traveller_ok > 0)
    traveller_idx = np.minimum((travel_pick * traveller_ok).astype(np.int64), np.maximum(traveller_ok - 1, 0))

    # the venue's own customers: those used at least once, created before their first use
    home_use = ~traveller
    first_use = np.full(m, np.iinfo(np.int64).max)
    np.minimum.at(first_use, candidate[home_use], used_at[home_use])
    used = np.flatnonzero(first_use < np.iinfo(np.int64).max)
    lag = (rng.uniform(120, 2 * DAY, size=m)).astype(np.int64)
    created = np.where(established, join, first_use - lag)[used]
    seq = _sequence(created, used)
    code_of = np.full(m, -1, dtype=np.int64)
    code_of[used] = venue.number * CUSTOMER_CODE_BASE + seq

    codes = np.where(traveller, earlier.code[traveller_idx] if len(earlier.code) else -1, code_of[candidate])
    is_vip = np.where(traveller, earlier.vip[traveller_idx] if len(earlier.vip) else False, vip[candidate])

    k = len(used)
    first = rng.integers(0, len(FIRST_NAMES), size=k)
    last = rng.integers(0, len(LAST_NAMES), size=k)
    dob_known = rng.random(k) < DOB_KNOWN
    age_days = ((18.01 + 41.5 * rng.beta(1.4, 4.0, size=k)) * 365.25).astype(np.int64)
    created_day = np.floor_divide(created, DAY)
    dob = np.where(dob_known, created_day - age_days, np.iinfo(np.int64).min)
    org = rng.random(k) < 0.3
    consent = rng.random(k) < MARKETING_CONSENT
    phone = rng.integers(0, 1000, size=k)
    frame = (
        pl.DataFrame(
            {
                "customer_id": code_of[used],
                "first_name": np.array(FIRST_NAMES)[first],
                "last_name": np.array(LAST_NAMES)[last],
                "seq": seq,
                "org": org,
                "phone_n": phone,
                "dob_days": dob,
                "created_at": created,
                "marketing_consent": consent,
                "is_vip": vip[used],
            }
        )
        .select(
            "customer_id",
            pl.format(
                "{}.{}{}{}@example.{}",
                pl.col("first_name").str.to_lowercase(),
                pl.col("last_name").str.to_lowercase().str.replace("'", "", literal=True),
                pl.lit(venue.tag),
                pl.col("seq"),
                pl.when(pl.col("org")).then(pl.lit("org")).otherwise(pl.lit("com")),
            ).alias("email"),
            pl.format(
                "{}{}", pl.lit(DRAMA_PHONE_PREFIX), pl.col("phone_n").cast(pl.String).str.zfill(3)
            ).alias("phone"),
            "first_name",
            "last_name",
            pl.when(pl.col("dob_days") > np.iinfo(np.int64).min)
            .then(pl.col("dob_days"))
            .cast(pl.Int32)
            .cast(pl.Date)
            .alias("date_of_birth"),
            "created_at",
            "marketing_consent",
            "is_vip",
        )
        .sort("customer_id")
    )
    return codes, is_vip, frame


# ============================================================================ the crowd
@dataclass(frozen=True)
class Crowd:
    """Everyone who came to the door on past live nights, admitted or not."""

    night: np.ndarray
    t_in: np.ndarray
    t_out: np.ndarray
    booking: np.ndarray  # -1 none (index into Bookings)
    order: np.ndarray  # -1 none (index into Orders)
    admitted: np.ndarray

    def take(self, mask: np.ndarray) -> Crowd:
        return Crowd(
            self.night[mask],
            self.t_in[mask],
            self.t_out[mask],
            self.booking[mask],
            self.order[mask],
            self.admitted[mask],
        )


def plan_crowd(
    venue: Venue, cal: Calendar, nights: Nights, bookings: Bookings, orders: Orders, rng: np.random.Generator
) -> Crowd:
    k = np.maximum(nights.kind, 0)
    door = _door_demand(cal, nights, bookings)
    walk_in_people = np.where(nights.kind == PRIVATE_WED, door, door * (1 - KIND_TICKET_SHARE[k]))
    active = nights.live & cal.past
    mean_group = float((WALK_IN_GROUPS * WALK_IN_GROUP_P).sum())
    n_groups = np.where(active, rng.poisson(walk_in_people / mean_group), 0)
    g_night = _segments(n_groups)
    g_size = _choice(rng, WALK_IN_GROUPS, WALK_IN_GROUP_P, len(g_night))

    b_idx = np.flatnonzero(bookings.shown > 0)
    o_idx = np.flatnonzero(orders.attends)
    # parties: bookings, then ticket orders, then walk-in groups
    p_night = np.concatenate([bookings.night[b_idx], orders.night[o_idx], g_night])
    p_size = np.concatenate([bookings.shown[b_idx], orders.quantity[o_idx], g_size])
    p_booking = np.concatenate([b_idx, np.full(len(o_idx) + len(g_night), -1)])
    p_order = np.concatenate([np.full(len(b_idx), -1), o_idx, np.full(len(g_night), -1)])
    n_p = len(p_night)
    opens, closes = cal.opens[p_night], cal.closes[p_night]
    latest = closes - opens - LAST_ENTRY
    booked = p_booking >= 0
    booked_arrival = (_take(bookings.start, p_booking, 0) - opens) + rng.normal(5 * MINUTE, 15 * MINUTE, n_p)
    door_arrival = rng.beta(*ARRIVAL_BETA, size=n_p) * latest
    arrival = np.clip(np.where(booked, booked_arrival, door_arrival), 0, latest)
    stay = 72 * MINUTE + rng.gamma(2.0, 42 * MINUTE, size=n_p) + np.where(booked, 30 * MINUTE, 0)

    person_party = _segments(p_size)
    n = len(person_party)
    t_in = opens[person_party] + np.minimum(
        arrival[person_party] + rng.uniform(0, 10 * MINUTE, size=n), latest[person_party]
    ).astype(np.int64)
    leave_by = closes[person_party] - rng.uniform(MINUTE, LAST_ENTRY - MIN_STAY, size=n).astype(np.int64)
    own_stay = (stay[person_party] * rng.uniform(0.85, 1.15, size=n)).astype(np.int64)
    t_out = np.minimum(t_in + own_stay, leave_by)
    crowd = Crowd(
        night=p_night[person_party],
        t_in=t_in,
        t_out=t_out,
        booking=p_booking[person_party],
        order=p_order[person_party],
        admitted=np.ones(n, bool),
    )
    return admit(crowd, venue.capacity)


def admit(crowd: Crowd, capacity: int) -> Crowd:
    """The door: on nights where everyone would not fit, admit in order of arrival while the
    venue is below capacity; table parties' places are held for them from opening."""
    order = np.lexsort((np.arange(len(crowd.night)), crowd.t_in, crowd.night))
    crowd = crowd.take(order)
    peaks = night_peaks(crowd.night, crowd.t_in, crowd.t_out)
    admitted = crowd.admitted.copy()
    bounds = np.searchsorted(crowd.night, np.arange(crowd.night.max() + 2 if len(crowd.night) else 0))
    for night in np.flatnonzero(peaks > capacity):
        lo, hi = bounds[night], bounds[night + 1]
        booked = crowd.booking[lo:hi] >= 0
        admitted[lo:hi] = _admit_night(crowd.t_in[lo:hi], crowd.t_out[lo:hi], booked, capacity)
    return Crowd(crowd.night, crowd.t_in, crowd.t_out, crowd.booking, crowd.order, admitted)


def night_peaks(night: np.ndarray, t_in: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Peak occupancy per night index (outs before ins within the same second)."""
    n = len(night)
    if not n:
        return np.zeros(0, dtype=np.int64)
    nights = np.concatenate([night, night])
    times = np.concatenate([t_in, t_out])
    step = np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)])
    order = np.lexsort((step, times, nights))
    occupancy = np.cumsum(step[order])  # every night nets to zero, so a global running sum works
    peaks = np.zeros(night.max() + 1, dtype=np.int64)
    np.maximum.at(peaks, nights[order], occupancy)
    return peaks


def _admit_night(t_in: np.ndarray, t_out: np.ndarray, booked: np.ndarray, capacity: int) -> np.ndarray:
    """Greedy admission for one night (arrays sorted by t_in), vectorised in MIN_STAY blocks.

    With `a` the walk-ins/ticket holders admitted so far and L(t) = capacity - table guests
    + departures up to t, the k-th arrival gets in iff a < L(t_k): a_k = min(a_{k-1} + 1, L_k),
    i.e. a_k = min(a_0 + k, min_{m<=k}(L_m - m) + k). Nobody admitted in a block leaves in it
    (stays are at least MIN_STAY), so each block's L is known from the blocks before it.
    """
    admitted = np.ones(len(t_in), dtype=bool)
    free = capacity - int(booked.sum())
    if free <= 0:
        raise ValueError("table guests alone exceed the capacity")
    others = np.flatnonzero(~booked)
    if not len(others):
        return admitted
    departures = np.sort(t_out[booked])
    arrivals = t_in[others]
    block = (arrivals - arrivals[0]) // MIN_STAY
    cuts = np.flatnonzero(np.diff(block)) + 1
    a_prev = 0
    for seg in np.split(np.arange(len(others)), cuts):
        c = arrivals[seg]
        limit = free + np.searchsorted(departures, c, side="right")
        k = np.arange(1, len(seg) + 1)
        a = np.minimum(a_prev + k, np.minimum.accumulate(limit - k) + k)
        got_in = a > np.concatenate([[a_prev], a[:-1]])
        admitted[others[seg[~got_in]]] = False
        a_prev = int(a[-1])
        departures = np.sort(np.concatenate([departures, t_out[others[seg[got_in]]]]))
    return admitted


# ============================================================================ shifts
@dataclass(frozen=True)
class Shifts:
    night: np.ndarray
    staff: np.ndarray
    role: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def on_shift(self, role: str, n_nights: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(staff of `role` by night, offset per night, count per night) for picking one."""
        mask = self.role == ROLE[role]
        order = np.lexsort((self.staff[mask], self.night[mask]))
        staff = self.staff[mask][order]
        count = np.bincount(self.night[mask], minlength=n_nights)
        return staff, np.cumsum(count) - count, count

    def pick(self, role: str, n_nights: int, night: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        staff, offset, count = self.on_shift(role, n_nights)
        if len(night) and count[night].min() == 0:
            raise ValueError(f"a night with {role} activity has no {role} staff on shift")
        return staff[offset[night] + (rng.random(len(night)) * count[night]).astype(np.int64)]


def plan_shifts(
    cal: Calendar, nights: Nights, staff: Staff, bookings: Bookings, rng: np.random.Generator
) -> Shifts:
    worked = np.flatnonzero(nights.live & cal.past)
    n_bookings = np.bincount(bookings.night, minlength=cal.size)[worked]
    demand = nights.demand[worked]
    kind = nights.kind[worked]
    busy = (kind == FRIDAY) | (kind == SATURDAY) | (kind == BANK_HOLIDAY_SUNDAY)
    need = {
        "manager": 1 + busy,
        "door": np.maximum(3, np.round(demand / 120)).astype(np.int64),
        "bar": np.maximum(4, np.round(demand / 70)).astype(np.int64),
        "host": 1 + (n_bookings >= 10),
        "events": (nights.event[worked] > 0).astype(np.int64),
    }
    parts = []
    for role in STAFF_ROLES:
        members = np.flatnonzero(staff.role == ROLE[role])
        available = staff.leaves_at[members][None, :] > cal.opens[worked][:, None]
        keys = np.where(available, rng.random((len(worked), len(members))), 2.0)
        order = np.argsort(keys, axis=1, kind="stable")
        k = np.minimum(need[role], available.sum(axis=1))
        take = np.arange(len(members))[None, :] < k[:, None]
        night = worked[_segments(k)]
        person = members[order[take]]
        before = rng.choice(np.array(SHIFT_START_MINUTES[role]), size=len(night))
        after = rng.choice(np.array(SHIFT_END_MINUTES[role]), size=len(night))
        # 20:00-21:00 and 03:00-03:30 London hold no clock change, so offsets from the
        # zoneinfo-built 21:00 and 03:00 instants are exact
        parts.append(
            (
                night,
                person,
                np.full(len(night), ROLE[role]),
                cal.opens[night] - before * MINUTE,
                cal.closes[night] + after * MINUTE,
            )
        )
    night, person, role_, starts, ends = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((person, role_, night))
    return Shifts(night[order], person[order], role_[order], starts[order], ends[order])


# ============================================================================ venue assembly
@dataclass(frozen=True)
class VenueData:
    customers: pl.DataFrame  # the venue's own new customers
    known: KnownCustomers  # customers so far, including these
    raw: dict[str, pl.DataFrame]  # per table: integer ids and epoch seconds, column `v`


def generate_venue(venue: Venue, cal: Calendar, seed: int, earlier: KnownCustomers) -> VenueData:
    v = venue.number
    tables = plan_tables(venue, _rng(seed, v, "tables"))
    staff_rng = _rng(seed, v, "staff")
    staff = plan_staff(venue, cal, staff_rng)
    nights = plan_nights(venue, cal, _rng(seed, v, "nights"))
    bookings = plan_bookings(cal, nights, tables, _rng(seed, v, "bookings"))
    orders = plan_orders(cal, nights, bookings, _rng(seed, v, "tickets"))

    # customers behind bookings and known-buyer orders
    known_orders = np.flatnonzero(orders.known)
    used_at = np.concatenate([bookings.created, orders.purchased[known_orders]])
    is_booking = np.concatenate([np.ones(bookings.size, bool), np.zeros(len(known_orders), bool)])
    codes, vips, customers = assign_customers(
        venue, cal, used_at, is_booking, earlier, _rng(seed, v, "customers")
    )
    booking_customer = codes[: bookings.size]
    booking_vip = vips[: bookings.size]
    order_customer = np.full(orders.size, -1, dtype=np.int64)
    order_customer[known_orders] = codes[bookings.size :]

    crowd = plan_crowd(venue, cal, nights, bookings, orders, _rng(seed, v, "crowd"))
    shifts = plan_shifts(cal, nights, staff, bookings, _rng(seed, v, "shifts"))
    inside = crowd.take(crowd.admitted)

    raw = {
        "venue_tables": tables_raw(venue, tables),
        "staff": staff_raw(venue, staff, staff_rng),
        "events": events_raw(venue, cal, nights),
        "bookings": _bookings_raw(v, nights, bookings, booking_customer),
        "payments": _payments_raw(v, bookings, booking_customer, _rng(seed, v, "payments")),
        "ticket_sales": _orders_raw(v, nights, orders, order_customer),
        "check_ins": _check_ins_raw(
            v, cal, nights, inside, booking_customer, order_customer, shifts, _rng(seed, v, "door")
        ),
        "bar_transactions": _bar_raw(
            v, cal, tables, inside, bookings, booking_vip, shifts, _rng(seed, v, "bar")
        ),
        "feedback": _feedback_raw(
            v,
            cal,
            nights,
            inside,
            bookings,
            booking_customer,
            orders,
            order_customer,
            _rng(seed, v, "feedback"),
        ),
        "staff_shifts": pl.DataFrame(
            {
                "v": np.full(len(shifts.night), v),
                "shift_id": np.arange(1, len(shifts.night) + 1),
                "staff_id": shifts.staff + 1,
                "starts_at": shifts.starts,
                "ends_at": shifts.ends,
            }
        ),
    }
    new = {name: customers[name].to_numpy() for name in ("created_at", "customer_id", "is_vip")}
    known = earlier.plus(new["created_at"], new["customer_id"], new["is_vip"])
    return VenueData(customers=customers, known=known, raw=raw)


def _bookings_raw(v: int, nights: Nights, b: Bookings, customer: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "v": np.full(b.size, v),
            "booking_id": np.arange(1, b.size + 1),
            "customer_id": customer,
            "event_id": nights.event[b.night],
            "table_id": np.where(b.table >= 0, b.table + 1, -1),
            "created_at": b.created,
            "booking_start": b.start,
            "party_size": b.party,
            "status": np.array(BOOKING_STATUSES)[b.status],
            "cancelled_at": b.cancelled_at,
            "deposit_pence": b.deposit,
            "special_occasion": pl.Series(np.array([*SPECIAL_OCCASIONS, ""])[b.occasion]).replace("", None),
            "source": np.array(BOOKING_SOURCES)[b.source],
        }
    )


def _payments_raw(v: int, b: Bookings, customer: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    paid = np.flatnonzero(b.deposit > 0)
    failed = rng.random(len(paid)) < DEPOSIT_FAILED_SHARE
    retry_after = rng.integers(2 * MINUTE, 15 * MINUTE + 1, size=len(paid))
    refund = rng.random(len(paid)) < REFUNDED_CANCELLATION_SHARE
    cancelled = b.status[paid] == BOOKING_STATUSES.index("cancelled")
    fail_idx = paid[failed]
    refund_idx = paid[cancelled & refund]
    booking = np.concatenate([fail_idx, paid, refund_idx])
    created = np.concatenate(
        [b.created[fail_idx], b.created[paid] + np.where(failed, retry_after, 0), b.cancelled_at[refund_idx]]
    )
    n_deposit = len(fail_idx) + len(paid)
    kind = np.repeat([0, 1], [n_deposit, len(refund_idx)])  # deposit, refund
    status = np.repeat([1, 0], [len(fail_idx), len(paid) + len(refund_idx)])  # failed, succeeded
    seq = _sequence(created, np.arange(len(booking)))
    order = np.argsort(seq)
    return pl.DataFrame(
        {
            "v": np.full(len(booking), v),
            "payment_id": seq[order],
            "booking_id": booking[order] + 1,
            "customer_id": customer[booking[order]],
            "kind": np.array(["deposit", "refund"])[kind[order]],
            "amount_pence": b.deposit[booking[order]],
            "status": np.array(["succeeded", "failed"])[status[order]],
            "created_at": created[order],
        }
    )


def _orders_raw(v: int, nights: Nights, o: Orders, customer: np.ndarray) -> pl.DataFrame:
    gross = o.quantity * nights.price[o.night]
    return pl.DataFrame(
        {
            "v": np.full(o.size, v),
            "order_id": np.arange(1, o.size + 1),
            "event_id": nights.event[o.night],
            "customer_id": customer,
            "quantity": o.quantity,
            "gross_pence": gross,
            "fee_pence": (gross * TICKET_FEE_SHARE + 0.5).astype(np.int64),
            "status": np.where(o.refunded_at >= 0, "refunded", "paid"),
            "purchased_at": o.purchased,
            "refunded_at": o.refunded_at,
        }
    )


def _check_ins_raw(
    v: int,
    cal: Calendar,
    nights: Nights,
    inside: Crowd,
    booking_customer: np.ndarray,
    order_customer: np.ndarray,
    shifts: Shifts,
    rng: np.random.Generator,
) -> pl.DataFrame:
    n = len(inside.night)
    person = np.concatenate([np.arange(n), np.arange(n)])
    direction = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])  # 1 in, 0 out
    scanned = np.concatenate([inside.t_in, inside.t_out])
    order = np.lexsort((person, direction, scanned))  # an out before an in in the same second
    person, direction, scanned = person[order], direction[order], scanned[order]
    night = inside.night[person]
    booking = inside.booking[person]
    ordr = inside.order[person]
    customer = np.where(booking >= 0, _take(booking_customer, booking), _take(order_customer, ordr))
    return pl.DataFrame(
        {
            "v": np.full(2 * n, v),
            "check_in_id": np.arange(1, 2 * n + 1),
            "event_id": nights.event[night],
            "booking_id": np.where(booking >= 0, booking + 1, -1),
            "order_id": np.where(ordr >= 0, ordr + 1, -1),
            "customer_id": customer,
            "direction": np.array(["out", "in"])[direction],
            "scanned_at": scanned,
            "staff_id": shifts.pick("door", cal.size, night, rng) + 1,
        }
    )


def _bar_raw(
    v: int,
    cal: Calendar,
    tables: Tables,
    inside: Crowd,
    b: Bookings,
    booking_vip: np.ndarray,
    shifts: Shifts,
    rng: np.random.Generator,
) -> pl.DataFrame:
    # walk-up sales: a few rounds per person, while they are inside
    booked = inside.booking >= 0
    rounds = rng.poisson(np.where(booked, TABLE_GUEST_WALK_UP_RATE, WALK_UP_RATE))
    who = _segments(rounds)
    n_w = len(who)
    w_time = inside.t_in[who] + (rng.random(n_w) * (inside.t_out[who] - inside.t_in[who])).astype(np.int64)
    w_items = _choice(rng, np.arange(1, 6), ITEMS_P, n_w)
    w_amount = np.clip(np.round(w_items * rng.uniform(*ITEM_PRICE_PENCE, size=n_w) / 10) * 10, 500, 4000)

    # table tabs of completed table bookings, reaching at least the minimum spend
    party_first = np.full(b.size, np.iinfo(np.int64).max)
    party_last = np.full(b.size, -1, dtype=np.int64)
    np.minimum.at(party_first, inside.booking[booked], inside.t_in[booked])
    np.maximum.at(party_last, inside.booking[booked], inside.t_out[booked])
    tabbed = np.flatnonzero((b.table >= 0) & (party_last >= 0))
    min_spend = tables.min_spend[b.table[tabbed]]
    total = np.ceil(
        min_spend
        * (1 + rng.gamma(1.0, 0.3, size=len(tabbed)))
        * np.where(booking_vip[tabbed], VIP_SPEND, 1.0)
    ).astype(np.int64)
    n_tx = np.minimum(2 + rng.poisson(1.5, size=len(tabbed)), 8)
    tab = _segments(n_tx)
    weight = rng.exponential(1.0, size=len(tab))
    share = weight / np.bincount(tab, weights=weight, minlength=len(tabbed))[tab]
    # at least GBP 10 each, in 50p steps; the first takes the odd pence so the tab sums to `total`
    part = 1000 + 50 * np.floor((total[tab] - 1000 * n_tx[tab]) / 50 * share).astype(np.int64)
    first_of_tab = np.cumsum(n_tx) - n_tx
    part[first_of_tab] += total - np.bincount(tab, weights=part, minlength=len(tabbed)).astype(np.int64)
    booking = tabbed[tab]
    while_there = party_last[booking] - party_first[booking]
    t_time = party_first[booking] + (rng.random(len(tab)) * while_there).astype(np.int64)
    t_items = 1 + rng.poisson(2.0, size=len(tab))

    night = np.concatenate([inside.night[who], b.night[booking]])
    occurred = np.concatenate([w_time, t_time])
    bkg = np.concatenate([np.full(n_w, -1), booking])
    staff = shifts.pick("bar", cal.size, night, rng)
    order = np.lexsort((np.arange(len(night)), occurred))
    return pl.DataFrame(
        {
            "v": np.full(len(night), v),
            "transaction_id": np.arange(1, len(night) + 1),
            "staff_id": staff[order] + 1,
            "booking_id": np.where(bkg[order] >= 0, bkg[order] + 1, -1),
            "table_id": _take(b.table + 1, bkg[order]),
            "amount_pence": np.concatenate([w_amount.astype(np.int64), part])[order],
            "items": np.concatenate([w_items, t_items])[order],
            "occurred_at": occurred[order],
        }
    )


def _feedback_raw(
    v: int,
    cal: Calendar,
    nights: Nights,
    inside: Crowd,
    b: Bookings,
    booking_customer: np.ndarray,
    o: Orders,
    order_customer: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Feedback on about a third of visits: completed bookings and known ticket holders who got in."""
    completed = np.flatnonzero(b.status == BOOKING_STATUSES.index("completed"))
    scanned = np.zeros(o.size, dtype=bool)
    scanned[inside.order[inside.order >= 0]] = True
    ticket = np.flatnonzero(scanned & (order_customer >= 0))
    night = np.concatenate([b.night[completed], o.night[ticket]])
    customer = np.concatenate([booking_customer[completed], order_customer[ticket]])
    booking = np.concatenate([completed, np.full(len(ticket), -1)])
    n = len(night)
    gives = rng.random(n) < FEEDBACK_SHARE
    submitted = cal.closes[night] + rng.integers(10 * MINUTE, 2 * DAY, size=n)
    score = _choice(rng, np.arange(1, 6), SCORE_P, n)
    nps_known = rng.random(n) < NPS_KNOWN
    nps = np.clip(np.round(2 * score - 0.8 + rng.normal(0, 1.2, size=n)), 0, 10).astype(np.int64)
    keep = gives & (submitted <= cal.as_of)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, submitted[idx]))]
    return pl.DataFrame(
        {
            "v": np.full(len(idx), v),
            "feedback_id": np.arange(1, len(idx) + 1),
            "customer_id": customer[idx],
            "booking_id": np.where(booking[idx] >= 0, booking[idx] + 1, -1),
            "event_id": nights.event[night[idx]],
            "score": score[idx],
            "nps": np.where(nps_known[idx], nps[idx], -1),
            "submitted_at": submitted[idx],
        }
    )


# ============================================================================ frames
def _finish(table: sa.Table, raw: pl.DataFrame, venue_ids: dict[int, str]) -> pl.DataFrame:
    """Raw integer ids and epoch seconds to the table's text ids and UTC timestamps."""
    schema = table_schema(table)
    tag = pl.col("v").cast(pl.String).str.zfill(2)
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if name == "venue_id":
            expr = pl.col("v").replace_strict(venue_ids, return_dtype=pl.String)
        elif name == "customer_id":
            code = col.cast(pl.Int64)
            expr = pl.when(code >= 0).then(
                pl.format(
                    "cus-{}-{}",
                    (code // CUSTOMER_CODE_BASE).cast(pl.String).str.zfill(2),
                    (code % CUSTOMER_CODE_BASE).cast(pl.String).str.zfill(ID_FORMATS["customer_id"][1]),
                )
            )
        elif name in ID_FORMATS:
            prefix, width = ID_FORMATS[name]
            expr = pl.when(col >= 0).then(
                pl.format(f"{prefix}-{{}}-{{}}", tag, col.cast(pl.String).str.zfill(width))
            )
        elif dtype == pl.Datetime("us", "UTC") and raw.schema[name] != dtype:
            expr = pl.when(col >= 0).then(pl.from_epoch(col, time_unit="s").dt.replace_time_zone("UTC"))
        elif name == "nps":
            expr = pl.when(col >= 0).then(col)
        else:
            expr = col
        exprs.append(expr.cast(dtype).alias(name))
    return raw.select(exprs)


def source_frames(venues: int, start: dt.date, end: dt.date, seed: int) -> Iterator[tuple[str, pl.DataFrame]]:
    """The twelve source tables, one (name, frame) at a time, in SOURCE order.

    Venues are simulated first into compact frames (integer ids, epoch seconds); each
    table's text ids and timestamps are then made as it is yielded, so only one large
    table is ever held in its final form.
    """
    if venues < 1:
        raise ValueError("venues must be at least 1")
    if seed < 0:
        raise ValueError("seed must be non-negative")
    cal = build_calendar(start, end)
    specs = [venue_spec(v, seed) for v in range(1, venues + 1)]
    venue_ids = {s.number: s.venue_id for s in specs}
    known = KnownCustomers.empty()
    raws: dict[str, list[pl.DataFrame]] = {name: [] for name in SOURCE.tables}
    customers: list[pl.DataFrame] = []
    for spec in specs:
        data = generate_venue(spec, cal, seed, known)
        known = data.known
        customers.append(data.customers)
        for name, frame in data.raw.items():
            raws[name].append(frame)
    for name, table in SOURCE.tables.items():
        if name == "venues":
            yield name, venues_frame(specs)
        elif name == "customers":
            frame = pl.concat(customers)
            yield name, _finish(table, frame.with_columns(v=pl.lit(0)), venue_ids)
        else:
            frame = pl.concat(raws.pop(name), how="vertical_relaxed")
            yield name, _finish(table, frame, venue_ids)


# ============================================================================ writing
def generate(url: str, venues: int, start: dt.date, end: dt.date, seed: int) -> dict[str, int]:
    """Recreate the source tables at `url` and fill them with `venues` venues' history for the
    business dates `start`..`end` (plus FUTURE_DAYS of forward bookings); rows per table.

    The tables are created loose (`create_loose_source`: no keys, no NOT NULLs), so tests
    can add bad rows afterwards; their indexes are built after the rows go in (faster).
    """
    with Database(url) as db:
        create_loose_source(db.engine, indexes=False)
        counts: dict[str, int] = {}
        for name, frame in source_frames(venues, start, end, seed):
            db.replace(SOURCE.tables[name], frame)
            counts[name] = frame.height
        create_source_indexes(db.engine)
    return counts
