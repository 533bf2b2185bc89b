"""The msprime toy cohort: determinism, pedigree, planted QC failures and planted truth."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln
from sklearn.metrics import roc_auc_score

from phenomap_testing import needs_plink2
from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import read_sample_table
from phenomap.sim.cohort import (
    COVARIATE_VARIANCE,
    ENVIRONMENT_CORRELATION,
    OUTPUT_FILES,
    PLANTED_SAMPLES,
    PLANTED_VARIANTS,
    UNAMBIGUOUS_ALLELES,
    ToyCohort,
    ToyParams,
    simulate_toy_cohort,
)

#: Small enough for ~0.3 s per simulation, large enough for every planted feature; the tolerances
#: below were checked on seeds 0-59 of this setting.
SMALL = ToyParams(n_founders=300, n_families=30, chromosome_mb=1.0, max_variants_per_chromosome=1500, n_genes=20)
SEED = 11


@dataclass(frozen=True)
class Loaded:
    cohort: ToyCohort
    fam: pd.DataFrame
    bim: pd.DataFrame
    G: np.ndarray  # (n, m) A1 counts, NaN missing
    pheno: pd.DataFrame
    covar: pd.DataFrame
    effects: pd.DataFrame
    epistasis: pd.DataFrame
    truth_genes: pd.DataFrame
    genes: pd.DataFrame
    planted: pd.DataFrame
    truth: dict

    @property
    def founders(self) -> np.ndarray:
        return (self.fam.PAT == "0").to_numpy()

    @property
    def population(self) -> np.ndarray:
        return self.fam.IID.map(self.truth["sample_population"]).to_numpy()

    def columns(self, ids) -> np.ndarray:
        """Genotypes of the variants ``ids``, missing calls set to the variant mean."""
        index = pd.Index(self.bim.ID).get_indexer(list(ids))
        assert (index >= 0).all()
        x = self.G[:, index].astype(np.float64)
        return np.where(np.isnan(x), np.nanmean(x, axis=0), x)

    def founder_maf(self, ids) -> np.ndarray:
        freq = np.nanmean(self.columns(ids)[self.founders], axis=0) / 2
        return np.minimum(freq, 1 - freq)

    def additive_value(self, trait: str) -> np.ndarray:
        rows = self.effects[(self.effects.trait == trait) & (self.effects.model == "additive")]
        x = self.columns(rows.ID)
        return (x - x.mean(axis=0)) @ rows.beta.to_numpy()


def load(cohort: ToyCohort) -> Loaded:
    bfile = Bfile.open(cohort.bfile)

    def read(path) -> pd.DataFrame:
        return pd.read_csv(path, sep="\t", dtype={"CHROM": str, "chrom": str})

    return Loaded(
        cohort=cohort, fam=bfile.fam, bim=bfile.bim, G=bfile.read(),
        pheno=read_sample_table(cohort.pheno, what="phenotype"),
        covar=read_sample_table(cohort.covar, what="covariate"),
        effects=read(cohort.truth_effects), epistasis=read(cohort.truth_epistasis),
        truth_genes=read(cohort.truth_genes), genes=read(cohort.genes), planted=read(cohort.qc_planted),
        truth=json.loads(cohort.truth.read_text()),
    )


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Loaded:
    return load(simulate_toy_cohort(tmp_path_factory.mktemp("toy"), SMALL, seed=SEED))


def planted_ids(toy: Loaded, kind: str, reason: str | None = None) -> set[str]:
    rows = toy.planted[(toy.planted.kind == kind) & ((toy.planted.reason == reason) if reason else True)]
    return set(rows.id)


def hwe_exact_p(genotypes: np.ndarray) -> float:
    """Two-sided exact HWE test by enumerating heterozygote counts (brute force, log space)."""
    g = genotypes[~np.isnan(genotypes)]
    n, n_het = len(g), int((g == 1).sum())
    n_minor = int(min(2 * (g == 0).sum() + n_het, 2 * (g == 2).sum() + n_het))
    hets = np.arange(n_minor % 2, n_minor + 1, 2)
    hom_minor = (n_minor - hets) // 2
    hom_major = n - hets - hom_minor
    ok = hom_major >= 0
    hets, hom_minor, hom_major = hets[ok], hom_minor[ok], hom_major[ok]
    log_p = (
        gammaln(n + 1) - gammaln(hom_minor + 1) - gammaln(hets + 1) - gammaln(hom_major + 1) + hets * np.log(2)
        + gammaln(n_minor + 1) + gammaln(2 * n - n_minor + 1) - gammaln(2 * n + 1)
    )
    p = np.exp(log_p)
    return float(min(1.0, p[p <= p[hets == n_het][0] * (1 + 1e-9)].sum()))


def test_simulate_toy_cohort__writes_exactly_the_documented_files(toy):
    assert sorted(os.listdir(toy.cohort.out_dir)) == sorted(OUTPUT_FILES)
    assert toy.cohort.n_samples == len(toy.fam) == SMALL.n_founders + SMALL.n_families * SMALL.offspring_per_family
    assert toy.cohort.n_variants == len(toy.bim) == sum(toy.cohort.variants_per_chromosome.values())
    assert toy.truth["counts"]["variants_per_chromosome"] == toy.bim.groupby("CHROM").size().to_dict()


def test_simulate_toy_cohort__same_seed_gives_identical_files(toy, tmp_path):
    simulate_toy_cohort(tmp_path, SMALL, seed=SEED)
    for name in OUTPUT_FILES:
        assert (tmp_path / name).read_bytes() == (toy.cohort.out_dir / name).read_bytes(), name


def test_simulate_toy_cohort__different_seed_gives_different_genotypes(toy, tmp_path):
    other = load(simulate_toy_cohort(tmp_path, SMALL, seed=SEED + 1))
    assert (tmp_path / "genotypes.bed").read_bytes() != (toy.cohort.out_dir / "genotypes.bed").read_bytes()
    assert len(set(other.bim.ID) & set(toy.bim.ID)) < 0.2 * len(toy.bim)


def test_simulate_toy_cohort__pedigree_links_families(toy):
    pedigree = pd.read_csv(toy.cohort.pedigree, sep="\t", dtype=str)
    assert pedigree.IID.tolist() == toy.fam.IID.tolist() and toy.fam.IID.is_unique
    assert (pedigree.SIRE == toy.fam.PAT).all() and (pedigree.DAM == toy.fam.MAT).all()
    children = toy.fam[~toy.founders]
    assert len(children) == SMALL.n_families * SMALL.offspring_per_family
    sex = toy.fam.set_index("IID").SEX
    assert (sex[children.PAT] == "1").all() and (sex[children.MAT] == "2").all()
    parents = pd.concat([children.PAT, children.MAT]).unique()
    assert len(parents) == 2 * SMALL.n_families  # disjoint pairs
    assert set(parents) <= set(toy.fam.IID[toy.founders])
    fid = toy.fam.set_index("IID").FID
    assert (fid[children.PAT].to_numpy() == children.FID.to_numpy()).all()
    assert (fid[children.MAT].to_numpy() == children.FID.to_numpy()).all()
    unrelated = toy.fam[toy.founders & ~toy.fam.IID.isin(parents)]
    assert (unrelated.FID == unrelated.IID).all()
    by_iid = toy.truth["sample_population"]
    assert all(by_iid[f] == by_iid[m] == by_iid[c] for f, m, c in zip(children.PAT, children.MAT, children.IID))


def mendel_errors(G: np.ndarray, child: np.ndarray, sire: np.ndarray, dam: np.ndarray) -> tuple[int, int]:
    """Incompatible and checked trios of calls: the child's count must be a sum of one allele per parent."""
    c, s, d = G[child], G[sire], G[dam]
    checked = ~(np.isnan(c) | np.isnan(s) | np.isnan(d))
    low = (s == 2).astype(int) + (d == 2)  # fewest A1 alleles the parents can pass on
    high = (s >= 1).astype(int) + (d >= 1)
    bad = checked & ((c < low) | (c > high))
    return int(bad.sum()), int(checked.sum())


