"""Calibration of BETA_SHRUNK_SD (issue 13): coverage of 95 % intervals on held-out LD blocks.

For two LD panels, the toy cohort's (``bench/shrinkage.py``'s panel, split and simulation
helpers, imported) and a human-like one (:func:`phenomap.sim.humanlike.simulate_humanlike_panel`:
5,000 unrelated European-like genomes at HapMap3 density, data-driven blocks of 500-1,000
variants, cached under bench/data/shrinkage_coverage/): train a 2L ensemble on simulations of
the training blocks (2/3), simulate new GWAS (other seeds) on the held-out blocks (1/3), and
measure, per grid setting and pooled:

- coverage of the true β by BETA_SHRUNK ± 1.96 BETA_SHRUNK_SD over all variants and over the
  causal ones, for the predictive SD (``sd``: variance networks + members' disagreement) and for
  the previous SD (``spread``: the SD across members, computed from the same members);
- ``mean_z2``: the mean of ((β − β̃) / SD)², 1 when the SD is calibrated as a variance;
- RMSE of BETA_SHRUNK over all and causal variants. The mean networks are trained exactly as
  before the variance networks existed (same code path and seeds), so the "before" estimate is
  the same array; the script checks that it is (``mean_unchanged``);
- ``exact_*``: what the exact posterior would cover with no LD (orthogonal variants, z = b + e)
  under a spike-and-slab prior with the setting's causal fraction and the slab variance of its
  causal β/SE: a reference for what any calibrated posterior SD can reach, not the same data;
- ``scaled_causal95_*``: a what-if, not shipped: SD multiplied by one factor chosen on new
  simulations of the training blocks so that 95 % of their causal variants are covered.

All in one process with one BLAS and one torch thread. Writes bench/results/shrinkage_coverage.tsv
(one row per panel x setting, plus ``pooled`` rows per panel and over both) and prints the
verdict on the bar (90-98 % over all and over causal variants, each panel and pooled).

    .venv/bin/python bench/shrinkage_coverage.py [--quick] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run to test the script")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="default bench/results (quick: bench/data/shrinkage_coverage/quick)")
    parser.add_argument("--seed", type=int, default=20261125)
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"

import numpy as np  # noqa: E402  (after the BLAS thread count is set)
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy.stats import norm  # noqa: E402

from phenomap.io.plink import Bfile  # noqa: E402
from phenomap.ld.blocks import block_variants, make_ld_blocks  # noqa: E402
from phenomap.ld.matrix import correlation, ld_scores  # noqa: E402
from phenomap.shrinkage.apply import nn_shrink  # noqa: E402
from phenomap.shrinkage.features import block_features, top_neighbours  # noqa: E402
from phenomap.shrinkage.train import train_ensemble, training_data  # noqa: E402
from phenomap.sim.humanlike import simulate_humanlike_panel  # noqa: E402
from shrinkage import GRID, TOP_T, Block, build_panel, simulate, split_blocks  # noqa: E402

DATA = HERE / "data" / "shrinkage_coverage"
Z95 = norm.ppf(0.975)
FULL = dict(train_replicates=4, test_replicates=2, n_models=5, epochs=40, patience=4, max_blocks=None)
QUICK = dict(train_replicates=1, test_replicates=1, n_models=2, epochs=3, patience=2, max_blocks=6)


def humanlike_panel(seed: int) -> tuple[list[Block], int]:
    """The human-like panel and its data-driven LD blocks (cached), as ``shrinkage.build_panel`` returns."""
    prefix, blocks_tsv = DATA / "humanlike" / "panel", DATA / "humanlike" / "blocks.tsv"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    if not Path(f"{prefix}.bed").is_file():
        simulate_humanlike_panel(prefix, seed=seed)
    if not blocks_tsv.is_file():
        make_ld_blocks(prefix, blocks_tsv, source="data", target_variants=700, min_variants=500, max_variants=1000)
    bfile = Bfile.open(prefix)
    blocks = []
    for _, row in pd.read_csv(blocks_tsv, sep="\t", dtype={"chrom": str}).iterrows():
        idx = block_variants(bfile.bim, row)
        G = bfile.read(idx)
        r = correlation(G, bfile.bim.ID.to_numpy()[idx])
        blocks.append(Block(row.block, G, r, ld_scores(r, bfile.n_samples, adjust=False)))
    return blocks, bfile.n_variants


def predictions(blocks, sims, ensemble) -> pd.DataFrame:
    """One row per (block, GWAS, variant): true β, SE, BETA_SHRUNK, its SD and the members' spread (per allele)."""
    parts = []
    for block, s in zip(blocks, sims, strict=True):
        neighbours, scores = top_neighbours(block.r, ensemble.spec.top_t), ld_scores(block.r, s.n, adjust=False)
        for i in range(len(s.beta)):
            beta_hat, se = s.beta_hat[i], s.se[i]
            shrunk, sd = nn_shrink(beta_hat, se, block.r, s.n, ensemble)
            members = ensemble.predict(block_features(beta_hat, se, scores, neighbours))  # (K, m), z scale
            parts.append(pd.DataFrame(dict(
                block=block.name, gwas=i, setting=int(s.setting[i]), beta=s.beta[i], se=se, shrunk=shrunk, sd=sd,
                spread=members.std(axis=0) * se, mean_unchanged=np.array_equal(members.mean(axis=0) * se, shrunk),
            )))
    return pd.concat(parts, ignore_index=True)


