"""Test helpers shared across test folders (plain functions and markers, importable by name).

Kept out of conftest.py because several folders have their own conftest.py, and a module
imported as ``conftest`` is ambiguous between them.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

needs_plink2 = pytest.mark.skipif(
    shutil.which("plink2") is None,
    reason="plink2 is not on PATH (Debian package `plink2`; .ci/run installs it)",
)


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
