"""Summaries of pipeline searches: Pareto fronts, permutation importance, SNP consistency, QTL calls.

Per replicate (one search, :func:`write_replicate_summary`): ``pareto.tsv`` (pipeline_id,
r2, n_snps, snps: the SNPs reaching the regressor of each Pareto pipeline),
``pipelines.json`` (pipeline_id → pipeline of the final population), ``hypervolume.tsv``
(generation, hypervolume; see :mod:`phenomap.gpsearch.nsga`) and ``importance.tsv``
(pipeline_id, ID, CHROM, POS, encoding, importance, importance_sd).

Permutation importance (paper section III-E) is the mean drop in validation r² over
``n_repeats`` shuffles of a SNP (paper: 100), from ``sklearn.inspection.permutation_importance``
run on the fitted regressor with the features that reach it (SNPs encoded, after LD pruning
and selection) and the standardised validation phenotype. That equals shuffling the SNP's
genotype column in front of the whole fitted pipeline: encoding acts row by row, the
fitted pruning and selection masks are fixed, r² is unchanged by the affine
back-transform of the phenotype, and scikit-learn draws every column's shuffles from one
seed. SNPs that do not reach the regressor (importance exactly 0) are not shuffled.

SNP consistency score (section III-E). Within a Pareto pipeline SNPs are ranked by
decreasing importance (1 = most important; ties share their mean rank). Per replicate,

    score = (1 / mean rank over the Pareto pipelines containing the SNP)
            × (share of the replicate's Pareto pipelines containing it),   in (0, 1].

Over replicates the score is the mean over all replicates in the table, a replicate whose
front lacks the SNP counting 0 (its share is 0); ``n_replicates`` counts the replicates
whose front has it (the paper reports SNPs found in at least two, section IV-C4).

QTL calls: among the ``top`` SNPs by score (paper: 50), take the highest, merge every other
on its chromosome within ±``window`` bp of it (paper: 1 Mb), and repeat with the rest. A
peak's encoding is its SNP's most frequent encoding across the Pareto pipelines of all
replicates (ties to the first in :data:`~phenomap.gpsearch.encodings.ENCODINGS`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import ENCODINGS
from phenomap.gpsearch.nodes import Pipeline
from phenomap.gpsearch.nsga import SearchResult, quiet_fits
from phenomap.io.tables import atomic_path, read_tsv, write_tsv

IMPORTANCE_COLUMNS = ["pipeline_id", "ID", "CHROM", "POS", "encoding", "importance", "importance_sd"]
CONSISTENCY_COLUMNS = ["ID", "CHROM", "POS", "score", "n_replicates", "mean_rank", "share", "encoding"]
QTL_COLUMNS = ["CHROM", "POS", "ID", "score", "encoding", "n_snps", "start", "end"]


def pareto_table(result: SearchResult) -> pd.DataFrame:
    """The Pareto front of a search, by decreasing r²: pipeline_id, r2, n_snps, snps (comma-separated IDs)."""
    return pd.DataFrame([(m.id, m.evaluation.r2, len(m.evaluation.kept), ",".join(m.evaluation.kept))
                         for m in result.pareto], columns=["pipeline_id", "r2", "n_snps", "snps"])


def hypervolume_table(result: SearchResult) -> pd.DataFrame:
    """Hypervolume per generation (0 = initial population)."""
    return pd.DataFrame({"generation": np.arange(len(result.hypervolume)), "hypervolume": result.hypervolume})


def permutation_importances(pipeline: Pipeline, G_train: np.ndarray, y_train: np.ndarray, G_val: np.ndarray,
                            y_val: np.ndarray, *, n_repeats: int = 100, seed: int = 0,
                            n_jobs: int = 1) -> pd.DataFrame:
    """Permutation importance (validation r² drop) of the SNPs reaching the regressor, see the module text.

    G_train (n_train, m), G_val (n_val, m): allele counts of every SNP; y: phenotypes. The
    pipeline is refitted on the training samples. Returns one row per SNP reaching the
    regressor: ID, CHROM, POS, encoding, importance, importance_sd (r² units).
    """
    with quiet_fits():
        pipeline.fit(G_train, y_train)
    steps = pipeline.model_.regressor_
    X = steps[:-1].transform(pipeline.features(G_val))
    y = pipeline.model_.transformer_.transform(np.asarray(y_val, dtype=float)[:, None])[:, 0]
    shuffled = permutation_importance(steps[-1], X, y, scoring="r2", n_repeats=n_repeats, random_state=seed,
                                      n_jobs=n_jobs)
    nodes = {s.id: s for s in pipeline.snps}
    return pd.DataFrame({"ID": X.columns, "CHROM": [nodes[i].chrom for i in X.columns],
                         "POS": [nodes[i].pos for i in X.columns], "encoding": [nodes[i].encoding for i in X.columns],
                         "importance": shuffled.importances_mean, "importance_sd": shuffled.importances_std})


def pareto_importances(result: SearchResult, G: np.ndarray, y: np.ndarray, is_train: np.ndarray, *,
                       n_repeats: int = 100, seed: int = 0, n_jobs: int = 1) -> pd.DataFrame:
    """:func:`permutation_importances` of every Pareto pipeline of a search (IMPORTANCE_COLUMNS).

    G: (n, m) allele counts, y: (n,) phenotypes, is_train: (n,) bool, as given to the search.
    An empty front (no pipeline scored r² >= 0) gives an empty table.
    """
    if not result.pareto:
        return pd.DataFrame(columns=IMPORTANCE_COLUMNS)
    G, y, is_train = np.asarray(G, dtype=float), np.asarray(y, dtype=float), np.asarray(is_train, dtype=bool)
    tables = [permutation_importances(Pipeline.from_json(m.json), G[is_train], y[is_train], G[~is_train],
                                      y[~is_train], n_repeats=n_repeats, seed=seed, n_jobs=n_jobs)
              .assign(pipeline_id=m.id) for m in result.pareto]
    return pd.concat(tables, ignore_index=True)[IMPORTANCE_COLUMNS]


def consistency_scores(importance: pd.DataFrame) -> pd.DataFrame:
    """SNP consistency scores (CONSISTENCY_COLUMNS, by decreasing score), see the module text.

    importance: rows of IMPORTANCE_COLUMNS plus ``replicate``, one per SNP of each Pareto
    pipeline of each replicate. mean_rank is averaged over the replicates with the SNP,
    share over all replicates.
    """
    missing = [c for c in ["replicate", *IMPORTANCE_COLUMNS] if c not in importance.columns]
    if missing:
        raise InputError(f"the importance table lacks columns {missing}.")
    table = importance.assign(rank=importance.groupby(["replicate", "pipeline_id"]).importance
                              .rank(ascending=False, method="average"))
    n_fronts = table.groupby("replicate").pipeline_id.nunique()
    per_replicate = table.groupby(["replicate", "ID"]).agg(mean_rank=("rank", "mean"),
                                                           n_pipelines=("pipeline_id", "nunique"))
    per_replicate["share"] = (per_replicate.n_pipelines
                              / n_fronts.loc[per_replicate.index.get_level_values("replicate")].to_numpy())
    per_replicate["score"] = per_replicate.share / per_replicate.mean_rank
    n_replicates = len(n_fronts)
    snps = per_replicate.groupby("ID").agg(score=("score", "sum"), n_replicates=("score", "size"),
                                           mean_rank=("mean_rank", "mean"), share=("share", "sum"))
    snps[["score", "share"]] /= n_replicates
    counts = table.groupby(["ID", "encoding"]).size().rename("n").reset_index()
    counts["order"] = counts.encoding.map(ENCODINGS.index)
    encoding = counts.sort_values(["ID", "n", "order"], ascending=[True, False, True]).drop_duplicates("ID")
    location = table.drop_duplicates("ID").set_index("ID")[["CHROM", "POS"]]
    out = snps.join(location).join(encoding.set_index("ID").encoding).reset_index()
    return out.sort_values(["score", "ID"], ascending=[False, True], ignore_index=True)[CONSISTENCY_COLUMNS]


def call_qtl(scores: pd.DataFrame, *, top: int = 50, window: int = 1_000_000) -> pd.DataFrame:
    """Greedy peaks (QTL_COLUMNS) of the ``top`` SNPs of :func:`consistency_scores` within ±``window`` bp.

    n_snps: top SNPs merged into the peak; start, end: their outermost positions.
    """
    remaining = scores.sort_values(["score", "CHROM", "POS"], ascending=[False, True, True]).head(top)
    peaks = []
    while len(remaining):
        peak = remaining.iloc[0]
        near = (remaining.CHROM == peak.CHROM) & ((remaining.POS - peak.POS).abs() <= window)
        merged = remaining[near]
        peaks.append((peak.CHROM, peak.POS, peak.ID, peak.score, peak.encoding, len(merged), merged.POS.min(),
                      merged.POS.max()))
        remaining = remaining[~near]
    return pd.DataFrame(peaks, columns=QTL_COLUMNS)


def write_replicate_summary(result: SearchResult, G: np.ndarray, y: np.ndarray, is_train: np.ndarray,
                            out_dir: str | Path, *, n_repeats: int = 100, seed: int = 0, n_jobs: int = 1) -> None:
    """Write pareto.tsv, pipelines.json, hypervolume.tsv and importance.tsv of one search to ``out_dir``."""
    out = Path(out_dir)
    write_tsv(pareto_table(result), out / "pareto.tsv")
    with atomic_path(out / "pipelines.json") as tmp:
        tmp.write_text(json.dumps({m.id: json.loads(m.json) for m in result.population}, indent=1))
    write_tsv(hypervolume_table(result), out / "hypervolume.tsv")
    write_tsv(pareto_importances(result, G, y, is_train, n_repeats=n_repeats, seed=seed, n_jobs=n_jobs),
              out / "importance.tsv")


def write_consistency(importance_paths: Sequence[str | Path], out_scores: str | Path, out_qtl: str | Path, *,
                      top: int = 50, window: int = 1_000_000) -> None:
    """Consistency scores and QTL calls from the importance.tsv of each replicate (numbered in the given order)."""
    tables = []
    for replicate, path in enumerate(importance_paths):
        table = read_tsv(path)
        missing = [c for c in IMPORTANCE_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(f"{path} lacks columns {missing}; give the importance.tsv of write_replicate_summary.")
        tables.append(table.assign(replicate=replicate))
    if not tables:
        raise InputError("no importance tables given: pass the importance.tsv of at least one replicate.")
    scores = consistency_scores(pd.concat(tables, ignore_index=True))
    write_tsv(scores, out_scores)
    write_tsv(call_qtl(scores, top=top, window=window), out_qtl)
