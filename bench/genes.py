"""Gene enrichment benchmark: timing of the gene test, and gene-level accuracy of the pipeline.

``--part timing`` / ``accuracy`` / ``all`` (default) picks the parts (``simulated``: only the
simulated-null gene-test rows of the accuracy part, to bench/results/genes_accuracy_simulated.tsv); ``--quick`` is a short
smoke run (timing on 2 000 genes and 20 000 variants; accuracy on the toy scenario only with
``QUICK_RESTARTS`` restarts) that prints its tables but writes no result file.

    .venv/bin/python bench/genes.py [--part all] [--quick] [--genes 20000] [--variants 200000]

Timing
------
Wall time and peak memory of the test on 20k genes. Synthetic data: LD blocks of
``--block-variants`` variants, each the correlation of its own genotypes (``--samples``
samples; two thresholded AR(1) Gaussian paths per sample, so LD decays along the block);
``--genes`` genes of 5-50 consecutive variants each, placed at random inside blocks (genes
may overlap, as real ones do, and a few cross a block boundary); effects drawn from the null
N(0, eps R) block by block, and in the ``planted`` scenario 2% of the genes get three large
effects each (so their p-values fall in Imhof's range). The test is timed with the LD held in
memory (a dict) and read block by block from ``.npz`` files (as the workflow does); peak
memory is tracemalloc's peak of the allocations made during the test (numpy included;
measured in a second, untimed run), besides the process's maximum resident size (which
includes the simulated data: the LD blocks alone take 4 * variants * block_variants bytes).
Runs with ``--blas-threads`` (default 2) BLAS threads, set before numpy loads. These rows are the
epsilon null (``null_model``). The simulated null (the workflow's default, with ``combine_z``) is
timed on the same null effects from the npz files with ``--timing-draws`` null GWAS per block
(default 1,000, the workflow's; fewer draws do not scale down simply, as every gene with fewer
than 10 draws at or above its statistic gets a generalised Pareto fit, ~0.1 s each) through an ensemble of the workflow's default shape (10 2L
networks with top_t = 5; untrained weights: the cost does not depend on them), SE 1 / sqrt(2 N
f (1 - f)) with f uniform in 0.05-0.5 and N = 10,000; one torch thread. Peak memory of these rows
is the process's maximum resident size after each run. Writes bench/results/genes_timing.tsv.

Accuracy
--------
Data. The workflow itself (snakemake, local profile, ``--cores``) simulates each scenario's
toy cohort and runs it up to the NN-shrunk effects ``results/toy/shrinkage/<trait>.tsv``, in
``bench/data/genes/<scenario>/`` (git-ignored; snakemake reruns nothing that is up to date).
``toy`` is config/config.yaml as shipped; ``large`` overrides the cohort in an extra config
file (``SCENARIOS``: 2000 founders, 6 chromosomes, 150 genes of which 12 shared by trait1 and
trait2 and 6 specific per trait). G-P Atlas is switched off in both, as nothing here uses it.
The planted truth is the cohort's ``input/truth_genes.tsv`` and ``input/truth_effects.tsv``.

Inputs. Three effect inputs of the same sumstats and LD blocks: ``nn`` = the workflow's
BETA_SHRUNK; ``enet`` = :func:`phenomap.shrinkage.apply.shrink_trait` with ``method="enet"``
(the shipped elastic-net settings, the workflow's shrink seed); ``beta_hat`` = the unshrunk
BETA column. Each goes through the workflow's steps, called here as the rules call them:
:func:`~phenomap.mixture.pipeline.cluster_effects` (the joint mixture of all traits, and each
trait's own mixture as rule ``cluster_trait``), :func:`~phenomap.genes.enrichment.gene_enrichment`
per trait and :func:`~phenomap.genes.summary.summarise_genes`, with the settings of
config/config.yaml's ``seed``, ``clustering`` and ``genes`` sections. The gene test runs with
both sources of its null variance eps (column ``epsilon``): ``trait`` = the smallest cluster of
the trait's own mixture (``genes.epsilon: trait``), ``joint`` = the trait's variance in the
joint mixture's smallest cluster; summary rows have ``epsilon = n/a``. Each input is run with
the config's ``max_fitted_fraction`` and with ``max_fitted_fraction: null`` (no cap on the
fitted share, so the smallest cluster is fitted on smaller effects), and with ``--seeds``
clustering seeds (column ``seed``: 0 is the workflow's, r adds r to it), as the gene test
depends on which restart wins. Nothing is tuned here; the config is read as it is. The workflow's
default null, ``genes.null_model: simulated`` (:mod:`phenomap.genes.null`), does not depend on the
clustering: it runs once per input, for ``nn`` (the workflow's ensemble) and ``beta_hat`` (shrinkage
``none``), with the config's ``null_draws`` (or ``--null-draws``; 200 with ``--quick``), in rows with
``max_fitted_fraction = n/a`` and ``epsilon`` = ``simulated`` (the effects' test alone, null not widened)
or ``combined`` (the workflow's default: the config's ``combine_z`` and ``null_inflation``, i.e.
joined with the sum z^2 test, both widened by the LD-score intercept). The elastic net would need
one fit per null draw and block, hours here, so enet keeps only the epsilon rows.

Gene-level metrics (bench/results/genes_accuracy.tsv, one row per scenario x input x
max_fitted_fraction x seed x epsilon x level x positives; precision = TP / predicted (NaN when nothing is
predicted), recall = TP / n_true, F1 = 2 TP / (n_true + n_predicted), AP =
``sklearn.metrics.average_precision_score``):

* ``level=gene_test``: the units are all (gene, trait) pairs of the gene table x traits;
  predicted = BH q below ``genes.q_threshold`` (0.05); AP ranks the pairs by p (smallest first);
  a gene not tested on a trait (fewer than two variants) counts as p = q = 1. ``positives=all``:
  the pairs whose gene is causal for the trait (shared or specific); ``shared``: the planted
  shared genes on trait1 and trait2; ``specific``: each planted specific gene on its own trait.
  The gene test does not tell shared from specific genes, so for ``shared`` and ``specific``
  the predicted set is still every significant pair: a significant specific gene counts as a
  false positive in the ``shared`` row (and vice versa), and the two rows' precisions add up to
  the ``all`` row's.
* ``level=summary``: the units are (gene, kind) pairs, kind = ``shared`` or
  ``specific:<trait>``, over every gene of the gene table; predicted = the summary's
  ``candidate`` is that kind; truth = the gene is planted shared (kind ``shared``) or planted
  specific to that trait; AP ranks by the gene's fraction of variants in shared clusters (sum of
  its ``frac_shared_*`` columns) for kind ``shared`` and by ``frac_specific_<trait>`` for
  ``specific:<trait>``; genes not summarised (fewer than ``min_snps`` variants) count as no
  candidate with fraction 0. ``positives=all`` pools every kind, ``shared`` the kind
  ``shared``, ``specific`` the ``specific:*`` kinds.

Cluster recovery (bench/results/genes_clusters.tsv, one row per scenario x input x
max_fitted_fraction x seed): K* against the planted number of effect classes (``planted_k`` = one
shared class plus one specific class per trait; the null set is cluster 0, outside K*), the
types of the clusters, the fitted share of the variants, eps per trait from both sources
(``eps_joint_<trait>``, ``eps_trait_<trait>``), and for the planted causal variants a confusion of planted role against
the type of the cluster they are labelled with (columns ``<role>><type>``). A variant's role
is ``shared`` when it has a planted effect on two traits (the additive variants of shared
genes), else ``specific:<trait>`` (this includes the dominance QTL, which sit in causal genes
but act on one trait); types are ``null`` (cluster 0), ``trait-specific:<trait>``,
``shared-positive``, ``shared-negative``, ``mixed``, or ``absent`` for a variant removed by QC.
The simulator draws the shared variants' two effects with correlation 0.8, flips trait2's
sign when needed for concordant pleiotropy, then rescales each gene's effects per trait:
``planted_shared_corr`` is the realised correlation of those true effects, uncentred
(sum b1 b2 / sqrt(sum b1^2 sum b2^2), the analogue of a zero-mean cluster's correlation);
``fitted_shared_corr`` lists the trait1-trait2 correlation of each cluster typed shared, and
``main_shared_cluster_corr`` is that of the (non-null) cluster holding most planted shared
variants, whatever its type. Covariance and weight recovery on a planted mixture of 100k
variants, where the truth is a mixture, is measured by bench/clustering.py.

Wall times: ``workflow_s`` of the snakemake call (near 0 when its outputs were up to date),
``shrink_s`` (NN: the workflow's ``benchmarks/shrink`` records, summed over traits; enet: timed
here; beta_hat: 0), ``cluster_s`` (joint), ``cluster_traits_s`` (every trait's own),
``gene_tests_s`` (all traits, both eps sources) and ``summary_s``.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "timing", "accuracy", "simulated"), default="all",
                        help="simulated: only the accuracy rows of the simulated null (no clustering, no enet)")
    parser.add_argument("--quick", action="store_true", help="short smoke run; writes no result file")
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--variants", type=int, default=200_000)
    parser.add_argument("--block-variants", type=int, default=400)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--blas-threads", default="2")
    parser.add_argument("--seed", type=int, default=20261125, help="timing data seed (accuracy: the config's)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake cores of the accuracy part")
    parser.add_argument("--seeds", type=int, default=3, help="clustering seeds per input and setting (accuracy)")
    parser.add_argument("--null-draws", type=int, help="null GWAS per LD block of the simulated null "
                        "(default: the config's genes.null_draws, 200 with --quick)")
    parser.add_argument("--timing-draws", type=int, nargs="*", default=[1000],
                        help="null draws per block of the simulated-null timing rows (none: skip them)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "genes_timing.tsv")
    parser.add_argument("--accuracy-out", type=Path, default=HERE / "results" / "genes_accuracy.tsv")
    parser.add_argument("--clusters-out", type=Path, default=HERE / "results" / "genes_clusters.tsv")
    parser.add_argument("--simulated-out", type=Path, default=HERE / "results" / "genes_accuracy_simulated.tsv")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = ARGS.blas_threads

import numpy as np  # noqa: E402  (after the BLAS thread count is set)
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

import torch  # noqa: E402

from phenomap.genes.enrichment import LDBlockFiles, gene_enrichment, gene_test  # noqa: E402
from phenomap.genes.null import nn_shrinker  # noqa: E402
from phenomap.genes.summary import summarise_genes  # noqa: E402
from phenomap.ld.matrix import correlation  # noqa: E402
from phenomap.mixture.dpgmm import MixtureFit, fit_dpgmm, load_mixture  # noqa: E402
from phenomap.mixture.pipeline import cluster_effects  # noqa: E402
from phenomap.seeds import SEED_OFFSETS  # noqa: E402
from phenomap.shrinkage.apply import shrink_trait  # noqa: E402
from phenomap.shrinkage.features import feature_names  # noqa: E402
from phenomap.shrinkage.model import Ensemble, EnsembleSpec, build_network  # noqa: E402
from phenomap.sim.haplotypes import ar1_genotypes  # noqa: E402

EPS = 1e-5
SPACING = 100  # bp between consecutive variants


def block_ld(rng: np.random.Generator, n_blocks: int, m: int, n: int) -> list[np.ndarray]:
    """Correlation matrices of ``n_blocks`` blocks of m variants, from simulated genotypes."""
    blocks = []
    for _ in range(n_blocks):
        G = ar1_genotypes(rng, n, m, rho=rng.uniform(0.8, 0.98))
        blocks.append(correlation(G))
    return blocks


def simulate(rng: np.random.Generator, args: argparse.Namespace):
    """Null effects, genes and LD blocks (block name -> (ids, r))."""
    m = args.block_variants
    n_blocks = -(-args.variants // m)
    ld = block_ld(rng, n_blocks, m, args.samples)
    ids = np.array([f"v{i}" for i in range(n_blocks * m)])
    beta = np.empty(n_blocks * m)
    for b, r in enumerate(ld):
        w, V = np.linalg.eigh(r.astype(np.float64))
        beta[b * m:(b + 1) * m] = V @ (np.sqrt(np.clip(w, 0, None) * EPS) * rng.standard_normal(m))
    size = rng.integers(5, 51, args.genes)
    first = rng.integers(0, len(ids) - size)
    effects = pd.DataFrame({"ID": ids, "CHROM": "1", "POS": SPACING * (np.arange(len(ids)) + 1), "beta": beta})
    genes = pd.DataFrame({"gene_id": np.arange(args.genes).astype(str), "symbol": [f"G{g}" for g in range(args.genes)],
                          "chrom": "1", "start": SPACING * (first + 1), "stop": SPACING * (first + size)})
    blocks = {f"1_{b + 1:04d}": (ids[b * m:(b + 1) * m], r) for b, r in enumerate(ld)}
    return effects, genes, blocks


def plant(rng: np.random.Generator, effects: pd.DataFrame, genes: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """Effects with three large effects added in each of a random ``fraction`` of the genes."""
    beta = effects.beta.to_numpy().copy()
    first = genes.start.to_numpy() // SPACING - 1
    size = (genes.stop.to_numpy() - genes.start.to_numpy()) // SPACING + 1
    for g in np.flatnonzero(rng.random(len(genes)) < fraction):
        beta[first[g] + rng.choice(size[g], 3, replace=False)] += 8 * np.sqrt(EPS)
    return effects.assign(beta=beta)


def timed(effects, genes, ld_blocks) -> tuple[pd.DataFrame, float, float]:
    """The test's result, its wall time (s) and, from a second run under tracemalloc (which
    slows allocation-heavy code, so it is not timed), its peak traced memory (MiB)."""
    start = time.perf_counter()
    result = gene_test(effects, genes, ld_blocks, eps=EPS)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    gene_test(effects, genes, ld_blocks, eps=EPS)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def untrained_ensemble(n_models: int = 10, top_t: int = 5, architecture: str = "2L") -> Ensemble:
    """An ensemble of the workflow's default shape with random weights (for timing only)."""
    torch.manual_seed(0)
    names = feature_names(top_t)
    spec = EnsembleSpec(architecture, top_t, names, [0.0] * len(names), [1.0] * len(names), 0.0, list(range(n_models)))
    build = [build_network(len(names), architecture, 0.0).eval() for _ in range(2 * n_models)]
    return Ensemble(spec, build[:n_models], build[n_models:])