def exact_coverage(causal_fraction: float, slab_var: float, rng: np.random.Generator, draws: int = 400_000):
    """Coverage (all, causal) of the exact posterior mean ± 1.96 posterior SD, no LD, spike-and-slab prior."""
    causal = rng.random(draws) < causal_fraction
    b = np.where(causal, rng.normal(0.0, np.sqrt(slab_var), draws), 0.0)
    z = b + rng.standard_normal(draws)
    v = slab_var / (1 + slab_var)
    slab = causal_fraction * norm.pdf(z, scale=np.sqrt(1 + slab_var))
    p = slab / (slab + (1 - causal_fraction) * norm.pdf(z))
    mean = p * v * z
    covered = np.abs(b - mean) <= Z95 * np.sqrt(p * (v + (v * z) ** 2) - mean**2)
    return covered.mean(), covered[causal].mean()


def summarise(rows: pd.DataFrame, scale: float | None = None) -> dict:
    """Coverage, calibration and RMSE of one group of variant rows (the what-if columns with ``scale``)."""
    causal = rows.beta.to_numpy() != 0
    error = rows.beta.to_numpy() - rows.shrunk.to_numpy()
    out = dict(variants=len(rows), causal=int(causal.sum()), mean_unchanged=bool(rows.mean_unchanged.all()))
    sds = {"sd": rows.sd.to_numpy(), "spread": rows.spread.to_numpy()}
    if scale is not None:
        sds["scaled_causal95"] = scale * rows.sd.to_numpy()
    for name, sd in sds.items():
        covered = np.abs(error) <= Z95 * sd
        out[f"{name}_cover_all"], out[f"{name}_cover_causal"] = covered.mean(), covered[causal].mean()
    out["mean_z2"] = float(np.mean((error / rows.sd.to_numpy()) ** 2))
    out["rmse_all"], out["rmse_causal"] = np.sqrt(np.mean(error**2)), np.sqrt(np.mean(error[causal] ** 2))
    return out


