"""Training of the shrinkage ensemble on simulated GWAS of the cohort's own LD blocks.

Each simulated replicate of a block contributes one row per variant: features from
:mod:`phenomap.shrinkage.features`, target β_j / SE_j. The loss is a weighted MSE whose
weights make it the per-allele-scale MSE (weight ∝ SE_j², since β̃_j = SE_j × prediction),
with ``causal_weight`` extra weight on variants whose true effect is non-zero. Each ensemble
member is trained on its own random subset of the rows, with early stopping on a held-out
set of whole (block, replicate) groups so that validation rows share no GWAS with training rows.

Uncertainty: after its mean network is trained (and frozen), each member trains a variance
network on the same rows, whose output is log σ² of a zero-mean Gaussian for the member's
residual y − μ, by the Gaussian negative log-likelihood (unweighted, early-stopped on the same
validation groups). Its minimiser is σ²(x) = E[(β/SE − μ(x))² | features x]: under the
simulation prior, the posterior variance of β/SE around the member's estimate. A separate
network (rather than a second output trained jointly) leaves the point estimate exactly as it
was; a Gaussian likelihood is enough because only the second moment is used.
:meth:`~phenomap.shrinkage.model.Ensemble.predictive` adds the members' disagreement by the
law of total variance. The posterior of a sparse prior is far from Gaussian (a spike at the
shrunk estimate plus a wide slab), so β̃ ± 1.96 SD covers more than 95 % of all variants and
fewer of the causal ones, as the exact posterior's does (``bench/shrinkage_coverage.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from phenomap.device import pick
from phenomap.io.tables import write_tsv
from phenomap.errors import InputError
from phenomap.ld.matrix import ld_scores, read_block_ld
from phenomap.logging import rule_summary
from phenomap.shrinkage.calibrate import chi2_check
from phenomap.shrinkage.features import block_features, feature_names, top_neighbours
from phenomap.shrinkage.model import Ensemble, EnsembleSpec, build_network
from phenomap.sim.training import SimulatedStats, load_simulations

log = logging.getLogger(__name__)
CHI2_FILE = "chi2_check.tsv"


@dataclass(frozen=True)
class TrainingData:
    """Stacked rows of all simulated blocks and replicates.

    X (N, 2T+4) float32 features; y (N,) float32 target β/SE; weight (N,) float32 loss
    weights (mean 1); causal (N,) bool; group (N,) int64 id of the (block, replicate).
    """

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    causal: np.ndarray
    group: np.ndarray


def training_data(blocks: list[tuple[SimulatedStats, np.ndarray]], *, top_t: int, causal_weight: float) -> TrainingData:
    """Build training rows from simulated blocks, each given as (simulations, LD matrix r)."""
    X, y, w, causal, group = [], [], [], [], []
    offset = 0
    for sims, r in blocks:
        neighbours = top_neighbours(r, top_t)
        feats = block_features(sims.beta_hat, sims.se, ld_scores(r, sims.n, adjust=False), neighbours)
        n_rep, m = sims.beta.shape
        X.append(feats.reshape(n_rep * m, -1))
        y.append((sims.beta / sims.se).ravel())
        rel = sims.se / np.median(sims.se, axis=1, keepdims=True)
        w.append((rel**2 * np.where(sims.beta != 0, causal_weight, 1.0)).ravel())
        causal.append((sims.beta != 0).ravel())
        group.append(np.repeat(np.arange(n_rep) + offset, m))
        offset += n_rep
    weight = np.concatenate(w)
    return TrainingData(
        X=np.concatenate(X).astype(np.float32),
        y=np.concatenate(y).astype(np.float32),
        weight=(weight / weight.mean()).astype(np.float32),
        causal=np.concatenate(causal),
        group=np.concatenate(group),
    )


def fit_network(
    X: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    val: np.ndarray,
    *,
    loss: str = "mse",
    architecture: str,
    dropout: float,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    device: torch.device,
    desc: str | None = None,
) -> tuple[torch.nn.Sequential, dict]:
    """Train one network on rows ``~val``, early-stopping on rows ``val``.

    ``loss="mse"``: weighted squared error of the output to y. ``loss="nll"``: the output is
    log σ² of a zero-mean Gaussian for y (a residual), and the loss the weighted negative
    log-likelihood 0.5 (log σ² + y²/σ²) (constant dropped). X must already be standardised.
    Returns the network at its best validation epoch (on the CPU) and its curve
    ``{"train": [...], "val": [...], "best_epoch": k}``.
    """
    if loss not in ("mse", "nll"):
        raise InputError(f"loss must be 'mse' or 'nll', got {loss!r}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = build_network(X.shape[1], architecture, dropout).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in (X, y, weight)]
    tr = torch.from_numpy(np.flatnonzero(~val)).to(device)
    va = torch.from_numpy(np.flatnonzero(val)).to(device)
    Xt, yt, wt = tensors

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        out = net(Xt[idx]).squeeze(1)
        if loss == "mse":
            per_row = (out - yt[idx]) ** 2
        else:
            log_var = out.clamp(min=-20.0)  # σ² >= 2e-9: keeps y²/σ² finite for residuals of ~0
            per_row = 0.5 * (log_var + yt[idx] ** 2 * torch.exp(-log_var))
        return (wt[idx] * per_row).mean()

    curve = {"train": [], "val": [], "best_epoch": 0}
    best, best_state, waited = np.inf, None, 0
    for epoch in tqdm(range(epochs), desc=desc, disable=desc is None, mininterval=5):
        net.train()
        order = tr[torch.randperm(len(tr), generator=gen).to(device)]
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2:  # batch norm needs two rows
                continue
            opt.zero_grad()
            batch_loss = loss_of(idx)
            batch_loss.backward()
            opt.step()
            total += batch_loss.item() * len(idx)
        net.eval()
        with torch.no_grad():
            val_loss = loss_of(va).item()
        curve["train"].append(total / len(tr))
        curve["val"].append(val_loss)
        if val_loss < best - 1e-7:
            best, waited, curve["best_epoch"] = val_loss, 0, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    net = net.cpu()
    net.load_state_dict(best_state)
    return net.eval(), curve


def train_ensemble(
    data: TrainingData,
    *,
    top_t: int,
    architecture: str = "2L",
    n_models: int = 10,
    subset_fraction: float = 0.8,
    validation_fraction: float = 0.2,
    dropout: float = 0.1,
    epochs: int = 50,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    patience: int = 5,
    seed: int = 0,
    device: str = "auto",
) -> Ensemble:
    """Train ``n_models`` networks, each on its own random row subset; see module docstring."""
    if not 0 < subset_fraction <= 1 or not 0 < validation_fraction < 1:
        raise InputError("shrinkage.subset_fraction must be in (0, 1] and validation_fraction in (0, 1)")
    dev = pick(device)
    rng = np.random.default_rng(seed)
    groups = np.unique(data.group)
    val_groups = rng.choice(groups, max(1, round(validation_fraction * len(groups))), replace=False)
    val = np.isin(data.group, val_groups)
    if val.all():
        raise InputError("too few simulated (block, replicate) groups to hold out a validation set")
    mean, std = data.X[~val].mean(axis=0), data.X[~val].std(axis=0)
    std[std == 0] = 1.0
    X = (data.X - mean) / std
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, n_models)]
    networks, variance_networks, curves = [], [], []
    train_rows = np.flatnonzero(~val)
    for k, member_seed in enumerate(seeds):
        member_rng = np.random.default_rng(member_seed)
        keep = np.sort(member_rng.choice(train_rows, round(subset_fraction * len(train_rows)), replace=False))
        rows = np.concatenate([keep, np.flatnonzero(val)])
        is_val = np.zeros(len(rows), dtype=bool)
        is_val[len(keep):] = True
        options = dict(architecture=architecture, dropout=dropout, epochs=epochs, batch_size=batch_size,
                       learning_rate=learning_rate, patience=patience, seed=member_seed, device=dev)
        net, curve = fit_network(X[rows], data.y[rows], data.weight[rows], is_val, loss="mse",
                                 desc=f"model {k + 1}/{n_models}", **options)
        with torch.no_grad():
            residual = data.y[rows] - net(torch.from_numpy(X[rows])).squeeze(1).numpy()
        variance_net, curve["variance"] = fit_network(
            X[rows], residual, np.ones_like(residual), is_val, loss="nll",
            desc=f"variance {k + 1}/{n_models}", **options,
        )
        log.info("model %d: best epoch %d, validation loss %.4g; variance network: best epoch %d, validation "
                 "NLL %.4g", k + 1, curve["best_epoch"], min(curve["val"]), curve["variance"]["best_epoch"],
                 min(curve["variance"]["val"]))
        networks.append(net)
        variance_networks.append(variance_net)
        curves.append(curve)
    spec = EnsembleSpec(
        architecture=architecture, top_t=top_t, features=feature_names(top_t),
        feature_mean=mean.astype(float).tolist(), feature_std=std.astype(float).tolist(),
        dropout=dropout, seeds=seeds, curves=curves,
        training=dict(rows=int(len(data.y)), validation_rows=int(val.sum()), causal_rows=int(data.causal.sum()),
                      subset_fraction=subset_fraction, epochs=epochs, batch_size=batch_size,
                      learning_rate=learning_rate, patience=patience, device=str(dev)),
    )
    return Ensemble(spec, networks, variance_networks)


def train_shrinkage(
    sim_paths: list[str | Path],
    ld_paths: list[str | Path],
    out_dir: str | Path,
    *,
    top_t: int,
    causal_weight: float = 1.0,
    threads: int = 1,
    architectures: Mapping[str, str | Path] | None = None,
    **options,
) -> Ensemble:
    """I/O layer of rule ``train_shrinkage``: simulations + per-block LD in, ensemble directory out.

    ``sim_paths[i]`` and ``ld_paths[i]`` must describe the same block (checked by variant IDs).
    ``architectures`` (trait -> table of :func:`phenomap.shrinkage.calibrate.gwas_architecture`)
    adds ``chi2_check.tsv`` to the directory: observed vs simulated per-block mean z^2 per trait.
    ``options`` are passed to :func:`train_ensemble`.
    """
    torch.set_num_threads(max(1, threads))
    sims, settings = load_simulations(sim_paths)
    blocks = []
    for sim_path, ld_path, stats in zip(sim_paths, ld_paths, sims, strict=True):
        ld = read_block_ld(ld_path)
        with np.load(sim_path) as sim:  # only the IDs of the simulation file
            if not np.array_equal(ld.ids, sim["ids"].astype(str)):
                raise InputError(f"{sim_path} and {ld_path} describe different variants: rerun simulate_training.")
        blocks.append((stats, ld.r))
    data = training_data(blocks, top_t=top_t, causal_weight=causal_weight)
    log.info("training rows: %d (%d causal) from %d blocks", len(data.y), data.causal.sum(), len(blocks))
    ensemble = train_ensemble(data, top_t=top_t, **options)
    ensemble = replace(ensemble, spec=replace(ensemble.spec, settings=[s.__dict__ for s in settings]))
    ensemble.save(out_dir)
    if architectures:
        tables = {trait: pd.read_csv(path, sep="\t") for trait, path in architectures.items()}
        write_tsv(chi2_check(tables, sims), Path(out_dir) / CHI2_FILE)
    best = [min(curve["val"]) for curve in ensemble.spec.curves]
    rule_summary(f"trained {len(best)} models on {len(data.y):,} rows from {len(blocks):,} blocks",
                 f"validation loss {np.mean(best):.4g} (mean of the models' best epochs)")
    return ensemble
