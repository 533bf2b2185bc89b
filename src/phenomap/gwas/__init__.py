"""Genome-wide association: linear regression engines (numpy built-in, plink2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ENGINES = ("numpy", "plink2")


def run_gwas(
    bfile_prefix: str | Path,
    pheno: str | Path,
    trait: str,
    out: str | Path,
    *,
    engine: str = "numpy",
    covar: str | Path | None = None,
    covariates: list[str] | None = None,
    chunk: int = 4096,
    threads: int = 1,
) -> pd.DataFrame:
    """GWAS of one trait with the chosen engine; writes the sumstats-contract TSV ``out``.

    Both engines analyse the same samples (trait and covariates complete) with per-variant
    complete cases for genotypes, and give the same numbers to plink2's printed precision.
    """
    if engine == "numpy":
        from phenomap.gwas.linear import run_linear_gwas

        return run_linear_gwas(bfile_prefix, pheno, trait, out, covar=covar, covariates=covariates, chunk=chunk)
    if engine == "plink2":
        from phenomap.gwas.plink2 import run_plink2_gwas

        return run_plink2_gwas(bfile_prefix, pheno, trait, out, covar=covar, covariates=covariates, threads=threads)
    raise ValueError(f"gwas.engine must be one of {ENGINES}, got {engine!r}")
