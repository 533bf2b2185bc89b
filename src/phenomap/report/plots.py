"""Figures of the workflow's stages (matplotlib object API, no pyplot state).

Each plotting function draws one figure, writes it atomically to ``path`` (format from the
suffix, e.g. ``.png``, ``.pdf``, ``.svg``) and returns the :class:`~matplotlib.figure.Figure`,
except :func:`typing_rule_figure`, the README's picture of the cluster-typing rule of
:mod:`phenomap.mixture.typing`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Wedge
from scipy import stats
from sklearn.metrics import r2_score

from phenomap.errors import InputError
from phenomap.io.plink import chrom_sort_key, normalise_chrom
from phenomap.io.tables import atomic_path
from phenomap.mixture.typing import ANGLE_THRESHOLD, RATIO_THRESHOLD, classify_components

log = logging.getLogger(__name__)

DPI = 120
NULL_COLOUR = "lightgrey"
CHROM_COLOURS = ("#1f4e79", "#7fa7d1")
GENE_COLUMNS = ["gene", "chrom", "start", "stop", "q"]


def covariance_ellipse(
    sigma: np.ndarray, centre: tuple[float, float] = (0.0, 0.0), n_sigma: float = 2.0, **patch_kwargs
) -> Ellipse:
    """The ``n_sigma`` ellipse of a 2 x 2 covariance, as a matplotlib patch.

    Parameters
    ----------
    sigma : (2, 2) symmetric positive semi-definite covariance (effect units squared).
    centre : (x, y) centre of the ellipse.
    n_sigma : half-axes are ``n_sigma`` standard deviations along each eigenvector.
    patch_kwargs : passed to :class:`~matplotlib.patches.Ellipse` (facecolor, edgecolor, lw...).

    Returns
    -------
    Ellipse with width ``2 n_sigma sqrt(l1)`` along the principal eigenvector (eigenvalue l1),
    height ``2 n_sigma sqrt(l2)``, and angle that of the principal eigenvector in degrees.
    Eigenvalues below 0 (rounding) count as 0.
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.shape != (2, 2) or not np.isfinite(sigma).all():
        raise InputError(f"an ellipse needs a finite 2 x 2 covariance, got {sigma.tolist()}.")
    values, vectors = np.linalg.eigh(sigma)
    major, minor = 2 * n_sigma * np.sqrt(np.clip(values[::-1], 0, None))
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    return Ellipse(centre, major, minor, angle=angle, **patch_kwargs)