def test_simulate_toy_cohort__offspring_are_mendel_consistent(toy):
    row = pd.Index(toy.fam.IID)
    children = np.flatnonzero(~toy.founders)
    sire = row.get_indexer(toy.fam.PAT.iloc[children])
    dam = row.get_indexer(toy.fam.MAT.iloc[children])
    errors, checked = mendel_errors(toy.G, children, sire, dam)
    assert errors == 0 and checked > 0.95 * len(children) * len(toy.bim)
    # the check has power: the same children against unrelated founders fail it
    others = np.flatnonzero(toy.founders)[: len(children)]
    assert mendel_errors(toy.G, children, others, np.roll(others, 1))[0] > 1000
    # segregation: a heterozygous parent passes A1 half the time. A 1 Mb chromosome rarely
    # recombines, so each (child, parent, chromosome) is ~one coin flip: 120 flips per parent
    # sex, sd of the share ~0.05
    for parent, other in ((sire, dam), (dam, sire)):
        informative = (toy.G[parent] == 1) & (toy.G[other] == 0)
        assert np.mean(toy.G[children][informative] == 1) == pytest.approx(0.5, abs=0.15)


def test_simulate_toy_cohort__random_missing_rate_matches_setting(toy):
    variants = ~toy.bim.ID.isin(planted_ids(toy, "variant", "high_missingness")).to_numpy()
    samples = ~toy.fam.IID.isin(planted_ids(toy, "sample")).to_numpy()
    rate = np.isnan(toy.G[np.ix_(samples, variants)]).mean()
    # ~570k calls: the binomial sd of the rate is 1.3e-4, 10 % of 0.01 is > 7 sd
    assert rate == pytest.approx(SMALL.missing_rate, rel=0.1)


