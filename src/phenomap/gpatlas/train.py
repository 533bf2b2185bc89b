"""Training of the two G-P Atlas tiers.

Tier 1 (:func:`train_pheno_tier`) fits the phenotype denoising autoencoder: Gaussian noise of
SD ``pheno_noise`` (standardised units) is added to the training traits, the loss is the MSE
against the clean traits over observed values only. Tier 2 (:func:`train_geno_tier`) fits
the genotype encoder into the tier-1 decoder: each locus of each training sample is, with
probability ``geno_noise``, given a random allele state; the decoder is frozen (and kept in
evaluation mode, so its batch-norm statistics do not move either) unless the variant
fine-tunes it at ``decoder_lr``. Both use Adam (``learning_rate``, betas (0.5, 0.999)) on
mini-batches of ``batch_size``.

Variants (:data:`VARIANTS`):

- ``faithful``: the published model. Raw (uncentred) features, frozen decoder, the tier-2
  MSE in trait units (the published model is fitted to unstandardised traits, and its penalty
  weights are relative to that loss), and the first-layer penalty as published: ``l1`` and ``l2`` times the L1 and L2 norms of the
  vector of column sums of the first-layer weights (one sum per input feature, over the
  hidden units). Note that this penalty only pulls each column's sum to zero, so it does not
  switch loci off.
- ``improved``: centred features and a fixed path chosen first, then a gated network (the
  test split is never used). Per trait, every candidate path of ``paths`` (ridge with the
  leave-one-out penalty; lasso with the K-fold-CV penalty; pairwise lasso: a second lasso on
  the lasso's loci and all their pairwise products, see :mod:`phenomap.gpatlas.baselines`) is
  fitted on all training samples, and chosen by its ``path_folds``-fold inner cross-validation
  MSE over the training samples, each refit at the full fit's penalties (a richer path only
  where it is clearly lower, by :data:`PATH_MIN_Z` standard errors). A share
  ``validation_fraction`` of the training samples is then held in for the network: the chosen
  paths are refitted without them (same penalties), and the network path (genotype encoder
  into the tier-1 decoder, fine-tuned at ``decoder_lr``) reads only the loci those paths use,
  is scaled by a per-trait gate that starts at 0, and is fitted to what the paths leave over
  on the same samples. The epoch with the lowest validation loss is kept, epoch 0 (the path
  alone) included, and only where the network clearly helps the validation samples: its
  paired per-sample gain must pass a one-sided z test at level :data:`NETWORK_ALPHA`,
  Bonferroni-corrected for the epochs looked at (z > 3.0 for 20 epochs, 3.9 for 250), as the
  best of many noisy epochs otherwise passes by chance. Without the network, the model is
  exactly the chosen ridge / lasso / pairwise lasso of each trait fitted on all training
  samples; with it, model and path keep the fit without the validation samples.

Everything random is drawn from generators seeded by ``seed``: the same settings and seed
give the same model on CPU.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.gpatlas.baselines import PAIRWISE_SCREEN_PAIRS, PATHS, LinearPath, fit_paths, mixed_path, out_of_fold
from phenomap.gpatlas.data import CODINGS, AtlasData, PhenotypeScaler, encode, feature_means
from phenomap.gpatlas.model import Architecture, AtlasModel, GenotypeNet, PhenoAutoencoder

log = logging.getLogger(__name__)

BETAS = (0.5, 0.999)
#: improved variant: an epoch's network is kept only if it lowers the validation error of the path
#: alone with this one-sided significance, Bonferroni-corrected for the number of epochs
NETWORK_ALPHA = 0.025
#: improved variant: a richer path (lasso over ridge, pairwise over both) is chosen only if it lowers
#: the cross-validation error of the best simpler one by this many standard errors of the paired difference
PATH_MIN_Z = 1.0


@dataclass(frozen=True)
class Variant:
    """Design choices that distinguish the published model from the improved one."""

    linear: bool  # paths chosen by inner CV, encoder on the loci they use, gate, early stopping
    centre: bool
    published_penalty: bool
    finetune_decoder: bool
    original_scale_loss: bool  # MSE in trait units (as published, unstandardised) rather than SD units


VARIANTS = {
    "faithful": Variant(linear=False, centre=False, published_penalty=True, finetune_decoder=False,
                        original_scale_loss=True),
    "improved": Variant(linear=True, centre=True, published_penalty=False, finetune_decoder=True,
                        original_scale_loss=False),
}


@dataclass(frozen=True)
class Settings:
    """Training settings (config ``gpatlas``); defaults follow the paper where it gives them."""

    variant: str = "improved"
    coding: str = "onehot"
    hidden: int = 32
    latent: int = 32
    batch_size: int = 16
    pheno_epochs: int = 250
    geno_epochs: int = 250
    learning_rate: float = 1e-3
    pheno_noise: float = 0.1
    geno_noise: float = 0.25
    l1: float = 0.8
    l2: float = 0.01
    decoder_lr: float = 1e-4
    validation_fraction: float = 0.15
    lasso_alphas: int = 20
    lasso_folds: int = 5
    path_folds: int = 10
    paths: tuple[str, ...] = PATHS
    screen_pairs: int = PAIRWISE_SCREEN_PAIRS

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise InputError(f"gpatlas.variant: {self.variant!r} is not one of {sorted(VARIANTS)}.")
        if self.coding not in CODINGS:
            raise InputError(f"gpatlas.coding: {self.coding!r} is not one of {list(CODINGS)}.")
        object.__setattr__(self, "paths", tuple(self.paths))
        unknown = [p for p in self.paths if p not in PATHS]
        if unknown or not self.paths:
            raise InputError(f"gpatlas.paths: {list(self.paths)} must be a non-empty subset of {list(PATHS)}.")
        if self.screen_pairs < 0:
            raise InputError(f"gpatlas.screen_pairs = {self.screen_pairs}: give 0 (no screen) or more pairs.")
        if not 0 <= self.validation_fraction < 1:
            raise InputError(f"gpatlas.validation_fraction = {self.validation_fraction}: set it in [0, 1).")
        if self.design.linear and len(self.paths) > 1 and self.path_folds < 2:
            raise InputError(f"gpatlas.path_folds = {self.path_folds}: choosing among the paths {list(self.paths)} "
                             "needs at least 2 folds; raise it or give one path.")

    @property
    def design(self) -> Variant:
        return VARIANTS[self.variant]


def _batches(n: int, size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a last batch of one sample joins the previous (batch norm needs 2)."""
    batches = list(torch.randperm(n, generator=gen).split(size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2] = torch.cat(batches[-2:])
        batches.pop()
    return batches


def masked_mse(pred: torch.Tensor, target: torch.Tensor, observed: torch.Tensor,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over observed entries (``observed``: bool mask like ``target``);
    ``weight`` (T,) scales each trait's squared errors."""
    sq = torch.where(observed, pred - target, torch.zeros_like(pred)).pow(2)
    return (sq if weight is None else sq * weight).sum() / observed.sum().clamp(min=1)


def per_sample_mse(pred: torch.Tensor, target: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """(batch,) mean squared error of each sample over its observed traits."""
    sq = torch.where(observed, pred - target, torch.zeros_like(pred)).pow(2)
    return sq.sum(dim=1) / observed.sum(dim=1).clamp(min=1)


def _standardised(data: AtlasData, scaler: PhenotypeScaler, device) -> tuple[torch.Tensor, torch.Tensor]:
    z = scaler.transform(data.phenotypes)
    observed = torch.as_tensor(~np.isnan(z), device=device)
    return torch.as_tensor(np.nan_to_num(z), dtype=torch.float32, device=device), observed


def _evaluate(net, inputs, target, observed) -> float:
    net.eval()
    with torch.no_grad():
        loss = float(masked_mse(net(inputs), target, observed))
    net.train()
    return loss


def train_pheno_tier(data: AtlasData, is_test: np.ndarray, settings: Settings, *, seed: int,
                     device: torch.device = torch.device("cpu")) -> tuple[AtlasModel, pd.DataFrame]:
    """Fit tier 1 on the training samples; return the model and its curve.

    The curve has one row per epoch: ``tier epoch train_loss validation_loss test_loss seconds``
    (MSE in standardised units; validation is NaN in tier 1; the test loss is reported only,
    never used for fitting).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train = ~is_test
    scaler = PhenotypeScaler.fit(data.phenotypes[train], data.traits)
    y, observed = _standardised(data, scaler, device)
    arch = Architecture(settings.coding, data.n_states, settings.hidden, settings.latent,
                        settings.design.linear, settings.design.centre)
    net = PhenoAutoencoder(len(data.traits), settings.hidden, settings.latent).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.learning_rate, betas=BETAS)
    tr, te = torch.as_tensor(np.flatnonzero(train)), torch.as_tensor(np.flatnonzero(is_test), device=device)
    rows = []
    for epoch in tqdm(range(1, settings.pheno_epochs + 1), desc="tier 1 (phenotypes)", mininterval=5):
        start, total = time.perf_counter(), 0.0
        for batch in _batches(len(tr), settings.batch_size, gen):
            idx = tr[batch].to(device)
            noise = torch.randn(len(idx), y.shape[1], generator=gen).to(device) * settings.pheno_noise
            loss = masked_mse(net(y[idx] + noise), y[idx], observed[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        test_loss = _evaluate(net, y[te], y[te], observed[te])
        rows.append(("pheno", epoch, total / len(tr), float("nan"), test_loss, time.perf_counter() - start))
    net.eval()
    model = AtlasModel(arch, data.traits, data.loci[["ID", "A1", "A2"]], scaler, net)
    curve = pd.DataFrame(rows, columns=["tier", "epoch", "train_loss", "validation_loss", "test_loss", "seconds"])
    log.info("tier 1: final train MSE %.4f, test MSE %.4f", curve.train_loss.iloc[-1], curve.test_loss.iloc[-1])
    return model, curve


def corrupt_states(states: torch.Tensor, probability: float, n_states: int, gen: torch.Generator) -> torch.Tensor:
    """Give each call, with ``probability``, a uniformly random allele state (int8 codes)."""
    flip = torch.rand(states.shape, generator=gen) < probability
    random_state = torch.randint(0, n_states, states.shape, generator=gen, dtype=torch.int8)
    return torch.where(flip, random_state, states)


def published_penalty(net: GenotypeNet, l1: float, l2: float) -> torch.Tensor:
    """l1 * ||s||_1 + l2 * ||s||_2 with s the per-feature column sums of the first layer."""
    column_sums = net.first.weight.sum(dim=0)
    return l1 * column_sums.abs().sum() + l2 * column_sums.norm()


def selected_features(path: LinearPath, per_locus: int) -> np.ndarray:
    """Indices of every feature of the loci ``path`` uses for some trait (linear or product terms)."""
    used = np.zeros(len(path.centre) // per_locus, bool)
    used[path.used // per_locus] = True
    return (np.flatnonzero(used)[:, None] * per_locus + np.arange(per_locus)).ravel()


def richer_choice(sq: np.ndarray, min_z: float = PATH_MIN_Z) -> np.ndarray:
    """Per trait, the index of the chosen path from squared errors ``sq`` (K paths, n samples, T), NaN =
    not observed; paths simplest first. A richer path replaces the current choice only if its mean
    paired gain exceeds ``min_z`` standard errors of it. Returns (T,) int."""
    chosen = np.zeros(sq.shape[2], dtype=int)
    for t in range(sq.shape[2]):
        seen = ~np.isnan(sq[0, :, t])
        for k in range(1, len(sq)):
            gain = sq[chosen[t], seen, t] - sq[k, seen, t]
            if gain.mean() > min_z * gain.std() / np.sqrt(max(1, seen.sum())):
                chosen[t] = k
    return chosen


def choose_paths(model: AtlasModel, data: AtlasData, train_rows: np.ndarray, settings: Settings, *,
                 mean: np.ndarray, seed: int) -> tuple[dict[str, LinearPath], tuple[str, ...]]:
    """Fit the candidate paths on ``train_rows`` and choose one per trait by inner cross-validation.

    Each candidate's out-of-fold predictions (:func:`~phenomap.gpatlas.baselines.out_of_fold`,
    ``settings.path_folds`` folds, at the penalties of its fit on all ``train_rows``) give every
    training sample's squared error; :func:`richer_choice` picks the path. With one candidate, it.

    Returns the fitted paths (centred on ``mean`` (F,)) by kind and the (T,) chosen kinds.
    """
    arch = model.architecture
    z = model.scaler.transform(data.phenotypes[train_rows])
    states = data.states[train_rows]
    paths = fit_paths(states, data.n_states, arch.coding, z, mean=mean, kinds=settings.paths,
                      n_alphas=settings.lasso_alphas, folds=settings.lasso_folds, seed=seed, traits=model.traits,
                      screen_pairs=settings.screen_pairs)
    kinds = list(paths)
    if len(kinds) == 1:
        return paths, (kinds[0],) * len(model.traits)
    oof = out_of_fold(states, data.n_states, arch.coding, z, paths, mean=mean, folds=settings.path_folds, seed=seed,
                      screen_pairs=settings.screen_pairs)
    sq = np.stack([(oof[kind] - z) ** 2 for kind in kinds])
    chosen = tuple(kinds[k] for k in richer_choice(sq))
    errors = np.nanmean(sq, axis=1)
    for t, name in enumerate(model.traits):
        log.info("path of %s: %s (%d-fold CV MSE %s)", name, chosen[t], settings.path_folds,
                 ", ".join(f"{kind} {errors[k, t]:.4f}" for k, kind in enumerate(kinds)))
    return paths, chosen


def build_geno_net(model: AtlasModel, path: LinearPath | None, *, mean: np.ndarray) -> GenotypeNet:
    """A tier-2 network for ``model`` over features with training means ``mean`` (F,); with a path, the
    encoder reads only the loci it uses (all if none)."""
    arch = model.architecture
    if path is None:
        return GenotypeNet(model.n_features, arch.hidden, arch.latent, model.pheno.decoder, len(model.traits),
                           centre=arch.centre, linear=False, feature_mean=mean)
    inputs = selected_features(path, arch.per_locus)
    log.info("path: %d of %d loci used", len(inputs) // arch.per_locus, len(model.loci))
    if inputs.size == 0:
        inputs = np.arange(model.n_features)  # nothing selected: let the encoder see everything
    net = GenotypeNet(model.n_features, arch.hidden, arch.latent, model.pheno.decoder, len(model.traits),
                      centre=arch.centre, linear=True, feature_mean=mean, inputs=inputs)
    net.set_path(path)
    return net


def train_geno_tier(model: AtlasModel, data: AtlasData, is_test: np.ndarray, settings: Settings, *, seed: int,
                    device: torch.device = torch.device("cpu")) -> pd.DataFrame:
    """Fit tier 2 into ``model`` (sets ``model.geno``); return its curve.

    The curve has one row per epoch (epoch 0: before training) with ``tier epoch train_loss
    validation_loss test_loss seconds kept``; the validation loss is NaN without a validation
    split (faithful variant); ``kept`` marks the epoch whose state the model keeps. Raises InputError when ``data`` has other loci or traits
    than the tier-1 model.
    """
    model.check_loci(data.loci, source="genotypes")
    model.check_traits(data.traits, source="phenotypes")
    design = settings.design
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_rows = np.flatnonzero(~is_test)
    valid_rows = np.array([], dtype=int)
    if design.linear and settings.validation_fraction > 0:
        n_valid = max(2, int(round(len(train_rows) * settings.validation_fraction)))
        valid_rows = np.sort(rng.choice(train_rows, n_valid, replace=False))
    fit_rows = np.setdiff1d(train_rows, valid_rows)

    mean = feature_means(data.states[train_rows], data.n_states, model.architecture.coding)
    path, full_path, chosen = None, None, ()
    if design.linear:
        paths, chosen = choose_paths(model, data, train_rows, settings, mean=mean, seed=seed)
        full_path = path = mixed_path(paths, chosen)
        if len(valid_rows):  # the network's paths leave out its validation samples (same penalties)
            fit_z = model.scaler.transform(data.phenotypes[fit_rows])
            path = mixed_path(fit_paths(data.states[fit_rows], data.n_states, model.architecture.coding, fit_z,
                                        mean=mean, kinds=tuple(k for k in paths if k in chosen),
                                        penalties={kind: p.alpha for kind, p in paths.items()},
                                        screen_pairs=settings.screen_pairs), chosen)
    net = build_geno_net(model, path, mean=mean).to(device)
    finetune = design.finetune_decoder and settings.decoder_lr > 0
    net.decoder.requires_grad_(finetune)
    groups = [{"params": [p for name, p in net.named_parameters() if p.requires_grad and not name.startswith("decoder.")]}]
    if finetune:
        groups.append({"params": list(net.decoder.parameters()), "lr": settings.decoder_lr})
    optimiser = torch.optim.Adam(groups, lr=settings.learning_rate, betas=BETAS)

    y, observed = _standardised(data, model.scaler, device)
    weight = torch.as_tensor(model.scaler.sd**2, dtype=torch.float32, device=device) if design.original_scale_loss else None
    states = torch.as_tensor(data.states)
    held = {"validation": valid_rows, "test": np.flatnonzero(is_test)}

    @torch.no_grad()
    def held_errors(name: str, batch: int = 512) -> torch.Tensor:
        """Per-sample MSE (standardised units) of the held-out set ``name`` (empty if there is none)."""
        net.eval()
        errors = [torch.empty(0)]
        for start in range(0, len(held[name]), batch):
            rows = torch.as_tensor(held[name][start:start + batch], device=device)
            x = model.features(data.states[held[name][start:start + batch]]).to(device)
            errors.append(per_sample_mse(net(x), y[rows], observed[rows]).cpu())
        return torch.cat(errors)

    def set_modes() -> None:
        net.train()
        if not finetune:
            net.decoder.eval()

    linear_only = held_errors("validation")
    rows = [("geno", 0, float("nan"), float(linear_only.mean()) if len(linear_only) else float("nan"),
             float(held_errors("test").mean()), 0.0)]
    best = (rows[0][3], 0, copy.deepcopy(net.state_dict()))
    min_z = stats.norm.isf(NETWORK_ALPHA / max(1, settings.geno_epochs))
    fit = torch.as_tensor(fit_rows)
    for epoch in tqdm(range(1, settings.geno_epochs + 1), desc="tier 2 (genotypes)", mininterval=5):
        start, total = time.perf_counter(), 0.0
        set_modes()
        for batch in _batches(len(fit), settings.batch_size, gen):
            idx = fit[batch]
            noisy = corrupt_states(states[idx], settings.geno_noise, data.n_states, gen)
            x = encode(noisy, model.architecture.coding, data.n_states).to(device)
            if design.linear:  # the fixed linear path reads the clean genotypes, the encoder the corrupted ones
                out = net(encode(states[idx], model.architecture.coding, data.n_states).to(device), x)
            else:
                out = net(x)
            target, seen = y[idx.to(device)], observed[idx.to(device)]
            loss = masked_mse(out, target, seen, weight)
            if design.published_penalty:
                loss = loss + published_penalty(net, settings.l1, settings.l2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += masked_mse(out.detach(), target, seen).item() * len(idx)
        valid = held_errors("validation")
        rows.append(("geno", epoch, total / len(fit), float(valid.mean()) if len(valid) else float("nan"),
                     float(held_errors("test").mean()), time.perf_counter() - start))
        if len(valid) > 1:
            gain = linear_only - valid
            clear = gain.mean() > min_z * gain.std() / np.sqrt(len(gain))
            if clear and rows[-1][3] < best[0]:
                best = (rows[-1][3], epoch, copy.deepcopy(net.state_dict()))
    kept = settings.geno_epochs
    if len(valid_rows):
        _, kept, state = best
        net.load_state_dict(state)
        log.info("tier 2: kept epoch %d (0 = the path alone), validation MSE %.4f", kept, best[0])
        if kept == 0 and full_path is not None:  # the path alone: the chosen paths fitted on every training sample
            net.set_path(full_path)
    net.eval()
    model.geno = net
    model.paths = chosen
    curve = pd.DataFrame(rows, columns=["tier", "epoch", "train_loss", "validation_loss", "test_loss", "seconds"])
    curve["kept"] = curve.epoch == kept
    log.info("tier 2 (%s): final train MSE %.4f, test MSE %.4f", settings.variant,
             curve.train_loss.iloc[-1], curve.test_loss[curve.kept].iloc[0])
    return curve
