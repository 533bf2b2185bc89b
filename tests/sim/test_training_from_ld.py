"""Training simulation on LD matrices without genotypes: frequencies from the harmonised summary statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from phenomap.io.tables import write_tsv
from phenomap.ld.matrix import block_ld, correlation, ld_scores, read_block_ld
from phenomap.sim.training import (
    block_seed,
    load_simulations,
    setting_grid,
    simulate_block,
    simulate_block_from_ld,
    simulate_summary,
)


def test_simulation_from_ld_is_the_summary_simulator_with_the_sumstats_frequencies(rng, tmp_path):
    """Two traits give frequencies for some variants (mean where both do); v4 has none and takes the block's
    median heterozygosity; the draws equal simulate_summary's with those SDs and the same seed."""
    G = rng.binomial(2, 0.3, size=(300, 5)).astype(float)
    r = correlation(G)
    ids = np.array([f"v{j}" for j in range(5)])
    np.savez(tmp_path / "b.npz", r=r, ids=ids, a1=["A"] * 5, a2=["G"] * 5, n=np.int64(300))
    write_tsv(pd.DataFrame({"ID": ["v0", "v1", "v2", "v3"], "A1_FREQ": [0.1, 0.2, 0.3, np.nan]}), tmp_path / "t1.tsv")
    write_tsv(pd.DataFrame({"ID": ["v3", "v1", "other"], "A1_FREQ": [0.4, 0.5, 0.9]}), tmp_path / "t2.tsv")
    settings = setting_grid([0.2], [0.3], [-0.5], [0.0])

    simulate_block_from_ld("1_0001", tmp_path / "b.npz", [tmp_path / "t1.tsv", tmp_path / "t2.tsv"],
                           tmp_path / "sims.npz", settings=settings, replicates=3, m_total=50, n=1000, seed=7)

    het = np.array([0.18, (0.32 + 0.5) / 2, 0.42, 0.48, 0.0])
    het[4] = np.median(het[:4])
    expected = simulate_summary(r, np.sqrt(het), 1000, settings, replicates=3, h2_share=5 / 50,
                                rng=np.random.default_rng(block_seed(7, "1_0001")),
                                ldscore=ld_scores(r, 300, adjust=False))
    (stats,), _ = load_simulations([tmp_path / "sims.npz"])
    np.testing.assert_allclose(stats.beta_hat, expected.beta_hat, rtol=1e-6)
    np.testing.assert_allclose(stats.se, expected.se, rtol=1e-6)
    np.testing.assert_allclose(stats.beta, expected.beta, rtol=1e-6)
    assert stats.n == 1000


def test_from_ld_equals_the_panel_summary_simulation_when_frequencies_agree(rng, tmp_path, write_plink):
    """Genotypes in exact Hardy-Weinberg proportions (so the panel's genotype SD is sqrt(2f(1-f))) and sumstats
    frequencies equal to the panel's: simulating from the LD file alone gives the panel simulator's arrays."""
    freqs = np.array([0.1, 0.2, 0.3, 0.5, 0.1, 0.2, 0.3, 0.5])
    columns = []
    for f in freqs:  # 100 samples: 100 f^2 homozygotes, 200 f(1-f) heterozygotes, shuffled
        counts = np.round([100 * f * f, 200 * f * (1 - f)]).astype(int)
        columns.append(rng.permutation(np.repeat([2.0, 1.0, 0.0], [counts[0], counts[1], 100 - counts.sum()])))
    G = np.column_stack(columns)
    np.testing.assert_allclose(G.var(axis=0), 2 * freqs * (1 - freqs))  # chance correlations give some LD
    prefix = write_plink(G)
    pd.DataFrame({"chrom": ["1"], "start": [0], "stop": [10**6], "block": ["1_0001"]}).to_csv(
        tmp_path / "blocks.tsv", sep="\t", index=False)
    block_ld(prefix, tmp_path / "blocks.tsv", "1_0001", tmp_path / "ld.npz", tmp_path / "ld.tsv")
    ids = read_block_ld(tmp_path / "ld.npz").ids
    write_tsv(pd.DataFrame({"ID": ids, "A1_FREQ": freqs}), tmp_path / "ss.tsv")
    settings = setting_grid([0.3], [0.3, 0.6], [-0.5], [-1.0])
    common = dict(settings=settings, replicates=2, m_total=40, seed=3)
    simulate_block(prefix, tmp_path / "blocks.tsv", "1_0001", tmp_path / "ld.npz", tmp_path / "panel.npz",
                   method="summary", **common)
    simulate_block_from_ld("1_0001", tmp_path / "ld.npz", [tmp_path / "ss.tsv"], tmp_path / "ld_only.npz", **common)
    with np.load(tmp_path / "panel.npz") as panel, np.load(tmp_path / "ld_only.npz") as ld_only:
        for key in ("beta", "beta_hat", "se"):
            np.testing.assert_allclose(ld_only[key], panel[key], rtol=1e-5, err_msg=key)
        assert int(ld_only["n"]) == int(panel["n"]) == 100
