"""Cross-validation of genomic prediction: folds, fold-wise feature scaling, fixed effects, metrics.

Everything a model learns from the data is fitted on the training fold only:

* **Features**: markers (allele counts) are mean-imputed with the training fold's means and
  standardised with its means and SDs (a column constant in the training fold becomes 0);
  relationship loadings are standardised the same way.
* **Fixed effects**: each trait is regressed on an intercept and the covariates by least
  squares on the training fold's phenotyped samples; models (GRVSNN and every baseline alike)
  learn the residual, standardised with the training fold's residual SD; a test prediction is
  the covariates' fitted value plus the model's prediction of the residual, in trait units.
* **Metrics** per fold and trait, on the test fold's phenotyped samples: MSE of the
  standardised trait (trait units divided by the training fold's phenotypic SD, so traits are
  comparable), Pearson r and distance correlation (Székely's dCor, the square root of
  dCov² / sqrt(dVar²(x) dVar²(y)); 0 only under independence).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.tables import SAMPLE_KEYS, read_sample_table

log = logging.getLogger(__name__)

FOLD_COLUMNS = ["FID", "IID", "repeat", "fold"]
CONSTANT_SD = 1e-8
"""A feature whose SD in the training fold is at most this is constant there (see `Scaler`)."""


def make_folds(samples: pd.DataFrame, *, k: int, repeats: int, seed: int) -> pd.DataFrame:
    """Random k-fold assignments, one per repeat: ``FID IID repeat fold`` (fold 0..k-1, sizes within 1).

    Repeat r permutes the samples with ``SeedSequence([seed, r])``, so adding repeats keeps the
    earlier ones.
    """
    n = len(samples)
    if k < 2 or k > n:
        raise InputError(f"cross-validation needs 2 <= folds <= samples; got {k} folds for {n} samples.")
    if repeats < 1:
        raise InputError(f"cross-validation needs at least one repeat, got {repeats}.")
    parts = []
    for r in range(repeats):
        order = np.random.default_rng([seed, r]).permutation(n)
        fold = np.empty(n, dtype=np.int64)
        fold[order] = np.arange(n) % k
        parts.append(samples[SAMPLE_KEYS].reset_index(drop=True).assign(repeat=r, fold=fold))
    return pd.concat(parts, ignore_index=True)[FOLD_COLUMNS]


def read_folds(path: str | Path, samples: pd.DataFrame) -> pd.DataFrame:
    """A user's fold file ``FID IID fold`` (optionally ``repeat``), checked against the analysed samples.

    Every analysed sample must have exactly one fold per repeat; rows of samples not analysed
    are ignored (counted in the log). Folds are renumbered 0..k-1 in sorted order of their labels.
    """
    table = read_sample_table(path, what="fold")
    if "fold" not in table.columns:
        raise InputError(f"fold file {path} has no 'fold' column: give FID IID fold (and optionally repeat).")
    table = table.assign(repeat=table["repeat"] if "repeat" in table.columns else 0)
    if table[["fold", "repeat"]].isna().any().any():
        raise InputError(f"fold file {path} has a missing fold or repeat; give every sample one.")
    keys = pd.MultiIndex.from_frame(samples[SAMPLE_KEYS].astype(str))
    out = []
    for repeat, rows in table.groupby("repeat", sort=True):
        index = pd.MultiIndex.from_frame(rows[SAMPLE_KEYS])
        if index.duplicated().any():
            raise InputError(f"fold file {path}: sample {index[index.duplicated()][0]} appears twice in repeat "
                             f"{repeat:g}.")
        missing = ~keys.isin(index)
        if missing.any():
            raise InputError(f"fold file {path}: {int(missing.sum())} analysed samples have no fold in repeat "
                             f"{repeat:g} (e.g. {keys[missing][0]}); list every genotyped, phenotyped sample.")
        fold = rows.set_index(SAMPLE_KEYS).fold.reindex(keys)
        labels = np.unique(fold)
        if len(labels) < 2:
            raise InputError(f"fold file {path}: repeat {repeat:g} has a single fold; give at least two.")
        out.append(samples[SAMPLE_KEYS].reset_index(drop=True).assign(
            repeat=int(repeat), fold=np.searchsorted(labels, fold.to_numpy())))
        log.info("fold file %s, repeat %g: %d folds; %d rows of samples not analysed", path, repeat, len(labels),
                 len(rows) - int(keys.isin(index).sum()))
    return pd.concat(out, ignore_index=True)[FOLD_COLUMNS]


@dataclass(frozen=True)
class Scaler:
    """Column means and SDs of a training fold; a constant column's SD is stored as inf, so it scales to 0.

    Constant means an SD below :data:`CONSTANT_SD`: features are allele counts or relationship
    loadings (entries of order 0.01-1), so an SD that small is rounding error. A loading that
    lives only on individuals outside the training fold (a family absent from it) has such an
    SD, and dividing by it would blow the test fold's values up by 1e15.
    """

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        """Means and SDs over the rows of ``X`` (n, p), NaN ignored; a column without values has mean 0."""
        with np.errstate(invalid="ignore"):
            counts = np.sum(~np.isnan(X), axis=0)
            mean = np.where(counts > 0, np.nansum(X, axis=0) / np.maximum(counts, 1), 0.0)
            sd = np.sqrt(np.nansum((X - mean) ** 2, axis=0) / np.maximum(counts - 1, 1))
        return cls(mean=mean, sd=np.where(sd > CONSTANT_SD, sd, np.inf))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X - mean) / sd as float32, with NaN (missing) set to 0, i.e. the training mean."""
        Z = (np.asarray(X, dtype=np.float64) - self.mean) / self.sd
        return np.nan_to_num(Z, nan=0.0).astype(np.float32)


