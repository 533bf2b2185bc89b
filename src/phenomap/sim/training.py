"""Training data for effect shrinkage: true effects and marginal GWAS estimates on a block's LD.

For every LD block of the reference panel and every point of a grid of genetic architectures
(:class:`SimSetting`), traits are simulated with sparse causal effects and analysed by
marginal regression, one variant at a time, as a GWAS would. The true effects ``beta`` are
the learning target, the estimates ``beta_hat`` and their standard errors ``se`` (with the
block's LD) the input.

Effect model
------------
For one replicate of a setting on a block of m variants, ``max(1, round(causal_fraction * m))``
variants (uniformly chosen; ``round`` ties to even) get a nonzero effect, drawn as

    beta_j ~ N(0, sigma^2 * [2 f_j (1 - f_j)]^s * l_j^w),

with ``f_j`` the A1 frequency and ``l_j`` the LD score of variant j in its block; all other
effects are 0. ``sigma^2`` is then set so that the block's genetic variance is exactly
``h2 * h2_share``, where ``h2_share`` is the block's share of the trait's heritability
(``m_block / m_total`` for a fixed grid: heritability spread evenly over the panel's variants;
1 for a grid derived from the GWAS, whose ``h2`` values are block heritabilities, see
:mod:`phenomap.shrinkage.calibrate`). The
trait has total variance 1: ``y = G beta + e`` with ``Var(e) = 1 - h2 * h2_share``. Effects are
per copy of A1, in trait standard deviations.

Genotype scale
--------------
Genotypes are A1 counts; a missing call is replaced by the variant's mean over observed
samples. ``f_j`` is that mean over 2; ``sd_j`` is the standard deviation of the imputed
counts over all n samples (divisor n). The genetic variance ``Var(G beta)`` is the variance
over the panel's samples (divisor n), which equals ``b' R b`` with ``b_j = beta_j sd_j`` the
standardised effects and R the panel's correlation matrix, so both simulators below rescale
to the same target.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import atomic_path
from phenomap.ld.blocks import block_variants, named_block
from phenomap.ld.matrix import BlockLD, impute_centre, ld_scores, read_block_ld
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

METHODS = ("individual", "summary")
#: Keys every simulation file holds (see :func:`simulate_block`).
FILE_KEYS = ("beta", "beta_hat", "se", "setting", "ids", "a1", "a2", "n", "h2_share", "method", "settings")
#: Eigenvalues of R below ``-NEGATIVE_EIGENVALUE_TOLERANCE * largest`` are reported as a
#: non-PSD matrix, smaller ones are float32 rounding; all negative ones are set to 0.
NEGATIVE_EIGENVALUE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class SimSetting:
    """One point of the simulation grid.

    Attributes
    ----------
    causal_fraction : fraction of a block's variants with a nonzero effect, in (0, 1]
        (at least one causal variant per block).
    h2 : narrow-sense heritability of the trait over the whole panel, in (0, 1).
    s : frequency exponent, ``Var(beta_j) ∝ [2 f_j (1 - f_j)]^s``.
    w : LD-score exponent, ``Var(beta_j) ∝ l_j^w``.
    """

    causal_fraction: float
    h2: float
    s: float
    w: float

    def __post_init__(self) -> None:
        if not 0 < self.causal_fraction <= 1:
            raise InputError(
                f"simulation setting causal_fraction={self.causal_fraction} is out of range: the "
                "fraction of a block's variants with a nonzero effect must be in (0, 1]."
            )
        if not 0 < self.h2 < 1:
            raise InputError(
                f"simulation setting h2={self.h2} is out of range: the heritability must be in (0, 1) "
                "(strictly, so that the trait has both a genetic and a noise part)."
            )
        for name in ("s", "w"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"simulation setting {name}={getattr(self, name)} must be a finite number.")


def setting_grid(
    causal_fractions: Sequence[float], h2s: Sequence[float], s_values: Sequence[float], w_values: Sequence[float]
) -> list[SimSetting]:
    """All combinations of the given values, causal fraction varying slowest and w fastest."""
    axes = {"causal_fractions": causal_fractions, "h2s": h2s, "s_values": s_values, "w_values": w_values}
    empty = [name for name, values in axes.items() if len(values) == 0]
    if empty:
        raise InputError(f"the simulation grid needs at least one value for each parameter; {empty} are empty.")
    return [SimSetting(*map(float, point)) for point in itertools.product(*axes.values())]


@dataclass(frozen=True)
class SimulatedStats:
    """R simulated replicates of one block of m variants.

    Attributes
    ----------
    beta : (R, m) true effects per copy of A1, in trait SD units.
    beta_hat : (R, m) marginal least-squares estimates, same scale.
    se : (R, m) their standard errors.
    setting : (R,) index of each replicate's setting in the settings list.
    n : sample size behind the estimates.
    """

    beta: np.ndarray
    beta_hat: np.ndarray
    se: np.ndarray
    setting: np.ndarray
    n: int


def genotype_moments(G: np.ndarray, ids: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A1 frequency and standard deviation of each variant, missing calls mean-imputed.

    Parameters
    ----------
    G : (n, m) A1 counts, NaN = missing.
    ids : optional m variant IDs, to name a variant without variance.

    Returns
    -------
    freq : (m,) float64, mean of the observed counts / 2.
    sd : (m,) float64, SD of the imputed counts over all n samples (divisor n), > 0.

    Raises InputError if a variant has no variance (monomorphic or all missing).
    """
    X, freq = _centred(G, ids)
    return freq, np.sqrt(np.einsum("ij,ij->j", X, X) / len(X))


