"""Every figure and key table of the workflow is in the HTML report (`snakemake --report`), with a caption."""

from __future__ import annotations

from pathlib import Path

import pytest
from phenomap_testing import workflow_rules
from snakemake.io import is_flagged

REPO = Path(__file__).resolve().parents[2]
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
#: Tables users read first (ends of the rules' output patterns); each must be in the report too.
KEY_TABLES = ("{qcdir,qc|qc/panel}/summary.tsv", "summary/gwas.tsv", "genes/summary.tsv", "genes/candidates.tsv",
              "gpatlas/metrics.tsv", "grvsnn/comparison.tsv", "qtl.tsv")


@pytest.fixture(scope="module")
def rule_outputs(tmp_path_factory) -> list[tuple[str, str, object]]:
    """(rule, output path pattern, report flag or None) of every rule of the workflow."""
    return [(rule.name, str(f), f.flags["report"] if is_flagged(f, "report") else None)
            for rule in workflow_rules(tmp_path_factory.mktemp("dag")) for f in rule.output]


def is_figure(path: str) -> bool:
    return path.endswith(FIGURE_SUFFIXES) or "/figures/" in path


def test_every_figure_and_key_table_is_in_the_report(rule_outputs):
    figures = [(rule, path) for rule, path, flag in rule_outputs if is_figure(path)]
    assert len(figures) >= 13  # GWAS, LD, shrinkage, clusters, genes (2), G-P Atlas (2), GRVSNN (2), GP-search (3)
    missing = [f"{rule}: {path}" for rule, path, flag in rule_outputs
               if flag is None and (is_figure(path) or path.endswith(KEY_TABLES))]
    assert not missing, "outputs without a report entry (wrap them in report(..., caption=...)):\n" + "\n".join(missing)
    tables = {table for table in KEY_TABLES for _, path, flag in rule_outputs if flag and path.endswith(table)}
    assert tables == set(KEY_TABLES)


def test_every_report_entry_has_a_caption_and_every_caption_is_used(rule_outputs):
    captions = {Path(flag.caption).resolve() for _, _, flag in rule_outputs if flag is not None}
    assert all(flag.caption for _, _, flag in rule_outputs if flag is not None)
    on_disk = {p.resolve() for p in (REPO / "workflow/report").glob("*.rst")} - {
        (REPO / "workflow/report/workflow.rst").resolve()}
    assert captions <= on_disk, captions - on_disk
    assert on_disk <= captions, f"caption files no rule uses: {sorted(p.name for p in on_disk - captions)}"
    for path in captions:
        assert len(path.read_text().split()) >= 15, f"{path.name}: say how to read the result"
