"""The GRVSNN network: per-feature gated residual networks, global variable selection, multi-task heads.

Fan & Waldmann (2025) feed P scalar features (genotypes, optionally followed by relationship
loadings) through

1. a **gated residual network (GRN)** per feature i, with its own weights, of width d::

       f₁ = ELU(x_i w_i + b_i)                     dense 1 -> d
       f₂ = dropout(f₁ M_i + c_i)                  dense d -> d
       h  = f₂ H_i + e_i,  g = sigmoid(f₂ G_i + k_i)   gated linear unit
       z  = g ⊙ h + (1 - g) ⊙ x_i u_i              residual: x_i projected by a learned u_i (d,)
       ẑ_i = LayerNorm(z)                          over the d units, without affine parameters

   The projection ``x_i u_i`` (rather than ``x_i`` broadcast to d units) matters because
   of the LayerNorm: a broadcast constant vector normalises to 0, so the skip path would
   carry nothing. The LayerNorm has no gain and bias of its own: the trunk's linear layer
   that follows absorbs them. All P GRNs run as one batched tensor operation (weights
   shaped (P, d, d) etc., one ``einsum`` per layer).
2. **variable selection**: one softmax over the P features, ``w = softmax(s)``, and
   ``z'_i = P w_i ẑ_i``. The paper writes the softmax over the transformed features ẑ
   themselves, which would make the weights depend on the sample and on LayerNorm output
   that is centred by construction; here the logits s are one learned score per feature
   (0 at the start: uniform weights), so the weights are global, as the paper's VS block is
   meant to be, and rank features directly. The factor P only keeps the activations at unit
   scale at the start (w_i = 1/P) and changes no ranking. The scores have their own step
   size and no weight decay (:mod:`phenomap.grvsnn.train`; decay would pull the selection
   back to uniform), while the trunk weights decay, which favours carrying a feature's
   importance in its selection weight. **Selected features** are those with
   ``w_i >= threshold * max(w)`` (:func:`selected_features`, threshold 0.05): a rule relative
   to the largest weight, since a softmax over 10,000 features cannot give an absolute 0.05
   to more than 20 of them.
3. a shared **trunk**: the flattened (P, d) reweighted features -> dense(hidden) -> ELU ->
   dropout, and one linear **head per trait** (the rows of one ``Linear(hidden, T)``);
   single-task is the same model with T = 1.

The network works in standardised units: features and traits are centred and scaled by the
training statistics kept in the model's buffers (:meth:`GRVSNN.standardise`,
:meth:`GRVSNN.standardise_traits`, :meth:`GRVSNN.unstandardise`), so a trained model is
self-contained.

**Coded evaluation.** A GRN's output depends on its own feature's value only, and a marker
takes at most three values (four with mean-imputed missing calls). :meth:`GRVSNN.forward_coded`
therefore evaluates each such feature's GRN once per level and looks the samples up,
instead of once per sample: ``pre = onehot(codes) @ T`` with ``T[l, i] = ẑ_i(level l) ·
(P w_i W_i)`` the contribution of level l of feature i to the trunk. In evaluation mode this
equals :meth:`GRVSNN.forward` exactly; it makes training on the BGLR mice (1,814 × 10,346)
fast on one CPU thread. In training mode the GRN's dropout mask is then drawn once per
(feature, level, unit) per mini-batch, shared by the batch's samples with that level,
instead of once per sample: each sample's mask has the same distribution, so the expected
loss is the same; only the noise of the gradient is larger. Features with more than
:data:`MAX_LEVELS` values (e.g. relationship loadings) go through the GRN sample by sample,
with per-sample dropout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Features with at most this many distinct values are evaluated per level (:func:`code_features`).
MAX_LEVELS = 4
#: Default selection threshold, relative to the largest selection weight.
SELECTION_THRESHOLD = 0.05


def _uniform(shape: tuple[int, ...], bound: float) -> torch.Tensor:
    """U(-bound, bound) from torch's global generator (nn.Linear's initialisation, bound = 1/sqrt(fan_in))."""
    return (torch.rand(shape) * 2.0 - 1.0) * bound


def _per_feature(f: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Each feature's own dense layer: ``out[b, i] = f[b, i] @ weight[i] + bias[i]``.

    f : (B, k, a); weight : (k, a, c); bias : (k, c) or None. Returns (B, k, c): one batched
    matrix product over the k features.
    """
    out = torch.einsum("bka,kac->bkc", f, weight)
    return out if bias is None else out + bias


def _selector(index: torch.Tensor, n_features: int) -> slice | torch.Tensor | None:
    """How to take ``index`` (sorted feature indices) out of a per-feature parameter: None for all of
    them, a slice for a contiguous run (a view), else the indices (a copy)."""
    if len(index) == n_features:
        return None
    if len(index) and int(index[-1]) - int(index[0]) + 1 == len(index):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


