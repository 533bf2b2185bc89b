"""Test helpers shared across test folders (plain functions and markers, importable by name).

Kept out of conftest.py because several folders have their own conftest.py, and a module
imported as ``conftest`` is ambiguous between them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

needs_plink2 = pytest.mark.skipif(
    shutil.which("plink2") is None,
    reason="plink2 is not on PATH (Debian package `plink2`; .ci/run installs it)",
)
REPO = Path(__file__).resolve().parents[1]


def workflow_rules(workdir: Path) -> list:
    """The rules of the workflow (snakemake.rules.Rule), parsed with the default config in ``workdir``."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                                snakefile=REPO / "Snakefile", workdir=workdir)._workflow
        return list(workflow.rules)


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


needs_gemma = pytest.mark.skipif(
    shutil.which("gemma") is None,
    reason="gemma is not on PATH (GEMMA 0.98.5: Debian package `gemma`, conda bioconda::gemma)",
)


@dataclass(frozen=True)
class RelatedCohort:
    """A simulated cohort of nuclear families (see :func:`simulate_related_cohort`).

    ``G`` (n, m) float32 A1 counts with NaN for missing calls; ``fam``/``bim`` its PLINK
    tables (FID = family); ``covariates`` (n, 2): sex (0/1) and age-like N(50, 10);
    ``y`` a polygenic trait whose genetic value comes from all the genotyped variants;
    ``y_null`` one whose genetic value comes from the variants of every chromosome but the
    last, so the last chromosome's variants are null yet confounded by relatedness in a
    model that ignores it.
    """

    G: np.ndarray
    fam: pd.DataFrame
    bim: pd.DataFrame
    covariates: np.ndarray
    y: np.ndarray
    y_null: np.ndarray


def simulate_related_cohort(
    rng: np.random.Generator,
    *,
    n_families: int = 100,
    n_offspring: int = 2,
    n_chrom: int = 3,
    variants_per_chrom: int = 500,
    h2: float = 0.5,
    missing: float = 0.01,
    fst: float = 0.05,
) -> RelatedCohort:
    """Nuclear families (two unrelated parents, ``n_offspring`` full sibs) from two populations.

    Founders come from one of two populations whose allele frequencies drift apart by
    ``fst`` (Balding-Nichols around an ancestral frequency in [0.1, 0.5]); both parents of
    a family come from the same population. Loci are unlinked (each transmitted allele is
    drawn independently). Each trait has a genetic value with N(0, 1) effects per allele
    copy on its causal variants (so its covariance is proportional to their VanRaden GRM),
    scaled to variance ``h2``, plus 0.5 * sex - 0.02 * age and N(0, 1 - h2) noise.
    Samples: ``n_families * (2 + n_offspring)``; variants: ``n_chrom * variants_per_chrom``.
    """
    if n_chrom < 2:
        raise ValueError("simulate_related_cohort needs n_chrom >= 2 (y_null leaves the last chromosome out)")
    m = n_chrom * variants_per_chrom
    anc = rng.uniform(0.1, 0.5, m)
    pops = rng.beta(anc * (1 - fst) / fst, (1 - anc) * (1 - fst) / fst, size=(2, m))
    pop = rng.integers(0, 2, n_families)  # the population of each family's founders
    parents = rng.random((n_families, 2, 2, m)) < pops[pop][:, None, None, :]  # family, parent, haplotype
    pick = rng.integers(0, 2, (n_families, n_offspring, 2, m))  # the haplotype each parent transmits
    kids = np.take_along_axis(parents[:, None].repeat(n_offspring, axis=1), pick[:, :, :, None, :], axis=3)[..., 0, :]
    G = np.concatenate([parents.sum(axis=2), kids.sum(axis=2)], axis=1).reshape(-1, m).astype(np.float32)

    members = ["p1", "p2"] + [f"o{k + 1}" for k in range(n_offspring)]
    fid = np.repeat([f"f{i}" for i in range(n_families)], len(members))
    iid = [f"f{i}_{m}" for i in range(n_families) for m in members]
    pat = [f"f{i}_p1" if m.startswith("o") else "0" for i in range(n_families) for m in members]
    mat = [f"f{i}_p2" if m.startswith("o") else "0" for i in range(n_families) for m in members]
    sex = rng.integers(0, 2, len(iid))
    fam = pd.DataFrame({"FID": fid, "IID": iid, "PAT": pat, "MAT": mat, "SEX": (sex + 1).astype(str), "PHENO": "-9"})
    bim = pd.concat([make_bim(variants_per_chrom, chrom=str(c + 1)) for c in range(n_chrom)], ignore_index=True)
    covariates = np.column_stack([sex, rng.normal(50, 10, len(iid))])
    fixed = covariates @ [0.5, -0.02]

    def trait(causal):
        g = (causal - causal.mean(axis=0)) @ rng.normal(size=causal.shape[1])
        return g / g.std() * np.sqrt(h2) + fixed + rng.normal(0, np.sqrt(1 - h2), len(g))

    y, y_null = trait(G), trait(G[:, : (n_chrom - 1) * variants_per_chrom])
    G[rng.random(G.shape) < missing] = np.nan
    return RelatedCohort(G=G, fam=fam, bim=bim, covariates=covariates, y=y, y_null=y_null)


def simulate_two_qtl(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """300 samples x 200 unlinked SNPs, 50 per chromosome 1-4 at 200 kb spacing; phenotype with
    an additive QTL ``snp30`` (chr1) and a recessive QTL ``snp150`` (chr4) plus N(0, 0.4²) noise.

    Returns G (300, 200) allele counts, y (300,), the training mask (even rows) and the .bim table.
    """
    rng = np.random.default_rng(seed)
    n, m = 300, 200
    G = rng.binomial(2, rng.uniform(0.2, 0.5, m), size=(n, m)).astype(float)
    G[:, 150] = rng.binomial(2, 0.6, n)
    y = G[:, 30] / 2 + (G[:, 150] == 2) + rng.normal(scale=0.4, size=n)
    bim = pd.DataFrame({"CHROM": np.repeat(["1", "2", "3", "4"], 50), "ID": [f"snp{i}" for i in range(m)],
                        "POS": np.tile(np.arange(1, 51) * 200_000, 4), "A1": "A", "A2": "G"})
    return G, y, np.arange(n) % 2 == 0, bim
