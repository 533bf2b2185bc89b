"""Mixed-model GWAS: agreement with dense brute-force REML/Wald, with GEMMA -lmm 1, and the file contract."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from phenomap_testing import make_bim, needs_gemma, simulate_related_cohort
from phenomap.errors import InputError
from phenomap.gwas.linear import SUMSTATS_COLUMNS, design_matrix, run_linear_gwas
from phenomap.gwas.lmm import NULL_MODEL_ATTR, lmm_association, lmm_memory_mb, run_lmm_gwas, spectral_model
from phenomap.gwas.summary import lambda_gc
from phenomap.io.plink import write_bfile


def numpy_grm(G):
    """VanRaden K over the rows of G: p over observed calls, missing -> 0 after centring."""
    G = np.asarray(G, dtype=np.float64)
    p = np.nanmean(G, axis=0) / 2
    W = np.where(np.isnan(G), 0.0, G - 2 * p)
    return W @ W.T / (2 * np.sum(p * (1 - p)))


# --- brute force ---------------------------------------------------------------------------------


def dense_reml(K, y, A):
    """REML log-likelihood of y ~ N(A b, s2 (lam K + I)) in log(lam), and its analytic derivative in lam.

    Written with dense matrices and explicit inverses: -1/2 [log|H| + log|A'H^-1 A| + df log(y'P y)].
    """
    n, p = A.shape
    df = n - p

    def parts(lam):
        H = lam * K + np.eye(n)
        Hi = np.linalg.inv(H)
        P = Hi - Hi @ A @ np.linalg.inv(A.T @ Hi @ A) @ A.T @ Hi
        return H, Hi, P

    def loglik(log_lam):
        H, Hi, P = parts(np.exp(log_lam))
        return -0.5 * (np.linalg.slogdet(H)[1] + np.linalg.slogdet(A.T @ Hi @ A)[1] + df * np.log(y @ P @ y))

    def derivative(lam):  # the textbook REML score: -tr(PK)/2 + df y'PKPy / (2 y'Py)
        _, _, P = parts(lam)
        return -0.5 * np.trace(P @ K) + 0.5 * df * (y @ P @ K @ P @ y) / (y @ P @ y)

    return loglik, derivative


def brute_remle(K, y, A):
    """argmax of the REML over lam in [1e-5, 1e5]: a grid, minimize_scalar, then the score's root.

    ``minimize_scalar`` alone locates a flat maximum to ~1e-7 in log(lam) only (the likelihood
    changes by rounding noise there), so an interior maximum is polished with brentq on the
    analytic derivative.
    """
    loglik, derivative = dense_reml(K, y, A)
    grid = np.linspace(np.log(1e-5), np.log(1e5), 21)
    i = int(np.argmax([loglik(t) for t in grid]))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    t = optimize.minimize_scalar(lambda t: -loglik(t), bounds=(lo, hi), method="bounded", options=dict(xatol=1e-9)).x
    a, b = np.exp(t - 0.01), np.exp(t + 0.01)
    if np.exp(lo) < a and b < np.exp(hi) and derivative(a) * derivative(b) < 0:
        return optimize.brentq(derivative, a, b, xtol=1e-14, rtol=1e-13)
    return float(np.exp(t))


def brute_wald(K, y, Z, x):
    """(lam, beta, se, p) of variant x (NaN mean-imputed) with covariates Z, all dense."""
    n = len(y)
    x = np.where(np.isnan(x), np.nanmean(x), x)
    A = np.column_stack([Z, x])
    lam = brute_remle(K, y, A)
    Hi = np.linalg.inv(lam * K + np.eye(n))
    P0 = Hi - Hi @ Z @ np.linalg.inv(Z.T @ Hi @ Z) @ Z.T @ Hi
    P1 = Hi - Hi @ A @ np.linalg.inv(A.T @ Hi @ A) @ A.T @ Hi
    df = n - Z.shape[1] - 1
    beta = (x @ P0 @ y) / (x @ P0 @ x)
    se = np.sqrt((y @ P1 @ y) / (df * (x @ P0 @ x)))
    return lam, beta, se, 2 * stats.t.sf(abs(beta / se), df)


def test_lmm_association__equals_dense_brute_force_reml_and_wald_with_loco(rng):
    cohort = simulate_related_cohort(rng, n_families=30, n_offspring=3, n_chrom=3, variants_per_chrom=100,
                                     missing=0.02)
    G, y, chrom = cohort.G, cohort.y, cohort.bim.CHROM.to_numpy()
    Z = design_matrix(cohort.covariates, len(y))
    for c in ("1", "2", "3"):
        K = numpy_grm(G[:, chrom != c])
        model = spectral_model(K, y, Z)
        tested = np.flatnonzero(chrom == c)[::20]
        res = lmm_association(G[:, tested], model)
        ref = np.array([brute_wald(K, y, Z, G[:, j]) for j in tested]).T
        np.testing.assert_allclose(res.lam, ref[0], rtol=1e-7)
        np.testing.assert_allclose(res.beta, ref[1], rtol=1e-6, atol=1e-7 * ref[2].min())
        np.testing.assert_allclose(res.se, ref[2], rtol=1e-7)
        np.testing.assert_allclose(res.p, ref[3], rtol=1e-6)
        assert ref[0].min() > 0.05  # interior maxima: the test exercises the root search
        # the null model: same REML without the variant, h2 from lambda0 and mean(diag K)
        lam0 = brute_remle(K, y - y.mean(), Z)
        assert model.null.lambda0 == pytest.approx(lam0, rel=1e-7)
        kbar = np.mean(np.diag(K))
        assert model.null.h2 == pytest.approx(lam0 * kbar / (lam0 * kbar + 1), rel=1e-7)


def test_lmm_association__constant_and_covariate_collinear_variants_are_nan(rng):
    cohort = simulate_related_cohort(rng, n_families=20, n_offspring=2, n_chrom=2, variants_per_chrom=30)
    G = cohort.G[:, :6].copy()
    G[:, 1] = 2.0
    G[:, 2] = np.where(np.arange(len(G)) % 2, 1.0, np.nan)  # constant where observed
    G[:, 3] = cohort.covariates[:, 0]  # the sex covariate, coded 0/1
    model = spectral_model(numpy_grm(cohort.G[:, 6:]), cohort.y, design_matrix(cohort.covariates, len(G)))
    res = lmm_association(G, model)
    assert np.isnan(res.beta[1:4]).all() and np.isnan(res.p[1:4]).all() and np.isnan(res.lam[1:4]).all()
    assert np.isfinite(res.p[[0, 4, 5]]).all()
    np.testing.assert_array_equal(res.n, (~np.isnan(G)).sum(axis=0))


# --- GEMMA ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def related(tmp_path_factory):
    """400 samples in 100 families from 2 populations, 3 x 500 variants, h2 = 0.5, two covariates.

    Half the variants have their allele labels swapped (A1 = G), so allele orientation is
    checked. The phenotype file is shuffled, lacks one genotyped sample, has a sample that is
    not genotyped and two missing trait values; the covariate file is shuffled and misses one age.
    """
    rng = np.random.default_rng(20261206)
    cohort = simulate_related_cohort(rng)
    bim = cohort.bim.copy()
    swap = rng.random(len(bim)) < 0.5
    bim.loc[swap, ["A1", "A2"]] = ["G", "A"]
    d = tmp_path_factory.mktemp("related")
    write_bfile(d / "geno", cohort.fam, bim, iter([cohort.G]))
    keys = cohort.fam[["FID", "IID"]]
    y = cohort.y.copy()
    y[[10, 77]] = np.nan
    pheno = keys.assign(trait=y, null=cohort.y_null)
    extra = pd.DataFrame({"FID": ["zz"], "IID": ["zz"], "trait": [1.0], "null": [1.0]})  # not genotyped
    pheno = pd.concat([pheno.drop(index=5), extra])
    pheno.sample(frac=1, random_state=3).to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    covar = keys.assign(sex=cohort.covariates[:, 0], age=cohort.covariates[:, 1])
    covar.loc[200, "age"] = np.nan
    covar.sample(frac=1, random_state=4).to_csv(d / "covar.tsv", sep="\t", index=False, na_rep="NA")
    analysed = np.ones(len(y), bool)
    analysed[[5, 10, 77, 200]] = False
    kw = dict(covar=d / "covar.tsv", chunk=128)
    return dict(
        cohort=cohort, bim=bim, dir=d, y=np.where(analysed, y, np.nan), analysed=analysed,
        loco=run_lmm_gwas(d / "geno", d / "pheno.tsv", "trait", d / "loco.tsv", loco=True, **kw),
        whole=run_lmm_gwas(d / "geno", d / "pheno.tsv", "trait", d / "whole.tsv", loco=False, **kw),
        linear=run_linear_gwas(d / "geno", d / "pheno.tsv", "trait", d / "linear.tsv", **kw),
    )


def run_gemma(related, K, variants, name):
    """GEMMA -lmm 1 on ``variants`` with relatedness K (analysed samples); returns (assoc table, log text).

    GEMMA reads the samples in .fam order: the trait from ``-p`` (NA where not analysed,
    which drops the sample), the covariates with an explicit intercept from ``-c``, and an
    n_fam x n_fam ``-k`` matrix whose rows of dropped samples are never used.
    """
    d, cohort, analysed = related["dir"], related["cohort"], related["analysed"]
    prefix = d / name
    write_bfile(prefix, cohort.fam, related["bim"].iloc[variants], iter([cohort.G[:, variants]]))
    K_fam = np.eye(len(analysed))
    K_fam[np.ix_(analysed, analysed)] = K
    np.savetxt(d / f"{name}.K.txt", K_fam, fmt="%.17g", delimiter="\t")
    Path(d / f"{name}.pheno.txt").write_text("".join("NA\n" if np.isnan(v) else f"{v:.17g}\n" for v in related["y"]))
    np.savetxt(d / f"{name}.covar.txt", np.column_stack([np.ones(len(analysed)), cohort.covariates]), fmt="%.17g")
    cmd = [shutil.which("gemma"), "-bfile", str(prefix), "-p", str(d / f"{name}.pheno.txt"), "-k",
           str(d / f"{name}.K.txt"), "-c", str(d / f"{name}.covar.txt"), "-lmm", "1", "-maf", "0", "-miss", "1",
           "-o", name, "-outdir", str(d / "gemma")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assoc = pd.read_csv(d / "gemma" / f"{name}.assoc.txt", sep="\t", dtype={"rs": str, "allele1": str, "allele0": str})
    return assoc, (d / "gemma" / f"{name}.log.txt").read_text()


def gemma_log_value(text, key):
    line = next(line for line in text.splitlines() if line.startswith(f"## {key} = "))
    return float(line.split("=")[1])


def assert_matches_gemma(ours, gemma, lam=None):
    """Agreement to GEMMA's printed precision, up to its lambda's own tolerance.

    GEMMA prints 7 significant digits, and stops its Newton search for lambda when a step is
    below 1e-5 relative, reporting the iterate *before* that step (lmm.cpp: ``l = l_temp``),
    so its lambda is off by up to ~1e-5 relative. That moves beta by up to ~1e-5 of its
    standard error (so beta is compared in se units: tiny betas have large relative errors),
    se by ~1e-6 and p by ~1e-5 relative.
    """
    assert list(gemma.rs) == list(ours.ID)
    assert list(gemma.allele1) == list(ours.A1)  # GEMMA counts the .bim A1, as we do: no sign flip
    np.testing.assert_allclose(ours.A1_FREQ, gemma.af, atol=5e-4 + 1e-12)  # af printed with 3 decimals
    assert np.max(np.abs(ours.BETA - gemma.beta) / gemma.se) < 2e-5
    np.testing.assert_allclose(ours.SE, gemma.se, rtol=5e-6)
    np.testing.assert_allclose(ours.P, gemma.p_wald, rtol=3e-5)
    if lam is not None:
        np.testing.assert_allclose(lam, gemma.l_remle, rtol=3e-5)


@needs_gemma
def test_run_lmm_gwas__loco_equals_gemma_with_leave_one_chromosome_out_grm(related):
    cohort, analysed, ours = related["cohort"], related["analysed"], related["loco"]
    chrom = cohort.bim.CHROM.to_numpy()
    y = related["y"][analysed]
    Z = design_matrix(cohort.covariates[analysed], int(analysed.sum()))
    for c in ("1", "2", "3"):
        variants = np.flatnonzero(chrom == c)
        K = numpy_grm(cohort.G[np.ix_(analysed, chrom != c)])  # written independently of phenomap.gwas.grm
        gemma, text = run_gemma(related, K, variants, f"chr{c}")
        model = spectral_model(K, y, Z)
        lam = lmm_association(cohort.G[np.ix_(analysed, variants)], model).lam
        assert_matches_gemma(ours.iloc[variants].reset_index(drop=True), gemma, lam)
        # the null model (covariates only) on K_{-c}
        assert model.null.h2 == pytest.approx(gemma_log_value(text, "pve estimate in the null model"), rel=1e-5)
        assert model.null.loglik == pytest.approx(
            gemma_log_value(text, "REMLE log-likelihood in the null model"), abs=1e-3)
        assert model.null.sigma_g2 == pytest.approx(gemma_log_value(text, "vg estimate in the null model"), rel=3e-5)
        assert model.null.sigma_e2 == pytest.approx(gemma_log_value(text, "ve estimate in the null model"), rel=3e-5)
    # the comparison discriminates: a whole-genome GRM gives different answers on this cohort
    whole = related["whole"]
    assert np.median(np.abs(np.log(whole.P / ours.P))) > 1e-3


@needs_gemma
def test_run_lmm_gwas__whole_genome_grm_equals_gemma(related):
    cohort, analysed, ours = related["cohort"], related["analysed"], related["whole"]
    K = numpy_grm(cohort.G[analysed])
    gemma, text = run_gemma(related, K, np.arange(cohort.G.shape[1]), "whole")
    assert_matches_gemma(ours, gemma)
    null = ours.attrs[NULL_MODEL_ATTR]
    assert null["h2"] == pytest.approx(gemma_log_value(text, "pve estimate in the null model"), rel=1e-5)
    assert null["n"] == int(analysed.sum()) == 396


def test_run_lmm_gwas__differs_from_linear_model_on_related_samples(related):
    lmm, linear = related["loco"], related["linear"]
    np.testing.assert_array_equal(lmm.N, linear.N)
    np.testing.assert_allclose(lmm.A1_FREQ, linear.A1_FREQ, rtol=1e-12)
    ratio = np.abs(np.log(lmm.P / linear.P))
    assert np.median(ratio) > 0.05  # relatedness changes the test, not only rounding


def test_run_lmm_gwas__lambda_gc_near_one_under_a_confounded_null_trait(related):
    """The null trait's genetic value comes from chromosomes 1-2: chromosome 3's variants are null.

    λGC over 500 correlated tests of one cohort varies by about ±0.15 between simulations
    (0.86-1.21 over six seeds, mean 1.0), hence the bound.
    """
    d = related["dir"]
    kw = dict(covar=d / "covar.tsv", chunk=256)
    lmm = run_lmm_gwas(d / "geno", d / "pheno.tsv", "null", d / "null_lmm.tsv", **kw)
    linear = run_linear_gwas(d / "geno", d / "pheno.tsv", "null", d / "null_linear.tsv", **kw)
    null = (lmm.CHROM == "3").to_numpy()
    gc_lmm, gc_linear = lambda_gc(z=lmm.Z[null]), lambda_gc(z=linear.Z[null])
    assert gc_linear > 1.5  # families and population structure inflate the linear model
    assert abs(gc_lmm - 1) < 0.2 and abs(gc_lmm - 1) < (gc_linear - 1) / 3


# --- the output file -----------------------------------------------------------------------------


def test_run_lmm_gwas__writes_the_contract_in_bim_order_and_joins_samples_by_id(related, tmp_path):
    d = related["dir"]
    written = pd.read_csv(d / "loco.tsv", sep="\t", dtype={"CHROM": str, "ID": str})
    assert list(written.columns) == SUMSTATS_COLUMNS
    assert list(written.ID) == list(related["bim"].ID) and list(written.A1) == list(related["bim"].A1)
    np.testing.assert_allclose(written.P, related["loco"].P, rtol=1e-9)
    np.testing.assert_allclose(written.Z, written.BETA / written.SE, rtol=1e-8)
    # the same files with rows in another order give identical results
    pheno = pd.read_csv(d / "pheno.tsv", sep="\t").iloc[::-1]
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    again = run_lmm_gwas(d / "geno", tmp_path / "pheno.tsv", "trait", tmp_path / "out.tsv", covar=d / "covar.tsv")
    pd.testing.assert_frame_equal(again, related["loco"], check_exact=False, rtol=1e-10)


def test_run_lmm_gwas__constant_variant_has_na_statistics(rng, tmp_path, write_plink):
    cohort = simulate_related_cohort(rng, n_families=25, n_offspring=2, n_chrom=2, variants_per_chrom=40)
    G = cohort.G.copy()
    G[:, 7] = 0.0
    prefix = write_plink(G, fam=cohort.fam, bim=cohort.bim)
    cohort.fam[["FID", "IID"]].assign(y=cohort.y).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    table = run_lmm_gwas(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "out.tsv", chunk=16)
    written = pd.read_csv(tmp_path / "out.tsv", sep="\t", keep_default_na=False)
    assert (written.loc[7, ["BETA", "SE", "Z", "P"]] == "NA").all()
    assert table.P.notna().sum() == len(table) - 1
    assert written.loc[7, "N"] == len(G) - np.isnan(G[:, 7]).sum()


def test_run_lmm_gwas__loco_on_one_chromosome_asks_to_turn_it_off(rng, tmp_path, write_plink):
    G = rng.binomial(2, 0.3, (40, 30)).astype(np.float32)
    prefix = write_plink(G, bim=make_bim(30, chrom="7"))
    pd.DataFrame({"FID": [f"s{i}" for i in range(40)], "IID": [f"s{i}" for i in range(40)],
                  "y": rng.normal(size=40)}).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="chromosome 7 only.*gwas.loco: false"):
        run_lmm_gwas(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "out.tsv")
    table = run_lmm_gwas(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "out.tsv", loco=False)
    assert table.P.notna().all()


# --- lambda_gc -----------------------------------------------------------------------------------


def test_lambda_gc__is_median_chi2_over_its_null_median_ignoring_nan(rng):
    z = rng.normal(size=1001) * 1.2
    expected = np.median(z**2) / stats.chi2.ppf(0.5, 1)
    assert lambda_gc(z=np.r_[z, np.nan]) == pytest.approx(expected, rel=1e-12)
    assert lambda_gc(p=np.r_[2 * stats.norm.sf(np.abs(z)), np.nan]) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(1.44, abs=0.15)
    with pytest.raises(ValueError, match="exactly one"):
        lambda_gc(z=z, p=z)
    assert np.isnan(lambda_gc(z=[np.nan]))


def test_lmm_memory_mb__covers_the_traced_peak(related, tmp_path):
    d = related["dir"]
    tracemalloc.start()
    run_lmm_gwas(d / "geno", d / "pheno.tsv", "trait", tmp_path / "out.tsv", chunk=128)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lmm_memory_mb(len(related["cohort"].fam), 128) - 250 > peak / 1e6
    assert lmm_memory_mb(5000, 4096) > 1.5 * 8 * 5 * 5000**2 / 1e6
