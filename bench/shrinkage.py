"""ML-MAGES shrinkage benchmark: NN ensembles vs baselines on held-out LD blocks of a panel.

1. Panel (``--panel``): ``toy``, the toy cohort (default ToyParams, cached under
   bench/data/shrinkage/), QC'd with ``run_qc``, blocks by ``make_ld_blocks(source="data", 400 / 50
   / 1500)``; or ``humanlike``, ``simulate_humanlike_panel`` (5,000 unrelated European-like
   samples, 3 x 10 Mb at HapMap3 density, cached under bench/data/shrinkage/humanlike/), blocks by
   ``make_ld_blocks(source="data", 700 / 500 / 1000)``. Each block's r is ``correlation`` of its
   genotypes. Every third block is held out for testing, so the test LD is never seen in training.
2. Test GWAS: new simulations (other seeds) on the held-out blocks for every setting of GRID
   (causal fraction x h2 x s x w, 16 settings; a block gets h2 * m_block / m_total) and, on the
   human-like panel, BLOCK_GRID (block heritability given directly: 1 % causal, block h2 0.005,
   the sparse recoverable case of issue 13). Toy: individual-level GWAS on the panel's samples;
   human-like: summary-level GWAS of n = 10,000 on the panel's LD (``simulate_summary``).
3. Training: ``nn_2L`` (the workflow's default, ``training_grid: derived``): the per-block
   N h2 of the test GWAS is estimated from their summary statistics alone
   (``phenomap.shrinkage.calibrate``, all settings pooled as the workflow pools a cohort's traits)
   and the derived grid (N h2 from 1 to 1.5 x the largest, 5 points, x causal fractions 0.002 /
   0.01 / 0.05 x s x w) is simulated on the training blocks at the GWAS's N. ``nn_2L_fixed``:
   the former default, GRID simulated on the panel's samples. Both ``train_ensemble`` 2L on CPU
   with one torch thread. The per-block mean z^2 of the test GWAS vs each training simulation is
   tabulated (shrinkage*_chi2.tsv).
4. Evaluation per setting and method: RMSE to the true beta over all variants and over the
   causal ones (pooled over blocks and replicates), wall time on the same blocks, and for the NN
   ensembles the coverage of beta by BETA_SHRUNK +/- 2 BETA_SHRUNK_SD. The elastic net runs with
   a cheaper pseudo-validation (``ENET_OPTIONS``) because the shipped defaults take minutes per
   block; those defaults (``enet_default``) run on a subset (toy: smallest test block, one GWAS
   of four settings) to check accuracy and time. Also a what-if ``hybrid`` (SuSiE on blocks with
   a genome-wide significant z, the NN elsewhere).
5. Scaling: NN apply time and peak memory for growing variant counts (test blocks tiled).

All methods run in this process with one BLAS and one torch thread (set before numpy loads),
so their times are comparable. Prints the tables and a verdict on each target of issues 4 and
13, and writes to bench/results/ shrinkage{,_humanlike}{,_members,_vs_best,_summary,
_enet_default,_scaling,_training,_chi2}.tsv. On 2 cores shared with other jobs (load ~5-10) the
toy run takes about 25 minutes and the human-like one about 40.

    .venv/bin/python bench/shrinkage.py [--panel toy|humanlike] [--quick] [--out-dir DIR]

``--quick`` runs a shrunken version (few blocks, one replicate, small ensembles, few epochs)
in a few minutes, to test the script; its tables go to bench/data/shrinkage/quick/.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (~2 min) to test the script")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="default bench/results (quick: bench/data/shrinkage/quick)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--panel", choices=("toy", "humanlike"), default="toy",
                        help="LD panel: the toy cohort, or the human-like panel (GWAS at n = 10,000)")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"

import numpy as np  # noqa: E402  (after the BLAS thread count is set)
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from phenomap.io.plink import Bfile  # noqa: E402
from phenomap.ld.blocks import block_variants, make_ld_blocks  # noqa: E402
from phenomap.ld.matrix import correlation, ld_scores  # noqa: E402
from phenomap.qc import run_qc  # noqa: E402
from phenomap.shrinkage.apply import nn_shrink  # noqa: E402
from phenomap.shrinkage.calibrate import block_h2, chi2_check, derived_settings  # noqa: E402
from phenomap.shrinkage.features import block_features, top_neighbours  # noqa: E402
from phenomap.shrinkage.baselines import shrink_block  # noqa: E402
from phenomap.shrinkage.model import Ensemble  # noqa: E402
from phenomap.shrinkage.train import training_data, train_ensemble  # noqa: E402
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort  # noqa: E402
from phenomap.sim.humanlike import simulate_humanlike_panel  # noqa: E402
from phenomap.sim.training import (  # noqa: E402
    SimSetting, SimulatedStats, genotype_moments, setting_grid, simulate_individual, simulate_summary,
)

DATA = HERE / "data" / "shrinkage"
TOP_T = 5
BASELINES = ("enet", "susie", "eb", "none", "zero")
REFERENCES = ("none", "zero")
MAIN = "nn_2L"  # the NN ensemble the targets are about
HYBRID_Z = 5.45  # |z| of two-sided p = 5e-8, the gate of the what-if ``hybrid`` method
S_VALUES, W_VALUES = (-0.25, 0.0), (-1.0, 0.0)
#: The bench's grid: h2 is the trait's over the panel, a block gets h2 * m_block / m_total.
GRID = setting_grid([0.01, 0.05], [0.3, 0.7], S_VALUES, W_VALUES)
#: Human-like panel only: settings whose h2 is the block's own heritability (h2_share = 1),
#: the sparse, recoverable case of issue 13 (1% causal, block h2 0.005 at n = 10,000) and two neighbours.
BLOCK_GRID = [SimSetting(0.01, 0.005, 0.0, 0.0), SimSetting(0.01, 0.005, -0.25, -1.0), SimSetting(0.05, 0.005, 0.0, 0.0)]
#: The GWAS-derived training grid (phenomap.shrinkage.calibrate): causal fractions and points of N h2.
DERIVED_FRACTIONS, DERIVED_H2_POINTS = (0.002, 0.01, 0.05), 5
#: Human-like panel (phenomap.sim.humanlike) and the sample size of its summary-level GWAS.
HUMANLIKE = dict(n_samples=5000, n_chromosomes=3, chromosome_mb=10.0)
HUMANLIKE_GWAS_N = 10_000
TARGET_SPEEDUP = {"susie": 20, "enet": 100}


@dataclass(frozen=True)
class TrainConfig:
    """One trained model: architecture, ensemble size and the train_ensemble / training_data options."""

    architecture: str
    n_models: int
    epochs: int
    batch_size: int = 1024
    patience: int = 3
    learning_rate: float = 1e-3
    causal_weight: float = 1.0
    replicates: int | None = None  # training replicates per setting; None = the run's default
    top_t: int = TOP_T
    grid: str = "derived"  # training grid: "derived" from the test GWAS (the default) or "fixed" (GRID)


@dataclass(frozen=True)
class RunConfig:
    """Sizes of one benchmark run."""

    train_replicates: int  # simulated GWAS per training block and setting
    test_replicates: int  # simulated GWAS per test block and setting
    models: dict[str, TrainConfig]
    scaling_sizes: tuple[int, ...]
    max_blocks: int | None = None  # keep at most this many panel blocks
    max_test_blocks: int | None = None  # evaluate on at most this many test blocks
    enet_default_settings: tuple[int, ...] = ()  # settings where the shipped-default enet also runs
    in_sample: bool = True  # run the in-sample LD check


FULL = RunConfig(
    train_replicates=1,
    test_replicates=2,
    models={
        "nn_2L": TrainConfig("2L", n_models=5, epochs=30, patience=4),
        "nn_2L_fixed": TrainConfig("2L", n_models=5, epochs=30, patience=4, replicates=3, grid="fixed"),
    },
    scaling_sizes=(2_000, 8_000, 32_000, 128_000),
    enet_default_settings=(0, 5, 10, 15),
    in_sample=False,
)
#: Human-like panel: larger blocks, so fewer replicates, smaller ensembles and no in-sample check.
FULL_HUMANLIKE = RunConfig(
    train_replicates=1,
    test_replicates=1,
    models={
        "nn_2L": TrainConfig("2L", n_models=5, epochs=30, patience=4),
        "nn_2L_fixed": TrainConfig("2L", n_models=5, epochs=30, patience=4, replicates=2, grid="fixed"),
    },
    scaling_sizes=(2_000, 8_000),
    in_sample=False,
)
QUICK = RunConfig(
    train_replicates=1,
    test_replicates=1,
    models={
        "nn_2L": TrainConfig("2L", n_models=3, epochs=3),
        "nn_2L_fixed": TrainConfig("2L", n_models=2, epochs=3, grid="fixed"),
    },
    scaling_sizes=(2_000, 8_000),
    max_blocks=6,
    max_test_blocks=1,
    enet_default_settings=(15,),
)
#: The elastic net of the main table: pseudo-validated as shipped, but with one split, 10
#: penalties down to 1 % of the largest (shipped: 3 splits, 20 penalties down to 0.1 %), because
#: the shipped defaults take minutes per block on this panel's LD (see ``enet_default``).
ENET_OPTIONS = dict(n_splits=1, n_lambdas=10, lambda_min_ratio=1e-2)


# --------------------------------------------------------------------------- panel


@dataclass(frozen=True)
class Block:
    """One LD block of the QC'd panel: its genotypes, correlation matrix and LD scores."""

    name: str
    G: np.ndarray  # (n, m) float32 A1 counts, NaN = missing
    r: np.ndarray  # (m, m) float32
    ldscore: np.ndarray  # (m,) unadjusted within-block LD scores

    @property
    def m(self) -> int:
        return self.r.shape[0]


