"""The simulated design of the G-P Atlas paper: independent loci, many traits, pleiotropy, epistasis.

The paper (Arcadia 2025, doi 10.57844/arcadia-d316-721f) re-uses the simulated data of Avasthi,
Mets & York 2024 (doi 10.57844/arcadia-5953-995f; its reference [38]), made with
``01_code/python/tools_for_phen_gen_creation.py`` of ``Arcadia-Science/accounting-for-nonlinear-phenotypes``
and released as ``data/g_p_atlas_format_simulated_data/{train,test}.pk`` in
``Arcadia-Science/2025-g-p-atlas``. The facts below come from those files and from the figures
that repository publishes; the code here is ours. There is no linkage and no population structure.

- Allele states: at every locus each individual carries one of ``n_states`` = 3 states drawn
  uniformly (one-hot coded there; here A1 counts 0/1/2 with probability 1/3 each, not
  Hardy-Weinberg). [simulator ``make_genotype_ind``]
- Effects: a causal locus has one weight per allele state, each uniform on (0, 10); an
  individual's genetic value for a trait is the sum, over the trait's causal loci, of the
  weight of the state it carries (no scaling). [simulator ``make_genotype``; x axis 0..10 of
  ``results/*/MSV_vs_additive_contribution.svg``]
- Each trait has ``n_causal`` = 10 causal loci. [paper; simulator ``n_loci_ip``] The released
  traits lie between about 30 and 70 with mean about 50 (``results/*/p_p_plot_raw.svg``), the
  scale of 10 loci with weights of mean 5: a trait's pleiotropic loci are among its 10.
- Pleiotropy: a locus shared by several traits has the same weights for each of them (the
  simulator copies the weights). The 30 x 10 trait-locus slots hold ``n_causal_loci`` = 185
  distinct loci: the published ROC curve (``results/*/ROC_gene_classification.svg``) rises
  in steps of 1/555 over the 9,000 allele states, i.e. 555 = 3 x 185 influential states, and
  the paper reports 185 influential loci. Here the first trait's loci are new; of the other
  traits' slots, a random set holds the remaining new loci and every other slot re-uses a
  locus already causal for an earlier trait (not yet one of its own), chosen uniformly.
- Epistasis: for each trait, each pair of its loci interacts with probability ``epistasis`` =
  0.2 unless either locus already interacts (a locus interacts at most once, over all
  traits); the pair gets a random allele state s, and individuals carrying s at both loci get
  the product of the two weights instead of their sum. [simulator, ``interact_matrix``]
- Noise: Gaussian, variance ``noise`` = 1 % of the variance of the genetic values. [paper:
  "added 1% noise"; the simulator's noise step does not add noise to the traits, so the
  form is ours]
- Size: ``n_individuals`` = 3,000 and ``n_loci`` = 3,000. The released test split, which the
  paper's metrics use, holds about 600 individuals (the point counts of
  ``results/*/latent_representation_phenotype.svg`` and of one trait in ``p_p_plot_raw.svg``)
  and ``data/g_p_atlas_format_simulated_data/README.md`` calls it 20 % of the data.

Where this still differs from the published data: the paper's text says 600 individuals and
"a 20% probability of influencing each other phenotype" for pleiotropy; the simulator's
pleiotropy step (copy each causal locus to each other trait with that probability) would give
each trait about 68 loci and traits near 340, which the released traits contradict, and its 10
draws per trait from 3,000 loci would give about 286 distinct loci, not 185. How the released
data came to have 185 is not in the public code; the slot re-use above is our construction
matching its counts. The simulator also draws a trait's loci with replacement (a trait may get
fewer than 10 distinct loci); here they are distinct.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.plink import write_bfile
from phenomap.io.tables import write_tsv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AtlasDesign:
    """Settings of the simulated design (defaults: the published data's, see the module docstring)."""

    n_individuals: int = 3000
    n_loci: int = 3000
    n_traits: int = 30
    n_causal: int = 10
    n_causal_loci: int = 185
    n_states: int = 3
    epistasis: float = 0.2
    noise: float = 0.01
    max_weight: float = 10.0

    def __post_init__(self):
        slots = self.n_traits * self.n_causal
        if not self.n_causal <= self.n_causal_loci <= min(slots, self.n_loci):
            raise InputError(
                f"AtlasDesign.n_causal_loci = {self.n_causal_loci}: must lie between n_causal "
                f"({self.n_causal}) and min(n_traits x n_causal, n_loci) = {min(slots, self.n_loci)}; "
                "change n_causal_loci or the trait and locus counts."
            )
        for name in ("epistasis", "noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"AtlasDesign.{name} = {getattr(self, name)}: must lie in [0, 1].")


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


def _trait_loci(d: AtlasDesign, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(T, n_causal) causal loci of each trait and (n_causal_loci,) the distinct causal loci."""
    k = d.n_causal
    later_new = np.zeros((d.n_traits - 1) * k, bool)
    later_new[rng.choice(len(later_new), d.n_causal_loci - k, replace=False)] = True
    is_new = np.concatenate([np.ones(k, bool), later_new]).reshape(d.n_traits, k)
    fresh = iter(rng.choice(d.n_loci, d.n_causal_loci, replace=False))
    own = np.zeros((d.n_traits, k), dtype=int)
    used: list[int] = []
    for t in range(d.n_traits):
        for c in range(k):
            if is_new[t, c]:
                own[t, c] = next(fresh)
                continue
            candidates = np.setdiff1d(used, own[t, :c])
            own[t, c] = candidates[rng.integers(len(candidates))]
        used += [int(locus) for locus in own[t] if locus not in used]
    return own, np.array(used)


def simulate_atlas_design(design: AtlasDesign = AtlasDesign(), *, seed: int) -> AtlasSimulation:
    """Simulate genotypes and traits of the published design (see the module docstring)."""
    rng = np.random.default_rng(seed)
    d = design
    n, T, k = d.n_individuals, d.n_traits, d.n_states
    states = rng.integers(0, k, size=(n, d.n_loci), dtype=np.int8)
    own, causal = _trait_loci(d, rng)
    effect = dict(zip(causal.tolist(), rng.uniform(0, d.max_weight, size=(len(causal), k))))
    weights = np.zeros((T, d.n_loci, k))
    for t in range(T):
        weights[t, own[t]] = [effect[int(locus)] for locus in own[t]]

    slot = np.arange(d.n_causal)
    genetic = np.stack([weights[t, own[t]][slot, states[:, own[t]]].sum(axis=1) for t in range(T)], axis=1)
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
        n, d.n_loci, T, int(sim.causal.sum()), len(pairs),
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