@dataclass(frozen=True)
class CodedFeatures:
    """Standardised features of n samples, as :meth:`GRVSNN.forward_coded` reads them.

    Attributes
    ----------
    discrete : (P_d,) long, the features with at most :data:`MAX_LEVELS` distinct values.
    levels : (L, P_d) float32, ``levels[l, j]`` the l-th smallest value of feature
        ``discrete[j]`` (features with fewer than L values repeat their smallest).
    codes : (n, P_d) uint8, the level of each sample's value of each discrete feature.
    continuous : (P_c,) long, the other features.
    values : (n, P_c) float32, their values.

    ``discrete`` and ``continuous`` stay on the CPU; the rest moves with :meth:`to`.
    """

    discrete: torch.Tensor
    levels: torch.Tensor
    codes: torch.Tensor
    continuous: torch.Tensor
    values: torch.Tensor

    def __len__(self) -> int:
        return self.codes.shape[0]

    def rows(self, index: torch.Tensor | slice) -> CodedFeatures:
        """The same features for a subset of the samples."""
        return replace(self, codes=self.codes[index], values=self.values[index])

    def to(self, device: torch.device | str) -> CodedFeatures:
        return replace(self, levels=self.levels.to(device), codes=self.codes.to(device), values=self.values.to(device))


def code_features(z: torch.Tensor, *, max_levels: int = MAX_LEVELS, chunk: int = 4096) -> CodedFeatures:
    """Split standardised features into level-coded (discrete) and by-value (continuous) ones.

    Parameters
    ----------
    z : (n, P) float32 standardised features, no NaN.
    max_levels : features with at most this many distinct values are coded (<= 255).
    chunk : features sorted at a time (memory O(n * chunk)).

    Returns
    -------
    :class:`CodedFeatures` with ``levels[codes[r, j], j] == z[r, discrete[j]]`` exactly.
    """
    n, P = z.shape
    parts = []
    for start in range(0, P, chunk):
        block = z[:, start:start + chunk]
        ordered, order = block.sort(dim=0)
        rank = torch.cat([torch.zeros(1, block.shape[1], dtype=torch.long),
                          (ordered[1:] != ordered[:-1]).long().cumsum(0)])
        keep = (rank[-1] < max_levels).nonzero().flatten()
        codes = torch.empty(n, len(keep), dtype=torch.uint8).scatter_(0, order[:, keep], rank[:, keep].to(torch.uint8))
        levels = ordered[:1, keep].repeat(max_levels, 1).scatter_(0, rank[:, keep], ordered[:, keep])
        parts.append((keep + start, levels, codes))
    discrete = torch.cat([p[0] for p in parts])
    n_levels = int(max((int(p[2].max()) + 1 for p in parts if p[2].numel()), default=1))
    continuous = torch.from_numpy(np.setdiff1d(np.arange(P), discrete.numpy()))
    return CodedFeatures(discrete, torch.cat([p[1] for p in parts], dim=1)[:n_levels].contiguous(),
                         torch.cat([p[2] for p in parts], dim=1), continuous, z[:, continuous].contiguous())


