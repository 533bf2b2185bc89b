"""GWAS-derived training simulations: block heritability estimates, the derived grid, the chi^2 check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from phenomap_testing import make_bim

from phenomap.errors import InputError
from phenomap.ld.matrix import block_ld, ld_scores
from phenomap.shrinkage.calibrate import (
    block_h2, chi2_check, derived_settings, gwas_architecture, simulate_planned_block, simulate_planned_block_from_ld,
    write_training_plan,
)
from phenomap.shrinkage.train import train_shrinkage
from phenomap.sim.haplotypes import ar1_genotypes
from phenomap.sim.training import SimSetting, block_seed, load_simulations, simulate_summary


def ar1(m: int, rho: float) -> np.ndarray:
    """(m, m) correlation rho^|i - j|, a stand-in for a block's LD."""
    return rho ** np.abs(np.subtract.outer(np.arange(m), np.arange(m)))


def simulate_gwas(rng, r, n, settings, replicates):
    """Summary-level GWAS whose settings' h2 are block heritabilities (h2_share = 1)."""
    m = len(r)
    return simulate_summary(r, np.ones(m), n, settings, replicates=replicates, h2_share=1.0, rng=rng,
                            ldscore=ld_scores(r, n, adjust=False))


@pytest.mark.parametrize("causal_fraction", [1.0, 0.05])
def test_block_h2__recovers_the_planted_block_heritability(rng, causal_fraction):
    # block h2 0.01 at N = 10,000 on strong AR(1) LD: the mean estimate over 400 replicates is
    # within 10 % of the planted value. The simulator fixes b'Rb = h2 in every replicate, which
    # puts E[b'R^2 b] a few % below h2 * mean(l) (measured -3 to -6 %, SE of the mean ~1.5 %);
    # a wrong moment equation (m for mean(l), no -1) would be off several-fold.
    r, n, h2 = ar1(200, 0.9), 10_000, 0.01
    sims = simulate_gwas(rng, r, n, [SimSetting(causal_fraction, h2, 0.0, 0.0)], 400)
    ldscore = ld_scores(r, n, adjust=False)
    estimates = np.array([block_h2(b / s, ldscore, n)[1] for b, s in zip(sims.beta_hat, sims.se)])
    assert abs(estimates.mean() / h2 - 1) < 0.10


def test_block_h2__is_the_ld_score_moment_equation_solved_by_hand():
    z, ldscore, n = np.array([3.0, -1.0, 0.5, 2.0]), np.array([1.5, 2.0, 1.0, 3.5]), 5000
    mean_chi2, h2 = block_h2(z, ldscore, n)
    assert mean_chi2 == pytest.approx((9 + 1 + 0.25 + 4) / 4)
    # mean chi2 = 1 + h2 (N mean(l) / m - 1)
    assert 1 + h2 * (n * 2.0 / 4 - 1) == pytest.approx(mean_chi2)


def test_block_h2__sums_to_the_snp_heritability_over_blocks(rng):
    # three blocks with block heritabilities 0.002, 0.005, 0.01: the summed estimate recovers 0.017
    n, planted = 20_000, [0.002, 0.005, 0.01]
    total = []
    for h2, rho in zip(planted, (0.5, 0.8, 0.95)):
        r = ar1(150, rho)
        sims = simulate_gwas(rng, r, n, [SimSetting(1.0, h2, 0.0, 0.0)], 200)
        ldscore = ld_scores(r, n, adjust=False)
        total.append(np.mean([block_h2(b / s, ldscore, n)[1] for b, s in zip(sims.beta_hat, sims.se)]))
    assert sum(total) == pytest.approx(sum(planted), rel=0.10)


def write_ld(path, r, ids):
    m = len(ids)
    np.savez(path, r=r.astype(np.float32), ids=np.array(ids), a1=np.array(["A"] * m), a2=np.array(["G"] * m),
             n=np.int64(1000))


