"""Training simulation for effect shrinkage: OLS, effect model, both simulators and the block files."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from phenomap_testing import make_bim
from scipy.stats import linregress

from phenomap.errors import InputError
from phenomap.ld.matrix import block_ld, correlation, ld_scores
from phenomap.sim.training import (
    SimSetting,
    genotype_moments,
    load_simulations,
    marginal_ols,
    setting_grid,
    simulate_block,
    simulate_individual,
    simulate_summary,
)
from phenomap.sim.haplotypes import ar1_genotypes

BLOCK = "1_0001"


def ld_genotypes(rng: np.random.Generator, n: int, m: int, rho: float = 0.9) -> np.ndarray:
    return ar1_genotypes(rng, n, m, rho=rho).astype(np.float32)


def imputed(G: np.ndarray) -> np.ndarray:
    G = np.asarray(G, dtype=np.float64)
    return np.where(np.isnan(G), np.nanmean(G, axis=0), G)


def log_fit(beta: np.ndarray, setting_rows: np.ndarray, covariates: list[np.ndarray]) -> np.ndarray:
    """Slopes of log beta^2 on the covariates, with one intercept per replicate."""
    y = np.log(beta[setting_rows] ** 2)
    y -= y.mean(axis=1, keepdims=True)
    X = np.stack([np.broadcast_to(c - c.mean(), y.shape).ravel() for c in covariates], axis=1)
    return np.linalg.lstsq(X, y.ravel(), rcond=None)[0]


# --- settings -------------------------------------------------------------------------------


def test_setting_grid__is_the_cartesian_product_in_stable_order():
    grid = setting_grid([0.01, 0.05], [0.3, 0.7], [-0.25, 0], [-1, 0])
    assert len(grid) == 16
    assert grid[0] == SimSetting(0.01, 0.3, -0.25, -1.0)
    assert grid[1] == SimSetting(0.01, 0.3, -0.25, 0.0)
    assert grid[-1] == SimSetting(0.05, 0.7, 0.0, 0.0)
    assert len(set(grid)) == 16
    assert all(isinstance(v, float) for v in (grid[0].s, grid[0].w))


@pytest.mark.parametrize(
    "values, parameter",
    [((0.0, 0.5, 0, 0), "causal_fraction"), ((1.5, 0.5, 0, 0), "causal_fraction"), ((0.1, 0.0, 0, 0), "h2"),
     ((0.1, 1.0, 0, 0), "h2"), ((0.1, 0.5, float("nan"), 0), "s"), ((0.1, 0.5, 0, float("inf")), "w")],
)
def test_sim_setting__rejects_out_of_range_values(values, parameter):
    with pytest.raises(InputError, match=rf"setting {parameter}="):
        SimSetting(*values)


def test_setting_grid__rejects_an_empty_axis():
    with pytest.raises(InputError, match=r"\['h2s'\] are empty"):
        setting_grid([0.1], [], [0], [0])


# --- marginal OLS ---------------------------------------------------------------------------


def test_marginal_ols__equals_per_variant_linregress_on_mean_imputed_genotypes(rng):
    G = ld_genotypes(rng, 80, 7)
    G[rng.random(G.shape) < 0.1] = np.nan
    Y = rng.standard_normal((80, 3)) + imputed(G)[:, :3] * [0.5, 0.0, -0.3]
    beta_hat, se = marginal_ols(G, Y)
    X = imputed(G)
    for k in range(3):
        for j in range(7):
            fit = linregress(X[:, j], Y[:, k])
            assert beta_hat[k, j] == pytest.approx(fit.slope, rel=1e-10)
            assert se[k, j] == pytest.approx(fit.stderr, rel=1e-10)


# --- individual-level simulator -------------------------------------------------------------


def test_simulate_individual__rescales_to_the_exact_genetic_variance_and_causal_count(rng):
    G = ld_genotypes(rng, 150, 40)
    G[rng.random(G.shape) < 0.05] = np.nan
    settings = [SimSetting(0.001, 0.3, -0.25, 0), SimSetting(0.1, 0.7, 0, -1), SimSetting(1.0, 0.5, -1, 0)]
    ldscore = ld_scores(correlation(G), 150, adjust=False)
    out = simulate_individual(G, settings, replicates=4, h2_share=0.2, rng=rng, ldscore=ldscore)
    assert out.n == 150
    np.testing.assert_array_equal(out.setting, np.repeat([0, 1, 2], 4))
    genetic_variance = np.var(imputed(G) @ out.beta.T, axis=0)
    np.testing.assert_allclose(genetic_variance, np.repeat([0.3, 0.7, 0.5], 4) * 0.2, rtol=1e-10)
    expected_causal = [max(1, round(s.causal_fraction * 40)) for s in settings]
    np.testing.assert_array_equal((out.beta != 0).sum(axis=1), np.repeat(expected_causal, 4))
    assert np.isfinite(out.beta_hat).all() and (out.se > 0).all()


def test_simulate_individual__estimates_follow_the_ols_sampling_distribution(rng):
    """Given beta, beta_hat_j = x_j'X beta / x_j'x_j + N(0, (1 - h2 share) / x_j'x_j) exactly."""
    G = ld_genotypes(rng, 200, 15)
    out = simulate_individual(
        G, [SimSetting(0.2, 0.5, 0, 0)], replicates=1500, h2_share=0.6, rng=rng, ldscore=np.ones(15)
    )
    X = imputed(G) - imputed(G).mean(axis=0)
    sxx = np.einsum("ij,ij->j", X, X)
    z = (out.beta_hat - out.beta @ (X.T @ X) / sxx) / np.sqrt((1 - 0.3) / sxx)
    assert np.abs(z.mean(axis=0)).max() < 4 / np.sqrt(1500)
    np.testing.assert_allclose(z.var(axis=0), 1, atol=0.15)


def test_simulate_individual__variance_model_recovers_frequency_and_ld_exponents(rng):
    G = ld_genotypes(rng, 100, 120, rho=0.5)
    freq, _ = genotype_moments(G)
    heterozygosity = 2 * freq * (1 - freq)
    ldscore = rng.uniform(1, 30, 120)  # any positive scores, independent of frequency
    settings = setting_grid([1.0], [0.5], [-1.0, 0.0], [-1.0, 0.0])
    out = simulate_individual(G, settings, replicates=150, h2_share=0.5, rng=rng, ldscore=ldscore)
    for k, setting in enumerate(settings):
        s_hat, w_hat = log_fit(out.beta, out.setting == k, [np.log(heterozygosity), np.log(ldscore)])
        assert s_hat == pytest.approx(setting.s, abs=0.15)
        assert w_hat == pytest.approx(setting.w, abs=0.1)


def test_simulate_individual__simulates_a_block_of_one_variant(rng):
    G = ld_genotypes(rng, 60, 1)
    out = simulate_individual(G, [SimSetting(0.05, 0.4, 0, 0)], replicates=2, h2_share=0.5, rng=rng, ldscore=[1.0])
    np.testing.assert_allclose(np.var(G[:, 0]) * out.beta[:, 0] ** 2, 0.2, rtol=1e-6)
    assert (out.se > 0).all()


def test_simulate_individual__rejects_a_monomorphic_variant_naming_it(rng):
    G = ld_genotypes(rng, 50, 4)
    G[:, 2] = 1.0
    G[:5, 2] = np.nan
    with pytest.raises(InputError, match=r"first 'rs2' \(column 2\).*--maf"):
        simulate_individual(
            G, [SimSetting(0.5, 0.5, 0, 0)], replicates=1, h2_share=0.1, rng=rng, ldscore=np.ones(4),
            ids=["rs0", "rs1", "rs2", "rs3"],
        )


@pytest.mark.parametrize(
    "change, message",
    [(dict(h2_share=2.0), r"h2_share=2.0 with h2 up to 0.5"), (dict(h2_share=0.0), r"h2_share=0.0"),
     (dict(replicates=0), r"1 settings x 0 replicates"), (dict(ldscore=np.zeros(5)), r"LD scores must be 5 positive"),
     (dict(ldscore=np.ones(4)), r"LD scores must be 5 positive")],
)
def test_simulators__reject_impossible_parameters(rng, change, message):
    G = ld_genotypes(rng, 40, 5)
    freq, sd = genotype_moments(G)
    args = dict(replicates=1, h2_share=0.5, rng=rng, ldscore=np.ones(5)) | change
    settings = [SimSetting(0.5, 0.5, 0, 0)]
    with pytest.raises(InputError, match=message):
        simulate_individual(G, settings, **args)
    with pytest.raises(InputError, match=message):
        simulate_summary(correlation(G), sd, 40, settings, **args)


# --- summary-level simulator ----------------------------------------------------------------


def test_simulate_summary__estimates_have_mean_r_b_and_covariance_r_over_n(rng):
    G = ld_genotypes(rng, 300, 12)
    r = correlation(G).astype(np.float64)
    _, sd = genotype_moments(G)
    n, N = 500, 8000
    out = simulate_summary(r, sd, n, [SimSetting(0.25, 0.5, -0.25, 0)], replicates=N, h2_share=0.5, rng=rng,
                           ldscore=ld_scores(r, 300, adjust=False))
    b = out.beta * sd
    np.testing.assert_allclose(np.einsum("ij,jk,ik->i", b, r, b), 0.25, rtol=1e-10)
    residual = out.beta_hat * sd - b @ r
    noise_variance = (1 - 0.25) / n
    assert np.abs(residual.mean(axis=0)).max() < 4 * np.sqrt(noise_variance / N)
    np.testing.assert_allclose(np.cov(residual.T) / noise_variance, r, atol=0.08)
    np.testing.assert_allclose(out.se, np.sqrt((1 - (out.beta_hat * sd) ** 2) / (n - 2)) / sd, rtol=1e-12)


def test_simulate_summary__matches_the_individual_simulator_in_distribution(rng):
    n, m = 400, 30
    G = ld_genotypes(rng, n, m)
    r = correlation(G).astype(np.float64)
    freq, sd = genotype_moments(G)
    ldscore = ld_scores(r, n, adjust=False)
    settings = [SimSetting(0.1, 0.5, -0.25, 0), SimSetting(0.5, 0.3, 0, -1)]
    args = dict(replicates=800, h2_share=0.3, ldscore=ldscore)
    individual = simulate_individual(G, settings, rng=np.random.default_rng(1), **args)
    summary = simulate_summary(r, sd, n, settings, heterozygosity=2 * freq * (1 - freq),
                               rng=np.random.default_rng(2), **args)
    for k in range(len(settings)):
        rows = individual.setting == k
        z_individual = individual.beta_hat[rows] / individual.se[rows]
        z_summary = summary.beta_hat[rows] / summary.se[rows]
        assert z_summary.var() == pytest.approx(z_individual.var(), rel=0.1)
        assert np.median(summary.se[rows] / individual.se[rows]) == pytest.approx(1, abs=0.02)


def test_simulate_summary__clips_a_non_psd_ld_matrix_and_warns(rng, caplog):
    r = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    values, vectors = np.linalg.eigh(r)
    assert values.min() < -0.5
    clipped = (vectors * np.clip(values, 0, None)) @ vectors.T
    with caplog.at_level(logging.WARNING, logger="phenomap.sim.training"):
        out = simulate_summary(r, np.full(3, 0.5), 1000, [SimSetting(1.0, 0.2, 0, 0)], replicates=8000,
                               h2_share=0.5, rng=rng, ldscore=np.ones(3))
    assert "not positive semi-definite: 1 eigenvalue(s) below 0" in caplog.text
    b = out.beta * 0.5
    np.testing.assert_allclose(np.einsum("ij,jk,ik->i", b, clipped, b), 0.1, rtol=1e-10)
    residual = out.beta_hat * 0.5 - b @ clipped
    np.testing.assert_allclose(np.cov(residual.T) / (0.9 / 1000), clipped, atol=0.1)


def test_simulate_summary__rejects_bad_inputs(rng):
    settings, args = [SimSetting(0.5, 0.5, 0, 0)], dict(replicates=1, h2_share=0.1, rng=rng, ldscore=np.ones(2))
    with pytest.raises(InputError, match=r"'b' \(column 1\) has genotype SD 0.0"):
        simulate_summary(np.eye(2), np.array([0.5, 0.0]), 100, settings, ids=["a", "b"], **args)
    with pytest.raises(InputError, match=r"shape \(3, 3\) but there are 2"):
        simulate_summary(np.eye(3), np.ones(2), 100, settings, **args)
    with pytest.raises(InputError, match=r"n >= 3 samples, got n=2"):
        simulate_summary(np.eye(2), np.ones(2), 2, settings, **args)
    with pytest.raises(InputError, match=r"got \(3,\) heterozygosities for 2"):
        simulate_summary(np.eye(2), np.ones(2), 100, settings, heterozygosity=np.ones(3), **args)


# --- block files ----------------------------------------------------------------------------


@pytest.fixture
def block_files(tmp_path, rng, write_plink):
    """A 30-variant panel of 120 samples, its blocks table (one block) and the block's LD file."""
    G = ld_genotypes(rng, 120, 30)
    G[rng.random(G.shape) < 0.02] = np.nan
    prefix = write_plink(G)

    def table(name: str) -> str:
        path = tmp_path / f"blocks_{name}.tsv"
        bim = make_bim(30)
        pd.DataFrame(
            {"chrom": ["1"], "start": [0], "stop": [31_000], "block": [name], "n_variants": [30],
             "first_id": [bim.ID.iloc[0]], "last_id": [bim.ID.iloc[-1]]}
        ).to_csv(path, sep="\t", index=False)
        return str(path)

    blocks = table(BLOCK)
    ld = tmp_path / "ld.npz"
    block_ld(prefix, blocks, BLOCK, ld, tmp_path / "ld.ldscore.tsv")
    return {"G": G, "prefix": prefix, "blocks": blocks, "ld": str(ld), "table": table, "tmp": tmp_path}


SETTINGS = setting_grid([0.05, 0.2], [0.3, 0.7], [-0.25], [-1.0, 0.0])


def run_block(files, out, *, block=BLOCK, blocks=None, seed=7, **kwargs):
    args = dict(settings=SETTINGS, replicates=2, m_total=300, seed=seed) | kwargs
    simulate_block(files["prefix"], blocks or files["blocks"], block, files["ld"], out, **args)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("method", ["individual", "summary"])
def test_simulate_block__same_seed_gives_identical_arrays_and_another_seed_does_not(block_files, method):
    first = run_block(block_files, block_files["tmp"] / "a.npz", method=method)
    again = run_block(block_files, block_files["tmp"] / "b.npz", method=method, chunk=7)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    other = run_block(block_files, block_files["tmp"] / "c.npz", method=method, seed=8)
    assert not np.array_equal(first["beta_hat"], other["beta_hat"])


def test_simulate_block__block_name_changes_the_draws(block_files):
    first = run_block(block_files, block_files["tmp"] / "a.npz")
    renamed = run_block(block_files, block_files["tmp"] / "b.npz", block="1_0002",
                        blocks=block_files["table"]("1_0002"))
    assert not np.array_equal(first["beta"], renamed["beta"])
    np.testing.assert_array_equal(first["ids"], renamed["ids"])


def test_simulate_block__writes_per_allele_effects_that_load_simulations_reads_back(block_files):
    paths = [block_files["tmp"] / "ind.npz", block_files["tmp"] / "sum.npz"]
    written = [run_block(block_files, paths[0]), run_block(block_files, paths[1], method="summary", n=5000)]
    stats, settings = load_simulations(paths)
    assert settings == SETTINGS
    assert json.loads(str(written[0]["settings"]))[0] == {"causal_fraction": 0.05, "h2": 0.3, "s": -0.25, "w": -1.0}
    for data, loaded in zip(written, stats):
        for key in ("beta", "beta_hat", "se", "setting"):
            np.testing.assert_array_equal(getattr(loaded, key), data[key])
        assert loaded.beta.dtype == np.float32 and loaded.setting.dtype == np.int16
        np.testing.assert_array_equal(data["ids"], make_bim(30).ID)
        assert data["h2_share"] == 0.1
    assert [s.n for s in stats] == [120, 5000]
    h2 = np.array([s.h2 for s in SETTINGS])[stats[0].setting]
    for loaded in stats:  # both methods hit Var(G beta) = h2 * 30 / 300 on the panel
        np.testing.assert_allclose(np.var(imputed(block_files["G"]) @ loaded.beta.T, axis=0), h2 * 0.1, rtol=1e-5)
    assert (stats[1].se < stats[0].se).all()  # n = 5000 against the panel's 120


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(method="exact"), r"unknown training simulation method 'exact'"),
     (dict(n=100), r"n=100 was given for the individual-level simulation"),
     (dict(block="1_0009"), r"block '1_0009' is not in .*blocks_1_0001.tsv"),
     (dict(m_total=20), r"m_total=20 is smaller than block 1_0001's 30 variants"),
     (dict(method="summary", n=2), r"n >= 3 samples, got n=2")],
)
def test_simulate_block__rejects_bad_arguments(block_files, kwargs, message):
    with pytest.raises(InputError, match=message):
        run_block(block_files, block_files["tmp"] / "out.npz", **kwargs)
    assert not (block_files["tmp"] / "out.npz").exists()


