"""The SNP database: marginal validation r² of every SNP under every encoding, bins, flags.

For SNP j and encoding e, the encoded column x (missing calls set to the training mean of
x) is regressed on the phenotype by ordinary least squares on the training samples, the fit
predicts the validation samples, and

    r²[j, e] = 1 - SSE / SST   on the validation samples,

with SST around the validation mean (scikit-learn's ``r2_score``; negative when the fit
predicts worse than that mean). A column constant in training gets slope 0, as
``LinearRegression`` does. Every encoding is a function of the genotype class, so all
fits follow from per-class sample counts and phenotype sums (and, for validation, sums of
squares): three indicator matrix products per chunk of SNPs, no loop over SNPs.

The best encoding is chosen by parsimony: additive, unless the best of the other seven
fixed encodings has an r² larger by more than ``margin`` (r² units, default 3 / the number
of validation samples: the sampling noise of an r² difference shrinks as 1 / n); then
PAGER, which fits one more value per SNP, replaces that choice only if it in turn is
better by more than ``margin``. In simulations of single QTL (``bench/gpsearch.py
--encoding-power``, 500-3,000 validation samples) 3 / n names an additive QTL additive in
~90 % of SNPs against ~77 % with 1.2 / n, and non-additive QTL explaining 3 % of the
variance or more right as often (docs/benchmarks.md). Ties among fixed encodings go to the
first in :data:`~phenomap.gpsearch.encodings.ENCODINGS`. ``best_p`` is the training F-test p-value
of the slope under the best encoding. A SNP is *considered* (recommendable to pipelines)
when its best r² is positive (StarBASE-GP section III-A3) and it passes each optional
criterion given: among the ``top_fraction`` highest best r², and ``best_p < p_threshold``.
Bins are runs of ``bin_size`` consecutive SNPs by position within a chromosome, numbered
0, 1, ... across the genome in chromosome order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import f as f_distribution

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import ENCODINGS, FIXED_ENCODINGS, check_genotypes, pager_values
from phenomap.io.plink import Bfile, chrom_sort_key
from phenomap.io.tables import write_tsv

#: Columns of the SNP database table, in order.
SNPDB_COLUMNS = ["CHROM", "ID", "POS", "A1", "A2", "bin", "best_encoding", "best_r2", "best_p",
                 *(f"r2_{e}" for e in ENCODINGS), "considered"]


def check_phenotype_split(y: np.ndarray, is_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check phenotypes (n,) and the training mask (n,) bool; return them as float and bool arrays.

    Raises InputError for non-finite phenotypes, a mask of the wrong length, fewer than 3
    training or 2 validation samples, or a phenotype constant within either split.
    """
    y = np.asarray(y, dtype=float)
    is_train = np.asarray(is_train)
    if y.ndim != 1 or is_train.shape != y.shape or is_train.dtype != bool:
        raise InputError(f"phenotype ({y.shape}) and training mask ({is_train.shape}, {is_train.dtype}) "
                         "must be 1-D of the same length, the mask boolean.")
    if not np.isfinite(y).all():
        raise InputError(f"{int((~np.isfinite(y)).sum())} phenotype values are missing or infinite; "
                         "drop those samples before the search.")
    for name, part in (("training", y[is_train]), ("validation", y[~is_train])):
        if len(part) < (3 if name == "training" else 2):
            raise InputError(f"the {name} split has {len(part)} samples; give at least 3 training and 2 validation.")
        if np.ptp(part) == 0:
            raise InputError(f"the phenotype is constant ({float(part[0])!r}) in the {name} split: nothing to explain.")
    return y, is_train


def class_statistics(G: np.ndarray, y: np.ndarray, is_train: np.ndarray) -> np.ndarray:
    """Per SNP, genotype class (0, 1, 2, missing) and statistic row: shape (m, 5, 4).

    G: (n, m) 0/1/2/NaN; y: (n,) standardised phenotypes; is_train: (n,) bool.
    Rows are training count, training sum of y, validation count, sum of y and of y².
    """
    val = ~is_train
    weights = np.stack([is_train, is_train * y, val, val * y, val * y**2]).astype(float)  # (5, n)
    out = np.empty((G.shape[1], len(weights), 4))
    for g in range(3):
        out[:, :, g] = ((G == g).T.astype(float) @ weights.T)
    out[:, :, 3] = weights.sum(axis=1) - out[:, :, :3].sum(axis=2)
    return out