def effect_scatter(
    effects: pd.DataFrame,
    traits: tuple[str, str],
    covariances: np.ndarray,
    weights: np.ndarray,
    path: str | Path,
    *,
    trait_names: Sequence[str],
    cluster_types: pd.DataFrame | None = None,
    max_points: int = 50_000,
    seed: int = 0,
) -> Figure:
    """Scatter of the shrunk effects on two traits, coloured by cluster, with each cluster's 2-sigma ellipse.

    Parameters
    ----------
    effects : one row per variant: a column per plotted trait and ``cluster`` (int, 0 = null,
        1..K = the cluster of row k - 1 of ``covariances``). Rows with a NaN effect on either
        plotted trait are left out (counted in the log).
    traits : (x trait, y trait), two different names from ``trait_names``.
    covariances : (K, d, d) cluster covariances, axes in the order of ``trait_names``.
    weights : (K,) cluster weights.
    path : output file.
    trait_names : the d trait names.
    cluster_types : optional table ``component type traits`` (from
        :func:`phenomap.mixture.typing.classify_components`); adds the type to the legend.
    max_points : with more variants, a random subset of this size is drawn (seeded): every
        non-null variant when they fit, filled up with uniformly drawn null variants; else a
        uniform draw among the non-null variants only. The title says so.
    seed : seed of that draw.

    Returns
    -------
    The figure (one axes; null variants, then clusters 1..K, one scatter collection each).

    Raises
    ------
    InputError for a trait not in ``trait_names``, the same trait twice, missing columns,
    covariances or weights of the wrong shape, cluster labels that are not integers in 0..K,
    or ``max_points < 1``.
    """
    names = list(trait_names)
    unknown = [t for t in traits if t not in names]
    if len(traits) != 2 or unknown or traits[0] == traits[1]:
        raise InputError(f"effect_scatter plots two different traits out of {names}, got {list(traits)}"
                         + (f" ({unknown} not among them)" if unknown else "") + ".")
    missing = [c for c in (*traits, "cluster") if c not in effects.columns]
    if missing:
        raise InputError(f"the effects table lacks column(s) {missing} (found {list(effects.columns)[:12]}); "
                         f"it needs one column per trait and the variant's cluster.")
    covariances = np.asarray(covariances, dtype=float)
    weights = np.asarray(weights, dtype=float)
    n_clusters = weights.shape[0] if weights.ndim == 1 else -1
    if covariances.shape != (n_clusters, len(names), len(names)):
        raise InputError(f"covariances of shape {covariances.shape} and weights of shape {weights.shape} do not "
                         f"describe K clusters of the {len(names)} traits {names}: expected (K, {len(names)}, "
                         f"{len(names)}) and (K,).")
    if max_points < 1:
        raise InputError(f"max_points must be at least 1, got {max_points}.")
    labels = pd.to_numeric(effects["cluster"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(labels, np.arange(n_clusters + 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"the effects table has cluster label {_show(effects['cluster'].iloc[i])} at data row "
                         f"{i + 1}, not an integer in 0..{n_clusters} (0 = null, 1..K = the {n_clusters} clusters); "
                         "use the labels and model of the same clustering run.")
    x = pd.to_numeric(effects[traits[0]], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(effects[traits[1]], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        log.info("%d of %d variants have no effect on %s or %s: not plotted", int((~finite).sum()), len(x), *traits)
    x, y, labels = x[finite], y[finite], labels[finite].astype(np.int64)
    n_total = len(labels)
    keep = _subsample(labels, max_points, seed)
    x, y, labels = x[keep], y[keep], labels[keep]

    figure = Figure(figsize=(7, 6.5), layout="constrained")
    ax = figure.subplots()
    null = labels == 0
    ax.scatter(x[null], y[null], s=4, color=NULL_COLOUR, label=f"null ({int(null.sum()):,})", rasterized=True)
    palette = colormaps["tab10" if n_clusters <= 9 else "tab20"]
    pair = [names.index(t) for t in traits]
    types = None if cluster_types is None else cluster_types.set_index("component")["type"]
    for k in range(1, n_clusters + 1):
        colour = palette((k - 1) % palette.N)
        members = labels == k
        kind = f"{types.get(k, 'untyped')}, weight " if types is not None else ""
        ax.scatter(x[members], y[members], s=6, color=colour, rasterized=True,
                   label=f"cluster {k} ({kind}{weights[k - 1]:.3g})")
        ax.add_patch(covariance_ellipse(covariances[k - 1][np.ix_(pair, pair)], facecolor="none", edgecolor=colour,
                                        lw=2))
    for axis, values, j in ((ax.set_xlim, x, pair[0]), (ax.set_ylim, y, pair[1])):
        ellipse_extent = 2 * np.sqrt(np.clip(covariances[:, j, j], 0, None))
        limit = 1.05 * max(np.abs(values).max(initial=0), ellipse_extent.max(initial=0)) or 1.0
        axis(-limit, limit)
    ax.axhline(0, color="black", lw=0.5)
    ax.axvline(0, color="black", lw=0.5)
    title = f"effects: {traits[1]} against {traits[0]}, 2-sigma cluster ellipses"
    if len(labels) < n_total:
        title += f"\n{len(labels):,} of {n_total:,} variants shown (random subset, non-null first)"
    ax.set(xlabel=f"effect on {traits[0]} / trait scale", ylabel=f"effect on {traits[1]} / trait scale", title=title)
    ax.legend(fontsize="small", markerscale=2, loc="best")
    _save(figure, path)
    return figure


def _subsample(labels: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Sorted row indices of at most ``max_points`` variants, every non-null one kept if they fit."""
    if len(labels) <= max_points:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    non_null = np.flatnonzero(labels > 0)
    if len(non_null) >= max_points:
        return np.sort(rng.choice(non_null, max_points, replace=False))
    nulls = rng.choice(np.flatnonzero(labels == 0), max_points - len(non_null), replace=False)
    return np.sort(np.concatenate([non_null, nulls]))


def manhattan(
    effects: pd.DataFrame,
    path: str | Path,
    *,
    value_column: str = "beta",
    genes: pd.DataFrame | None = None,
    q_threshold: float = 0.05,
    max_labels: int = 30,
    title: str = "",
) -> Figure:
    """Manhattan plot of |effect| along the genome, with the significant genes labelled.

    Parameters
    ----------
    effects : one row per variant with ``CHROM``, ``POS`` (bp) and ``value_column``; NaN
        effects are skipped (counted in the log).
    path : output file.
    value_column : the effect column; the y axis shows its absolute value.
    genes : gene results ``gene chrom start stop q`` (as from
        :func:`phenomap.genes.enrichment.gene_enrichment`; may be empty). Genes with
        ``q < q_threshold``, smallest q first, are labelled at their variant (``start <= POS
        <= stop``) with the largest |effect|, which is marked; at most ``max_labels``. A gene
        on a chromosome without plotted variants, or with none inside its bounds, is skipped
        with a warning.
    title : axes title.

    Returns
    -------
    The figure. x is the cumulative position: ``POS`` plus the sum of the largest plotted
    ``POS`` of every earlier chromosome, chromosomes in natural order (1, 2, ..., 10, X).

    Raises
    ------
    InputError for missing columns, non-numeric positions or effects, bad chromosome names,
    or ``max_labels < 0``.
    """
    missing = [c for c in ("CHROM", "POS", value_column) if c not in effects.columns]
    if missing:
        raise InputError(f"the effects table lacks column(s) {missing} (found {list(effects.columns)[:12]}); "
                         f"a Manhattan plot needs CHROM, POS and the effect column {value_column!r}.")
    if max_labels < 0:
        raise InputError(f"max_labels must be >= 0, got {max_labels}.")
    value = _numeric(effects[value_column], f"effect column {value_column!r}", effects)
    pos = _numeric(effects.POS, "position column POS", effects)
    if np.isnan(pos).any():
        i = int(np.flatnonzero(np.isnan(pos))[0])
        raise InputError(f"the effects table has no position for variant at data row {i + 1}: fill in POS.")
    chrom = normalise_chrom(effects.CHROM, source="effects table").to_numpy()
    plotted = ~np.isnan(value)
    if not plotted.all():
        log.info("%d of %d variants have no %s value: not plotted", int((~plotted).sum()), len(value), value_column)
    chrom, pos, size = chrom[plotted], pos[plotted], np.abs(value[plotted])

    figure = Figure(figsize=(12, 4.5), layout="constrained")
    ax = figure.subplots()
    x, chrom_index, index = _draw_manhattan(ax, chrom, pos, size)
    if genes is not None:
        hits = _gene_hits(genes, q_threshold, max_labels, index, chrom_index, pos, size)
        if hits:
            rows = np.array([row for _, row in hits])
            ax.scatter(x[rows], size[rows], s=30, facecolor="none", edgecolor="tab:red", lw=1.2, zorder=3)
            for gene, row in hits:
                ax.annotate(gene, xy=(x[row], size[row]), xytext=(0, 5), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, rotation=45)
    shrunk = value_column == "beta" or value_column.startswith("BETA_SHRUNK")
    ax.set(xlabel="chromosome", ylabel="|shrunk effect|" if shrunk else f"|{value_column}|", title=title)
    ax.set_ylim(bottom=0)
    ax.margins(x=0.01)
    _save(figure, path)
    return figure


def _chromosome_order(chrom) -> list[str]:
    """The distinct chromosome names of ``chrom`` in natural order (1, 2, ..., 10, ..., X)."""
    chromosomes = pd.Series(np.unique(np.asarray(chrom, dtype=str)), dtype=str)
    return chromosomes.iloc[np.argsort(chrom_sort_key(chromosomes).to_numpy(), kind="stable")].tolist()


def _draw_manhattan(ax, chrom: np.ndarray, pos: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Scatter ``y`` along the genome on ``ax``; returns x positions, chromosome index per point and the
    chromosomes in natural order (x = POS plus the largest POS of every earlier chromosome)."""
    chromosomes = _chromosome_order(chrom)
    index = pd.Index(chromosomes)
    chrom_index = index.get_indexer(chrom)
    lengths = pd.Series(pos).groupby(chrom_index).max().to_numpy()
    offsets = np.cumsum(lengths) - lengths
    x = pos + offsets[chrom_index]
    for parity, colour in enumerate(CHROM_COLOURS):
        on = chrom_index % 2 == parity
        ax.scatter(x[on], y[on], s=5, color=colour, rasterized=True)
    spans = pd.Series(x).groupby(chrom_index).agg(["min", "max"])
    ax.set_xticks(spans.mean(axis=1).to_numpy(), chromosomes)
    return x, chrom_index, index


def gwas_plot(table: pd.DataFrame, path: str | Path, *, lambda_gc: float, title: str = "",
              threshold: float = 5e-8) -> Figure:
    """SNP-level Manhattan plot of -log10 P (with the ``threshold`` line) beside the QQ plot, lambda_GC shown.

    Parameters
    ----------
    table : summary statistics with ``CHROM POS P`` (NA P values are not plotted).
    lambda_gc : genomic control inflation of these statistics, printed on both panels.
    """
    missing = [c for c in ("CHROM", "POS", "P") if c not in table.columns]
    if missing:
        raise InputError(f"the summary statistics lack column(s) {missing}; a GWAS plot needs CHROM, POS and P.")
    p = _numeric(table.P, "P column", table)
    keep = ~np.isnan(p)
    p = np.clip(p[keep], np.finfo(float).tiny, 1.0)
    chrom = normalise_chrom(table.CHROM[keep], source="summary statistics").to_numpy()
    pos = _numeric(table.POS, "POS column", table)[keep]
    figure = Figure(figsize=(14, 4.5), layout="constrained")
    manhattan_ax, qq_ax = figure.subplots(1, 2, width_ratios=[3, 1])
    _draw_manhattan(manhattan_ax, chrom, pos, -np.log10(p))
    manhattan_ax.axhline(-np.log10(threshold), color="tab:red", lw=0.8, ls="--", label=f"P = {threshold:g}")
    manhattan_ax.legend(loc="upper right", fontsize="small")
    manhattan_ax.set(xlabel="chromosome", ylabel="-log10 P", title=f"{title}  (lambda_GC = {lambda_gc:.3f})")
    manhattan_ax.set_ylim(bottom=0)
    manhattan_ax.margins(x=0.01)
    _draw_qq(qq_ax, {f"{keep.sum():,} variants": p}, unit="variants")
    qq_ax.text(0.97, 0.03, f"lambda_GC = {lambda_gc:.3f}", transform=qq_ax.transAxes, ha="right", va="bottom")
    _save(figure, path)
    return figure


def _numeric(column: pd.Series, what: str, effects: pd.DataFrame) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & column.notna().to_numpy() | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f" (variant {effects.ID.iloc[i]})" if "ID" in effects.columns else ""
        raise InputError(f"the effects table's {what} has value {_show(column.iloc[i])} at data row {i + 1}{where}: "
                         "it must be a finite number (or NA).")
    return values


def _gene_hits(genes: pd.DataFrame, q_threshold: float, max_labels: int, chromosomes: pd.Index,
               chrom_index: np.ndarray, pos: np.ndarray, size: np.ndarray) -> list[tuple[str, int]]:
    """(gene, row of its largest-|effect| variant) of the significant genes, smallest q first, at most max_labels."""
    missing = [c for c in GENE_COLUMNS if c not in genes.columns]
    if missing:
        raise InputError(f"the gene results lack column(s) {missing} (found {list(genes.columns)}); "
                         f"give the table written by the gene enrichment ({' '.join(GENE_COLUMNS)} ...).")
    q = pd.to_numeric(genes.q, errors="coerce").to_numpy(dtype=float)
    significant = genes.iloc[np.flatnonzero(q < q_threshold)[np.argsort(q[q < q_threshold], kind="stable")]]
    if significant.empty:
        return []
    gene_chrom = normalise_chrom(significant.chrom, source="gene results").to_numpy()
    hits = []
    for gene, c, start, stop in zip(significant.gene, gene_chrom, significant.start, significant.stop):
        if len(hits) == max_labels:
            break
        if c not in chromosomes:
            log.warning("significant gene %s is on chromosome %s, which has no plotted variant: not labelled", gene, c)
            continue
        rows = np.flatnonzero((chrom_index == chromosomes.get_loc(c)) & (pos >= start) & (pos <= stop))
        if rows.size == 0:
            log.warning("significant gene %s has no plotted variant within %s:%d-%d: not labelled",
                        gene, c, start, stop)
            continue
        hits.append((str(gene), int(rows[np.argmax(size[rows])])))
    return hits


def qq_plot(pvalues: Mapping[str, np.ndarray], path: str | Path, *, title: str = "") -> Figure:
    """QQ plot of gene p-values, one series per trait, with a pointwise 95% band under the null.

    Parameters
    ----------
    pvalues : trait name -> p-values in [0, 1]. NaN p-values are dropped and p = 0 is clipped
        to the smallest positive normal float (``np.finfo(float).tiny``), both counted in the
        log; an empty series is skipped.
    path : output file.
    title : axes title.

    Returns
    -------
    The figure. For a series of n sorted p-values p_(1) <= ... <= p_(n), the points are
    x_i = -log10((i - 0.5) / n) (expected) against y_i = -log10(p_(i)) (observed), labelled
    ``"{trait} (n genes)"``. The band spans -log10 of the 2.5% and 97.5% quantiles of
    Beta(i, n - i + 1), the null distribution of p_(i), for the largest n among the series;
    the grey line is y = x.

    Raises
    ------
    InputError naming the trait for a non-numeric p-value or one outside [0, 1].
    """
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    ax = figure.subplots()
    _draw_qq(ax, {trait: _valid_pvalues(trait, values) for trait, values in pvalues.items()}, unit="genes")
    ax.set_title(title)
    _save(figure, path)
    return figure


def _draw_qq(ax, pvalues: Mapping[str, np.ndarray], *, unit: str) -> None:
    """QQ points of each series (valid p-values in (0, 1]), the y = x line and the 95% null band."""
    largest_n = 0
    for name, p in pvalues.items():
        if p.size == 0:
            log.info("%s has no p-value: left out of the QQ plot", name)
            continue
        label = name if name.endswith(unit) else f"{name} ({p.size:,} {unit})"
        ax.plot(_expected_log_p(p.size), -np.log10(np.sort(p)), marker="o", ms=3, ls="none", label=label)
        largest_n = max(largest_n, p.size)
    if largest_n:
        i = np.arange(1, largest_n + 1)
        low, high = stats.beta.ppf([[0.025], [0.975]], i, largest_n - i + 1)
        ax.fill_between(_expected_log_p(largest_n), -np.log10(high), -np.log10(low), color="grey", alpha=0.2, lw=0,
                        label=f"95% band under the null (n = {largest_n:,})")
        ax.legend(fontsize="small", loc="upper left")
    ax.axline((0, 0), slope=1, color="grey", lw=1)
    ax.set(xlabel="expected -log10 p", ylabel="observed -log10 p")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)


def _valid_pvalues(trait: str, values) -> np.ndarray:
    try:
        p = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"the gene p-values of trait {trait!r} are not all numbers: check its gene results.") from None
    missing = np.isnan(p)
    if missing.any():
        log.info("trait %s: %d of %d gene p-values are NaN: dropped", trait, int(missing.sum()), p.size)
        p = p[~missing]
    outside = (p < 0) | (p > 1)
    if outside.any():
        raise InputError(f"trait {trait!r} has gene p-value {p[outside][0]:g} outside [0, 1] "
                         f"({int(outside.sum())} in all): check its gene results.")
    zero = p == 0
    if zero.any():
        log.info("trait %s: %d gene p-values are 0: clipped to %g", trait, int(zero.sum()), np.finfo(float).tiny)
        p = np.where(zero, np.finfo(float).tiny, p)
    return p


def _expected_log_p(n: int) -> np.ndarray:
    """-log10 of the expected uniform quantiles (i - 0.5) / n, i = 1..n."""
    return -np.log10((np.arange(1, n + 1) - 0.5) / n)


def _show(value) -> str:
    """A table value for a message: strings quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _axis_covariance(angle_deg: float, ratio: float, length: float = 1.0) -> np.ndarray:
    """2 x 2 covariance with principal axis at ``angle_deg`` from trait 1, eigenvalues length^2 and length^2 / ratio."""
    theta = np.radians(angle_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rotation @ np.diag([length**2, length**2 / ratio]) @ rotation.T


def typing_rule_figure(
    path: str | Path, *, ratio_threshold: float = RATIO_THRESHOLD, angle_threshold: float = ANGLE_THRESHOLD
) -> None:
    """Draw the typing rule for two traits (PNG or any format matplotlib infers from ``path``).

    Left: the angle rule, with the trait-specific sectors (within ``angle_threshold`` of a
    trait axis) shaded and example ellipses (2-sigma) typed by :func:`classify_components`.
    Right: the ratio rule, ellipses on the diagonal with eigenvalue ratios around
    ``ratio_threshold``. Written atomically.
    """
    colours = {"trait-specific": "tab:blue", "shared-positive": "tab:red", "shared-negative": "tab:purple",
               "mixed": "tab:grey"}
    figure = Figure(figsize=(10, 4.8), layout="constrained")
    angle_ax, ratio_ax = figure.subplots(1, 2)

    for centre_angle in (0, 90, 180, 270):
        angle_ax.add_patch(Wedge((0, 0), 1.15, centre_angle - angle_threshold, centre_angle + angle_threshold,
                                 color=colours["trait-specific"], alpha=0.12, lw=0))
        for edge in np.radians([centre_angle - angle_threshold, centre_angle + angle_threshold]):
            angle_ax.plot([0, 1.15 * np.cos(edge)], [0, 1.15 * np.sin(edge)], ls="--", lw=0.8, color="tab:blue")
    examples = [angle_threshold - 4, angle_threshold + 6, 90 - angle_threshold / 2, 135]
    covariances = np.stack([_axis_covariance(a, 4 * ratio_threshold, 0.5) for a in examples])
    _draw_typed(angle_ax, covariances, [(0, 0)] * len(examples), colours)
    angle_ax.axhline(0, color="black", lw=0.5)
    angle_ax.axvline(0, color="black", lw=0.5)
    angle_ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xlabel="effect on trait 1",
                 ylabel="effect on trait 2",
                 title=f"angle rule: shaded = within {angle_threshold:g}° of a trait axis\n"
                       f"(ellipses with eigenvalue ratio {4 * ratio_threshold:g})")

    ratios = [1.2, ratio_threshold * 0.75, ratio_threshold * 1.25, ratio_threshold * 4]
    centres = [(1.6 * i, 0) for i in range(len(ratios))]
    covariances = np.stack([_axis_covariance(45, r, 0.35) for r in ratios])
    _draw_typed(ratio_ax, covariances, centres, colours)
    for (x, _), r in zip(centres, ratios):
        ratio_ax.text(x, -1.0, f"λ1/λ2 = {r:g}", ha="center", fontsize=9)
    ratio_ax.set(xlim=(-0.9, 1.6 * len(ratios) - 0.7), ylim=(-1.2, 1.0), aspect="equal", xticks=[], yticks=[],
                 title=f"ratio rule: mixed below λ1/λ2 = {ratio_threshold:g}\n(principal axis on the diagonal)")
    handles = [Ellipse((0, 0), 1, 1, facecolor="none", edgecolor=c, lw=2, label=t) for t, c in colours.items()]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(colours), frameon=False)
    _save(figure, path)


def _draw_typed(ax, covariances: np.ndarray, centres, colours: dict[str, str]) -> None:
    """Draw each 2 x 2 covariance as a 2-sigma ellipse coloured by its type."""
    table = classify_components(covariances, trait_names=["trait 1", "trait 2"])
    for sigma, centre, kind in zip(covariances, centres, table["type"]):
        ax.add_patch(covariance_ellipse(sigma, centre, n_sigma=2.0, facecolor="none", edgecolor=colours[kind], lw=2))


def _save(figure: Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI)


def cv_boxplot(metrics: pd.DataFrame, path: str | Path, *, title: str = "") -> Figure:
    """Box plot of the test-fold Pearson r per method (boxes) and trait (panels), from a table with
    ``method trait r`` (one row per fold, method and trait); methods in their order of appearance."""
    traits = list(dict.fromkeys(metrics.trait))
    methods = list(dict.fromkeys(metrics.method))
    figure = Figure(figsize=(max(5.0, 1.1 * len(methods)) * len(traits) ** 0.5 + 2, 4.5), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(traits), sharey=True, squeeze=False)[0])
    for ax, trait in zip(axes, traits):
        rows = metrics[metrics.trait == trait]
        values = [rows.r[rows.method == m].dropna().to_numpy(dtype=float) for m in methods]
        ax.boxplot(values, tick_labels=methods)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set(title=trait, xlabel="method")
        ax.axhline(0, color="grey", lw=0.8)
    axes[0].set_ylabel("Pearson r on the test fold")
    figure.suptitle(title)
    _save(figure, path)
    return figure


def selection_manhattan(bim: pd.DataFrame, frequency: pd.Series, path: str | Path, *, title: str = "") -> Figure:
    """Share of cross-validation folds that selected each marker, along the genome.

    ``bim``: the markers' ``CHROM POS`` (.bim order); ``frequency``: (m,) shares in [0, 1] in the same order.
    """
    figure = Figure(figsize=(12, 4), layout="constrained")
    ax = figure.subplots()
    chrom = normalise_chrom(bim.CHROM, source="markers").to_numpy()
    _draw_manhattan(ax, chrom, bim.POS.to_numpy(dtype=float), np.asarray(frequency, dtype=float))
    ax.set(xlabel="chromosome", ylabel="share of folds selecting the marker", title=title)
    ax.set_ylim(-0.02, 1.02)
    ax.margins(x=0.01)
    _save(figure, path)
    return figure


def consistency_manhattan(snps: pd.DataFrame, scores: pd.Series, qtl: pd.DataFrame, path: str | Path, *,
                          title: str = "") -> Figure:
    """SNP consistency scores of a pipeline search along the genome, the called QTL peaks labelled.

    ``snps``: every searched SNP's ``CHROM POS`` (SNP-database order); ``scores``: (m,) scores in
    [0, 1] in the same order (0 for SNPs on no Pareto front); ``qtl``: peaks ``ID encoding`` (as
    from :func:`phenomap.gpsearch.consistency.call_qtl`), labelled at their SNP.
    """
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    ax = figure.subplots()
    chrom = normalise_chrom(snps.CHROM, source="SNP table").to_numpy()
    y = np.asarray(scores, dtype=float)
    x, _, _ = _draw_manhattan(ax, chrom, snps.POS.to_numpy(dtype=float), y)
    rows = pd.Index(snps.ID.astype(str)).get_indexer(qtl.ID.astype(str))
    for row, encoding in zip(rows, qtl.encoding):
        ax.scatter(x[row], y[row], s=30, facecolor="none", edgecolor="tab:red", lw=1.2, zorder=3)
        ax.annotate(f"{snps.ID.iloc[row]} ({encoding})", xy=(x[row], y[row]), xytext=(0, 5),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7, rotation=45)
    ax.set(xlabel="chromosome", ylabel="SNP consistency score (mean over replicates)", title=title)
    ax.set_ylim(-0.02, 1.1)
    ax.margins(x=0.01)
    _save(figure, path)
    return figure


def hypervolume_curves(table: pd.DataFrame, path: str | Path, *, title: str = "") -> Figure:
    """Hypervolume of each generation's population, one line per replicate (``replicate generation hypervolume``)."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.subplots()
    for replicate, rows in table.groupby("replicate"):
        ax.plot(rows.generation, rows.hypervolume, marker="." if len(rows) < 30 else None,
                label=f"replicate {replicate}")
    ax.set(xlabel="generation (0 = initial population)", ylabel="hypervolume (r², simplicity)", title=title)
    ax.set_ylim(bottom=0)
    if table.replicate.nunique() <= 10:
        ax.legend(fontsize=7)
    _save(figure, path)
    return figure


def pareto_fronts(table: pd.DataFrame, path: str | Path, *, title: str = "") -> Figure:
    """Final Pareto front of each replicate: validation r² against SNPs reaching the regressor
    (``replicate n_snps r2``, one row per Pareto pipeline), as steps (the area each front dominates)."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.subplots()
    for replicate, rows in table.groupby("replicate"):
        rows = rows.sort_values("n_snps")
        ax.step(rows.n_snps, rows.r2, where="post", marker="o", ms=3, label=f"replicate {replicate}")
    ax.set(xlabel="SNPs reaching the regressor", ylabel="validation r²", title=title)
    ax.set_ylim(bottom=0)
    if table.replicate.nunique() <= 10:
        ax.legend(fontsize=7)
    _save(figure, path)
    return figure


def ld_block_map(blocks: pd.DataFrame, path: str | Path, *, title: str = "") -> Figure:
    """LD blocks along each chromosome (``chrom start stop n_variants``, bp): one row per chromosome,
    consecutive blocks in alternating shades, each row labelled with its blocks and variants."""
    blocks = blocks.assign(chrom=normalise_chrom(blocks.chrom, source="LD blocks"))
    chromosomes = _chromosome_order(blocks.chrom)
    figure = Figure(figsize=(10, 0.3 * len(chromosomes) + 1.5), layout="constrained")
    ax = figure.subplots()
    for row, chrom in enumerate(chromosomes):
        on = blocks[blocks.chrom == chrom].sort_values("start")
        colours = [CHROM_COLOURS[i % 2] for i in range(len(on))]
        ax.barh(row, (on.stop - on.start) / 1e6, left=on.start / 1e6, height=0.7, color=colours)
        label = f"{len(on)} block{'s' if len(on) > 1 else ''}, {int(on.n_variants.sum()):,} variants"
        ax.annotate(label, xy=(on.stop.max() / 1e6, row),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(range(len(chromosomes)), chromosomes)
    ax.invert_yaxis()
    ax.set(xlabel="position (Mb)", ylabel="chromosome", title=title)
    ax.margins(x=0.15)
    _save(figure, path)
    return figure


def shrinkage_figure(curves: Sequence[Mapping], effects: Mapping[str, pd.DataFrame], path: str | Path, *,
                     title: str = "", max_points: int = 20_000, seed: int = 0) -> Figure:
    """First panel: training and validation loss by epoch of each ensemble member (``train``,
    ``val``, ``best_epoch`` per member), the kept epoch marked; ``curves`` is empty when the
    effects were shrunk by a method without a network. Then one panel per trait: its shrunk
    against its marginal effects (``BETA``, ``BETA_SHRUNK``, per-allele units), both axes on one
    scale with the identity line; at most ``max_points`` variants drawn (random subset)."""
    figure = Figure(figsize=(4.5 * (len(effects) + 1), 4.5), layout="constrained")
    loss_ax, *effect_axes = figure.subplots(1, len(effects) + 1)
    if not curves:
        loss_ax.text(0.5, 0.5, "no network: effects shrunk without training", ha="center", va="center")
        loss_ax.set_axis_off()
    for member, curve in enumerate(curves):
        line, = loss_ax.plot(np.arange(1, len(curve["train"]) + 1), curve["train"], lw=1, label=f"member {member}")
        loss_ax.plot(np.arange(1, len(curve["val"]) + 1), curve["val"], lw=1, ls="--", color=line.get_color())
        best = int(curve["best_epoch"])
        loss_ax.plot(best, curve["val"][best - 1], "o", color=line.get_color(), ms=4)
    loss_ax.set(xlabel="epoch", ylabel="loss (solid: training, dashed: validation)",
                title="network training (dot: epoch kept)")
    if 0 < len(curves) <= 10:
        loss_ax.legend(fontsize=7)
    rng = np.random.default_rng(seed)
    for ax, (trait, table) in zip(effect_axes, effects.items()):
        keep = np.sort(rng.choice(len(table), min(len(table), max_points), replace=False))
        beta = table.BETA.to_numpy(dtype=float)[keep]
        shrunk = table.BETA_SHRUNK.to_numpy(dtype=float)[keep]
        ax.scatter(beta, shrunk, s=4, alpha=0.5, color=CHROM_COLOURS[0], rasterized=True)
        limit = 1.05 * float(np.nanmax(np.abs(np.r_[beta, shrunk])))
        ax.plot([-limit, limit], [-limit, limit], color="grey", lw=0.8, label="no shrinkage")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=trait,
               xlabel="marginal GWAS effect (per allele)", ylabel="shrunk effect (per allele)")
        ax.legend(fontsize=7, loc="upper left")
    figure.suptitle(title)
    _save(figure, path)
    return figure


def prediction_scatter(predictions: pd.DataFrame, path: str | Path, *, methods: Sequence[str],
                       split: str = "test", title: str = "") -> Figure:
    """Observed against predicted phenotypes of the ``split`` samples, one panel per trait and one
    colour per method (columns of ``predictions``: ``split trait observed`` and each method), the
    R² of each method in the legend; axes on one scale with the identity line."""
    rows = predictions[predictions.split == split]
    traits = list(dict.fromkeys(rows.trait))
    figure = Figure(figsize=(4.2 * len(traits) + 0.5, 4.5), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(traits), squeeze=False)[0])
    for ax, trait in zip(axes, traits):
        on = rows[rows.trait == trait]
        observed = on.observed.to_numpy(dtype=float)
        low, high = np.nanmin(observed), np.nanmax(observed)
        for method in methods:
            predicted = on[method].to_numpy(dtype=float)
            ok = ~np.isnan(observed) & ~np.isnan(predicted)
            ax.scatter(predicted, observed, s=6, alpha=0.6,
                       label=f"{method} (R² {r2_score(observed[ok], predicted[ok]):.2f})")
            low, high = min(low, np.nanmin(predicted)), max(high, np.nanmax(predicted))
        ax.plot([low, high], [low, high], color="grey", lw=0.8)
        ax.set(xlabel="predicted (trait units)", ylabel="observed (trait units)", title=trait, aspect="equal")
        ax.legend(fontsize=7, markerscale=2)
    figure.suptitle(title)
    _save(figure, path)
    return figure


def importance_manhattan(importance: pd.DataFrame, path: str | Path, *, title: str = "", labels: int = 5) -> Figure:
    """Variable importance of each locus along the genome (``CHROM POS ID importance``), the
    ``labels`` most important loci labelled."""
    figure = Figure(figsize=(12, 4), layout="constrained")
    ax = figure.subplots()
    chrom = normalise_chrom(importance.CHROM, source="importance table").to_numpy()
    y = importance.importance.to_numpy(dtype=float)
    x, _, _ = _draw_manhattan(ax, chrom, importance.POS.to_numpy(dtype=float), y)
    for row in np.argsort(-y)[:labels]:
        ax.annotate(str(importance.ID.iloc[row]), xy=(x[row], y[row]), xytext=(0, 4), textcoords="offset points",
                    ha="left", va="bottom", fontsize=7, rotation=30)
    ax.set(xlabel="chromosome", ylabel="importance (mean squared change of the\nstandardised prediction when ablated)",
           title=title)
    ax.margins(x=0.01)
    _save(figure, path)
    return figure
