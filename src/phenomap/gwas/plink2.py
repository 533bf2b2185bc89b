"""GWAS with the real plink2 ``--glm``, converted to the sumstats contract.

The same samples as the numpy engine are analysed (trait and covariates joined and
filtered by :func:`phenomap.gwas.linear.load_trait`), and ``omit-ref`` makes plink2 test
the .bim A1 allele, so both engines answer the same question about the same data.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.gwas.linear import SUMSTATS_COLUMNS, load_trait
from phenomap.io.plink import Bfile
from phenomap.io.sumstats import read_sumstats
from phenomap.io.tables import write_tsv

log = logging.getLogger(__name__)


def run_plink2_gwas(
    bfile_prefix: str | Path,
    pheno: str | Path,
    trait: str,
    out: str | Path,
    *,
    covar: str | Path | None = None,
    covariates: list[str] | None = None,
    threads: int = 1,
    memory_mb: int | None = None,
    executable: str = "plink2",
) -> pd.DataFrame:
    """Run ``plink2 --glm`` for one trait and write the sumstats-contract TSV ``out``.

    Rows follow the .bim order; variants plink2 could not test have NA statistics.
    Raises FileNotFoundError when ``executable`` is not installed and RuntimeError with
    the tail of plink2's log when it fails.
    """
    exe = shutil.which(executable)
    if exe is None:
        raise FileNotFoundError(
            f"{executable!r} not found on PATH: install plink2 (Debian/Ubuntu: apt-get install plink2, "
            "conda: bioconda::plink2) or set gwas.engine: numpy."
        )
    bfile = Bfile.open(bfile_prefix)
    data = load_trait(bfile, pheno, trait, covar=covar, covariates=covariates)
    ids = bfile.fam.iloc[data.samples][["FID", "IID"]].reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="phenomap-plink2-") as tmp:
        tmp = Path(tmp)
        pd.concat([ids, pd.Series(data.y, name=trait)], axis=1).rename(columns={"FID": "#FID"}).to_csv(
            tmp / "pheno.tsv", sep="\t", index=False, float_format="%.17g"
        )
        cmd = [exe, "--bfile", str(bfile_prefix), "--pheno", str(tmp / "pheno.tsv"), "--pheno-name", trait]
        glm = ["--glm", "hide-covar", "omit-ref", "cols=+a1freq"]
        if data.covariate_names:
            cov = pd.DataFrame(data.Z[:, 1:], columns=data.covariate_names)
            pd.concat([ids, cov], axis=1).rename(columns={"FID": "#FID"}).to_csv(
                tmp / "covar.tsv", sep="\t", index=False, float_format="%.17g"
            )
            cmd += ["--covar", str(tmp / "covar.tsv")]
        else:
            glm.append("allow-no-covars")
        cmd += glm + ["--threads", str(threads), "--out", str(tmp / "out")]
        if memory_mb:
            cmd += ["--memory", str(memory_mb)]
        log.info("running %s", " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"plink2 failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
        raw = read_sumstats(tmp / f"out.{trait}.glm.linear", fmt="plink2", allow_missing=True)
    table = bfile.bim[["CHROM", "POS", "ID", "A1", "A2"]].merge(
        raw.drop(columns=["CHROM", "POS", "A2"]).rename(columns={"A1": "A1_TESTED"}), on="ID", how="left"
    )
    if (table.A1_TESTED.notna() & (table.A1_TESTED != table.A1)).any():
        raise RuntimeError("plink2 tested an allele other than the .bim A1 despite omit-ref")
    table["N"] = table.N.fillna(0).astype("int64")
    log.info("plink2: %d variants, %d untestable", len(table), int(np.isnan(table.BETA).sum()))
    table = table[SUMSTATS_COLUMNS]
    write_tsv(table, out)
    return table
