"""Inputs of G-P Atlas: allele-state codes, phenotypes, train/test split, phenotype scaling, features.

The same :class:`AtlasData` comes from a PLINK fileset and a phenotype table
(:func:`load_atlas_data`, the workflow) or from arrays (:func:`atlas_data`, notebooks).
Genotypes are kept as one int8 allele-state code per sample and locus (1 byte per call, so
100k loci x 10k samples is 1 GB; the network's float input is built per mini-batch):

- diploid panels: the A1 count 0, 1, 2 (three states);
- haploid panels (no heterozygous call anywhere, as PLINK stores haploid calls as 0/2, or
  only 0/1 calls): 0, 1 (two states);
- other allele-state panels (arrays only, codes 0 .. k-1 with k >= 4): k states;
- missing calls: -1. One-hot coding turns a missing call into an all-zero row (its own
  "no allele" state, which is also what feature ablation sets); dosage coding imputes the
  training mean of the locus.

Features of the linear models (:func:`linear_columns`, :func:`feature_matrix`) are the
network's one-hot columns less those that carry no information beyond the intercept: at a
locus whose training calls take exactly two values (two allele states and no missing call,
e.g. every biallelic marker of a haploid cross) the two columns are complements, and one of
them (the higher state's) is dropped.

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
    n_states : 3 for diploid panels, 2 for haploid (biallelic) ones, k for codes 0 .. k-1 (k >= 4).
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


def infer_states(genotypes, *, chunk: int = 4096) -> tuple[np.ndarray, int]:
    """Allele-state codes and their number from a genotype array.

    Parameters
    ----------
    genotypes : (n, m) array_like of int or float
        Per sample and locus: the A1 count (0, 1, 2; haploid calls 0/1 or, as PLINK writes
        them, 0/2) or an allele-state code 0 .. k-1; missing calls NaN or -1. Non-integer
        dosages are refused (G-P Atlas codes discrete allele states: use hard calls).
    chunk : int
        Loci converted at a time (memory: n x chunk float64).

    Returns
    -------
    states : (n, m) int8
        Codes 0 .. n_states-1, -1 for missing (haploid 0/2 calls recoded 0/1).
    n_states : int
        3 for a panel with heterozygous and A1A1 calls (diploid), 2 for one without either
        (haploid, biallelic), max code + 1 for codes above 2.

    Raises
    ------
    InputError
        For a non-2-D array, an empty one, non-integer values, negative codes other than -1,
        codes above 127, or no called genotype at all.
    """
    g = np.asarray(genotypes)
    if g.ndim != 2 or 0 in g.shape:
        raise InputError(f"genotypes: expected a 2-D (samples x loci) array, got shape {g.shape}.")
    if not (np.issubdtype(g.dtype, np.number) or g.dtype == bool):
        raise InputError(f"genotypes: expected numbers (A1 counts or allele states), got dtype {g.dtype}.")
    states = np.empty(g.shape, dtype=np.int8)
    top = -1
    for start in range(0, g.shape[1], chunk):  # bounded memory: float64 copies of `chunk` loci at a time
        block = g[:, start:start + chunk].astype(np.float64)
        missing = np.isnan(block) | (block == -1)
        bad = ~missing & ((block != np.round(block)) | (block < 0) | (block > 127))
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            raise InputError(
                f"genotypes: sample row {i}, locus column {start + j} holds {block[i, j]:g}; use allele states "
                "0, 1, 2, ... (or A1 counts) and NaN or -1 for a missing call (round imputed dosages to hard calls)."
            )
        states[:, start:start + chunk] = np.where(missing, -1, block)
        if not missing.all():
            top = max(top, int(block[~missing].max()))
    if top < 0:
        raise InputError("genotypes: every call is missing.")
    if top > 2:
        return states, top + 1
    return haploid_to_states(states)


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


def _trait_values(table: pd.DataFrame, samples: pd.DataFrame, traits, *, source: str) -> tuple[np.ndarray, tuple]:
    """(n_samples, T) trait values of ``samples`` (FID, IID) from a ``FID IID <trait…>`` table and the traits.

    Rows are joined on (FID, IID) (NaN for samples without a row); ``traits`` defaults to
    every non-key column. Raises InputError for an unknown trait.
    """
    names = [c for c in table.columns if c not in SAMPLE_KEYS]
    traits = tuple(names if traits is None else traits)
    unknown = [t for t in traits if t not in names]
    if unknown:
        raise InputError(f"{source}: no column {unknown[0]!r} (columns: {names}); fix `traits`.")
    row = align_samples(samples, table, source=source)
    y = np.full((len(samples), len(traits)), np.nan)
    found = row >= 0
    y[found] = table.loc[row[found], list(traits)].to_numpy(float)
    return y, traits


def _phenotyped(y: np.ndarray, traits, *, source: str) -> np.ndarray:
    """(n,) bool: samples with a value for some trait; checks the traits among them."""
    keep = ~np.isnan(y).all(axis=1)
    if (~keep).any():
        log.info("%d genotyped samples have no value for any trait and are left out", int((~keep).sum()))
    if not keep.any():
        raise InputError(f"{source}: no genotyped sample has a value for any of {list(traits)}.")
    check_trait_columns(y[keep], traits, source=source)
    return keep


def load_atlas_data(bfile: str | Path, pheno: str | Path, traits=None, *, chunk: int = 4096) -> AtlasData:
    """Read a PLINK fileset and a ``FID IID <trait…>`` table, keeping the shared samples.

    Samples are joined on (FID, IID); genotyped samples without a phenotype row, or whose
    traits are all missing, are left out and counted in the log. ``traits`` defaults to
    every phenotype column. Raises InputError for an unknown trait, a trait that is all
    missing or constant among the shared samples, or no shared sample.
    """
    geno = Bfile.open(bfile)
    table = read_sample_table(pheno, what="phenotype")
    y, traits = _trait_values(table, geno.fam, traits, source=f"phenotype file {pheno}")
    keep = _phenotyped(y, traits, source=f"phenotype file {pheno}")

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


def _id_table(ids, n: int, *, what: str, columns: list[str], default_prefix: str) -> pd.DataFrame:
    """IDs given as None (generated), a sequence of strings or a DataFrame -> DataFrame with ``columns``."""
    if ids is None:
        ids = [f"{default_prefix}{i + 1}" for i in range(n)]
    if isinstance(ids, pd.DataFrame):
        table = ids.reset_index(drop=True).copy()
    else:
        ids = np.asarray(ids, dtype=object)
        if ids.ndim != 1:
            raise InputError(f"{what}: expected a sequence of IDs or a table, got an array of shape {ids.shape}.")
        table = pd.DataFrame({columns[0]: ids})
    if len(table) != n:
        raise InputError(f"{what}: {len(table)} rows for {n} genotype {'rows' if what == 'samples' else 'columns'}.")
    return table


def sample_table(samples, n: int) -> pd.DataFrame:
    """``FID IID`` of n samples given as None (S1..Sn), (n,) IIDs (FID = IID) or a table with IID (and FID).

    Raises InputError for a wrong length, a table without IID, or duplicated IDs.
    """
    table = _id_table(samples, n, what="samples", columns=["IID"], default_prefix="S")
    if "IID" not in table.columns:
        raise InputError(f"samples: a table needs an IID column (and optionally FID); it has {list(table.columns)}.")
    if "FID" not in table.columns:
        table["FID"] = table.IID
    table = table[SAMPLE_KEYS].astype(str)
    dup = table.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"samples: FID={table.FID[i]} IID={table.IID[i]} occurs twice; sample IDs must be unique.")
    return table


def _locus_table(loci, m: int) -> pd.DataFrame:
    table = _id_table(loci, m, what="loci", columns=["ID"], default_prefix="L")
    if "ID" not in table.columns:
        raise InputError(f"loci: a table needs an ID column (and optionally CHROM POS A1 A2); it has {list(table.columns)}.")
    fill = {"CHROM": "0", "POS": 0, "A1": "0", "A2": "0"}  # PLINK's "unknown" codes
    table = table.assign(**{k: v for k, v in fill.items() if k not in table.columns})
    table = table[["CHROM", "ID", "POS", "A1", "A2"]].astype({"CHROM": str, "ID": str, "A1": str, "A2": str})
    dup = table.ID.duplicated()
    if dup.any():
        raise InputError(f"loci: ID {table.ID[int(np.flatnonzero(dup.to_numpy())[0])]!r} occurs twice; locus IDs must be unique.")
    return table


def _trait_table(phenotypes, samples: pd.DataFrame, traits) -> tuple[np.ndarray, tuple]:
    """(n, T) values of ``samples`` from a table (joined on FID/IID when it has an IID column) or an array."""
    if isinstance(phenotypes, pd.Series):
        phenotypes = phenotypes.to_frame()
    if isinstance(phenotypes, pd.DataFrame):
        values = phenotypes.reset_index(drop=True).rename(columns=str)
        keys = samples
        if "IID" in values.columns:
            keys = pd.DataFrame({"FID": values.get("FID", values.IID), "IID": values.IID}).astype(str)
            values = values.drop(columns=[c for c in SAMPLE_KEYS if c in values.columns])
        elif len(values) != len(samples):
            raise InputError(f"phenotypes: {len(values)} rows for {len(samples)} genotype rows "
                             "(or give IID (and FID) columns to join on).")
    else:
        y = np.asarray(phenotypes, dtype=float)
        y = y[:, None] if y.ndim == 1 else y
        if y.ndim != 2 or len(y) != len(samples):
            raise InputError(f"phenotypes: expected ({len(samples)}, traits) values, got shape {np.shape(phenotypes)}.")
        names = [f"trait{t + 1}" for t in range(y.shape[1])] if traits is None else [str(t) for t in traits]
        if len(names) != y.shape[1]:
            raise InputError(f"phenotypes: {y.shape[1]} columns but {len(names)} trait names.")
        values, keys, traits = pd.DataFrame(y, columns=names), samples, None
    dup = keys.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"phenotypes: FID={keys.FID.iloc[i]} IID={keys.IID.iloc[i]} has two rows.")
    try:
        values = values.astype(float)
    except (TypeError, ValueError) as err:
        raise InputError(f"phenotypes: trait columns must be numeric ({err}).") from None
    return _trait_values(pd.concat([keys.reset_index(drop=True), values], axis=1), samples, traits,
                         source="phenotypes")


def atlas_data(genotypes, phenotypes, *, samples=None, loci=None, traits=None) -> AtlasData:
    """G-P Atlas inputs from arrays: what :func:`load_atlas_data` reads from files.

    Parameters
    ----------
    genotypes : (n, m) array_like
        A1 counts or allele-state codes, NaN or -1 for a missing call (see :func:`infer_states`,
        which also infers the number of allele states).
    phenotypes : DataFrame, or (n, T) / (n,) array_like
        Trait values, NaN for missing. A DataFrame with an ``IID`` (and optionally ``FID``)
        column is joined to ``samples`` on those keys, as the workflow joins its phenotype
        file (genotyped samples without a row are left out); otherwise its rows (or the
        array's) are the genotype rows in order. Trait names: the DataFrame's other columns,
        else ``traits``, else ``trait1``, ``trait2``, ...
    samples : sequence of str or DataFrame, optional
        (n,) IIDs (FID = IID) or a table with ``IID`` and optionally ``FID``; default S1..Sn.
    loci : sequence of str or DataFrame, optional
        (m,) locus IDs or a table with ``ID`` and optionally ``CHROM POS A1 A2`` (absent ones
        get PLINK's unknown codes 0); default L1..Lm.
    traits : sequence of str, optional
        The traits to analyse (a subset of a DataFrame's columns, default all), or the
        names of an array's columns.

    Returns
    -------
    AtlasData
        The samples with a value for some trait, in genotype order.

    Raises
    ------
    InputError
        For bad genotype codes, mismatched lengths, duplicated IDs, non-numeric or unknown
        traits, no shared sample, or a trait that is all missing or constant.
    """
    states, n_states = infer_states(genotypes)
    n, m = states.shape
    samples = sample_table(samples, n)
    locus_table = _locus_table(loci, m)
    y, traits = _trait_table(phenotypes, samples, traits)
    keep = _phenotyped(y, traits, source="phenotypes")
    log.info("G-P Atlas data: %d samples x %d loci (%d allele states), %d traits",
             int(keep.sum()), m, n_states, len(traits))
    return AtlasData(states=states[keep], phenotypes=y[keep], samples=samples[keep].reset_index(drop=True),
                     loci=locus_table, traits=tuple(traits), n_states=n_states)


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


def linear_columns(states: np.ndarray, n_states: int, coding: str) -> np.ndarray:
    """Network feature columns the linear models use, chosen on the training samples' calls.

    Parameters
    ----------
    states : (n, m) int8
        Allele-state codes of the samples the linear models are fitted on (-1 = missing).
    n_states : int
        Allele states per locus.
    coding : {"onehot", "dosage"}

    Returns
    -------
    (p,) int64
        Increasing indices into the network's features (one-hot: ``locus * n_states + state``).
        Dosage: every locus. One-hot: the columns of the states present at each locus, less
        the highest present state's column where the calls take at most two values without
        missing ones (the dropped column is the complement of the other, or constant). With
        an intercept the linear span is unchanged; for the lasso the penalty is too, as the
        two complement columns' coefficients (a, b) fit only b - a and cost at least
        |b - a|, which the kept column alone attains. Columns of three or more present
        values are all kept: there the full one-hot penalty is not that of any subset.
    """
    n, m = states.shape
    if coding == "dosage":
        return np.arange(m)
    present = np.stack([(states == s).any(axis=0) for s in range(n_states)], axis=1)  # (m, k)
    complete = ~(states < 0).any(axis=0)
    reducible = complete & (present.sum(axis=1) <= 2)
    top = n_states - 1 - np.argmax(present[:, ::-1], axis=1)  # highest present state (0 if none)
    keep = present.copy()
    keep[np.flatnonzero(reducible), top[reducible]] = False
    return np.flatnonzero(keep.ravel())


def feature_matrix(states: np.ndarray, n_states: int, coding: str, columns: np.ndarray,
                   mean: np.ndarray | None = None, *, block: int = 2048) -> np.ndarray:
    """Network feature columns ``columns`` of every sample, missing dosages imputed.

    Parameters
    ----------
    states : (n, m) int8
        Allele-state codes, -1 = missing.
    n_states : int
    coding : {"onehot", "dosage"}
    columns : (p,) int
        Feature indices (one-hot: ``locus * n_states + state``; dosage: the locus).
    mean : (F,) float32, optional
        Training mean of every feature; dosage coding puts it in place of a missing call.
    block : int
        Columns built at a time (bounds the temporary memory to n x block bytes).

    Returns
    -------
    (n, p) float32
        The same values as the matching columns of :func:`encode` (one-hot: 1 where the
        sample carries the state, else 0, missing calls all 0), without building the others.
    """
    columns = np.asarray(columns, dtype=np.int64)
    out = np.empty((len(states), len(columns)), dtype=np.float32)
    for start in range(0, len(columns), block):
        cols = columns[start:start + block]
        if coding == "onehot":
            np.equal(states[:, cols // n_states], (cols % n_states).astype(np.int8), out=out[:, start:start + block],
                     casting="unsafe")
        else:
            calls = states[:, cols]
            out[:, start:start + block] = np.where(calls < 0, mean[cols].astype(np.float32), calls)
    return out


def feature_means(states: np.ndarray, n_states: int, coding: str, *, chunk: int = 4096) -> np.ndarray:
    """(F,) float64 mean of each network feature over the samples of ``states`` (n, m).

    One-hot: the share of samples carrying each state (a missing call counts as carrying
    none). Dosage: the mean called code of each locus (0 for a locus without a call).
    Computed ``chunk`` loci at a time from integer counts, so exactly.
    """
    n, m = states.shape
    if coding == "dosage":
        called = (states >= 0).sum(axis=0)
        sums = np.where(states >= 0, states, 0).sum(axis=0, dtype=np.int64)
        return np.where(called > 0, sums / np.maximum(called, 1), 0.0)
    out = np.empty((m, n_states))
    for start in range(0, m, chunk):
        block = states[:, start:start + chunk]
        for s in range(n_states):
            out[start:start + chunk, s] = (block == s).sum(axis=0)
    return (out / n).ravel()


def observed_groups(z: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    """Traits grouped by the samples where they are observed.

    ``z`` (n, T) with NaN for missing. Returns [(observed (n,) bool, [trait indices])], one
    entry per distinct pattern, in order of each pattern's first trait.
    """
    groups: dict[bytes, tuple[np.ndarray, list[int]]] = {}
    for t in range(z.shape[1]):
        observed = ~np.isnan(z[:, t])
        groups.setdefault(np.packbits(observed).tobytes(), (observed, []))[1].append(t)
    return list(groups.values())
