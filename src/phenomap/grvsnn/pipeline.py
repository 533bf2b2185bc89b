"""I/O layer of the GRVSNN rules: relationship loadings, the fold file, one cross-validation fold, the summary.

Outputs under ``results/<cohort>/grvsnn/``:

* ``loadings.tsv`` (``FID IID L1..Lk``) and ``eigenvalues.tsv`` (``component eigenvalue kept``):
  loadings of the cohort's relationship matrix (:func:`write_loadings`);
* ``folds.tsv`` (``FID IID repeat fold``): the cross-validation folds (:func:`write_folds`);
* ``folds/r<repeat>_f<fold>/``: ``metrics.tsv``, ``selected.tsv``, ``predictions.tsv`` of one
  fold (:func:`run_cv_fold`, tables of :mod:`phenomap.grvsnn.cv`);
* ``cv_metrics.tsv`` (every fold), ``comparison.tsv`` (per method and trait: mean ± SE over
  folds, and the paired difference to the best baseline), ``selection.tsv`` (per feature: the
  share of folds that selected it, per method) (:func:`summarise_cv`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.grvsnn import cv
from phenomap.grvsnn.relationship import (
    genomic_relationship,
    loadings,
    numerator_relationship,
    read_relationship,
    relationship_for,
)
from phenomap.io.plink import Bfile
from phenomap.io.tables import SAMPLE_KEYS, read_pedigree, read_tsv, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

BASELINE_ORDER = ("ridge", "brr", "lasso", "lassonet", "bayescpi")


def write_loadings(bfile: str | Path, out_loadings: str | Path, out_eigenvalues: str | Path, *,
                   relationship: str | Path | None = None, pedigree: str | Path | None = None,
                   n_components: int | None = None, chunk: int = 4096) -> int:
    """Loadings of the genotyped samples' relationship matrix; returns the number of components kept.

    The matrix is the user's ``relationship`` file, else the numerator relationship matrix of
    the ``pedigree`` (genotyped samples it does not list count as unrelated founders), else
    the VanRaden genomic relationship matrix of the genotypes. Samples are joined on IID.
    """
    geno = Bfile.open(bfile)
    iids = geno.fam.IID.to_numpy(str)
    if relationship is not None:
        ids, K = read_relationship(relationship)
        K = relationship_for(iids, ids, K, source=f"relationship file {relationship}", missing="error")
        source = f"relationship file {relationship}"
    elif pedigree is not None:
        ids, A = numerator_relationship(read_pedigree(pedigree))
        K = relationship_for(iids, ids, A, source=f"pedigree {pedigree}", missing="unrelated")
        source = f"pedigree {pedigree}"
    else:
        K = genomic_relationship(geno, chunk=chunk)
        source = f"genomic relationship (VanRaden) of {bfile}"
    L, eigenvalues, k = loadings(K, n_components=n_components)
    log.info("loadings from the %s: %d components", source, k)
    columns = [f"L{i + 1}" for i in range(k)]
    write_tsv(pd.concat([geno.fam[SAMPLE_KEYS].reset_index(drop=True), pd.DataFrame(L, columns=columns)], axis=1),
              out_loadings)
    write_tsv(pd.DataFrame({"component": np.arange(1, len(eigenvalues) + 1), "eigenvalue": eigenvalues,
                            "kept": np.arange(len(eigenvalues)) < k}), out_eigenvalues)
    rule_summary(f"{len(iids):,} samples, {len(eigenvalues):,} eigenvalues", f"{k} components kept")
    return k


def write_folds(bfile: str | Path, pheno: str | Path, traits: Sequence[str], out: str | Path, *, k: int,
                repeats: int, seed: int, covar: str | Path | None = None, covariates: list[str] | None = None,
                fold_file: str | Path | None = None) -> pd.DataFrame:
    """The folds of the analysed samples (genotyped, a phenotype, complete covariates): random k-fold per repeat
    (:func:`phenomap.grvsnn.cv.make_folds`) or the user's ``fold_file`` (:func:`phenomap.grvsnn.cv.read_folds`)."""
    data = cv.load_prediction_data(bfile, pheno, traits, covar=covar, covariates=covariates)
    folds = (cv.read_folds(fold_file, data.samples) if fold_file
             else cv.make_folds(data.samples, k=k, repeats=repeats, seed=seed))
    write_tsv(folds, out)
    rule_summary(f"{len(data.samples):,} analysed samples",
                 f"{folds.fold.nunique()} folds x {folds['repeat'].nunique()} repeats")
    return folds


