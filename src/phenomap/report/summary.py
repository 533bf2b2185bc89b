"""The run summary of one cohort, ``results/<cohort>/summary.md``: what a user reads first.

QC (samples and variants kept, and why the others went), per trait λGC and the top locus,
significant genes and candidates, the held-out accuracy of G-P Atlas and GRVSNN beside their
best baseline, and the StarBASE-GP QTL calls, each section linking to its files. Sections of
stages that did not run for the cohort are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from phenomap.gpatlas.evaluate import BASELINES as GPATLAS_BASELINES
from phenomap.io.tables import atomic_path, read_tsv
from phenomap.logging import rule_summary

#: QC filters in the order they are applied (columns of qc/summary.tsv).
QC_VARIANT_REASONS = ("variant_missing", "monomorphic", "maf", "hwe")


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a GitHub-flavoured Markdown table (values as they print)."""
    rows = [list(map(str, table.columns)), ["---"] * table.shape[1]]
    rows += [[_cell(v) for v in row] for row in table.itertuples(index=False)]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _cell(value) -> str:
    if isinstance(value, float):
        return "NA" if pd.isna(value) else f"{value:.3g}"
    return str(value)


def _link(path: str | Path, base: Path) -> str:
    relative = Path(path).resolve().relative_to(base.resolve())
    return f"[`{relative}`]({relative})"


def qc_section(summary_tsv: str | Path, base: Path) -> str:
    total = read_tsv(summary_tsv).set_index("chrom").loc["total"]
    removed = ", ".join(f"{reason} {int(total[reason]):,}" for reason in QC_VARIANT_REASONS if total[reason] > 0)
    return (f"## QC\n\nSamples: {int(total.samples_kept):,} of {int(total.samples_in):,} kept "
            f"({int(total.sample_missing):,} removed for missingness). Variants: {int(total.variants_kept):,} of "
            f"{int(total.variants_in):,} kept" + (f" (removed: {removed})" if removed else "") + ". "
            f"Details per chromosome: {_link(summary_tsv, base)}.")


def gwas_section(summary_tsv: str | Path, base: Path) -> str:
    table = read_tsv(summary_tsv)
    shown = pd.DataFrame({
        "trait": table.trait, "source": table.source, "variants": table.n_variants.map("{:,}".format),
        "λGC": table.lambda_gc.map("{:.3f}".format), "P < 5e-8": table.n_genome_wide,
        "top locus": [f"{i} ({c}:{p:,})" if pd.notna(i) else "none" for i, c, p in
                      zip(table.top_id, table.top_chrom, table.top_pos.fillna(0).astype(int))],
        "top P": table.top_p})
    note = ""
    if (table.source.str.startswith("linear") & (table.lambda_gc > 1.1)).any():
        note = ("\n\nλGC above 1.1 under the linear model: the cohort may be related or structured; "
                "try `gwas.model: lmm`.")
    return f"## GWAS\n\n{markdown_table(shown)}{note}\n\nTable: {_link(summary_tsv, base)}."


def genes_section(gene_tests: Mapping[str, str | Path], candidates_tsv: str | Path, base: Path, *,
                  q_threshold: float, top: int) -> str:
    lines = []
    for trait, path in gene_tests.items():
        tests = read_tsv(path)
        hits = tests[tests.q < q_threshold].sort_values("q")
        names = ", ".join(hits.gene.head(top).astype(str))
        more = ", …" if len(hits) > top else ""
        lines.append(f"- {trait}: {len(hits)} gene(s) with q < {q_threshold:g}" + (f" ({names}{more})" if len(hits) else ""))
    candidates = read_tsv(candidates_tsv)
    for kind, group in candidates.groupby("candidate", sort=True):
        lines.append(f"- candidates, {kind}: {', '.join(group.gene.head(top).astype(str))}"
                     + (f" and {len(group) - top} more" if len(group) > top else ""))
    links = ", ".join(_link(p, base) for p in [*gene_tests.values(), candidates_tsv])
    return "## Genes\n\n" + "\n".join(lines) + f"\n\nFiles: {links}."


