"""Seed offsets of the workflow's stochastic rules: each draws from ``config['seed']`` + its offset.

Kept in the library so that benchmarks reproduce a rule's draws exactly.
"""

SEED_OFFSETS = {
    "toy_cohort": 0, "simulate_training": 1000, "train_shrinkage": 2000, "shrink": 3000, "gpatlas": 4000,
    "cluster": 5000, "grvsnn": 6000,
    "gpsearch": 7000, "gene_null": 8000,
}