def marginal_ols(G: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Simple regression (with intercept) of every trait on every variant, one at a time.

    Parameters
    ----------
    G : (n, m) A1 counts, NaN = missing (mean-imputed); every variant must vary.
    Y : (n, R) traits, complete.

    Returns
    -------
    beta_hat, se : (R, m) float64 slopes and their usual standard errors
        ``sqrt(RSS / (n - 2) / Sxx)``. One ``(m, n) @ (n, R)`` product, no loop.
    """
    X, _ = _centred(G)
    Yc = Y - Y.mean(axis=0)
    sxx = np.einsum("ij,ij->j", X, X)[:, None]
    sxy = X.T @ Yc
    beta_hat = sxy / sxx
    rss = np.einsum("ij,ij->j", Yc, Yc)[None, :] - beta_hat * sxy
    se = np.sqrt(rss / (len(X) - 2) / sxx)
    return beta_hat.T, se.T


def simulate_individual(
    G: np.ndarray,
    settings: Sequence[SimSetting],
    *,
    replicates: int,
    h2_share: float,
    rng: np.random.Generator,
    ldscore: np.ndarray,
    ids: Sequence[str] | None = None,
) -> SimulatedStats:
    """Simulate traits on real genotypes and run the marginal GWAS of each.

    For every setting and replicate (replicates of setting k are rows
    ``k * replicates .. (k + 1) * replicates - 1``): draw the effects (module docstring),
    rescale them so that ``Var(G beta)`` over the n samples is exactly ``h2 * h2_share``,
    add noise of variance ``1 - h2 * h2_share`` and estimate every variant's effect by
    :func:`marginal_ols`. All replicates are analysed together.

    Parameters
    ----------
    G : (n, m) A1 counts, NaN = missing (mean-imputed), n >= 3.
    settings : the grid points to simulate.
    replicates : replicates per setting (>= 1).
    h2_share : the block's share of the heritability (> 0, with ``h2 * h2_share < 1``).
    rng : source of all random draws.
    ldscore : (m,) positive LD scores of the variants within the block.
    ids : optional m variant IDs for error messages.

    Returns
    -------
    :class:`SimulatedStats` with R = len(settings) * replicates rows and ``n`` the sample
    count. Peak memory is about 8 n (2 m + 4 R) bytes plus a few (R, m) float64 arrays.
    """
    n, m = G.shape
    if n < 3:
        raise InputError(f"simulating a GWAS needs at least 3 samples, got {n}.")
    X, freq = _centred(G, ids)
    setting, beta, target = _draw_effects(settings, replicates, h2_share, 2 * freq * (1 - freq), ldscore, rng)
    genetic = X @ beta.T
    scale = np.sqrt(target / np.einsum("ij,ij->j", genetic, genetic) * n)
    beta *= scale[:, None]
    Y = genetic * scale + rng.standard_normal((n, len(target))) * np.sqrt(1 - target)
    beta_hat, se = marginal_ols(X, Y)
    return SimulatedStats(beta=beta, beta_hat=beta_hat, se=se, setting=setting, n=n)


def simulate_summary(
    r: np.ndarray,
    sd: np.ndarray,
    n: int,
    settings: Sequence[SimSetting],
    *,
    replicates: int,
    h2_share: float,
    rng: np.random.Generator,
    ldscore: np.ndarray,
    heterozygosity: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
) -> SimulatedStats:
    """Simulate marginal GWAS estimates from the LD matrix alone (an approximation).

    With standardised effects ``b = beta * sd`` (rescaled so that ``b' R b = h2 * h2_share``,
    the same target as :func:`simulate_individual`), the standardised estimates are drawn as

        b_hat ~ N(R b, R (1 - h2 * h2_share) / n),

    through the eigendecomposition of R. Negative eigenvalues, from rounding or from an LD
    matrix that is not positive semi-definite (e.g. a reference panel's LD assembled from
    several sources), are set to 0, and R stands for that repaired matrix throughout (in the
    mean, the covariance and the rescaling); a non-PSD matrix is logged as a warning. Then
    ``beta_hat = b_hat / sd`` and ``se = sqrt((1 - b_hat^2) / (n - 2)) / sd``, the
    least-squares standard error for a trait of variance 1 (``1 - b_hat^2`` floored at 1e-12).

    This is an approximation of a GWAS on n new samples: it takes the sample LD of those
    samples to be R exactly (ignoring the sampling variance of R, which matters for small n),
    and its standard error takes the trait's sample variance to be exactly 1, so ``se``
    depends on the effects only through ``b_hat`` (a real GWAS's also varies with the
    realised variance of y, which depends on beta and the noise). On the panel's own
    genotypes, with R their correlation matrix and n the panel size, the mean and covariance
    of ``b_hat`` given beta are exactly those of :func:`simulate_individual`.

    Parameters
    ----------
    r : (m, m) symmetric correlation matrix of the block's variants (A1 counts).
    sd : (m,) positive standard deviations of the A1 counts (see :func:`genotype_moments`).
    n : GWAS sample size to simulate (>= 3).
    settings, replicates, h2_share, rng, ldscore, ids : as for :func:`simulate_individual`.
    heterozygosity : (m,) ``2 f (1 - f)`` for the variance model; default ``sd ** 2``
        (equal under Hardy-Weinberg equilibrium without missing calls).

    Returns
    -------
    :class:`SimulatedStats` with R = len(settings) * replicates rows. Costs one m x m
    eigendecomposition plus two (R, m) @ (m, m) products.
    """
    r = np.asarray(r, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    m = len(sd)
    if r.shape != (m, m):
        raise InputError(f"the LD matrix has shape {r.shape} but there are {m} standard deviations.")
    if n < 3:
        raise InputError(f"simulating a GWAS needs n >= 3 samples, got n={n}.")
    if not (sd > 0).all():
        j = int(np.flatnonzero(~(sd > 0))[0])
        raise InputError(f"variant {_name(j, ids)} has genotype SD {sd[j]}: remove variants without variance (QC).")
    heterozygosity = sd**2 if heterozygosity is None else np.asarray(heterozygosity, dtype=np.float64)
    if heterozygosity.shape != (m,):
        raise InputError(f"got {heterozygosity.shape} heterozygosities for {m} variants; give one per variant.")
    setting, beta_std, target = _draw_effects(settings, replicates, h2_share, heterozygosity, ldscore, rng)
    root = _square_root(r)
    projected = beta_std @ root
    scale = np.sqrt(target / np.einsum("ij,ij->i", projected, projected))[:, None]
    beta_std *= scale
    noise = rng.standard_normal((len(target), m)) * np.sqrt((1 - target) / n)[:, None]
    beta_hat_std = (projected * scale + noise) @ root.T
    se = np.sqrt(np.maximum(1 - beta_hat_std**2, 1e-12) / (n - 2)) / sd
    return SimulatedStats(beta=beta_std / sd, beta_hat=beta_hat_std / sd, se=se, setting=setting, n=int(n))


def simulate_block(
    bfile_prefix: str | Path,
    blocks_tsv: str | Path,
    block: str,
    ld_npz: str | Path,
    out_npz: str | Path,
    *,
    settings: Sequence[SimSetting],
    replicates: int,
    m_total: int | None,
    method: str = "individual",
    n: int | None = None,
    seed: int,
    chunk: int = 1000,
) -> None:
    """Simulate the training data of one LD block and write it as an .npz.

    Reads the block's variants (rows of ``bfile_prefix.bim`` inside the block's row of
    ``blocks_tsv``) and checks them against the block's LD file ``ld_npz`` (written by
    :func:`phenomap.ld.matrix.block_ld`; same IDs in the same order, same A1/A2). LD scores are
    the unadjusted ones of that matrix (``ld_scores(r, n, adjust=False)``, always >= 1, so
    ``l^w`` is defined for any w). The block's share of the heritability is
    ``m_block / m_total``, or 1 with ``m_total=None`` (the settings' h2 are block heritabilities).

    ``method="individual"`` runs :func:`simulate_individual` on the block's genotypes (all
    panel samples; ``n`` must be None). ``method="summary"`` runs :func:`simulate_summary`
    with the LD matrix, the genotype SDs and frequencies (read in chunks of ``chunk``
    variants) and ``n`` samples (default: the panel size).

    The random stream is seeded from ``seed`` and a SHA-256 hash of the block name, so a
    block gives the same draws whenever and wherever it is run, and blocks differ.

    Writes atomically ``out_npz`` with ``beta``, ``beta_hat``, ``se`` (R, m) float32,
    ``setting`` (R,) int16, ``ids``, ``a1``, ``a2`` (m,) str, ``n`` (int64), ``h2_share``
    (float64), ``method`` (str) and ``settings`` (a JSON list of the settings as dicts).

    Raises InputError for an unknown method or block, a block without variants, an LD file
    that does not match the block, ``m_total`` below the block's size, ``n`` given for the
    individual method, and everything the simulators reject.
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"unknown training simulation method {method!r}: use one of {', '.join(METHODS)}.")
    if method == "individual" and n is not None:
        raise InputError(
            f"n={n} was given for the individual-level simulation, which always uses all panel samples; "
            "set n only with method='summary'."
        )
    bfile = Bfile.open(bfile_prefix)
    idx = _block_indices(bfile, blocks_tsv, block)
    bim = bfile.bim.iloc[idx]
    ld = _read_ld(ld_npz, bim)
    m = len(idx)
    if m_total is not None and m_total < m:
        raise InputError(
            f"m_total={m_total} is smaller than block {block}'s {m} variants: give the number of variants "
            "of the whole panel (over all blocks)."
        )
    ldscore = ld_scores(ld.r, ld.n, adjust=False)
    h2_share = 1.0 if m_total is None else m / m_total
    rng = np.random.default_rng(block_seed(seed, block))
    ids = bim.ID.to_numpy(str)
    common = dict(replicates=replicates, h2_share=h2_share, rng=rng, ldscore=ldscore, ids=ids)
    if method == "individual":
        stats = simulate_individual(bfile.read(idx), settings, **common)
    else:
        freq, sd = _streamed_moments(bfile, idx, ids, chunk)
        stats = simulate_summary(
            ld.r, sd, bfile.n_samples if n is None else n, settings, heterozygosity=2 * freq * (1 - freq), **common
        )
    _write_simulations(out_npz, stats, ld, h2_share, method, settings)
    z = stats.beta_hat / stats.se
    log.info(
        "block %s (%s): %d variants, %d settings x %d replicates, n=%d, mean z^2 %.3g, %.2f s",
        block, method, m, len(settings), replicates, stats.n, float(np.mean(z**2)), time.perf_counter() - started,
    )
    rule_summary(f"{m:,} variants x {len(settings)} settings x {replicates} replicates",
                 f"mean z^2 {np.mean(z**2):.3g}")


