"""Multi-trait gene summaries: cluster-type fractions, effect products and candidate genes.

For each gene g (variants assigned as in :func:`phenomap.genes.enrichment.assign_genes`):

* ``frac_<category>``: the fraction of its variants whose cluster is of that category. Cluster
  0 (variants not fitted, with essentially zero effects) is ``null`` unless the cluster-type
  table lists it. Types are those of :mod:`phenomap.mixture.typing`: a ``trait-specific``
  component gives the category ``specific_<trait>`` (its ``traits`` entry names the trait);
  any other type is its own category, with ``-`` written ``_`` (``shared_positive``,
  ``shared_negative``, ``mixed``).
* ``S_<a>_<b>`` for traits a <= b: the entries of ``S_g = (1/|g|) sum_i beta_i beta_i^T``
  (ML-MAGES eq. 5), ``beta_i`` the d-vector of variant i's effects. ``S_<a>_<a>`` is the
  mean squared effect on trait a, ``S_<a>_<b>`` the mean product of the two traits' effects.

Candidate rule (one label per gene, in column ``candidate``):

* shared: the fraction of its variants in ``shared-*`` clusters is at least ``min_fraction``
  (default 0.2, as ML-MAGES lists genes with > 20% of variants in a prioritised cluster) and
  at least as large as its fraction in any trait's specific clusters; ``score`` =
  ``max_{a<b} |S_<a>_<b>|``;
* ``specific:<trait>``: otherwise, when the trait's specific fraction is at least
  ``min_fraction`` and the largest of the traits' specific fractions (ties go to the first
  trait); ``score`` = ``S_<trait>_<trait>``;
* ``""`` (no candidate) otherwise, with ``score`` NaN. Mixed and other clusters count for
  neither kind.

:func:`candidate_table` and :func:`candidate_lists` give each kind's genes by decreasing score.

Variants: the traits' effect tables are joined by ID; only variants with an effect on every
trait and a cluster label are used (the intersection; per-trait counts are logged). Genes
with fewer than ``min_snps`` such variants are left out (counted in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.genes.enrichment import assign_genes, check_gene_coordinates, read_gene_table
from phenomap.io.plink import normalise_chrom
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

NULL_CLUSTER = 0
SPECIFIC = "trait-specific"
SHARED_PREFIX = "shared"


def gene_summary(
    shrunk: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    cluster_types: pd.DataFrame,
    genes: pd.DataFrame,
    *,
    window: int = 0,
    min_snps: int = 2,
    min_fraction: float = 0.2,
) -> pd.DataFrame:
    """Per-gene multi-trait summary of clustered effects (see the module docstring).

    Parameters
    ----------
    shrunk : trait name -> ``ID CHROM POS beta`` (per-allele effects; NaN = none), d >= 1 traits.
    labels : ``ID cluster`` (int; 0 = null, i.e. not fitted).
    cluster_types : ``component type traits``, one row per cluster, as from
        :func:`phenomap.mixture.typing.classify_components`; ``traits`` names the trait of a
        ``trait-specific`` component (it is not used for other types).
    genes : gene table as from :func:`phenomap.genes.enrichment.read_gene_table`.
    window : flanking bases around each gene, >= 0.
    min_snps : fewest variants for a gene to be summarised.
    min_fraction : smallest fraction of a gene's variants in shared (or one trait's specific)
        clusters for it to be a candidate.

    Returns
    -------
    DataFrame ``gene gene_id chrom start stop n_snps frac_<category>... S_<a>_<b>... candidate
    score``, genes in table order.

    Raises
    ------
    InputError for no traits, missing columns, duplicated IDs, a variant whose position differs
    between traits, labels without a cluster type, a trait-specific component naming an unknown
    trait, no variant common to all traits and labels, and genes that do not match the
    variants' chromosomes (:func:`phenomap.genes.enrichment.check_gene_coordinates`).
    """
    if not shrunk:
        raise InputError("the gene summary needs the effects of at least one trait.")
    if window < 0:
        raise InputError(f"the gene window must be >= 0 bases, got {window}.")
    traits = list(shrunk)
    variants = _joined_effects(shrunk, labels)
    category = _categories(cluster_types, traits)
    unknown = ~variants.cluster.isin(category.index)
    if unknown.any():
        raise InputError(f"variant {variants.ID[unknown].iloc[0]} has cluster {variants.cluster[unknown].iloc[0]}, "
                         f"which the cluster-type table does not list (it has {sorted(category.index)}).")
    gene, variant = assign_genes(variants, genes, window=window)
    n_snps = np.bincount(gene, minlength=len(genes))
    check_gene_coordinates(genes, variants, n_snps, window=window, genes_source="the gene table",
                           variants_source="effects")
    keep = np.flatnonzero(n_snps >= min_snps)
    log.info("%d genes summarised; %d have fewer than %d variants (%d none)",
             len(keep), len(genes) - len(keep), min_snps, int(np.sum(n_snps == 0)))
    out = genes.iloc[keep][["symbol", "gene_id", "chrom", "start", "stop"]].rename(columns={"symbol": "gene"})
    out = out.reset_index(drop=True)
    out["n_snps"] = n_snps[keep]
    size = np.maximum(n_snps, 1)
    variant_category = category.reindex(variants.cluster).to_numpy()[variant]
    categories = _ordered(category.unique(), traits)
    for name in categories:
        out[f"frac_{name}"] = (np.bincount(gene, weights=variant_category == name, minlength=len(genes)) / size)[keep]
    beta = variants[traits].to_numpy()[variant]
    for a in range(len(traits)):
        for b in range(a, len(traits)):
            product = np.bincount(gene, weights=beta[:, a] * beta[:, b], minlength=len(genes)) / size
            out[f"S_{traits[a]}_{traits[b]}"] = product[keep]
    out["candidate"], out["score"] = _candidates(out, categories, traits, min_fraction)
    counts = out.candidate[out.candidate != ""].value_counts()
    log.info("candidates: %s", ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "none")
    return out


def candidate_table(summary: pd.DataFrame) -> pd.DataFrame:
    """``candidate gene gene_id score rank``: the flagged genes by kind, then decreasing score (rank 1 = best)."""
    flagged = summary[summary.candidate != ""]
    flagged = flagged.sort_values(["candidate", "score"], ascending=[True, False], kind="stable")
    flagged = flagged.assign(rank=flagged.groupby("candidate").cumcount() + 1)
    return flagged[["candidate", "gene", "gene_id", "score", "rank"]].reset_index(drop=True)


def candidate_lists(summary: pd.DataFrame, *, top: int | None = None) -> dict[str, list[str]]:
    """Candidate genes of each kind (``shared``, ``specific:<trait>``) by decreasing score, at most ``top`` each."""
    table = candidate_table(summary)
    return {kind: group.gene.tolist()[:top] for kind, group in table.groupby("candidate", sort=True)}


def _joined_effects(shrunk: Mapping[str, pd.DataFrame], labels: pd.DataFrame) -> pd.DataFrame:
    """``ID CHROM POS <trait...> cluster`` for the variants with every trait's effect and a label."""
    joined = None
    for trait, table in shrunk.items():
        missing = [c for c in ("ID", "CHROM", "POS", "beta") if c not in table.columns]
        if missing:
            raise InputError(f"the effects of trait {trait} lack column(s) {missing}; they need ID CHROM POS beta.")
        table = table[["ID", "CHROM", "POS", "beta"]].astype({"ID": str})
        pos = pd.to_numeric(table.POS, errors="coerce")
        if (pos.isna() | (pos != pos.round())).any():
            i = int(np.flatnonzero((pos.isna() | (pos != pos.round())).to_numpy())[0])
            raise InputError(f"variant {table.ID.iloc[i]} of trait {trait} has position {table.POS.iloc[i]!r}, "
                             "not an integer.")
        table = table.assign(POS=pos.astype(np.int64), beta=pd.to_numeric(table.beta, errors="coerce"))
        if table.ID.duplicated().any():
            raise InputError(f"variant {table.ID[table.ID.duplicated()].iloc[0]} appears twice in the effects "
                             f"of trait {trait}.")
        present = table[table.beta.notna()].rename(columns={"beta": trait})
        log.info("trait %s: %d variants with an effect (%d NA)", trait, len(present), len(table) - len(present))
        if joined is None:
            joined = present.assign(CHROM=normalise_chrom(present.CHROM, source=f"effects of trait {trait}"))
            continue
        both = joined.merge(present, on="ID", suffixes=("", "_other"))  # IDs checked unique on both sides above
        other_chrom = normalise_chrom(both.CHROM_other, source=f"effects of trait {trait}")
        moved = (both.CHROM != other_chrom) | (both.POS != both.POS_other)
        if moved.any():
            row = both[moved].iloc[0]
            raise InputError(f"variant {row.ID} is at {row.CHROM}:{row.POS} in one trait's effects but at "
                             f"{row.CHROM_other}:{row.POS_other} in those of trait {trait}: the effects come "
                             "from different panels.")
        joined = both.drop(columns=["CHROM_other", "POS_other"])
    missing = [c for c in ("ID", "cluster") if c not in labels.columns]
    if missing:
        raise InputError(f"the cluster labels lack column(s) {missing}; they need ID cluster.")
    labels = labels[["ID", "cluster"]].astype({"ID": str})
    cluster = pd.to_numeric(labels.cluster, errors="coerce")
    bad = cluster.isna() | (cluster != cluster.round())
    if bad.any():
        raise InputError(f"variant {labels.ID[bad].iloc[0]} has cluster label {labels.cluster[bad].iloc[0]!r}, "
                         "not an integer (0 = null).")
    labels = labels.assign(cluster=cluster.astype(np.int64))
    if labels.ID.duplicated().any():
        raise InputError(f"variant {labels.ID[labels.ID.duplicated()].iloc[0]} has two cluster labels.")
    n_common = len(joined)
    joined = joined.merge(labels, on="ID")  # IDs checked unique on both sides above
    log.info("%d variants have effects on all %d traits; %d of them have a cluster label",
             n_common, len(shrunk), len(joined))
    if n_common - len(joined):
        log.warning("%d variants with effects on every trait have no cluster label and are left out",
                    n_common - len(joined))
    if joined.empty:
        raise InputError(f"no variant has an effect on every trait ({', '.join(shrunk)}) and a cluster label: "
                         "the traits' effects or the labels come from different variant sets.")
    return joined


