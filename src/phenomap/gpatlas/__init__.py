"""G-P Atlas: two-tier denoising autoencoder for genotype -> phenotype mapping.

``data`` (genotype codes, splits, phenotype scaling), ``model`` (networks, save/load),
``train`` (the two tiers), ``evaluate`` (metrics and linear baselines), ``importance``
(feature ablation) and ``vida`` (interaction scores).
"""
