"""G-P Atlas: two-tier denoising autoencoder for genotype -> phenotype mapping.

``data`` (genotype codes from files or arrays, splits, phenotype scaling, features), ``model``
(networks, save/load), ``train`` (the two tiers), ``baselines`` (ridge, lasso path, pairwise
lasso on arrays), ``evaluate`` (metrics, baselines on their own, a model's evaluation),
``importance`` (feature ablation), ``vida`` (interaction scores) and ``fit`` (everything at
once on arrays: :func:`fit_atlas`).
"""

from phenomap.gpatlas.data import atlas_data, split_samples
from phenomap.gpatlas.evaluate import fit_baselines
from phenomap.gpatlas.fit import AtlasResult, fit_atlas
from phenomap.gpatlas.train import Settings

__all__ = ["AtlasResult", "Settings", "atlas_data", "fit_atlas", "fit_baselines", "split_samples"]