def test_simulate_toy_cohort__planted_qc_failures_really_fail(toy):
    assert len(toy.planted) == sum(PLANTED_VARIANTS.values()) + PLANTED_SAMPLES
    column = {v: i for i, v in enumerate(toy.bim.ID)}
    variant_missing = np.isnan(toy.G).mean(axis=0)
    sample_missing = np.isnan(toy.G).mean(axis=1)
    high_variants = [column[v] for v in planted_ids(toy, "variant", "high_missingness")]
    high_samples = toy.fam.IID.isin(planted_ids(toy, "sample")).to_numpy()
    assert (variant_missing[high_variants] > 0.1).all()
    assert (sample_missing[high_samples] > 0.1).all()
    others = np.setdiff1d(np.arange(len(toy.bim)), high_variants)
    assert variant_missing[others].max() < 0.05 and sample_missing[~high_samples].max() < 0.05
    for v in planted_ids(toy, "variant", "monomorphic"):
        assert len(np.unique(toy.G[:, column[v]][~np.isnan(toy.G[:, column[v]])])) == 1
    for v in planted_ids(toy, "variant", "hwe_violation"):
        assert hwe_exact_p(toy.G[toy.founders, column[v]]) < 1e-20, v


def test_simulate_toy_cohort__variants_follow_the_array_contract(toy):
    bim = toy.bim
    assert (bim.ID == bim.CHROM + ":" + bim.POS.astype(str)).all() and bim.ID.is_unique
    for _, pos in bim.groupby("CHROM").POS:
        assert (np.diff(pos) > 0).all() and pos.min() >= 1 and pos.max() <= SMALL.chromosome_mb * 1e6
        assert len(pos) <= SMALL.max_variants_per_chromosome
    assert set(zip(bim.A1, bim.A2)) <= set(UNAMBIGUOUS_ALLELES)
    np.testing.assert_allclose(bim.CM, bim.POS / 1e6)
    # ascertainment: the true minor-allele count among founders is at least min_maf * 2n, and a
    # missing call hides at most two copies
    G = toy.G[toy.founders]
    missing = np.isnan(G).sum(axis=0)
    a1 = np.nansum(G, axis=0)
    a2 = 2 * (~np.isnan(G)).sum(axis=0) - a1
    ascertained = ~bim.ID.isin(planted_ids(toy, "variant", "monomorphic")).to_numpy()
    assert (np.minimum(a1, a2) + 2 * missing >= SMALL.min_maf * 2 * G.shape[0])[ascertained].all()


def test_simulate_toy_cohort__genes_are_valid_and_disjoint(toy):
    genes = toy.genes
    assert list(genes.columns) == ["gene_id", "symbol", "chrom", "start", "stop", "strand"]
    assert genes.gene_id.tolist() == list(range(1, SMALL.n_genes + 1)) and genes.symbol.is_unique
    length = genes.stop - genes.start + 1
    assert length.between(10_000, 80_000).all() and set(genes.strand) <= {"+", "-"}
    assert (genes.start >= 1).all() and (genes.stop <= SMALL.chromosome_mb * 1e6).all()
    for _, g in genes.groupby("chrom"):
        g = g.sort_values("start")
        assert (g.start.to_numpy()[1:] > g.stop.to_numpy()[:-1]).all()