def gpatlas_section(metrics_tsv: str | Path, base: Path) -> str:
    metrics = read_tsv(metrics_tsv)
    r2 = metrics.pivot_table(index="trait", columns="model", values="r2", sort=False)
    baselines = [b for b in GPATLAS_BASELINES if b in r2.columns]
    rows = []
    for trait, row in r2.iterrows():
        best = row[baselines].idxmax() if baselines else None
        rows.append({"trait": trait, "G-P Atlas R²": row.get("geno->pheno", float("nan")),
                     "best baseline": best or "none", "its R²": row[best] if best else float("nan"),
                     "winner": "G-P Atlas" if not best or row.get("geno->pheno", -1e9) > row[best] else best})
    return (f"## G-P Atlas (held-out samples)\n\n{markdown_table(pd.DataFrame(rows))}\n\n"
            f"Table: {_link(metrics_tsv, base)}.")


def grvsnn_section(comparison_tsv: str | Path, base: Path) -> str:
    table = read_tsv(comparison_tsv)
    rows = []
    for trait, group in table.groupby("trait", sort=False):
        ours = group[group.method == "grvsnn"]
        best = group.best_baseline.dropna()
        if ours.empty or best.empty:
            continue
        reference = group[group.method == best.iloc[0]].iloc[0]
        rows.append({"trait": trait, "GRVSNN r": f"{ours.r_mean.iloc[0]:.3f} ± {ours.r_se.iloc[0]:.3f}",
                     "best baseline": best.iloc[0], "its r": f"{reference.r_mean:.3f} ± {reference.r_se:.3f}",
                     "folds GRVSNN better": f"{int(ours.folds_r_better.iloc[0])} of {int(ours.folds.iloc[0])}"})
    return (f"## GRVSNN (cross-validation, mean ± SE of the test-fold Pearson r)\n\n"
            f"{markdown_table(pd.DataFrame(rows))}\n\nTable: {_link(comparison_tsv, base)}.")


def gpsearch_section(qtl: Mapping[str, str | Path], base: Path, *, top: int) -> str:
    lines = []
    for trait, path in qtl.items():
        calls = read_tsv(path).head(top)
        shown = "; ".join(f"{c.ID} {c.CHROM}:{int(c.POS):,} ({c.encoding}, score {c.score:.2f})"
                          for c in calls.itertuples())
        lines.append(f"- {trait}: {shown or 'no QTL called'} — {_link(path, base)}")
    return "## StarBASE-GP QTL calls (best first)\n\n" + "\n".join(lines)


def cohort_summary(cohort: str, out: str | Path, *, gwas_summary: str | Path, qc_summary: str | Path | None = None,
                   gene_tests: Mapping[str, str | Path] | None = None, gene_candidates: str | Path | None = None,
                   q_threshold: float = 0.05, gpatlas_metrics: str | Path | None = None,
                   grvsnn_comparison: str | Path | None = None, gpsearch_qtl: Mapping[str, str | Path] | None = None,
                   figures: Sequence[str | Path] = (), top: int = 5) -> str:
    """Write the cohort's Markdown summary to ``out`` (its links are relative to ``out``'s folder) and return it.

    Every argument but ``gwas_summary`` is optional: its section is left out when the stage did not run.
    """
    base = Path(out).parent
    sections = [f"# phenomap results: {cohort}"]
    if qc_summary:
        sections.append(qc_section(qc_summary, base))
    sections.append(gwas_section(gwas_summary, base))
    if gene_tests and gene_candidates:
        sections.append(genes_section(gene_tests, gene_candidates, base, q_threshold=q_threshold, top=top))
    if gpatlas_metrics:
        sections.append(gpatlas_section(gpatlas_metrics, base))
    if grvsnn_comparison:
        sections.append(grvsnn_section(grvsnn_comparison, base))
    if gpsearch_qtl:
        sections.append(gpsearch_section(gpsearch_qtl, base, top=top))
    if figures:
        sections.append("## Figures\n\n" + "\n".join(f"- {_link(f, base)}" for f in figures))
    text = "\n\n".join(sections) + "\n"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text)
    titles = [section.split("\n", 1)[0].removeprefix("## ").split(" (")[0] for section in sections[1:]]
    rule_summary(f"{len(titles)} sections ({', '.join(titles)})", f"{text.count(chr(10))} lines in {out}")
    return text
