"""Joint (SuSiE-RSS) input features for the shrinkage ensemble: does a network that sees SuSiE's
posterior mean and PIP beat the best baseline? (issue 13, second round)

Same panel, blocks, split and test GWAS as ``bench/shrinkage.py`` (its functions, same seeds, so
the test GWAS are the ones of bench/results/shrinkage{,_humanlike}.tsv and the best baseline per
setting, including the tuned elastic net, is read from there; SuSiE, EB and beta = 0 are rerun
here and checked against it). Training: the GWAS-derived grid of ``bench/shrinkage.py``, cut to
(s, w) in {(0, 0), (-0.25, -1)} and fewer epochs / members for time. Two ensembles on the same
simulations and seeds:

- ``nn_local``: the workflow's features (z, SE, LD score, block mean z^2, 5 LD neighbours);
- ``nn_susie``: the same plus SuSiE-RSS's posterior mean (over SE, z scale) and PIP per variant
  (``susie_rss_fit`` on every training and test GWAS; its time is measured and reported);
- ``nn_susie_resid``: the features of ``nn_susie``, but the network predicts the correction to
  SuSiE's posterior mean (target beta/SE - SuSiE's mean/SE), so that it starts from SuSiE.

Also ``hybrid_local`` / ``_susie`` / ``_susie_resid``: SuSiE on blocks with a genome-wide significant z, the
network elsewhere. Writes bench/results/shrinkage_joint{,_humanlike}{,_training}.tsv; about 10
minutes per panel on 2 shared cores (load ~10), most of it SuSiE on the training GWAS.

    .venv/bin/python bench/shrinkage_joint.py [--panel toy|humanlike] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import shrinkage as sb  # noqa: E402  (bench/shrinkage.py: panel, split, simulations, derived grid)
from phenomap.ld.matrix import ld_scores  # noqa: E402
from phenomap.shrinkage.baselines import shrink_block, susie_rss_fit  # noqa: E402
from phenomap.shrinkage.features import block_features, top_neighbours  # noqa: E402
from phenomap.shrinkage.train import TrainingData, train_ensemble, training_data  # noqa: E402

SW_KEPT = {(0.0, 0.0), (-0.25, -1.0)}


@dataclass
class Setup:
    """What the joint and the stacking what-ifs share: the panel's split, the test GWAS, the derived grid
    cut to :data:`SW_KEPT` and one training GWAS per setting and training block."""

    train_blocks: list
    test_blocks: list
    test_sims: list
    derived: list
    train_sims: list
    m_total: int
    gwas_n: int | None
    n_models: int  # NN ensemble size and most epochs (small for time; tiny with ``quick``)
    epochs: int


def shared_setup(panel: str, seed: int, quick: bool) -> Setup:
    """:class:`Setup` of ``panel`` (bench/shrinkage.py's blocks, split, test GWAS and seeds); ``quick``: 2 training
    and 1 test block, a 1-member ensemble and 2 epochs. Sets torch to one thread."""
    torch.set_num_threads(1)
    humanlike = panel == "humanlike"
    run = sb.FULL_HUMANLIKE if humanlike else sb.FULL
    blocks, m_total = sb.build_panel(panel, seed)
    gwas_n = sb.HUMANLIKE_GWAS_N if humanlike else None
    train_blocks, test_blocks = sb.split_blocks(blocks)
    test_sims = sb.simulate(test_blocks, sb.GRID, sb.BLOCK_GRID if humanlike else [], run.test_replicates, m_total,
                            seed, purpose=1, n=gwas_n)
    derived = [s for s in sb.derived_grid(sb.gwas_signal(test_blocks, test_sims), test_sims[0].n)
               if (s.s, s.w) in SW_KEPT]
    if quick:
        train_blocks, test_blocks, test_sims = train_blocks[:2], test_blocks[:1], test_sims[:1]
    train_sims = sb.simulate(train_blocks, [], derived, 1, m_total, seed, purpose=1101, n=gwas_n)
    return Setup(train_blocks, test_blocks, test_sims, derived, train_sims, m_total, gwas_n,
                 *((1, 2) if quick else (2, 12)))


def susie_features(sims, r) -> tuple[np.ndarray, np.ndarray, float]:
    """SuSiE-RSS on every GWAS of one block: (R, m, 2) features [posterior mean / SE, PIP], (R, m) mean, seconds."""
    feats, means = [], []
    started = time.perf_counter()
    for i in range(len(sims.beta)):
        mean, pip = susie_rss_fit(sims.beta_hat[i], sims.se[i], r, sims.n)
        feats.append(np.stack([mean / sims.se[i], pip], axis=1))
        means.append(mean)
    return np.array(feats), np.array(means), time.perf_counter() - started


def per_setting(runs: pd.DataFrame, suffix: str):
    """From per-GWAS rows (setting, method, m, n_causal, sse_all, sse_causal, ...): the sums per (setting,
    method), RMSE and causal RMSE per setting (rows) and method (columns), the table ``rmse_*``,
    ``causal_rmse_*``, ``stored_best_baseline`` (best of enet, SuSiE, EB, beta = 0 in bench/shrinkage.py's
    stored table ``shrinkage{suffix}.tsv``) and ``stored_susie``, and that stored table (setting x method)."""
    table = runs.groupby(["setting", "method"]).sum(numeric_only=True)
    rmse = np.sqrt(table.sse_all / table.m).unstack()
    causal = np.sqrt(table.sse_causal / table.n_causal).unstack()
    stored = pd.read_csv(HERE / "results" / f"shrinkage{suffix}.tsv", sep="\t")
    stored = stored.pivot(index="setting", columns="method", values="rmse_all")
    out = rmse.add_prefix("rmse_").join(causal.add_prefix("causal_rmse_"))
    out["stored_best_baseline"] = stored[["enet", "susie", "eb", "zero"]].min(axis=1).loc[rmse.index]
    out["stored_susie"] = stored.loc[rmse.index, "susie"]
    return table, rmse, causal, out, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", choices=("toy", "humanlike"), default="humanlike")
    parser.add_argument("--quick", action="store_true", help="2 train / 1 test block, 1 member, 2 epochs")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    started = time.perf_counter()
    setup = shared_setup(args.panel, args.seed, args.quick)
    suffix = "_humanlike" if args.panel == "humanlike" else ""
    n_models, epochs = setup.n_models, setup.epochs
    train_blocks, test_blocks, test_sims = setup.train_blocks, setup.test_blocks, setup.test_sims
    derived, train_sims = setup.derived, setup.train_sims

    # training rows: the workflow's features, then SuSiE's two columns appended
    local = training_data([(s, b.r) for s, b in zip(train_sims, train_blocks)], top_t=sb.TOP_T, causal_weight=1.0)
    extra, susie_seconds = [], 0.0
    for s, b in zip(train_sims, train_blocks):
        feats, _, seconds = susie_features(s, b.r)
        extra.append(feats.reshape(-1, 2))
        susie_seconds += seconds
    extra = np.concatenate(extra).astype(np.float32)
    joint = TrainingData(np.hstack([local.X, extra]), local.y, local.weight, local.causal, local.group)
    resid = TrainingData(joint.X, local.y - extra[:, 0], local.weight, local.causal, local.group)
    n_train_gwas = sum(len(s.beta) for s in train_sims)
    print(f"SuSiE on {n_train_gwas} training GWAS: {susie_seconds:.0f} s", file=sys.stderr)

    models, training = {}, []
    for name, data in (("nn_local", local), ("nn_susie", joint), ("nn_susie_resid", resid)):
        t0 = time.perf_counter()
        models[name] = train_ensemble(data, top_t=sb.TOP_T, architecture="2L", n_models=n_models, epochs=epochs,
                                      batch_size=1024, patience=3, seed=args.seed, device="cpu")
        training.append(dict(model=name, settings=len(derived), train_gwas=n_train_gwas, rows=len(data.y),
                             features=data.X.shape[1], n_models=n_models, max_epochs=epochs,
                             train_seconds=time.perf_counter() - t0,
                             susie_seconds=susie_seconds if name != "nn_local" else 0.0))
        print(f"trained {name}: {training[-1]['train_seconds']:.0f} s", file=sys.stderr)

    rows = []
    for b, s in zip(test_blocks, test_sims):
        neighbours, scores = top_neighbours(b.r, sb.TOP_T), ld_scores(b.r, s.n, adjust=False)
        base = block_features(s.beta_hat, s.se, scores, neighbours)
        sfeats, smeans, _ = susie_features(s, b.r)
        for i in range(len(s.beta)):
            beta, se = s.beta[i], s.se[i]
            causal = beta != 0
            significant = np.max(np.abs(s.beta_hat[i] / se)) > sb.HYBRID_Z
            estimates = {"susie": smeans[i], "eb": shrink_block("eb", s.beta_hat[i], se, b.r, s.n),
                         "zero": np.zeros_like(beta)}
            estimates["nn_local"] = models["nn_local"].predict(base[i]).mean(axis=0) * se
            joint_x = np.hstack([base[i], sfeats[i]])
            estimates["nn_susie"] = models["nn_susie"].predict(joint_x).mean(axis=0) * se
            estimates["nn_susie_resid"] = smeans[i] + models["nn_susie_resid"].predict(joint_x).mean(axis=0) * se
            for name in ("nn_local", "nn_susie", "nn_susie_resid"):
                estimates[name.replace("nn", "hybrid")] = smeans[i] if significant else estimates[name]
            for method, estimate in estimates.items():
                squared = (estimate - beta) ** 2
                rows.append(dict(block=b.name, gwas=i, setting=int(s.setting[i]), method=method, m=b.m,
                                 n_causal=int(causal.sum()), sse_all=squared.sum(), sse_causal=squared[causal].sum()))

    _, rmse, causal, out, stored = per_setting(pd.DataFrame(rows), suffix)
    best = out.stored_best_baseline
    out["stored_nn_2L"] = stored.loc[rmse.index, "nn_2L"]
    nets = ("nn_local", "nn_susie", "nn_susie_resid")
    for name in nets + ("hybrid_local", "hybrid_susie", "hybrid_susie_resid"):
        out[f"{name}_over_best"] = rmse[name] / best
    for name in nets:
        out[f"{name}_causal_over_susie"] = causal[name] / causal["susie"]
    out = out.reset_index()
    out_dir = HERE / "data" / "shrinkage" / "quick" if args.quick else HERE / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_dir / f"shrinkage_joint{suffix}.tsv", sep="\t", index=False, float_format="%.6g")
    pd.DataFrame(training).to_csv(out_dir / f"shrinkage_joint{suffix}_training.tsv", sep="\t", index=False,
                                  float_format="%.6g")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(out.to_string(index=False, float_format="%.4f"))
        print(pd.DataFrame(training).to_string(index=False, float_format="%.1f"))
        for name in nets + ("hybrid_local", "hybrid_susie", "hybrid_susie_resid"):
            ratio = out[f"{name}_over_best"]
            print(f"{name}: at or below the best baseline in {(ratio <= 1).sum()}/{len(ratio)} settings, "
                  f"mean ratio {ratio.mean():.3f}, worst {ratio.max():.3f}")
        for name in nets:
            ratio = out[f"{name}_causal_over_susie"]
            print(f"{name}: causal RMSE <= SuSiE's in {(ratio <= 1).sum()}/{len(ratio)}, worst {ratio.max():.3f}")
        print(f"susie rerun vs stored: max relative difference "
              f"{np.max(np.abs(out.rmse_susie / out.stored_susie - 1)):.2e}")
    print(f"wall time {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
