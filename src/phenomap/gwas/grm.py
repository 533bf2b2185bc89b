"""Genomic relationship matrix (VanRaden 2008, method 1), whole-genome and leave-one-chromosome-out.

For n samples and m variants with A1 frequency ``p_j`` over those samples (missing calls
ignored), let ``W = X - 2p`` with missing calls set to 0 after centring (mean imputation).
Then

    K = W W' / (2 * sum_j p_j (1 - p_j)),

a dimensionless (n, n) matrix whose diagonal averages about 1 for unrelated outbred samples.
Monomorphic (or entirely missing) variants add nothing to either the numerator or the
denominator. Because every column of W sums to 0 over the samples, ``K 1 = 0``: K is
already centred, as GEMMA requires of a ``-k`` matrix.

Leaving chromosome c out (LOCO) uses the same frequencies:
``K_{-c} = (S - S_c) / (D - D_c)`` with ``S = W W'`` and ``D`` the denominator over all
variants, and ``S_c``, ``D_c`` those of chromosome c alone. :class:`GenomeGrm` keeps only
``S`` and ``D``; ``S_c`` is recomputed from chromosome c's genotypes when asked for, so the
memory stays at two n x n matrices whatever the number of chromosomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.ld.matrix import impute_centre


def vanraden_grm(G: np.ndarray) -> tuple[np.ndarray, float]:
    """GRM of the samples (rows) of ``G`` from all its variants (columns).

    Parameters
    ----------
    G : (n, m) allele counts of A1 (0, 1, 2; any float dtype), NaN = missing call.

    Returns
    -------
    K : (n, n) float64, symmetric.
    denominator : ``2 * sum_j p_j (1 - p_j)`` over the variants (expected heterozygosity
        summed over variants, in allele-count units).

    Raises
    ------
    InputError if no variant is polymorphic among the samples (K is then undefined).
    """
    W, mean = impute_centre(G)
    denominator = _denominator(mean / 2.0)
    if denominator <= 0:
        raise InputError(f"none of the {G.shape[1]} variants is polymorphic among the {G.shape[0]} samples: "
                         "the GRM is undefined; give genotypes with polymorphic variants.")
    K = _accumulate(np.zeros((G.shape[0], G.shape[0]), order="F"), W)
    K /= denominator
    return _fill_lower(K), denominator


@dataclass(frozen=True)
class GenomeGrm:
    """Whole-genome GRM cross-product of a fileset, from which LOCO matrices are derived.

    Attributes
    ----------
    bfile : the fileset the matrix was computed from (re-read by :meth:`leave_out`).
    samples : (n,) indices of the .fam rows used, in that order.
    frequency : (m,) A1 frequency of every variant over ``samples`` (0 when all calls are
        missing).
    crossprod : (n, n) ``W W'`` summed over all variants.
    denominator : ``2 * sum_j p_j (1 - p_j)`` over all variants.
    chunk : variants read at a time by :meth:`leave_out`.
    """

    bfile: Bfile
    samples: np.ndarray
    frequency: np.ndarray
    crossprod: np.ndarray
    denominator: float
    chunk: int

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    def matrix(self) -> np.ndarray:
        """The whole-genome GRM K, (n, n) float64 (a new array)."""
        return self.crossprod / self.denominator

    def denominator_without(self, chrom: str) -> float:
        """``2 * sum p (1 - p)`` over the variants not on chromosome ``chrom``."""
        on_chrom = (self.bfile.bim.CHROM == chrom).to_numpy()
        return self.denominator - _denominator(self.frequency[on_chrom])

    def leave_out(self, chrom: str, *, progress: str | None = None) -> np.ndarray:
        """K_{-c}: the GRM from the variants not on chromosome ``chrom``, (n, n) float64.

        Re-reads chromosome ``chrom`` (``chunk`` variants at a time, a tqdm bar labelled
        ``progress``) to subtract its cross-product from the whole-genome one.

        Raises
        ------
        InputError if no polymorphic variant is left outside ``chrom``.
        """
        idx = np.flatnonzero((self.bfile.bim.CHROM == chrom).to_numpy())
        denominator = self.denominator_without(chrom)
        if denominator <= 1e-12 * self.denominator:
            raise InputError(
                f"{self.bfile.prefix}.bim: every polymorphic variant is on chromosome {chrom}, so leaving it out "
                "(LOCO) leaves no marker for the GRM; set gwas.loco: false or add variants on other chromosomes."
            )
        S = np.zeros_like(self.crossprod, order="F")
        for _, G in self.bfile.chunks(self.chunk, variants=idx, samples=self.samples, progress=progress):
            # the same samples as the first pass, hence the same frequencies
            S = _accumulate(S, impute_centre(G)[0])
        np.subtract(self.crossprod, S, out=S)
        S /= denominator
        return _fill_lower(S)


def genome_grm(
    bfile: Bfile, samples: np.ndarray | None = None, *, chunk: int = 4096, progress: str | None = None
) -> GenomeGrm:
    """Stream a fileset once and return its whole-genome GRM cross-product and denominator.

    Parameters
    ----------
    bfile : the genotypes; every variant of the .bim is used.
    samples : (n,) .fam row indices to include (default all); frequencies are computed over
        these samples.
    chunk : variants read at a time: memory is O(n^2 + n * chunk) float64.
    progress : label of a tqdm progress bar on stderr (none when None).

    Raises
    ------
    InputError if no variant is polymorphic among the samples.
    """
    samples = np.arange(bfile.n_samples) if samples is None else np.asarray(samples)
    S = np.zeros((len(samples), len(samples)), order="F")
    frequency = np.empty(bfile.n_variants)
    for idx, G in bfile.chunks(chunk, samples=samples, progress=progress):
        W, mean = impute_centre(G)
        frequency[idx] = mean / 2.0
        S = _accumulate(S, W)
    denominator = _denominator(frequency)
    if denominator <= 0:
        raise InputError(f"{bfile.prefix}: no variant is polymorphic among the {len(samples)} analysed samples; "
                         "the GRM is undefined. Check the genotypes and the sample filter.")
    return GenomeGrm(bfile=bfile, samples=samples, frequency=frequency, crossprod=_fill_lower(S),
                     denominator=denominator, chunk=chunk)


def _denominator(frequency: np.ndarray) -> float:
    return float(2.0 * np.sum(frequency * (1.0 - frequency)))


def _accumulate(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``S += W W'`` on the upper triangle of the F-ordered (n, n) ``S``, in place (BLAS syrk)."""
    return blas.dsyrk(1.0, np.asfortranarray(W), beta=1.0, c=S, overwrite_c=True)


def _fill_lower(A: np.ndarray, block: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``A`` onto its lower one, in place, block by block."""
    n = A.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        A[start:stop, :start] = A[:start, start:stop].T
        diag = A[start:stop, start:stop]
        i, j = np.tril_indices(stop - start, -1)
        diag[i, j] = diag[j, i]
    return A
