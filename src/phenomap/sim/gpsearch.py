"""A heterogeneous-stock-like cohort with four planted QTL of known inheritance, for the pipeline search.

Genotypes. Every haplotype is a mosaic of ``n_founders`` founder haplotypes (as in
heterogeneous-stock rats and mice, the cohorts StarBASE-GP was built for): along each
chromosome the founder label is a Markov chain that switches between adjacent SNPs with
probability ``1 - exp(-generations * d * 1e-8)`` (d in bp, 1 cM/Mb, Haldane), the new label
drawn uniformly among the founders. Each SNP has a strain distribution pattern: every founder
carries A1 with probability q, q ~ U(0.1, 0.9) per SNP, at least one founder carrying each
allele. A genotype is the A1 count of a sample's two haplotypes. SNPs sit at uniform random
positions; SNPs with MAF < ``min_maf`` in the sample are redrawn, so every SNP is usable. LD
decays over megabases (founder segments average 1e8 / generations bp), and neighbouring
SNPs with the same pattern are in perfect LD, as in real stocks.

Phenotype (variance 1 in the sample, each part scaled to its stated variance in-sample)::

    y = sum_q sqrt(qtl_variance) * z(encode_q(G[:, q]))          four QTL
      + sqrt(polygenic_variance) * z(G[:, P] @ beta)              n_polygenic additive SNPs
      + noise                                                       the rest, orthogonal in-sample

with z() the standardisation, encode_q the QTL's inheritance model from
:data:`phenomap.gpsearch.encodings.FIXED_ENCODINGS` applied to the A1 count, and beta ~
N(0, 1). QTL q (models in :data:`QTL_MODELS` order) lies on chromosome q + 1, away from the
chromosome ends, with A1 frequency in ``qtl_freq`` so that all three genotype classes are
common; polygenic SNPs lie on any chromosome but more than ``qtl_clearance`` bp from every
QTL, so a call near a QTL is that QTL's. Broad-sense heritability is 4 × qtl_variance +
polygenic_variance (0.32 by default, the rat BMI heritability of the paper, 0.31).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import encode

#: Inheritance of the planted QTL, one per chromosome 1-4.
QTL_MODELS = ("additive", "dominant", "recessive", "heterosis")


@dataclass(frozen=True)
class GpSimParams:
    """Settings of :func:`simulate_gpsearch_cohort` (see the module text)."""

    n_samples: int = 3000
    n_snps: int = 20_000
    n_chromosomes: int = 5
    chromosome_mb: float = 50.0
    n_founders: int = 8
    generations: int = 50
    min_maf: float = 0.05
    qtl_variance: float = 0.03
    qtl_freq: tuple[float, float] = (0.35, 0.65)
    polygenic_variance: float = 0.2
    n_polygenic: int = 200
    qtl_clearance: int = 2_000_000

    def validate(self) -> None:
        """Raise InputError naming the first impossible setting."""
        if self.n_chromosomes < len(QTL_MODELS):
            raise InputError(f"n_chromosomes={self.n_chromosomes}: the {len(QTL_MODELS)} QTL need one chromosome each.")
        if self.n_samples < 50 or self.n_snps < 10 * self.n_chromosomes:
            raise InputError(f"need at least 50 samples and 10 SNPs per chromosome, got {self.n_samples} samples and "
                             f"{self.n_snps} SNPs on {self.n_chromosomes} chromosomes.")
        if self.n_founders < 2 or self.generations < 1 or self.chromosome_mb <= 0:
            raise InputError("need n_founders >= 2, generations >= 1 and chromosome_mb > 0.")
        if not 0 <= self.min_maf < 0.5 or not 0 < self.qtl_freq[0] < self.qtl_freq[1] < 1:
            raise InputError(f"min_maf must be in [0, 0.5) and qtl_freq an interval in (0, 1), got {self.min_maf} "
                             f"and {self.qtl_freq}.")
        genetic = len(QTL_MODELS) * self.qtl_variance + self.polygenic_variance
        if self.qtl_variance <= 0 or self.polygenic_variance < 0 or genetic >= 1:
            raise InputError(f"variances must leave room for noise: 4 x qtl_variance + polygenic_variance = {genetic}.")

    @property
    def heritability(self) -> float:
        """Broad-sense heritability: QTL plus polygenic variance (total variance 1)."""
        return len(QTL_MODELS) * self.qtl_variance + self.polygenic_variance

    def scaled(self, scale: float) -> GpSimParams:
        """The same design with samples (at least 600) and SNPs multiplied by ``scale``, for quick checks."""
        return GpSimParams(**{**asdict(self), "n_samples": max(600, round(self.n_samples * scale)),
                              "n_snps": max(50 * self.n_chromosomes, round(self.n_snps * scale))})


@dataclass(frozen=True)
class GpSimCohort:
    """A simulated cohort.

    G: (n, m) int8 A1 counts (no missing calls); y: (n,) phenotype; bim: (m,) CHROM ID POS A1
    A2; qtl: one row per QTL (ID, index, CHROM, POS, model, a1_freq, variance, beta: the
    effect of one unit of the encoding on y); polygenic: column indices of the background
    SNPs; parts: (n, 3) the QTL, polygenic and noise parts of y; params: the settings.
    """

    G: np.ndarray
    y: np.ndarray
    bim: pd.DataFrame
    qtl: pd.DataFrame
    polygenic: np.ndarray
    parts: np.ndarray
    params: GpSimParams


def mosaic_haplotypes(rng: np.random.Generator, n_haplotypes: int, positions: np.ndarray, n_founders: int,
                      generations: int) -> np.ndarray:
    """Founder labels (n_haplotypes, k) int8 along sorted ``positions`` (k,) bp, see the module text."""
    gaps = np.diff(positions, prepend=positions[0]).astype(float)
    switch = rng.random((n_haplotypes, len(positions))) < -np.expm1(-generations * gaps * 1e-8)
    switch[:, 0] = True
    last = np.maximum.accumulate(np.where(switch, np.arange(len(positions)), 0), axis=1)
    labels = rng.integers(n_founders, size=(n_haplotypes, len(positions)), dtype=np.int8)
    return np.take_along_axis(labels, last, axis=1)


def founder_alleles(rng: np.random.Generator, n_founders: int, k: int) -> np.ndarray:
    """(n_founders, k) int8 strain distribution patterns, each SNP polymorphic among founders."""
    alleles = rng.random((n_founders, k)) < rng.uniform(0.1, 0.9, k)
    while (bad := (alleles.all(axis=0) | ~alleles.any(axis=0))).any():
        alleles[:, bad] = rng.random((n_founders, int(bad.sum()))) < rng.uniform(0.1, 0.9, int(bad.sum()))
    return alleles.astype(np.int8)


def _chromosome(rng: np.random.Generator, params: GpSimParams, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (k,) and genotypes (n, k) int8 of one chromosome, every SNP with MAF >= min_maf."""
    length = int(params.chromosome_mb * 1e6)
    positions = np.sort(rng.choice(np.arange(1, length + 1), size=k, replace=False))
    labels = mosaic_haplotypes(rng, 2 * params.n_samples, positions, params.n_founders, params.generations)
    alleles = founder_alleles(rng, params.n_founders, k)
    G = np.empty((params.n_samples, k), dtype=np.int8)
    for j in range(k):  # redraw a pattern until its sample MAF passes (labels stay: LD unchanged)
        for _ in range(100):
            haplotypes = alleles[labels[:, j], j]
            freq = haplotypes.mean()
            if min(freq, 1 - freq) >= params.min_maf:
                break
            alleles[:, j] = founder_alleles(rng, params.n_founders, 1)[:, 0]
        G[:, j] = haplotypes[: params.n_samples] + haplotypes[params.n_samples :]
    return positions, G