def test_gwas_architecture__restricts_each_block_to_its_sumstats_variants(tmp_path, rng):
    r = ar1(6, 0.7)
    write_ld(tmp_path / "1_0001.npz", r, [f"v{i}" for i in range(6)])
    write_ld(tmp_path / "1_0002.npz", r[:1, :1], ["w0"])  # one variant: skipped
    z = rng.normal(size=5) * 2
    ss = pd.DataFrame({"ID": [f"v{i}" for i in (0, 1, 3, 4, 5)], "BETA": z * 0.1, "SE": 0.1,
                       "N": [4000, 4000, 5000, 5000, 5000]})
    ss.to_csv(tmp_path / "ss.tsv", sep="\t", index=False)
    out = gwas_architecture(tmp_path / "ss.tsv", [tmp_path / "1_0001.npz", tmp_path / "1_0002.npz"], tmp_path / "a.tsv")
    keep = [0, 1, 3, 4, 5]
    mean_chi2, h2 = block_h2(z, (r[np.ix_(keep, keep)] ** 2).sum(axis=1), 5000)
    assert out.block.tolist() == ["1_0001"] and out.m.tolist() == [5] and out.n.tolist() == [5000]
    assert out.mean_chi2.iloc[0] == pytest.approx(mean_chi2) and out.h2.iloc[0] == pytest.approx(h2)
    assert out.signal.iloc[0] == pytest.approx(5000 * h2)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.tsv", sep="\t"), out, check_dtype=False)


def test_gwas_architecture__names_the_file_when_no_block_holds_its_variants(tmp_path):
    write_ld(tmp_path / "1_0001.npz", ar1(3, 0.5), ["a", "b", "c"])
    pd.DataFrame({"ID": ["x", "y"], "BETA": 0.1, "SE": 0.1, "N": 100}).to_csv(tmp_path / "ss.tsv", sep="\t")
    with pytest.raises(InputError, match="ss.tsv: no LD block holds two or more"):
        gwas_architecture(tmp_path / "ss.tsv", [tmp_path / "1_0001.npz"], tmp_path / "a.tsv")


def test_derived_settings__grid_is_geometric_from_one_to_headroom_times_the_strongest_signal():
    traits = [pd.DataFrame({"signal": [-3.0, 20.0]}), pd.DataFrame({"signal": [80.0, 5.0]})]
    grid = derived_settings(traits, n_sim=10_000, causal_fractions=[0.01, 0.05], s_values=[-0.25], w_values=[0.0],
                            h2_points=3)
    h2s = sorted({s.h2 for s in grid})
    np.testing.assert_allclose(h2s, np.array([1.0, np.sqrt(120.0), 120.0]) / 10_000)
    assert len(grid) == 6 and {s.causal_fraction for s in grid} == {0.01, 0.05}


def test_derived_settings__rejects_a_signal_the_simulated_sample_cannot_carry():
    with pytest.raises(InputError, match="simulate at the GWAS's N"):
        derived_settings([pd.DataFrame({"signal": [900.0]})], n_sim=1000, causal_fractions=[0.01], s_values=[0.0],
                         w_values=[0.0])


def test_chi2_check__simulations_of_the_derived_grid_bracket_the_observed_blocks(rng):
    # an "observed" GWAS: 12 blocks with block h2 spread over 0.0005-0.02 (N h2 5-200) and
    # sparse effects; training simulated from the grid derived from its summary statistics
    n, r = 10_000, ar1(120, 0.85)
    ldscore = ld_scores(r, n, adjust=False)
    planted = np.geomspace(5e-4, 2e-2, 12)
    observed = [simulate_gwas(rng, r, n, [SimSetting(0.05, h2, 0.0, 0.0)], 1) for h2 in planted]
    rows = [dict(zip(("mean_chi2", "h2"), block_h2(s.beta_hat[0] / s.se[0], ldscore, n)), n=n) for s in observed]
    arch = pd.DataFrame(rows).assign(signal=lambda d: d.n * d.h2)
    grid = derived_settings([arch], n_sim=n, causal_fractions=[0.01, 0.05], s_values=[0.0], w_values=[0.0])
    training = simulate_gwas(rng, r, n, grid, 4)
    table = chi2_check({"trait": arch}, [training])
    assert table.bracketed.tolist() == [True] and table.fraction_inside.tolist() == [1.0]
    assert table["simulated_q0"].iloc[0] <= table["observed_q0"].iloc[0]
    assert table["simulated_q1"].iloc[0] >= table["observed_q1"].iloc[0]
    assert table.snp_h2.iloc[0] == pytest.approx(arch.h2.sum())