class GRVSNN(nn.Module):
    """Gated residual variable selection network (see the module docstring).

    Parameters
    ----------
    n_features : P, scalar input features.
    n_traits : T, traits predicted jointly (one head each).
    width : d, units of each feature's GRN.
    hidden : units of the shared trunk layer.
    dropout : dropout rate inside each GRN (before the gated linear unit) and after the trunk.

    Buffers ``x_mean``, ``x_scale`` (P,) and ``y_mean``, ``y_scale`` (T,) hold the training
    scaling (0 and 1 until :meth:`set_scaling`).
    """

    def __init__(self, n_features: int, n_traits: int, *, width: int = 4, hidden: int = 32, dropout: float = 0.5):
        super().__init__()
        P, d = n_features, width
        self.width, self.hidden, self.dropout = d, hidden, dropout
        self.in_weight = nn.Parameter(_uniform((P, d), 1.0))
        self.in_bias = nn.Parameter(_uniform((P, d), 1.0))
        self.mid_weight = nn.Parameter(_uniform((P, d, d), d**-0.5))
        self.mid_bias = nn.Parameter(_uniform((P, d), d**-0.5))
        self.glu_weight = nn.Parameter(_uniform((P, d, 2 * d), d**-0.5))  # [h | gate]
        self.glu_bias = nn.Parameter(_uniform((P, 2 * d), d**-0.5))
        self.skip_weight = nn.Parameter(_uniform((P, d), 1.0))
        self.selection_logits = nn.Parameter(torch.zeros(P))
        self.trunk_weight = nn.Parameter(_uniform((P, d, hidden), (P * d) ** -0.5))
        self.trunk_bias = nn.Parameter(_uniform((hidden,), (P * d) ** -0.5))
        self.heads = nn.Linear(hidden, n_traits)
        self.register_buffer("x_mean", torch.zeros(P))
        self.register_buffer("x_scale", torch.ones(P))
        self.register_buffer("y_mean", torch.zeros(n_traits))
        self.register_buffer("y_scale", torch.ones(n_traits))

    @property
    def n_features(self) -> int:
        return self.selection_logits.shape[0]

    @property
    def n_traits(self) -> int:
        return self.heads.out_features

    def set_scaling(self, x_mean: np.ndarray, x_scale: np.ndarray, y_mean: np.ndarray, y_scale: np.ndarray) -> None:
        """Store the training means and scales of the features (P,) and traits (T,)."""
        for name, value in (("x_mean", x_mean), ("x_scale", x_scale), ("y_mean", y_mean), ("y_scale", y_scale)):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """(n, P) raw features -> standardised, a missing value (NaN) set to 0 (the training mean)."""
        return torch.nan_to_num((x - self.x_mean) / self.x_scale, nan=0.0)

    def standardise_traits(self, y: torch.Tensor) -> torch.Tensor:
        """(n, T) traits -> standardised units (NaN stays NaN: missing)."""
        return (y - self.y_mean) / self.y_scale

    def unstandardise(self, out: torch.Tensor) -> torch.Tensor:
        """(n, T) network output -> trait units."""
        return out * self.y_scale + self.y_mean

    def grn(self, z: torch.Tensor, features: slice | torch.Tensor | None = None) -> torch.Tensor:
        """Gated residual networks of ``features`` (default all P) on standardised values.

        z : (B, k) values of the k features (``features`` a slice or (k,) indices). Returns ẑ, (B, k, d).
        """
        take = (lambda t: t) if features is None else (lambda t: t[features])
        x = z.unsqueeze(-1)
        f = F.elu(torch.addcmul(take(self.in_bias), x, take(self.in_weight)))
        f = F.dropout(_per_feature(f, take(self.mid_weight), take(self.mid_bias)), self.dropout, self.training)
        h, gate = _per_feature(f, take(self.glu_weight), take(self.glu_bias)).chunk(2, dim=-1)
        skip = x * take(self.skip_weight)
        return F.layer_norm(torch.addcmul(skip, torch.sigmoid(gate), h - skip), (self.width,))

    def selection_weights(self) -> torch.Tensor:
        """(P,) softmax selection weights of the features (global: the same for every sample)."""
        return torch.softmax(self.selection_logits, dim=0)

    def _trunk(self, features: slice | torch.Tensor | None = None) -> torch.Tensor:
        """(k, d, hidden) trunk weights of ``features`` (default all) times their selection weights times P."""
        scale = self.n_features * self.selection_weights()
        weight = self.trunk_weight
        if features is not None:
            scale, weight = scale[features], weight[features]
        return scale[:, None, None] * weight

    def _head(self, pre: torch.Tensor) -> torch.Tensor:
        """(B, hidden) trunk pre-activation (without bias) -> (B, T) standardised traits."""
        return self.heads(F.dropout(F.elu(pre + self.trunk_bias), self.dropout, self.training))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Predict (B, T) standardised traits from (B, P) standardised features, sample by sample."""
        pre = self.grn(z).reshape(len(z), -1) @ self._trunk().reshape(-1, self.hidden)
        return self._head(pre)

    def forward_coded(self, data: CodedFeatures) -> torch.Tensor:
        """Predict (n, T) standardised traits from coded features (discrete ones evaluated per level)."""
        n = len(data)
        pre = self.trunk_bias.new_zeros(n, self.hidden)
        if len(data.discrete):
            features = _selector(data.discrete, self.n_features)
            n_levels, n_discrete = data.levels.shape
            table = self.grn(data.levels, features)  # (L, P_d, d)
            contribution = _per_feature(table, self._trunk(features))  # (L, P_d, hidden)
            index = data.codes.long() * n_discrete + torch.arange(n_discrete, device=pre.device)
            onehot = pre.new_zeros(n, n_levels * n_discrete).scatter_(1, index, 1.0)
            pre = onehot @ contribution.reshape(n_levels * n_discrete, self.hidden)
        if len(data.continuous):
            features = _selector(data.continuous, self.n_features)
            by_sample = self.grn(data.values, features).reshape(n, -1)
            pre = pre + by_sample @ self._trunk(features).reshape(-1, self.hidden)
        return self._head(pre)


def selected_features(weights: np.ndarray, threshold: float = SELECTION_THRESHOLD) -> np.ndarray:
    """Indices of the features whose selection weight is at least ``threshold`` times the largest.

    weights : (P,) selection weights (:meth:`GRVSNN.selection_weights`). Returns sorted indices.
    """
    weights = np.asarray(weights)
    return np.flatnonzero(weights >= threshold * weights.max())


def masked_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the observed entries of ``y``, each trait weighted equally.

    Per trait, the mean of the squared errors over its observed (non-NaN) entries; then the
    mean over the traits with at least one observed entry. A missing value therefore drops
    only its own term (its gradient is 0), and a trait with many missing values counts as
    much as a complete one, rather than in proportion to its observed entries.

    Parameters
    ----------
    pred : (n, T) predictions.
    y : (n, T) targets, NaN = missing.

    Returns
    -------
    Scalar tensor; 0 (still attached to ``pred``) when nothing is observed.
    """
    observed = ~torch.isnan(y)
    error = torch.where(observed, pred - torch.nan_to_num(y), 0.0)
    count = observed.sum(dim=0)
    per_trait = error.pow(2).sum(dim=0) / count.clamp(min=1)
    has = count > 0
    return per_trait[has].mean() if has.any() else pred.sum() * 0.0
