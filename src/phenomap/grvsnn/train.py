"""Training of one GRVSNN model: Adam with weight decay, mini-batches, early stopping.

:func:`fit` standardises features and traits with the training samples' statistics (kept in
the model), codes the features (:func:`phenomap.grvsnn.model.code_features`) once, and
minimises the masked multi-trait MSE (:func:`phenomap.grvsnn.model.masked_mse`) with Adam.
After every epoch the same loss is computed on the validation samples (evaluation mode);
training stops when it has not improved for ``patience`` epochs, and the model keeps the
weights of its best epoch. Losses are in standardised trait units.

Everything random (initial weights, batch order, dropout) is drawn from ``seed``: the same
data, hyperparameters, seed and thread count give the same model on CPU.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.grvsnn.model import GRVSNN, CodedFeatures, code_features, masked_mse

log = logging.getLogger(__name__)

#: Samples evaluated at a time outside training (validation loss, prediction).
EVAL_BATCH = 256


@dataclass(frozen=True)
class Hyperparameters:
    """Settings of one training run (config ``grvsnn``).

    The paper tunes batch size (64-512), learning rate (1e-5 to 1e-3) and dropout (0.1-0.5)
    by Bayesian optimisation, with early stopping after 25 epochs without improvement, and
    gives no GRN width or trunk size. The defaults come from single runs on an 80/20 split
    of the BGLR mice (1,814 x 10,346 markers, body length and BMI): a learning rate of 1e-3
    makes the trunk (fan-in P x width = 41,000) diverge in the first epoch, 1e-4 does not;
    dropout 0.5 gave the best validation correlations of 0.2-0.5; ``width`` 4 and ``hidden``
    32 keep a 100-epoch run near a minute on one CPU thread. ``selection_learning_rate``
    sets how far the selection weights separate, hence how many features pass the
    selection rule (about 6,500 of 10,346 at 0.05, 1,900 at 0.1, 500 at 0.2 on the mice):
    tune it with the others.

    Attributes
    ----------
    learning_rate : Adam step size of the network weights.
    selection_learning_rate : Adam step size of the selection scores. Adam moves every
        weight by about its step size per update whatever the gradient's scale, and the
        trunk's large fan-in (P x width) needs a small one (about 1e-4 on the mice), at which
        the scores would barely leave uniform in a run; a larger step lets them rank
        features within the run.
    dropout : dropout rate inside the GRNs and after the trunk.
    batch_size : samples per mini-batch.
    hidden : units of the trunk layer.
    width : units of each feature's GRN (d).
    weight_decay : Adam's L2 penalty on every parameter but the selection scores.
    max_epochs : epochs at most.
    patience : epochs without a lower validation loss before training stops.
    """

    learning_rate: float = 1e-4
    selection_learning_rate: float = 0.1
    dropout: float = 0.5
    batch_size: int = 128
    hidden: int = 32
    width: int = 4
    weight_decay: float = 1e-4
    max_epochs: int = 100
    patience: int = 25

    def __post_init__(self):
        valid = {
            "learning_rate": (self.learning_rate > 0, "> 0"),
            "selection_learning_rate": (self.selection_learning_rate > 0, "> 0"),
            "dropout": (0 <= self.dropout < 1, "in [0, 1)"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "hidden": (self.hidden >= 1, ">= 1"),
            "width": (self.width >= 2, ">= 2 (a LayerNorm over one unit is always 0)"),
            "weight_decay": (self.weight_decay >= 0, ">= 0"),
            "max_epochs": (self.max_epochs >= 1, ">= 1"),
            "patience": (self.patience >= 1, ">= 1"),
        }
        for name, (ok, rule) in valid.items():
            if not ok:
                raise InputError(f"grvsnn.{name} = {getattr(self, name)!r}: it must be {rule}.")


@dataclass(frozen=True)
class FitResult:
    """A trained model and its history.

    Attributes
    ----------
    model : the network with the weights of ``best_epoch``, in evaluation mode, on the
        training device.
    best_epoch : the epoch (1-based) with the lowest validation loss.
    curve : one row per epoch run: ``epoch train_loss validation_loss seconds`` (masked MSE
        in standardised units; the training loss is the mean over the epoch's mini-batches,
        with dropout).
    selection_weights : (P,) softmax selection weights of the kept model.
    seconds : wall time of the whole fit.
    """

    model: GRVSNN
    best_epoch: int
    curve: pd.DataFrame
    selection_weights: np.ndarray
    seconds: float


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check(X: np.ndarray, Y: np.ndarray, name: str, n_features: int | None = None, n_traits: int | None = None) -> None:
    """InputError unless X (n, P) and Y (n, T) fit together and Y has values for every trait."""
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise InputError(f"{name}: features {X.shape} and traits {Y.shape} must be 2-D with one row per sample.")
    if n_features is not None and (X.shape[1] != n_features or Y.shape[1] != n_traits):
        raise InputError(f"{name} has {X.shape[1]} features and {Y.shape[1]} traits but the training data has "
                         f"{n_features} and {n_traits}; give the same columns in the same order.")
    for what, array in (("features", X), ("traits", Y)):
        infinite = np.isinf(array)
        if infinite.any():
            i, j = np.argwhere(infinite)[0]
            raise InputError(f"{name} {what}: row {i}, column {j} is infinite; use a finite value or NaN (missing).")
    empty = np.flatnonzero(np.isnan(Y).all(axis=0))
    if empty.size:
        raise InputError(f"{name}: trait column(s) {empty.tolist()} have no observed value; drop the trait or give "
                         "samples where it was measured.")


def _scaling(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and SD over non-missing values (SD 1 for constant columns, mean 0 for empty ones)."""
    observed = ~np.isnan(A)
    count = np.maximum(observed.sum(axis=0), 1)
    values = np.where(observed, A, 0.0).astype(np.float64)
    mean = values.sum(axis=0) / count
    sd = np.sqrt(np.where(observed, (values - mean) ** 2, 0.0).sum(axis=0) / count)
    return mean, np.where(sd > 0, sd, 1.0)