def simulated_null_timing(rng, effects: pd.DataFrame, genes: pd.DataFrame, blocks: dict, paths: list[Path],
                          draws: int) -> dict:
    """Wall time of the simulated-null gene test (combined with sum z^2) of the null GWAS ``z = beta / sqrt(EPS)``
    shrunk by the ensemble (the shrinkage itself is not timed)."""
    freq = rng.uniform(0.05, 0.5, len(effects))
    se = 1 / np.sqrt(2 * 10_000 * freq * (1 - freq))
    z = effects.beta.to_numpy() / np.sqrt(EPS)
    shrink, shrunk = nn_shrinker(untrained_ensemble()), []
    for ids, r in blocks.values():
        part = effects.ID.isin(ids).to_numpy()
        shrunk.append(shrink(z[part][None] * se[part], se[part], r.astype(np.float64), 10_000)[0])
    with_gwas = effects.assign(beta=np.concatenate(shrunk), se=se, n=10_000, z=z)
    start = time.perf_counter()
    result = gene_test(with_gwas, genes, LDBlockFiles(paths), shrinker=shrink, n_draws=draws, seed=1, combine_z=True)
    return {"scenario": "null", "ld_source": "npz files", "null_model": f"simulated, {draws} draws",
            "genes_tested": len(result), "variants": len(effects), "gene_variant_pairs": int(result.n_snps.sum()),
            "q_below_0.05": int((result.q < 0.05).sum()), "wall_s": round(time.perf_counter() - start, 2),
            "max_rss_after_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def timing(args: argparse.Namespace) -> pd.DataFrame:
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    null, genes, blocks = simulate(rng, args)
    print(f"simulated {len(null)} variants in {len(blocks)} blocks, {len(genes)} genes "
          f"in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, (ids, r) in blocks.items():
            paths.append(Path(folder) / f"{name}.npz")
            np.savez(paths[-1], r=r, ids=ids, a1=np.full(len(ids), "A"), a2=np.full(len(ids), "G"), n=args.samples)
        for scenario, effects in (("null", null), ("planted 2%", plant(rng, null, genes, 0.02))):
            for source, ld in (("memory", blocks), ("npz files", LDBlockFiles(paths))):
                result, seconds, peak_mb = timed(effects, genes, ld)
                methods = result.p_method.value_counts()
                rows.append({
                    "scenario": scenario, "ld_source": source, "null_model": "epsilon", "genes_tested": len(result),
                    "variants": len(effects), "ld_blocks": len(blocks), "gene_variant_pairs": int(result.n_snps.sum()),
                    "imhof": int(methods.get("imhof", 0)), "saddlepoint": int(methods.get("saddlepoint", 0)),
                    "q_below_0.05": int((result.q < 0.05).sum()), "wall_s": round(seconds, 2),
                    "peak_traced_mb": round(peak_mb, 1),
                })
                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
        torch.set_num_threads(1)
        for draws in args.timing_draws:
            rows.append(simulated_null_timing(rng, null, genes, blocks, paths, draws))
            print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    table["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    table["blas_threads"] = args.blas_threads
    table["cpu_count"] = os.cpu_count()
    return table


# ---------------------------------------------------------------------------------------------
# accuracy part

CONFIG = REPO / "config" / "config.yaml"
DATA = HERE / "data" / "genes"
COHORT = "toy"  # the cohort of config/config.yaml; each scenario runs it in its own directory
SCENARIOS = {  # scenario -> overrides of cohorts.toy.toy
    "toy": {},
    "large": {"n_founders": 2000, "n_chromosomes": 6, "n_genes": 150, "n_shared_genes": 12, "n_specific_genes": 6},
}
QUICK_RESTARTS = 5


@dataclass(frozen=True)
class Cohort:
    """One scenario's workflow run: its folder, traits and the snakemake call's wall time (s)."""

    scenario: str
    folder: Path
    traits: list[str]
    workflow_s: float

    @property
    def results(self) -> Path:
        return self.folder / "results" / COHORT

    @property
    def genes(self) -> Path:
        return self.results / "input" / "genes.tsv"

    @property
    def ld(self) -> list[Path]:
        return sorted((self.results / "ld" / "blocks").glob("*.npz"))

    def truth(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.results / "input" / f"truth_{name}.tsv", sep="\t", dtype={"gene": str, "ID": str})


@dataclass(frozen=True)
class PipelineRun:
    """Outputs of clustering, gene tests and summary for one input and setting."""

    fit: MixtureFit
    labels: pd.DataFrame
    types: pd.DataFrame
    tests: dict[str, dict[str, pd.DataFrame]]  # eps source (joint | trait) -> trait -> gene tests
    trait_eps: dict[str, float]  # null variance of each trait's own mixture
    summary: pd.DataFrame
    seconds: dict[str, float]


def run_workflow(scenario: str, overrides: dict, config: dict, cores: int) -> Cohort:
    """Run snakemake up to the NN-shrunk effects of every trait in bench/data/genes/<scenario>."""
    folder = DATA / scenario
    folder.mkdir(parents=True, exist_ok=True)
    extra = {"gpatlas": {"enabled": False}} | ({"cohorts": {COHORT: {"toy": overrides}}} if overrides else {})
    (folder / "extra.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))
    n_traits = (config["cohorts"][COHORT]["toy"] | overrides)["n_traits"]
    traits = [f"trait{t + 1}" for t in range(n_traits)]
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
        "--configfile", str(CONFIG), str(folder / "extra.yaml"), "--profile", str(REPO / "profiles" / "local"),
        "--cores", str(cores), *(f"results/{COHORT}/shrinkage/{t}.tsv" for t in traits), f"results/{COHORT}/ld/ldscores.tsv",
    ]
    start = time.perf_counter()
    with open(folder / "workflow.log", "w") as log_file:
        done = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"snakemake failed for scenario {scenario}; see {folder / 'workflow.log'}")
    print(f"{scenario}: workflow up to the shrunk effects in {seconds:.0f} s", file=sys.stderr)
    return Cohort(scenario, folder, traits, seconds)


def effect_inputs(cohort: Cohort, config: dict, *, enet: bool = True) -> dict[str, tuple[dict[str, Path], str, float]]:
    """Input name -> (trait -> effects table, effect column, shrinkage wall time in s); without ``enet``, only
    ``nn`` and ``beta_hat``."""
    nn = {t: cohort.results / "shrinkage" / f"{t}.tsv" for t in cohort.traits}
    nn_s = sum(pd.read_csv(cohort.folder / "benchmarks" / "shrink" / COHORT / f"{t}.tsv", sep="\t").s.iloc[0]
               for t in cohort.traits)
    if not enet:
        return {"nn": (nn, "BETA_SHRUNK", nn_s), "beta_hat": (nn, "BETA", 0.0)}
    enet = {t: cohort.folder / "bench" / "enet" / f"{t}.tsv" for t in cohort.traits}
    start = time.perf_counter()
    for trait, out in enet.items():
        shrink_trait(cohort.results / "sumstats" / f"{trait}.tsv", cohort.ld, out, method="enet",
                     seed=config["seed"] + SEED_OFFSETS["shrink"])
    enet_s = time.perf_counter() - start
    return {"nn": (nn, "BETA_SHRUNK", nn_s), "enet": (enet, "BETA_SHRUNK", enet_s), "beta_hat": (nn, "BETA", 0.0)}


def mixture_options(config: dict, max_fitted_fraction: float | None, quick: bool, replicate: int) -> dict:
    """fit_dpgmm keyword arguments from the config's clustering section, as rule ``cluster`` passes them
    (replicate 0: the workflow's seed; replicate r: that seed + r)."""
    accepted = inspect.signature(fit_dpgmm).parameters
    options = {key: value for key, value in config["clustering"].items() if key in accepted}
    options |= {"seed": config["seed"] + SEED_OFFSETS["cluster"] + replicate,
                "max_fitted_fraction": max_fitted_fraction}
    return options | ({"n_restarts": QUICK_RESTARTS} if quick else {})


def run_pipeline(cohort: Cohort, paths: dict[str, Path], column: str, mixture: dict, folder: Path,
                 config: dict) -> PipelineRun:
    """Clustering, per-trait gene tests and gene summary of one input, with the config's settings."""
    clustering, genes = config["clustering"], config["genes"]
    model, types = folder / "mixture.json", folder / "types.tsv"
    seconds = {}
    start = time.perf_counter()
    labels = cluster_effects(paths, column, folder / "labels.tsv", model, types, mixture=mixture,
                             ratio_threshold=clustering["ratio_threshold"],
                             angle_threshold=clustering["angle_threshold"])
    seconds["cluster_s"], start = time.perf_counter() - start, time.perf_counter()
    trait_models = {}
    for trait in cohort.traits:  # rule cluster_trait: each trait's own mixture
        own = folder / "by_trait" / trait
        trait_models[trait] = own / "mixture.json"
        cluster_effects({trait: paths[trait]}, column, own / "labels.tsv", trait_models[trait], own / "types.tsv",
                        mixture=mixture, ratio_threshold=clustering["ratio_threshold"],
                        angle_threshold=clustering["angle_threshold"])
    seconds["cluster_traits_s"], start = time.perf_counter() - start, time.perf_counter()
    eps_sources = {"joint": lambda i, trait: (model, i), "trait": lambda i, trait: (trait_models[trait], 0)}
    tests = {
        source: {
            trait: gene_enrichment(paths[trait], column, cohort.genes, cohort.ld,
                                   folder / f"enrichment_{source}" / f"{trait}.tsv", mixture_json=where(i, trait)[0],
                                   trait_index=where(i, trait)[1], window=genes["window"], switch=genes["exact_below"])
            for i, trait in enumerate(cohort.traits)
        }
        for source, where in eps_sources.items()
    }
    seconds["gene_tests_s"], start = time.perf_counter() - start, time.perf_counter()
    summary = summarise_genes(folder / "labels.tsv", types, cohort.genes, cohort.traits, folder / "summary.tsv",
                              folder / "candidates.tsv", window=genes["window"], min_snps=genes["min_snps"],
                              min_fraction=genes["min_fraction"])
    seconds["summary_s"] = time.perf_counter() - start
    trait_eps = {trait: float(load_mixture(path).null_variance[0]) for trait, path in trait_models.items()}
    return PipelineRun(load_mixture(model), labels, pd.read_csv(types, sep="\t"), tests, trait_eps, summary, seconds)


def detection(truth: np.ndarray, predicted: np.ndarray, score: np.ndarray) -> dict:
    """Precision, recall, F1 of ``predicted`` and average precision of ``score`` against ``truth`` (bool arrays)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp, n_true, n_predicted = int(np.sum(truth & predicted)), int(truth.sum()), int(predicted.sum())
    return {
        "precision": tp / n_predicted if n_predicted else np.nan,
        "recall": tp / n_true if n_true else np.nan,
        "f1": 2 * tp / (n_true + n_predicted) if n_true + n_predicted else np.nan,
        "ap": average_precision_score(truth, score) if n_true else np.nan,
        "n_true": n_true, "n_predicted": n_predicted,
    }


# Gene-test results: per-trait BH q-values of every gene against the genes planted for that trait.
def gene_test_metrics(run: PipelineRun, cohort: Cohort, q_threshold: float) -> list[dict]:
    """Rows of ``level=gene_test`` for both eps sources (see the module docstring)."""
    return [{"epsilon": source} | row for source, tests in run.tests.items()
            for row in eps_gene_test_metrics(tests, cohort, q_threshold)]


def eps_gene_test_metrics(tests: dict[str, pd.DataFrame], cohort: Cohort, q_threshold: float) -> list[dict]:
    genes = pd.read_csv(cohort.genes, sep="\t", dtype={"gene_id": str})
    pairs = pd.concat([
        pd.DataFrame({"gene": genes.gene_id, "trait": trait})
        .merge(tests[trait][["gene_id", "p", "q"]].astype({"gene_id": str}).rename(columns={"gene_id": "gene"}),
               on="gene", how="left", validate="one_to_one")
        for trait in cohort.traits
    ], ignore_index=True).fillna({"p": 1.0, "q": 1.0})
    planted = cohort.truth("genes")[["gene", "trait", "role"]]
    pairs = pairs.merge(planted, on=["gene", "trait"], how="left", validate="one_to_one").fillna({"role": ""})
    significant = pairs.q.to_numpy() < q_threshold
    positives = {"all": pairs.role != "", "shared": pairs.role == "shared", "specific": pairs.role == "specific"}
    return [{"level": "gene_test", "positives": name, **detection(truth, significant, -pairs.p.to_numpy())}
            for name, truth in positives.items()]


SIMULATED_SHRINKAGE = {"nn": "nn", "beta_hat": "none"}  # enet: one elastic net per null draw is far too slow


def simulated_null_metrics(cohort: Cohort, inputs: dict, config: dict, args: argparse.Namespace) -> list[dict]:
    """Rows of ``level=gene_test`` with the simulated null (``epsilon = simulated``) for the NN and beta_hat
    inputs, as rule gene_enrichment runs it with ``genes.null_model: simulated`` (it does not depend on the
    clustering: ``max_fitted_fraction`` and ``seed`` are n/a)."""
    genes, rows = config["genes"], []
    draws = args.null_draws or (200 if args.quick else genes["null_draws"])
    variants = {"simulated": {}, "combined": {"combine_z": genes["combine_z"],
                                              "ldscores_tsv": cohort.results / "ld" / "ldscores.tsv"
                                              if genes["null_inflation"] == "ldsc" else None}}
    for (name, method), (variant, options) in itertools.product(SIMULATED_SHRINKAGE.items(), variants.items()):
        paths, column, _ = inputs[name]
        start = time.perf_counter()
        tests = {trait: gene_enrichment(
            paths[trait], column, cohort.genes, cohort.ld,
            cohort.folder / "bench" / f"{name}_{variant}" / f"{trait}.tsv",
            shrink_method=method, model_dir=cohort.results / "shrinkage" / "model", top_t=config["shrinkage"]["top_t"],
            shrink_seed=config["seed"] + SEED_OFFSETS["shrink"], n_draws=draws,
            seed=config["seed"] + SEED_OFFSETS["gene_null"], window=genes["window"], **options)
            for trait in cohort.traits}
        seconds = time.perf_counter() - start
        key = {"scenario": cohort.scenario, "input": name, "max_fitted_fraction": "n/a", "seed": 0,
               "epsilon": variant}
        rows += [key | row | {"gene_tests_s": round(seconds, 1)}
                 for row in eps_gene_test_metrics(tests, cohort, genes["q_threshold"])]
        print(f"{cohort.scenario} {name} {variant} null ({draws} draws, {seconds:.0f} s): " + " ".join(
            f"{r['positives']} F1 {r['f1']:.2f} AP {r['ap']:.2f}" for r in rows[-3:]), file=sys.stderr, flush=True)
    return rows


# Multi-trait summary results: shared / specific:<trait> candidates against the planted roles.
def summary_metrics(run: PipelineRun, cohort: Cohort) -> list[dict]:
    """Rows of ``level=summary`` (see the module docstring)."""
    genes = pd.read_csv(cohort.genes, sep="\t", dtype={"gene_id": str})
    summary = run.summary.astype({"gene_id": str}).set_index("gene_id").reindex(genes.gene_id)
    fraction = summary.filter(like="frac_").fillna(0.0)
    scores = {"shared": fraction.filter(like="frac_shared").sum(axis=1)}
    scores |= {f"specific:{t}": fraction.get(f"frac_specific_{t}", pd.Series(0.0, index=fraction.index))
               for t in cohort.traits}
    candidate = summary.candidate.fillna("").to_numpy()
    units = pd.concat([pd.DataFrame({"gene": genes.gene_id, "kind": kind, "predicted": candidate == kind,
                                     "score": score.to_numpy()}) for kind, score in scores.items()], ignore_index=True)
    truth = cohort.truth("genes")
    planted = pd.DataFrame({"gene": truth.gene, "kind": np.where(truth.role == "shared", "shared",
                                                                 "specific:" + truth.trait)}).drop_duplicates()
    units = units.merge(planted.assign(truth=True), on=["gene", "kind"], how="left").fillna({"truth": False})
    subsets = {"all": np.ones(len(units), bool), "shared": units.kind == "shared",
               "specific": units.kind.str.startswith("specific:")}
    return [{"epsilon": "n/a", "level": "summary", "positives": name,
             **detection(units.truth[rows], units.predicted[rows], units.score[rows])}
            for name, rows in subsets.items()]


# Cluster results: K*, cluster types, eps, and where the planted causal variants land.
def planted_roles(truth_effects: pd.DataFrame) -> pd.Series:
    """Causal variant ID -> ``shared`` (planted effects on two or more traits) or ``specific:<trait>``."""
    by_variant = truth_effects.groupby("ID").trait
    return pd.Series(np.where(by_variant.nunique() > 1, "shared", "specific:" + by_variant.first()),
                     index=by_variant.first().index, name="role")


def correlation_12(covariance: np.ndarray) -> float:
    """Correlation of the first two axes of a 2 x 2 (or larger) second-moment matrix."""
    return float(covariance[0, 1] / np.sqrt(covariance[0, 0] * covariance[1, 1]))


def cluster_recovery(run: PipelineRun, cohort: Cohort) -> tuple[dict, pd.DataFrame]:
    """Cluster-level summary row and the planted role x cluster type confusion (see the module docstring)."""
    types = run.types
    kind = dict(zip(types.component, np.where(types.type == "trait-specific", "trait-specific:" + types.traits,
                                              types.type))) | {0: "null"}
    truth_effects = cohort.truth("effects")
    roles = planted_roles(truth_effects)
    cluster = pd.Series(run.labels.cluster.to_numpy(), index=run.labels.ID).reindex(roles.index)
    found = cluster.map(kind).fillna("absent").rename("type")
    confusion = pd.crosstab(roles, found)

    shared_ids = roles.index[roles == "shared"]
    pair = cohort.traits[:2]
    true_beta = truth_effects[truth_effects.ID.isin(shared_ids)].pivot(index="ID", columns="trait", values="beta")
    planted_corr = correlation_12(true_beta[pair].T.to_numpy() @ true_beta[pair].to_numpy())
    covariances = run.fit.covariances[:, :2, :2]  # trait1, trait2 are the first two clustered traits
    shared_clusters = types.component[types.type.str.startswith("shared")].to_numpy()
    in_clusters = cluster[shared_ids]
    main = in_clusters[in_clusters > 0].mode()  # the cluster holding most of them
    row = {
        "k_star": run.fit.k_star, "planted_k": 1 + len(cohort.traits),
        "types": "; ".join(f"{k}:{kind[k]}" for k in types.component),
        "fitted_fraction": round(float(np.mean(run.labels.cluster > 0)), 4),
        **{f"eps_joint_{t}": v for t, v in zip(cohort.traits, run.fit.null_variance)},
        **{f"eps_trait_{t}": v for t, v in run.trait_eps.items()},
        "planted_shared_corr": round(planted_corr, 3),
        "fitted_shared_corr": "; ".join(f"{correlation_12(covariances[k - 1]):.3f}" for k in shared_clusters),
        "main_shared_cluster_corr": round(correlation_12(covariances[int(main.iloc[0]) - 1]), 3) if len(main)
        else np.nan,
    }
    return row, confusion


def accuracy(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Gene-level metrics, cluster summaries and role x type confusions of every scenario, input and setting."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    config = yaml.safe_load(CONFIG.read_text())
    caps = {str(config["clustering"]["max_fitted_fraction"]).replace("None", "none"):
            config["clustering"]["max_fitted_fraction"], "none": None}
    scenarios = {"toy": SCENARIOS["toy"]} if args.quick else SCENARIOS
    metric_rows, cluster_rows, confusions = [], [], []
    for scenario, overrides in scenarios.items():
        cohort = run_workflow(scenario, overrides, config, args.cores)
        inputs = effect_inputs(cohort, config)
        metric_rows += simulated_null_metrics(cohort, inputs, config, args)
        for name, (paths, column, shrink_s) in inputs.items():
            for (cap, value), replicate in itertools.product(caps.items(), range(args.seeds)):
                key = {"scenario": scenario, "input": name, "max_fitted_fraction": cap, "seed": replicate}
                run = run_pipeline(cohort, paths, column, mixture_options(config, value, args.quick, replicate),
                                   cohort.folder / "bench" / f"{name}_cap-{cap}_seed-{replicate}", config)
                metrics = gene_test_metrics(run, cohort, config["genes"]["q_threshold"]) + summary_metrics(run, cohort)
                metric_rows += [key | row for row in metrics]
                row, confusion = cluster_recovery(run, cohort)
                seconds = {"workflow_s": cohort.workflow_s, "shrink_s": shrink_s} | run.seconds
                cluster_rows.append(key | row | {k: round(v, 1) for k, v in seconds.items()})
                confusions.append(pd.concat({tuple(key.values()): confusion}, names=list(key)))
                scores = " ".join(f"{r['level']}/{r['epsilon']}/{r['positives']} F1 {r['f1']:.2f} AP {r['ap']:.2f}"
                                  for r in metrics if r["positives"] == "all")
                print(f"{scenario} {name} cap={cap} seed {replicate}: K* {run.fit.k_star}, {scores}", file=sys.stderr,
                      flush=True)
    confusion = pd.concat(confusions).fillna(0).astype(int)
    flat = confusion.stack().rename("n").reset_index()
    keys = ["scenario", "input", "max_fitted_fraction", "seed"]
    flat = flat.assign(column=flat.role + ">" + flat.type).pivot(index=keys, columns="column", values="n")
    clusters = pd.DataFrame(cluster_rows).merge(flat.fillna(0).astype(int).reset_index(), on=keys)
    return pd.DataFrame(metric_rows), clusters, confusion


def print_accuracy(metrics: pd.DataFrame, clusters: pd.DataFrame, confusion: pd.DataFrame) -> None:
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.precision", 3):
        print(metrics.to_string(index=False))
        for value in ("f1", "ap"):
            print(f"\n{value.upper()} by input (columns) and max_fitted_fraction, mean [min, max] over clustering seeds:")
            table = metrics.groupby(["scenario", "level", "epsilon", "positives", "max_fitted_fraction", "input"])[value]
            cells = table.mean().map("{:.2f}".format) + " [" + table.min().map("{:.2f}".format) + ", " + \
                table.max().map("{:.2f}".format) + "]"
            print(cells.unstack(["max_fitted_fraction", "input"]).to_string())
        print("\nclusters:")
        print(clusters.drop(columns=[c for c in clusters if ">" in c or c == "types"]).to_string(index=False))
        print("\ncluster types (1 = largest effects):")
        for row in clusters.itertuples():
            print(f"{row.scenario} {row.input} max_fitted_fraction={row.max_fitted_fraction} seed {row.seed}: {row.types}")
        print("\nplanted causal variants: planted role (rows) x type of their cluster (columns)")
        print(confusion.to_string())

def main(args: argparse.Namespace) -> None:
    if args.quick:
        args.genes, args.variants = 2_000, 20_000
    outputs = []
    if args.part in ("all", "timing"):
        table = timing(args)
        print(table.to_string(index=False))
        outputs.append((table, args.out))
    if args.part == "simulated":
        config = yaml.safe_load(CONFIG.read_text())
        rows = []
        for scenario, overrides in ({"toy": SCENARIOS["toy"]} if args.quick else SCENARIOS).items():
            cohort = run_workflow(scenario, overrides, config, args.cores)
            rows += simulated_null_metrics(cohort, effect_inputs(cohort, config, enet=False), config, args)
        table = pd.DataFrame(rows)
        print(table.to_string(index=False))
        outputs.append((table, args.simulated_out))
    if args.part in ("all", "accuracy"):
        metrics, clusters, confusion = accuracy(args)
        print_accuracy(metrics, clusters, confusion)
        outputs += [(metrics, args.accuracy_out), (clusters, args.clusters_out)]
    if args.quick:
        print("--quick: no result file written", file=sys.stderr)
        return
    for table, path in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, sep="\t", index=False)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main(ARGS)
