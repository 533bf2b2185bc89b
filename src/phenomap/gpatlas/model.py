"""G-P Atlas networks and their saved form.

Tier 1 is a phenotype denoising autoencoder (encoder: traits -> hidden -> latent; decoder:
latent -> hidden -> traits, linear output). Tier 2 is a genotype encoder (features -> hidden
-> latent) feeding the tier-1 decoder; the improved variant centres the features, adds a
path from the features straight to the traits (linear terms and products of two features:
a ridge, lasso or pairwise lasso, :class:`~phenomap.gpatlas.baselines.LinearPath`) and lets
the encoder read only the loci that path uses. Hidden layers use batch
norm (momentum 0.8 in PyTorch's convention, as published) and leaky ReLU (slope 0.01).

A saved model is one ``torch.save`` file holding the state dicts plus the metadata needed to
apply it: loci (ID, A1, A2), traits, phenotype scaler, coding and architecture.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from phenomap.errors import InputError
from phenomap.gpatlas.data import PhenotypeScaler, encode
from phenomap.io.tables import atomic_path

BN_MOMENTUM = 0.8
LEAK = 0.01


def _hidden(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out, momentum=BN_MOMENTUM), nn.LeakyReLU(LEAK)]


class PhenoAutoencoder(nn.Module):
    """Tier 1: (batch, T) standardised traits -> (batch, T) reconstruction."""

    def __init__(self, n_traits: int, hidden: int, latent: int):
        super().__init__()
        self.encoder = nn.Sequential(*_hidden(n_traits, hidden), *_hidden(hidden, latent))
        self.decoder = nn.Sequential(*_hidden(latent, hidden), nn.Linear(hidden, n_traits))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(y))


class GenotypeNet(nn.Module):
    """Tier 2: (batch, F) genotype features -> (batch, T) standardised traits.

    ``decoder`` is the tier-1 decoder (a copy: fine-tuning it never touches tier 1).
    ``feature_mean`` (F,) imputes missing dosages and, when ``centre``, is subtracted from
    every input. The encoder reads the features listed in ``inputs`` (default all).
    With ``linear``, a fixed path (features -> traits: ``linear`` on the centred features
    plus ``n_pairs`` products of two imputed features, see :meth:`set_path`) is added to the
    network path, which is scaled by a per-trait ``gate`` (initially 0).
    """

    def __init__(self, n_features: int, hidden: int, latent: int, decoder: nn.Module, n_traits: int,
                 *, centre: bool, linear: bool, feature_mean: np.ndarray, inputs: np.ndarray | None = None,
                 n_pairs: int = 0):
        super().__init__()
        inputs = np.arange(n_features) if inputs is None else np.asarray(inputs)
        self.register_buffer("inputs", torch.as_tensor(inputs, dtype=torch.long))
        self.register_buffer("feature_mean", torch.as_tensor(feature_mean, dtype=torch.float32))
        self.centre = centre
        self.first = nn.Linear(len(inputs), hidden)
        self.encoder_rest = nn.Sequential(nn.BatchNorm1d(hidden, momentum=BN_MOMENTUM), nn.LeakyReLU(LEAK),
                                          *_hidden(hidden, latent))
        self.decoder = copy.deepcopy(decoder)
        self.linear = nn.Linear(n_features, n_traits) if linear else None
        self.gate = nn.Parameter(torch.zeros(n_traits)) if linear else None
        if linear:
            self.register_buffer("pair_a", torch.zeros(n_pairs, dtype=torch.long))
            self.register_buffer("pair_b", torch.zeros(n_pairs, dtype=torch.long))
            self.register_buffer("pair_centre", torch.zeros(n_pairs))
            self.register_buffer("pair_coef", torch.zeros(n_traits, n_pairs))

    @torch.no_grad()
    def set_path(self, path) -> None:
        """Make ``path`` (a :class:`~phenomap.gpatlas.baselines.LinearPath` centred on ``feature_mean``,
        or on 0 without ``centre``) the fixed path."""
        device = self.linear.weight.device
        self.linear.weight.copy_(torch.as_tensor(path.coef))
        self.linear.bias.copy_(torch.as_tensor(path.intercept))
        self.linear.requires_grad_(False)
        self.pair_a = torch.as_tensor(path.pair_a, dtype=torch.long, device=device)
        self.pair_b = torch.as_tensor(path.pair_b, dtype=torch.long, device=device)
        self.pair_centre = torch.as_tensor(path.pair_centre, dtype=torch.float32, device=device)
        self.pair_coef = torch.as_tensor(path.pair_coef, dtype=torch.float32, device=device)

    def pair_products(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, P) products of the path's feature pairs, from imputed features ``x`` (batch, F)."""
        return x[:, self.pair_a] * x[:, self.pair_b]

    def path(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(batch, T) output of the fixed path from imputed features ``x`` and prepared ones ``z``."""
        return self.linear(z) + (self.pair_products(x) - self.pair_centre) @ self.pair_coef.T

    def impute(self, x: torch.Tensor) -> torch.Tensor:
        """Missing (NaN) features replaced by their training mean."""
        return torch.where(torch.isnan(x), self.feature_mean, x)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Imputed features, centred when configured: what the first layer and the path's linear terms read."""
        x = self.impute(x)
        return x - self.feature_mean if self.centre else x

    def first_weight(self) -> torch.Tensor:
        """(hidden, F) first-layer weights over all features (zero for features not read)."""
        full = self.first.weight.new_zeros(self.first.out_features, len(self.feature_mean))
        full[:, self.inputs] = self.first.weight
        return full

    def head(self, pre_activation: torch.Tensor, linear_out: torch.Tensor | None) -> torch.Tensor:
        """Output from the first layer's pre-activations (batch, hidden) and the path's output."""
        out = self.decoder(self.encoder_rest(pre_activation))
        return out if linear_out is None else linear_out + self.gate * out

    def forward(self, x: torch.Tensor, corrupted: torch.Tensor | None = None) -> torch.Tensor:
        """Predict from features ``x``; in training, the encoder may read ``corrupted`` instead."""
        x = self.impute(x)
        z = x - self.feature_mean if self.centre else x
        encoder_in = z if corrupted is None else self.prepare(corrupted)
        return self.head(self.first(encoder_in[:, self.inputs]), None if self.linear is None else self.path(x, z))


@dataclass(frozen=True)
class Architecture:
    """What is needed to rebuild the networks of a saved model."""

    coding: str
    n_states: int
    hidden: int
    latent: int
    linear: bool
    centre: bool

    @property
    def per_locus(self) -> int:
        """Feature columns per locus: one per allele state (one-hot) or one (dosage)."""
        return self.n_states if self.coding == "onehot" else 1


@dataclass
class AtlasModel:
    """A trained (or tier-1-only) G-P Atlas model with the metadata to apply it.

    ``loci``: (m, 3) ``ID A1 A2`` the genotype features were built from, in order.
    ``geno`` is None until tier 2 is trained. ``paths``: (T,) the kind of each trait's fixed
    path (``ridge``, ``lasso``, ``pairwise``), empty without one.
    """

    architecture: Architecture
    traits: tuple[str, ...]
    loci: pd.DataFrame
    scaler: PhenotypeScaler
    pheno: PhenoAutoencoder
    geno: GenotypeNet | None = None
    paths: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        return len(self.loci) * self.architecture.per_locus

    def features(self, states: np.ndarray) -> torch.Tensor:
        """(n, m) int8 allele-state codes -> (n, F) float32 network input."""
        return encode(torch.as_tensor(states), self.architecture.coding, self.architecture.n_states)

    def check_loci(self, loci: pd.DataFrame, *, source: str) -> None:
        """Raise InputError unless ``loci`` (ID, A1, A2) are the model's loci in the model's order."""
        mine, theirs = self.loci[["ID", "A1", "A2"]], loci[["ID", "A1", "A2"]].reset_index(drop=True)
        if len(mine) != len(theirs):
            raise InputError(f"{source} has {len(theirs)} loci but the model was trained on {len(mine)}; "
                             "apply it to genotypes with exactly the training loci (same IDs, alleles, order).")
        differ = (mine.to_numpy(str) != theirs.to_numpy(str)).any(axis=1)
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            raise InputError(f"{source}: locus {i + 1} is {tuple(theirs.iloc[i])} but the model expects "
                             f"{tuple(mine.iloc[i])} (ID, A1, A2); extract and order the training loci first.")

    def check_traits(self, traits, *, source: str) -> None:
        if tuple(traits) != self.traits:
            raise InputError(f"{source} has traits {list(traits)} but the model was trained on {list(self.traits)}.")

    @torch.no_grad()
    def predict_geno(self, states: np.ndarray, *, batch: int = 1024) -> np.ndarray:
        """G->P prediction (n, T) on the original trait scale."""
        if self.geno is None:
            raise InputError("this model has only tier 1 (phenotypes); train tier 2 before predicting from genotypes.")
        self.geno.eval()
        device = next(self.geno.parameters()).device
        out = [self.geno(self.features(states[i:i + batch]).to(device)).cpu() for i in range(0, len(states), batch)]
        return self.scaler.inverse(torch.cat(out).double().numpy())

    @torch.no_grad()
    def predict_pheno(self, y: np.ndarray) -> np.ndarray:
        """P->P reconstruction (n, T) of raw traits (missing values enter as the training mean)."""
        self.pheno.eval()
        device = next(self.pheno.parameters()).device
        z = np.nan_to_num(self.scaler.transform(y), nan=0.0)
        out = self.pheno(torch.as_tensor(z, dtype=torch.float32, device=device)).cpu()
        return self.scaler.inverse(out.double().numpy())

    def save(self, path: str | Path) -> None:
        """Write the model atomically to ``path`` (a ``.pt`` file)."""
        blob = {
            "architecture": asdict(self.architecture),
            "traits": list(self.traits),
            "loci": self.loci[["ID", "A1", "A2"]].to_dict(orient="list"),
            "scaler": {"mean": self.scaler.mean.tolist(), "sd": self.scaler.sd.tolist()},
            "pheno": self.pheno.state_dict(),
            "geno": None if self.geno is None else self.geno.state_dict(),
            "paths": list(self.paths),
        }
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "cpu") -> AtlasModel:
        blob = torch.load(path, map_location=device, weights_only=True)
        arch = Architecture(**blob["architecture"])
        traits = tuple(blob["traits"])
        scaler = PhenotypeScaler(np.asarray(blob["scaler"]["mean"]), np.asarray(blob["scaler"]["sd"]))
        pheno = PhenoAutoencoder(len(traits), arch.hidden, arch.latent)
        pheno.load_state_dict(blob["pheno"])
        model = cls(arch, traits, pd.DataFrame(blob["loci"]), scaler, pheno.to(device), paths=tuple(blob.get("paths", ())))
        if blob["geno"] is not None:
            state = blob["geno"]
            if arch.linear and "pair_a" not in state:
                raise InputError(f"{path}: a G-P Atlas model saved before the paths had product terms; "
                                 "retrain tier 2 (delete the file and rerun its rule).")
            geno = GenotypeNet(model.n_features, arch.hidden, arch.latent, pheno.decoder, len(traits),
                               centre=arch.centre, linear=arch.linear, feature_mean=state["feature_mean"].cpu().numpy(),
                               inputs=state["inputs"].cpu().numpy(),
                               n_pairs=len(state["pair_a"]) if arch.linear else 0)
            geno.load_state_dict(state)
            model.geno = geno.to(device)
        return model
