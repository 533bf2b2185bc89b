"""StarBASE-GP pipeline search (issue 12): QTL recovery, hypervolume per mode, held-out r², cost.

Data (``--data``):

* ``sim``: :func:`phenomap.sim.gpsearch.simulate_gpsearch_cohort` (seed 1), 3,000 samples x
  20,000 SNPs on 5 chromosomes of 50 Mb (founder mosaic of 8 strains, LD over Mb), four QTL of
  variance 0.03 each (additive, dominant, recessive, heterosis on chromosomes 1-4) and 200
  background SNPs of total variance 0.2 (H² = 0.32). ``--scale`` shrinks samples and SNPs.
* ``toy``: the workflow's toy cohort (default ToyParams, seed 20261125), trait1 residualised
  on its covariates; targets are its dominance QTL (dominant, recessive) and, per additive
  causal gene, its variant of largest effect variance.
* ``mice``: BGLR mice BMI, residualised on sex and 10 genotype principal components (as the
  paper residualised rat BMI on 10 PCs); markers at the map's Mb positions; targets are the
  three top loci of the project's mixed-model GWAS (docs/benchmarks.md).

Split: a fixed held-out test set (20 %, seed 0, the same for every replicate and mode); the
other samples are split 50/50 into training and validation by the replicate's seed (the
paper splits per replicate). Replicate r runs every mode with seed r, at equal budgets
(population + generations x 2 x population evaluations). SNPs per pipeline: max_snps =
n_train / 10 rounded down to tens (the paper's 10x rule: 150 for 1,583), min_snps = max_snps / 3;
bins of m / 200 SNPs. Per run: the SNP database, the search (checkpointed), the best Pareto
pipeline (highest validation r²) refitted on the training samples and scored on the test set,
permutation importance of the Pareto SNPs (``--importance-repeats`` shuffles; the paper: 100),
QTL recovery (a target is found when a SNP reaching the regressor of a Pareto pipeline lies
within ±1 Mb; location error = distance of the nearest; its encoding = that SNP's), wall
time, evaluations per second per core, peak RSS of the process tree (sampled every 0.5 s,
memory-mapped arrays counted once per process). Beside them, once per data set: LassoCV
(5-fold, 20 alphas down to alpha_max / 100, tol 1e-3) and a random forest (500 trees,
max_features sqrt, min_samples_leaf 5) on all SNPs, fitted on training + validation samples
(what the search saw), scored on the test set.

Everything is cached under bench/data/gpsearch/<case>/ so runs can be split and resumed;
``--report`` gathers the cases into bench/results/gpsearch.tsv (per mode) and
gpsearch_qtl.tsv (per target, with the QTL calls from SNP consistency over replicates),
replacing the rows of the cached cases and keeping those of cases no longer cached.
``--cost`` times one pipeline evaluation per node kind on the data set's real split and
pipeline size, and writes bench/results/gpsearch_cost.tsv.

    python bench/gpsearch.py --data sim --scale 0.1 --generations 3 --population 20   # quick check
    python bench/gpsearch.py --data sim --cost
    python bench/gpsearch.py --data sim --mode starbase,basic,random --replicates 3 --n-jobs 2
    python bench/gpsearch.py --data mice --mode starbase,basic,random --replicates 3 --n-jobs 2
    python bench/gpsearch.py --encoding-power
    python bench/gpsearch.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / "data" / "gpsearch"
RESULTS = HERE / "results"
TEST_FRACTION = 0.2
WINDOW = 1_000_000
TOY_SEED = 20261125
SIM_SEED = 1
#: Top loci of the mice BMI mixed-model GWAS (docs/benchmarks.md, "Real cohort: the BGLR mice").
MICE_GWAS_BMI = [("rs8251635_G", "2", 3.7e-7), ("rs3676388_A", "2", 6.5e-6), ("rs3726626_G", "15", 7.8e-6)]


# --------------------------------------------------------------------------- data


def load_sim(scale: float) -> dict:
    from phenomap.sim.gpsearch import GpSimParams, simulate_gpsearch_cohort

    path = CACHE / f"sim_s{scale:g}.npz"
    if not path.exists():
        cohort = simulate_gpsearch_cohort(GpSimParams().scaled(scale) if scale != 1 else GpSimParams(), seed=SIM_SEED)
        path.parent.mkdir(parents=True, exist_ok=True)
        targets = cohort.qtl[["ID", "CHROM", "POS", "model"]]
        np.savez(path, G=cohort.G, y=cohort.y, bim=cohort.bim.to_numpy().astype(str),
                 targets=targets.to_numpy().astype(str), h2=cohort.params.heritability)
    with np.load(path) as data:
        bim = pd.DataFrame(data["bim"], columns=["CHROM", "ID", "POS", "A1", "A2"]).astype({"POS": np.int64})
        targets = pd.DataFrame(data["targets"], columns=["ID", "CHROM", "POS", "model"]).astype({"POS": np.int64})
        return {"G": data["G"].astype(np.float32), "y": data["y"], "bim": bim, "targets": targets,
                "note": f"H2 {float(data['h2']):.2f}"}


def load_toy() -> dict:
    from phenomap.io.plink import Bfile
    from phenomap.io.tables import read_sample_table, read_tsv
    from phenomap.sim.cohort import ToyParams, simulate_toy_cohort

    out = CACHE / "toy_cohort"
    if not (out / "truth.json").exists():
        simulate_toy_cohort(out, ToyParams(), seed=TOY_SEED)
    geno = Bfile.open(out / "genotypes")
    G = geno.read()
    pheno = read_sample_table(out / "pheno.tsv", what="phenotypes")
    covar = read_sample_table(out / "covar.tsv", what="covariates")
    keep = pheno.trait1.notna().to_numpy()
    missing = np.isnan(G).mean(axis=0)
    freq = np.nanmean(G, axis=0) / 2
    ok = (missing <= 0.05) & (np.minimum(freq, 1 - freq) >= 0.01)  # drop the planted QC failures
    C = covar.drop(columns=["FID", "IID"]).to_numpy(float)[keep]
    y = residualise(pheno.trait1.to_numpy(float)[keep], C)
    bim = geno.bim.loc[ok, ["CHROM", "ID", "POS", "A1", "A2"]].reset_index(drop=True)
    effects = read_tsv(out / "truth_effects.tsv")
    effects = effects[(effects.trait == "trait1") & effects.ID.isin(bim.ID)]
    column = {snp: j for j, snp in enumerate(bim.ID)}
    Gk = G[keep][:, ok]
    effects = effects.assign(size=[abs(b) * np.nanstd(Gk[:, column[i]]) for b, i in zip(effects.beta, effects.ID)])
    non_additive = effects[effects.model != "additive"]
    additive = effects[effects.model == "additive"].sort_values("size", ascending=False).drop_duplicates("gene")
    targets = pd.concat([non_additive, additive])[["ID", "CHROM", "POS", "model"]].reset_index(drop=True)
    return {"G": Gk, "y": y, "bim": bim, "targets": targets.astype({"POS": np.int64}),
            "note": f"trait1, {len(additive)} additive genes + {len(non_additive)} dominance QTL"}


def load_mice() -> dict:
    sys.path.insert(0, str(HERE))
    from realdata import mice_arrays

    raw = mice_arrays()
    geno_map = pd.read_csv(HERE.parents[1] / "shared" / "data" / "mice" / "mice_map.tsv.gz", sep="\t",
                           dtype={"chr": str})
    if not (geno_map.snp_id.to_numpy() == raw["markers"]).all():
        raise RuntimeError("mice map is not in the genotype order")
    bmi = raw["Y"][:, raw["traits"].index("Obesity.BMI")]
    keep = np.isfinite(bmi)
    X = raw["X"][keep]
    Z = (X - X.mean(axis=0)) / np.maximum(X.std(axis=0), 1e-9)
    pcs = np.linalg.svd(Z, full_matrices=False)[0][:, :10]
    y = residualise(bmi[keep], np.column_stack([raw["sex"][keep], pcs]))
    bim = pd.DataFrame({"CHROM": geno_map.chr, "ID": geno_map.snp_id,
                        "POS": np.round(geno_map.mbp * 1e6).astype(np.int64), "A1": "A", "A2": "B"})
    rows = [(snp, chrom, int(bim.POS[bim.ID == snp].iloc[0]), f"GWAS P {p:.1e}") for snp, chrom, p in MICE_GWAS_BMI]
    return {"G": X, "y": y, "bim": bim, "targets": pd.DataFrame(rows, columns=["ID", "CHROM", "POS", "model"]),
            "note": "BMI | sex + 10 PCs"}


def residualise(y: np.ndarray, C: np.ndarray) -> np.ndarray:
    X = np.column_stack([np.ones(len(y)), C])
    return y - X @ np.linalg.lstsq(X, y, rcond=None)[0]


def load(data: str, scale: float) -> dict:
    return load_sim(scale) if data == "sim" else load_toy() if data == "toy" else load_mice()


def split(n: int, replicate: int) -> tuple[np.ndarray, np.ndarray]:
    """Test mask (n,), fixed; training mask over the non-test samples (n_rest,), by replicate."""
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(0).permutation(n)[: round(TEST_FRACTION * n)]] = True
    rest = int((~is_test).sum())
    is_train = np.zeros(rest, dtype=bool)
    is_train[np.random.default_rng(1000 + replicate).permutation(rest)[: rest // 2]] = True
    return is_test, is_train


def design(n_train: int, m: int) -> dict:
    max_snps = max(10, n_train // 10 // 10 * 10)
    return {"max_snps": max_snps, "min_snps": max_snps // 3, "bin_size": max(10, m // 200)}


# --------------------------------------------------------------------------- memory


class PeakRss:
    """Peak summed RSS (MB) of this process and its children, sampled every 0.5 s in a thread."""

    def __enter__(self):
        import psutil

        self.peak, self._stop = 0.0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                try:
                    total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
                except psutil.Error:
                    total = 0
                self.peak = max(self.peak, total / 2**20)
                self._stop.wait(0.5)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- one run


def case_name(args) -> str:
    scale = f"_s{args.scale:g}" if args.data == "sim" and args.scale != 1 else ""
    return f"{args.data}{scale}_p{args.population}_g{args.generations}{args.tag}"


def recovery(targets: pd.DataFrame, pareto_snps: pd.DataFrame) -> pd.DataFrame:
    """Per target: found (a Pareto SNP within ±1 Mb), location error (bp) and encoding of the nearest."""
    rows = []
    for t in targets.itertuples():
        near = pareto_snps[(pareto_snps.CHROM == t.CHROM) & ((pareto_snps.POS - t.POS).abs() <= WINDOW)]
        if len(near):
            best = near.iloc[int(np.argmin((near.POS - t.POS).abs().to_numpy()))]
            rows.append((t.ID, t.CHROM, t.POS, t.model, True, int(abs(best.POS - t.POS)), best.ID, best.encoding))
        else:
            rows.append((t.ID, t.CHROM, t.POS, t.model, False, np.nan, "", ""))
    return pd.DataFrame(rows, columns=["target", "CHROM", "POS", "model", "found", "error_bp", "nearest", "encoding"])


def run_one(args, data: dict, mode: str, replicate: int) -> None:
    from sklearn.metrics import r2_score

    from phenomap.gpsearch.consistency import pareto_importances, pareto_table
    from phenomap.gpsearch.nodes import Pipeline
    from phenomap.gpsearch.nsga import SearchSettings, quiet_fits, run_search
    from phenomap.gpsearch.snpdb import build_snpdb
    from phenomap.io.tables import write_tsv

    out = CACHE / case_name(args) / f"{mode}_r{replicate}"
    if (out / "metrics.json").exists():
        print(f"{out.relative_to(HERE)}: done")
        return
    out.mkdir(parents=True, exist_ok=True)
    G, y, bim = data["G"], data["y"], data["bim"]
    is_test, is_train = split(len(y), replicate)
    Gs, ys = G[~is_test], y[~is_test]
    d = design(int(is_train.sum()), G.shape[1])
    start = time.perf_counter()
    snpdb = build_snpdb(Gs, ys, is_train, bim, bin_size=d["bin_size"])
    snpdb_seconds = time.perf_counter() - start
    settings = SearchSettings(population=args.population, generations=args.generations, min_snps=d["min_snps"],
                              max_snps=d["max_snps"], mode=mode, seed=replicate, n_jobs=args.n_jobs,
                              **({"selectors": tuple(args.selectors.split(","))} if args.selectors else {}),
                              **({"regressors": tuple(args.regressors.split(","))} if args.regressors else {}))
    checkpoint = out / "checkpoint.json"
    done_before = json.loads(checkpoint.read_text())["n_evaluations"] if checkpoint.exists() else 0
    with PeakRss() as memory:
        start = time.perf_counter()
        result = run_search(Gs, ys, is_train, snpdb, settings, checkpoint=checkpoint, progress=True)
        search_seconds = time.perf_counter() - start
        start = time.perf_counter()
        importance = (pareto_importances(result, Gs, ys, is_train, n_repeats=args.importance_repeats, seed=replicate,
                                         n_jobs=args.n_jobs) if result.pareto  # empty when no pipeline scored r² >= 0
                      else pd.DataFrame(columns=["pipeline_id", "ID", "CHROM", "POS", "encoding", "importance",
                                                 "importance_sd"]))
        importance_seconds = time.perf_counter() - start
    write_tsv(pareto_table(result), out / "pareto.tsv")
    write_tsv(importance, out / "importance.tsv")
    write_tsv(pd.DataFrame({"generation": np.arange(len(result.hypervolume)), "hypervolume": result.hypervolume}),
              out / "hypervolume.tsv")
    write_tsv(result.history, out / "history.tsv")
    r2_test = r2_test_all = float("nan")
    if result.pareto:
        best = Pipeline.from_json(result.pareto[0].json)
        with quiet_fits():
            r2_test = float(r2_score(y[is_test], best.fit(Gs[is_train], ys[is_train]).predict(G[is_test])))
            r2_test_all = float(r2_score(y[is_test], best.fit(Gs, ys).predict(G[is_test])))
    pareto_snps = (importance.astype({"POS": np.int64}).groupby("ID").agg(CHROM=("CHROM", "first"), POS=("POS", "first"),
                                                encoding=("encoding", lambda e: e.value_counts().index[0]))
                   .reset_index())
    found = recovery(data["targets"], pareto_snps)
    write_tsv(found, out / "recovery.tsv")
    top = result.pareto[0] if result.pareto else None
    metrics = {
        "data": args.data, "case": case_name(args), "mode": mode, "replicate": replicate, "note": data["note"],
        "samples": len(y), "snps": G.shape[1], "n_train": int(is_train.sum()), "n_val": int((~is_train).sum()),
        "n_test": int(is_test.sum()), **d, "population": args.population, "generations": args.generations,
        "n_jobs": args.n_jobs, "selectors": ",".join(settings.selectors), "regressors": ",".join(settings.regressors),
        "evaluations": result.n_evaluations, "fits": result.n_fits, "search_seconds": search_seconds,
        "evaluations_before_resume": done_before,
        "snpdb_seconds": snpdb_seconds, "importance_seconds": importance_seconds,
        "evaluations_per_second_per_core": ((result.n_evaluations - done_before) / search_seconds / args.n_jobs
                                            if result.n_evaluations > done_before else None),
        "peak_rss_mb": memory.peak, "hypervolume": float(result.hypervolume[-1]), "pareto_size": len(result.pareto),
        "best_val_r2": top.evaluation.r2 if top else None, "best_n_snps": len(top.evaluation.kept) if top else None,
        "best_pipeline": f"{top.pipeline.selector.kind} -> {top.pipeline.regressor.kind}" if top else "none",
        "best_test_r2": r2_test, "best_test_r2_refit_train_val": r2_test_all,
        "targets_found": int(found.found.sum()), "targets": len(found),
        "mean_error_kb": float(found.error_bp.mean() / 1e3) if found.found.any() else None,
        "encodings_matching": int((found.found & (found.encoding == found.model)).sum()),
        "load_average_1min": os.getloadavg()[0],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: metrics[k] for k in ("mode", "replicate", "evaluations", "fits", "search_seconds",
                                              "hypervolume", "best_val_r2", "best_test_r2", "targets_found",
                                              "encodings_matching", "peak_rss_mb")}))
    print(found.to_string(index=False))


def run_baselines(args, data: dict) -> None:
    """LassoCV and a random forest on all SNPs: fit on training + validation samples, score on the test set."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LassoCV
    from sklearn.metrics import r2_score

    path = CACHE / case_name(args) / "baselines.json"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    G, y = data["G"], data["y"]
    is_test, _ = split(len(y), 0)
    X = np.where(np.isnan(G), np.nanmean(G[~is_test], axis=0), G).astype(np.float64)
    rows = {}
    for name, model in (("lasso", LassoCV(cv=5, alphas=20, eps=1e-2, tol=1e-3, max_iter=2000,
                                                                 n_jobs=args.n_jobs, random_state=0)),
                        ("random_forest", RandomForestRegressor(n_estimators=500, max_features="sqrt",
                                                                min_samples_leaf=5, n_jobs=args.n_jobs,
                                                                random_state=0))):
        start = time.perf_counter()
        model.fit(X[~is_test], y[~is_test])
        seconds = time.perf_counter() - start
        n_used = int((model.coef_ != 0).sum()) if name == "lasso" else G.shape[1]
        rows[name] = {"test_r2": float(r2_score(y[is_test], model.predict(X[is_test]))), "seconds": seconds,
                      "n_snps": n_used}
        print(name, rows[name])
    path.write_text(json.dumps(rows, indent=1))


