"""Shrinkage networks and the saved ensemble (state dicts + ``ensemble.json``).

Architectures (ML-MAGES): ``2L`` = 64 → 8 hidden units, ``3L`` = 64 → 32 → 8, each hidden
layer Linear → BatchNorm → ReLU → Dropout, then a linear output; ``linear`` = the output
layer alone. Inputs are standardised with the training features' mean and SD, which are
saved with the models, so a saved ensemble is self-contained.
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
    curves: list[dict] = field(default_factory=list)
    settings: list[dict] = field(default_factory=list)
    training: dict = field(default_factory=dict)


@dataclass
class Ensemble:
    """K trained networks of one architecture plus their spec."""

    spec: EnsembleSpec
    networks: list[nn.Sequential]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every member on features X (n, F): (K, n) float64, z scale."""
        mean = np.asarray(self.spec.feature_mean, dtype=np.float32)
        std = np.asarray(self.spec.feature_std, dtype=np.float32)
        x = torch.from_numpy(((np.asarray(X, dtype=np.float32) - mean) / std).astype(np.float32))
        with torch.no_grad():
            out = [net.eval()(x).squeeze(1).double().numpy() for net in self.networks]
        return np.stack(out)

    def save(self, directory: str | Path) -> None:
        """Write ``model_{k}.pt`` state dicts and ``ensemble.json`` (written last, atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for k, net in enumerate(self.networks):
            with atomic_path(directory / f"model_{k}.pt") as tmp:
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
        spec = EnsembleSpec(**json.loads(spec_path.read_text()))
        if top_t is not None and spec.top_t != top_t:
            raise InputError(
                f"{spec_path} was trained with top_t={spec.top_t} neighbours but shrinkage.top_t is {top_t}; "
                "retrain (delete the model directory) or set shrinkage.top_t to match."
            )
        from phenomap.shrinkage.features import feature_names

        if spec.features != feature_names(spec.top_t):
            raise InputError(f"{spec_path} lists features {spec.features}, which this phenomap version does not build.")
        networks = []
        for k in range(len(spec.seeds)):
            net = build_network(len(spec.features), spec.architecture, spec.dropout)
            net.load_state_dict(torch.load(directory / f"model_{k}.pt", weights_only=True))
            networks.append(net.eval())
        return cls(spec, networks)
