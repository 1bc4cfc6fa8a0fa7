"""The churn model: will a customer stay away for the next six weeks? (docs/metrics.md, "Churn")

A customer has churned at a cutoff day c when they have no visit in the HORIZON_DAYS
business days after it, c+1..c+42. Examples are (customer, cutoff) pairs with features
from customer_visits rows on or before c only. The model is scored on a time-based
hold-out: the hold-out cutoff is the latest one whose horizon is fully observed, and every
training cutoff's label window ends before it, so no training label has seen the hold-out
period. It is then refitted with the hold-out cutoff included and scores today.

scikit-learn is imported inside the functions that use it, so loading the code location
does not import it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

HORIZON_DAYS = 42
# The newest training cutoff lies 7 weeks before the hold-out cutoff: its label window
# ends a week before the hold-out cutoff, and both fall on the same weekday as today.
TRAINING_GAP_DAYS = 49
TRAINING_STEP_DAYS = 28  # earlier training cutoffs, four weeks apart (same weekday)
MAX_TRAINING_CUTOFFS = 6
MIN_HISTORY_DAYS = 28  # of history up to and including a cutoff, for its features to mean anything
SHORTEST_HISTORY_DAYS = MIN_HISTORY_DAYS + TRAINING_GAP_DAYS + HORIZON_DAYS
# The weeks one plan's cutoffs span, from the hold-out back to the earliest training cutoff:
# the plans of consecutive weeks meet each cutoff again within that many weeks.
CUTOFF_SPAN_WEEKS = (TRAINING_GAP_DAYS + TRAINING_STEP_DAYS * (MAX_TRAINING_CUTOFFS - 1)) // 7 + 1

FEATURES = (
    "days_since_last_visit",
    "log_days_since_last_visit",
    "days_since_first_visit",
    "log_visits",
    "visits_per_week",
    "visits_28d",
    "visits_90d",
    "booked_share",
    "log_lifetime_value",
    "is_vip",
)
# Ten features need no more examples than this (measured on two years of demo history: hold-out
# ROC AUC 0.7145 from a random 10 000 examples, 0.7154 from all 41 340); a fit's cost stops growing here.
MAX_FIT_EXAMPLES = 10_000
# Mild L2 regularisation: steadier than C=1 on the demo's few hundred training examples.
REGULARISATION_C = 0.2
MODEL = f"scikit-learn LogisticRegression (C={REGULARISATION_C}) on standardised features"


class NoHonestHoldOut(Exception):
    """The history cannot support a time-based hold-out; the message says why."""


@dataclass(frozen=True)
class CutoffPlan:
    training_cutoffs: tuple[dt.date, ...]  # oldest first
    holdout_cutoff: dt.date
    scoring_cutoff: dt.date
    horizon_days: int = HORIZON_DAYS

    def label_window(self, cutoff: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day whose visits decide the label at `cutoff`."""
        return cutoff + dt.timedelta(days=1), cutoff + dt.timedelta(days=self.horizon_days)


def plan_cutoffs(first_day: dt.date, latest_day: dt.date) -> CutoffPlan:
    """Cutoffs for history first_day..latest_day, or NoHonestHoldOut when it is too short."""
    history_days = (latest_day - first_day).days + 1
    if history_days < SHORTEST_HISTORY_DAYS:
        raise NoHonestHoldOut(
            f"customer_visits covers {history_days} business days ({first_day}..{latest_day}); an honest "
            f"hold-out needs {SHORTEST_HISTORY_DAYS}: {MIN_HISTORY_DAYS} days of history before a training "
            f"cutoff, its {HORIZON_DAYS}-day label window ending before the hold-out cutoff, and the "
            f"hold-out's own {HORIZON_DAYS}-day label window"
        )
    holdout = latest_day - dt.timedelta(days=HORIZON_DAYS)
    earliest = first_day + dt.timedelta(days=MIN_HISTORY_DAYS - 1)
    training = []
    cutoff = holdout - dt.timedelta(days=TRAINING_GAP_DAYS)
    while cutoff >= earliest and len(training) < MAX_TRAINING_CUTOFFS:
        training.append(cutoff)
        cutoff -= dt.timedelta(days=TRAINING_STEP_DAYS)
    return CutoffPlan(tuple(reversed(training)), holdout, latest_day)


