"""Shrinkage networks and the saved ensemble (state dicts + ``ensemble.json``).

Architectures (ML-MAGES): ``2L`` = 64 → 8 hidden units, ``3L`` = 64 → 32 → 8, each hidden
layer Linear → BatchNorm → ReLU → Dropout, then a linear output; ``linear`` = the output
layer alone. Inputs are standardised with the training features' mean and SD, which are
saved with the models, so a saved ensemble is self-contained.

Each member is a pair: a mean network predicting β_j/SE_j and a variance network of the same
architecture predicting log σ²_j, the log of the mean squared error of that member's prediction
given the features (see :mod:`phenomap.shrinkage.train`). :meth:`Ensemble.predictive` combines
the K members as an equal-weight mixture, by the law of total variance:
mean = (1/K) Σ μ_k, variance = (1/K) Σ σ²_k + (1/K) Σ (μ_k − mean)². Ensembles saved before the
variance networks existed do not load (they must be retrained).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from phenomap.errors import InputError
from phenomap.io.tables import atomic_path

HIDDEN = {"2L": (64, 8), "3L": (64, 32, 8), "linear": ()}
SPEC_FILE = "ensemble.json"
PREDICTIVE_SD = (
    "sqrt(mean over members of the variance network's sigma^2 + variance of the members' means), "
    "z scale; multiply by SE for per-allele SDs"
)


def build_network(n_features: int, architecture: str, dropout: float) -> nn.Sequential:
    """A fresh (untrained) network; ``architecture`` in :data:`HIDDEN`."""
    if architecture not in HIDDEN:
        raise InputError(f"shrinkage.architecture must be one of {list(HIDDEN)}, got {architecture!r}")
    layers: list[nn.Module] = []
    width = n_features
    for units in HIDDEN[architecture]:
        layers += [nn.Linear(width, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class EnsembleSpec:
    """Everything needed to rebuild and apply a trained ensemble (saved as ``ensemble.json``)."""

    architecture: str
    top_t: int
    features: list[str]
    feature_mean: list[float]
    feature_std: list[float]
    dropout: float
    seeds: list[int]
    target: str = "beta / se (z scale); multiply by SE for per-allele effects"
    predictive_sd: str = PREDICTIVE_SD
    curves: list[dict] = field(default_factory=list)
    settings: list[dict] = field(default_factory=list)
    training: dict = field(default_factory=dict)


@dataclass
class Ensemble:
    """K trained (mean, variance) network pairs of one architecture plus their spec."""

    spec: EnsembleSpec
    networks: list[nn.Sequential]
    variance_networks: list[nn.Sequential]

    def _outputs(self, networks: list[nn.Sequential], X: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.spec.feature_mean, dtype=np.float32)
        std = np.asarray(self.spec.feature_std, dtype=np.float32)
        x = torch.from_numpy(((np.asarray(X, dtype=np.float32) - mean) / std).astype(np.float32))
        with torch.no_grad():
            return np.stack([net.eval()(x).squeeze(1).double().numpy() for net in networks])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Mean predictions of every member on features X (n, F): (K, n) float64, z scale."""
        return self._outputs(self.networks, X)

    def predict_variance(self, X: np.ndarray) -> np.ndarray:
        """Each member's predictive variance σ²_k on features X (n, F): (K, n) float64, z² scale."""
        return np.exp(self._outputs(self.variance_networks, X))

    def predictive(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mixture mean and SD of the members on features X (n, F): two (n,) arrays, z scale."""
        means = self.predict(X)
        variance = self.predict_variance(X).mean(axis=0) + means.var(axis=0)
        return means.mean(axis=0), np.sqrt(variance)

    def save(self, directory: str | Path) -> None:
        """Write ``model_{k}.pt``, ``variance_{k}.pt`` state dicts and ``ensemble.json`` (last, atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for kind, networks in (("model", self.networks), ("variance", self.variance_networks)):
            for k, net in enumerate(networks):
                with atomic_path(directory / f"{kind}_{k}.pt") as tmp:
                    torch.save(net.state_dict(), tmp)
        with atomic_path(directory / SPEC_FILE) as tmp:
            tmp.write_text(json.dumps(asdict(self.spec), indent=1))

    @classmethod
    def load(cls, directory: str | Path, *, top_t: int | None = None) -> Ensemble:
        """Load a saved ensemble; with ``top_t``, check it matches the feature set in use."""
        directory = Path(directory)
        spec_path = directory / SPEC_FILE
        if not spec_path.is_file():
            raise InputError(f"{directory} holds no {SPEC_FILE}: not a trained shrinkage ensemble.")
        fields = json.loads(spec_path.read_text())
        if fields.get("predictive_sd") != PREDICTIVE_SD:
            raise InputError(
                f"{spec_path} was trained by an older phenomap whose ensembles have no variance networks "
                "(BETA_SHRUNK_SD was the spread across members, not a predictive SD): retrain it "
                "(delete the model directory and rerun the workflow)."
            )
        spec = EnsembleSpec(**fields)
        if top_t is not None and spec.top_t != top_t:
            raise InputError(
                f"{spec_path} was trained with top_t={spec.top_t} neighbours but shrinkage.top_t is {top_t}; "
                "retrain (delete the model directory) or set shrinkage.top_t to match."
            )
        from phenomap.shrinkage.features import feature_names

        if spec.features != feature_names(spec.top_t):
            raise InputError(f"{spec_path} lists features {spec.features}, which this phenomap version does not build.")
        def load_networks(kind: str) -> list[nn.Sequential]:
            networks = []
            for k in range(len(spec.seeds)):
                net = build_network(len(spec.features), spec.architecture, spec.dropout)
                net.load_state_dict(torch.load(directory / f"{kind}_{k}.pt", weights_only=True))
                networks.append(net.eval())
            return networks

        return cls(spec, load_networks("model"), load_networks("variance"))
