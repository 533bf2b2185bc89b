"""Types of mixture components from the shape of their covariance ellipse (d >= 2 traits).

Rule
----
For a component with covariance Sigma (d x d), eigenvalues l1 >= l2 >= ... and principal
axis u (the unit eigenvector of l1):

1. ``eigenvalue_ratio = l1 / l2``. Below ``ratio_threshold`` the ellipse has no dominant
   direction (roughly round in its two longest axes): **mixed**.
2. ``angle_deg`` = angle between u and the nearest trait axis, arccos(max_j |u_j|). Within
   ``angle_threshold`` of trait j's axis: **trait-specific** (traits = j).
3. Otherwise the traits with a large loading, |u_j| > sin(angle_threshold), share the
   component: a loading that large would, alone, turn the axis more than the threshold away
   from any single-trait axis. With two or more such traits: **shared-positive** when their
   loadings all have the same sign (the effects move together), else **shared-negative**;
   with fewer than two (an axis spread thinly over many traits): **mixed**.

For d = 2, step 3 always finds both traits (an axis more than the threshold away from
both trait axes has both loadings above sin(threshold)), and the sign is the sign of the
traits' correlation. The defaults read: the principal axis is at least twice as long as the
next one (ratio 4 for the variances; for two traits of equal variance, |correlation| >= 0.6),
and 22.5 degrees, halfway between a trait axis and the diagonal of two traits.

``correlation`` is Sigma_jl / sqrt(Sigma_jj Sigma_ll) for the two traits with the largest
loadings on u (for d = 2, the traits' correlation). A trait left out of the fit (all its
effects null, zero rows in Sigma) has a zero variance: eigenvalue ratios may be infinite and
correlations involving it are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from phenomap.errors import InputError

TYPES = ("trait-specific", "shared-positive", "shared-negative", "mixed")
COLUMNS = ["component", "type", "traits", "eigenvalue_ratio", "angle_deg", "correlation", "trace"]
RATIO_THRESHOLD = 4.0
ANGLE_THRESHOLD = 22.5


def classify_components(
    covariances: np.ndarray,
    *,
    trait_names: Sequence[str],
    ratio_threshold: float = RATIO_THRESHOLD,
    angle_threshold: float = ANGLE_THRESHOLD,
) -> pd.DataFrame:
    """Type each component of a mixture from its covariance (see the module docstring).

    Parameters
    ----------
    covariances : (K, d, d) component covariances, d >= 2, component k numbered k + 1.
    trait_names : d names, in the order of the covariance axes.
    ratio_threshold : smallest l1 / l2 (>= 1) for a component to have a direction.
    angle_threshold : largest angle in degrees (0 < . < 45) between the principal axis and a
        trait axis for a trait-specific component.

    Returns
    -------
    DataFrame, one row per component: ``component`` (1..K), ``type`` (one of ``TYPES``),
    ``traits`` (comma-separated names: the specific trait, the shared ones, or for mixed
    components every trait with a non-zero variance), ``eigenvalue_ratio``, ``angle_deg``,
    ``correlation`` and ``trace`` (of Sigma, squared effect units).

    Raises
    ------
    InputError for fewer than two traits, names that do not match d, non-finite, asymmetric
    or non-PSD (or all-zero) covariances, and thresholds out of range.
    """
    covariances = _check_covariances(covariances, trait_names)
    if not ratio_threshold >= 1:
        raise InputError(f"ratio_threshold must be >= 1 (an eigenvalue ratio), got {ratio_threshold}.")
    if not 0 < angle_threshold < 45:
        raise InputError(f"angle_threshold must lie strictly between 0 and 45 degrees, got {angle_threshold}.")
    names = list(trait_names)
    rows = []
    for k, sigma in enumerate(covariances, start=1):
        values, vectors = np.linalg.eigh(sigma)
        largest, second = values[-1], max(values[-2], 0.0)
        ratio = largest / second if second > 0 else np.inf
        axis = vectors[:, -1]
        loading = np.abs(axis)
        angle = float(np.degrees(np.arccos(min(loading.max(), 1.0))))
        top_two = np.argsort(-loading, kind="stable")[:2]
        large = np.flatnonzero(loading > np.sin(np.radians(angle_threshold)))
        if ratio < ratio_threshold or (angle > angle_threshold and large.size < 2):
            kind, traits = "mixed", np.flatnonzero(np.diag(sigma) > 0)
        elif angle <= angle_threshold:
            kind, traits = "trait-specific", top_two[:1]
        else:
            same_sign = np.all(np.sign(axis[large]) == np.sign(axis[large[0]]))
            kind, traits = ("shared-positive" if same_sign else "shared-negative"), large
        rows.append({
            "component": k,
            "type": kind,
            "traits": ",".join(names[j] for j in traits),
            "eigenvalue_ratio": float(ratio),
            "angle_deg": angle,
            "correlation": _correlation(sigma, *top_two),
            "trace": float(np.trace(sigma)),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _check_covariances(covariances: np.ndarray, trait_names: Sequence[str]) -> np.ndarray:
    covariances = np.asarray(covariances, dtype=float)
    if covariances.ndim != 3 or covariances.shape[1] != covariances.shape[2]:
        raise InputError(f"covariances must be a (components, traits, traits) array, got shape {covariances.shape}.")
    d = covariances.shape[1]
    if d < 2:
        raise InputError(
            f"cluster typing needs at least two traits, got {d}: with one trait every component is specific to it."
        )
    if len(trait_names) != d:
        raise InputError(f"{len(trait_names)} trait names {list(trait_names)} given for {d}-trait covariances.")
    for k, sigma in enumerate(covariances, start=1):
        scale = np.abs(sigma).max() if np.isfinite(sigma).all() else np.nan
        if not np.isfinite(scale) or scale == 0:
            raise InputError(f"covariance of component {k} is not finite or is all zero: {sigma.tolist()}.")
        if not np.allclose(sigma, sigma.T, rtol=0, atol=1e-10 * scale):
            raise InputError(f"covariance of component {k} is not symmetric: {sigma.tolist()}.")
        if np.linalg.eigvalsh(sigma)[0] < -1e-10 * scale:
            raise InputError(
                f"covariance of component {k} has a negative eigenvalue (not a covariance): {sigma.tolist()}."
            )
    return covariances


def _correlation(sigma: np.ndarray, j: int, l: int) -> float:
    denominator = np.sqrt(sigma[j, j] * sigma[l, l])
    return float(sigma[j, l] / denominator) if denominator > 0 else float("nan")
