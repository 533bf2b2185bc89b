"""Inputs of G-P Atlas: allele-state codes, phenotypes, train/test split and phenotype scaling.

Genotypes are kept as one int8 allele-state code per sample and locus (1 byte per call, so
100k loci x 10k samples is 1 GB; the network's float input is built per mini-batch):

- diploid panels: the A1 count 0, 1, 2 (three states);
- haploid panels (no heterozygous call anywhere, as PLINK stores haploid calls as 0/2, or
  only 0/1 calls): 0, 1 (two states);
- missing calls: -1. One-hot coding turns a missing call into an all-zero row (its own
  "no allele" state, which is also what feature ablation sets); dosage coding imputes the
  training mean of the locus.

Phenotypes are standardised with the mean and SD of the training split only; missing
values stay NaN and are masked out of every loss and metric.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import SAMPLE_KEYS, align_samples, read_sample_table

log = logging.getLogger(__name__)

CODINGS = ("onehot", "dosage")


@dataclass(frozen=True)
class AtlasData:
    """Genotypes and phenotypes of the samples present in both inputs.

    Attributes
    ----------
    states : (n, m) int8 allele-state codes (see the module docstring), -1 = missing.
    phenotypes : (n, T) float64 raw trait values, NaN = missing.
    samples : (n, 2) ``FID IID`` in .fam order.
    loci : (m, 5) ``CHROM ID POS A1 A2`` in .bim order.
    traits : the T trait names (phenotype columns).
    n_states : 3 for diploid panels, 2 for haploid ones.
    """

    states: np.ndarray
    phenotypes: np.ndarray
    samples: pd.DataFrame
    loci: pd.DataFrame
    traits: tuple[str, ...]
    n_states: int


def check_trait_columns(y: np.ndarray, traits, *, source: str) -> None:
    """Raise InputError for a trait column that is all missing or has zero variance.

    ``y``: (n, T) values with NaN for missing; ``source`` names the data in the message.
    """
    for t, name in enumerate(traits):
        values = y[:, t][~np.isnan(y[:, t])]
        if values.size == 0:
            raise InputError(f"{source}: trait column {name!r} has no value (all missing); drop it from `traits`.")
        if values.size < 2 or np.ptp(values) == 0:
            raise InputError(
                f"{source}: trait column {name!r} has zero variance (every value is {values[0]:g}); "
                "a constant trait cannot be predicted, drop it from `traits`."
            )


def states_from_counts(counts: np.ndarray) -> np.ndarray:
    """(n, m) A1 counts with NaN for missing -> int8 codes with -1 for missing."""
    codes = np.full(counts.shape, -1, dtype=np.int8)
    called = ~np.isnan(counts)
    codes[called] = counts[called].astype(np.int8)
    return codes


def haploid_to_states(states: np.ndarray) -> tuple[np.ndarray, int]:
    """Detect the ploidy of a panel and return ``(states, n_states)``.

    A panel with heterozygous calls (1) and homozygous A1 calls (2) is diploid (3 states);
    otherwise it is haploid and its calls are recoded 0/1 (2 states).
    """
    has_one, has_two = bool((states == 1).any()), bool((states == 2).any())
    if has_one and has_two:
        return states, 3
    if has_two:
        states = np.where(states == 2, np.int8(1), states)
    log.info("no %s call in the panel: treating it as haploid (2 allele states)", "heterozygous" if has_two else "A1A1")
    return states, 2


def load_atlas_data(bfile: str | Path, pheno: str | Path, traits=None, *, chunk: int = 4096) -> AtlasData:
    """Read a PLINK fileset and a ``FID IID <trait…>`` table, keeping the shared samples.

    Samples are joined on (FID, IID); genotyped samples without a phenotype row, or whose
    traits are all missing, are left out and counted in the log. ``traits`` defaults to
    every phenotype column. Raises InputError for an unknown trait, a trait that is all
    missing or constant among the shared samples, or no shared sample.
    """
    geno = Bfile.open(bfile)
    table = read_sample_table(pheno, what="phenotype")
    names = [c for c in table.columns if c not in SAMPLE_KEYS]
    traits = tuple(names if traits is None else traits)
    unknown = [t for t in traits if t not in names]
    if unknown:
        raise InputError(f"phenotype file {pheno}: no column {unknown[0]!r} (columns: {names}); fix `traits`.")
    row = align_samples(geno.fam, table, source=f"phenotype file {pheno}")
    y = np.full((geno.n_samples, len(traits)), np.nan)
    found = row >= 0
    y[found] = table.loc[row[found], list(traits)].to_numpy(float)
    keep = ~np.isnan(y).all(axis=1)
    if (found & ~keep).any():
        log.info("%d genotyped samples have every trait missing and are left out", int((found & ~keep).sum()))
    if not keep.any():
        raise InputError(f"phenotype file {pheno}: no genotyped sample has a value for any of {list(traits)}.")
    check_trait_columns(y[keep], traits, source=f"phenotype file {pheno}")

    samples = np.flatnonzero(keep)
    states = np.empty((len(samples), geno.n_variants), dtype=np.int8)
    for idx, counts in geno.chunks(chunk, samples=samples, progress="reading genotypes"):
        states[:, idx] = states_from_counts(counts)
    states, n_states = haploid_to_states(states)
    log.info("G-P Atlas data: %d samples x %d loci (%d allele states), %d traits",
             len(samples), geno.n_variants, n_states, len(traits))
    return AtlasData(
        states=states,
        phenotypes=y[keep],
        samples=geno.fam.loc[keep, SAMPLE_KEYS].reset_index(drop=True),
        loci=geno.bim[["CHROM", "ID", "POS", "A1", "A2"]].reset_index(drop=True),
        traits=traits,
        n_states=n_states,
    )


def split_samples(n: int, test_fraction: float, *, seed: int) -> np.ndarray:
    """Random train/test split: (n,) bool, True for the round(n * test_fraction) test samples."""
    n_test = int(round(n * test_fraction))
    if not 2 <= n_test <= n - 2:
        raise InputError(
            f"a test fraction of {test_fraction} of {n} samples leaves {n_test} test and {n - n_test} "
            "training samples; both need at least 2 (change gpatlas.test_fraction or add samples)."
        )
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(seed).choice(n, n_test, replace=False)] = True
    return is_test


def read_split(path: str | Path, samples: pd.DataFrame) -> np.ndarray:
    """User split file ``FID IID split`` (split = train | test) -> (n,) bool is-test per sample.

    Every sample of ``samples`` must be listed; extra rows are ignored (counted in the log).
    """
    table = read_sample_table(path, what="split", numeric=False)
    if "split" not in table.columns:
        raise InputError(f"split file {path} needs a column `split` (train or test) after FID IID.")
    bad = ~table.split.isin(["train", "test"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"split file {path}: row {i + 1} (IID {table.IID.iloc[i]}) has split "
                         f"{table.split.iloc[i]!r}; use train or test.")
    row = align_samples(samples, table, source=f"split file {path}")
    if (row < 0).any():
        i = int(np.flatnonzero(row < 0)[0])
        raise InputError(f"split file {path} does not list sample FID={samples.FID.iloc[i]} "
                         f"IID={samples.IID.iloc[i]}; give every analysed sample a train or test row.")
    is_test = table.split.to_numpy()[row] == "test"
    if is_test.sum() < 2 or (~is_test).sum() < 2:
        raise InputError(f"split file {path}: {int(is_test.sum())} test and {int((~is_test).sum())} "
                         "training samples; both need at least 2.")
    return is_test


@dataclass(frozen=True)
class PhenotypeScaler:
    """Per-trait standardisation fitted on the training split. mean, sd: (T,) float64."""

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, y_train: np.ndarray, traits, *, source: str = "training split") -> PhenotypeScaler:
        check_trait_columns(y_train, traits, source=source)
        return cls(np.nanmean(y_train, axis=0), np.nanstd(y_train, axis=0))

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (y - self.mean) / self.sd

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.sd + self.mean


def encode(states: torch.Tensor, coding: str, n_states: int) -> torch.Tensor:
    """Network input of int8 codes (batch, m): float32 (batch, m * n_states) or (batch, m).

    One-hot: locus j occupies columns ``j * n_states + s``; a missing call is all zeros.
    Dosage: the code as a float, NaN for missing (imputed by the model).
    """
    if coding == "onehot":
        # shift so that missing (-1) becomes class 0, then drop that class
        onehot = torch.nn.functional.one_hot(states.long() + 1, n_states + 1)[..., 1:]
        return onehot.reshape(states.shape[0], -1).float()
    if coding == "dosage":
        x = states.float()
        return x.masked_fill(states < 0, float("nan"))
    raise ValueError(f"unknown genotype coding {coding!r}; use one of {CODINGS}")
