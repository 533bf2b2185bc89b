"""Hyperparameter search: TPE on the inner split, stored in a journal that a second run continues."""

from __future__ import annotations

import numpy as np
import pytest

from phenomap.grvsnn.train import Hyperparameters
from phenomap.grvsnn.tune import BATCH_SIZES, DROPOUT, HIDDEN, LEARNING_RATE, tune


@pytest.fixture
def split(rng):
    X = rng.binomial(2, 0.3, size=(160, 30)).astype(np.float32)
    Y = (X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.normal(size=160))[:, None]
    return X[:120], Y[:120], X[120:], Y[120:]


def test_tune__returns_the_best_trial_within_the_search_space_and_continues_a_journal(split, tmp_path):
    base = Hyperparameters(max_epochs=4, patience=2, width=2)
    journal = tmp_path / "study.journal"
    best, study = tune(*split, base, n_trials=3, seed=5, study_path=journal)
    values = [t.value for t in study.trials]
    assert len(values) == 3 and study.best_value == min(values)
    assert best == Hyperparameters(**{**base.__dict__, **study.best_params})
    assert LEARNING_RATE[0] <= best.learning_rate <= LEARNING_RATE[1] and DROPOUT[0] <= best.dropout <= DROPOUT[1]
    assert best.batch_size in BATCH_SIZES and best.hidden in HIDDEN and best.width == 2  # unsearched: from base
    # a second job on the same journal sees the 3 trials and adds only what is missing
    _, again = tune(*split, base, n_trials=4, seed=6, study_path=journal)
    assert len(again.trials) == 4 and [t.value for t in again.trials[:3]] == values


def test_tune__is_reproducible_for_a_seed(split):
    base = Hyperparameters(max_epochs=3, patience=2, width=2)
    first, _ = tune(*split, base, n_trials=2, seed=9)
    second, _ = tune(*split, base, n_trials=2, seed=9)
    assert first == second
