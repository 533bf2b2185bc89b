"""Genotype QC: statistics and HWE against plink2 and brute force, filtering against plink2."""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import fields
from fractions import Fraction
from math import comb

import numpy as np
import pandas as pd
import pytest

from phenomap_testing import make_bim, make_fam, needs_plink2
from phenomap.errors import InputError
from phenomap.io.plink import Bfile, read_bim, read_fam
from phenomap.io.tables import write_tsv
from phenomap.qc import QCResult, founders, hwe_exact_p, run_qc, variant_stats

# plink2 prints 6 significant digits: half a unit in the last place is < 5e-6 relative.
PLINK_RTOL = 5e-6


def plink2(*args: str) -> None:
    run = subprocess.run(["plink2", *args, "--threads", "1", "--memory", "1024"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def read_plink_table(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t").rename(columns=lambda c: c.lstrip("#"))


def counts(result: QCResult) -> tuple:
    """The counts of a QCResult (every field but per_chrom), in field order."""
    return tuple(getattr(result, f.name) for f in fields(QCResult) if f.compare)


def genotypes_with_deviations(rng, n: int, m: int, missing: float) -> np.ndarray:
    """A1 counts with A1 frequency in [0.02, 0.5] and inbreeding F in [-0.6, 0.6] (het excess
    to deficit), plus random missing calls."""
    f = rng.uniform(0.02, 0.5, m)
    F = rng.uniform(-0.6, 0.6, m)
    F = np.maximum(F, -np.minimum(f, 1 - f) / np.maximum(f, 1 - f))  # keep probabilities >= 0
    hom_a1 = f**2 + F * f * (1 - f)
    het = 2 * f * (1 - f) * (1 - F)
    u = rng.random((n, m))
    G = np.where(u < hom_a1, 2.0, np.where(u < hom_a1 + het, 1.0, 0.0))
    G[rng.random((n, m)) < missing] = np.nan
    return G


def brute_force_hwe_p(het: int, hom1: int, hom2: int) -> float:
    """Exact two-sided HWE p by enumerating every heterozygote count in integer arithmetic:
    P(h) is proportional to the number of sample orderings n! / (h! r! s!) times 2^h."""
    n, rare = het + hom1 + hom2, het + 2 * min(hom1, hom2)

    def weight(h: int) -> int:
        r = (rare - h) // 2
        return comb(n, h) * comb(n - h, r) * 2**h

    weights = [weight(h) for h in range(rare % 2, rare + 1, 2)]
    observed = weight(het)
    return float(Fraction(sum(w for w in weights if w <= observed), sum(weights)))


@needs_plink2
def test_variant_stats__matches_plink2_freq_missing_and_counts(rng, write_plink, tmp_path):
    G = genotypes_with_deviations(rng, 80, 60, missing=0.05)
    G[:, 0] = 0.0  # monomorphic
    G[rng.random(80) < 0.4, 1] = np.nan  # heavy missingness
    prefix = write_plink(G)
    plink2("--bfile", prefix, "--freq", "--missing", "--geno-counts", "--out", str(tmp_path / "p"))
    afreq = read_plink_table(tmp_path / "p.afreq")
    vmiss = read_plink_table(tmp_path / "p.vmiss")
    counts = read_plink_table(tmp_path / "p.gcount")
    assert (afreq.ALT == "A").all()  # plink2 loads .bim column 5 (our A1) as ALT

    stats = variant_stats(G)

    np.testing.assert_allclose(stats.a1_freq, afreq.ALT_FREQS, rtol=PLINK_RTOL)
    np.testing.assert_allclose(stats.missing_rate, vmiss.F_MISS, rtol=PLINK_RTOL)
    np.testing.assert_allclose(stats.call_rate, 1 - vmiss.F_MISS, rtol=PLINK_RTOL, atol=1e-6)
    np.testing.assert_array_equal(stats.n_hom_a1, counts.TWO_ALT_GENO_CTS)
    np.testing.assert_array_equal(stats.n_het, counts.HET_REF_ALT_CTS)
    np.testing.assert_array_equal(stats.n_hom_a2, counts.HOM_REF_CT)
    np.testing.assert_array_equal(stats.n_missing, counts.MISSING_CT)
    np.testing.assert_allclose(stats.maf, np.minimum(afreq.ALT_FREQS, 1 - afreq.ALT_FREQS), rtol=PLINK_RTOL, atol=1e-12)
    np.testing.assert_allclose(stats.het_obs, counts.HET_REF_ALT_CTS / (80 - counts.MISSING_CT))
    assert stats.maf[0] == 0.0


def test_variant_stats__rejects_dosages():
    G = np.array([[0.0, 1.0], [2.0, 0.5]])
    with pytest.raises(InputError, match="column 1 .* hard calls"):
        variant_stats(G)


@needs_plink2
def test_hwe_exact_p__matches_plink2_hardy(rng, write_plink, tmp_path):
    G = genotypes_with_deviations(rng, 150, 150, missing=0.03)
    prefix = write_plink(G)
    plink2("--bfile", prefix, "--hardy", "--out", str(tmp_path / "p"))
    hardy = read_plink_table(tmp_path / "p.hardy")
    stats = variant_stats(G)
    a1_is_ours = (hardy.A1 == "A").to_numpy()
    np.testing.assert_array_equal(np.where(a1_is_ours, stats.n_hom_a1, stats.n_hom_a2), hardy.HOM_A1_CT)
    np.testing.assert_array_equal(stats.n_het, hardy.HET_A1_CT)

    p = hwe_exact_p(stats.n_het, stats.n_hom_a1, stats.n_hom_a2)

    assert p.min() < 1e-12 and (p == 1).any() and np.mean(p < 0.05) > 0.3  # a wide range was tested
    np.testing.assert_allclose(p, hardy.P, rtol=PLINK_RTOL)


def test_hwe_exact_p__equals_brute_force_enumeration():
    counts = np.array([(h, a, n - h - a) for n in range(13) for h in range(n + 1) for a in range(n - h + 1)])
    expected = [brute_force_hwe_p(*map(int, row)) for row in counts]

    p = hwe_exact_p(counts[:, 0], counts[:, 1], counts[:, 2])

    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[(counts[:, 1] + counts[:, 0] + counts[:, 2]) == 0] == 1.0
    np.testing.assert_array_equal(hwe_exact_p(counts[:, 0], counts[:, 1], counts[:, 2], max_terms=1), p)


def test_hwe_exact_p__equals_brute_force_with_large_counts():
    # Beyond ~100 samples only the likely configurations are enumerated: check the cut-off.
    counts = [
        (0, 100, 100), (200, 0, 0), (5, 2, 300), (98, 50, 52), (300, 120, 180), (1, 0, 999),
        (2000, 1000, 1000), (1700, 1100, 1200), (2300, 800, 900), (30, 1, 3969), (1000, 0, 3000),
    ]
    expected = [brute_force_hwe_p(*row) for row in counts]

    p = hwe_exact_p(*np.array(counts).T)

    np.testing.assert_allclose(p, expected, rtol=1e-9)


def test_hwe_exact_p__symmetric_in_homozygote_counts(rng):
    het, hom1, hom2 = rng.integers(0, 400, size=(3, 500))

    np.testing.assert_array_equal(hwe_exact_p(het, hom1, hom2), hwe_exact_p(het, hom2, hom1))


@pytest.mark.parametrize("bad", [[-1, 0], [1.5, 0], [np.nan, 0]])
def test_hwe_exact_p__rejects_non_count_input(bad):
    with pytest.raises(InputError, match="n_het must hold non-negative integer counts"):
        hwe_exact_p(bad, [1, 1], [1, 1])


def planted_cohort(rng) -> np.ndarray:
    """203 samples x 301 variants: 8 samples with > 10% missing calls; variants 0-9 very
    missing, 10-19 monomorphic, 20-34 with 1-2 minor alleles, 35-49 without heterozygotes.
    No statistic sits on a threshold, so plink2's floating-point tolerances do not matter."""
    n, m = 203, 301
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.005] = np.nan
    very_missing = G[:, 0:10]
    very_missing[rng.random(very_missing.shape) < 0.12] = np.nan
    bad_samples = rng.choice(n, 8, replace=False)
    for i in bad_samples:
        G[i, 50 + rng.choice(m - 50, 31, replace=False)] = np.nan
    G[:, 10:35] = 0.0
    good_samples = np.setdiff1d(np.arange(n), bad_samples)
    for j in range(20, 35):
        G[rng.choice(good_samples, 1 + j % 2, replace=False), j] = 1.0
    G[:, 35:50] = rng.choice([0.0, 2.0], size=(n, 15), p=[0.6, 0.4])
    return G


@needs_plink2
def test_run_qc__keeps_the_same_samples_and_variants_as_plink2(rng, write_plink, tmp_path):
    # plink2 applies --mind first (over all variants) and the variant filters on the kept
    # samples, as run_qc does, so the kept sets agree; only the attribution of variants
    # failing both --hwe and --maf can differ, and the report is checked by brute force.
    G = planted_cohort(rng)
    prefix = write_plink(G)
    plink2(
        "--bfile", prefix, "--mind", "0.05", "--geno", "0.05", "--maf", "0.01", "--hwe", "1e-6",
        "--make-bed", "--out", str(tmp_path / "plink"),
    )

    result = run_qc(prefix, tmp_path / "ours", tmp_path / "report.tsv", tmp_path / "summary.tsv", chunk=64)

    ours, theirs, source = (Bfile.open(p) for p in (tmp_path / "ours", tmp_path / "plink", prefix))
    pd.testing.assert_frame_equal(ours.fam[["FID", "IID"]], theirs.fam[["FID", "IID"]])
    pd.testing.assert_frame_equal(ours.bim[["ID", "A1", "A2"]], theirs.bim[["ID", "A1", "A2"]])
    np.testing.assert_array_equal(ours.read(), theirs.read())
    keep_s = source.fam.IID.isin(ours.fam.IID).to_numpy()
    keep_v = source.bim.ID.isin(ours.bim.ID).to_numpy()
    np.testing.assert_array_equal(ours.read(), G[np.ix_(keep_s, keep_v)])
    assert (result.n_samples_kept, result.n_variants_kept) == (keep_s.sum(), keep_v.sum())

    # Brute force of the report: each rule recomputed with numpy on the planted matrix.
    report = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    sample_missing = np.isnan(G).mean(axis=1)
    removed_samples = report[report.kind == "sample"]
    assert list(removed_samples.id) == [f"s{i}:s{i}" for i in np.flatnonzero(sample_missing > 0.05)]
    assert len(removed_samples) == 8
    np.testing.assert_allclose(removed_samples.value, sample_missing[sample_missing > 0.05])
    kept = G[sample_missing <= 0.05]
    missing = np.isnan(kept).mean(axis=0)
    freq = np.nanmean(kept, axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    hwe = hwe_exact_p(*(np.sum(kept == g, axis=0) for g in (1, 2, 0)))
    expected = np.select(
        [missing > 0.05, maf == 0, maf < 0.01, hwe < 1e-6], ["variant_missing", "monomorphic", "maf", "hwe"], ""
    )
    removed_variants = report[report.kind == "variant"]
    assert list(removed_variants.id) == list(source.bim.ID[expected != ""])
    assert list(removed_variants.reason) == list(expected[expected != ""])
    assert set(expected[0:10]) == {"variant_missing"} and set(expected[10:20]) == {"monomorphic"}
    assert set(expected[20:35]) == {"maf"} and set(expected[35:50]) == {"hwe"}
    assert counts(result) == (203, 195, 301, 251, 8, 10, 10, 15, 15, 0, 195, 0)


def handmade_cohort() -> np.ndarray:
    """41 samples x 7 variants with one known failure each (s40 is missing 2 of 7 calls)."""
    G = np.zeros((41, 7))
    G[:10, 0], G[10:30, 0] = 2, 1  # 10 / 20 / 10: kept
    G[:4, 1] = np.nan  # 10% missing (and monomorphic): variant_missing
    G[40, 2] = np.nan  # monomorphic
    G[0, 3], G[40, 3] = 1, np.nan  # 1 copy in 80: MAF 0.0125
    G[:20, 4], G[40, 4] = 2, 1  # 20 / 0 / 20: HWE p ~ 1e-11
    G[0, 5] = 2  # MAF 0.025 and HWE p = 1/79: maf comes first
    G[40, 6] = 1  # the only carrier is a removed sample: monomorphic after sample QC
    return G


def test_run_qc__reports_the_first_failing_reason(write_plink, tmp_path):
    G = handmade_cohort()
    prefix = write_plink(G)

    result = run_qc(
        prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv",
        min_maf=0.05, max_variant_missing=0.05, max_sample_missing=0.2, hwe_p=0.05, chunk=3,
    )

    report = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    expected = pd.DataFrame(
        {
            "kind": ["sample"] + ["variant"] * 6,
            "id": ["s40:s40", "1:2000", "1:3000", "1:4000", "1:5000", "1:6000", "1:7000"],
            "reason": ["sample_missing", "variant_missing", "monomorphic", "maf", "hwe", "maf", "monomorphic"],
            "value": [2 / 7, 0.1, 0.0, 0.0125, brute_force_hwe_p(0, 20, 20), 0.025, 0.0],
            "threshold": [0.2, 0.05, np.nan, 0.05, 0.05, 0.05, np.nan],
        }
    )
    pd.testing.assert_frame_equal(report, expected, rtol=1e-9)
    assert counts(result) == (41, 40, 7, 1, 1, 1, 2, 2, 1, 0, 40, 0)
    out = Bfile.open(tmp_path / "out")
    np.testing.assert_array_equal(out.read(), G[:40, :1])
    pd.testing.assert_frame_equal(read_fam(tmp_path / "out"), read_fam(prefix).iloc[:40])
    pd.testing.assert_frame_equal(read_bim(tmp_path / "out"), read_bim(prefix).iloc[:1])


def test_run_qc__removes_monomorphic_variants_with_filters_off(write_plink, tmp_path):
    G = handmade_cohort()
    bim = make_bim(7, chrom="2")
    bim.loc[3, ["A1", "A2"]] = ["T", "C"]
    prefix = write_plink(G, fam=make_fam(41, prefix="id"), bim=bim)

    result = run_qc(
        prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv",
        min_maf=0.0, max_variant_missing=1.0, max_sample_missing=1.0, hwe_p=0.0,
    )

    report = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    assert list(report.id) == ["2:2000", "2:3000"] and set(report.reason) == {"monomorphic"}
    assert result.n_variants_kept == 5 and result.removed_hwe == 0  # variant 5 is kept: HWE off
    keep = [0, 3, 4, 5, 6]
    np.testing.assert_array_equal(Bfile.open(tmp_path / "out").read(), G[:, keep])
    pd.testing.assert_frame_equal(read_bim(tmp_path / "out"), read_bim(prefix).iloc[keep].reset_index(drop=True))
    pd.testing.assert_frame_equal(read_fam(tmp_path / "out"), read_fam(prefix))


def cohort_on_thresholds() -> np.ndarray:
    """40 samples x 10 variants in HWE, where s0 and s1 miss 1 call in 10 (fraction 0.1), variant 1
    misses 2 calls in 40 (0.05) and variants 2 and 3 have MAF 8 / 80 = 0.1 (A1 minor, major)."""
    G = np.tile(np.repeat([2.0, 1.0, 0.0], [10, 20, 10])[:, None], (1, 10))
    G[:2, 1] = np.nan
    G[:, 2] = np.repeat([1.0, 0.0], [8, 32])
    G[:, 3] = 2 - G[:, 2]
    return G


def test_run_qc__keeps_values_equal_to_thresholds(write_plink, tmp_path):
    prefix = write_plink(cohort_on_thresholds())

    result = run_qc(
        prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv",
        min_maf=0.1, max_variant_missing=0.05, max_sample_missing=0.1,
    )

    assert (result.n_samples_kept, result.n_variants_kept) == (40, 10)
    assert pd.read_csv(tmp_path / "report.tsv", sep="\t").empty


@needs_plink2
def test_run_qc__keeps_values_equal_to_thresholds_as_plink2(write_plink, tmp_path):
    prefix = write_plink(cohort_on_thresholds())
    plink2(
        "--bfile", prefix, "--mind", "0.1", "--geno", "0.05", "--maf", "0.1", "--make-bed", "--out", str(tmp_path / "p")
    )
    assert (len(read_fam(tmp_path / "p")), len(read_bim(tmp_path / "p"))) == (40, 10)


def test_run_qc__raises_when_no_sample_survives(write_plink, tmp_path):
    G = handmade_cohort()
    G[:, 6] = np.nan
    prefix = write_plink(G)
    with pytest.raises(InputError, match="all 41 samples .* raise qc.max_sample_missing"):
        run_qc(prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv", max_sample_missing=0.1)
    assert not (tmp_path / "out.bed").exists() and not (tmp_path / "report.tsv").exists()


def test_run_qc__raises_when_no_variant_survives(write_plink, tmp_path):
    prefix = write_plink(handmade_cohort()[:, 1:4])
    with pytest.raises(
        InputError, match=r"variant_missing 1, monomorphic 1, maf 1\). Relax qc.max_variant_missing / qc.min_maf"
    ):
        run_qc(
            prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv",
            min_maf=0.05, max_sample_missing=0.7,
        )


def test_run_qc__raises_when_only_monomorphic_variants(write_plink, tmp_path):
    prefix = write_plink(np.zeros((10, 3)))
    with pytest.raises(InputError, match="monomorphic 3.*no polymorphic variant"):
        run_qc(prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv", min_maf=0.0)


def test_run_qc__rejects_out_of_range_threshold(write_plink, tmp_path):
    prefix = write_plink(handmade_cohort())
    with pytest.raises(InputError, match=r"qc.min_maf = 0.7 is outside \[0, 0.5\]"):
        run_qc(prefix, tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv", min_maf=0.7)


# --- founders, chromosome X, haploid chromosomes and the per-chromosome summary --------------


def qc_paths(tmp_path) -> tuple:
    return tmp_path / "out", tmp_path / "report.tsv", tmp_path / "summary.tsv"


def hwe_removed(tmp_path) -> pd.DataFrame:
    report = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    return report[report.reason == "hwe"].set_index("id")


def family_cohort(rng, n_founders: int = 160, n_couples: int = 60, kids: int = 3, m_auto: int = 120, m_x: int = 60):
    """Founders (even rows male, odd rows female) with HWE deviations, then ``kids`` children per
    couple by Mendelian transmission; autosomes (chrom 1) then X, on which males are hemizygous
    (0 or 2 copies). Everyone is in family F, so the .fam PAT/MAT point at genotyped parents.
    Returns (G, fam, bim)."""
    male = np.arange(n_founders) % 2 == 0
    founders_x = genotypes_with_deviations(rng, n_founders, m_x, missing=0.0)
    f_x = rng.uniform(0.05, 0.5, m_x)
    founders_x[male] = 2.0 * (rng.random((male.sum(), m_x)) < f_x)
    G = np.hstack([genotypes_with_deviations(rng, n_founders, m_auto, missing=0.0), founders_x])
    fathers = rng.choice(np.flatnonzero(male), n_couples, replace=False).repeat(kids)
    mothers = rng.choice(np.flatnonzero(~male), n_couples, replace=False).repeat(kids)
    son = rng.random(len(fathers)) < 0.5

    def gamete(parent_genotypes):
        return (rng.random(parent_genotypes.shape) < parent_genotypes / 2).astype(float)

    kids_auto = gamete(G[fathers, :m_auto]) + gamete(G[mothers, :m_auto])
    from_mother = gamete(G[mothers, m_auto:])
    kids_x = np.where(son[:, None], 2 * from_mother, from_mother + G[fathers, m_auto:] / 2)
    G = np.vstack([G, np.hstack([kids_auto, kids_x])])
    G[rng.random(G.shape) < 0.01] = np.nan

    fam = make_fam(len(G)).assign(FID="F")
    fam["SEX"] = np.concatenate([np.where(male, "1", "2"), np.where(son, "1", "2")])
    fam.loc[n_founders:, "PAT"] = fam.IID[fathers].to_numpy()
    fam.loc[n_founders:, "MAT"] = fam.IID[mothers].to_numpy()
    bim = pd.concat([make_bim(m_auto), make_bim(m_x, chrom="X")], ignore_index=True)
    return G, fam, bim


@needs_plink2
def test_run_qc__hwe_on_founders_and_x_females_matches_plink2_hardy(rng, write_plink, tmp_path):
    G, fam, bim = family_cohort(rng)
    prefix = write_plink(G, fam=fam, bim=bim)
    plink2("--bfile", prefix, "--hardy", "cols=+femalep", "--out", str(tmp_path / "p"))
    female_only = read_plink_table(tmp_path / "p.hardy.x").assign(P=lambda d: d.FEMALE_ONLY_P)
    hardy = pd.concat([read_plink_table(tmp_path / "p.hardy"), female_only]).set_index("ID").P
    n_founders = int(re.search(r"(\d+) founders\)", (tmp_path / "p.log").read_text()).group(1))

    result = run_qc(
        prefix, *qc_paths(tmp_path), min_maf=0.0, max_variant_missing=1.0, max_sample_missing=1.0, hwe_p=0.05, chunk=50
    )

    removed = hwe_removed(tmp_path)
    monomorphic = np.nanmax(G, axis=0) == np.nanmin(G, axis=0)
    expected = hardy[bim.ID[~monomorphic]]
    assert sorted(removed.index) == sorted(expected.index[expected < 0.05])
    np.testing.assert_allclose(removed.value, hardy[removed.index], rtol=PLINK_RTOL)
    assert n_founders == 160 == result.n_hwe_founders == founders(fam).sum()
    assert result.n_hwe_females == 80
    assert removed.index.str.startswith("X:").sum() > 5 and removed.index.str.startswith("1:").sum() > 5
    # Founders only makes a difference: on all samples (males' X as diploid) other variants fail.
    p_all = hwe_exact_p(*(np.sum(G == g, axis=0) for g in (1, 2, 0)))
    assert set(bim.ID[p_all < 0.05]) != set(removed.index)


def structured_variant() -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """60 founders in exact HWE (15 AA, 30 Aa, 15 aa); each AA sire mated with an aa dam has 8
    children, all Aa. Returns (G (180 x 1), fam with PAT/MAT, pedigree IID SIRE DAM)."""
    founder_g = np.repeat([2.0, 1.0, 0.0], [15, 30, 15])
    G = np.concatenate([founder_g, np.ones(120)])[:, None]
    fam = make_fam(180).assign(FID="F")
    sires, dams = fam.IID[:15].to_numpy().repeat(8), fam.IID[45:60].to_numpy().repeat(8)
    pedigree = pd.DataFrame({"IID": fam.IID, "SIRE": "0", "DAM": "0"})
    pedigree.loc[60:, "SIRE"], pedigree.loc[60:, "DAM"] = sires, dams
    return G, fam, pedigree


@pytest.mark.parametrize("parents_in", ["fam", "pedigree"])
def test_run_qc__families_do_not_fail_hwe_when_founders_are_in_equilibrium(write_plink, tmp_path, parents_in):
    G, fam, pedigree = structured_variant()
    G = np.hstack([G, G])  # two copies: run_qc needs a variant left over
    p_all = hwe_exact_p(*(np.sum(G[:, 0] == g) for g in (1, 2, 0)))
    assert p_all < 1e-6  # 15 / 150 / 15: all samples taken as unrelated fail HWE at the default threshold
    if parents_in == "fam":
        fam = fam.assign(PAT=pedigree.SIRE, MAT=pedigree.DAM)
        ped = None
    else:
        ped = tmp_path / "ped.tsv"
        write_tsv(pedigree, ped)
    prefix = write_plink(G, fam=fam)

    result = run_qc(prefix, *qc_paths(tmp_path), pedigree=ped)

    assert (result.n_variants_kept, result.removed_hwe, result.n_hwe_founders) == (2, 0, 60)


def test_run_qc__pedigree_founders_equal_brute_force(rng, write_plink, tmp_path, caplog):
    # .fam PAT/MAT are all 0; the pedigree names parents, some of them never genotyped.
    n, m = 90, 40
    G = genotypes_with_deviations(rng, n, m, missing=0.0)
    fam = make_fam(n)
    pedigree = pd.DataFrame({"IID": fam.IID, "SIRE": "0", "DAM": "0"})
    pedigree.loc[60:74, ["SIRE", "DAM"]] = np.column_stack([fam.IID[:15], fam.IID[15:30]])  # both genotyped
    pedigree.loc[75:82, ["SIRE", "DAM"]] = np.column_stack([fam.IID[30:38], ["ghost"] * 8])  # one genotyped
    pedigree.loc[83:89, ["SIRE", "DAM"]] = [["ghost", "ghost2"]] * 7  # neither genotyped: founders
    ungenotyped = pd.DataFrame({"IID": ["ghost", "ghost2"], "SIRE": "0", "DAM": "0"})
    pedigree = pd.concat([pedigree.drop(index=[40, 41]), ungenotyped])  # s40, s41 without a row
    write_tsv(pedigree, tmp_path / "ped.tsv")
    prefix = write_plink(G, fam=fam)
    founder = np.r_[np.ones(60, bool), np.zeros(23, bool), np.ones(7, bool)]

    with caplog.at_level(logging.INFO, logger="phenomap.qc"):
        result = run_qc(
            prefix, *qc_paths(tmp_path), pedigree=tmp_path / "ped.tsv",
            min_maf=0.0, max_variant_missing=1.0, max_sample_missing=1.0, hwe_p=0.01,
        )

    counts_f = [np.sum(G[founder] == g, axis=0) for g in (1, 2, 0)]
    brute = np.array([brute_force_hwe_p(*(int(c[j]) for c in counts_f)) for j in range(m)])
    removed = hwe_removed(tmp_path)
    assert list(removed.index) == list(make_bim(m).ID[brute < 0.01])
    np.testing.assert_allclose(removed.value, brute[brute < 0.01], rtol=1e-9)
    assert result.n_hwe_founders == 67
    assert "88 of 90 genotyped samples have a row" in caplog.text
    assert "2 rows are of individuals not genotyped (e.g. ghost)" in caplog.text


def x_cohort(sex_known: bool = True) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """200 unrelated samples; variant 0 on chrom 1 in HWE; variant 1 on X: 100 females
    25 / 50 / 25, 100 hemizygous males 50 x 2 and 50 x 0, except one heterozygous male."""
    females = np.repeat([2.0, 1.0, 0.0], [25, 50, 25])
    males = np.repeat([2.0, 0.0], [50, 50])
    males[0] = 1.0
    G = np.column_stack([np.tile(females, 2), np.concatenate([females, males])])
    fam = make_fam(200).assign(SEX=np.repeat(["2", "1"] if sex_known else ["0", "0"], 100))
    bim = pd.concat([make_bim(1), make_bim(1, chrom="X")], ignore_index=True)
    return G, fam, bim


def test_run_qc__x_is_tested_on_females_so_hemizygous_males_do_not_fail_it(write_plink, tmp_path):
    G, fam, bim = x_cohort()
    assert hwe_exact_p(*(np.sum(G[:, 1] == g) for g in (1, 2, 0))) < 1e-6  # all samples as diploid fail
    prefix = write_plink(G, fam=fam, bim=bim)

    result = run_qc(prefix, *qc_paths(tmp_path))

    assert hwe_removed(tmp_path).empty
    assert (result.n_variants_kept, result.hwe_not_tested) == (2, 0)
    assert (result.n_hwe_founders, result.n_hwe_females) == (200, 100)
    np.testing.assert_array_equal(Bfile.open(tmp_path / "out").read(), G)  # the male het call stays


def test_run_qc__x_is_not_hwe_tested_without_known_sex(write_plink, tmp_path, caplog):
    G, fam, bim = x_cohort(sex_known=False)
    prefix = write_plink(G, fam=fam, bim=bim)

    with caplog.at_level(logging.WARNING, logger="phenomap.qc"):
        result = run_qc(prefix, *qc_paths(tmp_path))

    assert hwe_removed(tmp_path).empty
    assert (result.n_variants_kept, result.removed_hwe, result.hwe_not_tested, result.n_hwe_females) == (2, 0, 1, 0)
    assert result.per_chrom.set_index("chrom").hwe_not_tested.to_dict() == {"1": 0, "X": 1}
    assert "no sample has a known sex" in caplog.text and "the 1 chrX variants are not HWE-tested" in caplog.text
    assert "Put the sex in the .fam (1 = male, 2 = female" in caplog.text


def test_run_qc__y_and_mt_are_never_hwe_tested_and_xy_is_tested_as_an_autosome(write_plink, tmp_path):
    # Every variant is 100 x 2 / 100 x 0 calls: HWE p ~ 1e-59 wherever it is tested.
    G = np.tile(np.repeat([2.0, 0.0], 100)[:, None], (1, 5))
    bim = pd.concat([make_bim(1, chrom=c) for c in ("Y", "MT", "1", "XY", "Y")], ignore_index=True)
    bim["ID"] = [f"v{j}" for j in range(5)]
    prefix = write_plink(G, fam=make_fam(200).assign(SEX="1"), bim=bim)

    result = run_qc(prefix, *qc_paths(tmp_path))

    assert list(hwe_removed(tmp_path).index) == ["v2", "v3"]
    assert (result.n_variants_kept, result.hwe_not_tested) == (3, 3)
    assert list(result.per_chrom.chrom) == ["1", "Y", "XY", "MT"]


def test_run_qc__summary_counts_equal_the_report_by_chromosome(rng, write_plink, tmp_path, caplog):
    G = planted_cohort(rng)
    bim = make_bim(G.shape[1])
    bim["CHROM"] = rng.choice(["1", "2", "10", "X", "MT"], size=len(bim))
    bim["ID"] = [f"v{j}" for j in range(len(bim))]
    fam = make_fam(len(G)).assign(SEX=rng.choice(["1", "2"], size=len(G)))
    prefix = write_plink(G, fam=fam, bim=bim)

    with caplog.at_level(logging.INFO, logger="phenomap.qc"):
        result = run_qc(prefix, *qc_paths(tmp_path), chunk=64)

    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t", dtype={"chrom": str})
    report = pd.read_csv(tmp_path / "report.tsv", sep="\t")
    variants = report[report.kind == "variant"]
    outcome = bim.set_index("ID").assign(reason=variants.set_index("id").reason).reason.fillna("variants_kept")
    expected = pd.crosstab(bim.CHROM.to_numpy(), outcome.to_numpy())
    chroms = ["1", "2", "10", "X", "MT"]
    by_chrom = summary.set_index("chrom")
    for column in ["variants_kept", "variant_missing", "monomorphic", "maf", "hwe"]:
        brute = expected.reindex(index=chroms, columns=[column], fill_value=0)[column]
        assert by_chrom.loc[chroms, column].tolist() == brute.tolist()
    assert by_chrom.loc[chroms, "variants_in"].tolist() == bim.CHROM.value_counts()[chroms].tolist()
    kept_mt = ((bim.CHROM == "MT") & (outcome.to_numpy() == "variants_kept")).sum()
    assert by_chrom.hwe_not_tested.tolist() == [0, 0, 0, 0, kept_mt, kept_mt]
    assert list(summary.chrom) == [*chroms, "total"]
    total = by_chrom.loc["total"]
    assert total[["variants_in", "variants_kept"]].tolist() == [len(bim), len(bim) - len(variants)]
    assert total[["samples_in", "samples_kept", "sample_missing"]].tolist() == [203, 195, 8]
    kept_samples = ~fam.FID.add(":" + fam.IID).isin(report.id)
    assert total[["hwe_founders", "hwe_females"]].tolist() == [195, (kept_samples & (fam.SEX == "2")).sum()]
    assert summary.drop(index=5).iloc[:, 8:].isna().all().all()
    pd.testing.assert_frame_equal(result.summary(), summary, check_dtype=False)
    row_x = by_chrom.loc["X", "variants_in":"hwe"].astype(int)
    assert (
        f"QC chrom X: kept {row_x.variants_kept} of {row_x.variants_in} variants; removed variant_missing "
        f"{row_x.variant_missing}, monomorphic {row_x.monomorphic}, maf {row_x.maf}, hwe {row_x.hwe}; "
        "0 kept without HWE test"
    ) in caplog.text
    assert f"QC total: kept {len(bim) - len(variants)} of 301 variants" in caplog.text


def test_run_qc__warns_when_few_founders(write_plink, tmp_path, caplog):
    G = np.tile(np.repeat([2.0, 1.0, 0.0], [10, 20, 10])[:, None], (1, 3))
    with caplog.at_level(logging.WARNING, logger="phenomap.qc"):
        run_qc(write_plink(G), *qc_paths(tmp_path))
    assert "HWE on autosomes and XY is computed on 40 founders only (fewer than 50)" in caplog.text
    assert f"the smallest p-value 40 samples can give is {brute_force_hwe_p(0, 20, 20):.3g} " in caplog.text


def test_founders__parents_are_looked_up_within_the_fid_of_the_fam():
    fam = make_fam(5).assign(FID=["A", "A", "A", "B", "B"])
    fam.loc[2, ["PAT", "MAT"]] = ["s0", "s1"]  # both genotyped in family A
    fam.loc[3, ["PAT", "MAT"]] = ["s0", "0"]  # s0 is in family A, not B: a founder
    fam.loc[4, ["PAT", "MAT"]] = ["0", "s3"]
    np.testing.assert_array_equal(founders(fam), [True, True, False, True, False])


def test_founders__pedigree_with_repeated_fam_iid_raises():
    fam = make_fam(3).assign(FID=["A", "B", "B"], IID=["x", "x", "y"])
    pedigree = pd.DataFrame({"IID": ["y"], "SIRE": ["x"], "DAM": ["0"]})
    with pytest.raises(InputError, match="repeats IID 'x' under several FIDs, so ped.tsv"):
        founders(fam, pedigree, source="ped.tsv")


def test_run_qc__bad_pedigree_raises_naming_the_file(write_plink, tmp_path):
    (tmp_path / "ped.tsv").write_text("IID\tSIRE\tDAM\ns0\ts0\t0\n")
    with pytest.raises(InputError, match=r"ped.tsv: data row 1 \(IID s0\) is its own parent"):
        run_qc(write_plink(handmade_cohort()), *qc_paths(tmp_path), pedigree=tmp_path / "ped.tsv")


def test_run_qc__no_kept_female_founder_leaves_x_untested(write_plink, tmp_path, caplog):
    G, fam, bim = x_cohort()
    fam["SEX"] = "1"  # sex known, but everyone male
    with caplog.at_level(logging.WARNING, logger="phenomap.qc"):
        result = run_qc(write_plink(G, fam=fam, bim=bim), *qc_paths(tmp_path))
    assert (result.removed_hwe, result.hwe_not_tested, result.n_hwe_females) == (0, 1, 0)
    assert "no kept female founders: the variants on chrX are not HWE-tested" in caplog.text