def marginal_r2(class_stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validation r² and training p-values (m, 9) from :func:`class_statistics` (m, 5, 4), see the module text."""
    n_train_c, sy_train_c, n_val_c, sy_val_c, syy_val_c = np.moveaxis(class_stats, 1, 0)[:, :, None, :]
    values = np.empty((class_stats.shape[0], len(ENCODINGS), 3))
    values[:, : len(FIXED_ENCODINGS)] = np.array(list(FIXED_ENCODINGS.values()))
    values[:, -1] = pager_values(class_stats[:, 0, :3], class_stats[:, 1, :3])
    n_observed = n_train_c[..., :3].sum(axis=-1, keepdims=True)
    imputed = (values * n_train_c[..., :3]).sum(axis=-1, keepdims=True) / np.maximum(n_observed, 1)
    x = np.concatenate([values, imputed], axis=-1) - imputed  # (m, 9, 4), centred on the training mean
    n_train = n_train_c.sum(axis=-1)
    y_mean = sy_train_c.sum(axis=-1) / n_train
    sxx = (n_train_c * x**2).sum(axis=-1)
    sxy = (x * sy_train_c).sum(axis=-1)
    constant = sxx <= 1e-12 * n_train
    slope = np.where(constant, 0.0, sxy / np.where(constant, 1.0, sxx))
    prediction = y_mean[..., None] + slope[..., None] * x
    sse = (syy_val_c - 2 * prediction * sy_val_c + n_val_c * prediction**2).sum(axis=-1)
    n_val = n_val_c.sum(axis=-1)
    sst = syy_val_c.sum(axis=-1) - sy_val_c.sum(axis=-1) ** 2 / n_val
    r2 = 1 - sse / sst
    syy_train = n_train - 1  # standardised with the training sd (ddof=1)
    r2_train = np.where(constant, 0.0, sxy**2 / np.where(constant, 1.0, sxx) / syy_train).clip(0, 1)
    df = n_train - 2
    f = r2_train * df / np.maximum(1 - r2_train, 1e-300)
    return r2, f_distribution.sf(f, 1, df)


def best_encoding(r2: np.ndarray, margin: float) -> np.ndarray:
    """Index into ENCODINGS (m,) of the best encoding per SNP from r² (m, 9), see the module text."""
    fixed = np.array([ENCODINGS.index(e) for e in FIXED_ENCODINGS if e != "additive"])
    best = np.full(len(r2), ENCODINGS.index("additive"))
    for candidates in (fixed, np.array([ENCODINGS.index("pager")])):
        challenger = candidates[np.argmax(r2[:, candidates], axis=1)]
        gain = r2[np.arange(len(r2)), challenger] - r2[np.arange(len(r2)), best]
        best = np.where(gain > margin, challenger, best)
    return best


def assign_bins(chrom: pd.Series, pos: np.ndarray, bin_size: int) -> np.ndarray:
    """Bin number (m,) of each SNP: ``bin_size`` consecutive SNPs by position per chromosome.

    Bins are numbered from 0 across the genome, chromosomes in :func:`chrom_sort_key` order.
    """
    if bin_size < 1:
        raise InputError(f"bin_size must be at least 1, got {bin_size}.")
    chrom = pd.Series(chrom, dtype=str).reset_index(drop=True)
    table = pd.DataFrame({"key": chrom_sort_key(chrom), "CHROM": chrom, "POS": np.asarray(pos)})
    table = table.sort_values(["key", "CHROM", "POS"], kind="stable")
    rank_in_chrom = table.groupby("CHROM", sort=False).cumcount().to_numpy()
    local = rank_in_chrom // bin_size
    starts_new = np.r_[True, (table.CHROM.to_numpy()[1:] != table.CHROM.to_numpy()[:-1]) | (np.diff(local) != 0)]
    bins = np.empty(len(table), dtype=np.int64)
    bins[table.index.to_numpy()] = np.cumsum(starts_new) - 1
    return bins


def considered(best_r2: np.ndarray, best_p: np.ndarray, *, top_fraction: float | None = None,
               p_threshold: float | None = None) -> np.ndarray:
    """Consideration flags (m,) bool, see the module text."""
    keep = best_r2 > 0
    if top_fraction is not None:
        if not 0 < top_fraction <= 1:
            raise InputError(f"top_fraction must be in (0, 1], got {top_fraction}.")
        n_top = int(np.ceil(top_fraction * len(best_r2)))
        in_top = np.zeros(len(best_r2), dtype=bool)
        in_top[np.argsort(-best_r2, kind="stable")[:n_top]] = True
        keep &= in_top
    if p_threshold is not None:
        keep &= best_p < p_threshold
    return keep


def snpdb_from_chunks(bim: pd.DataFrame, chunks: Iterable[tuple[np.ndarray, np.ndarray]], y: np.ndarray,
                      is_train: np.ndarray, *, bin_size: int, margin: float | None = None,
                      top_fraction: float | None = None, p_threshold: float | None = None) -> pd.DataFrame:
    """The SNP database from ``(variant_indices, G)`` chunks covering every row of ``bim``.

    bim: (m,) variant table with CHROM ID POS A1 A2; G: (n, k) allele counts of A1, NaN =
    missing; y: (n,) phenotypes; is_train: (n,) bool. Returns the table of
    :data:`SNPDB_COLUMNS`, one row per variant in ``bim`` order. ``margin``: see the module
    text (None: 3 / validation samples).
    """
    y, is_train = check_phenotype_split(y, is_train)
    missing = [c for c in ("CHROM", "ID", "POS", "A1", "A2") if c not in bim.columns]
    if missing:
        raise InputError(f"the variant table lacks columns {missing}; give the .bim columns CHROM ID POS A1 A2.")
    if len(bim) < 1:
        raise InputError("the SNP database needs at least 1 SNP, got 0.")
    if bim.ID.duplicated().any():
        raise InputError(f"variant ID {bim.ID[bim.ID.duplicated()].iloc[0]!r} occurs more than once.")
    y_train = y[is_train]
    y_std = (y - y_train.mean()) / y_train.std(ddof=1)
    r2 = np.full((len(bim), len(ENCODINGS)), np.nan)
    p = np.full_like(r2, np.nan)
    for index, G in chunks:
        if G.shape[0] != len(y):
            raise InputError(f"genotypes have {G.shape[0]} samples but the phenotype has {len(y)}.")
        r2[index], p[index] = marginal_r2(class_statistics(check_genotypes(G), y_std, is_train))
    if np.isnan(r2).any():
        raise InputError(f"the genotype chunks cover {int((~np.isnan(r2[:, 0])).sum())} of {len(bim)} variants.")
    best = best_encoding(r2, 3 / (~is_train).sum() if margin is None else margin)
    best_r2 = np.take_along_axis(r2, best[:, None], axis=1)[:, 0]
    best_p = np.take_along_axis(p, best[:, None], axis=1)[:, 0]
    table = bim[["CHROM", "ID", "POS", "A1", "A2"]].reset_index(drop=True).assign(
        bin=assign_bins(bim.CHROM, bim.POS.to_numpy(), bin_size),
        best_encoding=np.array(ENCODINGS)[best], best_r2=best_r2, best_p=best_p,
        **{f"r2_{e}": r2[:, i] for i, e in enumerate(ENCODINGS)},
        considered=considered(best_r2, best_p, top_fraction=top_fraction, p_threshold=p_threshold),
    )
    return table[SNPDB_COLUMNS]


def column_chunks(G: np.ndarray, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(indices, G[:, indices])`` over consecutive blocks of at most ``chunk`` columns of G (n, m)."""
    for start in range(0, G.shape[1], chunk):
        index = np.arange(start, min(start + chunk, G.shape[1]))
        yield index, G[:, index]


def build_snpdb(G: np.ndarray, y: np.ndarray, is_train: np.ndarray, bim: pd.DataFrame, *, chunk: int = 2048,
                **options) -> pd.DataFrame:
    """The SNP database of genotypes in memory: G (n, m) A1 counts (NaN = missing), bim (m,) rows.

    ``options`` are those of :func:`snpdb_from_chunks`; columns are processed ``chunk`` at a time.
    """
    G = np.asarray(G)
    if G.ndim != 2 or G.shape[1] != len(bim):
        raise InputError(f"genotypes of shape {G.shape} do not match the {len(bim)} variants of the table.")
    return snpdb_from_chunks(bim, column_chunks(G, chunk), y, is_train, **options)


def snpdb_from_bfile(bfile: str | Path, y: np.ndarray, is_train: np.ndarray, *, samples: np.ndarray | None = None,
                     chunk: int = 2048, **options) -> pd.DataFrame:
    """The SNP database of a PLINK fileset, read ``chunk`` variants at a time with bed-reader.

    samples: sorted row indices into the .fam of the phenotyped samples (default: all);
    y, is_train: (len(samples),) phenotypes and training mask in that order. ``options``
    are those of :func:`snpdb_from_chunks`.
    """
    geno = Bfile.open(bfile)
    samples = np.arange(geno.n_samples) if samples is None else np.asarray(samples)
    if len(y) != len(samples):
        raise InputError(f"{len(samples)} samples of {bfile}.fam are selected but the phenotype has {len(y)} "
                         "values; align the phenotypes to the .fam order first.")
    chunks = geno.chunks(chunk, samples=samples, progress="SNP database")
    return snpdb_from_chunks(geno.bim, chunks, y, is_train, **options)


def write_snpdb(table: pd.DataFrame, path: str | Path) -> None:
    """Write the SNP database as a TSV, atomically."""
    write_tsv(table, path)