def test_simulate_toy_cohort__causal_variants_lie_in_their_causal_genes(toy):
    genes = toy.genes.set_index("gene_id")
    causal_pairs = set(zip(toy.truth_genes.gene, toy.truth_genes.trait))
    gene = genes.loc[toy.effects.gene]
    assert (gene.chrom.to_numpy() == toy.effects.CHROM.to_numpy()).all()
    assert ((gene.start.to_numpy() <= toy.effects.POS) & (toy.effects.POS <= gene.stop.to_numpy())).all()
    assert set(zip(toy.effects.gene, toy.effects.trait)) <= causal_pairs
    additive = toy.effects[toy.effects.model == "additive"]
    assert set(zip(additive.gene, additive.trait)) == causal_pairs
    assert additive.groupby(["gene", "trait"]).size().between(1, 3).all()
    assert (toy.effects[toy.effects.model != "additive"].groupby("trait").size() == SMALL.n_dominance_qtl).all()
    planted = set(toy.planted.id)
    causal = set(toy.effects.ID) | set(toy.epistasis.ID_A) | set(toy.epistasis.ID_B)
    assert not causal & planted
    # MAF >= 0.05 in the true founder genotypes; 1 % missing calls move it by far less than 0.005
    assert (toy.founder_maf(causal) >= 0.045).all()
    assert (toy.founder_maf(toy.effects.ID[toy.effects.model != "additive"]) >= 0.19).all()
    bim = toy.bim.set_index("ID")

    def gene_of(variant: str) -> int:
        chrom, pos = bim.CHROM[variant], bim.POS[variant]
        inside = (genes.chrom == chrom) & (genes.start <= pos) & (genes.stop >= pos)
        return int(genes.index[inside][0])

    for a, b, trait in zip(toy.epistasis.ID_A, toy.epistasis.ID_B, toy.epistasis.trait):
        assert (gene_of(a), trait) in causal_pairs and (gene_of(b), trait) in causal_pairs
        assert bim.CHROM[a] != bim.CHROM[b]
    assert len(toy.epistasis) == SMALL.n_epistatic_pairs


def test_simulate_toy_cohort__additive_value_carries_the_heritability(toy):
    covariate_share = sum(COVARIATE_VARIANCE.values())
    for trait in toy.truth["traits"]:
        additive = toy.additive_value(trait)
        effects = toy.truth["covariate_effects"][trait]
        covariates = sum(beta * toy.covar[name].to_numpy() for name, beta in effects.items())
        y = toy.pheno[trait].to_numpy()
        ok = ~np.isnan(y)
        # mean-imputing the 1 % missing calls shifts the variance of the genetic value by
        # sum_j 0.01 * beta_j^2 * var(g_j), up to ~0.03 when effects in LD partly cancel
        assert additive.var() == pytest.approx(SMALL.heritability, abs=0.04)
        assert toy.truth["realised_h2"][trait] == pytest.approx(additive[ok].var() / y[ok].var(), abs=0.04)
        # With the covariates' known contribution removed, y = A + non-additive + environment, the
        # environment being orthogonal to A: R2 = h2 / (1 - covariate share) up to the covariance of
        # A with the dominance/epistasis variants, which share causal genes (LD) and ancestry with it:
        # |R2 - expected| <= 0.14 over 60 seeds of this setting.
        r2 = np.corrcoef(additive[ok], (y - covariates)[ok])[0, 1] ** 2
        assert r2 == pytest.approx(SMALL.heritability / (1 - covariate_share), abs=0.15)


