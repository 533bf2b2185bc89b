"""Bayesian hyperparameter search for GRVSNN: Optuna's TPE on an inner validation split of a training fold.

The search space follows the paper (learning rate 1e-5 to 1e-3 on a log scale, dropout 0.1 to
0.5, batch size 64 to 512) plus the trunk size and the selection step size; every trial trains
with early stopping on the inner validation split and reports its best validation loss (the
masked MSE of the standardised traits). The test fold is never seen. A study lives in an
Optuna journal file, so several jobs (e.g. cluster jobs of one fold) can add trials to it;
rerunning with the same file continues the study up to ``n_trials`` completed trials.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from phenomap.grvsnn.train import Hyperparameters, fit

log = logging.getLogger(__name__)

#: The searched ranges (low, high) and choices.
LEARNING_RATE = (1e-5, 1e-3)
SELECTION_LEARNING_RATE = (0.02, 0.5)
DROPOUT = (0.1, 0.5)
BATCH_SIZES = (64, 128, 256, 512)
HIDDEN = (16, 32, 64)


def suggest(trial: optuna.Trial, base: Hyperparameters) -> Hyperparameters:
    """Hyperparameters of one trial: the searched ones drawn by the trial, the others from ``base``."""
    return replace(
        base,
        learning_rate=trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        selection_learning_rate=trial.suggest_float("selection_learning_rate", *SELECTION_LEARNING_RATE, log=True),
        dropout=trial.suggest_float("dropout", *DROPOUT),
        batch_size=trial.suggest_categorical("batch_size", BATCH_SIZES),
        hidden=trial.suggest_categorical("hidden", HIDDEN),
    )


def tune(X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray, base: Hyperparameters,
         *, n_trials: int, seed: int, study_path: str | Path | None = None, study_name: str = "grvsnn",
         device="cpu", threads: int | None = None) -> tuple[Hyperparameters, optuna.Study]:
    """Search hyperparameters by TPE; return the best (lowest validation loss) and the study.

    ``X_*``/``Y_*`` are the inner training and validation samples of one training fold (see
    :func:`phenomap.grvsnn.train.fit`); ``study_path`` is the journal file (created if absent; None keeps
    the study in memory).
    Trials are seeded from ``seed`` (the sampler) and ``seed + trial number`` (the network), so
    one job's search is reproducible.
    """
    storage = JournalStorage(JournalFileBackend(str(study_path))) if study_path is not None else None
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler, direction="minimize",
                                load_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        hp = suggest(trial, base)
        result = fit(X_train, Y_train, X_val, Y_val, hp, seed=seed + trial.number, device=device, threads=threads)
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("seconds", result.seconds)
        return float(result.curve.validation_loss.min())

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if done < n_trials:
        study.optimize(objective, n_trials=n_trials - done)
    best = replace(base, **study.best_params)
    log.info("tuning: %d trials, best validation loss %.4g with %s", len(study.trials), study.best_value,
             {k: v for k, v in asdict(best).items() if k in study.best_params})
    return best, study
