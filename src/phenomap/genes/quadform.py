"""Upper-tail probabilities of non-negative quadratic forms in normal variables.

For ``Q = sum_i lambda_i X_i`` with independent ``X_i ~ chi2_1`` and weights ``lambda_i >= 0``
(the eigenvalues of the covariance of a Gaussian vector ``z``, for ``Q = z'z``), the functions
here give ``P(Q > q)`` three ways:

* :func:`liu_pvalue`: Liu, Tang & Zhang (2009) moment matching. Q is standardised and
  matched to a scaled chi-square whose degrees of freedom ``l`` reproduce Q's skewness. With
  ``c_j = sum lambda^j``, ``l = c_2^3 / c_3^2`` and
  ``P(Q > q) ~ P(chi2_l > l + (q - c_1) sqrt(l / c_2))``. For central forms, as here, Liu's
  kurtosis branch never applies: ``c_3^2 <= c_2 c_4`` (Cauchy-Schwarz), so the matched chi-square
  is central and ``c_4`` is not needed. Exact for equal weights; a few per cent off in the bulk
  for unequal ones, and increasingly wrong in the far tail.
* :func:`imhof_pvalue`: Imhof's (1961) inversion of the characteristic function,
  ``P(Q > q) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du`` with
  ``theta(u) = sum arctan(lambda_i u) / 2 - q u / 2`` and
  ``rho(u) = prod (1 + lambda_i^2 u^2)^(1/4)`` (weights scaled so the largest is 1). The
  integrand decays only like ``u^(-1-k/2)`` while oscillating, so adaptive quadrature over
  ``[0, inf)`` is unreliable for few weights (k = 1, 2). Here the integral is split at the
  first ``a >= max(1, 4 pi / q)`` beyond which the slope of ``sum arctan(lambda_i u) / 2`` is
  below ``q / 4``: past ``a``, ``sin(theta)`` changes sign once per half-period ``2 pi / q``.
  The head ``[0, a]`` is integrated by 20-point Gauss-Legendre on panels that double in
  length from 1/8 and are at most a quarter period long (error estimated by halving every
  panel); the tail is summed over 64 half-periods, whose partial sums oscillate about the
  limit, and the limit is taken by repeated averaging of neighbouring partial sums (an Euler
  transform; its last change is the error estimate). All evaluations are vectorised numpy,
  about 1-2 ms per form. The result reaches the rounding floor of the ``1/2 + I/pi``
  cancellation, an absolute error of ~1e-15, so p-values down to ~1e-13 keep a relative
  error below 1% (checked against closed forms and 30-digit mpmath quadrature).
* :func:`saddlepoint_pvalue`: Kuonen's (1999) saddlepoint approximation (Lugannani-Rice in
  Barndorff-Nielsen's form), whose *relative* error stays bounded in the far tail: under 15%
  for one weight (the worst case) down to p = 1e-20, 0.1% for 50 equal weights.

:func:`quadform_pvalues` (``method="auto"``) uses Liu for the bulk, where it is vectorised
over all forms and only a few per cent off; below ``switch`` (default 0.05, so every p-value
that can matter for significance is exact) it computes Imhof; where Imhof's error estimate
exceeds 10% of its p-value (only for p below ~1e-14) it uses the saddlepoint approximation,
whose relative error there is about that size or smaller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: Below this Liu p-value, ``method="auto"`` recomputes the p-value by Imhof's method: every
#: p-value that can be significant at usual levels is then exact, for ~1 ms per such form.
DEFAULT_SWITCH = 0.05
#: ``method="auto"`` keeps Imhof's p-value while its error estimate is at most this fraction of it.
IMHOF_MAX_RELATIVE_ERROR = 0.1
#: Rounding floor of Imhof's ``1/2 + integral/pi`` (a few units in the last place of 1/2).
IMHOF_ROUNDING = 8 * np.finfo(float).eps
#: Half-periods of ``sin(q u / 2)`` integrated in Imhof's tail before the limit is taken.
TAIL_HALF_PERIODS = 64
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)
METHODS = ("auto", "liu", "imhof")


def _weights(lambdas) -> np.ndarray:
    """The weights as a flat float64 array; ValueError unless finite, >= 0 and not all 0."""
    lam = np.asarray(lambdas, dtype=np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)) or lam.min() < 0 or lam.max() == 0:
        raise ValueError(f"quadratic-form weights must be finite, >= 0 and not all 0; got {lam[:5]}...")
    return lam


def liu_pvalue(q, lambdas) -> np.ndarray:
    """Liu-Tang-Zhang moment-matching approximation of ``P(Q > q)``.

    Parameters
    ----------
    q : scalar or array of observed values of Q (any shape).
    lambdas : (k,) weights, >= 0, not all 0.

    Returns
    -------
    float64 array of q's shape (a 0-d array for scalar q).
    """
    lam = _weights(lambdas)
    c1, c2, c3 = (np.sum(lam**j) for j in (1, 2, 3))
    return _liu(np.asarray(q, dtype=np.float64), c1, c2, c3)


def _liu(q, c1, c2, c3):
    dof = c2**3 / c3**2
    return stats.chi2.sf(dof + (q - c1) * np.sqrt(dof / c2), dof)


def imhof_integral(q: float, lambdas) -> tuple[float, float]:
    """Imhof's numerical inversion: ``P(Q > q)`` and an estimate of its absolute error.

    See the module docstring for the scheme. The error estimate adds the change of the
    head integral when its panels are halved, the last change of the averaged tail, and the
    rounding floor ``IMHOF_ROUNDING``.
    """
    lam = _weights(lambdas)
    if q <= 0:
        return 1.0, 0.0
    scale = lam.max()
    lam, x = lam / scale, q / scale
    freq = x / 2
    half_period = np.pi / freq

    def integrand(u: np.ndarray) -> np.ndarray:  # u > 0, any shape
        lu = u[..., None] * lam
        phase = 0.5 * np.sum(np.arctan(lu), axis=-1) - freq * u
        return np.sin(phase) * np.exp(-0.25 * np.sum(np.log1p(lu * lu), axis=-1)) / u

    split = _tail_start(lam, freq, half_period)
    edges = np.concatenate([[0.0], 2.0 ** np.arange(-3, np.ceil(np.log2(split))), [split]])
    edges = np.unique(np.concatenate([np.linspace(lo, hi, int(np.ceil((hi - lo) / (half_period / 2))) + 1)
                                      for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]))
    head_coarse = _gauss_legendre(integrand, edges).sum()
    head = _gauss_legendre(integrand, np.sort(np.concatenate([edges, (edges[1:] + edges[:-1]) / 2]))).sum()
    tail_terms = _gauss_legendre(integrand, split + half_period * np.arange(TAIL_HALF_PERIODS + 1))
    tail, tail_error = _oscillating_limit(np.cumsum(tail_terms))
    error = (abs(head - head_coarse) + tail_error) / np.pi + IMHOF_ROUNDING
    return float(np.clip(0.5 + (head + tail) / np.pi, 0.0, 1.0)), float(error)


def _tail_start(lam: np.ndarray, freq: float, half_period: float) -> float:
    """First u >= max(1, 2 half-periods) where the phase slope sum(lam / (1 + lam^2 u^2)) / 2 <= freq / 2."""
    grid = np.geomspace(max(1.0, 2 * half_period), 1e15, 400)
    slow = 0.5 * np.sum(lam / (1 + np.outer(grid**2, lam**2)), axis=1) <= freq / 2
    return float(grid[np.argmax(slow)] if slow.any() else grid[-1])


def _gauss_legendre(func, edges: np.ndarray) -> np.ndarray:
    """Integral of ``func`` over each panel ``[edges[i], edges[i + 1]]`` by 20-point Gauss-Legendre."""
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    return func(mid[:, None] + half[:, None] * _GL_NODES) @ _GL_WEIGHTS * half


def _oscillating_limit(partial_sums: np.ndarray) -> tuple[float, float]:
    """Limit of partial sums ``S + (-1)^n b(n)`` (b smooth) by repeated averaging; (limit, last change).

    Averaging neighbours cancels the alternating part to leading order; each round removes
    one more order of b's variation.
    """
    previous, current = partial_sums[:-1], partial_sums
    for _ in range(len(partial_sums) // 2):
        previous, current = current, (current[1:] + current[:-1]) / 2
    return float(current[-1]), float(abs(current[-1] - previous[-1]))


def imhof_pvalue(q: float, lambdas) -> float:
    """``P(Q > q)`` by Imhof's numerical inversion (see :func:`imhof_integral` for its error)."""
    return imhof_integral(q, lambdas)[0]


