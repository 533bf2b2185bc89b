"""Typing of mixture components from the eigenstructure of their covariances."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from phenomap.errors import InputError
from phenomap.mixture.dpgmm import fit_dpgmm
from phenomap.mixture.typing import classify_components
from phenomap.report.plots import typing_rule_figure

NAMES = ["ldl", "hdl"]


def ellipse(angle_deg: float, ratio: float, scale: float = 1.0) -> np.ndarray:
    """2 x 2 covariance with principal axis at ``angle_deg`` from trait 1 and eigenvalue ratio ``ratio``."""
    theta = np.radians(angle_deg)
    axis = np.array([np.cos(theta), np.sin(theta)])
    minor = np.array([-np.sin(theta), np.cos(theta)])
    return scale * (np.outer(axis, axis) + np.outer(minor, minor) / ratio)


def test_classify_components__planted_shapes():
    covariances = np.array([
        np.diag([1.0, 0.001]),                  # trait 1 specific
        np.diag([0.002, 0.5]),                  # trait 2 specific
        [[0.5, 0.45], [0.45, 0.5]],             # shared, positive correlation
        [[0.3, -0.22], [-0.22, 0.2]],           # shared, negative correlation (unequal variances)
        [[1e-4, 1e-5], [1e-5, 1.2e-4]],         # round: mixed
    ])
    table = classify_components(covariances, trait_names=NAMES)
    assert table.component.tolist() == [1, 2, 3, 4, 5]
    assert table.type.tolist() == ["trait-specific", "trait-specific", "shared-positive", "shared-negative", "mixed"]
    assert table.traits.tolist() == ["ldl", "hdl", "ldl,hdl", "ldl,hdl", "ldl,hdl"]
    expected_corr = [c[0][1] / np.sqrt(c[0][0] * c[1][1]) for c in covariances]
    np.testing.assert_allclose(table.correlation, expected_corr)
    np.testing.assert_allclose(table.trace, [np.trace(c) for c in covariances])
    np.testing.assert_allclose(table.eigenvalue_ratio[:2], [1000, 250])
    np.testing.assert_allclose(table.angle_deg[:2], [0, 0], atol=1e-6)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e3])
def test_classify_components__rotated_ellipses(scale):
    # an elongated ellipse turned through half a circle: type follows the axis angle only
    angles = np.arange(1.25, 180.0, 2.5)  # no angle on a threshold
    table = classify_components(np.array([ellipse(a, 10, scale) for a in angles]), trait_names=NAMES)
    nearest_axis = np.minimum.reduce([angles, np.abs(90 - angles), 180 - angles])
    np.testing.assert_allclose(table.angle_deg, nearest_axis, atol=1e-6)
    np.testing.assert_allclose(table.eigenvalue_ratio, 10, rtol=1e-9)
    expected = np.where(nearest_axis <= 22.5, "trait-specific",
                        np.where(angles < 90, "shared-positive", "shared-negative"))
    assert table.type.tolist() == expected.tolist()
    specific = table.type == "trait-specific"
    expected_trait = np.where(np.abs(90 - angles) <= 22.5, "hdl", "ldl")
    assert table.traits[specific].tolist() == expected_trait[specific.to_numpy()].tolist()


def test_classify_components__thresholds_are_respected():
    covariances = np.array([ellipse(30, 3.9), ellipse(30, 4.1), ellipse(21, 100), ellipse(24, 100)])
    default = classify_components(covariances, trait_names=NAMES)
    assert default.type.tolist() == ["mixed", "shared-positive", "trait-specific", "shared-positive"]
    custom = classify_components(covariances, trait_names=NAMES, ratio_threshold=3.0, angle_threshold=35.0)
    assert custom.type.tolist() == ["trait-specific"] * 4


def test_classify_components__more_than_two_traits():
    def along(axis, ratio=50.0):
        axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
        return np.outer(axis, axis) + np.eye(axis.size) / ratio

    names = ["a", "b", "c", "d"]
    covariances = np.array([
        along([1, 1, 0, 0]),            # shared by a and b
        along([1, -1, 1, 0]),           # shared by a, b and c, b against the others
        along([0, 0.1, 0, 1]),          # d specific (5.7 degrees off its axis)
        along([0.8, 0.35, 0.35, 0.35]),  # axis 37 degrees from a, other loadings small: mixed
        np.eye(4),                      # isotropic: mixed
    ])
    table = classify_components(covariances, trait_names=names)
    assert table.type.tolist() == ["shared-positive", "shared-negative", "trait-specific", "mixed", "mixed"]
    assert table.traits.tolist() == ["a,b", "a,b,c", "d", "a,b,c,d", "a,b,c,d"]


def test_classify_components__trait_left_out_of_the_fit():
    table = classify_components(np.array([np.diag([0.5, 0.0]), np.zeros((2, 2)) + np.diag([0.1, 0.0])]),
                                trait_names=NAMES)
    assert table.type.tolist() == ["trait-specific", "trait-specific"]
    assert np.isinf(table.eigenvalue_ratio).all() and table.correlation.isna().all()


def test_classify_components__fitted_planted_mixture(rng):
    planted = [np.diag([1.0, 0.0005]), np.diag([0.0005, 0.6]), 0.3 * np.array([[1, 0.95], [0.95, 1]]),
               0.2 * np.array([[1, -0.95], [-0.95, 1]])]
    effects = np.vstack([rng.multivariate_normal([0, 0], cov, size=800) for cov in planted])
    fit = fit_dpgmm(effects, n_restarts=5)
    table = classify_components(fit.covariances, trait_names=NAMES)
    assert sorted(zip(table.type, table.traits)) == [("shared-negative", "ldl,hdl"), ("shared-positive", "ldl,hdl"),
                                                      ("trait-specific", "hdl"), ("trait-specific", "ldl")]


def test_classify_components__empty_mixture():
    table = classify_components(np.zeros((0, 2, 2)), trait_names=NAMES)
    assert table.empty and "type" in table.columns


def test_classify_components__bad_input_raises():
    with pytest.raises(InputError, match="at least two traits"):
        classify_components(np.ones((1, 1, 1)), trait_names=["a"])
    with pytest.raises(InputError, match="3 trait names"):
        classify_components(np.eye(2)[None], trait_names=["a", "b", "c"])
    with pytest.raises(InputError, match="component 2 has a negative eigenvalue"):
        classify_components(np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]), trait_names=NAMES)
    with pytest.raises(InputError, match="component 1 is not symmetric"):
        classify_components(np.array([[[1.0, 0.5], [0.0, 1.0]]]), trait_names=NAMES)
    with pytest.raises(InputError, match="not finite or is all zero"):
        classify_components(np.array([[[np.nan, 0.0], [0.0, 1.0]]]), trait_names=NAMES)
    with pytest.raises(InputError, match="angle_threshold"):
        classify_components(np.eye(2)[None], trait_names=NAMES, angle_threshold=45)
    with pytest.raises(InputError, match="ratio_threshold"):
        classify_components(np.eye(2)[None], trait_names=NAMES, ratio_threshold=0.5)


def test_typing_rule_figure__writes_an_image(tmp_path):
    path = tmp_path / "figures" / "typing_rule.png"
    typing_rule_figure(path, ratio_threshold=5, angle_threshold=20)
    image = imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05  # something was drawn
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