def test_simulate_toy_cohort__phenotype_is_the_sum_of_the_planted_parts(toy):
    environment = {}
    for t, trait in enumerate(toy.truth["traits"]):
        part = toy.additive_value(trait)
        for row in toy.effects[(toy.effects.trait == trait) & (toy.effects.model != "additive")].itertuples():
            x = toy.columns([row.ID])[:, 0]
            part += row.beta * ((x >= 1) if row.model == "dominant" else (x == 2))
        centre = toy.truth["epistasis_centre"]
        for row in toy.epistasis[toy.epistasis.trait == trait].itertuples():
            x = toy.columns([row.ID_A, row.ID_B])
            part += row.beta * (x[:, 0] - centre[row.ID_A]) * (x[:, 1] - centre[row.ID_B])
        for name, beta in toy.truth["covariate_effects"][trait].items():
            part += beta * toy.covar[name].to_numpy()
        residual = toy.pheno[trait].to_numpy() - part
        ok = ~np.isnan(residual)
        environment[trait] = residual
        # E is orthogonal to the other parts; mean-imputing the 1 % missing calls of the causal
        # variants adds sum_j 0.01 * beta_j^2 * var(g_j), 0.005-0.03 here (0 with missing_rate=0)
        assert residual[ok].var() == pytest.approx(SMALL.environment_variance(t), abs=0.05)
        assert abs(np.corrcoef(residual[ok], toy.additive_value(trait)[ok])[0, 1]) < 0.1
    noise = pd.DataFrame(environment).corr()
    assert noise.loc["trait1", "trait2"] == pytest.approx(ENVIRONMENT_CORRELATION, abs=0.2)  # sd ~0.05


def test_simulate_toy_cohort__shared_genes_correlate_trait1_and_trait2_only(toy):
    value = {trait: toy.additive_value(trait) for trait in toy.truth["traits"]}
    # 4 of the 6 equal-variance genes of trait1 and trait2 are shared, with concordant effects
    # correlated 0.8: r = 0.57 on average, >= 0.31 over 60 seeds of this setting
    r12 = np.corrcoef(value["trait1"], value["trait2"])[0, 1]
    assert r12 > 0.2
    assert toy.truth["genetic_correlation"]["trait1"]["trait2"] == pytest.approx(r12, abs=0.05)
    additive = toy.effects[toy.effects.model == "additive"]
    shared = additive[additive.gene.isin(toy.truth_genes.gene[toy.truth_genes.role == "shared"])]
    betas = shared.pivot(index="ID", columns="trait", values="beta")
    x = toy.columns(betas.index)
    assert np.corrcoef(x @ betas.trait1.to_numpy(), x @ betas.trait2.to_numpy())[0, 1] > 0.4  # >= 0.56 in 60 seeds
    genes = toy.truth_genes.groupby("trait").gene.apply(set)
    assert not genes["trait3"] & (genes["trait1"] | genes["trait2"])
    # Independent effects: within-population correlation ~ N(0, 1/n), n = 360 (sd 0.05), widened by
    # relatives and LD between nearby genes (|r| <= 0.28 over 60 seeds); the raw correlation also
    # carries the populations' mean difference.
    eur = (toy.population == "EUR").astype(float)
    within = {trait: v - np.polyval(np.polyfit(eur, v, 1), eur) for trait, v in value.items()}
    for other in ("trait1", "trait2"):
        assert abs(np.corrcoef(within["trait3"], within[other])[0, 1]) < 0.3


def test_simulate_toy_cohort__pc1_separates_the_populations(toy):
    eur = toy.population == "EUR"
    assert eur.mean() == pytest.approx(0.25, abs=0.03)
    auc = roc_auc_score(eur, toy.covar.PC1)
    assert max(auc, 1 - auc) > 0.99
    # founders' scores are U * sqrt(n_founders) of their SVD: mean square exactly 1
    founders_pc = toy.covar.loc[toy.founders, ["PC1", "PC2", "PC3"]].to_numpy()
    np.testing.assert_allclose((founders_pc**2).mean(axis=0), 1.0, rtol=1e-8)


def test_simulate_toy_cohort__bottlenecked_branch_is_less_diverse(toy):
    def heterozygosity(rows: np.ndarray) -> float:
        f = np.nanmean(toy.G[rows], axis=0) / 2
        return float(np.mean(2 * f * (1 - f)))

    eur, afr = (toy.founders & (toy.population == pop) for pop in ("EUR", "AFR"))
    assert heterozygosity(eur) < heterozygosity(afr)


def test_simulate_toy_cohort__covariates_and_phenotypes_are_complete_enough(toy):
    assert not toy.covar.drop(columns=["FID", "IID"]).isna().any().any()
    assert (toy.covar.sex.astype(int).astype(str) == toy.fam.SEX).all()
    assert toy.covar.age.between(20, 70).all()
    missing = toy.pheno[toy.truth["traits"]].isna().to_numpy().mean()
    assert 0 < missing < 0.03
    assert (toy.pheno.IID == toy.fam.IID).all() and (toy.covar.FID == toy.fam.FID).all()


