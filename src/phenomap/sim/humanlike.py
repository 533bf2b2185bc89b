"""A human-like LD reference panel for benchmarks: unrelated European-like genomes at HapMap3 density.

msprime samples ``n_samples`` diploids from the EUR branch of the toy cohort's out-of-Africa-like
history (:func:`phenomap.sim.cohort.out_of_africa_demography`: a bottleneck of 3,000 followed by
growth to 30,000 over 400 generations), one independent tree sequence per chromosome with a
uniform recombination rate of 1 cM/Mb. Unlike the toy cohort (75 % AFR-like founders, families),
the sample is one population of unrelated people, so its LD is the long-range LD of non-African
human data. Sites with MAF >= ``min_maf`` are thinned at random to one per ``spacing_kb`` on
average (HapMap3, the usual LD reference of summary-statistic methods, has one per ~2.7 kb), so
data-driven LD blocks of 500-1,000 variants span 1.5-3 Mb, as the published European blocks do.

No phenotype is written: benchmarks simulate effects and GWAS on the panel themselves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.io.plink import write_bfile
from phenomap.sim.cohort import CM_PER_MB, UNAMBIGUOUS_ALLELES, simulate_founder_chromosome

POPULATION = "EUR"


def humanlike_chromosome(
    n_samples: int, chromosome_mb: float, *, spacing_kb: float, min_maf: float, seed: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """One chromosome: A1 (derived allele) counts (n_samples, m) int8 and 1-based positions (m,)."""
    length_bp = round(chromosome_mb * 1e6)
    haplotypes, positions, _ = simulate_founder_chromosome(
        {POPULATION: n_samples}, length_bp, min_maf=min_maf,
        max_variants=max(1, round(length_bp / (spacing_kb * 1e3))), seed=seed,
    )
    return haplotypes.sum(axis=1, dtype=np.int8), positions


def simulate_humanlike_panel(
    prefix: str | Path, *, n_samples: int = 5000, n_chromosomes: int = 2, chromosome_mb: float = 10.0,
    spacing_kb: float = 2.7, min_maf: float = 0.01, seed: int,
) -> Path:
    """Write the panel as the PLINK fileset ``prefix`` (.bed/.bim/.fam) and return the prefix.

    Variant IDs are ``chrom:pos``; A1 is the derived allele, with random unambiguous allele
    letters; samples are ``H1..Hn`` with unknown sex and no parents.
    """
    genotypes, tables = [], []
    for chrom in range(1, n_chromosomes + 1):
        counts, pos = humanlike_chromosome(
            n_samples, chromosome_mb, spacing_kb=spacing_kb, min_maf=min_maf,
            seed=np.random.SeedSequence(seed, spawn_key=(chrom,)),
        )
        letters = np.array(UNAMBIGUOUS_ALLELES)[
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, chrom))).integers(
                len(UNAMBIGUOUS_ALLELES), size=len(pos))
        ]
        tables.append(pd.DataFrame({
            "CHROM": str(chrom), "ID": [f"{chrom}:{p}" for p in pos], "CM": pos / 1e6 * CM_PER_MB,
            "POS": pos, "A1": letters[:, 0], "A2": letters[:, 1],
        }))
        genotypes.append(counts)
    ids = [f"H{i}" for i in range(1, n_samples + 1)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": 0, "PHENO": "-9"})
    write_bfile(prefix, fam, pd.concat(tables, ignore_index=True), iter(genotypes))
    return Path(prefix)