@dataclass(frozen=True)
class FixedEffects:
    """Least-squares fit of one trait on an intercept and covariates, on the training fold."""

    coef: np.ndarray
    residual_sd: float

    @classmethod
    def fit(cls, y: np.ndarray, C: np.ndarray | None) -> FixedEffects:
        """``y`` (n,) observed values (no NaN), ``C`` (n, c) covariates or None."""
        D = _design(C, len(y))
        coef, *_ = np.linalg.lstsq(D, y, rcond=None)
        residual = y - D @ coef
        sd = float(np.std(residual, ddof=D.shape[1]))
        if not sd > 0:
            raise InputError("a trait has no variance left after the covariates in a training fold; "
                             "check the trait and the covariates.")
        return cls(coef=coef, residual_sd=sd)

    def fitted(self, C: np.ndarray | None, n: int) -> np.ndarray:
        """Covariates' fitted value for ``n`` samples."""
        return _design(C, n) @ self.coef

    def target(self, y: np.ndarray, C: np.ndarray | None) -> np.ndarray:
        """Standardised residual: what the models learn."""
        return (y - self.fitted(C, len(y))) / self.residual_sd

    def predict(self, model_output: np.ndarray, C: np.ndarray | None) -> np.ndarray:
        """Trait-unit prediction from a model's standardised residual prediction."""
        return self.fitted(C, len(model_output)) + self.residual_sd * model_output