# --------------------------------------------------------------------------- cost per node kind


def cost(args, data: dict) -> None:
    """Seconds of one evaluate_pipeline per selector kind (linear regressor) and regressor kind (no-op
    variance selector), ``--cost-repeats`` pipelines each with hyperparameters drawn from the grids, pipelines of
    the run's mean size; then each slow kind at its grid's most expensive point; then pipelines drawn as the
    initial population draws them."""
    from phenomap.gpsearch.nodes import LDPruneNode, Pipeline, RegressorNode, SelectorNode, SnpNode
    from phenomap.gpsearch.nsga import evaluate_pipeline
    from phenomap.gpsearch.snpdb import build_snpdb
    from phenomap.io.tables import write_tsv

    G, y, bim = data["G"], data["y"], data["bim"]
    is_test, is_train = split(len(y), 0)
    Gs, ys = G[~is_test].astype(float), y[~is_test]
    d = design(int(is_train.sum()), G.shape[1])
    snpdb = build_snpdb(Gs, ys, is_train, bim, bin_size=d["bin_size"])
    arrays = (Gs[is_train], ys[is_train], Gs[~is_train], ys[~is_train])
    k = (d["min_snps"] + d["max_snps"]) // 2
    rng = np.random.default_rng(7)
    pool = np.flatnonzero(snpdb.considered)

    def time_pipeline(selector, regressor):
        rows = np.sort(rng.choice(pool, k, replace=False))
        pipe = Pipeline(tuple(SnpNode.from_snpdb(snpdb, int(i)) for i in rows), LDPruneNode.random(rng),
                        selector, regressor)
        start = time.perf_counter()
        evaluation = evaluate_pipeline(pipe.to_json(), *arrays)
        return time.perf_counter() - start, len(evaluation.kept), pipe

    keep_all = SelectorNode("variance", {"threshold": 0.0})
    table = []
    variants = [("selector", kind, SelectorNode.random, kind) for kind in SelectorNode.SPACE]
    variants += [("regressor", kind, RegressorNode.random, kind) for kind in RegressorNode.SPACE]
    for node, kind, draw, _ in variants:
        times, kept = [], []
        for _ in range(args.cost_repeats):
            sel = draw(rng, kind) if node == "selector" else keep_all
            reg = draw(rng, kind) if node == "regressor" else RegressorNode("linear")
            seconds, n_kept, _ = time_pipeline(sel, reg)
            times.append(seconds)
            kept.append(n_kept)
        table.append((node, kind, "grid draws", np.mean(times), np.std(times), np.max(times), np.mean(kept)))
        print(table[-1], flush=True)
    most_expensive = [
        ("regressor", RegressorNode("random_forest", {"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 2,
                                                      "max_features": 0.3})),
        ("regressor", RegressorNode("gradient_boosting", {"n_estimators": 100, "learning_rate": 0.1,
                                                          "max_depth": 3, "subsample": 1.0})),
        ("regressor", RegressorNode("svr", {"C": 10.0, "epsilon": 0.01, "kernel": "linear"})),
        ("regressor", RegressorNode("svr", {"C": 10.0, "epsilon": 0.01, "kernel": "rbf"})),
        ("selector", SelectorNode("extra_trees", {"n_estimators": 50, "threshold": "mean"})),
        ("selector", SelectorNode("sequential", {"max_depth": 5, "tol": 0.0}))]
    for node, fixed in most_expensive:
        times = [time_pipeline(fixed if node == "selector" else keep_all,
                               fixed if node == "regressor" else RegressorNode("linear"))[0]
                 for _ in range(args.cost_repeats)]
        table.append((node, fixed.kind, json.dumps(fixed.params), np.mean(times), np.std(times), np.max(times),
                      np.nan))
        print(table[-1], flush=True)
    times = []
    for _ in range(args.cost_repeats * 4):
        times.append(time_pipeline(SelectorNode.random(rng), RegressorNode.random(rng))[0])
    table.append(("pipeline", "uniform mix (initial population)", f"{len(times)} pipelines", np.mean(times),
                  np.std(times), np.max(times), np.nan))
    print(table[-1], flush=True)
    out = pd.DataFrame(table, columns=["node", "kind", "hyperparameters", "seconds_mean", "seconds_sd", "seconds_max",
                                       "snps_to_regressor"])
    out.insert(0, "input", f"{args.data}: {int(is_train.sum())} training x {k} SNPs per pipeline")
    out["load_average_1min"] = os.getloadavg()[0]
    print(out.to_string(index=False))
    write_tsv(out, RESULTS / f"gpsearch_cost{'' if args.data == 'sim' else '_' + args.data}.tsv", float_format="%.4g")


