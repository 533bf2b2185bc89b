"""I/O layer of rule ``cluster``: the traits' effect tables -> mixture model, labels, cluster types.

Joining the traits
------------------
Each trait's table (the shrinkage output, or any table with ``ID CHROM POS A1 A2 SE N`` and
the effect column) is joined to the first trait's by variant ID. A variant must sit at the same
position with the same alleles in every table; when A1 and A2 are swapped, its effect is
negated so that every effect counts the first table's A1. Other allele mismatches are an
error. The clustering uses the variants present in every table with an effect (not NA) on
every trait; the counts left out are logged per trait.

Trait scales
------------
Effects are in each trait's own units, so a trait measured in centimetres would dominate one
measured in metres. Before the mixture, each trait's effects are divided by its scale
``s = median(SE * sqrt(N))`` over the clustered variants. Since ``SE ~ sd(y) / sqrt(N 2f(1-f))``,
``s`` is proportional to the trait's phenotypic SD with a factor shared by every trait (the
variants are the same), so the clusters, their types and the gene candidates do not depend on
the units of any trait (multiplying a phenotype by 100 multiplies its BETA, SE and ``s`` by 100).
For a variant of typical frequency the scaled effect is about the effect in trait SDs per SD
of genotype. The labels table, the mixture and the cluster figures are on this scale; the
scales are stored in the model JSON (``trait_scale``) so that the gene test's null variance
can be brought back to effect units.

Outputs
-------
* labels TSV: ``ID CHROM POS A1 A2 <trait...> cluster posterior``, one row per clustered
  variant in the first table's order, effects divided by the trait scales; ``cluster`` 0 = null (not fitted, ``posterior`` NA),
  else 1..K* (1 = largest effects), ``posterior`` its responsibility.
* model JSON: :func:`phenomap.mixture.dpgmm.save_mixture`, plus the trait names, effect column and
  ``trait_scale`` (one per trait, in trait order).
* types TSV: :func:`phenomap.mixture.typing.classify_components` for two or more traits; with
  one trait every cluster is ``trait-specific`` to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.plink import normalise_chrom
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.logging import rule_summary
from phenomap.mixture.dpgmm import fit_dpgmm, save_mixture
from phenomap.mixture.typing import COLUMNS as TYPE_COLUMNS
from phenomap.mixture.typing import classify_components

log = logging.getLogger(__name__)

KEY_COLUMNS = ["ID", "CHROM", "POS", "A1", "A2"]
#: Suffix of the per-variant ``SE * sqrt(N)`` column of each trait while joining.
UNIT = "__unit"


def read_effects(path: str | Path, effect_column: str) -> pd.DataFrame:
    """``ID CHROM POS A1 A2 effect unit`` of one effect table (NA effects kept as NaN; unit = SE * sqrt(N))."""
    table = read_tsv(path)
    missing = [c for c in (*KEY_COLUMNS, "SE", "N", effect_column) if c not in table.columns]
    if missing:
        raise InputError(f"effects file {path} lacks column(s) {missing} (it has {list(table.columns)[:14]}): "
                         "check `clustering.effect_column` in the config.")
    effect = pd.to_numeric(table[effect_column], errors="coerce")
    bad = effect.isna() & table[effect_column].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"effects file {path}: {effect_column} is {table[effect_column].iloc[i]!r} at data row "
                         f"{i + 1} (variant {table.ID.iloc[i]}), not a number or NA.")
    if table.ID.duplicated().any():
        raise InputError(f"effects file {path}: variant {table.ID[table.ID.duplicated()].iloc[0]} appears twice.")
    unit = pd.to_numeric(table.SE, errors="coerce") * np.sqrt(pd.to_numeric(table.N, errors="coerce"))
    out = table[KEY_COLUMNS].assign(CHROM=normalise_chrom(table.CHROM, source=str(path)), effect=effect, unit=unit)
    return out.astype({"POS": np.int64})


def join_trait_effects(paths: Mapping[str, str | Path], effect_column: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """``ID CHROM POS A1 A2 <trait...>`` of the variants with an effect on every trait, effects divided by the
    trait scales, and the scales ``{trait: s}`` (see the module docstring)."""
    if not paths:
        raise InputError("clustering needs the effects of at least one trait.")
    joined = None
    for trait, path in paths.items():
        table = read_effects(path, effect_column).rename(columns={"effect": trait, "unit": trait + UNIT})
        n_na = int(table[trait].isna().sum())
        table = table[table[trait].notna()]
        if joined is None:
            joined, first = table, path
            log.info("trait %s (%s): %d variants with an effect, %d NA", trait, path, len(table), n_na)
            continue
        both = joined.merge(table, on="ID", suffixes=("", "_t"))  # read_effects rejects duplicated IDs
        moved = (both.CHROM != both.CHROM_t) | (both.POS != both.POS_t)
        same = (both.A1 == both.A1_t) & (both.A2 == both.A2_t)
        swapped = (both.A1 == both.A2_t) & (both.A2 == both.A1_t)
        bad = moved | ~(same | swapped)
        if bad.any():
            row = both[bad].iloc[0]
            raise InputError(
                f"variant {row.ID} is {row.CHROM}:{row.POS} {row.A1}/{row.A2} in {first} but "
                f"{row.CHROM_t}:{row.POS_t} {row.A1_t}/{row.A2_t} in {path}: the traits' effects must come from "
                "the same harmonised variant set (rerun their sumstats step against one LD panel)."
            )
        both[trait] = np.where(swapped & ~same, -both[trait], both[trait])
        log.info("trait %s (%s): %d variants with an effect, %d NA; %d in common with the traits before it, "
                 "%d with A1/A2 swapped (effects negated); %d of the earlier variants have no effect here",
                 trait, path, len(table), n_na, len(both), int((swapped & ~same).sum()), len(joined) - len(both))
        joined = both.drop(columns=["CHROM_t", "POS_t", "A1_t", "A2_t"])
    if joined.empty:
        raise InputError(f"no variant has an effect on every trait ({', '.join(paths)}): the traits' effect "
                         "tables share no variant.")
    scales = {}
    for trait, path in paths.items():
        unit = joined.pop(trait + UNIT)
        scales[trait] = float(np.nanmedian(unit)) if unit.notna().any() else np.nan
        if not np.isfinite(scales[trait]) or scales[trait] <= 0:
            raise InputError(f"effects file {path}: SE * sqrt(N) has no positive median over the clustered variants, "
                             "so the trait's scale is unknown; its SE and N columns must be filled in.")
        joined[trait] /= scales[trait]
    log.info("trait scales (median SE*sqrt(N); effects are divided by them): %s",
             ", ".join(f"{t} {s:.4g}" for t, s in scales.items()))
    return joined.reset_index(drop=True), scales


def cluster_effects(
    paths: Mapping[str, str | Path],
    effect_column: str,
    out_labels: str | Path,
    out_model: str | Path,
    out_types: str | Path,
    *,
    mixture: Mapping | None = None,
    ratio_threshold: float,
    angle_threshold: float,
) -> pd.DataFrame:
    """Fit the zero-mean DP mixture to the joined effects and write labels, model and types.

    ``paths`` maps trait names (in clustering order) to effect tables; ``mixture`` holds
    keyword arguments of :func:`phenomap.mixture.dpgmm.fit_dpgmm` (seed, k_max, ...).
    Returns the labels table.
    """
    traits = list(paths)
    effects, scales = join_trait_effects(paths, effect_column)
    fit = fit_dpgmm(effects[traits].to_numpy(), variant_ids=effects.ID.tolist(), **(mixture or {}))
    labels = effects.assign(cluster=fit.labels, posterior=np.nan)
    if fit.k_star:
        labels.loc[fit.fitted, "posterior"] = fit.responsibilities.max(axis=1)
    else:
        log.warning("no variant has a non-null %s on any trait: every variant is in the null cluster and the "
                    "gene tests will be empty", effect_column)
    if len(traits) >= 2:
        types = classify_components(fit.covariances, trait_names=traits, ratio_threshold=ratio_threshold,
                                    angle_threshold=angle_threshold)
    else:
        types = single_trait_types(fit.covariances, traits[0])
    counts = np.bincount(fit.labels, minlength=fit.k_star + 1)
    log.info("K* = %d clusters; variants per cluster (0 = null): %s; types: %s", fit.k_star, counts.tolist(),
             ", ".join(types["type"]) or "none")
    write_tsv(labels, out_labels)
    save_mixture(fit, out_model, extra={"traits": traits, "effect_column": effect_column,
                                        "trait_scale": [scales[t] for t in traits]})
    write_tsv(types, out_types)
    rule_summary(f"{len(labels):,} variants x {len(traits)} traits, {counts[1:].sum():,} in non-null clusters",
                 f"K* = {fit.k_star}")
    return labels


def single_trait_types(covariances: np.ndarray, trait: str) -> pd.DataFrame:
    """Cluster-type table for one trait: every cluster is specific to it (variance as trace)."""
    variance = covariances.reshape(-1)
    return pd.DataFrame({
        "component": np.arange(1, variance.size + 1), "type": "trait-specific", "traits": trait,
        "eigenvalue_ratio": np.nan, "angle_deg": 0.0, "correlation": np.nan, "trace": variance,
    })[TYPE_COLUMNS]
