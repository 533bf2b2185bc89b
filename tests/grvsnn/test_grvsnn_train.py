"""GRVSNN training: recovery of a planted marker, early stopping, determinism, prediction, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from phenomap.errors import InputError
from phenomap.grvsnn.model import masked_mse
from phenomap.grvsnn.train import FitResult, Hyperparameters, fit, predict

PLANTED = 7
SMALL = Hyperparameters(learning_rate=1e-2, dropout=0.1, batch_size=32, hidden=8, width=4, max_epochs=40, patience=8)


def planted(n=200, P=50, seed=5):
    """Allele counts with y1 = 2 x_7 + noise and y2 = noise - x_7 (10% missing); the first 80% of the samples
    for training, the rest for validation; the last feature is continuous (not level-coded)."""
    rng = np.random.default_rng(seed)
    X = rng.binomial(2, 0.4, (n, P)).astype(np.float32)
    X[:, -1] = rng.normal(size=n)
    X[rng.random((n, P)) < 0.01] = np.nan
    x7 = np.nan_to_num(X[:, PLANTED], nan=0.8)
    Y = np.column_stack([2 * x7 + rng.normal(size=n), -x7 + rng.normal(size=n)]).astype(np.float32)
    Y[rng.random(n) < 0.1, 1] = np.nan
    cut = n * 4 // 5
    return X[:cut], Y[:cut], X[cut:], Y[cut:]


@pytest.fixture(scope="module")
def trained() -> tuple[FitResult, tuple]:
    data = planted()
    return fit(*data, SMALL, seed=3, threads=1), data


def test_fit__gives_the_planted_marker_the_largest_selection_weight(trained):
    result, (_, _, X_val, Y_val) = trained
    assert int(np.argmax(result.selection_weights)) == PLANTED
    assert result.selection_weights.sum() == pytest.approx(1.0)
    pred = predict(result, X_val)
    assert np.corrcoef(pred[:, 0], Y_val[:, 0])[0, 1] > 0.55  # at most 0.81 (noise variance 1 of 2.92)
    observed = ~np.isnan(Y_val[:, 1])
    assert np.corrcoef(pred[observed, 1], Y_val[observed, 1])[0, 1] > 0.3


def test_fit__keeps_the_best_epoch_and_stops_after_patience(trained):
    result, (_, _, X_val, Y_val) = trained
    curve = result.curve
    assert result.best_epoch == int(curve.epoch[curve.validation_loss.idxmin()])
    assert len(curve) == min(SMALL.max_epochs, result.best_epoch + SMALL.patience)
    model = result.model
    z = model.standardise_traits(torch.as_tensor(Y_val))
    pred = (torch.as_tensor(predict(result, X_val), dtype=torch.float32) - model.y_mean) / model.y_scale
    assert masked_mse(pred, z).item() == pytest.approx(curve.validation_loss.min(), rel=1e-5)


def test_fit__is_deterministic_for_a_seed():
    data = planted(n=80, P=12)
    hp = Hyperparameters(batch_size=16, hidden=4, max_epochs=4, patience=4)
    first, again, other = (fit(*data, hp, seed=s, threads=1) for s in (1, 1, 2))
    np.testing.assert_array_equal(first.curve.train_loss, again.curve.train_loss)
    np.testing.assert_array_equal(first.curve.validation_loss, again.curve.validation_loss)
    for name, value in first.model.state_dict().items():
        torch.testing.assert_close(value, again.model.state_dict()[name], rtol=0, atol=0)
    assert not np.array_equal(first.curve.train_loss, other.curve.train_loss)


@torch.no_grad()
def test_predict__equals_the_sample_by_sample_network_in_trait_units(trained):
    result, (X_train, _, _, _) = trained
    model = result.model
    X = X_train[:30]
    direct = model.unstandardise(model(model.standardise(torch.as_tensor(X)))).double().numpy()
    np.testing.assert_allclose(predict(result, X), direct, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(predict(model, X), predict(result, X))


def test_fit__threads_are_restored():
    before = torch.get_num_threads()
    fit(*planted(n=40, P=10), Hyperparameters(max_epochs=1), threads=1)
    assert torch.get_num_threads() == before


def test_fit__rejects_bad_input():
    X, Y, Xv, Yv = planted(n=40, P=10)
    Y_empty = Y.copy()
    Y_empty[:, 1] = np.nan
    with pytest.raises(InputError, match=r"training samples: trait column\(s\) \[1\] have no observed value"):
        fit(X, Y_empty, Xv, Yv)
    X_inf = X.copy()
    X_inf[3, 2] = np.inf
    with pytest.raises(InputError, match="row 3, column 2 is infinite"):
        fit(X_inf, Y, Xv, Yv)
    with pytest.raises(InputError, match="validation samples has 9 features and 2 traits but the training data has 10"):
        fit(X, Y, Xv[:, :9], Yv)
    with pytest.raises(InputError, match=r"grvsnn.dropout = 1.0: it must be in \[0, 1\)"):
        Hyperparameters(dropout=1.0)
    with pytest.raises(InputError, match=r"the model expects \(n, 50\)"):
        predict(fit(*planted(), Hyperparameters(max_epochs=1)), X)
