"""The toy cohort: msprime genotypes, a few families and traits with a planted truth.

It is the workflow's embedded default data set. Founders are sampled by msprime from two
populations with an out-of-Africa-like history (see :func:`out_of_africa_demography`), one
independent tree sequence per chromosome. Families are founder pairs (one male, one female,
same population) whose offspring receive one simulated gamete from each parent, so every
genotype is Mendel-consistent. Variants are ascertained on the founders as for an array:
biallelic sites with MAF >= ``min_maf``, thinned at random to ``max_variants_per_chromosome``.
A1 is the derived allele (counted), A2 the ancestral one.

Each trait ``trait1..traitT`` has variance close to 1, the sum of

- an additive part of variance ``heritability`` from 1-3 causal variants (MAF >= 0.05) in
  each causal gene, every causal gene contributing the same variance (up to LD). Shared genes
  act on trait1 and trait2 with effects correlated ``SHARED_EFFECT_CORRELATION``, oriented so
  that the gene's two genetic values covary positively (concordant pleiotropy); specific
  genes act on one trait and go, while possible, to chromosomes the trait has no gene on yet;
- ``n_dominance_qtl`` QTL per trait inside its causal genes, alternately dominant (indicator
  of A1 count >= 1) and recessive (A1 count == 2), each of variance ``DOMINANCE_VARIANCE``;
- ``n_epistatic_pairs`` pairs in all, pair k acting on trait (k mod T) + 1, each
  ``beta * x_a * x_b`` with x the A1 count minus its cohort mean (written in truth.json), of
  variance ``EPISTASIS_VARIANCE``; the two variants lie in two causal genes of the trait, on
  different chromosomes when the trait's genes allow it, else as far apart as they can;
- covariates: sex (1 male, 2 female), age (years) and ancestry through PC1, with the
  variances in ``COVARIATE_VARIANCE``;
- environmental noise correlated ``ENVIRONMENT_CORRELATION`` across traits and orthogonal
  in-sample to the parts above, taking the rest of the unit variance.

Dominance variants have MAF >= 0.2, epistatic ones MAF >= 0.1, and both MAF >= 0.05 within
each population, so that a non-additive term is not a proxy for ancestry.

The parts are scaled one by one, so the trait variance is 1 up to their covariances. Those
are not all chance: the genetic value of a trait differs between the two populations, hence
correlates with PC1 and with the ancestry effect. truth.json records the realised
heritability var(A) / var(y) of each trait.

Genotype calls go missing at ``missing_rate``; a few QC failures are planted on purpose
(``PLANTED_VARIANTS``, ``PLANTED_SAMPLES``) and listed in ``qc_planted.tsv``. They are never
causal, and HWE failures and monomorphic variants are planted in the founders' haplotypes
before meiosis, so the pedigree stays Mendel-consistent.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import msprime
import numpy as np
import pandas as pd
from scipy.sparse.linalg import svds
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.io.plink import chrom_sort_key, write_bfile
from phenomap.io.tables import atomic_path, write_tsv
from phenomap.logging import rule_summary

logger = logging.getLogger(__name__)

#: Files written by :func:`simulate_toy_cohort`, all inside its ``out_dir``.
OUTPUT_FILES = (
    "genotypes.bed", "genotypes.bim", "genotypes.fam", "pheno.tsv", "covar.tsv", "pedigree.tsv",
    "genes.tsv", "truth_effects.tsv", "truth_epistasis.tsv", "truth_genes.tsv", "qc_planted.tsv",
    "truth.json",
)

# Demography (generations, diploid effective sizes): an ancestral population splits into a
# branch of constant size ("AFR") and a branch that goes through a bottleneck, then grows
# exponentially for the last EUR_GROWTH_GENERATIONS generations ("EUR"). The split is
# recent (600 generations, F_ST ~ 0.02, like structure within one continental cohort): PCs
# still capture ancestry, but the pooled sample shows no Wahlund-effect HWE failures. With
# an out-of-Africa-deep split (3000 generations, F_ST ~ 0.2) pooled HWE QC at 1e-6 removed
# 13% of the variants, causal ones included, which real cohorts avoid by QC within ancestry.
POPULATIONS = ("AFR", "EUR")
EUR_FRACTION = 0.25  # share of founders sampled from the non-African branch
ANCESTRAL_SIZE = 7_300
AFR_SIZE = 14_000
SPLIT_GENERATIONS = 600
EUR_BOTTLENECK_SIZE = 3_000
EUR_GROWTH_GENERATIONS = 400
EUR_PRESENT_SIZE = 30_000
RECOMBINATION_RATE = 1e-8  # per bp per generation
MUTATION_RATE = 1.25e-8  # per bp per generation
CM_PER_MB = 1.0  # genetic map used for meiosis and the .bim CM column

#: Allele pairs that stay distinguishable on the opposite strand (no A/T, no C/G).
UNAMBIGUOUS_ALLELES = (("A", "C"), ("A", "G"), ("C", "A"), ("C", "T"), ("G", "A"), ("G", "T"), ("T", "C"), ("T", "G"))

GENE_LENGTH_BP = (10_000, 80_000)
GENE_SLOT_BP = 100_000  # room per gene: the longest gene plus a gap
CAUSAL_MIN_MAF = 0.05
EPISTASIS_MIN_MAF = 0.1
DOMINANCE_MIN_MAF = 0.2
NON_ADDITIVE_MIN_MAF_PER_POPULATION = 0.05  # so that a dominance/epistasis term is not an ancestry proxy
MIN_CANDIDATES_PER_CAUSAL_GENE = 5  # variants with MAF >= CAUSAL_MIN_MAF a causal gene must hold
SHARED_EFFECT_CORRELATION = 0.8
ENVIRONMENT_CORRELATION = 0.3
DOMINANCE_VARIANCE = 0.02  # per QTL, in trait variance units (total variance ~1)
EPISTASIS_VARIANCE = 0.03  # per pair
COVARIATE_VARIANCE = {"sex": 0.02, "age": 0.01, "PC1": 0.03}
MIN_ENVIRONMENT_VARIANCE = 0.05
PHENOTYPE_MISSING_RATE = 0.01
AGE_YEARS = (20.0, 70.0)
N_PCS = 3

#: Planted QC failures: number of variants per reason, and of samples with many missing calls.
PLANTED_VARIANTS = {"high_missingness": 5, "hwe_violation": 3, "monomorphic": 2}
PLANTED_SAMPLES = 3
PLANTED_VARIANT_MISSING_RATE = 0.20
PLANTED_SAMPLE_MISSING_RATE = 0.15
HWE_PLANT_MIN_MAF = 0.2  # an HWE failure is planted on a common variant, so that it is strong

# Random streams (SeedSequence spawn keys) so that changing one setting leaves the others alone.
_CHROMOSOME, _ALLELES, _PEDIGREE, _GENES, _MEIOSIS, _MISSING, _TRAITS = range(7)


@dataclass(frozen=True)
class ToyParams:
    """Settings of the toy cohort; each field is a config key under ``cohorts.<name>.toy``.

    Attributes
    ----------
    n_founders : unrelated individuals sampled by msprime (75 % AFR-like, 25 % EUR-like).
    n_families : parent pairs drawn from the founders (disjoint; one male, one female, same population).
    offspring_per_family : children per family.
    n_chromosomes, chromosome_mb : number and length (Mb) of the simulated chromosomes.
    max_variants_per_chromosome : array-like thinning after MAF ascertainment.
    min_maf : MAF threshold of the ascertainment, among founders.
    missing_rate : probability that a genotype call is missing.
    n_traits : number of traits, named trait1..traitN.
    n_genes : synthetic genes, spread evenly over the chromosomes.
    n_shared_genes : genes causal for trait1 and trait2 (correlated effects).
    n_specific_genes : genes causal for exactly one trait, per trait.
    heritability : variance of the additive genetic value of each trait (total variance ~1).
    n_epistatic_pairs : multiplicative variant pairs in all, pair k acting on trait k mod n_traits.
    n_dominance_qtl : non-additive QTL per trait, alternately dominant and recessive.
    """

    n_founders: int = 1000
    n_families: int = 100
    offspring_per_family: int = 2
    n_chromosomes: int = 2
    chromosome_mb: float = 4.0
    max_variants_per_chromosome: int = 3000
    min_maf: float = 0.01
    missing_rate: float = 0.01
    n_traits: int = 3
    n_genes: int = 40
    n_shared_genes: int = 4
    n_specific_genes: int = 2
    heritability: float = 0.5
    n_epistatic_pairs: int = 3
    n_dominance_qtl: int = 2

    def validate(self) -> None:
        """Raise InputError naming the first impossible setting and how to fix it."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise _bad_setting(field.name, value, "must be a number")
            if isinstance(field.default, int) and not isinstance(value, (int, np.integer)):
                raise _bad_setting(field.name, value, "must be an integer")
        minimum = {
            "n_founders": 20, "n_families": 0, "offspring_per_family": 1, "n_chromosomes": 1,
            "max_variants_per_chromosome": 50, "n_traits": 1, "n_genes": 1, "n_shared_genes": 0,
            "n_specific_genes": 0, "n_epistatic_pairs": 0, "n_dominance_qtl": 0,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise _bad_setting(name, getattr(self, name), f"must be at least {low}")
        if not 0 < self.chromosome_mb <= 300:
            raise _bad_setting("chromosome_mb", self.chromosome_mb, "must be in (0, 300]")
        if not 0 <= self.min_maf < 0.5:
            raise _bad_setting("min_maf", self.min_maf, "must be in [0, 0.5)")
        if not 0 <= self.missing_rate <= 0.05:
            raise _bad_setting(
                "missing_rate", self.missing_rate, "must be in [0, 0.05] so that planted QC failures stand out"
            )
        if not 0 < self.heritability < 1:
            raise _bad_setting("heritability", self.heritability, "must be in (0, 1)")

        capacity = family_capacity(self.n_founders)
        if self.n_families > capacity:
            raise _bad_setting(
                "n_families", self.n_families,
                f"needs two founders of the same population per family (one male, one female); "
                f"n_founders={self.n_founders} allows at most {capacity} families",
            )
        if self.n_shared_genes > 0 and self.n_traits < 2:
            raise _bad_setting(
                "n_shared_genes", self.n_shared_genes, "needs n_traits >= 2 (shared genes act on trait1 and trait2)"
            )
        for t in range(self.n_traits):
            if self.genes_per_trait(t) == 0:
                raise _bad_setting(
                    "n_specific_genes", self.n_specific_genes,
                    f"leaves trait{t + 1} without a causal gene; use at least 1",
                )
        if self.n_causal_genes > self.n_genes:
            raise _bad_setting(
                "n_genes", self.n_genes,
                f"is below the {self.n_causal_genes} causal genes (n_shared_genes + n_traits * n_specific_genes)",
            )
        genes_per_chromosome = -(-self.n_genes // self.n_chromosomes)
        if genes_per_chromosome * GENE_SLOT_BP > self.chromosome_mb * 1e6:
            raise _bad_setting(
                "n_genes", self.n_genes,
                f"puts {genes_per_chromosome} genes on a {self.chromosome_mb} Mb chromosome, but each gene "
                f"needs {GENE_SLOT_BP // 1000} kb; lower n_genes or raise chromosome_mb / n_chromosomes",
            )
        for t in range(min(self.n_epistatic_pairs, self.n_traits)):
            if self.genes_per_trait(t) < 2:
                raise _bad_setting(
                    "n_epistatic_pairs", self.n_epistatic_pairs,
                    f"gives trait{t + 1} an epistatic pair, which needs two of its causal genes but it has "
                    f"{self.genes_per_trait(t)}; raise n_specific_genes or lower n_epistatic_pairs",
                )
        for t in range(self.n_traits):
            if self.environment_variance(t) < MIN_ENVIRONMENT_VARIANCE:
                raise _bad_setting(
                    "heritability", self.heritability,
                    f"leaves trait{t + 1} an environmental variance of {self.environment_variance(t):.3f} after "
                    f"dominance, epistasis and covariates; it must be at least {MIN_ENVIRONMENT_VARIANCE}: "
                    "lower heritability, n_dominance_qtl or n_epistatic_pairs",
                )

    @property
    def n_causal_genes(self) -> int:
        return self.n_shared_genes + self.n_traits * self.n_specific_genes

    def genes_per_trait(self, trait: int) -> int:
        """Causal genes of trait ``trait`` (0-based)."""
        shared = self.n_shared_genes if trait < 2 and self.n_traits >= 2 else 0
        return shared + self.n_specific_genes

    def epistatic_pairs_of_trait(self, trait: int) -> int:
        """Epistatic pairs acting on trait ``trait`` (0-based): pair k acts on trait k mod n_traits."""
        return len(range(trait, self.n_epistatic_pairs, self.n_traits))

    def environment_variance(self, trait: int) -> float:
        """Variance left to the environmental noise of trait ``trait`` (0-based)."""
        return (
            1.0 - self.heritability - self.n_dominance_qtl * DOMINANCE_VARIANCE
            - self.epistatic_pairs_of_trait(trait) * EPISTASIS_VARIANCE - sum(COVARIATE_VARIANCE.values())
        )


def _bad_setting(name: str, value, why: str) -> InputError:
    return InputError(f"toy cohort setting {name}={value!r} {why}; change cohorts.<cohort>.toy.{name} in the config.")


def population_sizes(n_founders: int) -> dict[str, int]:
    """Founders sampled from each population: EUR_FRACTION from EUR, the rest from AFR."""
    n_eur = round(EUR_FRACTION * n_founders)
    return {"AFR": n_founders - n_eur, "EUR": n_eur}


def family_capacity(n_founders: int) -> int:
    """Most families that fit: half of each population is female (rounded down)."""
    return sum(n // 2 for n in population_sizes(n_founders).values())


@dataclass(frozen=True)
class ToyCohort:
    """Where a toy cohort was written and what it holds.

    ``bfile`` is the PLINK prefix (``genotypes``); the other paths are the TSV/JSON outputs.
    """

    out_dir: Path
    bfile: Path
    pheno: Path
    covar: Path
    pedigree: Path
    genes: Path
    truth_effects: Path
    truth_epistasis: Path
    truth_genes: Path
    qc_planted: Path
    truth: Path
    n_samples: int
    n_founders: int
    n_offspring: int
    n_variants: int
    variants_per_chromosome: Mapping[str, int]
    n_causal_variants: int


def out_of_africa_demography() -> msprime.Demography:
    """Two-population history: AFR constant, EUR bottlenecked then growing, split from ANC."""
    demography = msprime.Demography()
    demography.add_population(name="AFR", initial_size=AFR_SIZE, description="African-like branch")
    demography.add_population(
        name="EUR", initial_size=EUR_PRESENT_SIZE,
        growth_rate=np.log(EUR_PRESENT_SIZE / EUR_BOTTLENECK_SIZE) / EUR_GROWTH_GENERATIONS,
        description="non-African branch: bottleneck, then exponential growth",
    )
    demography.add_population(name="ANC", initial_size=ANCESTRAL_SIZE, description="ancestral population")
    demography.add_population_parameters_change(
        time=EUR_GROWTH_GENERATIONS, population="EUR", initial_size=EUR_BOTTLENECK_SIZE, growth_rate=0
    )
    demography.add_population_split(time=SPLIT_GENERATIONS, derived=["AFR", "EUR"], ancestral="ANC")
    demography.sort_events()
    return demography


def _stream(seed: int, *key: int) -> np.random.SeedSequence:
    """The independent random stream ``key`` of a run seeded ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=key)


def _msprime_seed(sequence: np.random.SeedSequence) -> int:
    return int(sequence.generate_state(1)[0]) % (2**32 - 2) + 1


def simulate_founder_chromosome(
    sizes: Mapping[str, int], sequence_length: int, *, min_maf: float, max_variants: int,
    seed: np.random.SeedSequence,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chromosome of the founders, ascertained like an array.

    Sites carry exactly one mutation (biallelic, derived allele known), have founder
    MAF >= ``min_maf`` and are thinned at random to ``max_variants``. Returns
    ``haplotypes`` (n_individuals, 2, m) int8 derived-allele indicators, ``positions`` (m,)
    1-based int64 and ``population`` (n_individuals,) names, in msprime's individual order
    (the populations of ``sizes`` one after the other).
    """
    ancestry, mutation, thinning = (
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k)) for k in range(3)
    )
    ts = msprime.sim_ancestry(
        samples=dict(sizes), demography=out_of_africa_demography(), sequence_length=sequence_length,
        recombination_rate=RECOMBINATION_RATE, ploidy=2, random_seed=_msprime_seed(ancestry),
    )
    ts = msprime.sim_mutations(
        ts, rate=MUTATION_RATE, model=msprime.BinaryMutationModel(), discrete_genome=True,
        random_seed=_msprime_seed(mutation),
    )
    mutations_per_site = np.bincount(ts.tables.mutations.site, minlength=ts.num_sites)
    ts = ts.delete_sites(np.flatnonzero(mutations_per_site != 1))
    keep = _ascertain(_derived_counts(ts) / ts.num_samples, min_maf, max_variants, np.random.default_rng(thinning))
    logger.info("%d biallelic sites, %d kept", ts.num_sites, len(keep))
    ts = ts.delete_sites(np.setdiff1d(np.arange(ts.num_sites), keep))
    haplotypes = ts.genotype_matrix().T.astype(np.int8).reshape(ts.num_individuals, 2, ts.num_sites)
    positions = ts.tables.sites.position.astype(np.int64) + 1
    names = np.array([ts.population(p).metadata["name"] for p in range(ts.num_populations)])
    population = names[ts.tables.nodes.population[ts.samples()[::2]]]
    return haplotypes, positions, population


def _derived_counts(ts) -> np.ndarray:
    """Sample haplotypes carrying the derived allele of each site (one mutation per site)."""
    counts = np.empty(ts.num_sites, dtype=np.int64)
    for tree in ts.trees():
        for site in tree.sites():
            counts[site.id] = tree.num_samples(site.mutations[0].node)
    return counts


def _ascertain(freq: np.ndarray, min_maf: float, max_variants: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of sites with MAF >= min_maf (and > 0), thinned at random to ``max_variants``."""
    maf = np.minimum(freq, 1 - freq)
    passing = np.flatnonzero((maf >= min_maf) & (maf > 0))
    if len(passing) > max_variants:
        passing = np.sort(rng.choice(passing, max_variants, replace=False))
    return passing


def _simulate_founders(params: ToyParams, seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Founder haplotypes (n_founders, 2, m) in msprime order, the .bim table and populations."""
    chromosome_bp = round(params.chromosome_mb * 1e6)
    blocks, tables, population = [], [], None
    for chrom in tqdm(range(1, params.n_chromosomes + 1), desc="toy cohort: chromosomes", mininterval=5):
        haplotypes, pos, population = simulate_founder_chromosome(
            population_sizes(params.n_founders), chromosome_bp, min_maf=params.min_maf,
            max_variants=params.max_variants_per_chromosome, seed=_stream(seed, _CHROMOSOME, chrom),
        )
        rng = np.random.default_rng(_stream(seed, _ALLELES, chrom))
        alleles = np.array(UNAMBIGUOUS_ALLELES)[rng.integers(len(UNAMBIGUOUS_ALLELES), size=len(pos))]
        tables.append(pd.DataFrame({
            "CHROM": str(chrom), "ID": [f"{chrom}:{p}" for p in pos], "CM": pos / 1e6 * CM_PER_MB,
            "POS": pos, "A1": alleles[:, 0], "A2": alleles[:, 1],
        }))
        blocks.append(haplotypes)
    return np.concatenate(blocks, axis=2), pd.concat(tables, ignore_index=True), population


def _pedigree(population: np.ndarray, params: ToyParams, rng: np.random.Generator) -> pd.DataFrame:
    """Sample table: founders (in the given order) then offspring, family by family.

    Columns FID IID SIRE DAM SEX population, and ``sire_row``/``dam_row`` (row of each
    parent, -1 for founders).
    """
    n_founders = len(population)
    n_total = n_founders + params.n_families * params.offspring_per_family
    iid = np.array([f"I{i + 1:0{max(4, len(str(n_total)))}d}" for i in range(n_total)])
    sex = np.zeros(n_founders, dtype=int)
    parents = []
    sizes = population_sizes(n_founders)
    share = {pop: min(sizes[pop] // 2, params.n_families * sizes[pop] // n_founders) for pop in POPULATIONS}
    for pop in POPULATIONS:
        extra = min(params.n_families - sum(share.values()), sizes[pop] // 2 - share[pop])
        share[pop] += extra
    for pop in POPULATIONS:
        members = rng.permutation(np.flatnonzero(population == pop))
        n_male = (len(members) + 1) // 2
        sex[members[:n_male]], sex[members[n_male:]] = 1, 2
        fathers = rng.choice(members[:n_male], share[pop], replace=False)
        mothers = rng.choice(members[n_male:], share[pop], replace=False)
        parents.extend(zip(fathers, mothers))
    parents.sort()
    fid = iid[:n_founders].astype(object)
    sire_row, dam_row, child_fid, child_pop = [], [], [], []
    for k, (father, mother) in enumerate(parents):
        family = f"F{k + 1:0{max(3, len(str(params.n_families)))}d}"
        fid[[father, mother]] = family
        sire_row += [father] * params.offspring_per_family
        dam_row += [mother] * params.offspring_per_family
        child_fid += [family] * params.offspring_per_family
        child_pop += [population[father]] * params.offspring_per_family
    n_children = len(sire_row)
    sire_row = np.array([-1] * n_founders + sire_row, dtype=int)
    dam_row = np.array([-1] * n_founders + dam_row, dtype=int)
    return pd.DataFrame({
        "FID": np.concatenate([fid, np.array(child_fid, dtype=str)]),
        "IID": iid,
        "SIRE": np.where(sire_row >= 0, iid[sire_row], "0"),
        "DAM": np.where(dam_row >= 0, iid[dam_row], "0"),
        "SEX": np.concatenate([sex, rng.integers(1, 3, size=n_children)]),
        "population": np.concatenate([population, np.array(child_pop, dtype=str)]),
        "sire_row": sire_row,
        "dam_row": dam_row,
    })


def _gametes(parents: np.ndarray, positions: np.ndarray, chromosome_bp: int, rng: np.random.Generator) -> np.ndarray:
    """One gamete per parent by meiosis: (k, 2, m) phased haplotypes -> (k, m) transmitted alleles.

    Crossovers are Poisson with mean the chromosome length in Morgans (CM_PER_MB), placed
    uniformly; the gamete starts on a random haplotype and switches at each crossover.
    """
    k, _, m = parents.shape
    first = rng.integers(0, 2, size=k)
    n_crossovers = rng.poisson(chromosome_bp / 1e8 * CM_PER_MB, size=k)
    strand = np.repeat(first[:, None], m, axis=1)
    for i in np.flatnonzero(n_crossovers):
        crossovers = np.sort(rng.uniform(0, chromosome_bp, n_crossovers[i]))
        strand[i] = (first[i] + np.searchsorted(crossovers, positions)) % 2
    return np.take_along_axis(parents, strand[:, None, :], axis=1)[:, 0, :]


def _offspring_genotypes(
    haplotypes: np.ndarray, bim: pd.DataFrame, samples: pd.DataFrame, chromosome_bp: int, rng: np.random.Generator
) -> np.ndarray:
    """A1 counts (n_offspring, m) of the offspring, one gamete from each parent per chromosome."""
    children = samples[samples.sire_row >= 0]
    genotypes = np.zeros((len(children), haplotypes.shape[2]), dtype=np.int8)
    for chrom in bim.CHROM.unique():
        on = np.flatnonzero(bim.CHROM.to_numpy() == chrom)
        positions = bim.POS.to_numpy()[on]
        for parent in ("sire_row", "dam_row"):
            parent_haplotypes = haplotypes[children[parent].to_numpy()][:, :, on]
            genotypes[:, on] += _gametes(parent_haplotypes, positions, chromosome_bp, rng)
    return genotypes


def _make_genes(params: ToyParams, rng: np.random.Generator) -> pd.DataFrame:
    """Non-overlapping genes ``gene_id symbol chrom start stop strand`` (1-based, inclusive).

    Each chromosome is cut into equal slots, one gene per slot at a random offset.
    """
    chromosome_bp = round(params.chromosome_mb * 1e6)
    per_chromosome = np.full(params.n_chromosomes, params.n_genes // params.n_chromosomes)
    per_chromosome[: params.n_genes % params.n_chromosomes] += 1
    frames = []
    for chrom, k in enumerate(per_chromosome, start=1):
        slot = chromosome_bp // max(k, 1)
        length = rng.integers(GENE_LENGTH_BP[0], GENE_LENGTH_BP[1] + 1, size=k)
        start = np.arange(k) * slot + rng.integers(0, slot - length + 1) + 1
        frames.append(pd.DataFrame({
            "chrom": str(chrom), "start": start, "stop": start + length - 1, "strand": rng.choice(["+", "-"], size=k),
        }))
    genes = pd.concat(frames, ignore_index=True)
    genes.insert(0, "gene_id", np.arange(1, len(genes) + 1))
    genes.insert(1, "symbol", [f"GENE{i:0{max(2, len(str(params.n_genes)))}d}" for i in genes.gene_id])
    return genes


def _maf(genotypes: np.ndarray) -> np.ndarray:
    """Minor allele frequency of each column of (n, m) allele counts."""
    freq = genotypes.mean(axis=0) / 2
    return np.minimum(freq, 1 - freq)


def _variants_in_genes(bim: pd.DataFrame, genes: pd.DataFrame) -> dict[int, np.ndarray]:
    """Row indices of the variants inside each gene, keyed by gene_id."""
    chrom, pos = bim.CHROM.to_numpy(), bim.POS.to_numpy()
    return {
        g.gene_id: np.flatnonzero((chrom == g.chrom) & (pos >= g.start) & (pos <= g.stop))
        for g in genes.itertuples()
    }


def _causal_genes(
    genes: pd.DataFrame, eligible: list[int], params: ToyParams, rng: np.random.Generator
) -> pd.DataFrame:
    """Truth table ``gene symbol trait role``: shared genes for trait1+trait2, specific per trait.

    ``eligible`` genes hold enough common variants for every kind of causal variant.
    """
    if len(eligible) < params.n_causal_genes:
        raise InputError(
            f"toy cohort: only {len(eligible)} of {params.n_genes} genes hold {MIN_CANDIDATES_PER_CAUSAL_GENE} "
            f"variants with MAF >= {CAUSAL_MIN_MAF} (two with MAF >= {DOMINANCE_MIN_MAF}, common in both "
            f"populations), but "
            f"{params.n_causal_genes} causal genes are needed; raise cohorts.<cohort>.toy.max_variants_per_chromosome "
            "or n_founders, or lower n_shared_genes/n_specific_genes."
        )
    chrom = genes.set_index("gene_id").chrom
    pool = list(rng.permutation(np.array(eligible)))
    shared = [pool.pop() for _ in range(params.n_shared_genes)]
    rows = [(g, t, "shared") for g in shared for t in (1, 2)]
    own = {t: list(shared) if t <= 2 else [] for t in range(1, params.n_traits + 1)}
    for _ in range(params.n_specific_genes):
        for t in own:  # round robin, each trait preferring a chromosome it has no gene on yet
            gene = next((g for g in pool if chrom[g] not in set(chrom[own[t]])), pool[0])
            pool.remove(gene)
            own[t].append(gene)
            rows.append((gene, t, "specific"))
    table = pd.DataFrame(rows, columns=["gene", "trait", "role"])
    table.insert(1, "symbol", table.gene.map(genes.set_index("gene_id").symbol))
    table["trait"] = "trait" + table.trait.astype(str)
    return table.sort_values(["gene", "trait"], ignore_index=True)


def _plant_effects(
    bim: pd.DataFrame, founder_genotypes: np.ndarray, population: np.ndarray, genes: pd.DataFrame,
    params: ToyParams, rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Choose the causal genes and variants, with raw (unscaled) effects.

    ``founder_genotypes`` (n_founders, m) are true A1 counts, ``population`` (n_founders,)
    names. Dominance and epistatic variants must also have MAF >=
    NON_ADDITIVE_MIN_MAF_PER_POPULATION in each population.
    Per trait, epistatic pairs are drawn first, then dominance QTL, then 1-3 additive
    variants per causal gene, all distinct. Returns ``truth_genes``, ``effects``
    (``variant trait beta model gene``, variant = bim row) and ``epistasis``
    (``variant_a variant_b trait beta``).
    """
    maf = _maf(founder_genotypes)
    everywhere = np.min([_maf(founder_genotypes[population == pop]) for pop in POPULATIONS], axis=0)
    segregating = everywhere >= NON_ADDITIVE_MIN_MAF_PER_POPULATION
    in_gene = _variants_in_genes(bim, genes)
    candidates = {g: v[maf[v] >= CAUSAL_MIN_MAF] for g, v in in_gene.items()}
    eligible = [
        g for g, v in candidates.items()
        if len(v) >= MIN_CANDIDATES_PER_CAUSAL_GENE and ((maf[v] >= DOMINANCE_MIN_MAF) & segregating[v]).sum() >= 2
    ]
    truth_genes = _causal_genes(genes, eligible, params, rng)
    used = np.zeros(len(bim), dtype=bool)

    def unused(gene: int, min_maf: float, *, non_additive: bool = False) -> np.ndarray:
        v = candidates[gene]
        return v[~used[v] & (maf[v] >= min_maf) & (segregating[v] | (not non_additive))]

    effects, epistasis = [], []
    for t in range(params.n_traits):
        trait = f"trait{t + 1}"
        trait_genes = truth_genes.gene[truth_genes.trait == trait].to_numpy()
        for _ in range(params.epistatic_pairs_of_trait(t)):
            a, b = _epistatic_pair(genes.set_index("gene_id").loc[trait_genes], unused, rng, trait)
            used[[a, b]] = True
            epistasis.append((a, b, trait, rng.choice([-1.0, 1.0])))
        pool = np.concatenate([unused(g, DOMINANCE_MIN_MAF, non_additive=True) for g in trait_genes])
        if len(pool) < params.n_dominance_qtl:
            raise InputError(
                f"toy cohort: {trait} has {len(pool)} unused variants with MAF >= {DOMINANCE_MIN_MAF} in its causal "
                f"genes, fewer than n_dominance_qtl={params.n_dominance_qtl}; lower "
                "cohorts.<cohort>.toy.n_dominance_qtl or raise max_variants_per_chromosome."
            )
        picked = np.sort(rng.choice(pool, params.n_dominance_qtl, replace=False))
        used[picked] = True
        for k, v in enumerate(picked):
            gene = next(g for g in trait_genes if v in in_gene[g])
            effects.append((v, trait, rng.choice([-1.0, 1.0]), ("dominant", "recessive")[k % 2], gene))

    for gene, rows in truth_genes.groupby("gene", sort=False):
        pool = unused(gene, CAUSAL_MIN_MAF)
        if len(pool) == 0:
            raise InputError(
                f"toy cohort: causal gene {gene} has no variant left for an additive effect; lower "
                "cohorts.<cohort>.toy.n_dominance_qtl / n_epistatic_pairs or raise max_variants_per_chromosome."
            )
        picked = np.sort(rng.choice(pool, min(int(rng.integers(1, 4)), len(pool)), replace=False))
        used[picked] = True
        if len(rows) == 2:
            correlation = [[1.0, SHARED_EFFECT_CORRELATION], [SHARED_EFFECT_CORRELATION, 1.0]]
            betas = rng.multivariate_normal([0.0, 0.0], correlation, size=len(picked))
            ld = np.atleast_2d(np.cov(founder_genotypes[:, picked], rowvar=False))
            if betas[:, 0] @ ld @ betas[:, 1] < 0:  # concordant pleiotropy
                betas[:, 1] *= -1
        else:
            betas = rng.normal(size=(len(picked), 1))
        for j, trait in enumerate(rows.trait):
            effects += [(v, trait, b, "additive", gene) for v, b in zip(picked, betas[:, j])]
    effects = pd.DataFrame(effects, columns=["variant", "trait", "beta", "model", "gene"])
    epistasis = pd.DataFrame(epistasis, columns=["variant_a", "variant_b", "trait", "beta"])
    return truth_genes, effects, epistasis


def _epistatic_pair(trait_genes: pd.DataFrame, unused, rng: np.random.Generator, trait: str) -> tuple[int, int]:
    """Two unused variants (MAF >= EPISTASIS_MIN_MAF) in two of the trait's genes.

    Gene pairs on different chromosomes come first (in random order), then same-chromosome
    pairs from the farthest apart.
    """
    middle = (trait_genes.start + trait_genes.stop) / 2

    def preference(pair: tuple[int, int], tiebreak: int) -> tuple:
        a, b = pair
        same_chromosome = trait_genes.chrom[a] == trait_genes.chrom[b]
        return same_chromosome, -abs(middle[a] - middle[b]) if same_chromosome else 0.0, tiebreak

    pairs = list(itertools.combinations(trait_genes.index, 2))
    for (a, b), _ in sorted(zip(pairs, rng.permutation(len(pairs))), key=lambda p: preference(*p)):
        pool_a, pool_b = (unused(g, EPISTASIS_MIN_MAF, non_additive=True) for g in (a, b))
        if len(pool_a) and len(pool_b):
            return int(rng.choice(pool_a)), int(rng.choice(pool_b))
    raise InputError(
        f"toy cohort: no two causal genes of {trait} have unused variants with MAF >= {EPISTASIS_MIN_MAF} for an "
        "epistatic pair; lower cohorts.<cohort>.toy.n_epistatic_pairs or raise max_variants_per_chromosome."
    )


def _planted_variants(maf: np.ndarray, causal: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Non-causal variants chosen to fail QC, per reason (row indices); HWE failures need a common variant."""
    free = np.ones(len(maf), dtype=bool)
    free[causal] = False
    planted = {}
    for reason, count in PLANTED_VARIANTS.items():
        pool = np.flatnonzero(free & (maf >= HWE_PLANT_MIN_MAF) if reason == "hwe_violation" else free)
        if len(pool) < count:
            raise InputError(
                f"toy cohort: too few non-causal variants to plant {count} {reason} QC failures; raise "
                "cohorts.<cohort>.toy.max_variants_per_chromosome or n_chromosomes."
            )
        planted[reason] = np.sort(rng.choice(pool, count, replace=False))
        free[planted[reason]] = False
    return planted


def _plant_in_founders(haplotypes: np.ndarray, planted: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Make HWE failures (every founder homozygous) and monomorphic variants, in place."""
    for j in planted["hwe_violation"]:
        kept = haplotypes[np.arange(len(haplotypes)), rng.integers(0, 2, size=len(haplotypes)), j]
        haplotypes[:, 0, j] = haplotypes[:, 1, j] = kept
    haplotypes[:, :, planted["monomorphic"]] = 0


def _observed(
    genotypes: np.ndarray, planted_variants: np.ndarray, planted_samples: np.ndarray, missing_rate: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Genotype calls (n, m) float32 with NaN: random missingness plus planted high-missingness."""
    observed = genotypes.astype(np.float32)
    observed[rng.random(observed.shape) < missing_rate] = np.nan
    block = observed[:, planted_variants]
    block[rng.random(block.shape) < PLANTED_VARIANT_MISSING_RATE] = np.nan
    observed[:, planted_variants] = block
    block = observed[planted_samples]
    block[rng.random(block.shape) < PLANTED_SAMPLE_MISSING_RATE] = np.nan
    observed[planted_samples] = block
    return observed


def principal_components(genotypes: np.ndarray, founders: np.ndarray, n_components: int) -> np.ndarray:
    """Ancestry PCs: standardise by founder mean/sd, SVD on founders, project every sample.

    genotypes: (n, m) A1 counts, NaN = missing (set to the founder mean); founders: (n,)
    bool. Returns (n, n_components) scores, unit variance among founders, each sign fixed
    so that the variant with the largest absolute loading loads positively.
    """
    genotypes = np.asarray(genotypes, dtype=np.float64)
    mean = np.nanmean(genotypes[founders], axis=0)
    sd = np.nanstd(genotypes[founders], axis=0)
    z = np.nan_to_num((genotypes - mean) / sd)
    _, singular, vt = svds(z[founders], k=n_components, random_state=0)
    order = np.argsort(singular)[::-1]
    singular, loadings = singular[order], vt[order].T
    loadings *= np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(n_components)])
    return z @ loadings / singular * np.sqrt(founders.sum())


def _scaled(values: np.ndarray, variance: float) -> float:
    """Effect size giving ``values`` the target variance."""
    return float(np.sqrt(variance / values.var()))


def _phenotypes(
    genotypes: np.ndarray, samples: pd.DataFrame, pcs: np.ndarray, effects: pd.DataFrame, epistasis: pd.DataFrame,
    params: ToyParams, rng: np.random.Generator,
) -> dict:
    """Traits from true genotypes; scales the raw effects to their target variances in place.

    Returns ``pheno`` (n, T) with NaN for missing phenotypes, ``additive`` (n, T), ``age``,
    ``covariate_effects`` {trait: {covariate: beta per unit}} and ``epistasis_centre``
    {variant row: cohort mean A1 count}.
    """
    n, traits = len(samples), [f"trait{t + 1}" for t in range(params.n_traits)]

    def counts(variants) -> np.ndarray:
        return genotypes[:, variants].astype(np.float64)

    additive = np.zeros((n, params.n_traits))
    non_additive = np.zeros((n, params.n_traits))
    for t, trait in enumerate(traits):
        trait_rows = effects.index[(effects.trait == trait) & (effects.model == "additive")]
        for _, rows in effects.loc[trait_rows].groupby("gene"):
            # equal per-gene variance ignoring LD, so that effects cancelling in LD are not blown up
            x = counts(rows.variant.to_numpy())
            scale = 1.0 / np.sqrt(np.sum(rows.beta.to_numpy() ** 2 * x.var(axis=0)))
            effects.loc[rows.index, "beta"] *= scale
            additive[:, t] += (x - x.mean(axis=0)) @ rows.beta.to_numpy() * scale
        scale = _scaled(additive[:, t], params.heritability)
        effects.loc[trait_rows, "beta"] *= scale
        additive[:, t] *= scale
    for row in effects.index[effects.model != "additive"]:
        x = counts(effects.variant[row])
        indicator = (x >= 1.0) if effects.model[row] == "dominant" else (x == 2.0)
        effects.loc[row, "beta"] *= _scaled(indicator, DOMINANCE_VARIANCE)
        non_additive[:, traits.index(effects.trait[row])] += effects.beta[row] * indicator
    centre = {}
    for row in epistasis.index:
        a, b = epistasis.variant_a[row], epistasis.variant_b[row]
        centre[a], centre[b] = counts(a).mean(), counts(b).mean()
        product = (counts(a) - centre[a]) * (counts(b) - centre[b])
        epistasis.loc[row, "beta"] *= _scaled(product, EPISTASIS_VARIANCE)
        non_additive[:, traits.index(epistasis.trait[row])] += epistasis.beta[row] * product

    age = np.round(rng.uniform(*AGE_YEARS, size=n), 1)
    covariates = {"sex": samples.SEX.to_numpy(float), "age": age, "PC1": pcs[:, 0]}
    covariate_effects, covariate_part = {}, np.zeros((n, params.n_traits))
    for t, trait in enumerate(traits):
        covariate_effects[trait] = {}
        for name, x in covariates.items():
            beta = rng.choice([-1.0, 1.0]) * _scaled(x, COVARIATE_VARIANCE[name])
            covariate_effects[trait][name] = beta
            covariate_part[:, t] += beta * (x - x.mean())
    variances = np.array([params.environment_variance(t) for t in range(params.n_traits)])
    noise = _environment([additive, non_additive, covariate_part], variances, rng)
    pheno = additive + non_additive + covariate_part + noise
    pheno[rng.random(pheno.shape) < PHENOTYPE_MISSING_RATE] = np.nan
    return {
        "pheno": pheno, "additive": additive, "age": age,
        "covariate_effects": covariate_effects, "epistasis_centre": centre,
    }


def _environment(parts: list[np.ndarray], variances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Environmental noise (n, T) with the given per-trait variances.

    Draws are correlated ENVIRONMENT_CORRELATION across traits, then made orthogonal
    in-sample to each part (n, T) of their trait, so that no chance covariance with the
    genetic value shifts the realised heritability.
    """
    n, n_traits = parts[0].shape
    correlation = np.full((n_traits, n_traits), ENVIRONMENT_CORRELATION)
    np.fill_diagonal(correlation, 1.0)
    draws = rng.multivariate_normal(np.zeros(n_traits), correlation, size=n)
    noise = np.empty_like(draws)
    for t in range(n_traits):
        design = np.column_stack([np.ones(n)] + [part[:, t] for part in parts])
        residual = draws[:, t] - design @ np.linalg.lstsq(design, draws[:, t], rcond=None)[0]
        noise[:, t] = residual * np.sqrt(variances[t] / residual.var())
    return noise


def _correlation(values: np.ndarray, traits: list[str]) -> dict:
    """Pairwise-complete correlation matrix as a nested {trait: {trait: r}} dict."""
    matrix = pd.DataFrame(values, columns=traits).corr()
    return {a: {b: round(float(matrix.loc[a, b]), 6) for b in traits} for a in traits}


def simulate_toy_cohort(out_dir: str | Path, params: ToyParams, *, seed: int) -> ToyCohort:
    """Simulate the toy cohort and write :data:`OUTPUT_FILES` into ``out_dir``.

    The same ``params`` and ``seed`` give byte-identical files. Raises InputError for
    impossible settings (see :meth:`ToyParams.validate`), a negative seed, or a cohort too
    small to hold the requested causal variants.
    """
    params.validate()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"toy cohort seed {seed!r} must be a non-negative integer; fix `seed` in the config.")
    seed = int(seed)
    out_dir = Path(out_dir)
    chromosome_bp = round(params.chromosome_mb * 1e6)
    traits = [f"trait{t + 1}" for t in range(params.n_traits)]

    msprime_haplotypes, bim, msprime_population = _simulate_founders(params, seed)
    pedigree_rng = np.random.default_rng(_stream(seed, _PEDIGREE))
    order = pedigree_rng.permutation(params.n_founders)
    haplotypes, population = msprime_haplotypes[order], msprime_population[order]
    samples = _pedigree(population, params, pedigree_rng)
    founders = (samples.sire_row < 0).to_numpy()

    genes_rng = np.random.default_rng(_stream(seed, _GENES))
    genes = _make_genes(params, genes_rng)
    founder_genotypes = haplotypes.sum(axis=1, dtype=np.int8)
    maf = _maf(founder_genotypes)
    truth_genes, effects, epistasis = _plant_effects(bim, founder_genotypes, population, genes, params, genes_rng)
    causal = np.unique(np.concatenate([effects.variant, epistasis.variant_a, epistasis.variant_b]))
    planted = _planted_variants(maf, causal, genes_rng)
    _plant_in_founders(haplotypes, planted, genes_rng)

    meiosis_rng = np.random.default_rng(_stream(seed, _MEIOSIS))
    offspring = _offspring_genotypes(haplotypes, bim, samples, chromosome_bp, meiosis_rng)
    genotypes = np.concatenate([haplotypes.sum(axis=1, dtype=np.int8), offspring])
    missing_rng = np.random.default_rng(_stream(seed, _MISSING))
    planted_samples = np.sort(missing_rng.choice(len(samples), PLANTED_SAMPLES, replace=False))
    observed = _observed(genotypes, planted["high_missingness"], planted_samples, params.missing_rate, missing_rng)
    pc_variants = np.setdiff1d(np.flatnonzero(maf >= CAUSAL_MIN_MAF), np.concatenate(list(planted.values())))
    pcs = principal_components(observed[:, pc_variants], founders, N_PCS)
    traits_rng = np.random.default_rng(_stream(seed, _TRAITS))
    simulated = _phenotypes(genotypes, samples, pcs, effects, epistasis, params, traits_rng)

    paths = {name: out_dir / name for name in OUTPUT_FILES}
    fam = pd.DataFrame({
        "FID": samples.FID, "IID": samples.IID, "PAT": samples.SIRE, "MAT": samples.DAM,
        "SEX": samples.SEX.astype(str), "PHENO": "-9",
    })
    write_bfile(out_dir / "genotypes", fam, bim, (observed[:, i : i + 1000] for i in range(0, len(bim), 1000)))
    keys = samples[["FID", "IID"]]
    write_tsv(pd.concat([keys, pd.DataFrame(simulated["pheno"], columns=traits)], axis=1), paths["pheno.tsv"])
    covar = pd.concat([keys, pd.DataFrame(pcs, columns=[f"PC{k + 1}" for k in range(N_PCS)])], axis=1)
    covar.insert(2, "sex", samples.SEX)
    covar.insert(3, "age", simulated["age"])
    write_tsv(covar, paths["covar.tsv"])
    write_tsv(samples[["IID", "SIRE", "DAM"]], paths["pedigree.tsv"])
    write_tsv(genes, paths["genes.tsv"])
    located = bim.loc[effects.variant, ["ID", "CHROM", "POS"]].reset_index(drop=True)
    truth_effects = pd.concat([located, effects], axis=1)
    truth_effects = truth_effects.sort_values(
        ["CHROM", "POS", "trait"], key=lambda c: chrom_sort_key(c) if c.name == "CHROM" else c, ignore_index=True
    )
    write_tsv(truth_effects[["ID", "CHROM", "POS", "trait", "beta", "model", "gene"]], paths["truth_effects.tsv"])
    write_tsv(
        pd.DataFrame({
            "ID_A": bim.ID.to_numpy()[epistasis.variant_a], "ID_B": bim.ID.to_numpy()[epistasis.variant_b],
            "trait": epistasis.trait, "beta": epistasis.beta,
        }),
        paths["truth_epistasis.tsv"],
    )
    write_tsv(truth_genes, paths["truth_genes.tsv"])
    qc_rows = [("variant", bim.ID[j], reason) for reason, rows in planted.items() for j in rows]
    qc_rows += [("sample", samples.IID[i], "high_missingness") for i in planted_samples]
    write_tsv(pd.DataFrame(qc_rows, columns=["kind", "id", "reason"]), paths["qc_planted.tsv"])

    variants_per_chromosome = {str(c): int(k) for c, k in bim.groupby("CHROM", sort=False).size().items()}
    pheno, additive = simulated["pheno"], simulated["additive"]
    realised_h2 = {
        trait: round(float(additive[~np.isnan(pheno[:, t]), t].var() / np.nanvar(pheno[:, t])), 6)
        for t, trait in enumerate(traits)
    }
    truth = {
        "seed": seed,
        "params": asdict(params),
        "counts": {
            "samples": len(samples), "founders": int(founders.sum()), "offspring": int((~founders).sum()),
            "families": params.n_families, "variants": len(bim), "variants_per_chromosome": variants_per_chromosome,
            "causal_variants": len(causal), "causal_genes": int(truth_genes.gene.nunique()),
            "planted_qc": len(qc_rows),
        },
        "traits": traits,
        "realised_h2": realised_h2,
        "genetic_correlation": _correlation(additive, traits),
        "phenotypic_correlation": _correlation(pheno, traits),
        "variance_targets": {
            "additive": params.heritability, "dominance_per_qtl": DOMINANCE_VARIANCE,
            "epistasis_per_pair": EPISTASIS_VARIANCE, **COVARIATE_VARIANCE,
            "environment": {trait: round(params.environment_variance(t), 6) for t, trait in enumerate(traits)},
        },
        "covariate_effects": simulated["covariate_effects"],
        "epistasis_centre": {str(bim.ID[v]): float(m) for v, m in sorted(simulated["epistasis_centre"].items())},
        "populations": {pop: int((samples.population == pop).sum()) for pop in POPULATIONS},
        "sample_population": dict(zip(samples.IID, samples.population)),
    }
    with atomic_path(paths["truth.json"]) as tmp:
        tmp.write_text(json.dumps(truth, indent=1, default=lambda value: value.item()) + "\n")
    logger.info(
        "toy cohort: %d samples (%d offspring), %d variants, %d causal variants, written to %s",
        len(samples), (~founders).sum(), len(bim), len(causal), out_dir,
    )
    rule_summary(f"{len(samples):,} samples x {len(bim):,} variants, {len(traits)} traits",
                 "realised h2 " + ", ".join(f"{h2:.2f}" for h2 in realised_h2.values()))
    return ToyCohort(
        out_dir=out_dir, bfile=out_dir / "genotypes", pheno=paths["pheno.tsv"], covar=paths["covar.tsv"],
        pedigree=paths["pedigree.tsv"], genes=paths["genes.tsv"], truth_effects=paths["truth_effects.tsv"],
        truth_epistasis=paths["truth_epistasis.tsv"], truth_genes=paths["truth_genes.tsv"],
        qc_planted=paths["qc_planted.tsv"], truth=paths["truth.json"], n_samples=len(samples),
        n_founders=int(founders.sum()), n_offspring=int((~founders).sum()), n_variants=len(bim),
        variants_per_chromosome=variants_per_chromosome, n_causal_variants=len(causal),
    )

