"""GRVSNN: gated residual variable selection networks for multi-task genomic prediction (Fan & Waldmann 2025).

``relationship`` (pedigree A by Henderson's method, VanRaden GRM, user-supplied matrices,
their low-rank loadings), ``model`` (the network, coded evaluation, the masked multi-trait
loss, feature selection), ``train`` (one training run with early stopping, prediction) and
``baselines`` (the linear and Bayesian methods it is compared with).
"""