def cost_alternatives(args, data: dict) -> None:
    """Seconds of one fit + predict (selectors: fit + transform) of the slow node kinds at the most
    expensive points of the first grids ("grid") beside cheaper settings ("new"), on the training
    samples of the run's split and 60 SNPs (the additive QTL among them) encoded additive, the
    phenotype standardised: the measurements behind today's narrower grids (gpsearch.nodes)."""
    import warnings

    from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel, SequentialFeatureSelector
    from sklearn.svm import SVR, LinearSVR
    from sklearn.tree import DecisionTreeRegressor

    from phenomap.gpsearch.nodes import ForwardTreeSelector
    from phenomap.io.tables import write_tsv

    G, y = data["G"], data["y"]
    is_test, is_train = split(len(y), 0)
    rng = np.random.default_rng(0)
    columns = np.sort(rng.choice(G.shape[1], 60, replace=False))
    if args.data == "sim":
        columns[0] = data["bim"].index[data["bim"].ID == data["targets"].ID.iloc[0]][0]
    X = np.nan_to_num(G[~is_test][is_train][:, columns].astype(float) / 2, nan=0.5)
    yt = y[~is_test][is_train]
    yt = (yt - yt.mean()) / yt.std()
    tree = DecisionTreeRegressor(max_depth=3, random_state=0)
    cases = [
        ("svr", "grid max: kernel linear, C 100", SVR(kernel="linear", C=100.0), 1),
        ("svr", "grid: kernel linear, C 1", SVR(kernel="linear", C=1.0), 2),
        ("svr", "grid: kernel rbf, C 100", SVR(kernel="rbf", C=100.0), 2),
        ("svr", "new: LinearSVR C 100 (max_iter 5000)", LinearSVR(C=100.0, max_iter=5000), 2),
        ("svr", "new: LinearSVR C 1", LinearSVR(C=1.0), 2),
        ("extra_trees", "grid: 100 trees", SelectFromModel(ExtraTreesRegressor(100, random_state=0)), 2),
        ("extra_trees", "grid: 50 trees", SelectFromModel(ExtraTreesRegressor(50, random_state=0)), 2),
        ("extra_trees", "new: 50 trees, min_samples_leaf 5, max_features sqrt",
         SelectFromModel(ExtraTreesRegressor(50, min_samples_leaf=5, max_features="sqrt", random_state=0)), 2),
        ("random_forest", "grid max: 200 trees, depth 10, max_features 1.0",
         RandomForestRegressor(200, max_depth=10, random_state=0), 1),
        ("random_forest", "grid: 50 trees, depth 6, sqrt", RandomForestRegressor(50, max_depth=6, max_features="sqrt",
                                                                                 random_state=0), 2),
        ("random_forest", "new: 20 trees, depth 6, sqrt", RandomForestRegressor(20, max_depth=6, max_features="sqrt",
                                                                                random_state=0), 2),
        ("gradient_boosting", "grid max: 200 trees, depth 5", GradientBoostingRegressor(n_estimators=200, max_depth=5,
                                                                                        random_state=0), 1),
        ("gradient_boosting", "grid: 50 trees, depth 3", GradientBoostingRegressor(n_estimators=50, max_depth=3,
                                                                                   random_state=0), 2),
        ("sequential", "grid: backward, auto, tol -0.005, depth 3",
         SequentialFeatureSelector(tree, n_features_to_select="auto", tol=-0.005, direction="backward", cv=3), 1),
        ("sequential", "new: forward, auto, tol 0.001, depth 3",
         SequentialFeatureSelector(tree, n_features_to_select="auto", tol=0.001, direction="forward", cv=3), 1),
        ("sequential", "new: forward, 5 SNPs, depth 3",
         SequentialFeatureSelector(tree, n_features_to_select=5, direction="forward", cv=3), 1),
        ("sequential", "new: ForwardTreeSelector (one half split), tol 0.0025, depth 3",
         ForwardTreeSelector(max_depth=3, tol=0.0025), 2),
        ("sequential", "new: ForwardTreeSelector (one half split), tol 0, depth 5",
         ForwardTreeSelector(max_depth=5, tol=0.0), 2),
    ]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, setting, estimator, repeats in cases:
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                fitted = estimator.fit(X, yt)
                fitted.predict(X) if hasattr(fitted, "predict") else fitted.transform(X)
                seconds.append(time.perf_counter() - start)
            rows.append((kind, setting, float(np.mean(seconds))))
            print(rows[-1], flush=True)
    out = pd.DataFrame(rows, columns=["kind", "setting", "seconds"])
    out.insert(0, "input", f"{args.data}: {len(yt)} training x 60 SNPs")
    out["load_average_1min"] = os.getloadavg()[0]
    write_tsv(out, RESULTS / f"gpsearch_cost_alternatives{'' if args.data == 'sim' else '_' + args.data}.tsv",
              float_format="%.4g")