def fold_count(folds_tsv: str | Path) -> tuple[int, int]:
    """(repeats, folds per repeat) of a fold file."""
    folds = read_tsv(folds_tsv)
    return int(folds["repeat"].max()) + 1, int(folds.fold.max()) + 1


def run_cv_fold(bfile: str | Path, pheno: str | Path, traits: Sequence[str], folds_tsv: str | Path, *, repeat: int,
                fold: int, out_metrics: str | Path, out_selected: str | Path, out_predictions: str | Path,
                covar: str | Path | None = None, covariates: list[str] | None = None,
                loadings_tsv: str | Path | None = None, study_path: str | Path | None = None,
                **options) -> cv.FoldResult:
    """One cross-validation fold (:func:`phenomap.grvsnn.cv.run_fold`, ``options`` passed on) written as three TSVs.

    The hyperparameter search of this run starts afresh in ``study_path`` (an existing journal, from an
    earlier run with maybe other settings, is removed); other processes may join it while it runs.
    """
    data = cv.load_prediction_data(bfile, pheno, traits, covar=covar, covariates=covariates, loadings=loadings_tsv)
    folds = read_tsv(folds_tsv)
    folds = folds[folds["repeat"] == repeat]
    keys = pd.MultiIndex.from_frame(folds[SAMPLE_KEYS].astype(str))
    rows = keys.get_indexer(pd.MultiIndex.from_frame(data.samples[SAMPLE_KEYS].astype(str)))
    if (rows < 0).any():
        i = int(np.flatnonzero(rows < 0)[0])
        raise InputError(f"fold file {folds_tsv} has no fold for sample {tuple(data.samples.iloc[i])} in repeat "
                         f"{repeat}: rerun the grvsnn_folds step.")
    is_test = folds.fold.to_numpy()[rows] == fold
    log.info("repeat %d, fold %d: %d training and %d test samples", repeat, fold, (~is_test).sum(), is_test.sum())
    if study_path is not None:
        Path(study_path).parent.mkdir(parents=True, exist_ok=True)
        Path(study_path).unlink(missing_ok=True)
    result = cv.run_fold(data, is_test, repeat=repeat, fold=fold, study_path=study_path, **options)
    write_tsv(result.metrics, out_metrics)
    write_tsv(result.selected, out_selected)
    write_tsv(result.predictions, out_predictions)
    log.info("fold results:\n%s", result.metrics[["method", "trait", "r", "mse", "n_selected", "seconds"]]
             .to_string(index=False))
    rule_summary(f"repeat {repeat}, fold {fold}: {is_test.sum():,} test samples x {len(traits)} traits",
                 _versus_best_baseline(result.metrics.groupby("method").r.mean(), "test r"))
    return result


def _versus_best_baseline(r: pd.Series, what: str) -> str:
    """``r`` (method -> mean r over traits) as 'GRVSNN <what> 0.41 vs best baseline ridge 0.38'."""
    ours = r[r.index.isin(cv.GRVSNN_METHODS)]
    baselines = r[r.index.isin(BASELINE_ORDER)]
    text = ", ".join(f"{method} {what} {value:.3f}" for method, value in ours.items())
    if len(baselines):
        text += f" vs best baseline {baselines.idxmax()} {baselines.max():.3f}"
    return text or "no method scored"


