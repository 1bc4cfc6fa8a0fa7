"""A run's pace against its job's usual time, checked against figures worked out by hand and
against the standard library's percentile."""

import statistics

import pytest

from backroom_reporting.alerting.pace import RECENT_RUNS, p95, pace, spoken_duration


def test_the_p95_of_twenty_runs_by_hand():
    # Sorted, the 19th and 20th of twenty are 17.5 and 27.5 minutes; the 95th percentile sits
    # 0.95 x 19 = 18.05 ranks in: 17.5 + 0.05 x 10 = 18 minutes.
    minutes = [10, 11, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 16, 16, 16, 17, 17, 17.5, 27.5]
    assert p95([m * 60 for m in reversed(minutes)]) == pytest.approx(18 * 60)


@pytest.mark.parametrize(
    "durations", [[5.0, 1.0], [3.0, 9.0, 4.0, 4.0, 100.0], [float(n * n) for n in range(37)]]
)
def test_the_p95_is_the_standard_librarys(durations):
    assert p95(durations) == pytest.approx(statistics.quantiles(durations, n=20, method="inclusive")[-1])


def test_one_run_is_its_own_p95():
    assert p95([42.0]) == 42.0


def test_a_run_over_the_multiple_of_the_usual_is_slow():
    earlier = [600.0] * 10  # usual 10 minutes; twice that is the limit
    over = pace(1201.0, earlier, multiple=2, min_runs=5)
    assert (over.usual, over.limit, over.runs, over.slow) == (600.0, 1200.0, 10, True)
    assert not pace(1200.0, earlier, multiple=2, min_runs=5).slow  # at the limit is not over it


def test_too_few_earlier_runs_cannot_be_judged():
    assert pace(9999.0, [600.0] * 4, multiple=2, min_runs=5) is None
    assert pace(9999.0, [600.0] * 5, multiple=2, min_runs=5) is not None


def test_only_the_latest_runs_count():
    # Newest first: the twenty latest took a minute; two old runs of an hour are forgotten.
    earlier = [60.0] * RECENT_RUNS + [3600.0, 3600.0]
    assert pace(100.0, earlier, multiple=2, min_runs=5).usual == 60.0
    # A rule asking for 22 runs looks further back: sorted, the 95th percentile sits
    # 0.95 x 21 = 19.95 ranks in, between 60 and 3600: 60 + 0.95 x 3540 = 3423.
    widened = pace(100.0, earlier, multiple=2, min_runs=22)
    assert (widened.runs, widened.usual) == (22, pytest.approx(3423.0))


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(40, "40 s"), (41 * 60 + 10, "41 min"), (7200, "2h"), (5400, "1h 30 min"), (45 * 60, "45 min")],
)
def test_durations_as_on_call_reads_them(seconds, said):
    assert spoken_duration(seconds) == said
