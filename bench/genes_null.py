"""Calibration and power of the gene test on NN-shrunk effects: simulated null vs the beta_hat test.

Issue 13: with epsilon from the mixture's smallest cluster, the gene test on NN-shrunk effects had
type-I error 0.0025 at alpha 0.05 on real LD. This benchmark checks the simulated null
(:mod:`phenomap.genes.null`, the workflow's default) on two LD sources:

* ``toy``: the toy cohort (default ToyParams), QC'd, data-driven blocks of 400 (50-1500) variants;
* ``humanlike``: :func:`phenomap.sim.humanlike.simulate_humanlike_panel` (5,000 unrelated
  European-like genomes, 2 x 10 Mb at HapMap3 density), blocks of 700 (500-1000) variants.

Per source (cached under bench/data/genes_null/, git-ignored): every third block is held out; a
2L ensemble (``ENSEMBLE``) is trained with :func:`~phenomap.shrinkage.train.train_ensemble` on
``simulate_individual`` GWAS of the other blocks (the bench/shrinkage.py grid), as rule
``train_shrinkage`` would. The test blocks are tiled with genes of 5-40 consecutive variants.
SE of variant j is ``1 / sqrt(N 2 f_j (1 - f_j))`` (unit phenotype variance, N = ``GWAS_N``).

* Null: null GWAS until ``--null-tests`` gene tests per source, ``beta_hat ~ N(0, S R S)`` per block; effects shrunk
  by :func:`~phenomap.shrinkage.apply.nn_shrink` and tested by
  :func:`~phenomap.genes.enrichment.gene_test` with the simulated null (``--draws`` null GWAS per
  block, with one seed as in the workflow, so the bench computes the null once per source and
  reuses it). Type-I error at 0.05 and 0.01 over all gene tests (with the
  binomial 95% interval), median null p, and a QQ plot.
* Power: ``--planted-reps`` GWAS with a quarter of each test block's genes planted (1-3 causal
  variants, effects ``PLANTED_Z / sqrt(k)`` SE units with random signs for k causal variants;
  ``z = R (beta / SE) + N(0, R)``).
  Tests on the same planted genes: ``shrunk_simulated`` (the above), ``beta_hat_true`` (T = sum
  beta_hat^2 against its exact null, eigenvalues of ``S R_g S``, Liu + Imhof), ``z_true``
  (T = sum z^2 against ``R_g``) and ``combined`` (the workflow's default ``genes.combine_z``:
  the Cauchy combination of ``shrunk_simulated`` and ``z_true``, from the same gene_test call); power at 0.05 and 2.5e-6 (a genome-wide Bonferroni level for 20k
  genes), and the type-I error of all four on the null replicates.

Writes bench/results/genes_null.tsv (source x test x measure) and the QQ plots of the null gene
tests, bench/results/genes_null_qq_<source>.png. ``--tail`` (after a main run) checks the fitted
tail instead: on the first test block, p-values from ``--draws`` null draws against the empirical
p of 20,000 independent draws, at true p 1e-2, 1e-3 and 1e-4 (the ratio's 10th, 50th and 90th
percentiles over the block's genes), to bench/results/genes_null_tail.tsv.

    .venv/bin/python bench/genes_null.py [--null-tests 2000] [--planted-reps 10] [--draws 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from phenomap.genes.enrichment import gene_test  # noqa: E402
from phenomap.genes.null import null_block_statistics, null_square_root, simulated_pvalues, nn_shrinker  # noqa: E402
from phenomap.genes.quadform import quadform_pvalues  # noqa: E402
from phenomap.io.plink import Bfile  # noqa: E402
from phenomap.ld.blocks import block_variants, make_ld_blocks  # noqa: E402
from phenomap.ld.matrix import correlation, ld_scores  # noqa: E402
from phenomap.qc import run_qc  # noqa: E402
from phenomap.report.plots import qq_plot  # noqa: E402
from phenomap.shrinkage.apply import nn_shrink  # noqa: E402
from phenomap.shrinkage.model import Ensemble  # noqa: E402
from phenomap.shrinkage.train import train_ensemble, training_data  # noqa: E402
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort  # noqa: E402
from phenomap.sim.humanlike import simulate_humanlike_panel  # noqa: E402
from phenomap.sim.training import setting_grid, simulate_individual  # noqa: E402

DATA = HERE / "data" / "genes_null"
RESULTS = HERE / "results"
GRID = setting_grid([0.01, 0.05], [0.3, 0.7], [-0.25, 0.0], [-1.0, 0.0])  # as bench/shrinkage.py
ENSEMBLE = dict(architecture="2L", n_models=3, epochs=20, patience=3, batch_size=1024)
TRAIN_REPLICATES = 2
TOP_T = 5
GWAS_N = 10_000
PLANTED_Z = 3.5
PLANTED_SHARE = 4  # one gene in this many of each test block is planted in each power replicate
GENE_SIZES = (5, 40)
LEVELS = (0.05, 0.01)
STRICT = 2.5e-6
SOURCES = {
    "toy": dict(target_variants=400, min_variants=50, max_variants=1500),
    "humanlike": dict(target_variants=700, min_variants=500, max_variants=1000),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-tests", type=int, default=2000, help="null GWAS until this many gene tests per source")
    parser.add_argument("--planted-reps", type=int, default=10)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES))
    parser.add_argument("--tail", action="store_true", help="only the tail check (after a main run)")
    return parser.parse_args()


def panel(source: str, seed: int) -> Path:
    """PLINK prefix of the source's genotypes (simulated once, cached)."""
    folder = DATA / source
    folder.mkdir(parents=True, exist_ok=True)
    if source == "humanlike":
        prefix = folder / "panel"
        if not Path(f"{prefix}.bed").is_file():
            simulate_humanlike_panel(prefix, seed=seed)
        return prefix
    prefix = folder / "qc"
    if not Path(f"{prefix}.bed").is_file():
        simulate_toy_cohort(folder / "cohort", ToyParams(), seed=seed)
        run_qc(folder / "cohort" / "genotypes", prefix, folder / "qc_report.tsv", folder / "qc_summary.tsv",
               pedigree=folder / "cohort" / "pedigree.tsv")
    return prefix