def encoding_power(args) -> None:
    """How often the SNP database names a QTL's true encoding, by QTL variance: one SNP at a time,
    allele frequency uniform in 0.2-0.5 (HWE), phenotype = the SNP's true encoding scaled to the
    QTL variance + normal noise (total variance 1), the benchmark's split sizes (n_train = n_val),
    ``--power-trials`` SNPs per cell. Writes bench/results/gpsearch_encoding_power.tsv."""
    from phenomap.gpsearch.encodings import FIXED_ENCODINGS, class_values
    from phenomap.gpsearch.snpdb import build_snpdb
    from phenomap.io.tables import write_tsv

    rng = np.random.default_rng(2026)
    n_train = args.power_train
    is_train = np.arange(2 * n_train) < n_train
    bim = pd.DataFrame({"CHROM": "1", "ID": ["q"], "POS": [1], "A1": "A", "A2": "G"})
    rows = []
    for model in ("additive", "dominant", "recessive", "heterosis", "overdominant", "underdominant"):
        for variance in (0.01, 0.03, 0.05, 0.1):
            calls = []
            for _ in range(args.power_trials):
                g = rng.binomial(2, rng.uniform(0.2, 0.5), 2 * n_train).astype(float)[:, None]
                x = class_values(g, np.array(FIXED_ENCODINGS[model]))[:, 0]
                x = (x - x.mean()) / x.std()
                y = np.sqrt(variance) * x + rng.normal(0, np.sqrt(1 - variance), len(x))
                calls.append(build_snpdb(g, y, is_train, bim, bin_size=1).best_encoding.iloc[0])
            share = pd.Series(calls).value_counts(normalize=True)
            rows.append({"model": model, "qtl_variance": variance, "n_train": n_train, "n_val": n_train,
                         "trials": args.power_trials, "true_encoding": float(share.get(model, 0.0)),
                         "calls": "; ".join(f"{e} {v:.2f}" for e, v in share.head(4).items())})
            print(rows[-1], flush=True)
    write_tsv(pd.DataFrame(rows), RESULTS / "gpsearch_encoding_power.tsv", float_format="%.4g")


