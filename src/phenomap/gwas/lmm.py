"""Linear mixed-model association: exact per-variant REML and Wald test, as GEMMA ``-lmm 1``.

Model (Zhou & Stephens 2012), for n analysed samples and one variant x::

    y = W a + x b + g + e,   g ~ N(0, s_g^2 K),   e ~ N(0, s_e^2 I),

so ``Var(y) = s_e^2 H`` with ``H = lambda K + I`` and ``lambda = s_g^2 / s_e^2``. W (n, c)
holds the intercept and the covariates. With ``K = U diag(delta) U'``, rotating y, W and x
by ``U'`` makes H diagonal, ``h_i = 1 / (lambda delta_i + 1)`` being the diagonal of H^-1,
and every quantity below is a weighted sum over i.

REML. With ``A = [W, x]`` (p = c + 1 columns), ``df = n - p`` and
``P = H^-1 - H^-1 A (A'H^-1 A)^-1 A'H^-1``, the restricted log-likelihood is::

    l(lambda) = const - 1/2 [log|H| + log|A'H^-1 A| + df log(y'P y)]

and its derivative is ``dl/dlambda = (tr P - df y'P^2 y / y'P y) / (2 lambda)``. For every
variant lambda is chosen as GEMMA does: the sign of the derivative is evaluated on the
grid ``lambda_k = 1e-5 * 10^k``, k = 0..10; each interval where it changes sign is refined
to its root (Chandrupatla's bracketing method, to 1e-10 in log lambda); the root with the
largest l is kept unless l at 1e-5 or 1e5 is larger (no sign change: the better boundary).

Wald test at that lambda, with ``P_0`` the projection with W only and ``P_1`` with W and x::

    beta = x'P_0 y / x'P_0 x,   se = sqrt(y'P_1 y / (df x'P_0 x)),   df = n - c - 1,

and p is the two-sided t(df) p-value of beta / se (GEMMA's F(1, df) test of its square).

Everything is vectorised over the variants of a chunk: the grid is a few matrix products
shared by all variants, the root search runs on all (variant, interval) pairs at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats
from scipy.optimize import elementwise

from phenomap.errors import InputError
from phenomap.gwas.grm import genome_grm
from phenomap.gwas.linear import association_table, load_trait
from phenomap.io.plink import Bfile
from phenomap.io.tables import write_tsv
from phenomap.ld.matrix import impute_centre

log = logging.getLogger(__name__)

#: GEMMA's defaults (``-lmin``, ``-lmax``, ``-region``): the lambda grid of the root search.
LAMBDA_MIN, LAMBDA_MAX, N_REGIONS = 1e-5, 1e5, 10
LAMBDA_GRID = LAMBDA_MIN * np.exp(np.log(LAMBDA_MAX / LAMBDA_MIN) * np.arange(N_REGIONS + 1) / N_REGIONS)
#: Eigenvalues of K below this are set to 0 (rounding noise of a PSD matrix; GEMMA's value).
EIGEN_MIN = 1e-10
#: Tolerance of the root search on log(lambda).
LOG_LAMBDA_TOL = 1e-10
#: Key of ``DataFrame.attrs`` where :func:`run_lmm_gwas` puts the null model, as a dict of
#: :class:`NullModel` fields.
NULL_MODEL_ATTR = "lmm_null_model"
#: Float64 elements per temporary array of the root search (32 MiB), which sets how many
#: variants are searched together.
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class NullModel:
    """REML fit of the model without a variant, ``y = W a + g + e``.

    Attributes
    ----------
    lambda0 : REML estimate of ``s_g^2 / s_e^2``.
    sigma_g2, sigma_e2 : the variance components, in squared trait units:
        ``sigma_e2 = y'P_0 y / (n - c)`` at lambda0 and ``sigma_g2 = lambda0 * sigma_e2``.
    h2 : SNP heritability ``lambda0 * mean(diag K) / (lambda0 * mean(diag K) + 1)``, the
        share of ``Var(g) + Var(e)`` due to g (GEMMA's "pve estimate in the null model").
    mean_diag_k : mean of diag(K) (= the mean eigenvalue of K).
    loglik : restricted log-likelihood at lambda0, GEMMA's normalisation.
    n : analysed samples; n_covariates : columns of W, intercept included.
    """

    lambda0: float
    sigma_g2: float
    sigma_e2: float
    h2: float
    mean_diag_k: float
    loglik: float
    n: int
    n_covariates: int


@dataclass(frozen=True)
class SpectralModel:
    """A trait and its design rotated into the eigenbasis of a GRM, with the null fit.

    Attributes
    ----------
    eigenvectors : (n, n) U with ``K = U diag(eigenvalues) U'``.
    eigenvalues : (n,) delta >= 0 (values below EIGEN_MIN set to 0).
    y : (n,) ``U'(y - mean(y))``.
    W : (n, c) ``U'W``, W the intercept and centred covariates.
    null : the REML fit without a variant.
    """

    eigenvectors: np.ndarray
    eigenvalues: np.ndarray
    y: np.ndarray
    W: np.ndarray
    null: NullModel

    @property
    def df(self) -> int:
        """Residual degrees of freedom of a variant's test, ``n - c - 1``."""
        return len(self.y) - self.W.shape[1] - 1


@dataclass(frozen=True)
class LmmAssociation:
    """Per-variant results, each (m,) float64; NaN where the variant cannot be tested.

    ``beta`` is the effect per copy of A1 in trait units, ``se`` its standard error, ``t``
    = beta / se with ``n - c - 1`` degrees of freedom, ``p`` its two-sided p-value,
    ``lam`` the REML ``s_g^2 / s_e^2`` of the model with the variant, ``n`` the analysed
    samples with an observed call (missing calls are mean-imputed) and ``a1_freq`` the A1
    frequency among them.
    """

    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    lam: np.ndarray
    n: np.ndarray
    a1_freq: np.ndarray


def spectral_model(K: np.ndarray, y: np.ndarray, Z: np.ndarray, *, overwrite_k: bool = False) -> SpectralModel:
    """Eigendecompose K, rotate the trait and design, and fit the null model by REML.

    Parameters
    ----------
    K : (n, n) GRM of the analysed samples (symmetric positive semi-definite).
    y : (n,) trait, no NaN.
    Z : (n, c) design: intercept and covariates (:func:`phenomap.gwas.linear.design_matrix`).
    overwrite_k : let the eigendecomposition destroy K (saves one n x n copy).

    Raises
    ------
    InputError when ``n - c - 1 < 1`` (too few samples for the covariates).
    """
    n, c = Z.shape
    if n - c - 1 < 1:
        raise InputError(f"{n} analysed samples cannot fit {c - 1} covariate(s), an intercept and a variant; "
                         "analyse more samples or drop covariates.")
    delta, U = scipy.linalg.eigh(K, driver="evd", overwrite_a=overwrite_k, check_finite=False)
    delta[delta < EIGEN_MIN] = 0.0
    y = np.asarray(y, dtype=np.float64)
    y_rot, W_rot = U.T @ (y - y.mean()), U.T @ Z
    null = _fit_null(delta, y_rot, W_rot)
    return SpectralModel(eigenvectors=U, eigenvalues=delta, y=y_rot, W=W_rot, null=null)


def lmm_association(G: np.ndarray, model: SpectralModel) -> LmmAssociation:
    """Per-variant REML and Wald test of the columns of ``G`` under ``model``.

    Parameters
    ----------
    G : (n, m) allele counts of A1 of the model's samples (rows in the model's order), NaN =
        missing call (mean-imputed over the n samples, as GEMMA does).
    model : from :func:`spectral_model`.

    Returns
    -------
    LmmAssociation; a variant constant over the samples, or collinear with the covariates
    (less than 1e-8 of its variance left after regressing on them), has NaN statistics.
    """
    n, m = G.shape
    X, mean = impute_centre(G)
    n_obs = n - np.isnan(G).sum(axis=0)
    Xt = X.T @ model.eigenvectors  # (m, n): U'x of every variant, one per row
    del X
    # collinearity with the covariates, on rotated vectors (rotation keeps inner products)
    ss = np.einsum("ij,ij->i", Xt, Xt)
    xw = Xt @ model.W
    resid = ss - np.einsum("ij,ij->i", xw, np.linalg.solve(model.W.T @ model.W, xw.T).T)
    testable = (ss > 0) & (resid > 1e-8 * ss)
    beta, se, lam = (np.full(m, np.nan) for _ in range(3))
    rows = np.flatnonzero(testable)
    block = max(1, _BLOCK_ELEMENTS // n)
    context = _Context(model.eigenvalues, model.W, model.y)
    for start in range(0, len(rows), block):
        sel = rows[start : start + block]
        beta[sel], se[sel], lam[sel] = _search_and_test(_VariantGrams(Xt[sel], context), context, model.df)
    t = beta / se
    p = 2.0 * stats.t.sf(np.abs(t), model.df)
    return LmmAssociation(beta=beta, se=se, t=t, p=p, lam=lam, n=n_obs.astype(np.float64), a1_freq=mean / 2.0)


def lmm_memory_mb(n_samples: int, chunk: int) -> int:
    """Memory (MB) to request for :func:`run_lmm_gwas` on ``n_samples`` analysed samples.

    Its peak is about ``8 * (5 n^2 + 3 n chunk)`` bytes (relationship matrices, eigenvectors and
    a rotated chunk of genotypes) plus ~250 MB for the interpreter; half again is added, rounded
    up to 100 MB.
    """
    peak = 8 * (5 * n_samples**2 + 3 * n_samples * chunk)
    return int(np.ceil((1.5 * peak / 1e6 + 250) / 100) * 100)


def run_lmm_gwas(
    bfile_prefix: str | Path,
    pheno: str | Path,
    trait: str,
    out: str | Path,
    *,
    covar: str | Path | None = None,
    covariates: list[str] | None = None,
    chunk: int = 4096,
    loco: bool = True,
) -> pd.DataFrame:
    """Mixed-model GWAS of one trait over a fileset; writes the sumstats-contract TSV ``out``.

    Samples are joined to the phenotype and covariate files on (FID, IID) and those with a
    missing trait or covariate are dropped (:func:`phenomap.gwas.linear.load_trait`). The
    GRM (:mod:`phenomap.gwas.grm`) is built from every variant of the fileset over the
    analysed samples. With ``loco`` the variants of chromosome c are tested against
    ``K_{-c}`` (one eigendecomposition per chromosome); without, against the whole-genome K.
    Genotypes are streamed ``chunk`` variants at a time: memory is O(n^2 + n * chunk).

    Returns
    -------
    The table written to ``out``: ``CHROM POS ID A1 A2 A1_FREQ N BETA SE Z P`` in .bim order,
    Z = beta / se, A1 the counted (.bim A1) allele, N the analysed samples with an observed
    call; NA statistics for constant or covariate-collinear variants. The null model on the
    whole-genome K (h2, lambda0, variance components) is in
    ``table.attrs[NULL_MODEL_ATTR]`` as a dict of :class:`NullModel` fields, and logged.

    Raises
    ------
    InputError for bad phenotype/covariate files (see ``load_trait``), too few samples, or
    ``loco`` with variants on a single chromosome.
    """
    bfile = Bfile.open(bfile_prefix)
    data = load_trait(bfile, pheno, trait, covar=covar, covariates=covariates)
    chroms = list(pd.unique(bfile.bim.CHROM))
    if loco and len(chroms) < 2:
        raise InputError(
            f"{bfile_prefix}.bim has variants on chromosome {chroms[0]} only: leaving it out of the GRM (LOCO) "
            "leaves no marker; set gwas.loco: false to use one whole-genome GRM."
        )
    grm = genome_grm(bfile, data.samples, chunk=chunk, progress=f"GRM {trait}")
    whole = spectral_model(grm.matrix(), data.y, data.Z, overwrite_k=True)
    null = whole.null
    log.info("trait %s: null model on the whole-genome GRM (%d samples, %d variants): lambda0=%.5g h2=%.4f "
             "sigma_g2=%.5g sigma_e2=%.5g", trait, null.n, bfile.n_variants, null.lambda0, null.h2,
             null.sigma_g2, null.sigma_e2)
    if loco:
        del whole  # one eigenbasis in memory at a time
    m = bfile.n_variants
    results = {key: np.full(m, np.nan) for key in ("beta", "se", "t", "p", "lam", "n", "a1_freq")}
    for chrom in chroms:
        t0 = time.perf_counter()
        idx = np.flatnonzero((bfile.bim.CHROM == chrom).to_numpy())
        if loco:
            model = spectral_model(grm.leave_out(chrom, progress=f"GRM {trait} without chr{chrom}"),
                                   data.y, data.Z, overwrite_k=True)
        else:
            model = whole
        for sel, G in bfile.chunks(chunk, variants=idx, samples=data.samples, progress=f"LMM {trait} chr{chrom}"):
            res = lmm_association(G, model)
            for key in results:
                results[key][sel] = getattr(res, key)
        p = results["p"][idx]
        log.info("trait %s chr%s: %d variants (%d untestable), %s lambda0=%.5g h2=%.4f, min P=%.3g, "
                 "median lambda=%.4g, %.1f s", trait, chrom, len(idx), int(np.isnan(p).sum()),
                 "LOCO" if loco else "whole-genome GRM", model.null.lambda0, model.null.h2,
                 np.nanmin(p) if np.isfinite(p).any() else np.nan,
                 np.nanmedian(results["lam"][idx]) if np.isfinite(p).any() else np.nan, time.perf_counter() - t0)
    table = association_table(bfile.bim, LmmAssociation(**results))
    table.attrs[NULL_MODEL_ATTR] = asdict(null)
    write_tsv(table, out)
    return table


# --- REML machinery --------------------------------------------------------------------------


class _Context:
    """Per-model constants: the rotated columns ``Z = [W, y]`` and their pairwise products.

    ``Q`` (n, 1 + q) holds a column of ones then ``Z_a * Z_b`` for the q pairs a <= b, so
    that ``h @ Q`` gives ``sum(h)`` and every weighted cross-product ``Z_a' diag(h) Z_b``.
    """

    def __init__(self, delta: np.ndarray, W_rot: np.ndarray, y_rot: np.ndarray):
        self.delta = delta
        self.Z = np.column_stack([W_rot, y_rot])
        self.c = W_rot.shape[1]
        self.pairs = np.triu_indices(self.c + 1)
        self.Q = np.column_stack([np.ones(len(delta)), self.Z[:, self.pairs[0]] * self.Z[:, self.pairs[1]]])

    def unpack(self, zz: np.ndarray) -> np.ndarray:
        """(..., q) packed products -> (..., c+1, c+1) symmetric Gram matrix of Z."""
        out = np.empty(zz.shape[:-1] + (self.c + 1, self.c + 1))
        out[..., self.pairs[0], self.pairs[1]] = zz
        out[..., self.pairs[1], self.pairs[0]] = zz
        return out

    def assemble(self, zz: np.ndarray, xz: np.ndarray, xx: np.ndarray) -> np.ndarray:
        """Gram matrix of ``[W, x, y]`` (..., c+2, c+2) from ``Z'HZ`` (packed), ``x'HZ`` and ``x'Hx``."""
        c = self.c
        shape = np.broadcast_shapes(zz.shape[:-1], xz.shape[:-1], xx.shape)
        G = np.empty(shape + (c + 2, c + 2))
        pos = np.r_[0:c, c + 1]  # where the columns of Z sit
        G[..., pos[:, None], pos[None, :]] = self.unpack(zz)[..., :, :]
        G[..., c, pos] = xz
        G[..., pos, c] = xz
        G[..., c, c] = xx
        return G


class _VariantGrams:
    """Weighted Gram matrices of ``[W, x, y]`` for a block of rotated variants ``Xt`` (k, n)."""

    def __init__(self, Xt: np.ndarray, context: _Context):
        self.Xt, self.ctx = Xt, context

    def grid(self, lam: np.ndarray):
        """Gram matrices under H^-1 and H^-2 at grid values ``lam`` (g,) shared by all variants.

        Returns G1, G2 (k, g, c+2, c+2) and ``tr H^-1`` (g,).
        """
        ctx, g = self.ctx, len(lam)
        h = 1.0 / (1.0 + np.outer(ctx.delta, lam))  # (n, g)
        weights = np.concatenate([h, h * h], axis=1)  # (n, 2g)
        n = len(ctx.delta)
        xz = (self.Xt @ (weights[:, :, None] * ctx.Z[:, None, :]).reshape(n, -1)).reshape(len(self.Xt), 2 * g, -1)
        xx = (self.Xt * self.Xt) @ weights
        zz = weights.T @ ctx.Q
        G1 = ctx.assemble(zz[:g, 1:], xz[:, :g], xx[:, :g])
        G2 = ctx.assemble(zz[g:, 1:], xz[:, g:], xx[:, g:])
        return G1, G2, zz[:g, 0]

    def at(self, lam: np.ndarray, rows: np.ndarray, second: bool = True):
        """Gram matrices for variant ``rows`` (k,) each at its own ``lam`` (k,).

        Returns G1 (k, c+2, c+2) under H^-1, G2 under H^-2 (None unless ``second``) and
        ``tr H^-1`` (k,).
        """
        ctx = self.ctx
        X = self.Xt[rows]
        h = 1.0 / (1.0 + lam[:, None] * ctx.delta[None, :])  # (k, n)
        hx = h * X
        zz = h @ ctx.Q
        G1 = ctx.assemble(zz[:, 1:], hx @ ctx.Z, np.einsum("ij,ij->i", hx, X))
        if not second:
            return G1, None, zz[:, 0]
        hx *= h
        h *= h
        G2 = ctx.assemble(h @ ctx.Q[:, 1:], hx @ ctx.Z, np.einsum("ij,ij->i", hx, X))
        return G1, G2, zz[:, 0]


class _NullGrams:
    """Weighted Gram matrices of ``[W, y]`` (the model without a variant), one item."""

    def __init__(self, context: _Context):
        self.ctx = context

    def grid(self, lam: np.ndarray):
        h = 1.0 / (1.0 + np.outer(self.ctx.delta, lam))
        zz1, zz2 = h.T @ self.ctx.Q, (h * h).T @ self.ctx.Q
        return self.ctx.unpack(zz1[None, :, 1:]), self.ctx.unpack(zz2[None, :, 1:]), zz1[:, 0]

    def at(self, lam: np.ndarray, rows: np.ndarray, second: bool = True):
        h = 1.0 / (1.0 + lam[:, None] * self.ctx.delta[None, :])
        zz1 = h @ self.ctx.Q
        G2 = self.ctx.unpack((h * h) @ self.ctx.Q[:, 1:]) if second else None
        return self.ctx.unpack(zz1[:, 1:]), G2, zz1[:, 0]


def _projections(G1: np.ndarray):
    """GLS pieces from Gram matrices of ``[A, y]`` under H^-1, shape (..., p+1, p+1).

    Returns the GLS coefficients (..., p), ``y'P y`` (...), ``(A'H^-1 A)^-1`` (..., p, p)
    and ``log|A'H^-1 A|`` (...).
    """
    p = G1.shape[-1] - 1
    M, b = G1[..., :p, :p], G1[..., :p, p]
    Minv = np.linalg.inv(M)
    coef = np.einsum("...ij,...j->...i", Minv, b)
    yPy = G1[..., p, p] - np.einsum("...i,...i->...", b, coef)
    return coef, yPy, Minv, np.linalg.slogdet(M)[1]


def _score(G1: np.ndarray, G2: np.ndarray, trace_h: np.ndarray, df: int) -> np.ndarray:
    """``2 lambda dl/dlambda = tr P - df y'P^2 y / y'P y``: same sign as the REML derivative."""
    p = G1.shape[-1] - 1
    coef, yPy, Minv, _ = _projections(G1)
    trace_p = trace_h - np.einsum("...ij,...ji->...", Minv, G2[..., :p, :p])
    yP2y = (G2[..., p, p] - 2.0 * np.einsum("...i,...i->...", coef, G2[..., :p, p])
            + np.einsum("...i,...ij,...j->...", coef, G2[..., :p, :p], coef))
    return trace_p - df * yP2y / yPy


def _loglik(G1: np.ndarray, logdet_h: np.ndarray, df: int) -> np.ndarray:
    """REML log-likelihood up to terms constant in lambda: ``-(log|H| + log|A'H^-1 A| + df log y'Py) / 2``."""
    _, yPy, _, logdet_m = _projections(G1)
    return -0.5 * (logdet_h + logdet_m + df * np.log(yPy))


def _remle(grams, delta: np.ndarray, df: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """GEMMA's REML lambda search for k items at once.

    Returns lambda (k,) and the Gram matrices under H^-1 at that lambda (k, p+1, p+1).
    """
    G1, G2, trace_h = grams.grid(LAMBDA_GRID)
    logdet_grid = np.log1p(np.outer(LAMBDA_GRID, delta)).sum(axis=1)
    score = _score(G1, G2, trace_h, df)  # (k, g)
    loglik = _loglik(G1, logdet_grid, df)
    item, interval = np.nonzero(score[:, :-1] * score[:, 1:] < 0)
    candidates = np.full((k, N_REGIONS + 2), -np.inf)  # roots by interval, then both boundaries
    candidates[:, N_REGIONS], candidates[:, N_REGIONS + 1] = loglik[:, 0], loglik[:, -1]
    if len(item):
        def f(log_lam, pair):  # called on the pairs not yet converged
            g1, g2, tr = grams.at(np.exp(log_lam), item[pair])
            return _score(g1, g2, tr, df)

        res = elementwise.find_root(
            f, (np.log(LAMBDA_GRID[interval]), np.log(LAMBDA_GRID[interval + 1])), args=(np.arange(len(item)),),
            tolerances=dict(xatol=LOG_LAMBDA_TOL, xrtol=0.0),
        )
        if not res.success.all():
            log.warning("%d of %d REML root searches failed (non-finite likelihood); their intervals are skipped",
                        int((~res.success).sum()), len(item))
        root = np.exp(res.x)
        G1_root, _, _ = grams.at(root, item, second=False)
        at_root = _loglik(G1_root, np.log1p(np.outer(root, delta)).sum(axis=1), df)
        candidates[item, interval] = np.where(res.success, at_root, -np.inf)
    candidates[np.isnan(candidates)] = -np.inf
    best = np.argmax(candidates, axis=1)  # the first maximum: GEMMA's order and ties
    lam = np.where(best == N_REGIONS + 1, LAMBDA_MAX, LAMBDA_MIN)
    G_best = np.where((best == N_REGIONS + 1)[:, None, None], G1[:, -1], G1[:, 0])
    if len(item):
        pair_of = np.full((k, N_REGIONS), -1)
        pair_of[item, interval] = np.arange(len(item))
        from_root = np.flatnonzero(best < N_REGIONS)
        pair = pair_of[from_root, best[from_root]]
        lam[from_root], G_best[from_root] = root[pair], G1_root[pair]
    failed = np.isneginf(candidates.max(axis=1))  # no finite likelihood anywhere
    lam[failed], G_best[failed] = np.nan, np.nan
    return lam, G_best


def _search_and_test(grams: _VariantGrams, context: _Context, df: int):
    """REML lambda and Wald beta, se for a block of variants; returns (beta, se, lambda), each (k,)."""
    lam, G1 = _remle(grams, context.delta, df, len(grams.Xt))
    coef, yPy, Minv, _ = _projections(G1)
    c = context.c
    return coef[:, c], np.sqrt(yPy * Minv[:, c, c] / df), lam


def _fit_null(delta: np.ndarray, y_rot: np.ndarray, W_rot: np.ndarray) -> NullModel:
    """REML fit of ``y = W a + g + e`` on rotated data (the same lambda search, p = c)."""
    n, c = W_rot.shape
    df = n - c
    lam, G1 = _remle(_NullGrams(_Context(delta, W_rot, y_rot)), delta, df, 1)
    _, yPy, _, logdet_m = _projections(G1[0])
    lambda0 = float(lam[0])
    logdet_h = float(np.log1p(lambda0 * delta).sum())
    # GEMMA's normalisation: + df/2 (log df - log 2 pi - 1) + log|W'W| / 2
    loglik = (0.5 * df * (np.log(df) - np.log(2 * np.pi) - 1.0) + 0.5 * np.linalg.slogdet(W_rot.T @ W_rot)[1]
              - 0.5 * (logdet_h + logdet_m + df * np.log(yPy)))
    sigma_e2 = float(yPy / df)
    mean_diag = float(delta.mean())
    return NullModel(lambda0=lambda0, sigma_g2=lambda0 * sigma_e2, sigma_e2=sigma_e2,
                     h2=lambda0 * mean_diag / (lambda0 * mean_diag + 1.0), mean_diag_k=mean_diag,
                     loglik=float(loglik), n=n, n_covariates=c)
