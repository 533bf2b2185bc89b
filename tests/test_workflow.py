"""Workflow smoke test: the toy DAG end to end in a temporary directory, checked against the truth.

Runs `snakemake` on config/config.yaml (exactly what `make run` runs) plus a sumstats-only
cohort (tests/config_sumstats), then checks QC, GWAS and LD outputs against the toy
cohort's planted truth and against independent computations.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phenomap.gwas.summary import ldsc_intercept
from phenomap.io.plink import Bfile

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(REPO / "config/config.yaml"), str(REPO / "tests/config_sumstats/config.yaml"),
        "--profile", str(REPO / "profiles/local"),
        "--cores", "2",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return workdir


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"CHROM": str, "chrom": str, "id": str})


def test_qc_removes_exactly_the_planted_failures_and_no_causal_variant(run_dir):
    res = run_dir / "results/toy"
    removed, planted = read(res / "qc/removed.tsv"), read(res / "input/qc_planted.tsv")
    removed_ids = set(removed.id[removed.kind == "variant"]) | {
        i.split(":", 1)[1] for i in removed.id[removed.kind == "sample"]  # samples are FID:IID
    }
    assert set(planted.id) <= removed_ids
    assert (removed.kind == "sample").sum() == (planted.kind == "sample").sum()
    # planted failures are removed for the planted reason
    reason = dict(zip(removed.id.str.split(":").str[-1].where(removed.kind == "sample", removed.id), removed.reason))
    expected = {"high_missingness": {"variant_missing", "sample_missing"}, "hwe_violation": {"hwe"},
                "monomorphic": {"monomorphic"}}
    for row in planted.itertuples():
        assert reason[row.id] in expected[row.reason], row
    causal = set(read(res / "input/truth_effects.tsv").ID)
    assert not causal & set(removed.id)


def test_gwas_recovers_planted_causal_genes(run_dir):
    res = run_dir / "results/toy"
    truth = read(res / "input/truth_effects.tsv")
    genes = read(res / "input/genes.tsv")
    for trait in ("trait1", "trait2", "trait3"):
        ss = read(res / f"sumstats/{trait}.tsv")
        t = truth[(truth.trait == trait) & (truth.model == "additive")]
        top = ss.loc[ss.P.idxmin()]
        # the strongest association lies within 100 kb of a planted causal variant of the trait
        near = (t.CHROM == top.CHROM) & ((t.POS - top.POS).abs() < 100_000)
        assert near.any(), f"{trait}: top hit {top.ID} is not near any causal variant"
        # estimated effects of the causal variants track the planted ones
        merged = t.merge(ss, on="ID")
        assert np.corrcoef(merged.beta, merged.BETA)[0, 1] > 0.5, trait
        assert top.P < 5e-8
        # genome-wide significant hits sit in or near genes carrying causal variants of this trait
        causal_genes = genes[genes.gene_id.isin(t.gene)]
        hits = ss[ss.P < 5e-8]
        in_gene = [((causal_genes.chrom == h.CHROM) & (causal_genes.start - 100_000 < h.POS)
                    & (h.POS < causal_genes.stop + 100_000)).any() for h in hits.itertuples()]
        assert np.mean(in_gene) >= 0.9, trait


def test_sumstats_only_cohort_reproduces_the_harmonised_gwas(run_dir):
    own = read(run_dir / "results/toy/sumstats/trait1.tsv")
    ext = read(run_dir / "results/toy_sumstats/sumstats/trait1.tsv")
    report = read(run_dir / "results/toy_sumstats/sumstats/trait1.harmonise.tsv")
    assert list(ext.ID) == list(own.ID)
    np.testing.assert_allclose(ext.BETA, own.BETA, rtol=1e-8)
    assert report.set_index("reason").loc["not_in_panel", "n"] == 0


def test_ld_outputs_cover_every_qc_variant_with_exact_correlations(run_dir):
    res = run_dir / "results/toy"
    bfile = Bfile.open(res / "qc/genotypes")
    scores = read(res / "ld/ldscores.tsv")
    assert list(scores.ID) == list(bfile.bim.ID)  # every QC'd variant, once, in order
    blocks = read(res / "ld/blocks.tsv")
    assert blocks.n_variants.sum() == bfile.n_variants
    block = blocks.iloc[len(blocks) // 2]
    ld = np.load(res / f"ld/blocks/{block.block}.npz")
    idx = bfile.bim.index[bfile.bim.ID.isin(ld["ids"])].to_numpy()
    G = bfile.read(idx).astype(np.float64)
    G = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    np.testing.assert_allclose(ld["r"], np.corrcoef(G.T), atol=1e-5)
    assert (scores.ldscore > 0.5).all()


def test_shrunk_effects_are_closer_to_the_planted_truth_than_marginal_ones(run_dir):
    res = run_dir / "results/toy"
    truth = read(res / "input/truth_effects.tsv")
    for trait in ("trait1", "trait2", "trait3"):
        shrunk = read(res / f"shrinkage/{trait}.tsv")
        assert shrunk.BETA_SHRUNK.notna().all() and (shrunk.BETA_SHRUNK_SD >= 0).all()
        additive = truth[(truth.trait == trait) & (truth.model == "additive")].groupby("ID").beta.sum()
        beta = shrunk.ID.map(additive).fillna(0.0)
        rmse_hat = np.sqrt(np.mean((shrunk.BETA - beta) ** 2))
        rmse_shrunk = np.sqrt(np.mean((shrunk.BETA_SHRUNK - beta) ** 2))
        assert rmse_shrunk < 0.5 * rmse_hat, (trait, rmse_shrunk, rmse_hat)
    model = res / "shrinkage/model/ensemble.json"
    assert model.exists()


def test_gpatlas_outputs_predict_held_out_traits_and_rank_causal_loci_first(run_dir):
    res = run_dir / "results/toy"
    metrics = read(res / "gpatlas/metrics.tsv").set_index(["model", "trait"])
    assert {"pheno->pheno", "geno->pheno", "ridge", "lasso", "pairwise"} <= set(metrics.index.get_level_values(0))
    assert metrics.loc[("pheno->pheno", "median"), "r2"] > 0.8
    assert metrics.loc[("geno->pheno", "median"), "r2"] > 0.3
    assert metrics.loc[("geno->pheno", "median"), "r2"] >= metrics.loc[("lasso", "median"), "r2"] - 1e-9
    split = read(res / "gpatlas/split.tsv")
    preds = read(res / "gpatlas/predictions.tsv")
    assert set(preds.IID) <= set(split.IID)
    importance = read(res / "gpatlas/importance.tsv")
    assert len(importance) == Bfile.open(res / "qc/genotypes").n_variants
    truth = read(res / "input/truth_effects.tsv")
    for trait in ("trait1", "trait2", "trait3"):
        top = importance.loc[importance[f"importance_{trait}"].idxmax()]
        causal = truth[truth.trait == trait]
        near = (causal.CHROM == str(top.CHROM)) & ((causal.POS - top.POS).abs() < 100_000)
        assert near.any(), f"{trait}: most important locus {top.ID} is not near a causal variant"


def test_gpatlas_epistasis_screen_puts_each_traits_planted_pair_first(run_dir):
    # the planted pairs are products of centred allele counts: no main effect, so no lasso locus
    res = run_dir / "results/toy"
    screen = read(res / "gpatlas/epistasis.tsv")
    planted = read(res / "input/truth_epistasis.tsv")
    qc = pd.read_csv(res / "qc/genotypes.bim", sep="\t", header=None, names=["CHROM", "ID", "CM", "POS", "A1", "A2"])
    where = {row.ID: (str(row.CHROM), row.POS) for row in qc.itertuples()}

    def near(a, b):  # within 200 kb on the same chromosome: an LD proxy of the planted locus
        return where[a][0] == where[b][0] and abs(where[a][1] - where[b][1]) <= 200_000

    for pair in planted.itertuples():
        top = screen[screen.trait == pair.trait].sort_values("screen_score", ascending=False).iloc[0]
        found = {top.ID_A, top.ID_B}
        assert any(near(x, pair.ID_A) for x in found) and any(near(x, pair.ID_B) for x in found), (pair, top)
    tested = screen.p_test.dropna()
    assert tested.between(0, 1).all() and len(tested) >= 0.9 * len(screen)  # NaN: product collinear on the test set


def test_clusters_recover_the_planted_shared_and_trait_specific_directions(run_dir):
    res = run_dir / "results/toy"
    types = read(res / "clusters/types.tsv")
    found = set(zip(types.type, types.traits))
    assert ("shared-positive", "trait1,trait2") in found  # toy shared genes act on traits 1 and 2 alike
    for trait in ("trait1", "trait2", "trait3"):
        assert ("trait-specific", trait) in found, trait
    labels = read(res / "clusters/labels.tsv")
    shrunk = read(res / "shrinkage/trait1.tsv")
    assert list(labels.ID) == list(shrunk.ID)  # every variant, in order, labelled once
    assert labels.posterior[labels.cluster == 0].isna().all()
    assert labels.posterior[labels.cluster > 0].between(0, 1).all()


def test_gene_tests_rank_the_planted_genes_first(run_dir):
    res = run_dir / "results/toy"
    truth = read(res / "input/truth_genes.tsv")
    shared = set(truth.symbol[truth.role == "shared"])
    blocks, effects = read(res / "ld/blocks.tsv"), read(res / "input/truth_effects.tsv")
    pairs = read(res / "input/truth_epistasis.tsv")

    def block_of(chrom, pos):
        return blocks.block[(blocks.chrom == str(chrom)) & (blocks.start <= pos) & (blocks.stop >= pos)].iloc[0]

    for trait in ("trait1", "trait2", "trait3"):
        tests = read(res / f"genes/enrichment/{trait}.tsv").sort_values("p", kind="stable")
        causal = set(truth.symbol[truth.trait == trait])
        # every planted gene of the trait is significant and ranks above every other gene
        assert set(tests.gene.iloc[: len(causal)]) == causal, (trait, list(tests.gene.iloc[: len(causal)]))
        significant = tests[tests.q < 0.05]
        assert causal <= set(significant.gene), (trait, causal - set(significant.gene))
        # The null is "no effect in the gene's LD block", widened by the GWAS's LD-score intercept (1.3-1.6 on this
        # related, admixed cohort): any other significant gene shares a block with a causal variant of the trait.
        variants = [(row.CHROM, row.POS) for row in effects[effects.trait == trait].itertuples()]
        variants += [tuple(map(int, v.split(":"))) for v in pairs[pairs.trait == trait][["ID_A", "ID_B"]].values.ravel()]
        causal_blocks = {block_of(chrom, pos) for chrom, pos in variants}
        for gene in significant[~significant.gene.isin(causal)].itertuples():
            touched = blocks.block[(blocks.chrom == gene.chrom) & (blocks.start <= gene.stop) & (blocks.stop >= gene.start)]
            assert causal_blocks & set(touched), (trait, gene.gene)
        if trait != "trait3":  # the planted shared genes are among the trait's top hits
            top = set(tests.gene.iloc[: len(causal) + 2])
            assert shared <= top, (trait, shared - top)
    candidates = read(res / "genes/candidates.tsv")
    shared_candidates = candidates[candidates.candidate == "shared"].sort_values("rank")
    assert shared_candidates.gene.iloc[0] in shared
    # every shared candidate is a planted shared gene, and at least half of those are found (which ones pass
    # the 20% rule moves with small changes of the input: QC on founders only moved 3 variants and one gene)
    assert set(shared_candidates.gene) <= shared and len(shared & set(shared_candidates.gene)) >= 2
    summary = read(res / "genes/summary.tsv")
    assert {"frac_shared_positive", "S_trait1_trait2"} <= set(summary.columns)


def test_single_trait_cohort_gets_gene_tests_against_its_own_null(run_dir):
    res = run_dir / "results/toy_sumstats"
    types = read(res / "clusters/types.tsv")
    assert (types.type == "trait-specific").all() and (types.traits == "trait1").all()
    own = read(run_dir / "results/toy/genes/enrichment/trait1.tsv")
    ext = read(res / "genes/enrichment/trait1.tsv")
    assert list(ext.gene) == list(own.gene)  # same GWAS, panel and seeds: same genes tested
    assert (ext.q < 0.05).sum() >= 1


def test_grvsnn_cross_validation_scores_every_method_on_the_same_folds(run_dir):
    res = run_dir / "results/toy"
    folds = read(res / "grvsnn/folds.tsv")
    assert not folds.duplicated(["IID", "repeat"]).any()
    sizes = folds.groupby(["repeat", "fold"]).size()
    assert len(sizes) == 5 and sizes.max() - sizes.min() <= 1
    metrics = read(res / "grvsnn/cv_metrics.tsv")
    methods = {"grvsnn", "grvsnn_single", "ridge", "brr", "lasso", "lassonet", "bayescpi"}
    assert set(metrics.method) == methods and set(metrics.trait) == {"trait1", "trait2", "trait3"}
    assert (metrics.groupby(["method", "trait"]).size() == 5).all()
    pheno = read(res / "input/pheno.tsv").set_index("IID")
    for trait in ("trait1", "trait2", "trait3"):  # each phenotyped, analysed sample is tested exactly once
        tested = metrics[(metrics.method == "ridge") & (metrics.trait == trait)].n_test.sum()
        assert tested == pheno.loc[folds.IID, trait].notna().sum()
    comparison = read(res / "grvsnn/comparison.tsv").set_index(["method", "trait"])
    assert (comparison.r_mean > 0.3).all()
    assert (comparison.loc["lasso"].r_mean > 0.6).all()  # sparse planted effects: the lasso's home ground
    # the markers kept in (nearly) every fold sit near planted causal variants: all of BayesCpi's (credible
    # intervals excluding 0), and the lasso's far more often than markers at random
    selection = read(res / "grvsnn/selection.tsv").set_index("feature")
    truth = read(res / "input/truth_effects.tsv")
    bim = Bfile.open(res / "qc/genotypes").bim.set_index("ID")

    def near_causal(ids, trait):
        causal = truth[truth.trait == trait]
        return np.array([((causal.CHROM == row.CHROM) & ((causal.POS - row.POS).abs() < 100_000)).any()
                         for row in bim.loc[list(ids)].itertuples()])

    for trait in ("trait1", "trait2", "trait3"):
        bayes = selection.index[selection[f"bayescpi:{trait}"] >= 0.8]
        assert len(bayes) >= 2 and near_causal(bayes, trait).mean() >= 0.9, trait
        lasso = selection.index[selection[f"lasso:{trait}"] >= 0.8]
        background = near_causal(bim.index, trait).mean()
        assert near_causal(lasso, trait).mean() > background + 0.1, trait
    loadings = read(res / "grvsnn/loadings.tsv")
    eigenvalues = read(res / "grvsnn/eigenvalues.tsv")
    assert loadings.shape[1] - 2 == eigenvalues.kept.sum() >= 1
    for figure in ("cv_r", "selection"):
        assert (res / f"figures/grvsnn/{figure}.png").stat().st_size > 10_000


DONE_LINE = re.compile(r"phenomap: done: (?P<items>[^;]*\d[^;]*); (?P<figure>.*\d.*); \d+\.\d s, peak memory \d+ MB$")


def test_every_rule_log_ends_with_its_items_key_figure_time_and_memory(run_dir):
    logs = sorted((run_dir / "logs").rglob("*.log"))
    last = {path.relative_to(run_dir / "logs"): path.read_text().splitlines()[-1] for path in logs}
    assert len({path.parts[0] for path in last}) >= 30  # every stage's rules ran and logged
    bad = {str(path): line for path, line in last.items() if not DONE_LINE.search(line)}
    assert not bad, f"logs not ending with 'done: <items>; <key figure>; <s> s, peak memory <MB> MB': {bad}"
    # the figures are the outputs' own: checked here against the files, computed independently
    res = run_dir / "results/toy"
    kept = sum(1 for _ in open(res / "qc/genotypes.bim"))
    assert f"kept {kept:,} variants" in last[Path("qc/toy/qc.log")]
    p = read(res / "gwas/trait1.tsv").P.dropna()
    lam = np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1)
    assert f"lambda_GC {lam:.3f}" in last[Path("gwas/toy/trait1.log")]
    k_star = len(read(res / "clusters/types.tsv"))
    assert f"K* = {k_star}" in last[Path("cluster/toy.log")]
    q = read(res / "genes/enrichment/trait1.tsv").q
    assert f"{(q < 0.05).sum()} with q < 0.05" in last[Path("gene_enrichment/toy/trait1.log")]
    scores = read(res / "ld/ldscores.tsv").merge(read(res / "shrinkage/trait1.tsv"), on="ID")
    inflation = max(1.0, ldsc_intercept(scores.BETA / scores.SE, scores.ldscore, scores.N.median())[0])
    assert f"null inflation {inflation:.2f}" in last[Path("gene_enrichment/toy/trait1.log")]


ARTIFACTS = Path(os.environ.get("PHENOMAP_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _chromium(*args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; CI installs it)")
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=15000", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def report_results(run_dir) -> tuple[Path, dict]:
    """`snakemake --report` of the toy run: the HTML file and its embedded results (path -> entry)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run_dir),
           "--configfile", str(REPO / "config/config.yaml"), str(REPO / "tests/config_sumstats/config.yaml"),
           "--report", "results/report.html"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (run_dir / "results/report.html").read_text()
    match = re.search(r"var results = (\{.*?\});\s*</script>", html, flags=re.S)
    assert match, "no embedded results in the report"
    return run_dir / "results/report.html", json.loads(match.group(1))


