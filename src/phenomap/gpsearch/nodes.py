"""Pipeline nodes of the search: SNP set → LD pruning → feature selection → regressor.

Nodes are plain dataclasses that round-trip through JSON (no pickles). A :class:`Pipeline`
builds a real scikit-learn estimator with :meth:`Pipeline.to_sklearn`; its input is a
DataFrame of raw allele counts (0/1/2, NaN = missing) whose columns are the SNP IDs, and
the steps pass the surviving SNP IDs on as column names (``set_output(transform="pandas")``):

    ld (LDPruner, raw → raw) → encode (GenotypeEncoder, raw → [0, 1]) → select → regress

except that the allele-frequency filter, which needs allele counts, runs before ``encode``.
The whole pipeline sits in a ``TransformedTargetRegressor`` that standardises the phenotype
with its training mean and SD, so hyperparameters that depend on the phenotype's scale
(Lasso alpha, SVR epsilon, SGD alpha) are in phenotype-SD units.

Every tunable node draws its hyperparameters from a finite grid (its ``SPACE``, shown in
each class docstring): ``random(rng)`` draws a kind and one value per parameter,
``mutate(rng)`` moves one parameter to a neighbouring grid value (numeric) or another value
(categorical).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.feature_selection import (
    SelectFromModel,
    SelectFwe,
    SelectorMixin,
    SelectPercentile,
    VarianceThreshold,
    f_regression,
)
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, SGDRegressor
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR, LinearSVR
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import (
    FIXED_ENCODINGS,
    check_encoding,
    check_genotypes,
    class_counts_and_sums,
    class_values,
    pager_values,
)


def _grid(start: float, stop: float, step: float, digits: int = 6) -> tuple[float, ...]:
    """Inclusive arithmetic grid as plain floats (JSON-exact)."""
    return tuple(round(float(v), digits) for v in np.arange(start, stop + step / 2, step))


def _log_grid(low_exp: float, high_exp: float, step: float = 0.5) -> tuple[float, ...]:
    """Inclusive grid of 10**e for e from low_exp to high_exp, 3 significant digits."""
    return tuple(float(f"{10**e:.3g}") for e in np.arange(low_exp, high_exp + step / 2, step))


# --------------------------------------------------------------------------- SNP node


@dataclass(frozen=True)
class SnpNode:
    """One SNP of a pipeline: its column ``index`` in the genotype matrix, ID, position, encoding.

    marginal_r2: validation r² under ``encoding`` from the SNP database (ranks SNPs in LD pruning).
    """

    id: str
    index: int
    chrom: str
    pos: int
    encoding: str
    marginal_r2: float

    def __post_init__(self):
        check_encoding(self.encoding)

    @classmethod
    def from_snpdb(cls, snpdb: pd.DataFrame, index: int) -> SnpNode:
        """The SNP in row ``index`` of a SNP database table (rows in genotype column order)."""
        row = snpdb.iloc[index]
        return cls(str(row.ID), int(index), str(row.CHROM), int(row.POS), str(row.best_encoding), float(row.best_r2))


def _fit_encoding(G: np.ndarray, y: np.ndarray, encodings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Class values (k, 3) per column (PAGER fitted on G, y) and training means (k,) of the encoded columns."""
    values = np.array([FIXED_ENCODINGS.get(e, (np.nan,) * 3) for e in encodings], dtype=float).reshape(-1, 3)
    counts, sums = class_counts_and_sums(G, y)
    is_pager = np.array([e == "pager" for e in encodings], dtype=bool)
    values[is_pager] = pager_values(counts[is_pager], sums[is_pager])
    means = (values * counts).sum(axis=1) / np.maximum(counts.sum(axis=1), 1)
    return values, means