def _design(C: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones((n, 1)) if C is None or C.shape[1] == 0 else np.column_stack([np.ones(n), C])


def distance_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Székely's distance correlation of two samples (n,), in [0, 1]; 0 when either is constant.

    dCor = sqrt(dCov²(x, y) / sqrt(dVar²(x) dVar²(y))), with dCov² the mean product of the
    double-centred distance matrices (the V-statistic). O(n²) memory; n is a test fold.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a, b = _double_centred(x), _double_centred(y)
    dvar = np.mean(a * a) * np.mean(b * b)
    if dvar <= 0:
        return 0.0
    return float(np.sqrt(max(np.mean(a * b), 0.0) / np.sqrt(dvar)))


def _double_centred(v: np.ndarray) -> np.ndarray:
    d = np.abs(v[:, None] - v[None, :])
    return d - d.mean(axis=0) - d.mean(axis=1)[:, None] + d.mean()


def prediction_metrics(observed: np.ndarray, predicted: np.ndarray, sd: float) -> dict[str, float]:
    """MSE of the trait standardised by ``sd`` (the training fold's phenotypic SD), Pearson r and dCor."""
    error = (observed - predicted) / sd
    constant = np.ptp(predicted) == 0 or np.ptp(observed) == 0
    return {
        "mse": float(np.mean(error**2)),
        "r": np.nan if constant else float(np.corrcoef(observed, predicted)[0, 1]),
        "dcor": distance_correlation(observed, predicted),
    }


# --- data and one fold -------------------------------------------------------------------------------

#: Method names: GRVSNN on all traits at once, GRVSNN one trait at a time, then the baselines.
GRVSNN_METHODS = ("grvsnn", "grvsnn_single")
METRIC_COLUMNS = ["repeat", "fold", "method", "trait", "n_train", "n_test", "mse", "r", "dcor", "n_selected",
                  "seconds"]
SELECTED_COLUMNS = ["repeat", "fold", "method", "trait", "feature", "weight"]
PREDICTION_COLUMNS = ["FID", "IID", "repeat", "fold", "trait", "method", "observed", "predicted"]


@dataclass(frozen=True)
class PredictionData:
    """Samples with genotypes and at least one phenotype, ready for cross-validation.

    Attributes
    ----------
    samples : (n, 2) ``FID IID``.
    features : (n, P) float32: the ``n_loadings`` relationship loadings (if any) then the
        markers' allele counts (0, 1, 2; NaN = missing call).
    feature_names : P names (loadings ``L1..Lk``, then variant IDs).
    traits : T trait names; ``phenotypes`` (n, T) float64, NaN = missing.
    covariates : (n, c) float64 fixed effects, or None.

    Raises InputError for inconsistent shapes or a marker code outside {0, 1, 2, missing}.
    """

    samples: pd.DataFrame
    features: np.ndarray
    feature_names: list[str]
    traits: list[str]
    phenotypes: np.ndarray
    covariates: np.ndarray | None
    n_loadings: int = 0

    def __post_init__(self):
        n, P = self.features.shape
        shapes = {"samples": len(self.samples), "phenotypes": self.phenotypes.shape[0],
                  "covariates": n if self.covariates is None else self.covariates.shape[0]}
        wrong = {name: size for name, size in shapes.items() if size != n}
        if wrong or len(self.feature_names) != P or self.phenotypes.shape[1] != len(self.traits):
            raise InputError(f"prediction data: {n} feature rows but {wrong or shapes}; {P} features but "
                             f"{len(self.feature_names)} names; {self.phenotypes.shape[1]} phenotype columns but "
                             f"{len(self.traits)} traits.")
        check_genotype_codes(self.features[:, self.n_loadings:], self.feature_names[self.n_loadings:])


def check_genotype_codes(G: np.ndarray, names) -> None:
    """Raise InputError naming the first feature holding a genotype code outside {0, 1, 2, missing}."""
    bad = ~(np.isnan(G) | np.isin(G, (0.0, 1.0, 2.0)))
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        value = G[:, j][bad[:, j]][0]
        raise InputError(f"marker {names[j]!r} has genotype code {value:g}; markers must be 0, 1, 2 or missing "
                         "(allele counts, e.g. from `plink2 --make-bed`).")


def load_prediction_data(bfile: str | Path, pheno: str | Path, traits, *, covar: str | Path | None = None,
                         covariates: list[str] | None = None, loadings: str | Path | None = None,
                         chunk: int = 4096) -> PredictionData:
    """Genotypes, phenotypes, covariates and relationship loadings of the samples in all of them.

    Samples are joined on (FID, IID) (:func:`phenomap.gpatlas.data.load_atlas_data` for the
    genotypes and traits). Samples missing a covariate are left out (counted in the log);
    every sample must have loadings (``FID IID L1..Lk``, as written by the loadings step).
    """
    from phenomap.gpatlas.data import load_atlas_data

    atlas = load_atlas_data(bfile, pheno, traits, chunk=chunk)
    keep = np.ones(len(atlas.samples), dtype=bool)
    C, names = None, []
    if covar is not None:
        table = read_sample_table(covar, what="covariate")
        names = [c for c in table.columns if c not in SAMPLE_KEYS] if covariates is None else list(covariates)
        unknown = sorted(set(names) - set(table.columns))
        if unknown:
            raise InputError(f"covariate file {covar} lacks {unknown}; columns: {list(table.columns[2:])}.")
        C = _aligned(table, atlas.samples, names, fill=True)
        keep &= ~np.isnan(C).any(axis=1)
        if (~keep).any():
            log.info("%d samples lack a covariate and are left out", int((~keep).sum()))
    G = atlas.states.astype(np.float32)
    G[atlas.states < 0] = np.nan
    features, feature_names = G, list(atlas.loci.ID)
    if loadings is not None:
        table = read_sample_table(loadings, what="loadings")
        columns = [c for c in table.columns if c not in SAMPLE_KEYS]
        L = _aligned(table, atlas.samples, columns, fill=False, source=f"loadings file {loadings}")
        features, feature_names = np.hstack([L.astype(np.float32), G]), columns + feature_names
    data = PredictionData(
        samples=atlas.samples[keep].reset_index(drop=True), features=features[keep], feature_names=feature_names,
        traits=list(atlas.traits), phenotypes=atlas.phenotypes[keep], covariates=None if C is None else C[keep],
        n_loadings=len(feature_names) - G.shape[1],
    )
    log.info("prediction data: %d samples x %d features (%d markers), %d traits, %d covariates",
             len(data.samples), len(feature_names), G.shape[1], len(data.traits), len(names))
    return data


def _aligned(table: pd.DataFrame, samples: pd.DataFrame, columns: list[str], *, fill: bool,
             source: str = "") -> np.ndarray:
    """``table[columns]`` in the order of ``samples`` (joined on FID, IID); NaN rows where absent if ``fill``."""
    index = pd.MultiIndex.from_frame(table[SAMPLE_KEYS].astype(str))
    rows = index.get_indexer(pd.MultiIndex.from_frame(samples[SAMPLE_KEYS].astype(str)))
    if not fill and (rows < 0).any():
        i = int(np.flatnonzero(rows < 0)[0])
        raise InputError(f"{source} has no row for sample FID={samples.FID.iloc[i]} IID={samples.IID.iloc[i]} "
                         f"({int((rows < 0).sum())} samples missing); rerun the loadings step.")
    values = table[columns].to_numpy(dtype=np.float64)
    out = np.full((len(samples), len(columns)), np.nan)
    out[rows >= 0] = values[rows[rows >= 0]]
    return out


@dataclass(frozen=True)
class FoldResult:
    """Tables of one fold: ``metrics`` (METRIC_COLUMNS), ``selected`` (SELECTED_COLUMNS), ``predictions``
    (PREDICTION_COLUMNS) and ``tuning`` (one row per search trial: ``number value params_* user_attrs_*``;
    empty without a search)."""

    metrics: pd.DataFrame
    selected: pd.DataFrame
    predictions: pd.DataFrame
    tuning: pd.DataFrame


def run_fold(data: PredictionData, is_test: np.ndarray, *, methods, hyperparameters, baselines=None,
             validation_fraction: float = 0.15, selection_threshold: float = 0.05, tune_trials: int = 0,
             study_path: str | Path | None = None, seed: int = 0, threads: int | None = 1, device="cpu",
             repeat: int = 0, fold: int = 0) -> FoldResult:
    """Train every method on the training samples (``~is_test``) and score it on the test samples.

    Parameters
    ----------
    data : the cohort (see :class:`PredictionData`).
    is_test : (n,) bool test membership of this fold.
    methods : names among ``grvsnn`` (all traits at once), ``grvsnn_single`` (one model per
        trait) and :data:`phenomap.grvsnn.baselines.METHODS`.
    hyperparameters : :class:`phenomap.grvsnn.train.Hyperparameters` of GRVSNN; with
        ``tune_trials`` > 0 they are the starting point of a TPE search (:mod:`phenomap.grvsnn.tune`)
        stored in ``study_path``, whose best trial's values are used by both GRVSNN methods.
    baselines : method -> settings mapping for :func:`phenomap.grvsnn.baselines.fit_predict`.
    validation_fraction : share of the training samples GRVSNN holds out for early stopping
        (and the search); the baselines tune on the training samples by their own rules.
    selection_threshold : GRVSNN's selected features have a selection weight of at least this
        fraction of the largest (:func:`phenomap.grvsnn.model.selected_features`).

    Features and fixed effects are fitted on the training samples only (module docstring). A
    trait without a phenotyped test (or training) sample in this fold is skipped with a warning.
    """
    from phenomap.grvsnn import baselines as baseline_module
    from phenomap.grvsnn.model import selected_features
    from phenomap.grvsnn.train import fit, predict

    unknown = sorted(set(methods) - set(GRVSNN_METHODS) - set(baseline_module.METHODS))
    if unknown:
        raise InputError(f"unknown prediction method(s) {unknown}; choose from "
                         f"{', '.join(GRVSNN_METHODS + baseline_module.METHODS)}.")
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    scaler = Scaler.fit(data.features[train])
    X_train, X_test = scaler.transform(data.features[train]), scaler.transform(data.features[test])
    C = data.covariates
    C_train, C_test = (None, None) if C is None else (C[train], C[test])
    Y_train, Y_test = data.phenotypes[train], data.phenotypes[test]
    usable = [t for t, name in enumerate(data.traits) if _usable(Y_train[:, t], Y_test[:, t], name, repeat, fold)]

    fixed, targets = {}, np.full(Y_train.shape, np.nan)
    for t in usable:
        seen = ~np.isnan(Y_train[:, t])
        fixed[t] = FixedEffects.fit(Y_train[seen, t], None if C_train is None else C_train[seen])
        targets[seen, t] = fixed[t].target(Y_train[seen, t], None if C_train is None else C_train[seen])
    inner = np.random.default_rng([seed, repeat, fold]).random(len(train)) < validation_fraction

    metrics, selected, predictions = [], [], []

    def record(method, trait_indices, standardised, seconds, chosen, weights=None):
        for column, t in enumerate(trait_indices):
            seen = ~np.isnan(Y_test[:, t])
            predicted = fixed[t].predict(standardised[:, column], C_test)
            sd = float(np.nanstd(Y_train[:, t], ddof=1))
            metrics.append({"repeat": repeat, "fold": fold, "method": method, "trait": data.traits[t],
                            "n_train": int((~np.isnan(Y_train[:, t])).sum()), "n_test": int(seen.sum()),
                            **prediction_metrics(Y_test[seen, t], predicted[seen], sd),
                            "n_selected": int(chosen.sum()) if chosen is not None else len(data.feature_names),
                            "seconds": seconds})
            predictions.append(pd.DataFrame({
                "FID": data.samples.FID.iloc[test].to_numpy(), "IID": data.samples.IID.iloc[test].to_numpy(),
                "repeat": repeat, "fold": fold, "trait": data.traits[t], "method": method,
                "observed": Y_test[:, t], "predicted": predicted}))
        if chosen is not None:
            names = np.asarray(data.feature_names)[chosen]
            trait = "all" if len(trait_indices) > 1 else data.traits[trait_indices[0]]
            selected.append(pd.DataFrame({"repeat": repeat, "fold": fold, "method": method, "trait": trait,
                                          "feature": names, "weight": 1.0 if weights is None else weights[chosen]}))

    hp, tuning = hyperparameters, pd.DataFrame()
    if tune_trials and {"grvsnn", "grvsnn_single"} & set(methods) and usable:
        from phenomap.grvsnn.tune import tune

        hp, study = tune(X_train[~inner], targets[~inner][:, usable], X_train[inner], targets[inner][:, usable], hp,
                     n_trials=tune_trials, seed=seed, study_path=study_path, device=device, threads=threads)
        tuning = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs")).assign(
            repeat=repeat, fold=fold)
    groups = []
    if "grvsnn" in methods and usable:
        groups.append(("grvsnn", usable))
    if "grvsnn_single" in methods:
        groups += [("grvsnn_single", [t]) for t in usable]
    for method, trait_indices in groups:
        result = fit(X_train[~inner], targets[~inner][:, trait_indices], X_train[inner],
                     targets[inner][:, trait_indices], hp, seed=seed, device=device, threads=threads)
        chosen = np.zeros(len(result.selection_weights), dtype=bool)
        chosen[selected_features(result.selection_weights, selection_threshold)] = True
        record(method, trait_indices, predict(result, X_test), result.seconds, chosen, result.selection_weights)
    for method in [m for m in methods if m not in GRVSNN_METHODS]:
        for t in usable:
            seen = ~np.isnan(targets[:, t])
            result = baseline_module.fit_predict(method, X_train[seen], targets[seen, t], X_test, seed=seed,
                                                 settings=(baselines or {}).get(method))
            log.info("%s %s: %.1f s, %s", method, data.traits[t], result.seconds, result.info)
            record(method, [t], result.prediction[:, None], result.seconds, result.selected)
    return FoldResult(
        metrics=pd.DataFrame(metrics, columns=METRIC_COLUMNS),
        selected=pd.concat(selected, ignore_index=True) if selected else pd.DataFrame(columns=SELECTED_COLUMNS),
        predictions=pd.concat(predictions, ignore_index=True) if predictions
        else pd.DataFrame(columns=PREDICTION_COLUMNS),
        tuning=tuning,
    )


def _usable(y_train: np.ndarray, y_test: np.ndarray, name: str, repeat: int, fold: int) -> bool:
    """A trait can be scored in a fold with >= 3 phenotyped training and >= 2 phenotyped test samples."""
    n_train, n_test = int((~np.isnan(y_train)).sum()), int((~np.isnan(y_test)).sum())
    if n_train >= 3 and n_test >= 2:
        return True
    log.warning("repeat %d, fold %d: trait %s has %d phenotyped training and %d test samples; skipped in this fold",
                repeat, fold, name, n_train, n_test)
    return False