def test_report_holds_every_figure_with_a_caption_and_each_image_decodes(run_dir, report_results):
    _, results = report_results
    figures = {str(p.relative_to(run_dir)) for p in (run_dir / "results").glob("*/figures/**/*.png")}
    assert len(figures) >= 15
    assert figures <= set(results), sorted(figures - set(results))
    for name in ("results/toy/qc/summary.tsv", "results/toy/summary/gwas.tsv", "results/toy/gpatlas/metrics.tsv",
                 "results/toy/grvsnn/comparison.tsv", "results/toy/gpsearch/trait1/qtl.tsv"):
        assert name in results, name
    for name, entry in results.items():
        assert len(entry["caption"]) > 100, name
        if name.endswith(".png"):
            image = mpimg.imread(io.BytesIO(base64.b64decode(entry["data_uri"].split("base64,", 1)[1])), format="png")
            assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01, name


def test_report_renders_in_chromium_and_every_figure_loads(report_results, tmp_path):
    path, results = report_results
    dom = _chromium("--dump-dom", path.as_uri()).stdout
    rendered = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    assert "1. QC and GWAS" in rendered and "7. StarBASE-GP" in rendered, "the report's app did not render"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    _chromium("--window-size=1400,900", f"--screenshot={shot}", path.as_uri())
    assert mpimg.imread(shot).std() > 0.05  # not a blank page
    uris = [entry["data_uri"] for entry in results.values() if entry["mime_type"] == "image/png"]
    page = tmp_path / "images.html"  # loads every embedded figure as the browser does and records the outcome
    page.write_text(
        "<html><body><script>const uris = " + json.dumps(uris) + ";\nlet done = 0, loaded = 0, failed = [];\n"
        "uris.forEach((u, i) => { const img = new Image();\n"
        "  img.onload = () => { if (img.naturalWidth > 0) loaded++; else failed.push(i); finish(); };\n"
        "  img.onerror = () => { failed.push(i); finish(); }; img.src = u; });\n"
        "function finish() { if (++done === uris.length) document.body.setAttribute('data-outcome',"
        " JSON.stringify({loaded, failed})); }\n</script></body></html>")
    outcome = re.search(r"data-outcome=\"(.*?)\"", _chromium("--dump-dom", page.as_uri()).stdout)
    assert outcome, "the browser did not finish loading the figures"
    assert json.loads(outcome.group(1).replace("&quot;", '"')) == {"loaded": len(uris), "failed": []}


def test_a_changed_config_key_reruns_only_the_rules_that_use_it(run_dir, tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text("genes:\n  q_threshold: 0.2\n")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run_dir),
           "--configfile", str(REPO / "config/config.yaml"), str(REPO / "tests/config_sumstats/config.yaml"),
           str(changed), "--profile", str(REPO / "profiles/local"), "--dry-run", "--quiet", "rules"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, flags=re.M))
    assert counts == {"all": "1", "plot_manhattan": "4", "cohort_summary": "2", "total": "7"}, proc.stdout