def _apply_encoding(G: np.ndarray, values: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Encode G (n, k) with class values (k, 3); missing calls get the training means (k,)."""
    encoded = class_values(G, values)
    return np.where(np.isnan(encoded), means, encoded)


def _snp_lookup(snps: tuple[SnpNode, ...], columns) -> list[SnpNode]:
    by_id = {s.id: s for s in snps}
    unknown = [c for c in columns if c not in by_id]
    if unknown:
        raise InputError(f"genotype columns {unknown[:5]} are not among the pipeline's SNPs.")
    return [by_id[c] for c in columns]


class _AllowNaN:
    """Mixin: declare that missing genotypes (NaN) are accepted."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class GenotypeEncoder(_AllowNaN, TransformerMixin, BaseEstimator):
    """Encode each raw genotype column with its SNP's encoding, imputing the training mean.

    snps: the pipeline's SNP nodes, looked up by column name. fit(X, y): X (n, k) DataFrame
    of allele counts named by SNP ID; PAGER columns are fitted on (X, y).
    """

    def __init__(self, snps: tuple[SnpNode, ...] = ()):
        self.snps = snps

    def fit(self, X, y):
        G = check_genotypes(validate_data(self, X, ensure_all_finite="allow-nan"))
        nodes = _snp_lookup(self.snps, self.feature_names_in_)
        self.values_, self.means_ = _fit_encoding(G, np.asarray(y, dtype=float), [s.encoding for s in nodes])
        return self

    def transform(self, X):
        check_is_fitted(self)
        G = check_genotypes(validate_data(self, X, ensure_all_finite="allow-nan", reset=False))
        return _apply_encoding(G, self.values_, self.means_)

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_.copy()


# --------------------------------------------------------------------------- LD pruning


def ld_groups(chrom: np.ndarray, pos: np.ndarray, max_distance: int) -> np.ndarray:
    """Group label (k,) per SNP: per chromosome in position order, a new group starts where the
    gap to the previous SNP exceeds ``max_distance`` bp."""
    order = np.lexsort((pos, chrom))
    new = np.r_[True, (chrom[order][1:] != chrom[order][:-1]) | (np.diff(pos[order]) > max_distance)]
    labels = np.empty(len(order), dtype=np.int64)
    labels[order] = np.cumsum(new) - 1
    return labels


def _squared_correlation(A: np.ndarray) -> np.ndarray:
    """Squared Pearson r (k, k) between columns of A (n, k); 0 for a constant column."""
    centred = A - A.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    unit = centred / np.where(norm > 0, norm, 1.0)
    return (unit.T @ unit) ** 2


def conditional_pvalues(y: np.ndarray, anchor: np.ndarray, X: np.ndarray) -> np.ndarray:
    """F-test p-value (c,) of adding each column of X (n, c) to ``y ~ 1 + anchor`` (n,).

    Equivalent to the Wald test of the column's slope in ``y ~ 1 + anchor + x``; a column
    collinear with the anchor gets p = 1.
    """
    Z = np.column_stack([np.ones(len(y)), anchor])
    residual = lambda M: M - Z @ np.linalg.lstsq(Z, M, rcond=None)[0]  # noqa: E731
    ry, RX = residual(y), residual(X)
    sxx = (RX**2).sum(axis=0)
    sxy = RX.T @ ry
    explained = np.where(sxx > 1e-12 * len(y), sxy**2 / np.where(sxx > 0, sxx, 1.0), 0.0)
    rss_full = np.maximum(ry @ ry - explained, 1e-300)
    df = len(y) - 3
    return stats.f.sf(explained / (rss_full / df), 1, df)


class LDPruner(_AllowNaN, SelectorMixin, BaseEstimator):
    """StarBASE-GP LD pruning with conditional analysis (section III-B2) as a feature selector.

    Per LD group (:func:`ld_groups`, ``max_distance`` bp), SNPs are visited by decreasing
    marginal r² and kept unless their squared correlation (additive encoding, training
    samples) with an already kept SNP exceeds ``r2_threshold``. The best kept SNP is the
    anchor; every other kept SNP must then add to the anchor, under its own encoding, by a
    conditional F-test (:func:`conditional_pvalues`) at Benjamini-Hochberg FDR ``alpha``
    over the group's tests. Input and output are raw allele counts; ``dropped_`` lists the
    IDs removed.
    """

    def __init__(self, snps: tuple[SnpNode, ...] = (), r2_threshold: float = 0.8, max_distance: int = 500_000,
                 alpha: float = 0.05):
        self.snps = snps
        self.r2_threshold = r2_threshold
        self.max_distance = max_distance
        self.alpha = alpha

    def fit(self, X, y):
        G = check_genotypes(validate_data(self, X, ensure_all_finite="allow-nan"))
        y = np.asarray(y, dtype=float)
        nodes = _snp_lookup(self.snps, self.feature_names_in_)
        encoded = _apply_encoding(G, *_fit_encoding(G, y, [s.encoding for s in nodes]))
        additive = _apply_encoding(G, *_fit_encoding(G, y, ["additive"] * len(nodes)))
        marginal = np.array([s.marginal_r2 for s in nodes])
        groups = ld_groups(np.array([s.chrom for s in nodes]), np.array([s.pos for s in nodes]), self.max_distance)
        keep = np.zeros(len(nodes), dtype=bool)
        for group in np.unique(groups):
            members = np.flatnonzero(groups == group)
            members = members[np.argsort(-marginal[members], kind="stable")]
            ld = _squared_correlation(additive[:, members])
            kept: list[int] = []
            for i in range(len(members)):
                if all(ld[i, j] <= self.r2_threshold for j in kept):
                    kept.append(i)
            anchor, others = members[kept[0]], members[kept[1:]]
            keep[anchor] = True
            if len(others):
                p = conditional_pvalues(y, encoded[:, anchor], encoded[:, others])
                keep[others] = stats.false_discovery_control(p, method="bh") < self.alpha
        self.support_ = keep
        self.dropped_ = [s.id for s, k in zip(nodes, keep, strict=True) if not k]
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_


class AlleleFrequencyFilter(_AllowNaN, SelectorMixin, BaseEstimator):
    """Keep SNPs with minor allele frequency >= ``min_maf`` and no genotype class more
    frequent than ``max_genotype_freq`` (training samples, missing calls excluded).

    Input and output are raw allele counts (n, k).
    """

    def __init__(self, min_maf: float = 0.05, max_genotype_freq: float = 0.95):
        self.min_maf = min_maf
        self.max_genotype_freq = max_genotype_freq

    def fit(self, X, y=None):
        G = check_genotypes(validate_data(self, X, ensure_all_finite="allow-nan"))
        counts, _ = class_counts_and_sums(G, np.zeros(len(G)))
        n_called = np.maximum(counts.sum(axis=1), 1)
        freq = (counts[:, 1] + 2 * counts[:, 2]) / (2 * n_called)
        self.maf_ = np.minimum(freq, 1 - freq)
        self.support_ = (self.maf_ >= self.min_maf) & (counts.max(axis=1) / n_called <= self.max_genotype_freq)
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_


class ForwardTreeSelector(SelectorMixin, BaseEstimator):
    """Greedy forward selection of features for a shallow regression tree.

    The training samples are split in half once (``random_state``); starting from no
    feature, each step adds the feature whose addition gives the highest r² of a
    ``DecisionTreeRegressor(max_depth)`` fitted on the first half and scored on the
    second, and stops when the best addition gains less than ``tol`` r² (or at
    ``max_features``). The first feature is always kept. One split and one fit per
    candidate make it ~10x cheaper than scikit-learn's forward ``SequentialFeatureSelector``
    with 3-fold cross-validation, ~90x than its backward one (docs/benchmarks.md, StarBASE-GP).
    X (n, k) encoded features; ``support_`` (k,) the selected ones.
    """

    def __init__(self, max_depth: int = 3, tol: float = 0.0025, max_features: int = 10, random_state: int = 0):
        self.max_depth = max_depth
        self.tol = tol
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X, y):
        X = validate_data(self, X)
        y = np.asarray(y, dtype=float)
        first = np.random.default_rng(self.random_state).permutation(len(y)) < len(y) // 2
        X_fit, y_fit, X_test, y_test = X[first], y[first], X[~first], y[~first]
        sst = ((y_test - y_test.mean()) ** 2).sum()
        selected: list[int] = []
        score = 0.0
        while len(selected) < min(self.max_features, X.shape[1]):
            candidates = [j for j in range(X.shape[1]) if j not in selected]
            scores = []
            for j in candidates:
                tree = DecisionTreeRegressor(max_depth=self.max_depth, random_state=self.random_state)
                fitted = tree.fit(X_fit[:, selected + [j]], y_fit)
                sse = ((y_test - fitted.predict(X_test[:, selected + [j]])) ** 2).sum()
                scores.append(1 - sse / sst if sst > 0 else 0.0)
            best = int(np.argmax(scores))
            if selected and scores[best] - score < self.tol:
                break
            selected.append(candidates[best])
            score = scores[best]
        self.support_ = np.isin(np.arange(X.shape[1]), selected)
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_