def saddlepoint_pvalue(q: float, lambdas) -> float:
    """Kuonen's saddlepoint approximation of ``P(Q > q)``, for ``q`` above the mean of Q.

    With the cumulant generating function ``K(s) = -sum log(1 - 2 s lambda_i) / 2`` and the
    saddlepoint ``s`` solving ``K'(s) = q`` (in ``(0, 1 / (2 max lambda))``),
    ``w = sqrt(2 (s q - K(s)))``, ``v = s sqrt(K''(s))`` and
    ``P(Q > q) ~ 1 - Phi(w + log(v / w) / w)``. Used for the far upper tail, where its
    relative error is bounded; at and below the mean (``w -> 0``) the formula is unstable,
    and a ValueError is raised there.
    """
    lam = _weights(lambdas)
    scale = lam.max()
    lam, x = lam / scale, q / scale
    if x <= lam.sum():
        raise ValueError(f"the saddlepoint tail approximation needs q above the mean {lam.sum() * scale:g}, got {q:g}")

    def slope(s):  # K'(s) - x, increasing in s
        return np.sum(lam / (1 - 2 * s * lam)) - x

    # At s_hi, 1 - 2 s_hi = 1 / (2x), so the largest weight alone gives K'(s_hi) >= 2x > x.
    s = optimize.brentq(slope, 0.0, 0.5 * (1 - 0.5 / x), xtol=1e-300, rtol=4 * np.finfo(float).eps)
    cgf = -0.5 * np.sum(np.log1p(-2 * s * lam))
    w = np.sqrt(2 * (s * x - cgf))
    v = s * np.sqrt(np.sum(2 * lam**2 / (1 - 2 * s * lam) ** 2))
    return float(stats.norm.sf(w + np.log(v / w) / w))


