"""Variable importance of a trained tier-2 network by feature ablation, and a marginal ANOVA baseline.

Ablating a feature sets it to 0 (one-hot: the sample no longer carries that allele state,
the same input as a missing call; dosage: zero A1 copies). The importance of allele state a
at locus j for trait t is the mean, over the given samples, of the squared change of the
standardised prediction of t when a is ablated (samples without a do not change, and count
as zeros). A locus's importance is the largest over its states; the all-trait version uses
the mean squared change over traits.

Only the first layer and the fixed path read the features, so ablating one feature only
shifts the first layer's pre-activations and the path's linear part by that feature's
weight column, and removes the path's product terms that contain it: every (sample, locus)
ablation is evaluated by pushing the shifted pre-activations through the rest of the
network, in chunks of loci, without building any ablated input matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats
from tqdm.auto import tqdm

from phenomap.gpatlas.data import AtlasData
from phenomap.gpatlas.model import AtlasModel
from phenomap.gpatlas.vida import vida


@dataclass(frozen=True)
class Importance:
    """Ablation importance of m loci over n samples and T traits (standardised units squared).

    Attributes
    ----------
    per_sample : (n, m) float32, mean over traits of the squared change of sample i's
        predictions when the allele state it carries at locus j is ablated (0 if missing).
    per_trait : (m, T) locus importance for each trait.
    overall : (m,) all-trait locus importance.
    best_state : (m,) allele state with the largest all-trait importance.
    """

    per_sample: np.ndarray
    per_trait: np.ndarray
    overall: np.ndarray
    best_state: np.ndarray


def _carried_feature(model: AtlasModel, states: np.ndarray, x: torch.Tensor, loci: np.ndarray):
    """For each sample and locus in ``loci``: the column, value and state of its carried feature.

    Returns (columns (n, c) long, values (n, c) float, states (n, c) long with -1 = none).
    """
    arch = model.architecture
    s = torch.as_tensor(states[:, loci]).long()
    loci_t = torch.as_tensor(loci)
    if arch.coding == "onehot":
        columns = loci_t[None, :] * arch.n_states + s.clamp(min=0)
        values = (s >= 0).float()
        return columns, values, s
    columns = loci_t[None, :].expand_as(s)
    values = torch.gather(x, 1, columns)
    return columns, values, torch.zeros_like(s)


def _unablated(model: AtlasModel, net, states: np.ndarray, device: torch.device):
    """Imputed features x (n, F), first-layer pre-activations (n, hidden), path output (n, T) or
    None, and the prediction (n, T) of samples with allele-state codes ``states`` (n, m), nothing ablated."""
    x = net.impute(model.features(states).to(device))
    z = net.prepare(x)
    base_pre = net.first(z[:, net.inputs])
    base_lin = None if net.linear is None else net.path(x, z)
    return x, base_pre, base_lin, net.head(base_pre, base_lin)


def _path_terms(net, x: torch.Tensor, first: np.ndarray, second: np.ndarray | None, per_locus: int,
                n_traits: int) -> torch.Tensor:
    """(n, len(first), T) sum of the path's product terms over samples ``x`` (n, F) imputed features.

    With ``second`` None: for each locus of ``first`` (distinct), the terms with a factor at that
    locus (what ablating the locus removes). Else, for each pair (first[q], second[q]) of
    distinct loci, the terms with one factor at each (what ablating both gives back as their
    interaction)."""
    out = x.new_zeros(len(x), len(first), n_traits)
    if net.linear is None or not len(net.pair_a):
        return out
    loci_a, loci_b = (net.pair_a // per_locus).cpu().numpy(), (net.pair_b // per_locus).cpu().numpy()
    m = len(net.feature_mean) // per_locus
    if second is None:
        position = np.full(m, -1)
        position[first] = np.arange(len(first))
        targets = [position[loci_a], position[loci_b]]
    else:
        lo, hi = np.minimum(first, second), np.maximum(first, second)
        position = dict(zip((lo * m + hi).tolist(), range(len(first))))
        key = np.minimum(loci_a, loci_b) * m + np.maximum(loci_a, loci_b)
        targets = [np.array([position.get(k, -1) for k in key.tolist()], dtype=int)]
    for where in targets:
        terms = np.flatnonzero(where >= 0)
        if terms.size:
            t = torch.as_tensor(terms, device=x.device)
            contribution = net.pair_products(x)[:, t, None] * net.pair_coef.T[t][None]  # (n, s, T)
            out.index_add_(1, torch.as_tensor(where[terms], device=x.device), contribution)
    return out


@torch.no_grad()
def ablation_importance(model: AtlasModel, states: np.ndarray, *, chunk: int = 256, sample_batch: int = 512,
                        device: torch.device = torch.device("cpu")) -> Importance:
    """Ablation importance of every locus for the samples with allele-state codes ``states`` (n, m).

    Samples are taken ``sample_batch`` and loci ``chunk`` at a time (memory ~ sample_batch x
    (features + chunk x (hidden + T)) floats).
    """
    net = model.geno.to(device).eval()
    n, m = states.shape
    n_groups = model.architecture.per_locus
    weight = net.first_weight()
    lin_weight = None if net.linear is None else net.linear.weight
    T = len(model.traits)
    per_sample = np.zeros((n, m), dtype=np.float32)
    per_state = np.zeros((m, n_groups, T))
    batches = [np.arange(i, min(i + sample_batch, n)) for i in range(0, n, sample_batch)]
    for rows in tqdm(batches, desc="ablation importance", mininterval=5):
        x, base_pre, base_lin, base = _unablated(model, net, states[rows], device)
        for start in range(0, m, chunk):
            loci = np.arange(start, min(start + chunk, m))
            columns, values, carried = _carried_feature(model, states[rows], x, loci)
            columns, values = columns.to(device), values.to(device)
            shift = weight.T[columns] * values[..., None]  # (batch, c, hidden)
            pre = (base_pre[:, None, :] - shift).reshape(-1, weight.shape[0])
            lin = None
            if lin_weight is not None:
                lin = (base_lin[:, None, :] - lin_weight.T[columns] * values[..., None]
                       - _path_terms(net, x, loci, None, n_groups, T)).reshape(-1, T)
            change = (net.head(pre, lin).reshape(len(rows), len(loci), T) - base[:, None, :]).pow(2).double().cpu()
            per_sample[np.ix_(rows, loci)] = change.mean(dim=2).float().numpy()
            onehot = torch.nn.functional.one_hot(carried + 1, n_groups + 1)[..., 1:].double()  # (batch, c, groups)
            per_state[loci] += torch.einsum("ncg,nct->cgt", onehot, change).numpy()
    per_state /= n
    overall_state = per_state.mean(axis=2)
    return Importance(
        per_sample=per_sample,
        per_trait=per_state.max(axis=1),
        overall=overall_state.max(axis=1),
        best_state=overall_state.argmax(axis=1),
    )


@torch.no_grad()
def pair_interactions(model: AtlasModel, states: np.ndarray, pairs: np.ndarray, *, batch: int = 256,
                      device: torch.device = torch.device("cpu")) -> np.ndarray:
    """Interaction of ablating two loci together, for each pair of distinct loci ``pairs`` (q, 2).

    For samples i and traits t: f(both ablated) - f(first ablated) - f(second ablated) + f(none),
    which is 0 for loci that act additively on the prediction (for a product term of the path,
    the term itself). Returns (q, T): the mean over samples of its square. Pairs are taken
    ``batch`` at a time.
    """
    net = model.geno.to(device).eval()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n, out = len(states), []
    x, base_pre, base_lin, base = _unablated(model, net, states, device)
    per_locus = model.architecture.per_locus
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        loci, index = np.unique(chunk, return_inverse=True)
        first, second = index.reshape(-1, 2).T
        columns, values, _ = _carried_feature(model, states, x, loci)
        shift = net.first_weight().T[columns.to(device)] * values.to(device)[..., None]  # (n, k, hidden)
        k, q, T = len(loci), len(chunk), base.shape[1]
        lin = None if base_lin is None else base_lin.repeat_interleave(k, dim=0)
        single = net.head((base_pre[:, None, :] - shift).reshape(-1, shift.shape[2]), lin).reshape(n, k, T)
        lin = None if base_lin is None else base_lin.repeat_interleave(q, dim=0)
        both = net.head((base_pre[:, None, :] - shift[:, first] - shift[:, second]).reshape(-1, shift.shape[2]), lin)
        interaction = both.reshape(n, q, T) - single[:, first] - single[:, second] + base[:, None, :]
        interaction += _path_terms(net, x, chunk[:, 0], chunk[:, 1], per_locus, T)
        out.append(interaction.pow(2).mean(dim=0).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.traits)))


def pairwise_interactions(model: AtlasModel, states: np.ndarray, loci: np.ndarray, *,
                          device: torch.device = torch.device("cpu")) -> np.ndarray:
    """:func:`pair_interactions` of every pair of ``loci`` (k,): (k, k, T), symmetric, zero diagonal."""
    k = len(loci)
    first, second = np.triu_indices(k, 1)
    out = np.zeros((k, k, len(model.traits)))
    out[first, second] = out[second, first] = pair_interactions(
        model, states, np.column_stack([np.asarray(loci)[first], np.asarray(loci)[second]]), device=device)
    return out


def path_pairs(model: AtlasModel) -> np.ndarray:
    """(q, 2) distinct locus pairs (lower locus first) with a product term in the model's path."""
    net = model.geno
    if net is None or net.linear is None or not len(net.pair_a):
        return np.zeros((0, 2), dtype=np.int64)
    per_locus = model.architecture.per_locus
    a, b = (net.pair_a // per_locus).cpu().numpy(), (net.pair_b // per_locus).cpu().numpy()
    return np.unique(np.column_stack([np.minimum(a, b), np.maximum(a, b)]), axis=0)


def anova_scores(states: np.ndarray, y: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
    """Marginal one-way ANOVA of each trait on each locus's allele states.

    ``states`` (n, m) int8 codes (-1 missing), ``y`` (n, T) with NaN for missing. Returns
    (m, T) -log10 p of the F test (samples missing either value left out; 0 when a locus
    has fewer than two states among them). Loci are processed ``chunk`` at a time.
    """
    n_states = int(states.max()) + 1
    out = np.zeros((states.shape[1], y.shape[1]))
    for start in range(0, states.shape[1], chunk):
        onehot = (states[:, start:start + chunk, None] == np.arange(n_states)).astype(np.float64)  # (n, c, k)
        for t in range(y.shape[1]):
            obs = ~np.isnan(y[:, t])
            g, v = onehot[obs], y[obs, t] - np.mean(y[obs, t])
            count = g.sum(axis=0)  # (c, k)
            sums = np.einsum("nck,n->ck", g, v)
            total, called_sum = count.sum(axis=1), sums.sum(axis=1)
            between = (sums**2 / np.maximum(count, 1)).sum(axis=1) - called_sum**2 / np.maximum(total, 1)
            within = np.einsum("nck,n->c", g, v**2) - (sums**2 / np.maximum(count, 1)).sum(axis=1)
            df_b = (count > 0).sum(axis=1) - 1
            df_w = total - df_b - 1
            ok = (df_b > 0) & (df_w > 0) & (within > 0)
            f = between[ok] / df_b[ok] / (within[ok] / df_w[ok])
            out[start:start + chunk][ok, t] = -stats.f.logsf(f, df_b[ok], df_w[ok]) / np.log(10)
    return out


def importance_tables(model: AtlasModel, data: AtlasData, is_test: np.ndarray, *, z_threshold: float = 2.0,
                      partner_fraction: float = 0.1, clumpiness_fraction: float = 0.05, max_loci: int = 3000,
                      top_pairs: int = 20, chunk: int = 256,
                      device: torch.device = torch.device("cpu")) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The workflow's importance outputs: ablation importance, VIDA scores and pairwise interactions.

    Parameters
    ----------
    model : AtlasModel
        Both tiers trained, on ``data``'s loci.
    data : AtlasData
    is_test : (n,) bool
        Importance, VIDA and interactions use the test samples; the ANOVA the training ones.
    z_threshold, partner_fraction, clumpiness_fraction, max_loci :
        VIDA settings (:func:`~phenomap.gpatlas.vida.vida`).
    top_pairs : int
        Interactions are measured between every pair of this many most important loci, and
        between the loci of every product term of the model's path.
    chunk : int
        Loci ablated at a time.
    device : torch.device

    Returns
    -------
    importance : DataFrame
        Per locus ``CHROM ID POS A1 A2 rank importance best_state anova_log10p importance_<trait>…``,
        by decreasing importance.
    interactions : DataFrame
        Per locus ``CHROM ID POS vida extreme_ratio_diff clumpiness_diff``, by decreasing VIDA score.
    pairs : DataFrame
        ``ID_A ID_B interaction top_trait top_trait_interaction in_path`` (``in_path``: the
        path has a product term of the two loci), by decreasing interaction.
    """
    test_states = data.states[is_test]
    imp = ablation_importance(model, test_states, chunk=chunk, device=device)
    anova = anova_scores(data.states[~is_test], data.phenotypes[~is_test])
    loci = data.loci.reset_index(drop=True)
    table = loci.assign(importance=imp.overall, best_state=imp.best_state, anova_log10p=anova.max(axis=1))
    for t, name in enumerate(data.traits):
        table[f"importance_{name}"] = imp.per_trait[:, t]
    table = table.sort_values("importance", ascending=False, kind="stable")
    table.insert(5, "rank", np.arange(1, len(table) + 1))

    scores = vida(imp.per_sample, z_threshold=z_threshold, partner_fraction=partner_fraction,
                  clumpiness_fraction=clumpiness_fraction, max_loci=max_loci, importance=imp.overall)
    interactions = loci[["CHROM", "ID", "POS"]].assign(
        vida=scores.score, extreme_ratio_diff=scores.extreme_ratio_diff, clumpiness_diff=scores.clumpiness_diff)
    interactions = interactions.sort_values("vida", ascending=False, kind="stable", na_position="last")

    top = np.argsort(-imp.overall, kind="stable")[: min(top_pairs, len(loci))]
    a, b = np.triu_indices(len(top), 1)
    in_path = path_pairs(model)
    candidates = np.unique(np.concatenate([np.sort(np.column_stack([top[a], top[b]]), axis=1), in_path]), axis=0)
    per_trait = pair_interactions(model, test_states, candidates, device=device)  # (pairs, T)
    ids = loci.ID.to_numpy()
    pairs = pd.DataFrame({
        "ID_A": ids[candidates[:, 0]], "ID_B": ids[candidates[:, 1]],
        "interaction": per_trait.mean(axis=1),
        "top_trait": np.asarray(data.traits)[per_trait.argmax(axis=1)] if len(candidates) else [],
        "top_trait_interaction": per_trait.max(axis=1) if len(candidates) else [],
        "in_path": (candidates[:, None, :] == in_path[None, :, :]).all(axis=2).any(axis=1),
    })
    return table, interactions, pairs.sort_values("interaction", ascending=False, kind="stable")