def _code(model: GRVSNN, X: np.ndarray) -> CodedFeatures:
    """Features standardised by the model's scaling and coded on the CPU, then moved to the model's device."""
    device = model.x_mean.device
    z = model.standardise(torch.as_tensor(X, dtype=torch.float32, device=device)).cpu()
    return code_features(z).to(device)


@torch.no_grad()
def _evaluate(model: GRVSNN, data: CodedFeatures) -> torch.Tensor:
    """(n, T) standardised predictions in evaluation mode, EVAL_BATCH samples at a time."""
    model.eval()
    chunks = [data.rows(slice(i, i + EVAL_BATCH)) for i in range(0, len(data), EVAL_BATCH)]
    return torch.cat([model.forward_coded(chunk) for chunk in chunks])


def fit(X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
        hp: Hyperparameters = Hyperparameters(), *, seed: int = 0, device: torch.device | str = "cpu",
        threads: int | None = None) -> FitResult:
    """Train a GRVSNN on one training/validation split.

    Parameters
    ----------
    X_train : (n, P) features (e.g. allele counts, then relationship loadings); NaN = missing,
        replaced by the training mean.
    Y_train : (n, T) traits, NaN = missing (drops only that term of the loss).
    X_val, Y_val : (m, P) and (m, T), the same for the validation samples (early stopping).
    hp : hyperparameters.
    seed : seed of the initial weights, batch order and dropout.
    device : torch device (see :func:`phenomap.device.pick`).
    threads : torch CPU threads during the fit (restored afterwards); None leaves them as set.

    Returns
    -------
    :class:`FitResult`.

    Raises
    ------
    InputError for mismatched shapes, infinite values, or a trait with no observed value in
    the training or the validation samples.
    """
    X_train, X_val = np.asarray(X_train, dtype=np.float32), np.asarray(X_val, dtype=np.float32)
    Y_train, Y_val = np.asarray(Y_train, dtype=np.float32), np.asarray(Y_val, dtype=np.float32)
    _check(X_train, Y_train, "training samples")
    _check(X_val, Y_val, "validation samples", X_train.shape[1], Y_train.shape[1])
    device = torch.device(device)
    start = time.perf_counter()
    with _threads(threads):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = GRVSNN(X_train.shape[1], Y_train.shape[1], width=hp.width, hidden=hp.hidden, dropout=hp.dropout)
        model.set_scaling(*_scaling(X_train), *_scaling(Y_train))
        model.to(device)
        coded = _code(model, np.concatenate([X_train, X_val]))
        train, val = coded.rows(slice(0, len(X_train))), coded.rows(slice(len(X_train), None))
        y_train = model.standardise_traits(torch.as_tensor(Y_train, device=device))
        y_val = model.standardise_traits(torch.as_tensor(Y_val, device=device))
        log.info("GRVSNN: %d training, %d validation samples; %d features (%d coded by level), %d traits; %s",
                 len(X_train), len(X_val), X_train.shape[1], len(coded.discrete), Y_train.shape[1], hp)
        scores = [model.selection_logits]
        rest = [p for p in model.parameters() if p is not model.selection_logits]
        optimiser = torch.optim.Adam([{"params": rest, "weight_decay": hp.weight_decay},
                                      {"params": scores, "weight_decay": 0.0, "lr": hp.selection_learning_rate}],
                                     lr=hp.learning_rate,
                                     fused=True)
        rows, best = [], (float("inf"), 0, None)
        for epoch in tqdm(range(1, hp.max_epochs + 1), desc="GRVSNN", mininterval=5):
            tick, total = time.perf_counter(), 0.0
            model.train()
            for batch in torch.randperm(len(train), generator=gen).split(hp.batch_size):
                batch = batch.to(device)
                loss = masked_mse(model.forward_coded(train.rows(batch)), y_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            validation = masked_mse(_evaluate(model, val), y_val).item()
            rows.append((epoch, total / len(train), validation, time.perf_counter() - tick))
            if validation < best[0]:
                best = (validation, epoch, copy.deepcopy(model.state_dict()))
            if epoch - best[1] >= hp.patience:
                break
        _, best_epoch, state = best
        model.load_state_dict(state)
        model.eval()
    seconds = time.perf_counter() - start
    curve = pd.DataFrame(rows, columns=["epoch", "train_loss", "validation_loss", "seconds"])
    log.info("GRVSNN: kept epoch %d of %d (validation MSE %.4f), %.1f s", best_epoch, len(curve), best[0], seconds)
    weights = model.selection_weights().detach().cpu().double().numpy()
    return FitResult(model=model, best_epoch=best_epoch, curve=curve, selection_weights=weights, seconds=seconds)


@torch.no_grad()
def predict(model: GRVSNN | FitResult, X: np.ndarray) -> np.ndarray:
    """Predict the traits of samples from their features.

    Parameters
    ----------
    model : a trained network or the :class:`FitResult` holding it.
    X : (n, P) features in the training columns' order; NaN = missing.

    Returns
    -------
    (n, T) float64 predictions in trait units.

    Raises
    ------
    InputError if X has another number of features than the model, or infinite values.
    """
    model = model.model if isinstance(model, FitResult) else model
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        raise InputError(f"features of shape {X.shape}: the model expects (n, {model.n_features}).")
    if np.isinf(X).any():
        i, j = np.argwhere(np.isinf(X))[0]
        raise InputError(f"features: row {i}, column {j} is infinite; use a finite value or NaN (missing).")
    return model.unstandardise(_evaluate(model, _code(model, X))).cpu().double().numpy()
