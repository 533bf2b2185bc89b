"""GWAS benchmarks: linear engines against plink2, mixed models against GEMMA.

Linear (default): simulates (once, cached under bench/data/) a cohort of N samples x M
variants with 2% missing calls, a trait with 50 causal variants and 4 covariates, then runs
each engine in its own child process (so peak memory is its own) with the same thread
count, and prints/writes to bench/results/gwas.tsv: wall time, time ratio, peak RSS, and
the max relative difference of BETA/SE/P between engines (limited by plink2's 6 printed
significant digits).

Mixed models (``--lmm``), written to bench/results/gwas_lmm.tsv (rows of the other case kept):

- ``mice``: the BGLR mice (1,814 x 10,346, bench/realdata.py), traits Obesity.BodyLength and
  Obesity.BMI, covariate sex. The linear engine, our LMM with LOCO and with one whole-genome
  GRM (``lmm_whole``) per trait: lambda_GC, variants with P < 5e-8, the top variant, h2.
  Then GEMMA 0.98.5 ``-lmm 1`` with our whole-genome GRM written to a ``-k`` file
  (``gemma_whole``: time and memory of GEMMA alone, max differences against ``lmm_whole``),
  and GEMMA computing its own GRM (``gemma_gk``, ``-gk 1``), so that GEMMA's whole pipeline
  is ``gemma_gk`` + ``gemma_whole`` against our ``lmm_whole`` (which builds its GRM).
- ``sim``: a simulated cohort of nuclear families (2 parents + 2 offspring), N samples x M
  variants on C chromosomes, 1% missing calls, a trait with h2 = 0.5 from 1,000 causal
  variants and 2 covariates: our LMM (LOCO and whole-genome) beside GEMMA (one GRM).

Every method runs in a child process with the same thread count; seconds and peak RSS are
its own (GEMMA's through RUSAGE_CHILDREN).

    python bench/gwas.py [--samples 5000] [--variants 100000] [--threads 1]
    python bench/gwas.py --lmm mice [--threads 1]
    python bench/gwas.py --lmm sim [--samples 5000] [--variants 100000] [--chromosomes 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def simulate(prefix: Path, n: int, m: int, seed: int = 1) -> None:
    from phenomap.io.plink import write_bfile

    rng = np.random.default_rng(seed)
    ids = [f"i{i}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    bim = pd.DataFrame({"CHROM": "1", "ID": [f"v{j}" for j in range(m)], "CM": 0.0,
                        "POS": np.arange(1, m + 1) * 100, "A1": "A", "A2": "G"})
    freq = rng.uniform(0.01, 0.5, m)
    causal = rng.choice(m, 50, replace=False)
    genetic = np.zeros(n)

    def chunks(size=5000):
        nonlocal genetic
        for start in range(0, m, size):
            f = freq[start:start + size]
            G = rng.binomial(2, f, (n, len(f))).astype(np.float32)
            in_chunk = causal[(causal >= start) & (causal < start + size)] - start
            genetic = genetic + G[:, in_chunk] @ rng.normal(0, 0.1, len(in_chunk))
            G[rng.random(G.shape) < 0.02] = np.nan
            yield G

    write_bfile(prefix, fam, bim, chunks())
    C = rng.normal(size=(n, 4))
    y = genetic + C @ [0.3, -0.2, 0.1, 0.0] + rng.normal(size=n)
    pd.DataFrame({"FID": ids, "IID": ids, "trait": y}).to_csv(f"{prefix}.pheno.tsv", sep="\t", index=False)
    cov = pd.DataFrame(C, columns=["age", "pc1", "pc2", "pc3"])
    pd.concat([fam[["FID", "IID"]], cov], axis=1).to_csv(f"{prefix}.covar.tsv", sep="\t", index=False)


def child(engine: str, prefix: str, out: str, threads: int) -> None:
    """Run one engine and print JSON {seconds, peak_mb} (self + children RSS)."""
    from phenomap.gwas import run_gwas

    t0 = time.perf_counter()
    run_gwas(prefix, f"{prefix}.pheno.tsv", "trait", out, engine=engine, covar=f"{prefix}.covar.tsv",
             chunk=4096, threads=threads)
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb()}))


def thread_env(threads: int) -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                MKL_NUM_THREADS=str(threads))


def peak_mb() -> float:
    """Peak RSS of this process or of its largest finished child, MB."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def linear_bench(args: argparse.Namespace) -> None:
    """The numpy engine against plink2 --glm on a simulated unrelated cohort."""
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    prefix = data / f"gwas_{args.samples}x{args.variants}"
    if not Path(f"{prefix}.bed").exists():
        t0 = time.perf_counter()
        simulate(prefix, args.samples, args.variants)
        print(f"simulated {args.samples} x {args.variants} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rows, tables = [], {}
    for engine in ("numpy", "plink2"):
        out = data / f"gwas_{engine}.tsv"
        proc = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", engine,
                               str(prefix), str(out)], env=thread_env(args.threads), capture_output=True, text=True,
                              check=True)
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        tables[engine] = pd.read_csv(out, sep="\t")
        rows.append({"engine": engine, "samples": args.samples, "variants": args.variants,
                     "threads": args.threads, **stats})
    a, b = tables["numpy"], tables["plink2"]
    ok = b.P.notna() & a.P.notna()
    result = pd.DataFrame(rows)
    result["time_ratio_vs_plink2"] = result.seconds / result.seconds.iloc[1]
    for col in ("BETA", "SE", "P"):
        result[f"max_rel_diff_{col}"] = float(np.max(np.abs(a[col][ok] / b[col][ok] - 1)))
    result["variants_compared"] = int(ok.sum())
    (HERE / "results").mkdir(exist_ok=True)
    result.to_csv(HERE / "results" / "gwas.tsv", sep="\t", index=False, float_format="%.4g")
    print(result.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


# --- mixed models ----------------------------------------------------------------------------------

LMM_RESULTS = HERE / "results" / "gwas_lmm.tsv"
GENOME_WIDE = 5e-8


def simulate_families(prefix: Path, n: int, m: int, n_chrom: int, seed: int = 2) -> None:
    """Nuclear families (2 unrelated parents, 2 offspring; n // 4 families), m unlinked variants on
    n_chrom chromosomes, 1% missing calls; ``trait`` with h2 = 0.5 from 1,000 causal variants
    (N(0, 1) effects per allele copy) plus 2 covariates (``age``, ``pc1``)."""
    from phenomap.io.plink import write_bfile

    rng = np.random.default_rng(seed)
    n_fam = n // 4
    members = ["p1", "p2", "o1", "o2"]
    iid = [f"f{i}_{k}" for i in range(n_fam) for k in members]
    fam = pd.DataFrame({"FID": [f"f{i}" for i in range(n_fam) for _ in members], "IID": iid,
                        "PAT": [f"f{i}_p1" if k[0] == "o" else "0" for i in range(n_fam) for k in members],
                        "MAT": [f"f{i}_p2" if k[0] == "o" else "0" for i in range(n_fam) for k in members],
                        "SEX": "0", "PHENO": "-9"})
    per_chrom = -(-m // n_chrom)
    chrom = np.arange(m) // per_chrom + 1
    bim = pd.DataFrame({"CHROM": chrom.astype(str), "ID": [f"v{j}" for j in range(m)], "CM": 0.0,
                        "POS": (np.arange(m) % per_chrom + 1) * 100, "A1": "A", "A2": "G"})
    causal = np.zeros(m, bool)
    causal[rng.choice(m, min(1000, m), replace=False)] = True
    genetic = np.zeros(4 * n_fam)

    def chunks(size=2000):
        nonlocal genetic
        for start in range(0, m, size):
            k = min(size, m - start)
            parents = rng.random((n_fam, 2, 2, k)) < rng.uniform(0.05, 0.5, k)  # family, parent, haplotype
            pick = rng.integers(0, 2, (n_fam, 2, 2, k))  # the haplotype each parent gives each offspring
            kids = np.take_along_axis(parents[:, None].repeat(2, axis=1), pick[:, :, :, None, :], axis=3)[..., 0, :]
            G = np.concatenate([parents.sum(axis=2), kids.sum(axis=2)], axis=1).reshape(-1, k).astype(np.float32)
            c = causal[start:start + k]
            genetic = genetic + (G[:, c] - G[:, c].mean(axis=0)) @ rng.normal(size=int(c.sum()))
            G[rng.random(G.shape) < 0.01] = np.nan
            yield G

    write_bfile(prefix, fam, bim, chunks())
    C = rng.normal(size=(len(iid), 2))
    y = genetic / genetic.std() * np.sqrt(0.5) + C @ [0.3, -0.2] + rng.normal(0, np.sqrt(0.5), len(iid))
    keys = fam[["FID", "IID"]]
    keys.assign(trait=y).to_csv(f"{prefix}.pheno.tsv", sep="\t", index=False)
    keys.assign(age=C[:, 0], pc1=C[:, 1]).to_csv(f"{prefix}.covar.tsv", sep="\t", index=False)


def lmm_child(spec: dict) -> None:
    """Run one method of the mixed-model bench and print JSON {seconds, peak_mb[, h2, lambda0]}.

    A GEMMA command's peak is GEMMA's own (RUSAGE_CHILDREN), not this interpreter's.
    """
    if spec["method"].startswith("gemma"):
        t0 = time.perf_counter()
        subprocess.run(spec["command"], check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds,
                          "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
        return
    from phenomap.gwas.linear import run_linear_gwas
    from phenomap.gwas.lmm import NULL_MODEL_ATTR, run_lmm_gwas

    t0 = time.perf_counter()
    extra = {}
    if spec["method"] == "linear":
        run_linear_gwas(spec["prefix"], spec["pheno"], spec["trait"], spec["out"], covar=spec["covar"])
    else:
        table = run_lmm_gwas(spec["prefix"], spec["pheno"], spec["trait"], spec["out"], covar=spec["covar"],
                             loco=spec["method"] == "lmm_loco")
        null = table.attrs[NULL_MODEL_ATTR]
        extra = {"h2": null["h2"], "lambda0": null["lambda0"]}
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb(), **extra}))