def test_simulate_block__rejects_an_ld_file_of_other_variants_or_alleles(block_files):
    with np.load(block_files["ld"]) as data:
        ld = {key: data[key] for key in data.files}
    np.savez(block_files["ld"], **(ld | {"ids": ld["ids"][::-1].copy()}))
    with pytest.raises(InputError, match=r"holds 30 variants but the block has 30 \(the order differs\)"):
        run_block(block_files, block_files["tmp"] / "out.npz")
    np.savez(block_files["ld"], **(ld | {"a1": ld["a2"], "a2": ld["a1"]}))
    with pytest.raises(InputError, match=r"variant '1:1000' has alleles G/A but the .bim has A/G"):
        run_block(block_files, block_files["tmp"] / "out.npz")
    np.savez(block_files["ld"], r=ld["r"])
    with pytest.raises(InputError, match=r"lacks \['ids', 'a1', 'a2', 'n'\]"):
        run_block(block_files, block_files["tmp"] / "out.npz")


def test_load_simulations__rejects_mixed_settings_foreign_files_and_no_files(block_files):
    tmp = block_files["tmp"]
    run_block(block_files, tmp / "a.npz")
    run_block(block_files, tmp / "b.npz", settings=SETTINGS[:3])
    with pytest.raises(InputError, match=r"b.npz was simulated with other settings than .*a.npz \(3 vs 8"):
        load_simulations([tmp / "a.npz", tmp / "b.npz"])
    with pytest.raises(InputError, match=r"ld.npz lacks \['beta'.*not a training simulation file"):
        load_simulations([block_files["ld"]])
    with pytest.raises(InputError, match="no training simulation files"):
        load_simulations([])