# --------------------------------------------------------------------------- report


def mean_se(values: pd.Series) -> tuple[float, float]:
    values = values.dropna().astype(float)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
    return float(values.mean()) if len(values) else np.nan, float(se)


def merged_results(new: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``new`` rows replace the rows of their cases in the results table at ``path``; other cases are kept
    (the cache of an earlier round may be gone)."""
    if not path.exists():
        return new
    old = pd.read_csv(path, sep="\t")
    return pd.concat([old[~old.case.isin(new.case)], new], ignore_index=True).sort_values("case", kind="stable")


def report() -> None:
    from phenomap.gpsearch.consistency import call_qtl, consistency_scores
    from phenomap.io.tables import read_tsv, write_tsv

    rows, qtl_rows = [], []
    for case in sorted(p for p in CACHE.iterdir() if p.is_dir() and p.name != "toy_cohort"):
        runs = [json.loads(p.read_text()) for p in sorted(case.glob("*_r*/metrics.json"))]
        if not runs:
            continue
        metrics = pd.DataFrame(runs)
        baselines = json.loads((case / "baselines.json").read_text()) if (case / "baselines.json").exists() else {}
        for mode, group in metrics.groupby("mode", sort=False):
            first = group.iloc[0]
            hv, hv_se = mean_se(group.hypervolume)
            r2, r2_se = mean_se(group.best_test_r2)
            err, err_se = mean_se(group.mean_error_kb)
            rows.append({
                "case": case.name, "data": first.data, "input": f"{first.samples} x {first.snps}",
                "split": f"{first.n_train}/{first.n_val}/{first.n_test}", "snps_per_pipeline":
                f"{first.min_snps}-{first.max_snps}", "method": mode, "replicates": len(group),
                "evaluations": int(group.evaluations.mean()), "fits": int(group.fits.mean()),
                "hypervolume": hv, "hypervolume_se": hv_se, "best_val_r2": group.best_val_r2.mean(),
                "test_r2": r2, "test_r2_se": r2_se, "test_r2_refit_train_val": group.best_test_r2_refit_train_val.mean(),
                "best_pipelines": "; ".join(group.best_pipeline), "best_n_snps": group.best_n_snps.mean(),
                "targets_found": f"{group.targets_found.sum()}/{group.targets.sum()}",
                "mean_error_kb": err, "mean_error_kb_se": err_se,
                "encodings_matching": f"{group.encodings_matching.sum()}/{group.targets.sum()}",
                "search_seconds": group.search_seconds.mean(), "n_jobs": first.n_jobs,
                "evaluations_per_second_per_core": group.evaluations_per_second_per_core.mean(),
                "projected_hours_30150": 30_150 / group.evaluations_per_second_per_core.mean() / first.n_jobs / 3600,
                "importance_seconds": group.importance_seconds.mean(), "peak_rss_mb": group.peak_rss_mb.max(),
                "load_average_1min": group.load_average_1min.mean(), "regressors": first.regressors,
                "selectors": first.selectors})
            # QTL calls from SNP consistency over this mode's replicates
            tables = [read_tsv(case / f"{mode}_r{r}" / "importance.tsv").assign(replicate=r) for r in group.replicate]
            calls = call_qtl(consistency_scores(pd.concat(tables, ignore_index=True)), top=50, window=WINDOW)
            recov = [read_tsv(case / f"{mode}_r{r}" / "recovery.tsv") for r in group.replicate]
            for t in recov[0].itertuples():
                on = calls[(calls.CHROM.astype(str) == str(t.CHROM)) & ((calls.POS - t.POS).abs() <= WINDOW)]
                call = on.iloc[0] if len(on) else None
                per_rep = [r.iloc[t.Index] for r in recov]
                qtl_rows.append({
                    "case": case.name, "method": mode, "target": t.target, "locus": f"{t.CHROM}:{t.POS / 1e6:.2f} Mb",
                    "model": t.model, "found_in_replicates": f"{sum(bool(p.found) for p in per_rep)}/{len(per_rep)}",
                    "error_kb": np.nanmean([p.error_bp for p in per_rep]) / 1e3
                    if any(p.found for p in per_rep) else np.nan,
                    "nearest_encodings": ",".join(str(p.encoding) for p in per_rep if p.found),
                    "call": "" if call is None else f"{call.ID} {call.CHROM}:{call.POS / 1e6:.2f} Mb",
                    "call_rank": np.nan if call is None else int(on.index[0]) + 1,
                    "call_score": np.nan if call is None else call.score,
                    "call_encoding": "" if call is None else call.encoding,
                    "top_calls": "; ".join(f"{c.ID} {c.CHROM}:{c.POS / 1e6:.1f} ({c.encoding})"
                                           for c in calls.head(5).itertuples())})
        for name, b in baselines.items():
            rows.append({"case": case.name, "data": metrics.data.iloc[0], "method": name, "test_r2": b["test_r2"],
                         "search_seconds": b["seconds"], "best_n_snps": b["n_snps"],
                         "input": f"{metrics.samples.iloc[0]} x {metrics.snps.iloc[0]}"})
    table = merged_results(pd.DataFrame(rows), RESULTS / "gpsearch.tsv")
    qtl = merged_results(pd.DataFrame(qtl_rows), RESULTS / "gpsearch_qtl.tsv")
    write_tsv(table, RESULTS / "gpsearch.tsv", float_format="%.6g")
    write_tsv(qtl, RESULTS / "gpsearch_qtl.tsv", float_format="%.6g")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 60):
        print(table[["case", "method", "replicates", "evaluations", "hypervolume", "hypervolume_se", "test_r2",
                     "targets_found", "mean_error_kb", "encodings_matching", "evaluations_per_second_per_core",
                     "projected_hours_30150", "peak_rss_mb"]].to_string(index=False, float_format="%.4g"))
        print(qtl.drop(columns=["top_calls"]).to_string(index=False, float_format="%.4g"))
    print(f"written to {RESULTS / 'gpsearch.tsv'} and {RESULTS / 'gpsearch_qtl.tsv'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("toy", "sim", "mice"), default="sim")
    parser.add_argument("--mode", default="starbase,basic,random", help="comma-separated search modes")
    parser.add_argument("--replicates", type=int, default=3, help="replicates 0..R-1 (seed = replicate)")
    parser.add_argument("--first-replicate", type=int, default=0)
    parser.add_argument("--population", type=int, default=150)
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--scale", type=float, default=1.0, help="sim: shrink samples and SNPs (0.1 = quick check)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--importance-repeats", type=int, default=10)
    parser.add_argument("--selectors", default="", help="restrict selector kinds (default: all seven)")
    parser.add_argument("--regressors", default="", help="restrict regressor kinds (default: all seven)")
    parser.add_argument("--tag", default="", help="suffix of the cache folder (e.g. for restricted kinds)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--cost", action="store_true", help="time one evaluation per node kind")
    parser.add_argument("--cost-repeats", type=int, default=4)
    parser.add_argument("--cost-alternatives", action="store_true",
                        help="time the slow node kinds beside cheaper settings (proposal for the grids)")
    parser.add_argument("--encoding-power", action="store_true",
                        help="share of single QTL whose SNP-database encoding is the true one, by QTL variance")
    parser.add_argument("--power-trials", type=int, default=200)
    parser.add_argument("--power-train", type=int, default=1200, help="training (= validation) samples")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report()
        return
    if args.encoding_power:
        encoding_power(args)
        return
    data = load(args.data, args.scale)
    print(f"{args.data}: {data['G'].shape[0]} samples x {data['G'].shape[1]} SNPs ({data['note']}); targets:\n"
          f"{data['targets'].to_string(index=False)}", flush=True)
    if args.cost:
        cost(args, data)
        return
    if args.cost_alternatives:
        cost_alternatives(args, data)
        return
    for replicate in range(args.first_replicate, args.first_replicate + args.replicates):
        for mode in args.mode.split(","):
            run_one(args, data, mode, replicate)
    if not args.no_baselines:
        run_baselines(args, data)


if __name__ == "__main__":
    main()
