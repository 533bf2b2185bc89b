"""I/O layer of the figure rules: read the stage outputs, draw with :mod:`phenomap.report.plots`."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from phenomap.io.tables import read_tsv
from phenomap.logging import rule_summary
from phenomap.mixture.dpgmm import load_mixture
from phenomap.report.plots import (
    effect_scatter,
    importance_manhattan,
    ld_block_map,
    manhattan,
    prediction_scatter,
    qq_plot,
    shrinkage_figure,
)

log = logging.getLogger(__name__)


def cluster_figures(labels_tsv: str | Path, model_json: str | Path, types_tsv: str | Path, traits: Sequence[str],
                    out_dir: str | Path, *, seed: int = 0) -> list[Path]:
    """One effect scatter with cluster ellipses per pair of traits: ``out_dir/<a>__<b>.png``.

    A single trait has no pair: the folder is created empty. Returns the written paths.
    """
    labels, types, fit = read_tsv(labels_tsv), read_tsv(types_tsv), load_mixture(model_json)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for a, b in itertools.combinations(traits, 2):
        path = out_dir / f"{a}__{b}.png"
        effect_scatter(labels, (a, b), fit.covariances, fit.weights, path, trait_names=list(traits),
                       cluster_types=types, seed=seed)
        written.append(path)
    log.info("wrote %d effect scatter plot(s) to %s", len(written), out_dir)
    rule_summary(f"{len(written)} scatter plot(s) of {len(labels):,} variants", f"K* = {fit.k_star}")
    return written


def manhattan_figure(effects_tsv: str | Path, effect_column: str, gene_tests_tsv: str | Path, out: str | Path, *,
                     q_threshold: float, title: str = "") -> None:
    """Manhattan of one trait's effects with its significant genes (q < ``q_threshold``) labelled."""
    effects, genes = read_tsv(effects_tsv), read_tsv(gene_tests_tsv)
    manhattan(effects, out, value_column=effect_column, genes=genes, q_threshold=q_threshold, title=title)
    rule_summary(f"{len(effects):,} variants, {len(genes):,} genes",
                 f"{(genes.q < q_threshold).sum()} genes with q < {q_threshold:g}")


def qq_figure(gene_tests: Mapping[str, str | Path], out: str | Path, *, title: str = "") -> None:
    """QQ plot of the gene-test p-values of every trait (``trait -> gene test TSV``)."""
    p = {trait: read_tsv(path)["p"].to_numpy(dtype=float) for trait, path in gene_tests.items()}
    qq_plot(p, out, title=title)
    rule_summary(f"{sum(map(len, p.values())):,} gene p-values of {len(p)} traits",
                 f"smallest p {min((v.min() for v in p.values() if len(v)), default=float('nan')):.2g}")


def ld_blocks_figure(blocks_tsv: str | Path, out: str | Path, *, title: str = "") -> None:
    """Map of the LD blocks along each chromosome."""
    blocks = read_tsv(blocks_tsv)
    ld_block_map(blocks, out, title=title)
    rule_summary(f"{len(blocks):,} blocks on {blocks.chrom.nunique()} chromosomes",
                 f"{blocks.n_variants.sum():,} variants, median {blocks.n_variants.median():.0f} per block")


def shrinkage_summary_figure(model_dir: str | Path | None, effects: Mapping[str, str | Path], out: str | Path, *,
                             title: str = "") -> None:
    """Training curves of the shrinkage ensemble (``model_dir/ensemble.json``; None: shrunk without a
    network) and each trait's shrunk against marginal effects (``trait -> shrunk effects TSV``)."""
    curves = json.loads((Path(model_dir) / "ensemble.json").read_text())["curves"] if model_dir else []
    tables = {trait: read_tsv(path)[["BETA", "BETA_SHRUNK"]] for trait, path in effects.items()}
    shrinkage_figure(curves, tables, out, title=title)
    rule_summary(f"{len(curves)} training curves, {len(tables)} traits",
                 "mean |effect| " + ", ".join(f"{trait} {t.BETA.abs().mean():.3g} -> {t.BETA_SHRUNK.abs().mean():.3g}"
                                              for trait, t in tables.items()))


#: G-P Atlas prediction columns drawn beside the network's (when present): the linear baselines.
GPATLAS_BASELINES = ("ridge", "lasso")


def gpatlas_figures(predictions_tsv: str | Path, importance_tsv: str | Path, out_predictions: str | Path,
                    out_importance: str | Path, *, title: str = "") -> None:
    """Observed against predicted test-set phenotypes (the genotype network ``geno_pred`` beside the
    linear baselines) and the locus importance along the genome."""
    predictions = read_tsv(predictions_tsv)
    methods = ["geno_pred"] + [m for m in GPATLAS_BASELINES if m in predictions.columns]
    prediction_scatter(predictions, out_predictions, methods=methods, title=f"{title}: held-out predictions")
    importance = read_tsv(importance_tsv)
    importance_manhattan(importance, out_importance, title=f"{title}: G-P Atlas locus importance")
    rule_summary(f"{len(predictions):,} predictions, {len(importance):,} loci", f"top locus {importance.ID.iloc[0]}")