def build_panel(panel: str, seed: int) -> tuple[list[Block], int]:
    """The panel's data-driven LD blocks (cached files) and the panel size m_total.

    ``toy``: toy cohort -> QC -> blocks of ~400 variants (50-1,500). ``humanlike``:
    :data:`HUMANLIKE` (unrelated, MAF >= 1 %, no QC needed) -> blocks of ~700 variants (500-1,000).
    """
    root = DATA if panel == "toy" else DATA / "humanlike"
    prefix, blocks_tsv = root / "qc", root / "blocks.tsv"
    if panel == "toy":
        cohort_dir = root / "cohort"
        if not (cohort_dir / "genotypes.bed").is_file():
            simulate_toy_cohort(cohort_dir, ToyParams(), seed=seed)
        if not Path(f"{prefix}.bed").is_file():
            run_qc(cohort_dir / "genotypes", prefix, root / "qc_report.tsv", root / "qc_summary.tsv",
                   pedigree=cohort_dir / "pedigree.tsv")
        sizes = dict(target_variants=400, min_variants=50, max_variants=1500)
    else:
        if not Path(f"{prefix}.bed").is_file():
            root.mkdir(parents=True, exist_ok=True)
            simulate_humanlike_panel(prefix, **HUMANLIKE, seed=seed)
        sizes = dict(target_variants=700, min_variants=500, max_variants=1000)
    if not blocks_tsv.is_file():
        make_ld_blocks(prefix, blocks_tsv, source="data", **sizes)
    bfile = Bfile.open(prefix)
    table = pd.read_csv(blocks_tsv, sep="\t", dtype={"chrom": str})
    blocks = []
    for _, row in table.iterrows():
        idx = block_variants(bfile.bim, row)
        G = bfile.read(idx)
        r = correlation(G, bfile.bim.ID.to_numpy()[idx])
        blocks.append(Block(row.block, G, r, ld_scores(r, bfile.n_samples, adjust=False)))
    return blocks, bfile.n_variants


