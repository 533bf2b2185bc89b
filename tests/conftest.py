"""Shared fixtures: seeded random generators and small PLINK filesets written on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phenomap.io.plink import write_bfile
from phenomap_testing import make_bim, make_fam


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


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
