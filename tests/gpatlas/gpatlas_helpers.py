"""Helpers shared by the G-P Atlas tests: a small data set with planted loci, tiny settings."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch

from phenomap.gpatlas.data import AtlasData

STRONG_LOCUS, STRONG_STATE = 7, 2  # trait1 jumps by 3 SD in samples carrying state 2 here
DOSAGE_LOCUS = 20  # trait2 grows by 1.5 SD per A1 copy here
TINY = dict(hidden=16, latent=4, batch_size=16, pheno_epochs=15, geno_epochs=40, lasso_alphas=10, lasso_folds=3)


def make_planted(n: int = 240, m: int = 30, seed: int = 3) -> AtlasData:
    """Uniform allele states at m loci; trait1 = 3 [state 2 at locus 7], trait2 = 1.5 x A1 count at locus 20,
    trait3 = trait1 + trait2; unit Gaussian noise on each; a few missing calls and phenotypes."""
    rng = np.random.default_rng(seed)
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    y1 = 3.0 * (states[:, STRONG_LOCUS] == STRONG_STATE)
    y2 = 1.5 * states[:, DOSAGE_LOCUS]
    y = np.column_stack([y1, y2, y1 + y2]) + rng.normal(size=(n, 3))
    states[rng.random(states.shape) < 0.01] = -1
    states[:, [STRONG_LOCUS, DOSAGE_LOCUS]] = np.abs(states[:, [STRONG_LOCUS, DOSAGE_LOCUS]])  # keep the signal
    y[rng.random(y.shape) < 0.02] = np.nan
    ids = [f"s{i}" for i in range(n)]
    loci = pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": np.arange(1, m + 1),
                         "A1": "A", "A2": "G"})
    return AtlasData(states, y, pd.DataFrame({"FID": ids, "IID": ids}), loci, ("trait1", "trait2", "trait3"), 3)


@contextlib.contextmanager
def one_thread():
    """Small networks train fastest on one thread (and far faster than two on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def plink_tables(n: int, m: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """.fam (samples s0..) and .bim (loci L0.., one chromosome) tables matching :func:`make_planted`."""
    ids = [f"s{i}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    bim = pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "CM": 0.0, "POS": np.arange(1, m + 1),
                        "A1": "A", "A2": "G"})
    return fam, bim


EPISTATIC_PAIR = (3, 8)  # trait1 rises by 3 SD of noise x 6 where locus 3 carries state 1 and locus 8 state 2


def make_epistatic(n: int = 400, m: int = 12, seed: int = 5) -> AtlasData:
    """Uniform allele states at m loci; trait1 = 3 [state 1 at locus 3 and state 2 at locus 8] + [state 0 at
    locus 0] + N(0, 0.5^2) (a multiplicative pair); trait2 = 1.5 x A1 count at locus 5 + N(0, 1) (additive)."""
    rng = np.random.default_rng(seed)
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    a, b = EPISTATIC_PAIR
    y1 = 3.0 * ((states[:, a] == 1) & (states[:, b] == 2)) + (states[:, 0] == 0) + 0.5 * rng.normal(size=n)
    y2 = 1.5 * states[:, 5] + rng.normal(size=n)
    ids = [f"e{i}" for i in range(n)]
    loci = pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": np.arange(1, m + 1),
                         "A1": "A", "A2": "G"})
    return AtlasData(states, np.column_stack([y1, y2]), pd.DataFrame({"FID": ids, "IID": ids}), loci,
                     ("trait1", "trait2"), 3)