def run_panel(name: str, blocks: list[Block], m_total: int, cfg: dict, seed: int) -> tuple[list[dict], pd.DataFrame]:
    """Train on the panel's training blocks, evaluate on its held-out blocks: per-setting rows and all variant rows."""
    train_blocks, test_blocks = split_blocks(blocks[: cfg["max_blocks"]])
    print(f"{name}: {blocks[0].G.shape[0]} samples, {m_total} variants; train on {len(train_blocks)} blocks, "
          f"test on {len(test_blocks)} ({[b.m for b in test_blocks]} variants)", file=sys.stderr)
    started = time.perf_counter()
    train_sims = simulate(train_blocks, cfg["train_replicates"], m_total, seed, purpose=10)
    data = training_data(list(zip(train_sims, [b.r for b in train_blocks])), top_t=TOP_T, causal_weight=1.0)
    del train_sims
    ensemble = train_ensemble(data, top_t=TOP_T, architecture="2L", n_models=cfg["n_models"], epochs=cfg["epochs"],
                              batch_size=1024, patience=cfg["patience"], seed=seed, device="cpu")
    print(f"{name}: trained {cfg['n_models']} members on {len(data.y)} rows in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    # the what-if scale: new simulations of the training blocks, never the test blocks
    tuning = predictions(train_blocks, simulate(train_blocks, 1, m_total, seed, purpose=11), ensemble)
    tuning = tuning[tuning.beta != 0]
    scale = np.quantile(np.abs(tuning.beta - tuning.shrunk) / tuning.sd, 0.95) / Z95
    test = predictions(test_blocks, simulate(test_blocks, cfg["test_replicates"], m_total, seed, purpose=12), ensemble)
    test["panel"] = name
    rng = np.random.default_rng([seed, 13])
    rows = []
    for k, rows_k in test.groupby("setting"):
        causal = rows_k[rows_k.beta != 0]
        slab_var = float(np.mean((causal.beta / causal.se) ** 2))
        exact_all, exact_causal = exact_coverage(GRID[k].causal_fraction, slab_var, rng)
        rows.append(dict(panel=name, setting=k, **GRID[k].__dict__, **summarise(rows_k, scale),
                         exact_cover_all=exact_all, exact_cover_causal=exact_causal, scale=scale))
    rows.append(dict(panel=name, setting="pooled", **summarise(test, scale), scale=scale))
    return rows, test


def main(args: argparse.Namespace) -> None:
    cfg = QUICK if args.quick else FULL
    out_dir = args.out_dir or (DATA / "quick" if args.quick else HERE / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    started = time.perf_counter()
    rows, tests = [], []
    for name, panel in (("toy", build_panel), ("humanlike", humanlike_panel)):
        blocks, m_total = panel(args.seed)
        panel_rows, test = run_panel(name, blocks, m_total, cfg, args.seed)
        rows += panel_rows
        tests.append(test)
    pooled = pd.concat(tests, ignore_index=True)
    rows.append(dict(panel="both", setting="pooled", **summarise(pooled)))
    table = pd.DataFrame(rows)
    table.to_csv(out_dir / "shrinkage_coverage.tsv", sep="\t", index=False, float_format="%.4g")
    columns = ["panel", "setting", "causal_fraction", "h2", "s", "w", "sd_cover_all", "sd_cover_causal",
               "spread_cover_all", "spread_cover_causal", "exact_cover_all", "exact_cover_causal",
               "scaled_causal95_cover_all", "scaled_causal95_cover_causal", "mean_z2", "rmse_all", "rmse_causal"]
    print(table[columns].to_string(index=False, float_format="%.3f"))
    print(f"\nmean networks unchanged (BETA_SHRUNK identical to the members' mean): {table.mean_unchanged.all()}")
    for _, row in table[table.setting == "pooled"].iterrows():
        verdict = {part: 0.90 <= row[f"sd_cover_{part}"] <= 0.98 for part in ("all", "causal")}
        print(f"bar (90-98 %), {row.panel}: all {row.sd_cover_all:.1%} {'met' if verdict['all'] else 'NOT met'}, "
              f"causal {row.sd_cover_causal:.1%} {'met' if verdict['causal'] else 'NOT met'}")
    print(f"total {time.perf_counter() - started:.0f} s; written to {out_dir / 'shrinkage_coverage.tsv'}")


if __name__ == "__main__":
    main(ARGS)
