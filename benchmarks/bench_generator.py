"""Time the demo generator: `venues` venues x `days` business days into a fresh SQLite file
(and into PostgreSQL when --postgres names a database; its source tables are replaced).

    python benchmarks/bench_generator.py [--venues 25] [--days 365] [--postgres URL]

Prints rows per table, total rows, seconds, rows/s and the process's peak RSS. With
--breakdown it first builds the frames without writing, to split compute from I/O.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

from backroom_reporting.demo.generator import generate, source_frames


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def report(label: str, counts: dict[str, int], seconds: float) -> None:
    total = sum(counts.values())
    print(f"\n== {label}")
    for name, rows in counts.items():
        print(f"  {name:<18} {rows:>12,}")
    print(f"  {'total rows':<18} {total:>12,}")
    print(f"  {'seconds':<18} {seconds:>12.1f}")
    print(f"  {'rows/s':<18} {total / seconds:>12,.0f}")
    print(f"  {'peak RSS (MB)':<18} {peak_rss_mb():>12,.0f}")


def run(url: str, args: argparse.Namespace, end: dt.date) -> None:
    started = time.perf_counter()
    counts = generate(url, args.venues, args.start, end, args.seed)
    report(f"generate -> {url.split('@')[-1]}", counts, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=25)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgres", metavar="URL", help="also generate into this PostgreSQL database")
    parser.add_argument("--breakdown", action="store_true", help="first time building the frames alone")
    args = parser.parse_args()
    end = args.start + dt.timedelta(days=args.days - 1)
    print(f"{args.venues} venues, business days {args.start}..{end}, seed {args.seed}")

    if args.breakdown:
        started = time.perf_counter()
        counts = {
            name: frame.height for name, frame in source_frames(args.venues, args.start, end, args.seed)
        }
        report("build frames only (no database)", counts, time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        run(f"sqlite:///{Path(tmp) / 'booking.db'}", args, end)
    if args.postgres:
        run(args.postgres, args, end)


if __name__ == "__main__":
    main()
