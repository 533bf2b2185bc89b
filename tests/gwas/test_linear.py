"""GWAS engine: exact agreement with brute-force least squares and with real plink2 --glm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phenomap_testing import make_fam, needs_plink2
from phenomap.errors import InputError
from phenomap.gwas import run_gwas
from phenomap.gwas.linear import design_matrix, linear_association


def brute_force(G, y, C):
    """One lstsq per variant on its complete cases: (beta, se, p, n)."""
    out = []
    for j in range(G.shape[1]):
        ok = ~np.isnan(G[:, j])
        X = np.column_stack([np.ones(ok.sum()), G[ok, j], C[ok]])
        coef, rss, *_ = np.linalg.lstsq(X, y[ok], rcond=None)
        df = ok.sum() - X.shape[1]
        se = np.sqrt(rss[0] / df * np.linalg.inv(X.T @ X)[1, 1])
        out.append((coef[1], se, 2 * stats.t.sf(abs(coef[1] / se), df), ok.sum()))
    return np.array(out).T


def simulate(rng, n=400, m=60, k=3, missing=0.05):
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(np.float32)
    G[rng.random((n, m)) < missing] = np.nan
    C = rng.normal(size=(n, k)) + 5.0  # uncentred on purpose
    y = 0.4 * np.nan_to_num(G[:, 0]) + C @ rng.normal(size=k) + rng.normal(size=n)
    return G, y, C


def test_linear_association__matches_per_variant_lstsq_with_missing_calls(rng):
    G, y, C = simulate(rng)
    res = linear_association(G, y, design_matrix(C, len(y)))
    beta, se, p, n = brute_force(G, y, C)
    np.testing.assert_allclose(res.beta, beta, rtol=1e-9)
    np.testing.assert_allclose(res.se, se, rtol=1e-9)
    np.testing.assert_allclose(res.p, p, rtol=1e-8)
    np.testing.assert_array_equal(res.n, n)
    observed = ~np.isnan(G)
    np.testing.assert_allclose(res.a1_freq, np.nansum(G, 0) / (2 * observed.sum(0)))


def test_linear_association__no_covariates_equals_scipy_linregress(rng):
    G, y, _ = simulate(rng, missing=0.0)
    res = linear_association(G, y, design_matrix(None, len(y)))
    for j in (0, 7, 33):
        ref = stats.linregress(G[:, j], y)
        assert res.beta[j] == pytest.approx(ref.slope, rel=1e-10)
        assert res.se[j] == pytest.approx(ref.stderr, rel=1e-10)
        assert res.p[j] == pytest.approx(ref.pvalue, rel=1e-8)


def test_linear_association__constant_variant_is_nan(rng):
    G, y, C = simulate(rng)
    G[:, 3] = 1.0
    G[:10, 4], G[10:, 4] = 2.0, np.nan  # observed only where it is constant
    res = linear_association(G, y, design_matrix(C, len(y)))
    assert np.isnan(res.beta[[3, 4]]).all() and np.isnan(res.p[[3, 4]]).all()
    assert np.isfinite(res.beta[[0, 5]]).all()


def test_design_matrix__rejects_constant_and_collinear_covariates(rng):
    C = rng.normal(size=(50, 2))
    with pytest.raises(InputError, match="'age'.*constant"):
        design_matrix(np.column_stack([C, np.ones(50)]), 50, names=["pc1", "pc2", "age"])
    with pytest.raises(InputError, match="collinear"):
        design_matrix(np.column_stack([C, C[:, 0] * 2 + C[:, 1]]), 50, names=["pc1", "pc2", "pc3"])


@pytest.fixture
def cohort(rng, tmp_path, write_plink):
    """A fileset with missing calls, shuffled phenotype/covariate files with extra samples."""
    n, m = 300, 40
    G, y, C = simulate(rng, n=n, m=m, k=2)
    fam = make_fam(n)
    prefix = write_plink(G, fam=fam)
    y[:5] = np.nan
    pheno = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "height": y, "other": 1.0})
    extra = pd.DataFrame({"FID": ["x1", "x2"], "IID": ["x1", "x2"], "height": [9.0, 9.0], "other": 1.0})
    pheno = pd.concat([pheno, extra]).sample(frac=1, random_state=1)
    covar = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": C[:, 0], "pc1": C[:, 1]})
    covar.loc[7, "age"] = C[7, 0] = np.nan
    covar = covar.sample(frac=1, random_state=2)
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    covar.to_csv(tmp_path / "covar.tsv", sep="\t", index=False, na_rep="NA")
    return dict(prefix=prefix, G=G, y=y, C=C, pheno=tmp_path / "pheno.tsv", covar=tmp_path / "covar.tsv")


def test_run_gwas__joins_samples_by_id_not_row_order(cohort, tmp_path):
    table = run_gwas(cohort["prefix"], cohort["pheno"], "height", tmp_path / "out.tsv", covar=cohort["covar"], chunk=16)
    keep = ~np.isnan(cohort["y"]) & ~np.isnan(cohort["C"]).any(1)
    beta, se, p, n = brute_force(cohort["G"][keep], cohort["y"][keep], cohort["C"][keep])
    np.testing.assert_allclose(table.BETA, beta, rtol=1e-9)
    np.testing.assert_allclose(table.SE, se, rtol=1e-9)
    np.testing.assert_array_equal(table.N, n)
    written = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert list(written.columns) == ["CHROM", "POS", "ID", "A1", "A2", "A1_FREQ", "N", "BETA", "SE", "Z", "P"]
    np.testing.assert_allclose(written.BETA, beta, rtol=1e-8)


def assert_agrees_to_printed_digits(ours, plink, digits=6):
    """|ours - plink2| within half a unit of plink2's last printed significant digit."""
    ours, plink = np.asarray(ours, float), np.asarray(plink, float)
    ulp = 10.0 ** (np.floor(np.log10(np.abs(plink))) - (digits - 1))
    assert np.all(np.abs(ours - plink) <= 0.5 * ulp * (1 + 1e-9)), np.max(np.abs(ours - plink) / ulp)


