"""The simulated design of the G-P Atlas paper: independent loci, many traits, pleiotropy, epistasis.

This follows the published description of the design (600 individuals, 3,000 loci, 30
phenotypes, 10 causal loci per phenotype, 20 % pleiotropy, 20 % multiplicative epistasis,
1 % noise); the code is ours. There is no linkage and no population structure.

- Every individual carries, at every locus, one of ``n_states`` allele states drawn uniformly
  (for three states: A1 counts 0, 1 and 2 with probability 1/3 each, not Hardy-Weinberg).
- Trait t has ``n_causal`` loci of its own, each with one weight per allele state drawn
  uniformly from ``(0, max_weight)``; an individual's genetic value is the sum of the weights
  of the states it carries. Weights are positive, so traits sit far from zero (mean about
  ``n_causal * max_weight / 2``) and percentage errors are meaningful.
- Pleiotropy: each of a trait's ``n_causal`` loci is, with probability ``pleiotropy``, one
  already causal for an earlier trait, with the same weights (a shared locus, same effects);
  otherwise it is a locus no trait used yet. Every trait thus has exactly ``n_causal`` loci.
- Epistasis: for each trait, each pair of its own loci interacts with probability
  ``epistasis`` unless either locus already interacts (every locus interacts at most once);
  an interacting pair has a random allele state, and individuals carrying that state at both
  loci get the product of the two weights instead of their sum.
- Noise: Gaussian, with variance ``noise`` times the variance of the genetic values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.io.plink import write_bfile
from phenomap.io.tables import write_tsv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AtlasDesign:
    """Settings of the simulated design (defaults: the paper's)."""

    n_individuals: int = 600
    n_loci: int = 3000
    n_traits: int = 30
    n_causal: int = 10
    n_states: int = 3
    pleiotropy: float = 0.2
    epistasis: float = 0.2
    noise: float = 0.01
    max_weight: float = 10.0


@dataclass(frozen=True)
class AtlasSimulation:
    """One simulated data set.

    Attributes
    ----------
    states : (n, m) int8 allele state of each individual at each locus, 0..n_states-1.
    phenotypes : (n, T) float64 traits.
    weights : (T, m, n_states) float64 weight of each allele state on each trait (0 = none).
    interactions : one row per interacting pair: ``trait locus_a locus_b state`` (0-based).
    """

    design: AtlasDesign
    states: np.ndarray
    phenotypes: np.ndarray
    weights: np.ndarray
    interactions: pd.DataFrame

    @property
    def causal(self) -> np.ndarray:
        """(m,) bool: the locus carries a weight for at least one trait."""
        return (self.weights != 0).any(axis=(0, 2))

    @property
    def interacting(self) -> np.ndarray:
        """(m,) bool: the locus is part of an interacting pair."""
        out = np.zeros(self.design.n_loci, bool)
        out[self.interactions.locus_a.to_numpy(int)] = True
        out[self.interactions.locus_b.to_numpy(int)] = True
        return out


def simulate_atlas_design(design: AtlasDesign = AtlasDesign(), *, seed: int) -> AtlasSimulation:
    """Simulate genotypes and traits of the paper's design (see the module docstring)."""
    rng = np.random.default_rng(seed)
    d = design
    n, m, T, k = d.n_individuals, d.n_loci, d.n_traits, d.n_states
    states = rng.integers(0, k, size=(n, m), dtype=np.int8)

    weights = np.zeros((T, m, k))
    effect = {}  # locus -> its weights, shared by every trait it acts on
    fresh = iter(rng.permutation(m))
    own = np.zeros((T, d.n_causal), dtype=int)
    for t in range(T):
        for c in range(d.n_causal):
            shared = [locus for locus in effect if locus not in own[t, :c]]
            if shared and rng.random() < d.pleiotropy:
                locus = shared[rng.integers(len(shared))]
            else:
                locus = next(fresh)
                effect[locus] = rng.uniform(0, d.max_weight, size=k)
            own[t, c] = locus
            weights[t, locus] = effect[locus]

    genetic = np.stack([weights[t][np.arange(m), states].sum(axis=1) for t in range(T)], axis=1)
    pairs, used = [], set()
    for t in range(T):
        for a in range(d.n_causal):
            for b in range(a + 1, d.n_causal):
                la, lb = int(own[t, a]), int(own[t, b])
                if rng.random() < d.epistasis and la not in used and lb not in used:
                    used |= {la, lb}
                    pairs.append((t, la, lb, int(rng.integers(k))))
    for t, la, lb, s in pairs:
        both = (states[:, la] == s) & (states[:, lb] == s)
        wa, wb = weights[t, la, s], weights[t, lb, s]
        genetic[both, t] += wa * wb - wa - wb
    sd = np.sqrt(d.noise * genetic.var(axis=0))
    phenotypes = genetic + rng.normal(size=(n, T)) * sd
    interactions = pd.DataFrame(pairs, columns=["trait", "locus_a", "locus_b", "state"])
    sim = AtlasSimulation(d, states, phenotypes, weights, interactions)
    log.info(
        "simulated %d individuals x %d loci, %d traits: %d causal loci, %d interacting pairs",
        n, m, T, int(sim.causal.sum()), len(pairs),
    )
    return sim


def write_atlas_simulation(sim: AtlasSimulation, out_dir: str | Path) -> Path:
    """Write ``genotypes.{bed,bim,fam}``, ``pheno.tsv`` and ``truth.tsv`` into ``out_dir``.

    Allele state s is written as s copies of A1 (so three states read back as 0/1/2 and two
    states as 0/1). ``truth.tsv`` has ``ID causal interacting n_traits`` per locus.
    Returns the PLINK prefix.
    """
    out_dir = Path(out_dir)
    n, m = sim.states.shape
    ids = [f"I{i + 1:04d}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    loci = [f"L{j + 1:05d}" for j in range(m)]
    bim = pd.DataFrame({"CHROM": "1", "ID": loci, "CM": 0.0, "POS": np.arange(1, m + 1) * 1000, "A1": "A", "A2": "G"})
    prefix = out_dir / "genotypes"
    write_bfile(prefix, fam, bim, iter([sim.states.astype(np.float32)]))
    pheno = pd.DataFrame(sim.phenotypes, columns=[f"trait{t + 1}" for t in range(sim.phenotypes.shape[1])])
    write_tsv(pd.concat([fam[["FID", "IID"]], pheno], axis=1), out_dir / "pheno.tsv")
    truth = pd.DataFrame({
        "ID": loci, "causal": sim.causal, "interacting": sim.interacting,
        "n_traits": (sim.weights != 0).any(axis=2).sum(axis=0),
    })
    write_tsv(truth, out_dir / "truth.tsv")
    return prefix
