"""GRVSNN network: batched GRNs against a per-feature loop, coded evaluation, the masked loss, selection."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from phenomap.grvsnn.model import GRVSNN, code_features, masked_mse, selected_features


def model64(P=7, T=2, width=3, hidden=5, seed=0) -> GRVSNN:
    torch.manual_seed(seed)
    model = GRVSNN(P, T, width=width, hidden=hidden, dropout=0.3).double().eval()
    with torch.no_grad():  # non-uniform selection weights
        model.selection_logits.copy_(torch.randn(P, dtype=torch.float64))
    return model


def grn_loop(model: GRVSNN, z: torch.Tensor) -> torch.Tensor:
    """ẑ written out one feature and one sample row at a time, LayerNorm by hand."""
    d = model.width
    out = torch.empty(*z.shape, d, dtype=z.dtype)
    for i in range(z.shape[1]):
        x = z[:, i:i + 1]  # (B, 1)
        f1 = torch.nn.functional.elu(x @ model.in_weight[i][None, :] + model.in_bias[i])
        f2 = f1 @ model.mid_weight[i] + model.mid_bias[i]
        hg = f2 @ model.glu_weight[i] + model.glu_bias[i]
        h, g = hg[:, :d], torch.sigmoid(hg[:, d:])
        r = g * h + (1 - g) * (x * model.skip_weight[i])
        mean = r.mean(dim=1, keepdim=True)
        var = ((r - mean) ** 2).mean(dim=1, keepdim=True)
        out[:, i] = (r - mean) / torch.sqrt(var + 1e-5)
    return out


def forward_loop(model: GRVSNN, z: torch.Tensor) -> torch.Tensor:
    """The network written out: z'_i = P w_i ẑ_i, flatten, dense + ELU, heads (evaluation mode)."""
    P = z.shape[1]
    w = torch.softmax(model.selection_logits, dim=0)
    reweighted = P * w[None, :, None] * grn_loop(model, z)
    trunk = torch.nn.functional.elu(reweighted.reshape(len(z), -1) @ model.trunk_weight.reshape(-1, model.hidden)
                                    + model.trunk_bias)
    return trunk @ model.heads.weight.T + model.heads.bias


@torch.no_grad()
def test_grn__batched_equals_per_feature_loop():
    model = model64()
    z = torch.randn(6, 7, dtype=torch.float64)
    np.testing.assert_allclose(model.grn(z), grn_loop(model, z), rtol=1e-12, atol=1e-12)
    subset = torch.tensor([5, 1, 2])
    np.testing.assert_allclose(model.grn(z[:, subset], subset), grn_loop(model, z)[:, subset], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model(z), forward_loop(model, z), rtol=1e-12, atol=1e-12)


def genotype_like(rng, n, P, continuous=()):
    """Allele counts with a few mean-imputed calls (0.75), one constant column and ``continuous`` normal
    columns, rounded to float32 values."""
    z = rng.integers(0, 3, (n, P)).astype(float)
    z[rng.random((n, P)) < 0.05] = 0.75
    z[:, 1] = 1.0
    for j in continuous:
        z[:, j] = rng.normal(size=n)
    return z.astype(np.float32).astype(float)


def test_code_features__levels_and_codes_reproduce_the_values(rng):
    z = torch.as_tensor(genotype_like(rng, 40, 11, continuous=(2, 9)), dtype=torch.float32)
    n_unique = np.array([len(np.unique(z[:, j])) for j in range(11)])
    assert set(n_unique) == {1, 3, 4, 40}
    coded = code_features(z, chunk=3)
    assert coded.discrete.tolist() == np.flatnonzero(n_unique <= 4).tolist()
    assert coded.continuous.tolist() == [2, 9]
    assert coded.levels.shape[0] == 4
    np.testing.assert_array_equal(coded.levels.gather(0, coded.codes.long()), z[:, coded.discrete])
    np.testing.assert_array_equal(coded.values, z[:, [2, 9]])
    assert code_features(z, max_levels=3).discrete.tolist() == np.flatnonzero(n_unique <= 3).tolist()


@torch.no_grad()
def test_forward_coded__equals_sample_by_sample_forward_in_evaluation_mode(rng):
    model = model64(P=11)
    z = torch.as_tensor(genotype_like(rng, 30, 11, continuous=(2, 9)))
    coded = code_features(z.float())
    coded = replace(coded, levels=coded.levels.double(), values=coded.values.double())
    np.testing.assert_allclose(model.forward_coded(coded), model(z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.forward_coded(coded.rows(slice(3, 9))), model(z[3:9]), rtol=1e-12, atol=1e-12)


def test_masked_mse__equals_hand_computation_and_ignores_missing_entries():
    nan = float("nan")
    y = torch.tensor([[1.0, nan], [2.0, 3.0], [nan, nan], [0.0, nan]])
    pred = torch.tensor([[1.5, 9.0], [1.0, 1.0], [7.0, 7.0], [1.0, -4.0]], requires_grad=True)
    loss = masked_mse(pred, y)
    trait1 = (0.5**2 + 1.0**2 + 1.0**2) / 3  # three observed values
    trait2 = 2.0**2  # one observed value, weighted like trait 1
    assert loss.item() == pytest.approx((trait1 + trait2) / 2, rel=1e-7)
    loss.backward()
    expected = torch.tensor([[2 * 0.5 / 3 / 2, 0.0], [2 * -1.0 / 3 / 2, 2 * -2.0 / 2], [0.0, 0.0],
                             [2 * 1.0 / 3 / 2, 0.0]])
    np.testing.assert_allclose(pred.grad, expected, rtol=1e-6, atol=1e-7)
    # a trait unobserved in a batch drops out of the mean; nothing observed gives 0 with zero gradient
    assert masked_mse(pred[[0, 3]], y[[0, 3]]).item() == pytest.approx((0.5**2 + 1.0) / 2, rel=1e-7)
    empty = masked_mse(pred[2:3], y[2:3])
    empty.backward()
    assert empty.item() == 0.0


def test_selected_features__uses_a_threshold_relative_to_the_largest_weight():
    weights = np.array([0.001, 0.2, 0.019, 0.021, 0.4, 0.05])
    np.testing.assert_array_equal(selected_features(weights), [1, 3, 4, 5])  # >= 0.05 * 0.4
