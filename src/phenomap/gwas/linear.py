"""Per-variant linear regression with covariates, exact on each variant's complete cases.

For variant j the model is ``y = Z a + x_j b + e`` fitted on the samples whose genotype at j
is observed (as plink2 ``--glm`` does), where Z holds an intercept and the covariates.
The Frisch–Waugh–Lovell theorem gives ``b = x'M y / x'M x`` with ``M`` the projection off
Z on those samples. All cross-products are taken once over all samples; the few samples
missing at a variant are then *subtracted* through a sparse missingness matrix, so
complete-case handling costs O(missing calls × k²) on top of one dense ``Z'X`` product per
chunk, instead of a separate regression per missingness pattern.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import align_samples, read_sample_table, write_tsv

log = logging.getLogger(__name__)

SUMSTATS_COLUMNS = ["CHROM", "POS", "ID", "A1", "A2", "A1_FREQ", "N", "BETA", "SE", "Z", "P"]


@dataclass(frozen=True)
class Association:
    """Per-variant results, each (m,) float64; NaN where the variant cannot be tested.

    ``beta`` is the effect per copy of A1 in trait units, ``t`` the t statistic with
    ``n - k - 1`` degrees of freedom (k = columns of Z), ``p`` its two-sided p-value,
    ``n`` the complete cases used and ``a1_freq`` the A1 frequency among them.
    """

    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    n: np.ndarray
    a1_freq: np.ndarray


def design_matrix(covariates: np.ndarray | None, n: int, *, names: list[str] | None = None) -> np.ndarray:
    """Intercept plus centred covariates, (n, k) float64.

    Raises InputError when a covariate is constant or the covariates are collinear
    (rank-deficient), naming the covariate(s).
    """
    if covariates is None or covariates.shape[1] == 0:
        return np.ones((n, 1))
    C = np.asarray(covariates, dtype=np.float64)
    names = names or [f"covariate {i + 1}" for i in range(C.shape[1])]
    constant = [nm for nm, sd in zip(names, C.std(axis=0)) if sd == 0]
    if constant:
        raise InputError(f"covariate(s) {constant} are constant over the analysed samples; drop them.")
    Z = np.column_stack([np.ones(n), C - C.mean(axis=0)])
    if np.linalg.matrix_rank(Z) < Z.shape[1]:
        raise InputError(
            f"covariates {names} are collinear (the design matrix is rank-deficient); "
            "drop the redundant ones (e.g. a PC that duplicates another column)."
        )
    return Z


def linear_association(G: np.ndarray, y: np.ndarray, Z: np.ndarray) -> Association:
    """Regress ``y`` on each column of ``G`` with covariates ``Z``, complete cases per variant.

    Parameters
    ----------
    G : (n, m) allele counts (any float dtype), NaN = missing call.
    y : (n,) trait values, no NaN (drop samples with a missing trait beforehand).
    Z : (n, k) design of the covariates, including the intercept column.

    Returns
    -------
    Association with (m,) arrays; a variant with no variance among its complete cases,
    or with ``n - k - 1 < 1``, gets NaN statistics.
    """
    n, m = G.shape
    k = Z.shape[1]
    y = np.asarray(y, dtype=np.float64)
    y = y - y.mean()  # the intercept absorbs the shift; improves conditioning
    missing = np.isnan(G)
    X = np.where(missing, 0.0, G).astype(np.float64)

    # full-sample cross-products
    ZtX = Z.T @ X  # (k, m)
    Xty = X.T @ y  # (m,)
    XtX = np.einsum("ij,ij->j", X, X)
    ZtZ, Zty, yty = Z.T @ Z, Z.T @ y, y @ y

    # subtract the samples missing at each variant (sparse: few missing calls)
    S = sp.csc_array(missing.astype(np.float64))
    ZZ = (Z[:, :, None] * Z[:, None, :]).reshape(n, k * k)
    A = ZtZ[None] - (S.T @ ZZ).reshape(m, k, k)  # (m, k, k) = Z_S'Z_S
    b = Zty[None] - S.T @ (Z * y[:, None])  # (m, k)    = Z_S'y_S
    yy = yty - S.T @ (y * y)  # (m,)      = y_S'y_S
    n_obs = n - S.sum(axis=0)

    sol = np.linalg.solve(A, np.stack([ZtX.T, b], axis=2))  # (m, k, 2)
    xMx = XtX - np.einsum("mk,mk->m", ZtX.T, sol[:, :, 0])
    xMy = Xty - np.einsum("mk,mk->m", ZtX.T, sol[:, :, 1])
    yMy = yy - np.einsum("mk,mk->m", b, sol[:, :, 1])

    df = n_obs - k - 1
    testable = (xMx > 1e-8 * np.maximum(XtX, 1.0)) & (df >= 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(testable, xMy / xMx, np.nan)
        rss = np.maximum(yMy - beta * xMy, 0.0)
        se = np.sqrt(rss / df / xMx)
        t = beta / se
        p = 2.0 * stats.t.sf(np.abs(t), np.where(testable, df, 1))
        freq = X.sum(axis=0) / (2.0 * n_obs)
    se[~testable] = np.nan
    p[~testable] = np.nan
    return Association(beta=beta, se=se, t=t, p=p, n=n_obs.astype(np.float64), a1_freq=freq)


@dataclass(frozen=True)
class TraitData:
    """A trait aligned to the genotypes: ``samples`` index the .fam rows used, y and Z match."""

    samples: np.ndarray
    y: np.ndarray
    Z: np.ndarray
    covariate_names: list[str]


def load_trait(
    bfile: Bfile, pheno: str | Path, trait: str, *, covar: str | Path | None = None, covariates: list[str] | None = None
) -> TraitData:
    """Join phenotype and covariates to the genotyped samples on (FID, IID).

    Samples with a missing trait or any missing covariate are excluded (counts logged).
    ``covariates=None`` uses every column of ``covar``. Raises InputError for an unknown
    trait or covariate column, no shared samples, or a trait with fewer than 3 values.
    """
    ph = read_sample_table(pheno, what="phenotype")
    if trait not in ph.columns:
        raise InputError(f"phenotype file {pheno} has no column {trait!r}; columns: {list(ph.columns[2:])}.")
    rows = align_samples(bfile.fam, ph, source=f"phenotype file {pheno}")
    y = np.where(rows >= 0, ph[trait].to_numpy()[np.maximum(rows, 0)], np.nan)
    C = np.empty((bfile.n_samples, 0))
    names: list[str] = []
    if covar is not None:
        cv = read_sample_table(covar, what="covariate")
        names = list(cv.columns[2:]) if covariates is None else list(covariates)
        unknown = sorted(set(names) - set(cv.columns[2:]))
        if unknown:
            raise InputError(f"covariate file {covar} lacks {unknown}; columns: {list(cv.columns[2:])}.")
        crow = align_samples(bfile.fam, cv, source=f"covariate file {covar}")
        C = np.where((crow >= 0)[:, None], cv[names].to_numpy()[np.maximum(crow, 0)], np.nan)
    keep = ~np.isnan(y) & ~np.isnan(C).any(axis=1)
    log.info(
        "trait %s: %d of %d genotyped samples analysed (%d missing trait, %d missing a covariate)",
        trait, keep.sum(), len(y), np.isnan(y).sum(), (~np.isnan(y) & np.isnan(C).any(axis=1)).sum(),
    )
    if keep.sum() < 3 or np.nanstd(y[keep]) == 0:
        raise InputError(
            f"trait {trait!r} in {pheno} has {int(keep.sum())} usable values"
            + (" and no variance" if keep.sum() >= 3 else "")
            + " among the genotyped samples with complete covariates; check the column or remove the trait."
        )
    samples = np.flatnonzero(keep)
    Z = design_matrix(C[samples], len(samples), names=names)
    return TraitData(samples=samples, y=y[samples], Z=Z, covariate_names=names)


def association_table(bim: pd.DataFrame, res: Association) -> pd.DataFrame:
    """Pack results in the sumstats contract (``CHROM POS ID A1 A2 A1_FREQ N BETA SE Z P``)."""
    out = bim[["CHROM", "POS", "ID", "A1", "A2"]].reset_index(drop=True).copy()
    out["A1_FREQ"], out["N"] = res.a1_freq, res.n.astype("int64")
    out["BETA"], out["SE"], out["Z"], out["P"] = res.beta, res.se, res.t, res.p
    return out[SUMSTATS_COLUMNS]


def run_linear_gwas(
    bfile_prefix: str | Path,
    pheno: str | Path,
    trait: str,
    out: str | Path,
    *,
    covar: str | Path | None = None,
    covariates: list[str] | None = None,
    chunk: int = 4096,
) -> pd.DataFrame:
    """GWAS of one trait over a fileset, streamed in chunks of ``chunk`` variants.

    Writes the sumstats-contract TSV ``out`` atomically and returns it; Z is the t
    statistic. Untestable variants (no variance among complete cases) have NA statistics.
    """
    bfile = Bfile.open(bfile_prefix)
    data = load_trait(bfile, pheno, trait, covar=covar, covariates=covariates)
    parts = []
    for idx, G in bfile.chunks(chunk, samples=data.samples, progress=f"GWAS {trait}"):
        parts.append(association_table(bfile.bim.iloc[idx], linear_association(G, data.y, data.Z)))
    table = pd.concat(parts, ignore_index=True)
    n_na = int(table.BETA.isna().sum())
    if n_na:
        log.warning("trait %s: %d variants untestable (constant among complete cases), e.g. %s",
                    trait, n_na, table.ID[table.BETA.isna()].iloc[0])
    write_tsv(table, out)
    return table