def run_lmm_child(spec: dict, threads: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--threads", str(threads), "--lmm-child", json.dumps(spec)],
                          env=thread_env(threads), capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{spec['method']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_gemma_inputs(bfile, data, stem: Path) -> dict[str, Path]:
    """GEMMA's ``-k`` (our whole-genome GRM), ``-p`` and ``-c`` files for the samples of ``data``, in .fam order.

    Samples outside ``data.samples`` get NA phenotypes (GEMMA drops them) and identity rows in K.
    """
    from phenomap.gwas.grm import genome_grm

    n, s = bfile.n_samples, data.samples
    K = np.eye(n)
    K[np.ix_(s, s)] = genome_grm(bfile, s).matrix()
    paths = {"k": Path(f"{stem}.K.txt"), "p": Path(f"{stem}.pheno.txt"), "c": Path(f"{stem}.covar.txt")}
    np.savetxt(paths["k"], K, fmt="%.15g", delimiter="\t")
    y, Z = np.full(n, np.nan), np.full((n, data.Z.shape[1]), np.nan)
    y[s], Z[s] = data.y, data.Z  # Z holds the intercept column GEMMA needs
    for key, values in (("p", y[:, None]), ("c", Z)):
        pd.DataFrame(values).to_csv(paths[key], sep="\t", header=False, index=False, na_rep="NA", float_format="%.17g")
    return paths


def gemma_table(assoc: Path, bim: pd.DataFrame) -> pd.DataFrame:
    """GEMMA's assoc file as sumstats columns in .bim order, BETA for the .bim A1."""
    raw = pd.read_csv(assoc, sep="\t", dtype={"rs": str, "allele1": str})
    table = bim[["CHROM", "POS", "ID", "A1"]].merge(raw, left_on="ID", right_on="rs", how="left")
    sign = np.where(table.allele1 == table.A1, 1.0, -1.0)  # GEMMA counts the .bim A1: no flip expected
    return table.assign(BETA=sign * table.beta, SE=table.se, P=table.p_wald, Z=sign * table.beta / table.se)


def summarise(table: pd.DataFrame) -> dict:
    """lambda_GC (from Z), genome-wide hits and the top variant of one result table."""
    from phenomap.gwas.summary import lambda_gc

    top = table.loc[table.P.idxmin()]
    return {"lambda_gc": lambda_gc(z=table.Z.to_numpy(float)), "n_p_lt_5e-8": int((table.P < GENOME_WIDE).sum()),
            "top_variant": f"{top.ID} ({top.CHROM}:{top.POS})", "top_p": float(top.P)}


def differences(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Max relative differences of BETA, SE, P between two tables in the same row order (and |dBETA| / SE)."""
    ok = (a.P.notna() & b.P.notna()).to_numpy()
    out = {f"max_rel_diff_{col}": float(np.max(np.abs(a[col][ok].to_numpy() / b[col][ok].to_numpy() - 1)))
           for col in ("BETA", "SE", "P")}
    out["max_abs_diff_BETA_over_SE"] = float(np.max(np.abs(a.BETA[ok].to_numpy() - b.BETA[ok].to_numpy())
                                                    / b.SE[ok].to_numpy()))
    out["variants_compared"] = int(ok.sum())
    return out


def lmm_bench(case: str, prefix: Path, pheno: Path, covar: Path, traits: list[str], threads: int) -> pd.DataFrame:
    """Linear, LMM (LOCO, whole-genome) and GEMMA on one dataset; one row per trait and method."""
    from phenomap.gwas.linear import load_trait
    from phenomap.io.plink import Bfile
    from phenomap.io.tables import read_tsv

    work = HERE / "data" / f"lmm_{case}"
    work.mkdir(parents=True, exist_ok=True)
    bfile = Bfile.open(prefix)
    base = {"case": case, "samples": bfile.n_samples, "variants": bfile.n_variants,
            "chromosomes": bfile.bim.CHROM.nunique(), "threads": threads}
    gemma = shutil.which("gemma")
    rows = []
    for trait in traits:
        tables = {}
        for method in ("linear", "lmm_loco", "lmm_whole"):
            out = work / f"{trait}.{method}.tsv"
            stats = run_lmm_child({"method": method, "prefix": str(prefix), "pheno": str(pheno), "trait": trait,
                                   "covar": str(covar), "out": str(out)}, threads)
            tables[method] = read_tsv(out)
            rows.append({**base, "trait": trait, "method": method, **stats, **summarise(tables[method])})
            print(f"{case} {trait} {method}: {stats['seconds']:.1f} s", file=sys.stderr)
        if gemma is None:
            print("gemma not on PATH: GEMMA rows skipped", file=sys.stderr)
            continue
        files = write_gemma_inputs(bfile, load_trait(bfile, pheno, trait, covar=covar), work / trait)
        name = f"{trait}.gemma"
        stats = run_lmm_child({"method": "gemma_whole", "command": [
            gemma, "-bfile", str(prefix), "-k", str(files["k"]), "-p", str(files["p"]), "-c", str(files["c"]),
            "-lmm", "1", "-maf", "0", "-miss", "1", "-o", name, "-outdir", str(work)]}, threads)
        ours = gemma_table(work / f"{name}.assoc.txt", bfile.bim)
        log = (work / f"{name}.log.txt").read_text()
        h2 = float(next(line for line in log.splitlines() if "pve estimate in the null model" in line).split("=")[1])
        rows.append({**base, "trait": trait, "method": "gemma_whole", **stats, "h2": h2, **summarise(ours),
                     **differences(tables["lmm_whole"], ours)})
        print(f"{case} {trait} gemma_whole: {stats['seconds']:.1f} s", file=sys.stderr)
    if gemma is not None:  # GEMMA's own GRM (-gk 1: centred genotypes), samples of the last trait
        stats = run_lmm_child({"method": "gemma_gk", "command": [
            gemma, "-bfile", str(prefix), "-p", str(files["p"]), "-gk", "1", "-maf", "0", "-miss", "1",
            "-o", f"{case}.gk", "-outdir", str(work)]}, threads)
        rows.append({**base, "trait": "(GRM)", "method": "gemma_gk", **stats})
    return pd.DataFrame(rows)


def save_lmm_rows(result: pd.DataFrame) -> None:
    """Write ``result`` to LMM_RESULTS, replacing earlier rows of the same case and keeping the others."""
    LMM_RESULTS.parent.mkdir(exist_ok=True)
    if LMM_RESULTS.exists():
        old = pd.read_csv(LMM_RESULTS, sep="\t")
        result = pd.concat([old[~old.case.isin(result.case.unique())], result], ignore_index=True)
    result.to_csv(LMM_RESULTS, sep="\t", index=False, float_format="%.4g")
    columns = ["case", "trait", "method", "seconds", "peak_mb", "lambda_gc", "n_p_lt_5e-8", "top_variant", "top_p",
               "h2", "max_rel_diff_BETA", "max_rel_diff_SE", "max_rel_diff_P", "max_abs_diff_BETA_over_SE"]
    print(result[[c for c in columns if c in result]].to_string(index=False, float_format=lambda x: f"{x:.4g}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--chromosomes", type=int, default=10, help="chromosomes of the --lmm sim cohort")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lmm", choices=("mice", "sim"), help="run a mixed-model case instead of the linear engines")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "PREFIX", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--lmm-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, threads=args.threads)
    elif args.lmm_child:
        lmm_child(json.loads(args.lmm_child))
    elif args.lmm == "mice":
        from realdata import MICE_TRAITS, mice_plink

        paths = mice_plink()
        save_lmm_rows(lmm_bench("mice", paths["bfile"], paths["pheno"], paths["covar"], MICE_TRAITS, args.threads))
    elif args.lmm == "sim":
        prefix = HERE / "data" / f"lmm_{args.samples}x{args.variants}_c{args.chromosomes}"
        if not Path(f"{prefix}.bed").exists():
            t0 = time.perf_counter()
            simulate_families(prefix, args.samples, args.variants, args.chromosomes)
            print(f"simulated {args.samples} x {args.variants} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        save_lmm_rows(lmm_bench(f"sim_{args.samples}x{args.variants}", prefix, Path(f"{prefix}.pheno.tsv"),
                                Path(f"{prefix}.covar.tsv"), ["trait"], args.threads))
    else:
        linear_bench(args)


if __name__ == "__main__":
    main()
