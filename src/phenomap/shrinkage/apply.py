"""Shrinking a trait's harmonised summary statistics block by block, with any method.

``method="nn"`` applies a trained ensemble: ``BETA_SHRUNK`` is the ensemble mean and
``BETA_SHRUNK_SD`` its predictive SD (each member's variance network plus the members'
disagreement, :meth:`~phenomap.shrinkage.model.Ensemble.predictive`; the paper gives none): an
estimate of the posterior SD of β under the training simulations' prior. The baselines of
:mod:`phenomap.shrinkage.baselines` give ``BETA_SHRUNK`` only (``BETA_SHRUNK_SD`` is NA).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.io.tables import write_tsv
from phenomap.ld.matrix import BlockLD, ld_scores, read_block_ld
from phenomap.logging import rule_summary
from phenomap.shrinkage import baselines
from phenomap.shrinkage.baselines import shrink_block as shrink_with_baseline
from phenomap.shrinkage.features import block_features, top_neighbours
from phenomap.shrinkage.model import Ensemble

log = logging.getLogger(__name__)

METHODS = ("nn", *baselines.METHODS)


def nn_shrink(beta_hat: np.ndarray, se: np.ndarray, r: np.ndarray, n: int, ensemble: Ensemble) -> tuple[np.ndarray, np.ndarray]:
    """Shrunk per-allele effects of one block and their predictive SDs, trait units per allele.

    beta_hat : (m,) or (R, m) marginal effects (R GWAS of the block, e.g. null draws); se : (m,).
    Returns two arrays of beta_hat's shape. LD scores are the plain within-block sums of r² (as in
    training).
    """
    mean, sd = ensemble.predictive(_features(beta_hat, se, r, n, ensemble))
    return mean.reshape(np.shape(beta_hat)) * se, sd.reshape(np.shape(beta_hat)) * se


def nn_shrink_mean(beta_hat: np.ndarray, se: np.ndarray, r: np.ndarray, n: int, ensemble: Ensemble) -> np.ndarray:
    """BETA_SHRUNK alone (as :func:`nn_shrink`, without the variance networks' cost): beta_hat's shape."""
    return ensemble.predict(_features(beta_hat, se, r, n, ensemble)).mean(axis=0).reshape(np.shape(beta_hat)) * se


def _features(beta_hat: np.ndarray, se: np.ndarray, r: np.ndarray, n: int, ensemble: Ensemble) -> np.ndarray:
    """Network inputs (R * m, F) of one block's (m,) or (R, m) marginal effects."""
    X = block_features(beta_hat, np.broadcast_to(se, np.shape(beta_hat)), ld_scores(r, n, adjust=False),
                       top_neighbours(r, ensemble.spec.top_t))
    return X.reshape(-1, X.shape[-1])


@dataclass(frozen=True)
class BlockSumstats:
    """The variants of one LD block that have summary statistics.

    ld : the block's LD file; keep : (m,) bool over its variants; sumstats : their rows, in the
    LD file's order; r : (k, k) float64 LD among them; n : their median N (NaN when k = 0).
    """

    ld: BlockLD
    keep: np.ndarray
    sumstats: pd.DataFrame
    r: np.ndarray
    n: float


def block_sumstats(sumstats: pd.DataFrame, ld_npz: str | Path) -> BlockSumstats:
    """Join ``sumstats`` (indexed by ID) to the variants of the LD block in ``ld_npz``, by ID."""
    ld = read_block_ld(ld_npz)
    keep = sumstats.index.get_indexer(ld.ids) >= 0  # hash lookup: np.isin on strings scans every row
    rows = sumstats.loc[ld.ids[keep]]
    return BlockSumstats(ld, keep, rows, ld.r[np.ix_(keep, keep)].astype(np.float64),
                         float(np.median(rows.N)) if keep.any() else float("nan"))


def shrink_block(
    sumstats: pd.DataFrame, ld_npz: str | Path, *, method: str, ensemble: Ensemble | None, seed: int
) -> pd.DataFrame:
    """Shrunk effects of the sumstats variants of one LD block: ``ID BETA_SHRUNK BETA_SHRUNK_SD``.

    ``sumstats`` is indexed by ID. The block's variants present in it are checked allele by
    allele against the LD file (they must agree after harmonisation) and the LD matrix is
    restricted to them. Rows follow the LD file's order.
    """
    block = block_sumstats(sumstats, ld_npz)
    keep, ss = block.keep, block.sumstats
    ids = block.ld.ids[keep]
    a1, a2 = block.ld.a1[keep], block.ld.a2[keep]
    bad = (ss.A1.to_numpy() != a1) | (ss.A2.to_numpy() != a2)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"variant {ids[i]} has alleles {ss.A1.iloc[i]}/{ss.A2.iloc[i]} in the sumstats but "
            f"{a1[i]}/{a2[i]} in {ld_npz}: harmonise the sumstats to this LD panel first."
        )
    if (~keep).any():
        log.info("%s: %d of %d block variants have no summary statistics; LD restricted to the rest",
                 Path(ld_npz).name, (~keep).sum(), len(keep))
    out = pd.DataFrame({"ID": ids, "BETA_SHRUNK": np.nan, "BETA_SHRUNK_SD": np.nan})
    if len(ids):
        r, n = block.r, int(block.n)
        beta_hat, se = ss.BETA.to_numpy(float), ss.SE.to_numpy(float)
        if method == "nn":
            out["BETA_SHRUNK"], out["BETA_SHRUNK_SD"] = nn_shrink(beta_hat, se, r, n, ensemble)
        else:
            out["BETA_SHRUNK"] = shrink_with_baseline(method, beta_hat, se, r, n, seed=seed)
    return out


def shrink_trait(
    sumstats: str | Path,
    ld_npzs: list[str | Path],
    out: str | Path,
    *,
    method: str,
    model_dir: str | Path | None = None,
    top_t: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """I/O layer of rule ``shrink``: one trait, every LD block.

    Writes the trait's sumstats (all rows, original order) plus ``BETA_SHRUNK`` and
    ``BETA_SHRUNK_SD``; variants in no LD block (or with NA statistics) keep NA, and
    their number is logged as a warning.
    """
    if method not in METHODS:
        raise InputError(f"shrinkage.method must be one of {METHODS}, got {method!r}")
    table = pd.read_csv(sumstats, sep="\t", dtype={"CHROM": str, "ID": str})
    tested = table.dropna(subset=["BETA", "SE"]).set_index("ID")
    ensemble = Ensemble.load(model_dir, top_t=top_t) if method == "nn" else None
    parts = [shrink_block(tested, path, method=method, ensemble=ensemble, seed=seed)
             for path in tqdm(ld_npzs, desc=f"shrink ({method})", mininterval=5)]
    shrunk = pd.concat(parts, ignore_index=True)
    if shrunk.ID.duplicated().any():
        raise InputError(f"variant {shrunk.ID[shrunk.ID.duplicated()].iloc[0]} appears in two LD blocks")
    table = table.merge(shrunk, on="ID", how="left", validate="one_to_one")
    outside = table.BETA_SHRUNK.isna()
    if outside.any():
        log.warning("%s: %d variants have no shrunk effect (in no LD block, or NA statistics), e.g. %s",
                    sumstats, outside.sum(), table.ID[outside].iloc[0])
    write_tsv(table, out)
    rule_summary(f"{(~outside).sum():,} / {len(table):,} variants shrunk ({method}) in {len(ld_npzs):,} blocks",
                 f"mean |effect| {table.BETA[~outside].abs().mean():.3g} -> {table.BETA_SHRUNK.abs().mean():.3g}")
    return table