def split_blocks(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    """Every third block (the 3rd, 6th, ...) is a test block, the others train."""
    return [b for i, b in enumerate(blocks) if i % 3 != 2], [b for i, b in enumerate(blocks) if i % 3 == 2]


def simulate(blocks: list[Block], panel_grid: list[SimSetting], block_grid: list[SimSetting], replicates: int,
             m_total: int, seed: int, purpose: int, n: int | None = None) -> list[SimulatedStats]:
    """Every setting x ``replicates`` on each block; seeds differ by (seed, purpose, block).

    ``panel_grid`` settings give a block ``h2 * m_block / m_total``, ``block_grid`` ones ``h2``
    (setting indices: panel_grid first). ``n=None``: traits on the block's genotypes
    (:func:`simulate_individual`); else summary-level GWAS of n samples on its LD (:func:`simulate_summary`).
    """
    out = []
    for i, b in enumerate(tqdm(blocks, desc="simulating GWAS", file=sys.stderr)):
        rng = np.random.default_rng([seed, purpose, i])
        parts = []
        for grid, share, offset in ((panel_grid, b.m / m_total, 0), (block_grid, 1.0, len(panel_grid))):
            if not grid:
                continue
            common = dict(replicates=replicates, h2_share=share, rng=rng, ldscore=b.ldscore)
            if n is None:
                part = simulate_individual(b.G, grid, **common)
            else:
                freq, sd = genotype_moments(b.G)
                part = simulate_summary(b.r, sd, n, grid, heterozygosity=2 * freq * (1 - freq), **common)
            parts.append((part, offset))
        out.append(SimulatedStats(
            *(np.concatenate([getattr(p, key) for p, _ in parts]) for key in ("beta", "beta_hat", "se")),
            setting=np.concatenate([p.setting + offset for p, offset in parts]), n=parts[0][0].n,
        ))
    return out


def gwas_signal(blocks: list[Block], sims: list[SimulatedStats]) -> pd.DataFrame:
    """Per (block, simulated GWAS): setting, mean z^2, block h2 and N h2 estimated from the GWAS alone."""
    rows = []
    for b, s in zip(blocks, sims, strict=True):
        for i in range(len(s.beta)):
            mean_chi2, h2 = block_h2(s.beta_hat[i] / s.se[i], b.ldscore, s.n)
            rows.append(dict(block=b.name, gwas=i, setting=int(s.setting[i]), n=s.n, mean_chi2=mean_chi2, h2=h2,
                             signal=s.n * h2))
    return pd.DataFrame(rows)


def derived_grid(signal: pd.DataFrame, n: int) -> list[SimSetting]:
    """The GWAS-derived training grid from all test GWAS pooled (as the workflow pools a cohort's traits)."""
    return derived_settings([signal], n_sim=n, causal_fractions=DERIVED_FRACTIONS, s_values=S_VALUES,
                            w_values=W_VALUES, h2_points=DERIVED_H2_POINTS)


# --------------------------------------------------------------------------- training


def train_models(blocks: list[Block], sims: dict[tuple[str, int], list[SimulatedStats]], run: RunConfig, seed: int):
    """Train every configured model on ``sims[(grid, replicates)]``; returns {name: Ensemble} and a timing table."""
    models, rows = {}, []
    for k, (name, cfg) in enumerate(run.models.items()):
        reps = cfg.replicates or run.train_replicates
        started = time.perf_counter()
        data = training_data(list(zip(sims[cfg.grid, reps], [b.r for b in blocks])), top_t=cfg.top_t,
                             causal_weight=cfg.causal_weight)
        data_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ensemble = train_ensemble(
            data, top_t=cfg.top_t, architecture=cfg.architecture, n_models=cfg.n_models, epochs=cfg.epochs,
            batch_size=cfg.batch_size, patience=cfg.patience, learning_rate=cfg.learning_rate,
            seed=seed + k, device="cpu",
        )
        seconds = time.perf_counter() - started
        epochs_run = [len(c["train"]) for c in ensemble.spec.curves]
        rows.append(dict(
            model=name, grid=cfg.grid, architecture=cfg.architecture, n_models=cfg.n_models, top_t=cfg.top_t, replicates=reps,
            causal_weight=cfg.causal_weight, batch_size=cfg.batch_size, max_epochs=cfg.epochs,
            patience=cfg.patience, rows=len(data.y), causal_rows=int(data.causal.sum()),
            features_seconds=data_seconds, train_seconds=seconds, seconds_per_model=seconds / cfg.n_models,
            mean_epochs_run=float(np.mean(epochs_run)), seconds_per_epoch=seconds / sum(epochs_run),
            mean_best_epoch=float(np.mean([c["best_epoch"] + 1 for c in ensemble.spec.curves])),
            stopped_early=sum(e < cfg.epochs for e in epochs_run),
            min_val_loss=float(np.mean([min(c["val"]) for c in ensemble.spec.curves])), device="cpu (1 thread)",
        ))
        models[name] = ensemble
        print(f"trained {name}: {seconds:.1f} s for {cfg.n_models} models ({rows[-1]['seconds_per_model']:.1f} s "
              f"each, {rows[-1]['mean_epochs_run']:.1f} epochs), {len(data.y)} rows", file=sys.stderr)
    return models, pd.DataFrame(rows)


# --------------------------------------------------------------------------- evaluation


def evaluate(blocks: list[Block], sims: list[SimulatedStats], models: dict[str, Ensemble], *, replicates: int,
             seed: int, baselines: tuple[str, ...] = BASELINES, enet_default_settings: tuple[int, ...] = ()
             ) -> pd.DataFrame:
    """One row per (block, simulated GWAS, method): squared errors, counts, seconds, coverage.

    Every NN ensemble and baseline is timed on every simulated GWAS. The single members of the
    main ensemble (and the mean of its first three, ``nn_2L_K3``, the reference for the K=3
    variants) are computed from one ``Ensemble.predict`` on the same features and not timed.
    ``enet_default`` (shipped options) runs on the smallest block, first of the ``replicates``
    GWAS, of the settings in ``enet_default_settings`` only.
    """
    smallest = min(blocks, key=lambda b: b.m).name
    rows = []
    with tqdm(total=sum(len(s.beta) for s in sims), desc="evaluating", file=sys.stderr, mininterval=10) as bar:
        for b, s in zip(blocks, sims, strict=True):
            for i in range(len(s.beta)):
                beta, beta_hat, se = s.beta[i], s.beta_hat[i], s.se[i]
                causal = beta != 0
                common = dict(block=b.name, m=b.m, setting=int(s.setting[i]), gwas=i, n_causal=int(causal.sum()),
                              max_abs_z=float(np.max(np.abs(beta_hat / se))),
                              median_abs_z_causal=float(np.median(np.abs(beta_hat / se)[causal])),
                              median_beta_over_se_causal=float(np.median(np.abs(beta / se)[causal])))

                def add(method, estimate, seconds=np.nan, sd=None):
                    squared = (estimate - beta) ** 2
                    row = dict(common, method=method, seconds=seconds, sse_all=float(squared.sum()),
                               sse_causal=float(squared[causal].sum()))
                    if sd is not None:
                        covered = np.abs(beta - estimate) <= 2 * sd
                        row.update(covered_all=int(covered.sum()), covered_causal=int(covered[causal].sum()))
                    rows.append(row)

                for name, ensemble in models.items():
                    started = time.perf_counter()
                    mean, sd = nn_shrink(beta_hat, se, b.r, s.n, ensemble)
                    add(name, mean, time.perf_counter() - started, sd if len(ensemble.networks) > 1 else None)
                started = time.perf_counter()
                neighbours, scores = top_neighbours(b.r, models[MAIN].spec.top_t), ld_scores(b.r, s.n, adjust=False)
                add("ld_prep", beta_hat, time.perf_counter() - started)  # timing only: not a method
                member = models[MAIN].predict(block_features(beta_hat, se, scores, neighbours)) * se
                for k, estimate in enumerate(member):
                    add(f"{MAIN}_member{k + 1}", estimate)
                if len(member) > 3:
                    add(f"{MAIN}_K3", member[:3].mean(axis=0), sd=member[:3].std(axis=0))
                for method in baselines:
                    options = ENET_OPTIONS if method == "enet" else {}
                    started = time.perf_counter()
                    shrunk = shrink_block(method, beta_hat, se, b.r, s.n, seed=seed + i, **options)
                    add(method, shrunk, time.perf_counter() - started)
                first_replicate = i % replicates == 0  # rows: replicates of a setting are adjacent
                if b.name == smallest and first_replicate and int(s.setting[i]) in enet_default_settings:
                    started = time.perf_counter()
                    shrunk = shrink_block("enet", beta_hat, se, b.r, s.n, seed=seed + i)
                    add("enet_default", shrunk, time.perf_counter() - started)
                bar.update()
    return pd.DataFrame(rows)


def with_hybrid(runs: pd.DataFrame) -> pd.DataFrame:
    """Add the what-if method ``hybrid``: SuSiE where the GWAS has a genome-wide significant
    variant in the block (max |z| > HYBRID_Z, fixed in advance: p < 5e-8), the NN ensemble elsewhere.

    Not a phenomap method: it shows what gating the network by the block's signal would give.
    Its time is SuSiE's on the gated GWAS and the NN's on the others.
    """
    keys = ["block", "gwas"]
    nn = runs[runs.method == MAIN].set_index(keys)
    susie = runs[runs.method == "susie"].set_index(keys)
    gated = nn.max_abs_z > HYBRID_Z
    hybrid = pd.concat([nn[~gated], susie.loc[gated[gated].index]]).drop(columns=["covered_all", "covered_causal"])
    return pd.concat([runs, hybrid.assign(method="hybrid").reset_index()], ignore_index=True)


# --------------------------------------------------------------------------- tables

NOT_METHODS = ("ld_prep", "enet_default")  # timing-only rows, and the enet reference on a subset


def settings_table(block_grid: list[SimSetting]) -> pd.DataFrame:
    """The test settings: GRID (h2 of the trait over the panel) then ``block_grid`` (h2 of the block)."""
    rows = [dict(vars(s), h2_scope="panel") for s in GRID] + [dict(vars(s), h2_scope="block") for s in block_grid]
    return pd.DataFrame(rows).rename_axis("setting").reset_index()


def per_setting(runs: pd.DataFrame, settings: pd.DataFrame) -> pd.DataFrame:
    """RMSE pooled over all variants (and causal variants) of all blocks and replicates of a setting."""
    runs = runs[~runs.method.isin(NOT_METHODS)]
    table = runs.groupby(["setting", "method"], sort=False).agg(
        sse_all=("sse_all", "sum"), variants=("m", "sum"), sse_causal=("sse_causal", "sum"),
        causal=("n_causal", "sum"), n_blocks=("block", "nunique"), gwas=("block", "size"),
        seconds=("seconds", lambda t: t.sum(min_count=1)), covered_all=("covered_all", "sum"),
        covered_causal=("covered_causal", "sum"), has_sd=("covered_all", lambda c: c.notna().all()),
        median_abs_z_causal=("median_abs_z_causal", "median"),
        median_beta_over_se_causal=("median_beta_over_se_causal", "median"),
    ).reset_index()
    table["rmse_all"] = np.sqrt(table.sse_all / table.variants)
    table["rmse_causal"] = np.sqrt(table.sse_causal / table.causal)
    table["replicates"] = table.gwas // table.n_blocks
    table["coverage_all"] = np.where(table.has_sd, table.covered_all / table.variants, np.nan)
    table["coverage_causal"] = np.where(table.has_sd, table.covered_causal / table.causal, np.nan)
    return settings.merge(table, on="setting")[
        ["setting", "causal_fraction", "h2", "h2_scope", "s", "w", "method", "rmse_all", "rmse_causal", "n_blocks", "replicates",
         "variants", "causal", "seconds", "coverage_all", "coverage_causal", "median_abs_z_causal",
         "median_beta_over_se_causal"]
    ]


def paired_comparison(runs: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per setting: the best baseline, the NN ensemble's RMSE ratio to it and to zero, and a paired z.

    Also the causal-variant RMSE ratio of the NN ensemble to SuSiE, and the all-variant ratio to
    the best baseline of every other NN model (``ratio_to_best_{model}``).

    ``paired_z`` is the mean over the setting's simulated GWAS of (NN MSE - best baseline MSE)
    divided by its standard error (the GWAS are independent draws); negative = NN better.
    """
    out = []
    for setting, rows in table.groupby("setting"):
        rmse, causal = rows.set_index("method").rmse_all, rows.set_index("method").rmse_causal
        best = rmse[list(BASELINES)].idxmin()
        mse = runs[runs.setting == setting].assign(mse=lambda d: d.sse_all / d.m)
        mse = mse.pivot_table(index=["block", "gwas"], columns="method", values="mse")
        diff = mse[MAIN] - mse[best]
        out.append(dict(
            setting=setting, best_baseline=best, rmse_nn=rmse[MAIN], rmse_best_baseline=rmse[best],
            ratio_to_best=rmse[MAIN] / rmse[best], ratio_to_zero=rmse[MAIN] / rmse["zero"],
            best_baseline_to_zero=rmse[best] / rmse["zero"],
            paired_z=diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else np.nan,
            causal_ratio_to_susie=causal[MAIN] / causal["susie"],
            **{f"ratio_to_best_{m}": rmse[m] / rmse[best] for m in rmse.index
               if m.startswith("nn_") and m != MAIN and "_member" not in m and m != f"{MAIN}_K3"},
        ))
    return pd.DataFrame(out)


def summary(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per method: RMSE ratios to the best baseline and to zero, wins, time and speed vs the NN ensemble.

    Every timed method ran on the same simulated GWAS, so total times compare directly;
    ``speedup_nn_vs_this`` = this method's total time / the NN ensemble's.
    """
    rmse = table.pivot(index="setting", columns="method", values="rmse_all")
    best = rmse[list(BASELINES)].min(axis=1)
    contenders = [m for m in rmse.columns if "_member" not in m]
    winners = rmse[contenders].idxmin(axis=1)
    timed = runs[~runs.method.isin(NOT_METHODS)].groupby("method")
    seconds, gwas, variants = timed.seconds.sum(min_count=1), timed.size(), timed.m.sum()
    rows = []
    for method in contenders:
        ratio = rmse[method] / best
        rows.append(dict(
            method=method, mean_ratio_to_best_baseline=ratio.mean(), max_ratio_to_best_baseline=ratio.max(),
            settings_at_or_below_best_baseline=int((ratio <= 1).sum()),
            max_ratio_to_zero=(rmse[method] / rmse["zero"]).max(), wins=int((winners == method).sum()),
            total_seconds=seconds[method], seconds_per_block=seconds[method] / gwas[method],
            us_per_variant=1e6 * seconds[method] / variants[method],
            speedup_nn_vs_this=seconds[method] / seconds[MAIN],
        ))
    return pd.DataFrame(rows)


def enet_default_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The shipped-default elastic net next to the other methods, on the GWAS where it ran."""
    where = runs.loc[runs.method == "enet_default", ["block", "gwas"]]
    sub = runs.merge(where, on=["block", "gwas"])
    sub = sub[sub.method.isin(["enet_default", "enet", MAIN, "susie", "eb", "zero"])]
    table = sub.groupby(["setting", "method"], sort=False).agg(
        sse_all=("sse_all", "sum"), variants=("m", "sum"), sse_causal=("sse_causal", "sum"),
        causal=("n_causal", "sum"), seconds=("seconds", "sum"),
    ).reset_index()
    table["rmse_all"] = np.sqrt(table.sse_all / table.variants)
    table["rmse_causal"] = np.sqrt(table.sse_causal / table.causal)
    return table[["setting", "method", "variants", "rmse_all", "rmse_causal", "seconds"]]


def in_sample_check(blocks: list[Block], ensemble: Ensemble, m_total: int, seed: int) -> pd.DataFrame:
    """RMSE (all variants) per GRID setting of the NN ensemble, SuSiE, EB and zero on the training blocks' LD, new seeds."""
    sims = simulate(blocks, GRID, [], 1, m_total, seed, purpose=2)
    runs = evaluate(blocks, sims, {MAIN: ensemble}, replicates=1, seed=seed, baselines=("susie", "eb", "zero"))
    table = per_setting(runs, settings_table([]))
    wide = table.pivot(index="setting", columns="method", values="rmse_all")[[MAIN, "susie", "eb", "zero"]]
    return wide.reset_index()


# --------------------------------------------------------------------------- scaling


def scaling(blocks: list[Block], sims: list[SimulatedStats], ensemble: Ensemble, sizes) -> pd.DataFrame:
    """NN apply time and memory for growing variant counts: the test blocks tiled, one GWAS each.

    Each size runs twice: timed, then under tracemalloc (peak of the Python/numpy heap; torch's
    own allocations are not traced). ``process_peak_rss_mb`` is the process's peak so far
    (it includes training, so it bounds the apply step from above).
    """

    def shrink_all(size: int) -> int:
        done, k = 0, 0
        while done < size:
            b, s = blocks[k % len(blocks)], sims[k % len(blocks)]
            m = min(b.m, size - done)
            nn_shrink(s.beta_hat[0, :m], s.se[0, :m], b.r[:m, :m], s.n, ensemble)
            done, k = done + m, k + 1
        return k

    shrink_all(sizes[0])  # warm-up: first calls pay for imports and allocator growth
    rows = []
    for size in tqdm(sizes, desc="scaling", file=sys.stderr):
        started = time.perf_counter()
        n_blocks = shrink_all(size)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        shrink_all(size)
        heap = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append(dict(variants=size, blocks=n_blocks, seconds=seconds, us_per_variant=1e6 * seconds / size,
                         tracemalloc_peak_mb=heap, process_peak_rss_mb=peak_rss_mb()))
    return pd.DataFrame(rows)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- main


def verdict(comparison: pd.DataFrame, summ: pd.DataFrame, enet_default: pd.DataFrame, scale: pd.DataFrame) -> list[str]:
    """One line per target of issues 4 and 13: MET / NOT MET and the measured figure."""
    lines = []
    below_best = comparison.ratio_to_best <= 1
    lines.append(f"[{'MET' if below_best.all() else 'NOT MET'}] NN ensemble all-variant RMSE <= best baseline in "
                 f"every setting: {int(below_best.sum())}/{len(comparison)} settings (worst ratio "
                 f"{comparison.ratio_to_best.max():.3f}; above in settings {comparison.setting[~below_best].tolist()})")
    causal = comparison.causal_ratio_to_susie <= 1
    lines.append(f"[{'MET' if causal.all() else 'NOT MET'}] NN ensemble causal-variant RMSE <= SuSiE's in every "
                 f"setting: {int(causal.sum())}/{len(comparison)} (worst ratio {comparison.causal_ratio_to_susie.max():.3f})")
    below_zero = comparison.ratio_to_zero <= 1
    lines.append(f"[{'MET' if below_zero.all() else 'NOT MET'}] NN ensemble never worse than beta = 0: "
                 f"{int(below_zero.sum())}/{len(comparison)} settings "
                 f"(worst ratio {comparison.ratio_to_zero.max():.3f})")
    speed = summ.set_index("method").speedup_nn_vs_this
    for method, target in TARGET_SPEEDUP.items():
        lines.append(f"[{'MET' if speed[method] >= target else 'NOT MET'}] NN >= {target}x faster than {method}"
                     f"{' (options ' + str(ENET_OPTIONS) + ')' if method == 'enet' else ''}: {speed[method]:.1f}x "
                     "on the same blocks")
    if len(enet_default):
        t = enet_default.groupby("method").seconds.sum()
        lines.append(f"[{'MET' if t['enet_default'] >= 100 * t[MAIN] else 'NOT MET'}] NN >= 100x faster than the "
                     f"shipped-default enet: {t['enet_default'] / t[MAIN]:.0f}x on its subset")
    per_variant = scale.us_per_variant
    spread = per_variant.max() / per_variant.min()
    lines.append(f"[{'MET' if spread < 1.5 else 'NOT MET'}] NN time linear in variants: "
                 f"{per_variant.min():.1f}-{per_variant.max():.1f} us per variant over {scale.variants.min()}-"
                 f"{scale.variants.max()} variants (max/min {spread:.2f}; criterion < 1.5)")
    return lines


def main(args: argparse.Namespace) -> None:
    humanlike = args.panel == "humanlike"
    run = QUICK if args.quick else FULL_HUMANLIKE if humanlike else FULL
    suffix = "_humanlike" if humanlike else ""
    out_dir = args.out_dir or (DATA / "quick" if args.quick else HERE / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    warnings = count_warnings("phenomap.shrinkage.baselines")
    started, load = time.perf_counter(), os.getloadavg()
    blocks, m_total = build_panel(args.panel, args.seed)
    block_grid = BLOCK_GRID if humanlike else []
    gwas_n = HUMANLIKE_GWAS_N if humanlike else None  # None: individual-level GWAS on the panel's samples
    train_blocks, test_blocks = split_blocks(blocks[: run.max_blocks])
    test_blocks = test_blocks[: run.max_test_blocks]
    print(f"panel: {blocks[0].G.shape[0]} samples, {m_total} variants, {len(blocks)} blocks; train on "
          f"{len(train_blocks)} blocks ({sum(b.m for b in train_blocks)} variants), test on {len(test_blocks)} "
          f"({[b.m for b in test_blocks]} variants)")

    # the test GWAS first: the derived training grid is estimated from them (summary statistics only)
    test_sims = simulate(test_blocks, GRID, block_grid, run.test_replicates, m_total, args.seed, purpose=1, n=gwas_n)
    signal = gwas_signal(test_blocks, test_sims)
    n_sim = test_sims[0].n
    derived = derived_grid(signal, n_sim)
    print(f"derived training grid: N = {n_sim}, block h2 {sorted({s.h2 for s in derived})} (N h2 "
          f"{sorted({round(s.h2 * n_sim, 2) for s in derived})}) x causal fractions {DERIVED_FRACTIONS} x s x w = "
          f"{len(derived)} settings", file=sys.stderr)
    train_sims = {}
    for grid, reps in sorted({(c.grid, c.replicates or run.train_replicates) for c in run.models.values()}):
        panel_grid, own_grid = (GRID, []) if grid == "fixed" else ([], derived)
        # fixed: the old default (individual-level on the panel's samples); derived: at the GWAS's N
        train_sims[grid, reps] = simulate(train_blocks, panel_grid, own_grid, reps, m_total, args.seed,
                                          purpose=1000 + reps + (0 if grid == "fixed" else 100),
                                          n=None if grid == "fixed" else gwas_n)
    chi2 = pd.concat([
        chi2_check({f"setting {k}": rows}, train_sims[grid_key]).assign(training=grid_key[0])
        for grid_key in train_sims for k, rows in signal.groupby("setting")
    ], ignore_index=True)
    models, training = train_models(train_blocks, train_sims, run, args.seed)
    del train_sims
    trained = time.perf_counter()

    runs = evaluate(test_blocks, test_sims, models, replicates=run.test_replicates, seed=args.seed,
                    enet_default_settings=run.enet_default_settings)
    runs = with_hybrid(runs)
    evaluated = time.perf_counter()
    in_sample = in_sample_check(train_blocks, models[MAIN], m_total, args.seed) if run.in_sample else None
    table = per_setting(runs, settings_table(block_grid))
    comparison = paired_comparison(runs, table)
    summ = summary(table, runs)
    enet_default = enet_default_table(runs)
    scale = scaling(test_blocks, test_sims, models[MAIN], run.scaling_sizes)

    members = table[table.method.str.contains("_member")]
    main_table = table[~table.method.str.contains("_member")]
    tables = {"": main_table.merge(comparison[["setting", "best_baseline"]], on="setting"), "_members": members,
              "_summary": summ, "_vs_best": comparison, "_enet_default": enet_default, "_scaling": scale,
              "_training": training, "_chi2": chi2, "_insample": in_sample}
    for name, frame in tables.items():
        if frame is not None and len(frame):
            write(frame, out_dir / f"shrinkage{suffix}{name}.tsv")

    report(run, main_table, members, comparison, summ, enet_default, training, scale, runs)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print("\nper-block mean z^2: observed in the test GWAS of each setting vs the training simulations")
        print(chi2.to_string(index=False, float_format="%.3f"))
        if in_sample is not None:
            print("\nin-sample LD check: rmse_all x 1000 on the TRAINING blocks, new seeds, 1 GWAS per block and "
                  "setting (is the NN's gap to SuSiE a matter of unseen LD?)")
            print(in_sample.to_string(index=False, float_format=lambda v: f"{1000 * v:.2f}"))
    print("\ntargets of issues 4 and 13:")
    for line in verdict(comparison, summ, enet_default, scale):
        print("  " + line)
    print(f"\nwall time: {trained - started:.0f} s panel + training, {evaluated - trained:.0f} s evaluation, "
          f"{time.perf_counter() - evaluated:.0f} s in-sample check and scaling; "
          f"process peak RSS {peak_rss_mb():.0f} MB; "
          f"{warnings.count} warnings of the baselines (e.g. enet not converged) suppressed; load average "
          f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores); tables in {out_dir}")


def report(run, main_table, members, comparison, summ, enet_default, training, scale, runs) -> None:
    """Print the tables."""
    settings = main_table.drop_duplicates("setting").set_index("setting")
    label = settings[["causal_fraction", "h2", "h2_scope", "s", "w"]].astype(str).agg("/".join, axis=1)
    methods = list(run.models) + ([f"{MAIN}_K3"] if f"{MAIN}_K3" in set(main_table.method) else []) + list(BASELINES)
    methods.append("hybrid")
    milli = lambda v: f"{1000 * v:.2f}"  # noqa: E731
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_columns", 40):
        for metric in ("rmse_all", "rmse_causal"):
            wide = main_table.pivot(index="setting", columns="method", values=metric)[methods]
            wide.insert(0, "frac/h2/scope/s/w", label)
            if metric == "rmse_all":
                wide["med|z|c"] = settings.median_abs_z_causal.map("{:.2f}".format)
                wide["med|b/se|c"] = settings.median_beta_over_se_causal.map("{:.2f}".format)
            print(f"\n{metric} x 1000 on held-out blocks ({run.test_replicates} GWAS per block and setting; "
                  "med|z|c, med|b/se|c: median |z| and |beta|/SE of the causal variants)")
            print(wide.to_string(float_format=milli))
        print(f"\n{MAIN} vs the best baseline per setting (paired_z < 0: NN better; |z| > 2 ~ significant)")
        print(comparison.to_string(index=False, float_format="%.3f"))
        nn = runs[runs.method == MAIN]
        print(f"\ncoverage of beta by BETA_SHRUNK +/- 2 BETA_SHRUNK_SD ({MAIN}): "
              f"{nn.covered_all.sum() / nn.m.sum():.3f} of all variants, "
              f"{nn.covered_causal.sum() / nn.n_causal.sum():.3f} of causal variants")
        cov = main_table[main_table.method.str.startswith("nn_")].pivot(
            index="setting", columns="method", values=["coverage_all", "coverage_causal"]).dropna(axis=1, how="all")
        print(cov.to_string(float_format="%.3f"))
        ensemble = main_table[main_table.method == MAIN].set_index("setting").rmse_all
        ratio = members.pivot(index="setting", columns="method", values="rmse_all").div(ensemble, axis=0)
        print(f"\nsingle members of {MAIN}: rmse_all / ensemble rmse_all (mean, max over settings)")
        print(ratio.agg(["mean", "max"]).T.to_string(float_format="%.3f"))
        print(f"\nper method (speedup_nn_vs_this = this method's time / {MAIN} time on the same blocks)")
        print(summ.to_string(index=False, float_format="%.4g"))
        prep = runs[runs.method == "ld_prep"].seconds.sum()
        susie = runs[runs.method == "susie"].seconds.sum()
        print(f"{MAIN} time split: its {nn.seconds.sum():.2f} s include ~{prep:.2f} s of LD preprocessing "
              f"(top_neighbours + ld_scores, timed separately); without it the NN would be "
              f"~{susie / (nn.seconds.sum() - prep):.0f}x faster than susie")
        if len(enet_default):
            print("\nshipped-default enet (3 splits, 20 penalties to 0.1 %) vs the others on its subset "
                  "(smallest test block, first replicate)")
            print(enet_default.to_string(index=False, float_format="%.4g"))
        print("\ntraining (CPU, 1 torch thread)")
        print(training.to_string(index=False, float_format="%.4g"))
        print(f"\n{MAIN} apply time vs variants")
        print(scale.to_string(index=False, float_format="%.4g"))


class count_warnings(logging.Filter):
    """Count (and swallow) the WARNING records of one logger."""

    def __init__(self, logger: str) -> None:
        super().__init__()
        self.count = 0
        logging.getLogger(logger).addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING:
            self.count += 1
            return False
        return True


def write(table: pd.DataFrame, path: Path) -> None:
    table.to_csv(path, sep="\t", index=False, float_format="%.6g")


if __name__ == "__main__":
    main(ARGS)
