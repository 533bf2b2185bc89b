"""Stacked shrinkage: does a learned combination of the NN ensemble, SuSiE-RSS and EB (and the elastic
net) reach the best baseline in every setting? (issue 13, what-if; not a phenomap method)

Same panel, blocks, split, test GWAS and NN training as ``bench/shrinkage_joint.py`` (its
``nn_local``: the GWAS-derived grid cut to (s, w) in {(0, 0), (-0.25, -1)}, 2 members, at most
12 epochs, same seeds), so the best baseline per setting, including the tuned elastic net, is read
from bench/results/shrinkage{,_humanlike}.tsv. Then a **calibration set**: the same derived
grid simulated again on the training blocks with new seeds (1 GWAS per setting and block), where
the truth is known; on it every method runs (NN, SuSiE-RSS with its PIPs, EB; ``--with-enet``: also
the elastic net with bench/shrinkage.py's options) and weights of their estimates are fitted to
the true beta (no intercept: effects are zero-mean), four ways:

- ``stack_block``: non-negative least squares (scipy's NNLS), one weight vector per bin of the
  block's max |z| (edges :data:`Z_EDGES`);
- ``stack_pip``: NNLS per (max |z| bin, bin of the variant's SuSiE PIP, edges :data:`PIP_EDGES`);
- ``stack_fwls``: feature-weighted linear stacking, least squares on each estimate times
  [1, PIP, log max |z|, log mean z^2, PIP x each];
- ``stack_knn``: NNLS on the :data:`KNN` calibration GWAS nearest to the test GWAS in (log mean
  z^2, log max |z|, log(1 + summed PIP)).

The weights are applied to the test GWAS (held-out blocks, other seeds). Reported per setting:
RMSE over the best baseline (SuSiE-RSS, tuned elastic net, EB, beta = 0), causal RMSE over SuSiE's,
and for ``stack_block`` / ``stack_pip`` the coverage of beta by the stack +/- 1.96 x its cell's
calibration RMSE (an SD calibrated on average over a cell's variants); and the real cost: every
method on every calibration and test GWAS. Writes bench/results/shrinkage_stack{,_enet}{,_humanlike}
{.tsv,_weights.tsv}. On an idle 2-core machine: 1-2 min per panel, 20 min with the elastic net.

    .venv/bin/python bench/shrinkage_stack.py [--panel toy|humanlike] [--with-enet] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import nnls  # noqa: E402

import shrinkage as sb  # noqa: E402  (bench/shrinkage.py: panel, split, simulations, derived grid)
from shrinkage_joint import per_setting, shared_setup  # noqa: E402
from phenomap.ld.matrix import ld_scores  # noqa: E402
from phenomap.shrinkage.baselines import shrink_block, susie_rss_fit  # noqa: E402
from phenomap.shrinkage.features import block_features, top_neighbours  # noqa: E402
from phenomap.shrinkage.train import train_ensemble, training_data  # noqa: E402

#: bins of a block GWAS's max |z| (the middle edge is genome-wide significance, p = 5e-8)
Z_EDGES = np.array([3.5, sb.HYBRID_Z, 8.0])
#: bins of a variant's SuSiE PIP
PIP_EDGES = np.array([0.1, 0.5])
RULES = ("block", "pip", "fwls", "knn")
#: ``knn``: calibration GWAS nearest in :func:`signature` whose variants fit a test GWAS's weights
KNN = 30


def block_estimates(model, b, sims, methods: tuple[str, ...]) -> list[dict]:
    """Per GWAS of ``sims`` on block ``b``: the estimates (m,) of ``methods``, SuSiE's PIP, the block's max |z|
    and mean z^2, and each method's seconds."""
    neighbours, scores = top_neighbours(b.r, sb.TOP_T), ld_scores(b.r, sims.n, adjust=False)
    base = block_features(sims.beta_hat, sims.se, scores, neighbours)
    out = []
    for i in range(len(sims.beta)):
        beta_hat, se = sims.beta_hat[i], sims.se[i]
        z = beta_hat / se
        est = dict(max_z=float(np.max(np.abs(z))), mean_chi2=float(np.mean(z**2)), seconds={})
        for method in methods:
            started = time.perf_counter()
            if method == "nn":
                est[method] = model.predict(base[i]).mean(axis=0) * se
            elif method == "susie":
                est[method], est["pip"] = susie_rss_fit(beta_hat, se, b.r, sims.n)
            else:
                options = sb.ENET_OPTIONS if method == "enet" else {}
                est[method] = shrink_block(method, beta_hat, se, b.r, sims.n, seed=i, **options)
            est["seconds"][method] = time.perf_counter() - started
        out.append(est)
    return out


