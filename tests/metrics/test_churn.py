"""The churn model's time-based split, its fitting and its hold-out figures."""

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest

from backroom_reporting.metrics import churn

D = dt.date
HORIZON = 42
LATEST = D(2026, 11, 22)


def plan_for(history_days: int, latest: dt.date = LATEST) -> churn.CutoffPlan:
    return churn.plan_cutoffs(latest - dt.timedelta(days=history_days - 1), latest)


def test_a_history_too_short_for_an_honest_holdout_is_refused_with_the_reason():
    with pytest.raises(churn.NoHonestHoldOut, match=r"covers 118 business days.*needs 119"):
        plan_for(118)


def test_the_demos_120_days_give_one_training_cutoff_and_a_later_holdout():
    latest = LATEST
    plan = plan_for(120, latest)
    assert plan.holdout_cutoff == latest - dt.timedelta(days=HORIZON)
    assert plan.training_cutoffs == (latest - dt.timedelta(days=HORIZON + 49),)
    assert plan.scoring_cutoff == latest
    assert plan.label_window(plan.holdout_cutoff) == (D(2026, 10, 12), latest)


@pytest.mark.parametrize("history_days", [119, 120, 146, 147, 200, 365, 1000])
def test_no_training_label_window_reaches_the_holdout_cutoff(history_days):
    latest = LATEST
    first = latest - dt.timedelta(days=history_days - 1)
    plan = plan_for(history_days, latest)
    assert plan.horizon_days == HORIZON
    assert 1 <= len(plan.training_cutoffs) <= 6
    assert list(plan.training_cutoffs) == sorted(plan.training_cutoffs)
    for cutoff in plan.training_cutoffs:
        label_start, label_end = plan.label_window(cutoff)
        assert label_start == cutoff + dt.timedelta(days=1)
        assert label_end == cutoff + dt.timedelta(days=HORIZON)
        assert label_end < plan.holdout_cutoff  # the training labels never see the hold-out cutoff
        assert (cutoff - first).days + 1 >= 28  # four weeks of history behind its features
        assert cutoff.weekday() == latest.weekday()
    # The hold-out's own labels are fully observed, and it is the latest cutoff that is.
    assert plan.label_window(plan.holdout_cutoff)[1] == latest


def test_more_history_adds_training_cutoffs_four_weeks_apart():
    plan = plan_for(365)
    gaps = {(b - a).days for a, b in itertools.pairwise(plan.training_cutoffs)}
    assert gaps == {28}
    assert len(plan.training_cutoffs) == 6


def examples(n: int, seed: int) -> pl.DataFrame:
    """Customers whose chance of staying away grows with the time since their last visit."""
    rng = np.random.default_rng(seed)
    since_last = rng.integers(0, 120, n)
    visits = rng.integers(1, 20, n)
    churned = rng.random(n) < 1 / (1 + np.exp(-(since_last - 45) / 10 + 0.1 * visits))
    return pl.DataFrame(
        {
            "venue_id": ["leeds"] * n,
            "customer_id": [f"c{i}" for i in range(n)],
            "days_since_last_visit": since_last,
            "log_days_since_last_visit": np.log1p(since_last),
            "days_since_first_visit": since_last + rng.integers(0, 200, n),
            "log_visits": np.log1p(visits),
            "visits_per_week": visits / 20.0,
            "visits_28d": (since_last < 28).astype(int),
            "visits_90d": (since_last < 90).astype(int) * np.minimum(visits, 5),
            "booked_share": rng.random(n),
            "log_lifetime_value": np.log1p(visits * 2000),
            "is_vip": (rng.random(n) < 0.05).astype(int),
            "churned": churned,
        }
    )


def auc_by_pairs(labels: list[bool], scores: list[float]) -> float:
    """P(a random churner scores above a random stayer), ties counting a half."""
    churners = [s for s, y in zip(scores, labels, strict=True) if y]
    stayers = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((c > s) + 0.5 * (c == s) for c in churners for s in stayers)
    return wins / (len(churners) * len(stayers))


def test_holdout_figures_match_an_independent_computation():
    training, holdout = examples(600, seed=1), examples(300, seed=2)
    model = churn.fit(training)
    evaluation = churn.evaluate(model, training.height, holdout)
    predicted = churn.churn_probability(model, holdout).to_list()
    actual = holdout["churned"].to_list()

    assert evaluation.roc_auc == pytest.approx(auc_by_pairs(actual, predicted))
    brier = sum((p - y) ** 2 for p, y in zip(predicted, actual, strict=True)) / len(actual)
    assert evaluation.brier_score == pytest.approx(brier)
    assert evaluation.base_rate == pytest.approx(sum(actual) / len(actual))
    assert (evaluation.n_train, evaluation.n_holdout) == (600, 300)
    # The data carry a real signal, and the model finds it.
    assert evaluation.roc_auc > 0.75
    assert evaluation.brier_score < evaluation.base_rate * (1 - evaluation.base_rate)


def test_scores_every_current_customer_with_a_probability():
    training, holdout, current = examples(600, seed=1), examples(300, seed=2), examples(50, seed=3)
    scores, evaluation = churn.fit_evaluate_and_score(training, holdout, current)
    assert scores.columns == ["venue_id", "customer_id", "churn_probability"]
    assert scores["customer_id"].to_list() == current["customer_id"].to_list()
    assert scores["churn_probability"].is_between(0, 1).all()
    assert evaluation.n_holdout == 300
    # Long-absent customers are likelier to stay away than last week's.
    joined = scores.join(current, on=["venue_id", "customer_id"])
    absent = joined.filter(pl.col("days_since_last_visit") > 90)["churn_probability"].mean()
    recent = joined.filter(pl.col("days_since_last_visit") < 14)["churn_probability"].mean()
    assert absent > recent


def test_more_examples_than_a_fit_takes_give_the_same_model_in_any_order():
    many = examples(churn.MAX_FIT_EXAMPLES + 2_000, seed=4).select(*churn.FEATURES, "churned")
    shuffled = many.sample(fraction=1.0, shuffle=True, seed=5)
    probe = examples(50, seed=6)
    as_read = churn.churn_probability(churn.fit(many), probe).to_list()
    assert churn.churn_probability(churn.fit(shuffled), probe).to_list() == as_read
    sample = churn.fixed_sample(many, churn.MAX_FIT_EXAMPLES)
    assert sample.height == churn.MAX_FIT_EXAMPLES
    assert sample.join(many, on=many.columns, how="anti").height == 0  # every one is an example
    assert sample.equals(churn.fixed_sample(shuffled, churn.MAX_FIT_EXAMPLES))


@pytest.mark.parametrize("which", ["training", "hold-out"])
def test_a_set_with_one_outcome_cannot_be_evaluated(which):
    training, holdout = examples(200, seed=1), examples(100, seed=2)
    if which == "training":
        training = training.with_columns(pl.lit(True).alias("churned"))
    else:
        holdout = holdout.with_columns(pl.lit(False).alias("churned"))
    with pytest.raises(churn.NoHonestHoldOut, match=f"the {which} examples"):
        churn.fit_evaluate_and_score(training, holdout, examples(10, seed=3))


def test_scikit_learn_is_not_imported_when_the_module_loads():
    import subprocess
    import sys

    code = "import sys, backroom_reporting.assets.customers; print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
