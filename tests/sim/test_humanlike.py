"""The human-like benchmark panel: what is written is what msprime simulated, and its LD decays with distance."""

import numpy as np

from phenomap.io.plink import Bfile
from phenomap.ld.matrix import correlation
from phenomap.sim.humanlike import humanlike_chromosome, simulate_humanlike_panel


def test_panel_holds_the_simulated_genotypes_at_the_requested_density(tmp_path):
    prefix = simulate_humanlike_panel(tmp_path / "panel", n_samples=300, n_chromosomes=2, chromosome_mb=1.0,
                                      spacing_kb=5.0, min_maf=0.05, seed=7)
    bfile = Bfile.open(prefix)
    assert bfile.n_samples == 300
    assert list(bfile.bim.CHROM.unique()) == ["1", "2"]
    counts, pos = humanlike_chromosome(300, 1.0, spacing_kb=5.0, min_maf=0.05, seed=np.random.SeedSequence(7, spawn_key=(1,)))
    chrom1 = np.flatnonzero(bfile.bim.CHROM.to_numpy() == "1")
    np.testing.assert_array_equal(bfile.bim.POS.to_numpy()[chrom1], pos)
    np.testing.assert_array_equal(bfile.read(chrom1), counts)
    assert len(pos) == 200  # 1 Mb / 5 kb: the thinning target, reached when enough sites pass the MAF filter
    freq = counts.mean(axis=0) / 2
    assert np.minimum(freq, 1 - freq).min() >= 0.05


def test_ld_is_strong_between_neighbours_and_gone_a_megabase_apart():
    counts, pos = humanlike_chromosome(400, 3.0, spacing_kb=10.0, min_maf=0.05, seed=np.random.SeedSequence(3))
    r2 = correlation(counts.astype(float)) ** 2
    distance = np.abs(pos[:, None] - pos[None, :])
    near = r2[(distance > 0) & (distance < 20_000)].mean()
    far = r2[distance > 1_500_000].mean()
    assert near > 0.15  # strong short-range LD of a bottlenecked population
    assert far < 0.01   # ~1/n: no long-range LD beyond sampling noise