def _standardised(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def simulate_gpsearch_cohort(params: GpSimParams = GpSimParams(), *, seed: int = 0) -> GpSimCohort:
    """Simulate genotypes and a phenotype with four planted QTL (see the module text)."""
    params.validate()
    rng = np.random.default_rng(seed)
    per_chrom = np.full(params.n_chromosomes, params.n_snps // params.n_chromosomes)
    per_chrom[: params.n_snps % params.n_chromosomes] += 1
    chunks = [_chromosome(rng, params, int(k)) for k in per_chrom]
    G = np.hstack([g for _, g in chunks])
    chrom = np.repeat(np.arange(1, params.n_chromosomes + 1), per_chrom)
    pos = np.concatenate([p for p, _ in chunks])
    bim = pd.DataFrame({"CHROM": chrom.astype(str), "ID": [f"c{c}_{p}" for c, p in zip(chrom, pos, strict=True)],
                        "POS": pos, "A1": "A", "A2": "G"})
    freq = G.mean(axis=0) / 2
    length = params.chromosome_mb * 1e6
    qtl_rows, parts = [], np.zeros((params.n_samples, 3))
    for q, model in enumerate(QTL_MODELS):
        pool = np.flatnonzero((chrom == q + 1) & (freq >= params.qtl_freq[0]) & (freq <= params.qtl_freq[1])
                              & (pos > 0.1 * length) & (pos < 0.9 * length))
        if len(pool) == 0:
            raise InputError(f"chromosome {q + 1} has no SNP with A1 frequency in {params.qtl_freq} for the "
                             f"{model} QTL; raise n_snps or widen qtl_freq.")
        j = int(rng.choice(pool))
        x = encode(G[:, [j]].astype(float), model)[:, 0]
        scale = np.sqrt(params.qtl_variance) / x.std()
        parts[:, 0] += scale * (x - x.mean())
        qtl_rows.append((bim.ID[j], j, bim.CHROM[j], int(pos[j]), model, float(freq[j]), params.qtl_variance,
                         float(scale)))
    qtl = pd.DataFrame(qtl_rows, columns=["ID", "index", "CHROM", "POS", "model", "a1_freq", "variance", "beta"])
    far = np.ones(len(bim), dtype=bool)
    for row in qtl.itertuples():
        far &= ~((chrom == int(row.CHROM)) & (np.abs(pos - row.POS) <= params.qtl_clearance))
    polygenic = np.sort(rng.choice(np.flatnonzero(far), params.n_polygenic, replace=False))
    if params.polygenic_variance > 0:
        parts[:, 1] = np.sqrt(params.polygenic_variance) * _standardised(G[:, polygenic] @ rng.normal(size=len(polygenic)))
    genetic = parts[:, :2].sum(axis=1)
    noise = rng.normal(size=params.n_samples)
    basis = np.column_stack([np.ones(params.n_samples), parts[:, :2]])
    noise -= basis @ np.linalg.lstsq(basis, noise, rcond=None)[0]  # orthogonal in-sample
    parts[:, 2] = np.sqrt(1 - params.heritability) * noise / noise.std()
    return GpSimCohort(G=G, y=genetic + parts[:, 2], bim=bim, qtl=qtl, polygenic=polygenic, parts=parts,
                       params=params)

