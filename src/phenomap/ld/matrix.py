"""LD within one block: the correlation matrix of its variants and their LD scores.

Genotypes are A1 allele counts with NaN for missing calls. Missing calls are replaced by the
variant's mean over observed samples, so every correlation here is the Pearson r of the
mean-imputed genotypes, computed over all n samples.

Positive semi-definiteness: the matrix is ``Z.T @ Z`` for the column-standardised imputed
genotypes ``Z`` (n x m), a Gram matrix, so it is PSD by construction (up to rounding, and of
rank at most n). No repair is needed or done here; LD supplied by a user as a matrix is
validated by the stage that reads it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import atomic_path, concat_tsv, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)


def impute_centre(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copy of allele counts G (n, m) with each column's mean subtracted and missing
    (NaN) values set to that mean (so 0 after centring); returns it and the means (m,)."""
    X = np.array(G, dtype=np.float64)  # a copy, worked on in place to bound memory
    missing = np.isnan(X)
    X[missing] = 0.0
    mean = X.sum(axis=0) / np.maximum(len(X) - missing.sum(axis=0), 1)
    X -= mean
    X[missing] = 0.0
    return X, mean


def standardise(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-impute each column and scale it to unit Euclidean norm.

    Parameters
    ----------
    G : (n, m) allele counts, NaN = missing.

    Returns
    -------
    Z : (n, m) float64 with ``Z[:, j] @ Z[:, k]`` the Pearson r of imputed columns j and k;
        a column without variance (monomorphic, or all missing) is all zeros.
    constant : (m,) bool, True for the columns without variance.
    """
    Z, _ = impute_centre(G)
    norm = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    constant = norm == 0
    Z /= np.where(constant, 1.0, norm)
    return Z, constant


def correlation(G: np.ndarray, ids: Sequence[str] | None = None, *, chunk: int = 2000) -> np.ndarray:
    """Pearson r between the columns (variants) of ``G``.

    Missing values are mean-imputed per variant, so the result equals ``np.corrcoef`` of the
    imputed genotypes. Products are accumulated in float64 over column chunks of at most
    ``chunk`` variants, so the extra memory beyond ``G`` and the result is O(n * chunk).

    Parameters
    ----------
    G : (n, m) allele counts, NaN = missing.
    ids : optional m variant IDs, used to name a faulty variant in errors.
    chunk : variants standardised at a time.

    Returns
    -------
    (m, m) float32, exactly symmetric, unit diagonal, entries in [-1, 1].

    Raises
    ------
    InputError if a variant has no variance (monomorphic or all missing).
    """
    n, m = G.shape
    starts = range(0, m, chunk)
    constant = np.concatenate([standardise(G[:, a : a + chunk])[1] for a in starts]) if m else np.zeros(0, bool)
    if constant.any():
        j = int(np.flatnonzero(constant)[0])
        name = f"variant {ids[j]!r} (column {j})" if ids is not None else f"column {j}"
        raise InputError(
            f"{int(constant.sum())} variant(s) have no genotype variance over {n} samples "
            f"(monomorphic or all missing), first {name}; their correlation is undefined. "
            "Remove them before computing LD, e.g. with `plink2 --maf 0.01 --geno 0.1`."
        )
    r = np.empty((m, m), dtype=np.float32)
    for a in starts:
        Za = standardise(G[:, a : a + chunk])[0]
        for b in range(a, m, chunk):
            Zb = Za if b == a else standardise(G[:, b : b + chunk])[0]
            block = Za.T @ Zb
            if b == a:
                block = (block + block.T) / 2
            np.clip(block, -1.0, 1.0, out=block)
            r[a : a + chunk, b : b + chunk] = block
            r[b : b + chunk, a : a + chunk] = block.T
    np.fill_diagonal(r, 1.0)
    return r


def ld_scores(r: np.ndarray, n: int, *, adjust: bool = True) -> np.ndarray:
    """LD score of each variant within its block.

    ``l_j = sum_k r_jk^2`` over all k in the block, k = j included (contributing 1). With
    ``adjust``, each r^2 is replaced by the approximately unbiased estimator
    ``r^2 - (1 - r^2) / (n - 2)`` (as in LD score regression); for k = j it is still 1, so
    ``l_j = s_j + (s_j - m) / (n - 2)`` with ``s_j`` the unadjusted score.

    Parameters
    ----------
    r : (m, m) correlation matrix of one block.
    n : number of samples r was estimated from (> 2 when ``adjust``).

    Returns
    -------
    (m,) float64.
    """
    total = np.einsum("ij,ij->i", r, r, dtype=np.float64)
    if not adjust:
        return total
    if n <= 2:
        raise ValueError(f"the adjusted LD score needs n > 2 samples, got n={n}")
    return total + (total - r.shape[0]) / (n - 2)


#: Keys of a per-block LD file written by :func:`block_ld`.
LD_FILE_KEYS = ("r", "ids", "a1", "a2", "n")


@dataclass(frozen=True)
class BlockLD:
    """The LD file of one block: ``r`` (m, m) float32 correlations, ``ids``, ``a1``, ``a2`` (m,) str, ``n`` samples."""

    r: np.ndarray
    ids: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    n: int


def read_block_ld(path: str | Path) -> BlockLD:
    """Read and validate one block's LD file (the only reader of these files; the file is closed on return).

    Raises InputError naming the file when it is missing, lacks a key or has an ``r`` that is
    not square over its variants.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"LD file {path} does not exist: rerun the ld_block step.")
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in LD_FILE_KEYS if key not in data.files]
        if missing:
            raise InputError(f"LD file {path} lacks {missing}: give the block's LD file written by the ld_block step.")
        ld = BlockLD(r=data["r"], ids=data["ids"].astype(str), a1=data["a1"].astype(str), a2=data["a2"].astype(str),
                     n=int(data["n"]))
    m = len(ld.ids)
    if ld.r.shape != (m, m) or len(ld.a1) != m or len(ld.a2) != m:
        raise InputError(f"LD file {path}: r has shape {ld.r.shape} for {m} variants ({len(ld.a1)}/{len(ld.a2)} "
                         "alleles); rerun the ld_block step.")
    return ld