def test_planned_simulation_and_training_write_the_observed_vs_simulated_chi2(tmp_path, rng, write_plink):
    # a 40-variant panel block; a derived plan at n = 8,000 (summary simulator): the block's
    # simulations use h2_share 1 and the plan's n, and training writes the chi^2 check
    G = ar1_genotypes(rng, 300, 40, rho=0.8).astype(np.float32)
    prefix = write_plink(G)
    bim = make_bim(40)
    blocks = tmp_path / "blocks.tsv"
    pd.DataFrame({"chrom": ["1"], "start": [0], "stop": [41_000], "block": ["1_0001"], "n_variants": [40],
                  "first_id": [bim.ID.iloc[0]], "last_id": [bim.ID.iloc[-1]]}).to_csv(blocks, sep="\t", index=False)
    ld = tmp_path / "1_0001.npz"
    block_ld(prefix, blocks, "1_0001", ld, tmp_path / "ld.tsv")
    arch = tmp_path / "trait1.tsv"
    pd.DataFrame({"block": ["1_0001"], "m": [40], "n": [8000.0], "mean_chi2": [3.0], "h2": [0.004],
                  "signal": [32.0]}).to_csv(arch, sep="\t", index=False)
    grid = {"causal_fraction": [0.1], "h2": [0.5], "freq_exponent": [0.0], "ldscore_exponent": [0.0]}
    plan = write_training_plan([arch], [f"{prefix}.bed"], tmp_path / "plan.json", source="derived", grid=grid,
                               derived={"causal_fraction": [0.05, 0.2], "h2_points": 3, "headroom": 1.5},
                               method="summary", sim_n=None)
    assert plan["n"] == 8000 and plan["per_block"]
    np.testing.assert_allclose(sorted({s["h2"] for s in plan["settings"]}), np.geomspace(1, 48, 3) / 8000)
    sims = tmp_path / "sims.npz"
    simulate_planned_block(tmp_path / "plan.json", prefix, blocks, "1_0001", ld, sims, replicates=20,
                           method="summary", m_total=4000, seed=3)
    with np.load(sims) as data:
        assert data["h2_share"] == 1.0 and data["n"] == 8000
    train_shrinkage([sims], [ld], tmp_path / "model", top_t=2, architecture="linear", n_models=1, epochs=2,
                    architectures={"trait1": arch}, device="cpu")
    check = pd.read_csv(tmp_path / "model" / "chi2_check.tsv", sep="\t")
    stats, _ = load_simulations([sims])
    simulated = np.mean((stats[0].beta_hat.astype(np.float64) / stats[0].se) ** 2, axis=1)
    assert check.trait.tolist() == ["trait1"] and check.observed_q1.iloc[0] == 3.0
    assert check.simulated_q0.iloc[0] == pytest.approx(simulated.min(), rel=1e-6)
    assert check.simulated_q1.iloc[0] == pytest.approx(simulated.max(), rel=1e-6)
    assert check.bracketed.iloc[0] == (simulated.min() <= 3.0 <= simulated.max())


def test_planned_simulation_from_ld_matrices_takes_the_plans_block_heritabilities_and_n(rng, tmp_path):
    # an LD-matrix cohort: same draws as simulate_summary with h2_share 1 and the plan's n
    G = rng.binomial(2, 0.3, size=(300, 6)).astype(float)
    r = np.corrcoef(G.T)
    ids = [f"v{j}" for j in range(6)]
    write_ld(tmp_path / "b.npz", r, ids)
    freq = G.mean(axis=0) / 2
    pd.DataFrame({"ID": ids, "A1_FREQ": freq}).to_csv(tmp_path / "t1.tsv", sep="\t", index=False)
    settings = [SimSetting(0.5, 0.004, 0.0, 0.0), SimSetting(0.5, 0.02, 0.0, 0.0)]
    plan = {"source": "derived", "per_block": True, "n": 9000, "settings": [vars(s) for s in settings]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    simulate_planned_block_from_ld(tmp_path / "plan.json", "1_0001", tmp_path / "b.npz", [tmp_path / "t1.tsv"],
                                   tmp_path / "sims.npz", replicates=2, m_total=600, seed=4)
    expected = simulate_summary(r, np.sqrt(2 * freq * (1 - freq)), 9000, settings, replicates=2, h2_share=1.0,
                                rng=np.random.default_rng(block_seed(4, "1_0001")),
                                ldscore=ld_scores(r.astype(np.float32).astype(np.float64), 1000, adjust=False))
    (stats,), loaded = load_simulations([tmp_path / "sims.npz"])
    assert loaded == settings and stats.n == 9000
    np.testing.assert_allclose(stats.beta_hat, expected.beta_hat, rtol=1e-4, atol=1e-7)