@dataclass(frozen=True)
class QuadformPvalues:
    """P-values of many quadratic forms and how each was computed.

    p : (G,) float64 upper-tail probabilities.
    method : (G,) str, ``"liu"``, ``"imhof"`` or ``"saddlepoint"``.
    """

    p: np.ndarray
    method: np.ndarray


def quadform_pvalues(
    q, lambdas: Sequence[np.ndarray], *, method: str = "auto", switch: float = DEFAULT_SWITCH
) -> QuadformPvalues:
    """``P(Q_g > q_g)`` for many quadratic forms ``Q_g = sum_i lambda_gi chi2_1``.

    Parameters
    ----------
    q : (G,) observed values.
    lambdas : G arrays of weights (>= 0, not all 0), one per form; lengths may differ.
    method : ``"auto"`` (Liu; Imhof where Liu's p < ``switch``; the saddlepoint approximation
        where Imhof's error estimate exceeds ``IMHOF_MAX_RELATIVE_ERROR`` of its value),
        ``"liu"`` or ``"imhof"`` (for every form).
    switch : Liu p-value below which ``"auto"`` recomputes.

    Liu's approximation is vectorised over all forms; Imhof costs ~1-2 ms per form.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    q = np.asarray(q, dtype=np.float64).ravel()
    if len(q) != len(lambdas):
        raise ValueError(f"{len(q)} statistics but {len(lambdas)} weight vectors")
    used = np.full(len(q), "liu", dtype=object)
    if len(q) == 0:
        return QuadformPvalues(np.zeros(0), used.astype(str))
    sizes = np.array([np.size(lam) for lam in lambdas])
    flat = np.concatenate([np.asarray(lam, dtype=np.float64).ravel() for lam in lambdas])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    valid = sizes.min() > 0 and np.all(np.isfinite(flat)) and flat.min() >= 0
    if not valid or np.maximum.reduceat(flat, starts).min() == 0:
        raise ValueError("every weight vector must be non-empty, finite, >= 0 and not all 0")
    if method == "imhof":
        p = np.array([imhof_pvalue(x, lam) for x, lam in zip(q, lambdas)])
        return QuadformPvalues(p, np.full(len(q), "imhof"))
    c1, c2, c3 = (np.add.reduceat(flat**j, starts) for j in (1, 2, 3))
    p = _liu(q, c1, c2, c3)
    if method == "auto":
        for g in np.flatnonzero(p < switch):
            p_imhof, error = imhof_integral(q[g], lambdas[g])
            if error <= IMHOF_MAX_RELATIVE_ERROR * p_imhof:
                p[g], used[g] = p_imhof, "imhof"
            else:
                p[g], used[g] = saddlepoint_pvalue(q[g], lambdas[g]), "saddlepoint"
    return QuadformPvalues(p, used.astype(str))


def quadform_pvalue(q: float, lambdas, *, method: str = "auto", switch: float = DEFAULT_SWITCH) -> float:
    """``P(Q > q)`` for one quadratic form; see :func:`quadform_pvalues` for the methods."""
    return float(quadform_pvalues([q], [lambdas], method=method, switch=switch).p[0])