def _categories(cluster_types: pd.DataFrame, traits: list[str]) -> pd.Series:
    """Cluster -> category name (``null``, ``specific_<trait>`` or the component's type, ``-`` -> ``_``)."""
    missing = [c for c in ("component", "type") if c not in cluster_types.columns]
    if missing:
        raise InputError(f"the cluster-type table lacks column(s) {missing}; it needs component type traits.")
    types = cluster_types.assign(traits=cluster_types.get("traits", pd.Series("", index=cluster_types.index)))
    types = types.fillna({"traits": ""}).astype({"component": np.int64, "type": str, "traits": str})
    category = types.type.str.replace("-", "_").where(types.type != SPECIFIC, "specific_" + types.traits)
    bad = (types.type == SPECIFIC) & ~types.traits.isin(traits)
    if bad.any():
        row = types[bad].iloc[0]
        raise InputError(f"cluster {row.component} is specific to {row.traits!r}, which is not one of the "
                         f"traits {traits}.")
    category = pd.Series(category.to_numpy(), index=types.component.to_numpy())
    if NULL_CLUSTER not in category.index:
        category[NULL_CLUSTER] = "null"
    return category


def _ordered(categories, traits: list[str]) -> list[str]:
    """Categories in a fixed order: null, specific by trait order, shared, then the rest by name."""
    specific = [f"specific_{t}" for t in traits if f"specific_{t}" in set(categories)]
    rest = sorted(set(categories) - set(specific) - {"null"}, key=lambda c: (not c.startswith(SHARED_PREFIX), c))
    return ["null"] * ("null" in set(categories)) + specific + rest


