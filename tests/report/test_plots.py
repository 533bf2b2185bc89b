"""Report figures: ellipse geometry, scatter, Manhattan and QQ plot contents checked against brute force."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import Ellipse
from scipy import stats

import phenomap.report.plots as plots_module
from phenomap.errors import InputError
from phenomap.report.plots import covariance_ellipse, effect_scatter, manhattan, qq_plot

TRAITS = ["t1", "t2", "t3"]


def assert_same_angle(a: float, b: float) -> None:
    """Equal as axis directions (modulo 180 degrees)."""
    assert abs((a - b + 90) % 180 - 90) < 1e-6


def assert_valid_png(path) -> None:
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.01  # something was drawn
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left


def collections_by_label(ax) -> dict[str, np.ndarray]:
    return {c.get_label(): np.asarray(c.get_offsets()) for c in ax.collections}


def sorted_rows(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return points[np.lexsort((points[:, 1], points[:, 0]))]


# ---------------------------------------------------------------- covariance_ellipse


@pytest.mark.parametrize("sigma", [
    [[4.0, 0.0], [0.0, 1.0]],        # axis-aligned, major along x
    [[1.0, 0.0], [0.0, 9.0]],        # axis-aligned, major along y
    [[2.0, -1.5], [-1.5, 2.0]],      # negative correlation: major axis at 135 degrees
    [[1.0, 0.3], [0.3, 0.5]],
    [[0.02, 0.019], [0.019, 0.02]],  # nearly degenerate
])
@pytest.mark.parametrize("n_sigma", [1.0, 2.0])
def test_covariance_ellipse__matches_eigendecomposition(sigma, n_sigma):
    sigma = np.array(sigma)
    values, vectors = np.linalg.eig(sigma)  # general solver, unsorted
    order = np.argsort(values)[::-1]
    principal = vectors[:, order[0]]
    ellipse = covariance_ellipse(sigma, (0.5, -1.0), n_sigma, facecolor="none")
    np.testing.assert_allclose(ellipse.width, 2 * n_sigma * np.sqrt(values[order[0]]))
    np.testing.assert_allclose(ellipse.height, 2 * n_sigma * np.sqrt(values[order[1]]))
    assert_same_angle(ellipse.angle, np.degrees(np.arctan2(principal[1], principal[0])))
    assert ellipse.center == (0.5, -1.0)
    # every boundary point lies at Mahalanobis distance n_sigma from the centre
    circle = np.column_stack([np.cos(np.linspace(0, 2 * np.pi, 50)), np.sin(np.linspace(0, 2 * np.pi, 50))])
    boundary = ellipse.get_patch_transform().transform(circle) - [0.5, -1.0]
    distance2 = np.einsum("ij,jk,ik->i", boundary, np.linalg.inv(sigma), boundary)
    np.testing.assert_allclose(distance2, n_sigma**2, rtol=1e-9)


def test_covariance_ellipse__axis_aligned_angles():
    assert_same_angle(covariance_ellipse(np.diag([3.0, 1.0])).angle, 0)
    assert_same_angle(covariance_ellipse(np.diag([1.0, 3.0])).angle, 90)
    assert_same_angle(covariance_ellipse([[1.0, -0.5], [-0.5, 1.0]]).angle, 135)


def test_covariance_ellipse__rejects_non_2x2():
    with pytest.raises(InputError, match="finite 2 x 2 covariance"):
        covariance_ellipse(np.eye(3))
    with pytest.raises(InputError, match="finite 2 x 2 covariance"):
        covariance_ellipse([[1.0, np.nan], [np.nan, 1.0]])


# ---------------------------------------------------------------- effect_scatter


def random_covariances(rng, k: int, d: int) -> np.ndarray:
    factors = rng.normal(size=(k, d, d)) * np.array([1.0, 0.3, 0.1])[:k, None, None]
    return factors @ factors.transpose(0, 2, 1) + 1e-3 * np.eye(d)


def scatter_input(rng, counts=(200, 50, 30, 20)) -> pd.DataFrame:
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    effects = pd.DataFrame(rng.normal(size=(len(labels), 3)) * (labels[:, None] > 0), columns=TRAITS)
    effects[["t1", "t3"]] += rng.normal(scale=1e-3, size=(len(labels), 2))  # nulls not all at 0
    return effects.assign(cluster=labels)


def test_effect_scatter__clusters_points_and_ellipses(rng, tmp_path):
    effects = scatter_input(rng)
    covariances = random_covariances(rng, 3, 3)
    weights = np.array([0.5, 0.3, 0.2])
    types = pd.DataFrame({"component": [1, 2, 3], "type": ["trait-specific", "shared-positive", "mixed"],
                          "traits": ["t1", "t1,t3", "t1,t2,t3"]})
    path = tmp_path / "scatter.png"
    figure = effect_scatter(effects, ("t3", "t1"), covariances, weights, path, trait_names=TRAITS,
                            cluster_types=types)
    assert_valid_png(path)
    ax = figure.axes[0]
    points = collections_by_label(ax)
    expected_labels = ["null (200)", "cluster 1 (trait-specific, weight 0.5)",
                       "cluster 2 (shared-positive, weight 0.3)", "cluster 3 (mixed, weight 0.2)"]
    assert list(points) == expected_labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == expected_labels
    for k, label in enumerate(expected_labels):
        rows = effects[effects.cluster == k]
        np.testing.assert_array_equal(sorted_rows(points[label]), sorted_rows(rows[["t3", "t1"]].to_numpy()))
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 3
    for k, (ellipse, collection) in enumerate(zip(ellipses, ax.collections[1:])):
        block = covariances[k][np.ix_([2, 0], [2, 0])]  # (t3, t1): x = t3, y = t1
        expected = covariance_ellipse(block)
        np.testing.assert_allclose([ellipse.width, ellipse.height], [expected.width, expected.height])
        assert_same_angle(ellipse.angle, expected.angle)
        assert ellipse.center == (0, 0)
        assert ellipse.get_facecolor()[3] == 0  # facecolor none
        np.testing.assert_allclose(ellipse.get_edgecolor(), collection.get_facecolor()[0])
    assert ax.get_xlabel() == "effect on t3 / trait scale" and ax.get_ylabel() == "effect on t1 / trait scale"
    low, high = ax.get_xlim()
    assert low == -high and high >= np.abs(effects.t3).max()


def test_effect_scatter__legend_without_types_and_null_colour(rng, tmp_path):
    effects = scatter_input(rng, counts=(10, 5, 5))
    figure = effect_scatter(effects, ("t1", "t2"), random_covariances(rng, 2, 3), np.array([0.75, 0.25]),
                            tmp_path / "scatter.pdf", trait_names=TRAITS)
    assert (tmp_path / "scatter.pdf").read_bytes().startswith(b"%PDF")
    ax = figure.axes[0]
    assert [c.get_label() for c in ax.collections] == ["null (10)", "cluster 1 (0.75)", "cluster 2 (0.25)"]
    np.testing.assert_allclose(ax.collections[0].get_facecolor()[0], to_rgba("lightgrey"))


def test_effect_scatter__subsample_keeps_every_non_null(rng, tmp_path):
    effects = scatter_input(rng, counts=(900, 60, 40))
    covariances, weights = random_covariances(rng, 3, 3)[:2], np.array([0.6, 0.4])
    figure = effect_scatter(effects, ("t1", "t3"), covariances, weights, tmp_path / "a.png", trait_names=TRAITS,
                            max_points=300, seed=3)
    ax = figure.axes[0]
    points = collections_by_label(ax)
    assert sum(len(p) for p in points.values()) == 300
    for k in (1, 2):
        label = next(name for name in points if name.startswith(f"cluster {k} "))
        rows = effects[effects.cluster == k]
        np.testing.assert_array_equal(sorted_rows(points[label]), sorted_rows(rows[["t1", "t3"]].to_numpy()))
    nulls = effects[effects.cluster == 0][["t1", "t3"]].to_numpy()
    shown = points["null (200)"]
    assert all((nulls == point).all(axis=1).any() for point in shown)  # a subset of the null variants
    assert "300 of 1,000 variants shown" in ax.get_title()
    again = effect_scatter(effects, ("t1", "t3"), covariances, weights, tmp_path / "b.png", trait_names=TRAITS,
                           max_points=300, seed=3)
    np.testing.assert_array_equal(collections_by_label(again.axes[0])["null (200)"], shown)


def test_effect_scatter__subsample_smaller_than_non_null(rng, tmp_path):
    effects = scatter_input(rng, counts=(900, 60, 40))
    figure = effect_scatter(effects, ("t1", "t3"), random_covariances(rng, 2, 3), np.array([0.6, 0.4]),
                            tmp_path / "a.png", trait_names=TRAITS, max_points=50)
    counts = {label: len(p) for label, p in collections_by_label(figure.axes[0]).items()}
    assert counts["null (0)"] == 0 and sum(counts.values()) == 50


def test_effect_scatter__input_errors(rng, tmp_path):
    effects = scatter_input(rng, counts=(10, 5, 5))
    covariances, weights = random_covariances(rng, 2, 3), np.array([0.6, 0.4])
    path = tmp_path / "x.png"
    with pytest.raises(InputError, match=r"\['t4'\] not among them"):
        effect_scatter(effects, ("t1", "t4"), covariances, weights, path, trait_names=TRAITS)
    with pytest.raises(InputError, match="two different traits"):
        effect_scatter(effects, ("t1", "t1"), covariances, weights, path, trait_names=TRAITS)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['cluster'\]"):
        effect_scatter(effects.drop(columns="cluster"), ("t1", "t2"), covariances, weights, path, trait_names=TRAITS)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['t2'\]"):
        effect_scatter(effects.drop(columns="t2"), ("t1", "t2"), covariances, weights, path, trait_names=TRAITS)
    bad = effects.copy()
    bad.loc[3, "cluster"] = 3
    with pytest.raises(InputError, match="cluster label 3 at data row 4, not an integer in 0..2"):
        effect_scatter(bad, ("t1", "t2"), covariances, weights, path, trait_names=TRAITS)
    with pytest.raises(InputError, match=r"expected \(K, 3, 3\) and \(K,\)"):
        effect_scatter(effects, ("t1", "t2"), covariances, weights[:1], path, trait_names=TRAITS)
    assert not path.exists()


# ---------------------------------------------------------------- manhattan


@pytest.fixture
def genome(rng) -> pd.DataFrame:
    """Variants on chromosomes 1..10, rows shuffled, some NaN effects; CHROM given as strings."""
    chrom = np.repeat(np.arange(1, 11), 40)
    pos = rng.integers(1_000, 5_000_000, size=chrom.size)
    beta = rng.normal(size=chrom.size)
    beta[rng.choice(chrom.size, 15, replace=False)] = np.nan
    table = pd.DataFrame({"ID": [f"v{i}" for i in range(chrom.size)], "CHROM": chrom.astype(str), "POS": pos,
                          "BETA_SHRUNK": beta})
    return table.sample(frac=1, random_state=1).reset_index(drop=True)


def cumulative_positions(genome: pd.DataFrame, column: str) -> pd.Series:
    """Brute force: POS plus the largest POS of every earlier chromosome (numeric order), non-NaN variants only."""
    present = genome[genome[column].notna()]
    offset, offsets = 0, {}
    for chrom in sorted(present.CHROM.unique(), key=int):
        offsets[chrom] = offset
        offset += present.POS[present.CHROM == chrom].max()
    return present.POS + present.CHROM.map(offsets)


def gene_table(genome: pd.DataFrame) -> pd.DataFrame:
    """Genes around chosen variants, with q-values; one on chromosome 22 (no variants)."""
    rows = []
    for i, (chrom, q) in enumerate([("3", 0.001), ("10", 0.04), ("1", 0.2), ("2", np.nan), ("7", 0.01),
                                    ("5", 0.03), ("22", 0.0001), ("4", 0.049)]):
        pos = genome.POS[(genome.CHROM == chrom) & genome.BETA_SHRUNK.notna()].sort_values().to_numpy()
        start, stop = (pos[5], pos[12]) if chrom != "22" else (100, 2000)
        rows.append({"gene": f"G{i}", "gene_id": str(i), "chrom": chrom, "start": start, "stop": stop, "q": q})
    return pd.DataFrame(rows)


def test_manhattan__positions_ticks_and_gene_labels(genome, tmp_path, caplog):
    genes = gene_table(genome)
    path = tmp_path / "manhattan.png"
    with caplog.at_level(logging.INFO, logger="phenomap.report.plots"):
        figure = manhattan(genome, path, value_column="BETA_SHRUNK", genes=genes, max_labels=4)
    assert_valid_png(path)
    ax = figure.axes[0]
    assert "15 of 400 variants have no BETA_SHRUNK value" in caplog.text
    assert "G6 is on chromosome 22, which has no plotted variant" in caplog.text
    # chromosome ticks in natural order, at the centre of each chromosome's span
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in range(1, 11)]
    x = cumulative_positions(genome, "BETA_SHRUNK")
    present = genome.loc[x.index]
    centres = [(x[present.CHROM == str(c)].min() + x[present.CHROM == str(c)].max()) / 2 for c in range(1, 11)]
    np.testing.assert_allclose(ax.get_xticks(), centres)
    # every non-NaN variant plotted once at (cumulative position, |effect|)
    plotted = np.concatenate([np.asarray(c.get_offsets()) for c in ax.collections[:2]])
    np.testing.assert_allclose(sorted_rows(plotted),
                               sorted_rows(np.column_stack([x, present.BETA_SHRUNK.abs()])))
    # labels: q < 0.05 smallest first, chromosome-22 gene skipped, capped at 4
    expected_genes = ["G0", "G4", "G5", "G1"]
    assert [t.get_text() for t in ax.texts] == expected_genes
    for text in ax.texts:
        gene = genes.set_index("gene").loc[text.get_text()]
        inside = present[(present.CHROM == gene.chrom) & present.POS.between(gene.start, gene.stop)]
        top = inside.BETA_SHRUNK.abs().idxmax()
        np.testing.assert_allclose(text.xy, (x[top], abs(present.BETA_SHRUNK[top])))
    highlighted = np.asarray(ax.collections[2].get_offsets())
    np.testing.assert_allclose(sorted_rows(highlighted), sorted_rows([t.xy for t in ax.texts]))
    assert ax.get_ylabel() == "|shrunk effect|"


def test_manhattan__no_significant_or_empty_gene_table(genome, tmp_path):
    genes = gene_table(genome)
    figure = manhattan(genome.rename(columns={"BETA_SHRUNK": "BETA"}), tmp_path / "a.png", value_column="BETA",
                       genes=genes, q_threshold=1e-5)
    assert len(figure.axes[0].texts) == 0 and len(figure.axes[0].collections) == 2
    assert figure.axes[0].get_ylabel() == "|BETA|"
    empty = pd.DataFrame(columns=["gene", "gene_id", "chrom", "start", "stop", "n_snps", "stat", "p", "q"])
    figure = manhattan(genome.rename(columns={"BETA_SHRUNK": "beta"}), tmp_path / "b.png", genes=empty)
    assert len(figure.axes[0].texts) == 0 and figure.axes[0].get_ylabel() == "|shrunk effect|"
    assert_valid_png(tmp_path / "b.png")


def test_manhattan__chr_prefixed_and_sex_chromosomes_sorted(tmp_path):
    effects = pd.DataFrame({"CHROM": ["chrX", "chr10", "chr2", "chr1", "chr2"], "POS": [50, 30, 20, 10, 40],
                            "beta": [0.1, -0.2, 0.3, 0.4, -0.5]})
    figure = manhattan(effects, tmp_path / "m.svg")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "10", "X"]
    plotted = sorted_rows(np.concatenate([np.asarray(c.get_offsets()) for c in ax.collections]))
    # offsets: chr1 0, chr2 10, chr10 10 + 40, X 50 + 30
    np.testing.assert_allclose(plotted, sorted_rows([[130, 0.1], [80, 0.2], [30, 0.3], [10, 0.4], [50, 0.5]]))


def test_manhattan__input_errors(genome, tmp_path):
    path = tmp_path / "m.png"
    with pytest.raises(InputError, match=r"lacks column\(s\) \['beta'\]"):
        manhattan(genome, path)
    with pytest.raises(InputError, match=r"gene results lack column\(s\) \['q'\]"):
        manhattan(genome, path, value_column="BETA_SHRUNK", genes=gene_table(genome).drop(columns="q"))
    bad = genome.astype({"BETA_SHRUNK": object})
    bad.loc[7, "BETA_SHRUNK"] = "big"
    with pytest.raises(InputError, match=f"value 'big' at data row 8 \\(variant {bad.ID[7]}\\)"):
        manhattan(bad, path, value_column="BETA_SHRUNK")
    with pytest.raises(InputError, match="unknown chromosome name 'chrUn'"):
        manhattan(genome.assign(CHROM=genome.CHROM.where(genome.index != 3, "chrUn")), path,
                  value_column="BETA_SHRUNK")
    assert not path.exists()


# ---------------------------------------------------------------- qq_plot


def test_qq_plot__quantiles_band_zero_and_nan(rng, tmp_path, caplog):
    ldl = rng.uniform(size=200)
    ldl[[3, 40]] = np.nan
    ldl[10] = 0.0
    hdl = rng.uniform(size=50) ** 3
    path = tmp_path / "qq.png"
    with caplog.at_level(logging.INFO, logger="phenomap.report.plots"):
        figure = qq_plot({"ldl": ldl, "hdl": list(hdl), "tg": []}, path, title="genes")
    assert_valid_png(path)
    assert "ldl: 2 of 200 gene p-values are NaN" in caplog.text and "ldl: 1 gene p-values are 0" in caplog.text
    ax = figure.axes[0]
    series = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    assert list(series) == ["ldl (198 genes)", "hdl (50 genes)"]
    for label, p in (("ldl (198 genes)", ldl), ("hdl (50 genes)", hdl)):
        p = np.sort(p[~np.isnan(p)])
        n = p.size
        expected = np.array([-np.log10((i - 0.5) / n) for i in range(1, n + 1)])
        observed = -np.log10(np.maximum(p, np.finfo(float).tiny))
        np.testing.assert_allclose(series[label].get_xdata(), expected)
        np.testing.assert_allclose(series[label].get_ydata(), observed)
    assert series["ldl (198 genes)"].get_ydata()[0] == pytest.approx(-np.log10(np.finfo(float).tiny))
    # 95% band for n = 198: both edges are vertices of the filled polygon
    band = ax.collections[0]
    assert band.get_label() == "95% band under the null (n = 198)"
    vertices = band.get_paths()[0].vertices
    i = np.arange(1, 199)
    x = -np.log10((i - 0.5) / 198)
    for q in (0.025, 0.975):
        edge = np.column_stack([x, -np.log10(stats.beta.ppf(q, i, 198 - i + 1))])
        assert all(np.isclose(vertices, point).all(axis=1).any() for point in edge)
    assert ax.get_title() == "genes"


def test_qq_plot__only_empty_series(tmp_path):
    figure = qq_plot({"ldl": [np.nan], "hdl": []}, tmp_path / "qq.png")
    assert [line.get_label() for line in figure.axes[0].lines if not line.get_label().startswith("_")] == []
    assert (tmp_path / "qq.png").exists()


def test_qq_plot__input_errors(tmp_path):
    path = tmp_path / "qq.png"
    with pytest.raises(InputError, match="trait 'hdl' has gene p-value 1.5 outside"):
        qq_plot({"ldl": [0.1, 0.2], "hdl": [0.3, 1.5]}, path)
    with pytest.raises(InputError, match="trait 'ldl' has gene p-value -0.1 outside"):
        qq_plot({"ldl": [-0.1]}, path)
    with pytest.raises(InputError, match="gene p-values of trait 'ldl' are not all numbers"):
        qq_plot({"ldl": ["a", 0.2]}, path)
    assert not path.exists()


# ---------------------------------------------------------------- the typing figure uses covariance_ellipse


def test_typing_rule_figure__ellipses_match_covariance_ellipse(tmp_path, monkeypatch):
    figures = []

    class RecordingFigure(Figure):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            figures.append(self)

    monkeypatch.setattr(plots_module, "Figure", RecordingFigure)
    path = tmp_path / "typing_rule.png"
    plots_module.typing_rule_figure(path, ratio_threshold=4, angle_threshold=22.5)
    assert_valid_png(path)
    angle_ax, ratio_ax = figures[0].axes
    # the drawn shapes: 2-sigma ellipses of axis length 0.5 at four angles with ratio 16, and of
    # length 0.35 on the diagonal with ratios 1.2, 3, 5 and 16
    for ax, angles, ratios, length in ((angle_ax, [18.5, 28.5, 78.75, 135], [16] * 4, 0.5),
                                       (ratio_ax, [45] * 4, [1.2, 3, 5, 16], 0.35)):
        ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
        assert len(ellipses) == 4
        for ellipse, angle, ratio in zip(ellipses, angles, ratios):
            theta = np.radians(angle)
            axis, minor = np.array([np.cos(theta), np.sin(theta)]), np.array([-np.sin(theta), np.cos(theta)])
            sigma = length**2 * (np.outer(axis, axis) + np.outer(minor, minor) / ratio)
            expected = covariance_ellipse(sigma)
            np.testing.assert_allclose([ellipse.width, ellipse.height], [4 * length, 4 * length / np.sqrt(ratio)])
            np.testing.assert_allclose([ellipse.width, ellipse.height], [expected.width, expected.height])
            assert_same_angle(ellipse.angle, angle)
            assert ellipse.get_facecolor()[3] == 0 and ellipse.get_linewidth() == 2


def test_ld_block_map__one_bar_per_block_at_its_span(tmp_path):
    from phenomap.report.plots import ld_block_map

    blocks = pd.DataFrame({"chrom": ["2", "1", "1", "X"], "start": [0, 0, 3_000_000, 500_000],
                           "stop": [4_000_000, 3_000_000, 9_000_000, 2_000_000], "n_variants": [40, 30, 50, 7]})
    fig = ld_block_map(blocks, tmp_path / "ld.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "X"]
    bars = sorted((p.get_y() + p.get_height() / 2, p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    np.testing.assert_allclose(bars, [(0, 0, 3), (0, 3, 9), (1, 0, 4), (2, 0.5, 2)])
    assert "2 blocks, 80 variants" in [t.get_text() for t in ax.texts]
    assert_valid_png(tmp_path / "ld.png")


def test_shrinkage_figure__square_common_scale_per_trait_and_kept_epochs(rng, tmp_path):
    from phenomap.report.plots import shrinkage_figure

    curves = [{"train": [0.3, 0.2, 0.1], "val": [0.35, 0.25, 0.3], "best_epoch": 2}]
    effects = {"small": pd.DataFrame({"BETA": rng.normal(0, 0.01, 300), "BETA_SHRUNK": rng.normal(0, 0.002, 300)}),
               "large": pd.DataFrame({"BETA": rng.normal(0, 1.0, 300), "BETA_SHRUNK": rng.normal(0, 0.2, 300)})}
    fig = shrinkage_figure(curves, effects, tmp_path / "s.png")
    loss, small, large = fig.axes
    kept = [line for line in loss.lines if line.get_marker() == "o"][0]
    assert tuple(kept.get_xydata()[0]) == (2, 0.25)
    for ax, table in ((small, effects["small"]), (large, effects["large"])):
        limit = 1.05 * np.abs(table.to_numpy()).max()
        assert ax.get_xlim() == pytest.approx((-limit, limit)) and ax.get_ylim() == pytest.approx((-limit, limit))
    assert shrinkage_figure([], effects, tmp_path / "n.png").axes[0].texts[0].get_text().startswith("no network")


def test_prediction_scatter__legend_r2_equals_scikit_learn(rng, tmp_path):
    from sklearn.metrics import r2_score

    from phenomap.report.plots import prediction_scatter

    n = 80
    observed = rng.normal(size=n)
    table = pd.DataFrame({"split": ["test"] * n + ["train"] * n, "trait": "t",
                          "observed": np.r_[observed, rng.normal(size=n)],
                          "net": np.r_[observed + rng.normal(0, 0.5, n), np.zeros(n)],
                          "ridge": np.r_[0.5 * observed, np.zeros(n)]})
    fig = prediction_scatter(table, tmp_path / "p.png", methods=["net", "ridge"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [f"net (R² {r2_score(observed, table.net[:n]):.2f})",
                      f"ridge (R² {r2_score(observed, table.ridge[:n]):.2f})"]
    assert len(fig.axes[0].collections[0].get_offsets()) == n  # test samples only


def test_importance_manhattan__labels_the_most_important_loci(rng, tmp_path):
    from phenomap.report.plots import importance_manhattan

    table = pd.DataFrame({"CHROM": ["1"] * 50 + ["2"] * 50, "POS": np.tile(np.arange(50) * 1000, 2),
                          "ID": [f"s{i}" for i in range(100)], "importance": rng.uniform(0, 1, 100)})
    fig = importance_manhattan(table, tmp_path / "i.png", labels=3)
    top = table.nlargest(3, "importance").ID.tolist()
    assert [t.get_text() for t in fig.axes[0].texts] == top
    assert_valid_png(tmp_path / "i.png")
