"""Who is signed in, and what each role may read: the one place the role rules live.

The spec's roles, with the venue's two extra: admin reads everything; manager, finance and
events read the operational figures and reports of their venues (each what their work
needs); staff read only their own performance. Customers have no account. The same rules
hold on PostgreSQL as row-level security (migration 0016), where each request runs as the
person's database role, so a mistake here cannot show what the database forbids.
"""

from __future__ import annotations

import dataclasses

ROLES = ("admin", "manager", "finance", "events", "staff")
DATABASE_ROLES = {
    "admin": "reporting_admin",
    "manager": "reporting_manager",
    "finance": "reporting_manager",
    "events": "reporting_manager",
    "staff": "reporting_staff",
}

# What each role may read, by the names the pages and the API use.
DAILY, KPIS, EVENTS, REPORTS, DELIVERIES, LIVE, STAFF_PAGES, CUSTOMERS = (
    "daily",
    "kpis",
    "events",
    "reports",
    "deliveries",
    "live",
    "staff",
    "customers",
)
READS = {
    "admin": frozenset({DAILY, KPIS, EVENTS, REPORTS, DELIVERIES, LIVE, STAFF_PAGES, CUSTOMERS}),
    "manager": frozenset({DAILY, KPIS, EVENTS, REPORTS, DELIVERIES, LIVE, STAFF_PAGES}),
    "finance": frozenset({DAILY, KPIS, REPORTS, DELIVERIES}),
    "events": frozenset({KPIS, EVENTS, REPORTS, LIVE}),
    "staff": frozenset(),  # their own performance page only: see Person.may_see_staff
}


class NotPermitted(Exception):
    """A signed-in person asked for what their role or venues do not cover: why, in one sentence."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Person:
    user_id: str
    email: str
    name: str
    role: str
    staff_id: str | None  # set for a staff account: whose performance it may read
    venue_ids: tuple[str, ...] | None  # None: every venue

    @property
    def database_role(self) -> str:
        return DATABASE_ROLES[self.role]

    def may(self, what: str) -> bool:
        return what in READS[self.role]

    def require(self, what: str) -> None:
        if not self.may(what):
            raise NotPermitted(f"a {self.role} account may not read {what}")

    def sees_venue(self, venue_id: str | None) -> bool:
        """A report or figure of `venue_id` (None: the group, all venues) is theirs to see."""
        if self.venue_ids is None:
            return True
        return venue_id is not None and venue_id in self.venue_ids

    def require_venue(self, venue_id: str | None) -> None:
        if not self.sees_venue(venue_id):
            raise NotPermitted(f"this account does not cover venue {venue_id or 'the group'}")

    def may_see_staff(self, staff_id: str) -> bool:
        return self.may(STAFF_PAGES) or (self.role == "staff" and self.staff_id == staff_id)