def simulate_block_from_ld(
    block: str,
    ld_npz: str | Path,
    sumstats_tsvs: Sequence[str | Path],
    out_npz: str | Path,
    *,
    settings: Sequence[SimSetting],
    replicates: int,
    m_total: int | None,
    n: int | None = None,
    seed: int,
) -> None:
    """:func:`simulate_block`'s summary-level simulation for an LD reference without genotypes.

    The block's variants and LD come from ``ld_npz`` alone (a cohort given as LD matrices);
    each variant's heterozygosity ``2 f (1 - f)`` is the mean over the harmonised summary
    statistics ``sumstats_tsvs`` (contract tables) whose ``A1_FREQ`` f it has, and its genotype
    SD the square root (Hardy-Weinberg). A variant without a frequency strictly inside (0, 1) in
    any of them (e.g. absent from every GWAS, so never shrunk) takes the block's median
    heterozygosity (0.5 if none is known); their count is logged. ``n`` defaults to the LD
    file's sample size. Writes the file :func:`simulate_block` writes, same seeds.
    """
    from phenomap.io.tables import read_tsv  # only this simulator reads tables

    ld = read_block_ld(ld_npz)
    m = len(ld.ids)
    if m_total is not None and m_total < m:
        raise InputError(f"m_total={m_total} is smaller than block {block}'s {m} variants.")
    freq = np.array([read_tsv(path).set_index("ID").A1_FREQ.reindex(ld.ids).to_numpy(float)
                     for path in sumstats_tsvs]).reshape(-1, m)
    known = np.isfinite(freq).sum(axis=0)
    het = np.nansum(2 * freq * (1 - freq), axis=0) / np.maximum(known, 1)
    unknown = ~(het > 0)
    if unknown.any():
        fill = np.median(het[~unknown]) if (~unknown).any() else 0.5
        log.warning("block %s: %d of %d variants have no A1 frequency in the summary statistics (e.g. %s); they take "
                    "the heterozygosity %.3g in the training simulation", block, int(unknown.sum()), m,
                    ld.ids[unknown][0], fill)
        het = np.where(unknown, fill, het)
    h2_share = 1.0 if m_total is None else m / m_total
    rng = np.random.default_rng(block_seed(seed, block))
    stats = simulate_summary(ld.r, np.sqrt(het), ld.n if n is None else n, settings, replicates=replicates,
                             h2_share=h2_share, rng=rng, ldscore=ld_scores(ld.r, ld.n, adjust=False), ids=ld.ids)
    _write_simulations(out_npz, stats, ld, h2_share, "summary", settings)
    log.info("block %s (summary, LD matrices): %d variants, %d settings x %d replicates, n=%d",
             block, m, len(settings), replicates, stats.n)
    rule_summary(f"{m:,} variants x {len(settings)} settings x {replicates} replicates",
                 f"mean z^2 {np.mean((stats.beta_hat / stats.se) ** 2):.3g}")