def blocks_of(source: str, prefix: Path) -> list[dict]:
    """The source's LD blocks: name, genotypes G (n, m), r (m, m) float64, A1 frequencies, IDs."""
    table_path = DATA / source / "blocks.tsv"
    if not table_path.is_file():
        make_ld_blocks(prefix, table_path, source="data", **SOURCES[source])
    bfile = Bfile.open(prefix)
    out = []
    for _, row in pd.read_csv(table_path, sep="\t", dtype={"chrom": str}).iterrows():
        idx = block_variants(bfile.bim, row)
        G = bfile.read(idx)
        ids = bfile.bim.ID.to_numpy()[idx]
        out.append(dict(name=row.block, G=G, r=correlation(G, ids).astype(np.float64), ids=ids,
                        freq=np.nanmean(G, axis=0) / 2))
    return out


def ensemble_for(source: str, train: list[dict], n_total: int, seed: int) -> Ensemble:
    """A small 2L ensemble trained on simulated GWAS of the training blocks (cached)."""
    folder = DATA / source / "model"
    if (folder / "ensemble.json").is_file():
        return Ensemble.load(folder, top_t=TOP_T)
    started = time.perf_counter()
    sims = [simulate_individual(b["G"], GRID, replicates=TRAIN_REPLICATES, h2_share=len(b["ids"]) / n_total,
                                rng=np.random.default_rng([seed, i]), ldscore=ld_scores(b["r"], len(b["G"]), adjust=False))
            for i, b in enumerate(train)]
    data = training_data(list(zip(sims, [b["r"] for b in train])), top_t=TOP_T, causal_weight=1.0)
    ensemble = train_ensemble(data, top_t=TOP_T, seed=seed, device="cpu", **ENSEMBLE)
    ensemble.save(folder)
    print(f"{source}: trained the ensemble on {len(data.y)} rows in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return ensemble


def tile_genes(rng: np.random.Generator, blocks: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, list[list[int]]]:
    """Variants table (ID CHROM POS se n) of the test blocks and genes of 5-40 consecutive variants tiling them.

    Positions are synthetic (100 bp apart, 1 Mb between blocks); returns also each block's gene rows.
    """
    variants, genes, by_block, offset = [], [], [], 0
    for b in blocks:
        m = len(b["ids"])
        pos = 1_000_000 * (len(by_block) + 1) + 100 * np.arange(m)
        variants.append(pd.DataFrame({"ID": b["ids"], "CHROM": "1", "POS": pos,
                                      "se": 1 / np.sqrt(GWAS_N * 2 * b["freq"] * (1 - b["freq"])), "n": GWAS_N}))
        rows, start = [], 0
        while m - start >= GENE_SIZES[0]:
            size = min(int(rng.integers(*GENE_SIZES, endpoint=True)), m - start)
            rows.append(len(genes))
            genes.append({"gene_id": f"g{len(genes)}", "symbol": f"G{len(genes)}", "chrom": "1",
                          "start": int(pos[start]), "stop": int(pos[start + size - 1]), "first": offset + start,
                          "size": size, "block": len(by_block), "local": start})
            start += size
        by_block.append(rows)
        offset += m
    return pd.concat(variants, ignore_index=True), pd.DataFrame(genes), by_block


def gwas(rng: np.random.Generator, blocks: list[dict], se: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """beta_hat of one GWAS of the test blocks: z = R (beta / se) + N(0, R), beta_hat = z se."""
    z, offset = [], 0
    for b in blocks:
        m = len(b["ids"])
        w, V = np.linalg.eigh(b["r"])
        part = slice(offset, offset + m)
        z.append(b["r"] @ (beta[part] / se[part]) + V @ (np.sqrt(np.clip(w, 0, None)) * rng.standard_normal(m)))
        offset += m
    return np.concatenate(z) * se


class Memoised:
    """A shrinker that remembers its outputs by input: with the workflow's fixed seed, every replicate redraws
    the same null GWAS, so the network runs once per block and chunk of draws (a bench shortcut only)."""

    def __init__(self, shrink):
        self.shrink, self.cache = shrink, {}

    def __call__(self, beta_hat, se, r, n):
        key = hashlib.sha256(beta_hat.tobytes()).hexdigest()
        if key not in self.cache:
            self.cache[key] = self.shrink(beta_hat, se, r, n)
        return self.cache[key]


def run_tests(blocks, variants, genes, beta_hat, ensemble, shrinker, draws, seed) -> pd.DataFrame:
    """p of every gene by the four tests; one row per gene (gene_id, p_<test>)."""
    se, offset, shrunk = variants.se.to_numpy(), 0, []
    for b in blocks:
        part = slice(offset, offset + len(b["ids"]))
        shrunk.append(nn_shrink(beta_hat[part], se[part], b["r"], GWAS_N, ensemble)[0])
        offset += len(b["ids"])
    ld = {b["name"]: (b["ids"], b["r"]) for b in blocks}
    gene_cols = genes[["gene_id", "symbol", "chrom", "start", "stop"]]
    start = time.perf_counter()
    sim = gene_test(variants.assign(beta=np.concatenate(shrunk), z=beta_hat / se), gene_cols, ld, shrinker=shrinker,
                    n_draws=draws, seed=seed, combine_z=True)
    seconds = time.perf_counter() - start  # the first call includes the null; later ones reuse it
    # beta_hat against its exact null: eigenvalues of S_g R_g S_g (each gene lies in one block)
    lambdas, stat = [], []
    for g in genes.itertuples():
        idx, local = np.arange(g.first, g.first + g.size), np.arange(g.local, g.local + g.size)
        S = se[idx]
        cov = S[:, None] * blocks[g.block]["r"][np.ix_(local, local)] * S[None, :]
        lambdas.append(np.clip(np.linalg.eigvalsh(cov), 0, None))
        stat.append(float(np.sum(beta_hat[idx] ** 2)))
    exact = quadform_pvalues(np.array(stat), lambdas).p
    out = genes[["gene_id"]].assign(p_beta_hat_true=exact)
    sim = sim.rename(columns={"p_effects": "p_shrunk_simulated", "p_z": "p_z_true", "p": "p_combined"})
    out = out.merge(sim[["gene_id", "p_shrunk_simulated", "p_z_true", "p_combined"]], on="gene_id", how="left")
    return out.assign(test_seconds=seconds)


def evaluate(source: str, args: argparse.Namespace) -> tuple[list[dict], dict[str, np.ndarray]]:
    rng = np.random.default_rng([args.seed, list(SOURCES).index(source)])
    prefix = panel(source, args.seed)
    blocks = blocks_of(source, prefix)
    train, test = [b for i, b in enumerate(blocks) if i % 3 != 2], [b for i, b in enumerate(blocks) if i % 3 == 2]
    ensemble = ensemble_for(source, train, sum(len(b["ids"]) for b in blocks), args.seed)
    variants, genes, by_block = tile_genes(rng, test)
    print(f"{source}: {len(blocks)} blocks ({len(test)} test, {len(variants)} variants), {len(genes)} genes",
          file=sys.stderr, flush=True)
    se = variants.se.to_numpy()
    shrinker = Memoised(nn_shrinker(ensemble))
    null_p, planted_p, seconds = [], [], []
    for rep in range(-(-args.null_tests // len(genes))):
        p = run_tests(test, variants, genes, gwas(rng, test, se, np.zeros(len(se))), ensemble, shrinker, args.draws,
                      args.seed + 1)
        null_p.append(p)
        seconds.append(p.test_seconds.iloc[0])
        print(f"{source} null {rep}: type-I at 0.05 " + " ".join(
            f"{c[2:]} {np.mean(p[c] <= 0.05):.3f}" for c in p if c.startswith("p_")), file=sys.stderr, flush=True)
    for rep in range(args.planted_reps):
        beta, planted = np.zeros(len(se)), []
        for rows in by_block:
            for g in genes.iloc[rng.choice(rows, size=max(1, len(rows) // PLANTED_SHARE), replace=False)].itertuples():
                causal = g.first + rng.choice(g.size, size=int(rng.integers(1, 4)), replace=False)
                beta[causal] = PLANTED_Z * se[causal] / np.sqrt(len(causal)) * rng.choice([-1, 1], len(causal))
                planted.append(g.gene_id)
        p = run_tests(test, variants, genes, gwas(rng, test, se, beta), ensemble, shrinker, args.draws, args.seed + 1)
        planted_p.append(p[p.gene_id.isin(planted)])
        print(f"{source} planted {rep}: power at 0.05 " + " ".join(
            f"{c[2:]} {np.mean(planted_p[-1][c] <= 0.05):.2f}" for c in p if c.startswith("p_")), file=sys.stderr,
            flush=True)
    null_p, planted_p = pd.concat(null_p), pd.concat(planted_p)
    rows, qq = [], {}
    for test_name in ("shrunk_simulated", "beta_hat_true", "z_true", "combined"):
        p0, p1 = null_p[f"p_{test_name}"].to_numpy(), planted_p[f"p_{test_name}"].to_numpy()
        qq[test_name] = p0
        row = {"source": source, "test": test_name, "null_tests": len(p0), "planted_tests": len(p1),
               "median_null_p": np.median(p0), "ks_uniform_p": stats.kstest(p0, "uniform").pvalue}
        for level in LEVELS:
            k = int(np.sum(p0 <= level))
            ci = stats.binomtest(k, len(p0)).proportion_ci(0.95)
            row |= {f"type1_{level}": k / len(p0), f"type1_{level}_lo": ci.low, f"type1_{level}_hi": ci.high}
        row |= {"power_0.05": np.mean(p1 <= 0.05), "power_0.01": np.mean(p1 <= 0.01), f"power_{STRICT}": np.mean(p1 <= STRICT),
                "first_test_s": seconds[0] if test_name in ("shrunk_simulated", "combined") else np.nan,
                "draws": args.draws if test_name in ("shrunk_simulated", "combined") else np.nan,
                "genes_per_gwas": len(genes), "variants": len(variants)}
        rows.append(row)
    return rows, qq


def tail_check(source: str, args: argparse.Namespace, reference_draws: int = 20_000) -> pd.DataFrame:
    """Accuracy of the fitted tail: on the first test block, p from ``--draws`` null draws against the
    empirical p of ``reference_draws`` independent ones, at true p of 1e-2, 1e-3 and 1e-4."""
    blocks = blocks_of(source, panel(source, args.seed))
    test = [b for i, b in enumerate(blocks) if i % 3 == 2][:1]
    ensemble = ensemble_for(source, [], 0, args.seed)  # trained and cached by the main run
    variants, genes, _ = tile_genes(np.random.default_rng(args.seed), test)
    members = [np.arange(g.local, g.local + g.size) for g in genes.itertuples()]
    root, _ = null_square_root(test[0]["r"])
    se, shrink = variants.se.to_numpy(), nn_shrinker(ensemble)

    def draws(n, seed):
        return null_block_statistics(root, se, GWAS_N, members, shrink, n_draws=n, rng=np.random.default_rng(seed),
                                     r=test[0]["r"])

    fitted, reference = draws(args.draws, 1), draws(reference_draws, 2)
    rows = []
    for truth in (1e-2, 1e-3, 1e-4):
        x = np.quantile(reference, 1 - truth, axis=1)
        p, method = simulated_pvalues(x, fitted)
        ratio = p / np.mean(reference >= x[:, None], axis=1)
        rows.append({"source": source, "true_p": truth, "genes": len(genes), "draws": args.draws,
                     "reference_draws": reference_draws, "share_tail": np.mean(method == "mc_tail"),
                     "ratio_p10": np.quantile(ratio, 0.1), "ratio_median": np.median(ratio),
                     "ratio_p90": np.quantile(ratio, 0.9)})
    return pd.DataFrame(rows)


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    if args.tail:
        table = pd.concat([tail_check(source, args) for source in args.sources])
        print(table.round(3).to_string(index=False))
        table.to_csv(RESULTS / "genes_null_tail.tsv", sep="\t", index=False)
        return
    rows, qq = [], {}
    for source in args.sources:
        source_rows, qq[source] = evaluate(source, args)
        rows += source_rows
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.precision", 4):
        print(table.to_string(index=False))
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "genes_null.tsv", sep="\t", index=False)
    for source, tests in qq.items():
        qq_plot(tests, RESULTS / f"genes_null_qq_{source}.png", title=f"{source} LD: gene tests on null GWAS")
    print(f"wrote {RESULTS / 'genes_null.tsv'} and genes_null_qq_<source>.png", file=sys.stderr)


if __name__ == "__main__":
    main(parse_args())
