"""The dashboard and API channels: nothing leaves the platform, the report becomes available.

A delivery on these channels is the report listed on the recipient's dashboard or returned
by the API to their token; it is delivered as soon as it is recorded. Asking again after a
crash is safe: making a report available twice is making it available once.
"""

from __future__ import annotations

from backroom_reporting.delivery.model import Outcome, Parcel


class DashboardChannel:
    name = "dashboard"
    concurrency = 8
    per_second = 0.0  # no provider to pace

    def send(self, parcel: Parcel) -> Outcome:
        return Outcome("delivered", detail="listed on the recipient's dashboard")

    def look_up(self, parcel: Parcel) -> Outcome | None:
        return self.send(parcel)


class ApiChannel(DashboardChannel):
    name = "api"

    def send(self, parcel: Parcel) -> Outcome:
        return Outcome("delivered", detail="available from the API to the recipient's tokens")