def _write_simulations(out_npz: str | Path, stats: SimulatedStats, ld: BlockLD, h2_share: float, method: str,
                       settings: Sequence[SimSetting]) -> None:
    """Write one block's simulations (keys ``FILE_KEYS``) atomically; variants and alleles are the LD file's."""
    with atomic_path(out_npz) as tmp:
        np.savez(
            tmp, beta=stats.beta.astype(np.float32), beta_hat=stats.beta_hat.astype(np.float32),
            se=stats.se.astype(np.float32), setting=stats.setting.astype(np.int16), ids=ld.ids,
            a1=ld.a1, a2=ld.a2, n=np.int64(stats.n), h2_share=np.float64(h2_share),
            method=np.str_(method), settings=np.str_(json.dumps([asdict(s) for s in settings])),
        )


def load_simulations(paths: Sequence[str | Path]) -> tuple[list[SimulatedStats], list[SimSetting]]:
    """Read simulation files written by :func:`simulate_block`.

    Returns one :class:`SimulatedStats` per file (float32 arrays, in the order given) and
    their common settings list. Raises InputError if no path is given, a file lacks a key,
    or two files were simulated with different settings.
    """
    if len(paths) == 0:
        raise InputError("no training simulation files were given.")
    stats, settings, first = [], None, None
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in FILE_KEYS if key not in data.files]
            if missing:
                raise InputError(
                    f"{path} lacks {missing}: it is not a training simulation file; rerun simulate_training."
                )
            these = [SimSetting(**d) for d in json.loads(str(data["settings"]))]
            if settings is None:
                settings, first = these, path
            elif these != settings:
                raise InputError(
                    f"{path} was simulated with other settings than {first} ({len(these)} vs {len(settings)} "
                    "grid points, or different values): rerun simulate_training for all blocks with one config."
                )
            stats.append(
                SimulatedStats(
                    beta=data["beta"], beta_hat=data["beta_hat"], se=data["se"], setting=data["setting"],
                    n=int(data["n"]),
                )
            )
    return stats, settings


