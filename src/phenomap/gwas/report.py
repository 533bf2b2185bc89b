"""I/O layer of rules gwas_summary and plot_gwas: what each trait's GWAS found, in a table and a figure.

The inflation factor lambda_GC (:func:`phenomap.gwas.summary.lambda_gc`, from the P column) is
computed on the harmonised statistics of each trait, whatever their source.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.gwas.summary import lambda_gc
from phenomap.io.sumstats import DROP_REASONS
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.logging import rule_summary
from phenomap.report.plots import gwas_plot

log = logging.getLogger(__name__)

GENOME_WIDE = 5e-8
SUMMARY_COLUMNS = ["trait", "source", "n_variants", "dropped", "median_n", "lambda_gc", "n_genome_wide",
                   "top_id", "top_chrom", "top_pos", "top_p"]


def trait_summary(table: pd.DataFrame, harmonise_log: pd.DataFrame, *, trait: str, source: str) -> dict:
    """One row of the summary table for one trait's harmonised statistics and harmonisation log."""
    counts = harmonise_log.set_index("reason")["n"]
    dropped = {reason: int(n) for reason, n in counts.items() if n and reason in DROP_REASONS}
    tested = table[table.P.notna()]
    top = tested.loc[tested.P.idxmin()] if len(tested) else None
    lam = lambda_gc(p=tested.P.to_numpy()) if len(tested) else np.nan
    log.info("trait %s (%s): %d variants, lambda_GC %.3f, %d with P < %g%s", trait, source, len(table), lam,
             int((tested.P < GENOME_WIDE).sum()), GENOME_WIDE,
             f", top {top.ID} ({top.CHROM}:{top.POS}) P = {top.P:.3g}" if top is not None else "")
    return {
        "trait": trait, "source": source, "n_variants": len(table),
        "dropped": ", ".join(f"{reason} {n}" for reason, n in dropped.items()) or "none",
        "median_n": float(np.median(table.N)) if len(table) else np.nan, "lambda_gc": lam,
        "n_genome_wide": int((tested.P < GENOME_WIDE).sum()),
        "top_id": top.ID if top is not None else pd.NA, "top_chrom": top.CHROM if top is not None else pd.NA,
        "top_pos": top.POS if top is not None else pd.NA, "top_p": top.P if top is not None else np.nan,
    }


def sumstats_summary(tables: Mapping[str, str | Path], harmonise_logs: Mapping[str, str | Path],
                     sources: Mapping[str, str], out: str | Path) -> pd.DataFrame:
    """Per trait (``tables``: trait -> harmonised statistics): source, variants kept and dropped, lambda_GC, top locus.

    Writes :data:`SUMMARY_COLUMNS` to ``out`` and returns it.
    """
    rows = [trait_summary(read_tsv(path), read_tsv(harmonise_logs[trait]), trait=trait, source=sources[trait])
            for trait, path in tables.items()]
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    write_tsv(summary, out)
    rule_summary(f"{len(summary)} traits, {summary.n_variants.max():,} variants",
                 "lambda_GC " + ", ".join(f"{row.trait} {row.lambda_gc:.3f}" for row in summary.itertuples()))
    return summary


def gwas_figure(sumstats_tsv: str | Path, out: str | Path, *, title: str) -> float:
    """Manhattan and QQ plot of one trait's -log10 P with its lambda_GC (returned)."""
    table = read_tsv(sumstats_tsv)
    lam = lambda_gc(p=table.P.to_numpy(dtype=float))
    gwas_plot(table, out, lambda_gc=lam, title=title, threshold=GENOME_WIDE)
    rule_summary(f"{len(table):,} variants plotted", f"lambda_GC {lam:.3f}")
    return lam