def test_toy_params_validate__accepts_defaults_and_the_test_setting():
    ToyParams().validate()
    SMALL.validate()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_founders": 10}, "n_founders=10 must be at least 20"),
        ({"n_founders": 100.0}, "n_founders=100.0 must be an integer"),
        ({"max_variants_per_chromosome": "3000"}, "max_variants_per_chromosome='3000' must be a number"),
        ({"n_traits": True}, "n_traits=True must be a number"),
        ({"n_families": 600}, "n_families=600 needs two founders .* at most 500 families"),
        ({"chromosome_mb": -1.0}, "chromosome_mb=-1.0 must be in"),
        ({"min_maf": 0.5}, "min_maf=0.5 must be in"),
        ({"missing_rate": 0.2}, "missing_rate=0.2 must be in"),
        ({"heritability": 1.2}, r"heritability=1.2 must be in \(0, 1\)"),
        ({"heritability": 0.9}, "heritability=0.9 leaves trait1 an environmental variance"),
        ({"n_traits": 1}, "n_shared_genes=4 needs n_traits >= 2"),
        ({"n_specific_genes": 0}, "n_specific_genes=0 leaves trait3 without a causal gene"),
        ({"n_genes": 5}, "n_genes=5 is below the 10 causal genes"),
        ({"n_genes": 100}, "n_genes=100 puts 50 genes on a 4.0 Mb chromosome"),
        ({"n_specific_genes": 1}, "n_epistatic_pairs=3 gives trait3 an epistatic pair"),
    ],
)
def test_toy_params_validate__rejects_impossible_settings(change, match):
    with pytest.raises(InputError, match=match):
        replace(ToyParams(), **change).validate()


def test_simulate_toy_cohort__rejects_a_negative_seed(tmp_path):
    with pytest.raises(InputError, match="seed -1 must be a non-negative integer"):
        simulate_toy_cohort(tmp_path, SMALL, seed=-1)
    assert not os.listdir(tmp_path)


def test_simulate_toy_cohort__rejects_too_few_variants_for_the_causal_genes(tmp_path):
    with pytest.raises(InputError, match="causal genes are needed; raise .*max_variants_per_chromosome"):
        simulate_toy_cohort(tmp_path, replace(SMALL, max_variants_per_chromosome=50), seed=SEED)
    assert not os.listdir(tmp_path)


@needs_plink2
def test_simulate_toy_cohort__plink2_sees_the_planted_qc_failures(toy, tmp_path):
    out = tmp_path / "qc"
    subprocess.run(
        ["plink2", "--bfile", str(toy.cohort.bfile), "--hardy", "--missing", "--freq", "--out", str(out)],
        check=True, capture_output=True,
    )
    hardy, vmiss, afreq = (pd.read_csv(f"{out}.{ext}", sep="\t").set_index("ID") for ext in ("hardy", "vmiss", "afreq"))
    smiss = pd.read_csv(f"{out}.smiss", sep="\t").set_index("IID")
    assert (hardy.P[list(planted_ids(toy, "variant", "hwe_violation"))] < 1e-20).all()
    # plink2 tests HWE in founders, like the brute-force test used above: they agree
    for j in range(0, len(toy.bim), 97):
        assert hwe_exact_p(toy.G[toy.founders, j]) == pytest.approx(hardy.P[toy.bim.ID[j]], rel=1e-4, abs=1e-12)
    high = list(planted_ids(toy, "variant", "high_missingness"))
    assert (vmiss.F_MISS[high] > 0.1).all() and (vmiss.F_MISS.drop(high) < 0.05).all()
    samples = list(planted_ids(toy, "sample"))
    assert (smiss.F_MISS[samples] > 0.1).all() and (smiss.F_MISS.drop(samples) < 0.05).all()
    assert (afreq.ALT_FREQS[list(planted_ids(toy, "variant", "monomorphic"))] == 0).all()
    # plink2 reads the .bim A1 column as ALT, the counted (derived) allele; --freq uses founders
    founder_freq = np.nanmean(toy.G[toy.founders], axis=0) / 2
    np.testing.assert_allclose(afreq.ALT_FREQS.loc[toy.bim.ID], founder_freq, atol=1e-5)
