"""I/O layer of the StarBASE-GP rules: split and SNP database, one search replicate, the summary.

Outputs under ``results/<cohort>/gpsearch/<trait>/``:

* ``split.tsv`` (``FID IID split``, split = train | validation) and ``snpdb.tsv`` (the SNP
  database, :data:`~phenomap.gpsearch.snpdb.SNPDB_COLUMNS`) of the trait's analysed samples:
  genotyped, with a phenotype (:func:`write_split_and_snpdb`);
* ``r<replicate>/``: ``pareto.tsv``, ``pipelines.json``, ``hypervolume.tsv``,
  ``importance.tsv`` (:func:`~phenomap.gpsearch.consistency.write_replicate_summary`),
  ``history.tsv`` (every evaluated offspring, :data:`~phenomap.gpsearch.nsga.HISTORY_COLUMNS`)
  and ``checkpoint.json``, from which a killed job resumes (:func:`run_replicate`);
* ``snp_consistency.tsv`` and ``qtl.tsv`` over the replicates, and three figures
  (:func:`summarise_replicates`).

The search runs on the trait's residuals after the cohort's covariates (``covar``, columns
``covariates`` or all): an intercept and the covariates fitted by least squares on the
training split only (:func:`covariate_residuals`), as the paper searched rat BMI residualised
on ten principal components. Without covariates only the training mean is removed. Samples
missing the trait or a covariate are left out (counted in the log). Every replicate searches
the same split and SNP database, so replicates differ in their search's random stream only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.gpsearch.consistency import write_consistency, write_replicate_summary
from phenomap.gpsearch.nsga import SearchSettings, run_search
from phenomap.gpsearch.snpdb import snpdb_from_bfile, write_snpdb
from phenomap.gwas.linear import load_trait
from phenomap.io.plink import Bfile
from phenomap.io.tables import SAMPLE_KEYS, align_samples, read_sample_table, read_tsv, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

SPLIT_LABELS = ("train", "validation")


def trait_samples(geno: Bfile, pheno: str | Path, trait: str, *, covar: str | Path | None = None,
                  covariates: list[str] | None = None) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    """The analysed samples of a trait: genotyped, with a phenotype and every covariate, in .fam order.

    Returns (rows (k,) sorted indices into the .fam, samples (k,) ``FID IID``, y (k,) phenotypes,
    Z (k, 1 + c) intercept and centred covariates, see :func:`phenomap.gwas.linear.load_trait`).
    """
    data = load_trait(geno, pheno, trait, covar=covar, covariates=covariates)
    return data.samples, geno.fam[SAMPLE_KEYS].iloc[data.samples].reset_index(drop=True), data.y, data.Z


def covariate_residuals(y: np.ndarray, Z: np.ndarray, is_train: np.ndarray) -> np.ndarray:
    """y (k,) minus its least-squares fit on Z (k, c) estimated on the training samples (is_train (k,) bool)."""
    coef, *_ = np.linalg.lstsq(Z[is_train], y[is_train], rcond=None)
    return y - Z @ coef


def split_samples(n: int, validation_fraction: float, *, seed: int) -> np.ndarray:
    """Random training mask (n,) bool with round(n * validation_fraction) validation samples."""
    n_validation = int(round(n * validation_fraction))
    if not 2 <= n_validation <= n - 3:
        raise InputError(f"a validation fraction of {validation_fraction} of {n} samples leaves {n_validation} "
                         f"validation and {n - n_validation} training samples; the search needs at least 2 and 3 "
                         "(change gpsearch.validation_fraction or add samples).")
    is_train = np.ones(n, dtype=bool)
    is_train[np.random.default_rng(seed).choice(n, n_validation, replace=False)] = False
    return is_train


def read_split(path: str | Path, samples: pd.DataFrame) -> np.ndarray:
    """Training mask (k,) bool of ``samples`` from a split file written by :func:`write_split_and_snpdb`."""
    table = read_sample_table(path, what="split", numeric=False)
    row = align_samples(samples, table, source=f"split file {path}")
    if (row < 0).any() or len(table) != len(samples):
        raise InputError(f"split file {path} lists {len(table)} samples, {int((row >= 0).sum())} of the "
                         f"{len(samples)} analysed now: the genotypes or phenotypes changed since; rerun the "
                         "gpsearch_snpdb step.")
    return table.split.to_numpy()[row] == "train"


def write_split_and_snpdb(bfile: str | Path, pheno: str | Path, trait: str, out_split: str | Path,
                          out_snpdb: str | Path, *, seed: int, covar: str | Path | None = None,
                          covariates: list[str] | None = None, validation_fraction: float = 0.5,
                          bin_size: int = 500, top_fraction: float | None = None,
                          p_threshold: float | None = None, chunk: int = 2048) -> pd.DataFrame:
    """Draw the training/validation split of a trait's analysed samples and build its SNP database.

    The SNP database (:func:`~phenomap.gpsearch.snpdb.snpdb_from_bfile`) covers every variant
    of ``bfile`` on the trait's covariate residuals; ``bin_size``, ``top_fraction`` and
    ``p_threshold`` are its options.
    """
    geno = Bfile.open(bfile)
    rows, samples, y, Z = trait_samples(geno, pheno, trait, covar=covar, covariates=covariates)
    is_train = split_samples(len(rows), validation_fraction, seed=seed)
    y = covariate_residuals(y, Z, is_train)
    snpdb = snpdb_from_bfile(bfile, y, is_train, samples=rows, chunk=chunk, bin_size=bin_size,
                             top_fraction=top_fraction, p_threshold=p_threshold)
    log.info("%s: %d training and %d validation samples; %d of %d SNPs considered", trait, is_train.sum(),
             (~is_train).sum(), snpdb.considered.sum(), len(snpdb))
    write_tsv(samples.assign(split=np.where(is_train, *SPLIT_LABELS)), out_split)
    write_snpdb(snpdb, out_snpdb)
    rule_summary(f"{trait}: {is_train.sum():,} training and {(~is_train).sum():,} validation samples",
                 f"{snpdb.considered.sum():,} of {len(snpdb):,} SNPs considered")
    return snpdb


def run_replicate(bfile: str | Path, pheno: str | Path, trait: str, split_tsv: str | Path, snpdb_tsv: str | Path,
                  out_dir: str | Path, *, checkpoint: str | Path, settings: SearchSettings,
                  covar: str | Path | None = None, covariates: list[str] | None = None,
                  importance_repeats: int = 100) -> None:
    """One search replicate on the trait's split and SNP database, resumed from ``checkpoint`` when it exists.

    Writes the files of :func:`~phenomap.gpsearch.consistency.write_replicate_summary` and
    ``history.tsv`` to ``out_dir``; ``covar`` and ``covariates`` as for the SNP database. A
    checkpoint of other settings (the config changed, apart from a larger ``generations``,
    which extends the run) is replaced by a fresh search.
    Genotypes of every SNP are held in memory as float64, about 3 copies: 24 bytes x samples x SNPs.
    """
    geno = Bfile.open(bfile)
    rows, samples, y, Z = trait_samples(geno, pheno, trait, covar=covar, covariates=covariates)
    is_train = read_split(split_tsv, samples)
    y = covariate_residuals(y, Z, is_train)
    snpdb = read_tsv(snpdb_tsv)
    columns = pd.Index(geno.bim.ID.astype(str)).get_indexer(snpdb.ID)
    if (columns < 0).any():
        raise InputError(f"SNP database {snpdb_tsv} has SNP {snpdb.ID[columns < 0].iloc[0]!r}, not in {bfile}.bim: "
                         "rerun the gpsearch_snpdb step.")
    G = geno.read(columns, rows, dtype="float64")
    log.info("replicate of %s: %d samples x %d SNPs, %s", trait, len(rows), len(columns), settings)
    result = run_search(G, y, is_train, snpdb, settings, checkpoint=checkpoint, restart_stale=True)
    log.info("%d offspring evaluated, %d pipelines fitted; final hypervolume %.4f, %d Pareto pipelines",
             result.n_evaluations, result.n_fits, result.hypervolume[-1], len(result.pareto))
    write_replicate_summary(result, G, y, is_train, out_dir, n_repeats=importance_repeats, seed=settings.seed,
                            n_jobs=settings.n_jobs)
    write_tsv(result.history, Path(out_dir) / "history.tsv")
    rule_summary(f"{result.n_evaluations:,} offspring evaluated on {len(rows):,} samples x {len(columns):,} SNPs",
                 f"hypervolume {result.hypervolume[-1]:.4f}, {len(result.pareto)} Pareto pipelines")


def summarise_replicates(importance_paths: Sequence[str | Path], hypervolume_paths: Sequence[str | Path],
                         pareto_paths: Sequence[str | Path], snpdb_tsv: str | Path, out_scores: str | Path,
                         out_qtl: str | Path, out_manhattan: str | Path, out_hypervolume: str | Path,
                         out_pareto: str | Path, *, top: int = 50, window: int = 1_000_000, title: str = "") -> None:
    """SNP consistency scores and QTL calls over the replicates (given in replicate order), and three figures:
    the scores along the genome with the QTL peaks, the hypervolume curves and the final Pareto fronts."""
    from phenomap.report.plots import consistency_manhattan, hypervolume_curves, pareto_fronts

    write_consistency(importance_paths, out_scores, out_qtl, top=top, window=window)
    scores, qtl, snpdb = read_tsv(out_scores), read_tsv(out_qtl), read_tsv(snpdb_tsv)
    for peak in qtl.itertuples():
        log.info("QTL %s:%d %s (%s): score %.3f, %d top SNPs within the window", peak.CHROM, peak.POS, peak.ID,
                 peak.encoding, peak.score, peak.n_snps)
    consistency_manhattan(snpdb, snpdb.ID.map(scores.set_index("ID").score).fillna(0.0), qtl, out_manhattan,
                          title=f"{title}: SNP consistency over {len(importance_paths)} replicates")

    def gathered(paths):
        return pd.concat([read_tsv(p).assign(replicate=r) for r, p in enumerate(paths)], ignore_index=True)

    hypervolume_curves(gathered(hypervolume_paths), out_hypervolume, title=f"{title}: hypervolume")
    pareto_fronts(gathered(pareto_paths), out_pareto, title=f"{title}: final Pareto fronts")
    rule_summary(f"{len(importance_paths)} replicates, {len(scores):,} SNPs scored", f"{len(qtl)} QTL called")
