"""What each GWAS found: lambda_GC warning, the per-trait summary table and the Manhattan/QQ figure."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from phenomap_testing import simulate_related_cohort
from scipy import stats

from phenomap.gwas import run_gwas
from phenomap.gwas.report import gwas_figure, sumstats_summary
from phenomap.io.plink import write_bfile
from phenomap.io.tables import read_tsv


@pytest.fixture
def related_files(tmp_path):
    cohort = simulate_related_cohort(np.random.default_rng(4), n_families=80, n_chrom=2, variants_per_chrom=300)
    write_bfile(tmp_path / "geno", cohort.fam, cohort.bim, iter([cohort.G]))
    cohort.fam[["FID", "IID"]].assign(trait=cohort.y).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    return tmp_path


def test_run_gwas__an_inflated_linear_gwas_warns_and_names_the_mixed_model(related_files, caplog):
    d = related_files
    with caplog.at_level(logging.INFO):
        linear = run_gwas(d / "geno", d / "pheno.tsv", "trait", d / "linear.tsv")
    chi2 = stats.chi2.isf(linear.P.dropna(), 1)
    inflation = np.median(chi2) / stats.chi2.ppf(0.5, 1)
    assert inflation > 1.1
    assert f"lambda_GC = {inflation:.3f} (linear model)" in caplog.text
    assert "set `gwas.model: lmm`" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run_gwas(d / "geno", d / "pheno.tsv", "trait", d / "lmm.tsv", model="lmm", loco=False)
    assert "(lmm model)" in caplog.text and "set `gwas.model: lmm`" not in caplog.text


def test_sumstats_summary__counts_drops_lambda_and_the_top_variant(tmp_path, rng):
    n = 2000
    p = rng.uniform(size=n)
    p[17] = 1e-12
    table = pd.DataFrame({"CHROM": "3", "POS": np.arange(n) * 10 + 5, "ID": [f"v{i}" for i in range(n)],
                          "A1": "A", "A2": "G", "A1_FREQ": 0.3, "N": rng.integers(900, 1000, n), "BETA": 0.1,
                          "SE": 0.1, "Z": 1.0, "P": p})
    table.loc[[3, 4], "P"] = np.nan
    table.to_csv(tmp_path / "t.tsv", sep="\t", index=False, na_rep="NA")
    log = pd.DataFrame({"reason": ["plink2_error", "ambiguous", "matched", "swapped", "ambiguous_by_freq"],
                        "n": [5, 0, n, 3, 2], "example_id": ["x", "NA", "v0", "v1", "v2"]})
    log.to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    out = sumstats_summary({"t": tmp_path / "t.tsv"}, {"t": tmp_path / "log.tsv"}, {"t": "linear model, numpy"},
                           tmp_path / "summary.tsv")
    row = read_tsv(tmp_path / "summary.tsv").iloc[0]
    expected_lambda = np.median(stats.chi2.isf(np.delete(p, [3, 4]), 1)) / stats.chi2.ppf(0.5, 1)
    assert row.lambda_gc == pytest.approx(expected_lambda, rel=1e-9)
    assert (row.trait, row.source, row.n_variants, row.dropped) == ("t", "linear model, numpy", n, "plink2_error 5")
    assert (row.top_id, str(row.top_chrom), row.top_pos, row.n_genome_wide) == ("v17", "3", 175, 1)
    assert row.median_n == np.median(table.N) and len(out) == 1


def test_gwas_figure__prints_lambda_gc_on_both_panels(tmp_path, rng):
    n = 500
    table = pd.DataFrame({"CHROM": np.repeat(["1", "2", "X"], [200, 200, 100]), "POS": np.tile(np.arange(1, 101), 5),
                          "P": rng.uniform(size=n) ** 1.5})
    table.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    lam = gwas_figure(tmp_path / "t.tsv", tmp_path / "fig.png", title="mine: t")
    assert lam == pytest.approx(np.median(stats.chi2.isf(table.P, 1)) / stats.chi2.ppf(0.5, 1), rel=1e-12)
    assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_gwas_plot__axes_show_minus_log10_p_and_lambda(rng, tmp_path):
    from phenomap.report.plots import gwas_plot

    table = pd.DataFrame({"CHROM": ["2", "1", "1"], "POS": [5, 10, 20], "P": [1e-9, 0.5, np.nan]})
    figure = gwas_plot(table, tmp_path / "fig.png", lambda_gc=1.234, title="t")
    manhattan, qq = figure.axes
    y = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in manhattan.collections if len(c.get_offsets())]))
    np.testing.assert_allclose(y, [-np.log10(0.5), 9.0])  # NA P not plotted
    assert "lambda_GC = 1.234" in manhattan.get_title()
    assert any("lambda_GC = 1.234" in text.get_text() for text in qq.texts)
