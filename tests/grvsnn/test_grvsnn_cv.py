"""Cross-validation pieces: folds, training-fold scaling, fixed effects, dCor and metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.grvsnn.cv import FixedEffects, Scaler, distance_correlation, make_folds, prediction_metrics, read_folds


def samples(n: int) -> pd.DataFrame:
    return pd.DataFrame({"FID": [f"f{i}" for i in range(n)], "IID": [f"i{i}" for i in range(n)]})


def test_make_folds__balanced_reproducible_and_different_per_repeat():
    folds = make_folds(samples(23), k=5, repeats=3, seed=7)
    assert len(folds) == 69
    for _, rows in folds.groupby("repeat"):
        sizes = np.bincount(rows.fold)
        assert sizes.max() - sizes.min() <= 1 and len(sizes) == 5
        assert rows.IID.tolist() == samples(23).IID.tolist()
    pd.testing.assert_frame_equal(folds, make_folds(samples(23), k=5, repeats=3, seed=7))
    first, second = (folds[folds.repeat == r].fold.to_numpy() for r in (0, 1))
    assert (first != second).any()
    # adding repeats keeps the earlier ones
    pd.testing.assert_frame_equal(make_folds(samples(23), k=5, repeats=1, seed=7), folds[folds.repeat == 0])


def test_read_folds__renumbers_labels_ignores_extra_rows_and_rejects_gaps(tmp_path):
    table = samples(6).assign(fold=[3, 3, 7, 7, 9, 9])
    extra = pd.DataFrame({"FID": ["zz"], "IID": ["zz"], "fold": [1]})
    pd.concat([table.iloc[::-1], extra]).to_csv(tmp_path / "f.tsv", sep="\t", index=False)
    folds = read_folds(tmp_path / "f.tsv", samples(6))
    assert folds.fold.tolist() == [0, 0, 1, 1, 2, 2] and (folds.repeat == 0).all()
    table.iloc[1:].to_csv(tmp_path / "g.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"1 analysed samples have no fold in repeat 0 \(e\.g\. \('f0', 'i0'\)\)"):
        read_folds(tmp_path / "g.tsv", samples(6))


def test_scaler__uses_training_statistics_only(rng):
    train = rng.normal(3, 2, size=(50, 4))
    train[5, 1] = np.nan
    train[:, 3] = 1.0  # constant in training
    test = rng.normal(size=(10, 4))
    test[0, 2] = np.nan
    scaler = Scaler.fit(train)
    mean = np.nanmean(train, axis=0)
    sd = np.nanstd(train, axis=0, ddof=1)
    expected = (test - mean) / np.where(sd > 0, sd, np.inf)
    expected[0, 2] = 0.0
    np.testing.assert_allclose(scaler.transform(test), expected, rtol=1e-6, atol=1e-7)
    assert (scaler.transform(test)[:, 3] == 0).all()



def test_scaler__a_loading_that_lives_outside_the_training_fold_scales_to_zero(rng):
    # eigenvector of a relationship matrix concentrated on one family absent from the training
    # fold: its training values are rounding noise (~1e-17); dividing by that SD gave 1e15-sized
    # test features and ridge/BRR/BayesCπ predictions with r ≈ 0 on the mice
    n_train = 40
    family = np.zeros(50)
    family[n_train:] = rng.normal(0, 0.3, size=10)
    family[:n_train] += rng.normal(0, 1e-17, size=n_train)
    X = np.column_stack([rng.binomial(2, 0.3, size=50).astype(float), family])
    scaler = Scaler.fit(X[:n_train])
    z = scaler.transform(X[n_train:])
    assert (z[:, 1] == 0).all()
    np.testing.assert_allclose(z[:, 0], (X[n_train:, 0] - X[:n_train, 0].mean()) / X[:n_train, 0].std(ddof=1),
                               rtol=1e-6)

def test_fixed_effects__equal_least_squares_and_round_trip(rng):
    C = rng.normal(size=(80, 2))
    y = 1.5 + C @ [2.0, -1.0] + rng.normal(size=80)
    fixed = FixedEffects.fit(y, C)
    D = np.column_stack([np.ones(80), C])
    coef = np.linalg.solve(D.T @ D, D.T @ y)
    np.testing.assert_allclose(fixed.coef, coef, rtol=1e-10)
    target = fixed.target(y, C)
    assert abs(target.mean()) < 1e-10
    np.testing.assert_allclose(fixed.predict(target, C), y, rtol=1e-10)
    only_mean = FixedEffects.fit(y, None)
    np.testing.assert_allclose(only_mean.fitted(None, 3), y.mean())


def brute_dcor(x, y):
    n = len(x)
    a = np.array([[abs(x[i] - x[j]) for j in range(n)] for i in range(n)])
    b = np.array([[abs(y[i] - y[j]) for j in range(n)] for i in range(n)])
    A = a - a.mean(0)[None, :] - a.mean(1)[:, None] + a.mean()
    B = b - b.mean(0)[None, :] - b.mean(1)[:, None] + b.mean()
    return np.sqrt((A * B).sum() / n**2 / np.sqrt((A * A).sum() / n**2 * (B * B).sum() / n**2))


def test_distance_correlation__matches_the_definition_and_detects_nonlinear_dependence(rng):
    x = rng.normal(size=60)
    y = x + rng.normal(size=60)
    assert distance_correlation(x, y) == pytest.approx(brute_dcor(x, y), rel=1e-12)
    assert distance_correlation(x, 3 * x - 2) == pytest.approx(1.0)
    grid = np.linspace(-2, 2, 61)  # y = x^2 on a symmetric grid: Pearson r is 0, dCor is not
    assert abs(np.corrcoef(grid, grid**2)[0, 1]) < 1e-12 and distance_correlation(grid, grid**2) > 0.4
    assert distance_correlation(x, np.ones(60)) == 0.0


def test_prediction_metrics__mse_on_the_training_sd_scale():
    observed = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.5, 2.0, 2.5, 4.5])
    metrics = prediction_metrics(observed, predicted, sd=0.5)
    assert metrics["mse"] == pytest.approx(np.mean(((observed - predicted) / 0.5) ** 2))
    assert metrics["r"] == pytest.approx(np.corrcoef(observed, predicted)[0, 1])
    assert np.isnan(prediction_metrics(observed, np.zeros(4), sd=1.0)["r"])


def prediction_data(rng, n=240, m=120, missing=0.1):
    """Two traits from 6 causal markers each (2 shared) plus a sex effect on trait 2; some phenotypes missing."""
    from phenomap.grvsnn.cv import PredictionData

    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(np.float32)
    G[rng.random(G.shape) < 0.01] = np.nan
    sex = rng.integers(0, 2, n).astype(float)
    filled = np.nan_to_num(G, nan=1.0)
    y1 = filled[:, [0, 1, 2, 3, 4, 5]] @ np.full(6, 0.5) + rng.normal(size=n)
    y2 = filled[:, [0, 1, 6, 7, 8, 9]] @ np.full(6, 0.5) + 3.0 * sex + rng.normal(size=n)
    Y = np.column_stack([y1, y2])
    Y[rng.random(Y.shape) < missing] = np.nan
    return PredictionData(samples=samples(n), features=G, feature_names=[f"m{j}" for j in range(m)],
                          traits=["t1", "t2"], phenotypes=Y, covariates=sex[:, None])


FAST = dict(methods=["grvsnn", "grvsnn_single", "ridge", "lasso"], baselines={"lasso": {"n_alphas": 10}},
            seed=3, threads=1)


def hyperparameters():
    from phenomap.grvsnn.train import Hyperparameters

    return Hyperparameters(max_epochs=60, patience=15, hidden=8, learning_rate=3e-3)


def test_run_fold__scores_every_method_and_trait_on_phenotyped_test_samples(rng):
    from phenomap.grvsnn.cv import run_fold

    data = prediction_data(rng)
    is_test = np.arange(240) % 5 == 0
    result = run_fold(data, is_test, hyperparameters=hyperparameters(), **FAST)
    metrics = result.metrics.set_index(["method", "trait"])
    assert set(metrics.index) == {(m, t) for m in FAST["methods"] for t in ("t1", "t2")}
    for t, trait in enumerate(("t1", "t2")):
        assert (metrics.xs(trait, level="trait").n_test == (~np.isnan(data.phenotypes[is_test, t])).sum()).all()
    assert (metrics.loc[("ridge", "t2"), "r"] > 0.7)  # the sex effect is predicted through the fixed effects
    assert (metrics.xs("t1", level="trait").r > [0.1, 0.1, 0.4, 0.4]).all()  # grvsnn, grvsnn_single, ridge, lasso
    lasso = result.selected[result.selected.method == "lasso"]
    assert {"m0", "m1"} <= set(lasso.feature[lasso.trait == "t1"])
    assert (result.selected[result.selected.method == "grvsnn"].trait == "all").all()
    counts = result.selected.groupby(["method", "trait"]).size()
    assert metrics.loc[("grvsnn", "t1"), "n_selected"] == counts[("grvsnn", "all")]
    assert metrics.loc[("lasso", "t2"), "n_selected"] == counts[("lasso", "t2")]
    assert metrics.loc[("ridge", "t1"), "n_selected"] == 120  # every feature


def test_run_fold__test_phenotypes_never_reach_a_model(rng):
    """Scrambling the test samples' phenotypes changes no prediction: scalers, fixed effects, tuning and
    early stopping see the training samples only."""
    from phenomap.grvsnn.cv import run_fold

    data = prediction_data(rng)
    is_test = np.arange(240) % 4 == 1
    first = run_fold(data, is_test, hyperparameters=hyperparameters(), **FAST)
    scrambled = data.phenotypes.copy()
    scrambled[is_test] = rng.normal(100, 50, size=scrambled[is_test].shape)
    second = run_fold(type(data)(**{**data.__dict__, "phenotypes": scrambled}), is_test,
                      hyperparameters=hyperparameters(), **FAST)
    np.testing.assert_allclose(second.predictions.predicted, first.predictions.predicted, rtol=1e-6)


def test_run_fold__skips_a_trait_without_phenotyped_test_samples(rng, caplog):
    from phenomap.grvsnn.cv import run_fold

    data = prediction_data(rng, missing=0.0)
    is_test = np.arange(240) % 5 == 0
    data.phenotypes[is_test, 1] = np.nan
    result = run_fold(data, is_test, hyperparameters=hyperparameters(), methods=["ridge", "grvsnn"], seed=1)
    assert set(result.metrics.trait) == {"t1"}
    assert "trait t2 has 192 phenotyped training and 0 test samples; skipped" in caplog.text


def test_prediction_data__rejects_marker_codes_outside_0_1_2_but_not_loadings(rng):
    from phenomap.errors import InputError
    from phenomap.grvsnn.cv import PredictionData

    G = rng.binomial(2, 0.3, size=(10, 4)).astype(np.float32)
    loadings = rng.normal(size=(10, 2)).astype(np.float32)  # continuous: allowed before the markers
    common = dict(samples=samples(10), feature_names=["L1", "L2", "a", "b", "c", "d"], traits=["t"],
                  phenotypes=rng.normal(size=(10, 1)), covariates=None, n_loadings=2)
    PredictionData(features=np.hstack([loadings, G]), **common)
    G[3, 2] = 0.5  # a dosage
    with pytest.raises(InputError, match=r"marker 'c' has genotype code 0.5; markers must be 0, 1, 2 or missing"):
        PredictionData(features=np.hstack([loadings, G]), **common)
