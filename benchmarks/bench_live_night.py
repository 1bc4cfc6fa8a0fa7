"""From a door scan landing in the warehouse to the live night's stream sending it.

    python -m benchmarks.bench_live_night [--scans 20] [--postgres URL | --sqlite]

Run from the repository's root. The portal is served by uvicorn on loopback over a new
PostgreSQL database (default: the test suite's server), holding a busy Saturday so far (1,500
let in, 2,500 bar sales, 1,200 tickets) and the whole of the Saturday before. A signed-in
manager's stream (/live/stream, read as a browser's EventSource reads it) is open; each scan is
written to raw_check_ins through ADBC, as the open-night refresh writes, at a random moment of
the stream's poll, and the figure is the time from its commit to the event showing one more
person let in. The stream reads every live.POLL_EVERY seconds, so the wait is at most a poll
plus a read. Each poll's fingerprint probe, and a read of the two nights' rows with the figures
from them (as the manager's database role), are timed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from backroom_reporting.metrics.live_night import live_night, open_night
from backroom_reporting.portal import live, sessions
from backroom_reporting.portal.app import create_app
from backroom_reporting.portal.live import fingerprint, read_live_facts
from backroom_reporting.portal.scoped import as_person
from benchmarks.bench_delivery import warehouse
from tests.conftest import POSTGRES_URL
from tests.portal.conftest import free_port
from tests.portal.tonight import (
    LEEDS,
    VENUES,
    cookie_header,
    land_event,
    land_sales,
    land_scans,
    land_tickets,
    next_figures,
    sign_in,
    stream_events,
)
from tests.subscriptions import set_venues

rng = random.Random(20261128)


def busy_night(db, now: dt.datetime) -> None:
    """Tonight so far, spread from the night's start to now, and the whole night a week before."""
    tonight = open_night(now)
    so_far = (now - tonight.start).total_seconds()
    week = dt.timedelta(days=7)

    def moments(count: int, start: dt.datetime, seconds: float) -> list[dt.datetime]:
        return sorted(start + dt.timedelta(seconds=rng.uniform(0, seconds)) for _ in range(count))

    set_venues(db, VENUES)
    for start, seconds, scale in ((tonight.start, so_far - 60, 1.0), (tonight.start - week, 86_000, 1.4)):
        ins = moments(int(1_500 * scale), start, seconds)
        outs = [moment + dt.timedelta(minutes=rng.uniform(30, 180)) for moment in ins[: int(700 * scale)]]
        land_scans(
            db,
            LEEDS,
            [(m, "in") for m in ins]
            + [(m, "out") for m in outs if m < start + dt.timedelta(seconds=seconds)],
        )
        land_sales(
            db,
            LEEDS,
            [
                (m, rng.randint(450, 4_000), "bk-1" if rng.random() < 0.1 else None)
                for m in moments(int(2_500 * scale), start, seconds)
            ],
        )
    for night in (tonight.first_day, tonight.first_day - week):
        event_id = f"ev-{night}"
        land_event(db, LEEDS, event_id, tonight.start + (night - tonight.first_day) + dt.timedelta(hours=16))
        sold_until = tonight.start + (night - tonight.first_day)
        orders = [(sold_until - dt.timedelta(days=rng.uniform(0, 20)), 1_500, 120) for _ in range(1_200)]
        land_tickets(db, LEEDS, event_id, orders)


def serve(url: str):
    port = free_port()
    app = create_app(url, watch_every=None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument(
        "--postgres", default=POSTGRES_URL, help="a PostgreSQL URL whose role may CREATE DATABASE"
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite warehouse instead")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        warehouse(Path(tmp), None if args.sqlite else args.postgres) as db,
    ):
        began = time.perf_counter()
        busy_night(db, dt.datetime.now(dt.UTC))
        print(f"a busy night landed in {time.perf_counter() - began:.1f}s on {db.dialect}")
        cookie = sign_in(db, "mia@backroom.test", "manager", [LEEDS])
        person = sessions.session_of(db, cookie, dt.datetime.now(dt.UTC))[0]

        probes, reads = [], []
        for _ in range(20):
            now = dt.datetime.now(dt.UTC)
            night = open_night(now).first_day
            began = time.perf_counter()
            with as_person(db, person) as conn:
                fingerprint(conn, LEEDS, night)
            probes.append(time.perf_counter() - began)
            began = time.perf_counter()
            with as_person(db, person) as conn:
                live_night(read_live_facts(conn, LEEDS, night), now)
            reads.append(time.perf_counter() - began)
        for what, times in (
            ("fingerprint probe (each poll)", probes),
            ("read of the rows and figures", reads),
        ):
            print(f"one {what}: mean {statistics.mean(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")

        server, thread, base = serve(db.url)
        latencies = []
        try:
            with (
                httpx.Client(base_url=base, timeout=30) as http,
                http.stream("GET", "/live/stream", headers=cookie_header(cookie)) as response,
            ):
                events = stream_events(response)
                admitted = int(next_figures(events)["admitted"].replace(",", ""))
                for _ in range(args.scans):
                    time.sleep(rng.uniform(0, 2 * live.POLL_EVERY))
                    land_scans(db, LEEDS, [(dt.datetime.now(dt.UTC), "in")])
                    landed = time.perf_counter()
                    admitted += 1
                    while int(next_figures(events)["admitted"].replace(",", "")) != admitted:
                        pass
                    latencies.append(time.perf_counter() - landed)
        finally:
            server.should_exit = True
            thread.join(10)
    print(
        f"scan landed -> event arrived over {len(latencies)} scans (poll every {live.POLL_EVERY:g}s): "
        f"mean {statistics.mean(latencies):.2f}s, median {statistics.median(latencies):.2f}s, "
        f"max {max(latencies):.2f}s"
    )


if __name__ == "__main__":
    main()
