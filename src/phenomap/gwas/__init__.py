"""Genome-wide association: linear regression engines (numpy built-in, plink2) and a LOCO mixed model."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from phenomap.gwas.summary import lambda_gc
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

MODELS = ("linear", "lmm")
ENGINES = ("numpy", "plink2")
#: lambda_GC above which a linear-model GWAS warns that a mixed model is needed.
INFLATION_WARNING = 1.1


def run_gwas(
    bfile_prefix: str | Path,
    pheno: str | Path,
    trait: str,
    out: str | Path,
    *,
    model: str = "linear",
    engine: str = "numpy",
    loco: bool = True,
    covar: str | Path | None = None,
    covariates: list[str] | None = None,
    chunk: int = 4096,
    threads: int = 1,
) -> pd.DataFrame:
    """GWAS of one trait with the chosen model (and, for the linear model, engine); writes the sumstats TSV ``out``.

    ``linear``: both engines analyse the same samples (trait and covariates complete) with
    per-variant complete cases for genotypes, and give the same numbers to plink2's printed
    precision. ``lmm``: :func:`phenomap.gwas.lmm.run_lmm_gwas` (``loco``: relationship matrix
    without the tested chromosome). lambda_GC is logged; above ``INFLATION_WARNING`` for the
    linear model, a warning names the mixed model.
    """
    if model not in MODELS:
        raise ValueError(f"gwas.model must be one of {MODELS}, got {model!r}")
    if model == "lmm":
        from phenomap.gwas.lmm import run_lmm_gwas

        table = run_lmm_gwas(bfile_prefix, pheno, trait, out, covar=covar, covariates=covariates, chunk=chunk,
                             loco=loco)
    elif engine == "numpy":
        from phenomap.gwas.linear import run_linear_gwas

        table = run_linear_gwas(bfile_prefix, pheno, trait, out, covar=covar, covariates=covariates, chunk=chunk)
    elif engine == "plink2":
        from phenomap.gwas.plink2 import run_plink2_gwas

        table = run_plink2_gwas(bfile_prefix, pheno, trait, out, covar=covar, covariates=covariates, threads=threads)
    else:
        raise ValueError(f"gwas.engine must be one of {ENGINES}, got {engine!r}")
    inflation = lambda_gc(p=table.P.to_numpy(dtype=float))
    log.info("trait %s: lambda_GC = %.3f (%s model)", trait, inflation, model)
    rule_summary(f"{len(table):,} variants, trait {trait}", f"lambda_GC {inflation:.3f}")
    if model == "linear" and inflation > INFLATION_WARNING:
        log.warning("trait %s: lambda_GC = %.2f from the linear model. Relatedness or population structure inflates "
                    "linear-model statistics (strong polygenic signal in LD can too): for a related or structured "
                    "cohort set `gwas.model: lmm` (mixed model with a genomic relationship matrix)", trait, inflation)
    return table