# --------------------------------------------------------------------------- grid nodes


@dataclass(frozen=True)
class GridNode:
    """A node of kind ``kind`` with hyperparameters ``params`` drawn from ``SPACE[kind]``."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    SPACE: ClassVar[dict[str, dict[str, tuple]]] = {}

    def __post_init__(self):
        if self.kind not in self.SPACE:
            raise InputError(f"unknown {type(self).__name__} kind {self.kind!r}; choose one of {', '.join(self.SPACE)}.")
        space = self.SPACE[self.kind]
        if set(self.params) != set(space):
            raise InputError(f"{type(self).__name__} {self.kind!r} takes parameters {sorted(space)}, "
                             f"got {sorted(self.params)}.")
        for name, value in self.params.items():
            if value not in space[name]:
                raise InputError(f"{type(self).__name__} {self.kind!r}: {name}={value!r} is outside its "
                                 f"range {space[name]}.")

    @classmethod
    def random(cls, rng: np.random.Generator, kind: str | None = None) -> GridNode:
        """A node of ``kind`` (default: drawn uniformly) with every parameter drawn uniformly from its grid."""
        kind = str(rng.choice(list(cls.SPACE))) if kind is None else kind
        return cls(kind, {name: grid[rng.integers(len(grid))] for name, grid in cls.SPACE.get(kind, {}).items()})

    def mutate(self, rng: np.random.Generator) -> GridNode:
        """A copy with one parameter moved: to a neighbouring value (numeric grids) or another value."""
        space = self.SPACE[self.kind]
        if not space:
            return self
        name = str(rng.choice(list(space)))
        grid, now = space[name], space[name].index(self.params[name])
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in grid)
        if len(grid) == 1:
            return self
        if numeric:
            step = rng.choice([-1, 1]) if 0 < now < len(grid) - 1 else (1 if now == 0 else -1)
            new = grid[now + step]
        else:
            new = grid[rng.choice([i for i in range(len(grid)) if i != now])]
        return replace(self, params={**self.params, name: new})


@dataclass(frozen=True)
class LDPruneNode(GridNode):
    """LD pruning (:class:`LDPruner`): ``r2_threshold`` 0.50-0.95 by 0.05, ``max_distance``
    500-1000 kb by 100 kb (the paper's defaults); BH FDR alpha fixed at 0.05."""

    kind: str = "ld_prune"
    SPACE: ClassVar = {"ld_prune": {"r2_threshold": _grid(0.5, 0.95, 0.05),
                                    "max_distance": tuple(range(500_000, 1_000_001, 100_000))}}

    def build(self, snps: tuple[SnpNode, ...]) -> LDPruner:
        return LDPruner(snps=snps, **self.params)


@dataclass(frozen=True)
class SelectorNode(GridNode):
    """Feature selection after LD pruning. Kinds and grids (features are encodings in [0, 1],
    the phenotype standardised):

    - ``variance``: VarianceThreshold, threshold 0-0.05 by 0.005.
    - ``percentile``: SelectPercentile(f_regression), percentile 10-100 by 10.
    - ``fwe``: SelectFwe(f_regression), alpha 0.001, 0.005, 0.01, 0.05, 0.1.
    - ``lasso``: SelectFromModel(Lasso), alpha 10^-4 to 10^-1 by 10^0.5.
    - ``extra_trees``: SelectFromModel(ExtraTreesRegressor with min_samples_leaf 5 and
      max_features sqrt), n_estimators 25/50, threshold mean/median.
    - ``sequential``: :class:`ForwardTreeSelector`, max_depth 2-5, tol (smallest r² gain
      that adds a feature) 0-0.01 by 0.0025, at most 10 features.
    - ``allele_frequency``: :class:`AlleleFrequencyFilter`, min_maf 0-0.2 by 0.01,
      max_genotype_freq 0.8-1.0 by 0.05 (runs on allele counts, before encoding).
    """

    SPACE: ClassVar = {
        "variance": {"threshold": _grid(0.0, 0.05, 0.005)},
        "percentile": {"percentile": tuple(range(10, 101, 10))},
        "fwe": {"alpha": (0.001, 0.005, 0.01, 0.05, 0.1)},
        "lasso": {"alpha": _log_grid(-4, -1)},
        "extra_trees": {"n_estimators": (25, 50), "threshold": ("mean", "median")},
        "sequential": {"max_depth": (2, 3, 4, 5), "tol": _grid(0.0, 0.01, 0.0025)},
        "allele_frequency": {"min_maf": _grid(0.0, 0.2, 0.01), "max_genotype_freq": _grid(0.8, 1.0, 0.05)},
    }

    def build(self, seed: int):
        p = self.params
        match self.kind:
            case "variance":
                return VarianceThreshold(p["threshold"])
            case "percentile":
                return SelectPercentile(f_regression, percentile=p["percentile"])
            case "fwe":
                return SelectFwe(f_regression, alpha=p["alpha"])
            case "lasso":
                return SelectFromModel(Lasso(alpha=p["alpha"], random_state=seed))
            case "extra_trees":
                trees = ExtraTreesRegressor(n_estimators=p["n_estimators"], min_samples_leaf=5, max_features="sqrt",
                                            random_state=seed, n_jobs=1)
                return SelectFromModel(trees, threshold=p["threshold"])
            case "sequential":
                return ForwardTreeSelector(max_depth=p["max_depth"], tol=p["tol"], random_state=seed)
            case "allele_frequency":
                return AlleleFrequencyFilter(**p)


@dataclass(frozen=True)
class RegressorNode(GridNode):
    """The regressor. Kinds and grids (phenotype standardised); the grids stop where one fit
    on a few thousand samples would cost more than ~0.5 s (docs/benchmarks.md, StarBASE-GP):

    - ``linear``: LinearRegression (no parameters).
    - ``elastic_net``: ElasticNet, alpha 10^-4 to 10^0 by 10^0.5, l1_ratio 0.1-1.0 by 0.1.
    - ``sgd``: SGDRegressor, alpha 10^-5 to 10^-1 by 10^0.5, penalty l2/l1/elasticnet.
    - ``svr``: C 10^-2 to 10^1 by 10^0.5, epsilon 0.01/0.05/0.1/0.2, kernel rbf (``SVR``) or
      linear (``LinearSVR``, liblinear: libsvm's linear kernel takes seconds at large C).
    - ``decision_tree``: DecisionTreeRegressor, max_depth 1-10, min_samples_leaf 1/2/5/10/20.
    - ``random_forest``: RandomForestRegressor, n_estimators 20/50/100, max_depth 2-8,
      min_samples_leaf 2/5/10/20, max_features sqrt/0.3.
    - ``gradient_boosting``: GradientBoostingRegressor, n_estimators 25/50/100,
      learning_rate 0.05/0.1/0.2, max_depth 1-3, subsample 0.5-1.0 by 0.1.
    """

    SPACE: ClassVar = {
        "linear": {},
        "elastic_net": {"alpha": _log_grid(-4, 0), "l1_ratio": _grid(0.1, 1.0, 0.1)},
        "sgd": {"alpha": _log_grid(-5, -1), "penalty": ("l2", "l1", "elasticnet")},
        "svr": {"C": _log_grid(-2, 1), "epsilon": (0.01, 0.05, 0.1, 0.2), "kernel": ("rbf", "linear")},
        "decision_tree": {"max_depth": tuple(range(1, 11)), "min_samples_leaf": (1, 2, 5, 10, 20)},
        "random_forest": {"n_estimators": (20, 50, 100), "max_depth": tuple(range(2, 9)),
                          "min_samples_leaf": (2, 5, 10, 20), "max_features": ("sqrt", 0.3)},
        "gradient_boosting": {"n_estimators": (25, 50, 100), "learning_rate": (0.05, 0.1, 0.2),
                              "max_depth": (1, 2, 3), "subsample": _grid(0.5, 1.0, 0.1)},
    }

    def build(self, seed: int):
        p = self.params
        match self.kind:
            case "linear":
                return LinearRegression()
            case "elastic_net":
                return ElasticNet(**p, random_state=seed)
            case "sgd":
                return SGDRegressor(**p, random_state=seed)
            case "svr" if p["kernel"] == "linear":
                return LinearSVR(C=p["C"], epsilon=p["epsilon"], random_state=seed, max_iter=2000)
            case "svr":
                return SVR(**p)
            case "decision_tree":
                return DecisionTreeRegressor(**p, random_state=seed)
            case "random_forest":
                return RandomForestRegressor(**p, random_state=seed, n_jobs=1)
            case "gradient_boosting":
                return GradientBoostingRegressor(**p, random_state=seed)


# --------------------------------------------------------------------------- pipeline


@dataclass
class Pipeline:
    """A candidate pipeline: SNP set, LD pruning, feature selection, regressor, and a seed for
    the stochastic estimators. ``fit`` stores the fitted scikit-learn model in ``model_``."""

    snps: tuple[SnpNode, ...]
    ld: LDPruneNode
    selector: SelectorNode
    regressor: RegressorNode
    seed: int = 0
    model_: TransformedTargetRegressor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.snps = tuple(self.snps)
        if not self.snps:
            raise InputError("a pipeline needs at least 1 SNP.")
        ids = [s.id for s in self.snps]
        if len(set(ids)) != len(ids):
            raise InputError(f"a pipeline's SNPs must be distinct; {sorted({i for i in ids if ids.count(i) > 1})} "
                             "occur more than once.")

    @classmethod
    def random(cls, rng: np.random.Generator, snpdb: pd.DataFrame, *, min_snps: int, max_snps: int,
               seed: int = 0) -> Pipeline:
        """A random pipeline of ``min_snps``-``max_snps`` distinct considered SNPs of the SNP database."""
        pool = np.flatnonzero(snpdb.considered.to_numpy())
        if not 1 <= min_snps <= max_snps:
            raise InputError(f"need 1 <= min_snps <= max_snps, got {min_snps} and {max_snps}.")
        if len(pool) < min_snps:
            raise InputError(f"the SNP database has {len(pool)} considered SNPs, fewer than min_snps={min_snps}; "
                             "lower min_snps or loosen the consideration criteria.")
        k = int(rng.integers(min_snps, min(max_snps, len(pool)) + 1))
        chosen = np.sort(rng.choice(pool, k, replace=False))
        return cls(tuple(SnpNode.from_snpdb(snpdb, int(i)) for i in chosen), LDPruneNode.random(rng),
                   SelectorNode.random(rng), RegressorNode.random(rng), seed)

    def to_sklearn(self) -> TransformedTargetRegressor:
        """The unfitted scikit-learn model (see the module text for its steps)."""
        encode = ("encode", GenotypeEncoder(snps=self.snps))
        select = ("select", self.selector.build(self.seed))
        middle = [select, encode] if self.selector.kind == "allele_frequency" else [encode, select]
        steps = [("ld", self.ld.build(self.snps)), *middle, ("regress", self.regressor.build(self.seed))]
        return TransformedTargetRegressor(SkPipeline(steps).set_output(transform="pandas"),
                                          transformer=StandardScaler())

    def features(self, G: np.ndarray) -> pd.DataFrame:
        """The pipeline's input: its SNPs' columns of G (n, m) allele counts, named by SNP ID."""
        return pd.DataFrame(np.asarray(G, dtype=float)[:, [s.index for s in self.snps]],
                            columns=[s.id for s in self.snps])

    def fit(self, G_train: np.ndarray, y_train: np.ndarray) -> Pipeline:
        """Fit on training genotypes G (n, m) (all SNPs, columns as in the SNP database) and y (n,)."""
        self.model_ = self.to_sklearn().fit(self.features(G_train), np.asarray(y_train, dtype=float))
        return self

    def predict(self, G: np.ndarray) -> np.ndarray:
        """Predicted phenotypes (n,) for genotypes G (n, m)."""
        if self.model_ is None:
            raise RuntimeError("call fit before predict")
        return self.model_.predict(self.features(G))

    def to_json(self) -> str:
        """The pipeline's nodes and seed as JSON (the fitted model is not included)."""
        return json.dumps({"snps": [asdict(s) for s in self.snps],
                           "ld": self.ld.params,
                           "selector": {"kind": self.selector.kind, "params": self.selector.params},
                           "regressor": {"kind": self.regressor.kind, "params": self.regressor.params},
                           "seed": self.seed})

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        """Rebuild a pipeline from :meth:`to_json` output; raise InputError on unknown nodes or values."""
        data = json.loads(text)
        try:
            return cls(tuple(SnpNode(**s) for s in data["snps"]), LDPruneNode(params=data["ld"]),
                       SelectorNode(**data["selector"]), RegressorNode(**data["regressor"]), int(data["seed"]))
        except (KeyError, TypeError) as err:
            raise InputError(f"pipeline JSON is malformed ({type(err).__name__}: {err}); "
                             "expected the keys snps, ld, selector, regressor and seed of Pipeline.to_json.") from err