def _matrix(examples: pl.DataFrame) -> np.ndarray:
    return examples.select(pl.col(f).cast(pl.Float64) for f in FEATURES).to_numpy()


def _labels(examples: pl.DataFrame) -> np.ndarray:
    return examples["churned"].cast(pl.Int64).to_numpy()


def _both_outcomes(examples: pl.DataFrame, which: str) -> None:
    churned = int(examples["churned"].sum())
    if churned in (0, examples.height):
        raise NoHonestHoldOut(
            f"the {which} examples ({examples.height}) hold only one outcome ({churned} churned)"
        )


def with_draws(examples: pl.DataFrame) -> pl.DataFrame:
    """`examples` with `draw`, a hash of each one's features and label: a fit's fixed sample
    is the examples that draw lowest, the same whatever order they come in. Kept with the
    examples, it lets a training cutoff's share of any sample be read without the rest."""
    drawn = examples.select(*FEATURES, "churned").hash_rows(seed=0).reinterpret(signed=True)
    return examples.with_columns(drawn.alias("draw"))


def fixed_sample(examples: pl.DataFrame, n: int) -> pl.DataFrame:
    """The `n` examples that draw lowest, in that order. Examples that draw alike are alike:
    which of them is taken makes no difference."""
    drawn = examples if "draw" in examples.columns else with_draws(examples)
    return drawn.bottom_k(n, by="draw").sort("draw")


def fit(examples: pl.DataFrame):
    """A fitted classifier of `churned` from FEATURES, on at most MAX_FIT_EXAMPLES of the
    examples (those that draw lowest, so the same examples give the same model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if examples.height > MAX_FIT_EXAMPLES:
        examples = fixed_sample(examples, MAX_FIT_EXAMPLES)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=REGULARISATION_C, max_iter=1000))
    return model.fit(_matrix(examples), _labels(examples))


def churn_probability(model, examples: pl.DataFrame) -> pl.Series:
    """P(no visit in the next HORIZON_DAYS) for each row of `examples`."""
    if examples.height == 0:
        return pl.Series("churn_probability", [], dtype=pl.Float64)
    return pl.Series("churn_probability", model.predict_proba(_matrix(examples))[:, 1], dtype=pl.Float64)


@dataclass(frozen=True)
class Evaluation:
    roc_auc: float
    brier_score: float
    base_rate: float  # share of hold-out examples that churned
    n_train: int
    n_holdout: int


def evaluate(model, n_train: int, holdout: pl.DataFrame) -> Evaluation:
    """The model's figures on the hold-out; n_train: how many examples it was trained from."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    predicted = churn_probability(model, holdout).to_numpy()
    actual = _labels(holdout)
    return Evaluation(
        roc_auc=float(roc_auc_score(actual, predicted)),
        brier_score=float(brier_score_loss(actual, predicted)),
        base_rate=float(actual.mean()),
        n_train=n_train,
        n_holdout=holdout.height,
    )


def fit_evaluate_and_score(
    training: pl.DataFrame, holdout: pl.DataFrame, current: pl.DataFrame, n_train: int | None = None
) -> tuple[pl.DataFrame, Evaluation]:
    """Fit on `training`, evaluate on `holdout`, refit on both and score `current`.

    training, holdout: churn_labels rows; current: churn_features rows at the scoring
    cutoff. n_train: how many training examples there are, when `training` holds only
    those that could be in a fit's sample (each cutoff's MAX_FIT_EXAMPLES that draw
    lowest). Returns venue_id, customer_id, churn_probability for `current`, and the
    hold-out evaluation. Raises NoHonestHoldOut when either set lacks an outcome.
    """
    _both_outcomes(training, "training")
    _both_outcomes(holdout, "hold-out")
    evaluation = evaluate(fit(training), training.height if n_train is None else n_train, holdout)
    refitted = fit(pl.concat([training, holdout]))
    scores = current.select("venue_id", "customer_id").with_columns(churn_probability(refitted, current))
    return scores, evaluation