def design(est: dict, rule: str, methods: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(m,) cell of each variant and (m, p) columns whose weights are fitted per cell under ``rule``:
    ``block`` / ``pip``: the estimates, per max |z| bin / per (max |z| bin, PIP bin); ``fwls``
    (feature-weighted linear stacking): one cell, the estimates times [1, PIP, log max |z|,
    log mean z^2, and PIP times each]."""
    estimates = np.column_stack([est[m] for m in methods])
    z_bin = int(np.searchsorted(Z_EDGES, est["max_z"]))
    m = estimates.shape[0]
    if rule == "block":
        return np.full(m, z_bin), estimates
    if rule == "pip":
        return z_bin * (len(PIP_EDGES) + 1) + np.searchsorted(PIP_EDGES, est["pip"]), estimates
    pip, log_z, log_chi2 = est["pip"], np.log(est["max_z"]), np.log(est["mean_chi2"])
    g = np.column_stack([np.ones(m), pip, np.full(m, log_z), np.full(m, log_chi2), pip * log_z, pip * log_chi2])
    return np.zeros(m, dtype=int), (estimates[:, :, None] * g[:, None, :]).reshape(m, -1)


def fit_weights(calibration: list[tuple[np.ndarray, dict]], rule: str, methods) -> dict[int, np.ndarray]:
    """Weights per cell fitted to the true beta of the calibration GWAS: non-negative least squares
    (``block``, ``pip``) or least squares (``fwls``)."""
    parts: dict[int, tuple[list, list]] = {}
    for beta, est in calibration:
        cell, A = design(est, rule, methods)
        for c in np.unique(cell):
            parts.setdefault(int(c), ([], []))
            parts[int(c)][0].append(A[cell == c])
            parts[int(c)][1].append(beta[cell == c])
    solve = (lambda A, y: np.linalg.lstsq(A, y, rcond=None)[0]) if rule == "fwls" else (lambda A, y: nnls(A, y)[0])
    return {c: solve(np.vstack(A), np.concatenate(y)) for c, (A, y) in parts.items()}


def cell_sd(calibration: list[tuple[np.ndarray, dict]], weights: dict[int, np.ndarray], rule: str,
            methods) -> dict[int, float]:
    """Per cell, the root mean squared error of the stacked estimate on the calibration GWAS: a posterior SD
    of the stack that is calibrated on average over the variants of the cell."""
    sums: dict[int, list[float]] = {}
    for beta, est in calibration:
        cell, _ = design(est, rule, methods)
        squared = (stacked(est, weights, rule, methods) - beta) ** 2
        for c in np.unique(cell):
            total = sums.setdefault(int(c), [0.0, 0])
            total[0] += float(squared[cell == c].sum())
            total[1] += int((cell == c).sum())
    return {c: np.sqrt(total / count) for c, (total, count) in sums.items()}


def signature(est: dict) -> np.ndarray:
    """(3,) what a block GWAS looks like: log mean z^2, log max |z|, log(1 + SuSiE's summed PIP)."""
    return np.array([np.log(est["mean_chi2"]), np.log(est["max_z"]), np.log1p(est["pip"].sum())])


def knn_stacked(est: dict, calibration: list[tuple[np.ndarray, dict]], methods, k: int = KNN) -> np.ndarray:
    """NNLS weights of ``methods`` fitted on the ``k`` calibration GWAS nearest to ``est`` in
    :func:`signature` (standardised over the calibration set), applied to ``est``."""
    signatures = np.array([signature(e) for _, e in calibration])
    distance = (((signatures - signature(est)) / signatures.std(axis=0)) ** 2).sum(axis=1)
    nearest = np.argsort(distance)[:k]
    A = np.vstack([np.column_stack([calibration[j][1][m] for m in methods]) for j in nearest])
    y = np.concatenate([calibration[j][0] for j in nearest])
    return np.column_stack([est[m] for m in methods]) @ nnls(A, y)[0]


def stacked(est: dict, weights: dict[int, np.ndarray], rule: str, methods) -> np.ndarray:
    """The stacked estimate (m,); a cell the calibration never reached takes SuSiE's estimate."""
    cell, A = design(est, rule, methods)
    fallback = np.asarray(methods) == "susie"
    W = np.array([weights.get(int(c), fallback) for c in cell])
    return (A * W).sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", choices=("toy", "humanlike"), default="humanlike")
    parser.add_argument("--quick", action="store_true", help="2 train / 1 test block, 1 member, 2 epochs")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--with-enet", action="store_true", help="stack the tuned elastic net too (its cost added)")
    args = parser.parse_args()
    methods = ("nn", "susie", "eb", "enet") if args.with_enet else ("nn", "susie", "eb")
    tag = "_enet" if args.with_enet else ""
    started = time.perf_counter()
    setup = shared_setup(args.panel, args.seed, args.quick)
    suffix = "_humanlike" if args.panel == "humanlike" else ""
    train_blocks, test_blocks, test_sims = setup.train_blocks, setup.test_blocks, setup.test_sims
    local = training_data([(s, b.r) for s, b in zip(setup.train_sims, train_blocks)], top_t=sb.TOP_T,
                          causal_weight=1.0)
    t0 = time.perf_counter()
    model = train_ensemble(local, top_t=sb.TOP_T, architecture="2L", n_models=setup.n_models, epochs=setup.epochs,
                           batch_size=1024, patience=3, seed=args.seed, device="cpu")
    train_seconds = time.perf_counter() - t0

    calibration_sims = sb.simulate(train_blocks, [], setup.derived, 1, setup.m_total, args.seed, purpose=1301,
                                   n=setup.gwas_n)
    t0 = time.perf_counter()
    calibration = [(s.beta[i], est) for b, s in zip(train_blocks, calibration_sims)
                   for i, est in enumerate(block_estimates(model, b, s, methods))]
    calibration_seconds = time.perf_counter() - t0
    weights = {rule: fit_weights(calibration, rule, methods) for rule in RULES if rule != "knn"}
    sds = {rule: cell_sd(calibration, weights[rule], rule, methods) for rule in ("block", "pip")}

    rows = []
    for b, s in zip(test_blocks, test_sims):
        for i, est in enumerate(block_estimates(model, b, s, methods)):
            beta = s.beta[i]
            causal = beta != 0
            estimates = {m: est[m] for m in methods}
            for rule in RULES:
                estimates[f"stack_{rule}"] = (knn_stacked(est, calibration, methods) if rule == "knn"
                                              else stacked(est, weights[rule], rule, methods))
            covered = {}
            for rule in ("block", "pip"):
                cell, _ = design(est, rule, methods)
                sd = np.array([sds[rule].get(int(c), np.inf) for c in cell])
                covered[f"stack_{rule}"] = np.abs(beta - estimates[f"stack_{rule}"]) <= 1.96 * sd
            for method, estimate in estimates.items():
                squared = (estimate - beta) ** 2
                hit = covered.get(method, np.full(beta.size, np.nan))
                rows.append(dict(block=b.name, gwas=i, setting=int(s.setting[i]), method=method, m=b.m,
                                 n_causal=int(causal.sum()), sse_all=squared.sum(), sse_causal=squared[causal].sum(),
                                 covered_all=hit.sum(), covered_causal=hit[causal].sum(),
                                 **{f"{m}_seconds": est["seconds"][m] for m in methods}))
    runs = pd.DataFrame(rows)
    table, rmse, causal, out, _ = per_setting(runs, suffix)
    best = out.stored_best_baseline
    for rule in ("block", "pip"):
        name = f"stack_{rule}"
        out[f"{name}_coverage_all"] = (table.covered_all / table.m).unstack()[name]
        out[f"{name}_coverage_causal"] = (table.covered_causal / table.n_causal).unstack()[name]
    stacks = ("nn", *(f"stack_{rule}" for rule in RULES))
    for name in stacks:
        out[f"{name}_over_best"] = rmse[name] / best
        out[f"{name}_causal_over_susie"] = causal[name] / causal["susie"]
    out = out.reset_index()
    weight_table = pd.DataFrame([dict(rule=rule, cell=c, weights=" ".join(f"{v:.3f}" for v in w))
                                 for rule, ws in weights.items() for c, w in sorted(ws.items())])
    out_dir = HERE / "data" / "shrinkage" / "quick" if args.quick else HERE / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_dir / f"shrinkage_stack{tag}{suffix}.tsv", sep="\t", index=False, float_format="%.6g")
    weight_table.to_csv(out_dir / f"shrinkage_stack{tag}{suffix}_weights.tsv", sep="\t", index=False,
                        float_format="%.4g")
    n_test = sum(len(s.beta) for s in test_sims)
    test_seconds = runs[runs.method == "nn"][[f"{m}_seconds" for m in methods]].sum()
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(out.to_string(index=False, float_format="%.4f"))
        print(weight_table.to_string(index=False, float_format="%.3f"))
        for name in stacks:
            ratio, causal_ratio = out[f"{name}_over_best"], out[f"{name}_causal_over_susie"]
            print(f"{name}: at or below the best baseline in {(ratio <= 1).sum()}/{len(ratio)} settings, "
                  f"mean ratio {ratio.mean():.3f}, worst {ratio.max():.3f}; causal RMSE <= SuSiE's in "
                  f"{(causal_ratio <= 1).sum()}/{len(causal_ratio)}, worst {causal_ratio.max():.3f}")
        for rule in ("block", "pip"):
            name = f"stack_{rule}"
            pooled = runs[runs.method == name][["covered_all", "m", "covered_causal", "n_causal"]].sum()
            print(f"{name}: 95 % interval (1.96 x the cell's calibration RMSE) covers "
                  f"{pooled.covered_all / pooled.m:.3f} "
                  f"of all variants, {pooled.covered_causal / pooled.n_causal:.3f} of causal ones (per setting: all "
                  f"{out[name + '_coverage_all'].min():.3f}-{out[name + '_coverage_all'].max():.3f}, causal "
                  f"{out[name + '_coverage_causal'].min():.3f}-{out[name + '_coverage_causal'].max():.3f})")
        drift = np.max(np.abs(out.rmse_susie / out.stored_susie - 1))
        print(f"susie rerun vs stored: max relative difference {drift:.2e}")
    print(f"NN training {train_seconds:.0f} s on {len(local.y)} rows; calibration: {len(calibration)} GWAS, "
          f"{calibration_seconds:.0f} s ({', '.join(methods)}); on the {n_test} test GWAS: "
          f"{', '.join(f'{k} {v:.1f} s' for k, v in test_seconds.items())}; "
          f"wall time {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