def comparison_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per method and trait: mean and SE over folds of r, MSE, dCor, selected features and seconds, and for GRVSNN
    methods the paired difference of r and MSE to the trait's best baseline (highest mean r) over the same folds.

    The SE of a mean over folds is SD / sqrt(folds); folds of one repeat share training samples,
    so it understates the uncertainty (Bengio & Grandvalet 2004): read it as a lower bound.
    """
    rows = []
    for (method, trait), group in metrics.groupby(["method", "trait"], sort=False):
        row = {"method": method, "trait": trait, "folds": len(group)}
        for column in ("r", "mse", "dcor", "n_selected", "seconds"):
            values = group[column].astype(float)
            row[f"{column}_mean"] = values.mean()
            row[f"{column}_se"] = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    for trait, group in table.groupby("trait"):
        baselines = group[group.method.isin(BASELINE_ORDER)]
        if baselines.empty:
            continue
        best = baselines.loc[baselines.r_mean.idxmax(), "method"]
        table.loc[group.index, "best_baseline"] = best
        reference = metrics[(metrics.trait == trait) & (metrics.method == best)].set_index(["repeat", "fold"])
        for i in group.index[group.method.isin(cv.GRVSNN_METHODS)]:
            ours = metrics[(metrics.trait == trait) & (metrics.method == table.method[i])].set_index(["repeat", "fold"])
            paired = ours.join(reference, rsuffix="_ref", how="inner")
            for column in ("r", "mse"):
                diff = paired[column] - paired[f"{column}_ref"]
                table.loc[i, f"{column}_diff"] = diff.mean()
                table.loc[i, f"{column}_diff_se"] = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            table.loc[i, "folds_r_better"] = int((paired.r > paired.r_ref).sum())
    return table


def selection_frequency(selected: pd.DataFrame, metrics: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """Per feature: the share of folds in which each method selected it (``<method>`` columns; ``trait`` = all for
    a multi-task model, else the trait)."""
    out = pd.DataFrame({"feature": list(feature_names)})
    folds = metrics.groupby(["method", "trait"])[["repeat", "fold"]].apply(lambda g: len(g.drop_duplicates()))
    for (method, trait), group in selected.groupby(["method", "trait"]):
        n_folds = folds.loc[method].max() if trait == "all" else folds.loc[(method, trait)]
        share = group.feature.value_counts() / n_folds
        out[f"{method}:{trait}"] = out.feature.map(share).fillna(0.0)
    return out


def summarise_cv(metric_paths: Sequence[str | Path], selected_paths: Sequence[str | Path], bfile: str | Path,
                 out_metrics: str | Path, out_comparison: str | Path, out_selection: str | Path,
                 out_boxplot: str | Path, out_selection_figure: str | Path, *, loadings_tsv: str | Path | None = None,
                 title: str = "") -> pd.DataFrame:
    """Gather every fold: the per-fold table, the comparison, selection frequencies and two figures."""
    from phenomap.report.plots import cv_boxplot, selection_manhattan

    metrics = pd.concat([read_tsv(p) for p in metric_paths], ignore_index=True)
    selected = pd.concat([read_tsv(p) for p in selected_paths], ignore_index=True)
    write_tsv(metrics, out_metrics)
    comparison = comparison_table(metrics)
    write_tsv(comparison, out_comparison)
    bim = Bfile.open(bfile).bim
    loading_names = [] if loadings_tsv is None else [c for c in read_tsv(loadings_tsv).columns if c not in SAMPLE_KEYS]
    frequency = selection_frequency(selected, metrics, loading_names + list(bim.ID))
    write_tsv(frequency, out_selection)
    cv_boxplot(metrics, out_boxplot, title=title)
    markers = frequency.iloc[len(loading_names):].reset_index(drop=True)
    column = next((c for c in markers.columns if c.startswith("grvsnn:")), None)
    selection_manhattan(bim, markers[column] if column else pd.Series(0.0, index=markers.index),
                        out_selection_figure, title=f"{title}: {column or 'no GRVSNN'} selection frequency")
    for row in comparison.itertuples():
        log.info("%s %s: r %.3f ± %.3f, MSE %.3f ± %.3f%s", row.method, row.trait, row.r_mean, row.r_se, row.mse_mean,
                 row.mse_se, f" (vs {row.best_baseline}: r {row.r_diff:+.3f} ± {row.r_diff_se:.3f})"
                 if isinstance(getattr(row, "r_diff", None), float) and not np.isnan(row.r_diff) else "")
    rule_summary(f"{len(metric_paths):,} folds x {comparison.trait.nunique()} traits x "
                 f"{comparison.method.nunique()} methods",
                 _versus_best_baseline(comparison.groupby("method").r_mean.mean(), "mean r"))
    return comparison
