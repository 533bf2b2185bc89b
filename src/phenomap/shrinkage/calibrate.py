"""Training simulations matched to the GWAS being shrunk.

The shrinkage networks see z scores, so what they must have been trained on is the signal per
LD block on the z scale, ``N h2_b`` (sample size times the block's heritability), and its
spread. This module measures it in each trait's summary statistics and derives the grid of
training simulations from it.

Per-block heritability
----------------------
For a block of m variants with standardised effects b (``b' R b = h2_b``) and marginal
estimates ``b_hat ~ N(R b, R (1 - h2_b) / N)``, ``z_j^2 ≈ N b_hat_j^2`` and, for effects
exchangeable across variants, ``E[b' R^2 b] = h2_b tr(R^2) / tr(R) = h2_b * mean(l)`` with
``l_j = sum_k r_jk^2`` the within-block LD scores. Hence

    E[mean_j z_j^2] ≈ 1 + h2_b (N mean(l) / m - 1),

LD-score regression within one block with the intercept fixed at 1, solved for h2_b:
``h2_b = (mean z^2 - 1) / (N mean(l) / m - 1)``. Estimates are unbiased but noisy (negative in
blocks without signal, where they are kept as they are); their sum over blocks estimates the
trait's SNP heritability (no confounding assumed: intercept 1).

Derived grid
------------
The block signal ``N h2_b`` of every trait is pooled; the training grid takes ``h2_points``
values of ``N h2`` spaced geometrically from 1 (a block whose mean z^2 barely moves: 1 + l/m)
to ``headroom`` times the largest observed one, divided by the simulated sample size, crossed
with the configured causal fractions and frequency / LD-score exponents. The simulated blocks'
mean z^2 thus brackets the observed ones, which :func:`chi2_check` reports per trait.

In the workflow, rule ``gwas_architecture`` runs :func:`gwas_architecture` per trait, rule
``training_plan`` writes the cohort's training plan (:func:`write_training_plan`: the derived
grid pooled over the cohort's traits, or the fixed ``shrinkage.grid``), rule
``simulate_training`` simulates each block by :func:`simulate_planned_block`, and rule
``train_shrinkage`` writes :func:`chi2_check` next to the ensemble.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.io.tables import atomic_path, write_tsv
from phenomap.ld.matrix import ld_scores
from phenomap.logging import rule_summary
from phenomap.shrinkage.apply import block_sumstats
from phenomap.sim.training import (
    SimSetting, SimulatedStats, setting_grid, simulate_block, simulate_block_from_ld,
)

log = logging.getLogger(__name__)

#: Quantiles of the per-block mean z^2 reported by :func:`chi2_check`.
QUANTILES = (0.0, 0.5, 0.9, 1.0)
SOURCES = ("derived", "fixed")


def block_h2(z: np.ndarray, ldscore: np.ndarray, n: float) -> tuple[float, float]:
    """Mean z^2 and heritability estimate of one block (module docstring).

    z : (m,) marginal z scores; ldscore : (m,) within-block LD scores (>= 1); n : GWAS sample size.
    Returns ``(mean_chi2, h2)``; h2 may be negative (no signal beyond noise).
    """
    z = np.asarray(z, dtype=np.float64)
    mean_chi2 = float(np.mean(z**2))
    return mean_chi2, (mean_chi2 - 1) / (n * float(np.mean(ldscore)) / len(z) - 1)


def gwas_architecture(sumstats: str | Path, ld_npzs: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """Per-block signal of one trait's GWAS: ``block m n mean_chi2 mean_ldscore h2 signal``.

    ``n`` is the median ``N`` of the block's variants, ``signal = n * h2``. Variants without
    summary statistics are left out of a block (its LD restricted to the rest, as in shrinking);
    blocks with fewer than 2 such variants are skipped. Writes the table to ``out`` and logs
    the trait's N and the sum of the per-block h2.
    """
    table = pd.read_csv(sumstats, sep="\t", dtype={"CHROM": str, "ID": str}).dropna(subset=["BETA", "SE", "N"])
    table = table.set_index("ID")
    rows = []
    for path in ld_npzs:
        block = block_sumstats(table, path)
        if block.keep.sum() < 2:
            continue
        ss, n = block.sumstats, block.n
        ldscore = ld_scores(block.r, int(n), adjust=False)
        mean_chi2, h2 = block_h2(ss.BETA.to_numpy(float) / ss.SE.to_numpy(float), ldscore, n)
        rows.append(dict(block=Path(path).stem, m=int(block.keep.sum()), n=n, mean_chi2=mean_chi2,
                         mean_ldscore=float(ldscore.mean()), h2=h2, signal=n * h2))
    if not rows:
        raise InputError(f"{sumstats}: no LD block holds two or more of its variants; check the sumstats IDs "
                         "against the LD panel (harmonise them first).")
    result = pd.DataFrame(rows)
    log.info("%s: N %.0f, %d blocks, SNP h2 %.3g (sum of per-block estimates), per-block mean chi^2 median %.3g, "
             "max %.3g", sumstats, result.n.median(), len(result), result.h2.sum(), result.mean_chi2.median(),
             result.mean_chi2.max())
    write_tsv(result, out)
    rule_summary(f"{result.m.sum():,} variants in {len(result):,} blocks, N {result.n.median():,.0f}",
                 f"SNP h2 {result.h2.sum():.3g}, median per-block mean chi^2 {result.mean_chi2.median():.3g}")
    return result


def derived_settings(
    architectures: Sequence[pd.DataFrame],
    *,
    n_sim: int,
    causal_fractions: Sequence[float],
    s_values: Sequence[float],
    w_values: Sequence[float],
    h2_points: int = 5,
    headroom: float = 1.5,
) -> list[SimSetting]:
    """Training grid bracketing the block signals of the given traits (module docstring).

    architectures : tables of :func:`gwas_architecture`, one per trait.
    n_sim : sample size of the training simulation; each ``h2`` of the grid is a block
        heritability (simulate with h2_share = 1), ``signal / n_sim``.
    Raises InputError if a block heritability of the grid reaches 1 (n_sim too small for the
    observed signal: simulate at the GWAS's N with the summary simulator).
    """
    if h2_points < 2 or headroom < 1:
        raise InputError(f"h2_points={h2_points} must be >= 2 and headroom={headroom} >= 1.")
    top = max(float(a.signal.max()) for a in architectures)
    signals = np.geomspace(1.0, max(headroom * top, 10.0), h2_points)
    h2s = signals / n_sim
    if h2s.max() >= 1:
        raise InputError(
            f"the strongest block signal (N h2 = {top:.3g}) needs a block heritability of {h2s.max():.3g} at the "
            f"simulated sample size {n_sim}: simulate at the GWAS's N (shrinkage.simulation: summary)."
        )
    return setting_grid(causal_fractions, h2s.tolist(), s_values, w_values)


def chi2_check(architectures: Mapping[str, pd.DataFrame], sims: Sequence[SimulatedStats]) -> pd.DataFrame:
    """Observed vs simulated per-block mean z^2, one row per trait.

    Columns ``observed_q{p}`` and ``simulated_q{p}`` for p in :data:`QUANTILES` (over the
    trait's blocks, and over all simulated (block, replicate) pairs), ``fraction_inside`` (of
    the trait's blocks within the simulated range) and ``bracketed`` (all of them are).
    """
    simulated = np.concatenate([np.mean((s.beta_hat.astype(np.float64) / s.se) ** 2, axis=1) for s in sims])
    sim_q = np.quantile(simulated, QUANTILES)
    rows = []
    for trait, arch in architectures.items():
        observed = arch.mean_chi2.to_numpy(float)
        inside = (observed >= sim_q[0]) & (observed <= sim_q[-1])
        row = {"trait": trait, "blocks": len(observed), "n": float(arch.n.median()), "snp_h2": float(arch.h2.sum())}
        row |= {f"observed_q{p:g}": v for p, v in zip(QUANTILES, np.quantile(observed, QUANTILES))}
        row |= {f"simulated_q{p:g}": v for p, v in zip(QUANTILES, sim_q)}
        row |= {"fraction_inside": float(inside.mean()), "bracketed": bool(inside.all())}
        rows.append(row)
        log.info("%s: observed per-block mean chi^2 %.3g (median) - %.3g (max) over %d blocks; simulated %.3g - %.3g "
                 "(min - max); %.0f%% of blocks inside", trait, row["observed_q0.5"], row["observed_q1"],
                 len(observed), sim_q[0], sim_q[-1], 100 * row["fraction_inside"])
    return pd.DataFrame(rows)


def write_training_plan(
    architectures: Sequence[str | Path],
    geno: Sequence[str | Path],
    out: str | Path,
    *,
    source: str,
    grid: Mapping[str, Sequence[float]],
    derived: Mapping[str, object],
    method: str,
    sim_n: int | None,
) -> dict:
    """Write the cohort's training plan (JSON) and return it.

    ``source="derived"``: :func:`derived_settings` over the traits' architecture tables, with
    ``derived`` = {causal_fraction, h2_points, headroom} and the exponents of ``grid``; the
    settings' h2 are block heritabilities at the simulated sample size ``n_sim``: ``sim_n`` if
    given, else the median GWAS N over traits for ``method="summary"``, the panel size for
    ``"individual"`` (``geno``: the panel's .bed/.bim/.fam; empty for an LD-matrix cohort,
    which simulates at the summary level). ``source="fixed"``: the full ``grid`` (h2 over the panel, shared by
    block size). The plan holds ``source``, ``per_block`` (h2 is the block's), ``n`` (the
    summary simulator's sample size; None = panel size) and ``settings`` (list of dicts).
    """
    if source not in SOURCES:
        raise InputError(f"shrinkage.training_grid must be one of {SOURCES}, got {source!r}.")
    exponents = (grid["freq_exponent"], grid["ldscore_exponent"])
    if source == "fixed":
        settings, n, per_block = setting_grid(grid["causal_fraction"], grid["h2"], *exponents), sim_n, False
    else:
        tables = [pd.read_csv(path, sep="\t") for path in architectures]
        if not tables:
            raise InputError("shrinkage.training_grid: derived needs at least one trait's GWAS.")
        gwas_n = int(np.median([t.n.median() for t in tables]))
        n_sim = sim_n or (gwas_n if method == "summary" else Bfile.open(str(geno[0]).removesuffix(".bed")).n_samples)
        settings = derived_settings(tables, n_sim=n_sim, causal_fractions=derived["causal_fraction"],
                                    s_values=exponents[0], w_values=exponents[1], h2_points=derived["h2_points"],
                                    headroom=derived["headroom"])
        n, per_block = (n_sim if method == "summary" else None), True
        log.info("derived training grid: GWAS N %d, simulated at n %d, block h2 %s x causal fractions %s (%d settings)",
                 gwas_n, n_sim, sorted({round(x.h2, 6) for x in settings}), list(derived["causal_fraction"]),
                 len(settings))
    plan = {"source": source, "per_block": per_block, "n": n, "settings": [asdict(x) for x in settings]}
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(plan, indent=1))
    h2 = [x.h2 for x in settings]
    rule_summary(f"{len(settings)} settings ({source} grid), simulated at n = {n if n is not None else 'panel size'}",
                 f"h2 {min(h2):.3g} - {max(h2):.3g}")
    return plan


def simulate_planned_block(
    plan_json: str | Path, bfile_prefix: str | Path, blocks_tsv: str | Path, block: str, ld_npz: str | Path,
    out_npz: str | Path, *, replicates: int, method: str, m_total: int, seed: int,
) -> None:
    """:func:`phenomap.sim.training.simulate_block` with the settings, h2 share and n of a training plan."""
    simulate_block(bfile_prefix, blocks_tsv, block, ld_npz, out_npz, replicates=replicates, method=method, seed=seed,
                   **_planned(plan_json, m_total))


def simulate_planned_block_from_ld(
    plan_json: str | Path, block: str, ld_npz: str | Path, sumstats_tsvs: Sequence[str | Path], out_npz: str | Path,
    *, replicates: int, m_total: int, seed: int,
) -> None:
    """:func:`phenomap.sim.training.simulate_block_from_ld` (an LD-matrix cohort) with a training plan."""
    simulate_block_from_ld(block, ld_npz, sumstats_tsvs, out_npz, replicates=replicates, seed=seed,
                           **_planned(plan_json, m_total))


def _planned(plan_json: str | Path, m_total: int) -> dict:
    """Keywords ``settings``, ``m_total`` (None: block heritabilities) and ``n`` of a training plan."""
    plan = json.loads(Path(plan_json).read_text())
    return dict(settings=[SimSetting(**x) for x in plan["settings"]], m_total=None if plan["per_block"] else m_total,
                n=plan["n"])