def _candidates(summary: pd.DataFrame, categories: list[str], traits: list[str], min_fraction: float):
    shared_columns = [f"frac_{c}" for c in categories if c.startswith(SHARED_PREFIX)]
    shared = summary[shared_columns].sum(axis=1).to_numpy() if shared_columns else np.zeros(len(summary))
    specific = np.column_stack([summary.get(f"frac_specific_{t}", pd.Series(0.0, index=summary.index)).to_numpy()
                                for t in traits])
    best = specific.argmax(axis=1)
    best_fraction = specific[np.arange(len(summary)), best]
    pairs = [f"S_{traits[a]}_{traits[b]}" for a in range(len(traits)) for b in range(a + 1, len(traits))]
    shared_score = np.abs(summary[pairs].to_numpy()).max(axis=1) if pairs else np.zeros(len(summary))
    own_score = np.column_stack([summary[f"S_{t}_{t}"].to_numpy() for t in traits])[np.arange(len(summary)), best]
    is_shared = (shared >= min_fraction) & (shared >= best_fraction) & (shared > 0)
    is_specific = ~is_shared & (best_fraction >= min_fraction) & (best_fraction > 0)
    specific_label = np.char.add("specific:", np.array(traits)[best])
    candidate = np.where(is_shared, "shared", np.where(is_specific, specific_label, ""))
    score = np.where(is_shared, shared_score, np.where(is_specific, own_score, np.nan))
    return candidate, score


def summarise_genes(
    labels_tsv: str | Path,
    types_tsv: str | Path,
    genes_tsv: str | Path,
    traits: Sequence[str],
    out_summary: str | Path,
    out_candidates: str | Path,
    *,
    window: int = 0,
    min_snps: int = 2,
    min_fraction: float = 0.2,
) -> pd.DataFrame:
    """I/O layer of rule ``gene_summary``: cluster labels and types -> gene summary and candidate lists.

    ``labels_tsv`` is the cluster step's table (``ID CHROM POS`` and one effect column per
    trait in ``traits``, ``cluster``); ``types_tsv`` its cluster types. Writes
    :func:`gene_summary`'s table and :func:`candidate_table`, and returns the summary.
    """
    labels = read_tsv(labels_tsv)
    missing = [t for t in traits if t not in labels.columns]
    if missing:
        raise InputError(f"cluster labels {labels_tsv} have no effect column for trait(s) {missing}: "
                         "rerun the cluster step with the same traits.")
    shrunk = {t: labels[["ID", "CHROM", "POS", t]].rename(columns={t: "beta"}) for t in traits}
    types = read_tsv(types_tsv)
    summary = gene_summary(shrunk, labels[["ID", "cluster"]], types, read_gene_table(genes_tsv), window=window,
                           min_snps=min_snps, min_fraction=min_fraction)
    candidates = candidate_table(summary)
    write_tsv(summary, out_summary)
    write_tsv(candidates, out_candidates)
    rule_summary(f"{len(summary):,} genes x {len(traits)} traits",
                 f"{candidates.gene.nunique()} candidate genes ({(candidates.candidate == 'shared').sum()} shared)")
    return summary