@needs_plink2
def test_run_gwas__numpy_engine_equals_plink2_glm(cohort, tmp_path):
    kw = dict(covar=cohort["covar"], chunk=16)
    ours = run_gwas(cohort["prefix"], cohort["pheno"], "height", tmp_path / "np.tsv", engine="numpy", **kw)
    ref = run_gwas(cohort["prefix"], cohort["pheno"], "height", tmp_path / "pl.tsv", engine="plink2", **kw)
    assert list(ours.ID) == list(ref.ID) and list(ours.A1) == list(ref.A1)
    for col in ("BETA", "SE", "Z", "P", "A1_FREQ"):
        assert_agrees_to_printed_digits(ours[col], ref[col])
    np.testing.assert_array_equal(ours.N, ref.N)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p, c: p.assign(height="tall"), "non-numeric value 'tall'"),
        (lambda p, c: p.assign(height=np.nan), "'height'.*0 usable values"),
        (lambda p, c: p.assign(IID="z" + p.IID, FID="z" + p.FID), "shares no sample"),
        (lambda p, c: p.rename(columns={"height": "weight"}), "no column 'height'"),
    ],
)
def test_run_gwas__bad_phenotypes_raise_input_error(cohort, tmp_path, edit, message):
    pheno = pd.read_csv(cohort["pheno"], sep="\t")
    edit(pheno, None).to_csv(tmp_path / "bad.tsv", sep="\t", index=False, na_rep="NA")
    with pytest.raises(InputError, match=message):
        run_gwas(cohort["prefix"], tmp_path / "bad.tsv", "height", tmp_path / "o.tsv", covar=cohort["covar"])
    assert not (tmp_path / "o.tsv").exists()