def block_seed(seed: int, block: str) -> np.random.SeedSequence:
    """Seed of one block's random stream: ``seed`` and a SHA-256 hash of the block name."""
    digest = int.from_bytes(hashlib.sha256(block.encode()).digest()[:8], "little")
    return np.random.SeedSequence([seed, digest])


def _name(j: int, ids: Sequence[str] | None) -> str:
    return f"{str(ids[j])!r} (column {j})" if ids is not None else f"in column {j}"


def _centred(G: np.ndarray, ids: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean-imputed, centred float64 copy of G (n, m) and the A1 frequencies (m,)."""
    X, mean = impute_centre(G)
    constant = ~(np.abs(X) > 0).any(axis=0)
    if constant.any():
        j = int(np.flatnonzero(constant)[0])
        raise InputError(
            f"{int(constant.sum())} variant(s) have no genotype variance (monomorphic or all missing), first "
            f"{_name(j, ids)}: effects cannot be simulated on them; remove them in QC (e.g. plink2 --maf 0.01)."
        )
    return X, mean / 2


def _draw_effects(
    settings: Sequence[SimSetting],
    replicates: int,
    h2_share: float,
    heterozygosity: np.ndarray,
    ldscore: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse effects with ``Var(beta_j) ∝ heterozygosity_j^s * ldscore_j^w``, before rescaling.

    Returns the setting index (R,), the effects (R, m) float64 and the target genetic
    variance ``h2 * h2_share`` (R,) of every replicate.
    """
    m = len(heterozygosity)
    ldscore = np.asarray(ldscore, dtype=np.float64)
    if len(settings) == 0 or replicates < 1:
        raise InputError(
            f"nothing to simulate: {len(settings)} settings x {replicates} replicates; give at least one of each."
        )
    for name, values in (("LD scores", ldscore), ("heterozygosities 2f(1-f)", heterozygosity)):
        if values.shape != (m,) or not (np.isfinite(values) & (values > 0)).all():
            raise InputError(f"{name} must be {m} positive finite numbers, one per variant (use unadjusted LD scores).")
    h2 = np.array([s.h2 for s in settings])
    if not h2_share > 0 or (h2 * h2_share >= 1).any():
        raise InputError(
            f"h2_share={h2_share} with h2 up to {h2.max()} gives a block heritability h2 * h2_share outside (0, 1): "
            "h2_share (the block's variants over all variants) must be positive and small enough."
        )
    setting = np.repeat(np.arange(len(settings)), replicates)
    s = np.array([x.s for x in settings])[setting, None]
    w = np.array([x.w for x in settings])[setting, None]
    n_causal = np.array([max(1, round(x.causal_fraction * m)) for x in settings])[setting, None]
    rank = np.argsort(rng.random((len(setting), m)), axis=1).argsort(axis=1)
    sd = np.exp((s * np.log(heterozygosity) + w * np.log(ldscore)) / 2)
    beta = np.where(rank < n_causal, rng.standard_normal((len(setting), m)) * sd, 0.0)
    return setting, beta, h2[setting] * h2_share


def _square_root(r: np.ndarray) -> np.ndarray:
    """F (m, m) with ``F @ F.T`` = r with its negative eigenvalues set to 0."""
    values, vectors = np.linalg.eigh(r)
    low = values.min()
    if low < -NEGATIVE_EIGENVALUE_TOLERANCE * max(values.max(), 1.0):
        log.warning(
            "the LD matrix is not positive semi-definite: %d eigenvalue(s) below 0 (smallest %.3g) set to 0; "
            "the repaired matrix is used for the simulation",
            int((values < 0).sum()), low,
        )
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _streamed_moments(bfile: Bfile, idx: np.ndarray, ids: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`genotype_moments` of the variants ``idx``, reading ``chunk`` variants at a time."""
    parts = [genotype_moments(G, ids[np.searchsorted(idx, sel)]) for sel, G in bfile.chunks(chunk, idx)]
    freq, sd = (np.concatenate(values) for values in zip(*parts))
    return freq, sd


def _block_indices(bfile: Bfile, blocks_tsv: str | Path, block: str) -> np.ndarray:
    """The .bim indices of one named block of a blocks table."""
    idx = block_variants(bfile.bim, named_block(blocks_tsv, block))
    if len(idx) == 0:
        raise InputError(
            f"block {block} of {blocks_tsv} holds no variant of {bfile.prefix}.bim: rerun the ld_blocks step."
        )
    return idx


def _read_ld(ld_npz: str | Path, bim) -> BlockLD:
    """The block's LD file, checked against its variants (IDs in order, alleles)."""
    ld = read_block_ld(ld_npz)
    ids = bim.ID.to_numpy(str)
    if len(ld.ids) != len(ids) or (ld.ids != ids).any():
        differ = np.setdiff1d(ids, ld.ids)
        example = f"e.g. {differ[0]!r} is missing from it" if len(differ) else "the order differs"
        raise InputError(
            f"{ld_npz} holds {len(ld.ids)} variants but the block has {len(ids)} ({example}): the LD file "
            "was made from another panel or block table; rerun the ld_block step."
        )
    swapped = (ld.a1 != bim.A1.to_numpy(str)) | (ld.a2 != bim.A2.to_numpy(str))
    if swapped.any():
        j = int(np.flatnonzero(swapped)[0])
        raise InputError(
            f"{ld_npz}: variant {str(ids[j])!r} has alleles {ld.a1[j]}/{ld.a2[j]} but the .bim has "
            f"{bim.A1.iloc[j]}/{bim.A2.iloc[j]}: the LD file does not match the panel; rerun the ld_block step."
        )
    return ld
