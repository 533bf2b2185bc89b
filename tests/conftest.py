"""Shared fixtures: seeded random generators and small PLINK filesets written on the fly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phenomap.io.plink import write_bfile

needs_plink2 = pytest.mark.skipif(
    shutil.which("plink2") is None,
    reason="plink2 is not on PATH (Debian package `plink2`; .ci/run installs it)",
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


def make_fam(n: int, prefix: str = "s") -> pd.DataFrame:
    """A .fam table of ``n`` unrelated samples with FID == IID."""
    ids = [f"{prefix}{i}" for i in range(n)]
    return pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})


def make_bim(m: int, chrom: str = "1", spacing: int = 1000) -> pd.DataFrame:
    """A .bim table of ``m`` A/G variants on one chromosome, ``spacing`` bp apart."""
    return pd.DataFrame(
        {
            "CHROM": chrom,
            "ID": [f"{chrom}:{(i + 1) * spacing}" for i in range(m)],
            "CM": 0.0,
            "POS": (np.arange(m) + 1) * spacing,
            "A1": "A",
            "A2": "G",
        }
    )


@pytest.fixture
def write_plink(tmp_path: Path):
    """Write genotypes ``G`` (n x m, A1 counts, NaN missing) as a fileset; return its prefix."""

    def _write(G: np.ndarray, fam: pd.DataFrame | None = None, bim: pd.DataFrame | None = None, name="geno") -> str:
        n, m = G.shape
        fam = make_fam(n) if fam is None else fam
        bim = make_bim(m) if bim is None else bim
        prefix = tmp_path / name
        write_bfile(prefix, fam, bim, iter([G]))
        return str(prefix)

    return _write