def block_ld_memory_mb(n_samples: int, m_variants: int, chunk: int) -> int:
    """Memory (MB) to request for :func:`block_ld` on a block of ``m_variants`` and ``n_samples``.

    The peak of :func:`block_ld` (see its docstring) plus half again and 500 MB for the
    interpreter and libraries, rounded up to 100 MB.
    """
    c = min(chunk, m_variants)
    peak = 4 * n_samples * m_variants + 4 * m_variants**2 + 16 * n_samples * c + 16 * c**2
    return int(math.ceil((1.5 * peak / 1e6 + 500) / 100) * 100)


def block_ld(
    bfile_prefix: str | Path,
    blocks_tsv: str | Path,
    block: str,
    out_ld: str | Path,
    out_scores: str | Path,
    *,
    chunk: int = 2000,
    adjust: bool = True,
) -> None:
    """Write the correlation matrix and LD scores of one block of a blocks table.

    Reads only the block's variants (in .bim order). Peak memory for a block of m variants
    and n samples is about 4nm (genotypes) + 4m^2 (r) + 16n * chunk (two standardised
    chunks) + 16 chunk^2 bytes, e.g. 460 MB for m = 4000, n = 5000, chunk = 2000.
    Writes, each atomically:

    * ``out_ld`` (.npz): ``r`` (m, m) float32, ``ids``, ``a1``, ``a2`` (m,) str, ``n`` samples;
    * ``out_scores`` (TSV): ``CHROM POS ID A1 A2 ldscore`` (see :func:`ld_scores`, with the
      number of samples as n).

    Raises InputError if ``block`` is not in the table, if the block holds no variant of the
    fileset or a different number than the table records (table made from another panel),
    or if a variant of the block is monomorphic.
    """
    from phenomap.ld.blocks import block_variants, named_block  # blocks imports this module

    bfile = Bfile.open(bfile_prefix)
    row = named_block(blocks_tsv, block)
    idx = block_variants(bfile.bim, row)
    expected = int(row["n_variants"]) if "n_variants" in row else len(idx)
    if len(idx) == 0 or len(idx) != expected:
        raise InputError(
            f"block {block} ({row.chrom}:{row.start}-{row.stop}) of {blocks_tsv} holds {len(idx)} "
            f"variants of {bfile_prefix}.bim but the table records {expected}: the table was made "
            "from another panel; rerun the ld_blocks step on this fileset."
        )
    G = np.empty((bfile.n_samples, len(idx)), dtype=np.float32)
    done = 0
    for sel, g in bfile.chunks(chunk, variants=idx, progress=f"read {block}"):
        G[:, done : done + len(sel)] = g
        done += len(sel)
    bim = bfile.bim.iloc[idx]
    r = correlation(G, ids=bim.ID.to_numpy(), chunk=chunk)
    del G
    scores = ld_scores(r, bfile.n_samples, adjust=adjust)
    with atomic_path(out_ld) as tmp:
        np.savez(
            tmp, r=r, ids=bim.ID.to_numpy(str), a1=bim.A1.to_numpy(str), a2=bim.A2.to_numpy(str),
            n=np.int64(bfile.n_samples),
        )
    table = pd.DataFrame(
        {"CHROM": bim.CHROM.to_numpy(), "POS": bim.POS.to_numpy(), "ID": bim.ID.to_numpy(),
         "A1": bim.A1.to_numpy(), "A2": bim.A2.to_numpy(), "ldscore": scores}
    )
    write_tsv(table, out_scores)
    log.info("block %s: %d variants x %d samples, mean LD score %.3g", block, len(idx), bfile.n_samples, scores.mean())
    rule_summary(f"{len(idx):,} variants x {bfile.n_samples:,} samples", f"mean LD score {scores.mean():.3g}")


def gather_ld_scores(paths: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """Row-bind the per-block LD-score tables (``paths``, in block order) into ``out``; returns the table."""
    table = concat_tsv(list(paths), out)
    rule_summary(f"{len(table):,} variants from {len(paths):,} blocks", f"mean LD score {table.ldscore.mean():.3g}")
    return table
