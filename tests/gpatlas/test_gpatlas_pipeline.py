"""The four G-P Atlas rule steps on small PLINK files: outputs, sample joins, wrong-loci errors, devices; the same
steps on arrays (fit_atlas) and the baselines on their own (fit_baselines) give the same numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from gpatlas_helpers import DOSAGE_LOCUS, STRONG_LOCUS, TINY, make_planted, one_thread, plink_tables

from phenomap.device import pick
from phenomap.errors import InputError
from phenomap.gpatlas import atlas_data, fit_atlas, fit_baselines
from phenomap.gpatlas.model import AtlasModel
from phenomap.gpatlas.pipeline import run_evaluation, run_geno_tier, run_importance, run_pheno_tier
from phenomap.gpatlas.train import Settings
from phenomap.io.plink import read_bim, write_bfile

SETTINGS = Settings(**{**TINY, "geno_epochs": 5})


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"FID": str, "IID": str, "ID": str, "ID_A": str, "ID_B": str})


def cohort_arrays() -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Genotypes (NaN = missing), the phenotype table (10 genotyped samples lack a row), .fam and .bim."""
    data = make_planted(n=160)
    G = np.where(data.states < 0, np.nan, data.states).astype(np.float32)
    fam, bim = plink_tables(*G.shape)
    pheno = pd.DataFrame(data.phenotypes, columns=list(data.traits))
    pheno.insert(0, "IID", [f"s{i}" for i in range(len(G))])
    pheno.insert(0, "FID", pheno.IID)
    return G, pheno.iloc[5:155].reset_index(drop=True), fam, bim


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpatlas")
    G, pheno, fam, bim = cohort_arrays()
    write_bfile(tmp / "geno", fam, bim, iter([G]))
    pheno.to_csv(tmp / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    out = {name: str(tmp / name) for name in ("split.tsv", "pheno.pt", "pheno_curve.tsv", "model.pt", "geno_curve.tsv",
                                              "predictions.tsv", "metrics.tsv", "epistasis.tsv", "importance.tsv",
                                              "interactions.tsv", "pairs.tsv")}
    common = dict(traits=None, threads=1)
    prefix, pheno_file = str(tmp / "geno"), str(tmp / "pheno.tsv")
    run_pheno_tier(prefix, pheno_file, out_split=out["split.tsv"], out_model=out["pheno.pt"],
                   out_curve=out["pheno_curve.tsv"], settings=SETTINGS, seed=7, test_fraction=0.25, device="cpu", **common)
    run_geno_tier(prefix, pheno_file, split=out["split.tsv"], pheno_model=out["pheno.pt"], out_model=out["model.pt"],
                  out_curve=out["geno_curve.tsv"], settings=SETTINGS, seed=7, device="cpu", **common)
    run_evaluation(prefix, pheno_file, split=out["split.tsv"], model=out["model.pt"],
                   out_predictions=out["predictions.tsv"], out_metrics=out["metrics.tsv"],
                   out_epistasis=out["epistasis.tsv"], lasso_alphas=10, lasso_folds=3, seed=7,
                   baselines=("ridge", "lasso", "pairwise"), **common)
    run_importance(prefix, pheno_file, split=out["split.tsv"], model=out["model.pt"],
                   out_importance=out["importance.tsv"], out_interactions=out["interactions.tsv"],
                   out_pairs=out["pairs.tsv"], top_pairs=5, device="cpu", **common)
    return out, tmp, bim


def test_run_pheno_tier__split_covers_the_shared_samples_only(outputs):
    out, _, _ = outputs
    split = read(out["split.tsv"])
    assert list(split.IID) == [f"s{i}" for i in range(5, 155)]
    assert (split.split == "test").sum() == round(150 * 0.25)
    assert read(out["pheno_curve.tsv"]).epoch.tolist() == list(range(1, SETTINGS.pheno_epochs + 1))
    assert read(out["geno_curve.tsv"]).epoch.tolist() == list(range(0, SETTINGS.geno_epochs + 1))


def test_run_evaluation__predictions_and_metrics_with_baselines(outputs):
    out, _, _ = outputs
    pred, metrics = read(out["predictions.tsv"]), read(out["metrics.tsv"])
    assert len(pred) == 150 * 3
    baselines = ["ridge", "lasso", "pairwise"]
    assert list(pred.columns) == ["FID", "IID", "split", "trait", "observed", "pheno_pred", "geno_pred", *baselines]
    assert pred[["pheno_pred", "geno_pred", *baselines]].notna().all().all()
    assert set(metrics.model) == {"pheno->pheno", "geno->pheno", *baselines}
    test = pred[pred.split == "test"]
    for trait in ("trait1", "trait2", "trait3"):  # metrics are computed from the written test predictions
        rows = test[(test.trait == trait) & test.observed.notna()]
        r2 = 1 - np.sum((rows.geno_pred - rows.observed) ** 2) / np.sum((rows.observed - rows.observed.mean()) ** 2)
        got = metrics[(metrics.model == "geno->pheno") & (metrics.trait == trait)]
        assert got.r2.item() == pytest.approx(r2, rel=1e-6)
        assert got.r2.item() > 0.3


def test_run_importance__planted_loci_rank_first_and_tables_are_complete(outputs):
    out, _, bim = outputs
    imp = read(out["importance.tsv"])
    assert set(imp.ID[:2]) == set(bim.ID[[STRONG_LOCUS, DOSAGE_LOCUS]])
    assert imp["rank"].tolist() == list(range(1, len(bim) + 1))
    assert imp.importance.is_monotonic_decreasing
    assert {"importance_trait1", "importance_trait2", "importance_trait3", "anova_log10p"} <= set(imp.columns)
    assert imp.loc[imp.ID == bim.ID[STRONG_LOCUS], "best_state"].item() == 2
    inter = read(out["interactions.tsv"])
    assert sorted(inter.ID) == sorted(bim.ID) and inter.vida.notna().all()
    pairs = read(out["pairs.tsv"])
    top = {frozenset(p) for p in itertools.combinations(imp.ID[:5], 2)}
    listed = {frozenset(p) for p in zip(pairs.ID_A, pairs.ID_B)}
    # every pair of the 5 most important loci, and the pairs of the path's product terms
    assert listed == top | {frozenset(p) for p in zip(pairs.ID_A[pairs.in_path], pairs.ID_B[pairs.in_path])}
    assert top <= listed and len(listed) == len(pairs)


def test_run_evaluation__model_applied_to_other_loci_raises(outputs, tmp_path):
    out, tmp, _ = outputs
    other = tmp_path / "other"
    bim = read_bim(tmp / "geno")
    bim.loc[4, "ID"] = "rs_renamed"
    for ext in ("bed", "fam"):
        (tmp_path / f"other.{ext}").write_bytes((tmp / f"geno.{ext}").read_bytes())
    bim[["CHROM", "ID", "CM", "POS", "A1", "A2"]].to_csv(f"{other}.bim", sep="\t", header=False, index=False)
    with pytest.raises(InputError, match=r"locus 5 is \('rs_renamed'"):
        run_evaluation(str(other), str(tmp / "pheno.tsv"), traits=None, split=out["split.tsv"], model=out["model.pt"],
                       out_predictions=str(tmp_path / "p.tsv"), out_metrics=str(tmp_path / "m.tsv"),
                       out_epistasis=str(tmp_path / "e.tsv"))
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_pick__cuda_without_gpu_raises_and_auto_falls_back_to_cpu():
    with pytest.raises(InputError, match="cuda was requested but no CUDA GPU"):
        pick("cuda")
    assert pick("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="'tpu' is not one of"):
        pick("tpu")


def assert_tables_equal(written: pd.DataFrame, computed: pd.DataFrame):
    """A table as written (%.10g) and as computed in memory hold the same values."""
    assert list(written.columns) == list(computed.columns)
    for column in written.columns:
        if pd.api.types.is_float_dtype(computed[column]):
            np.testing.assert_allclose(written[column], computed[column], rtol=1e-9, atol=1e-12, err_msg=column)
        else:
            np.testing.assert_array_equal(written[column].astype(str), computed[column].astype(str), err_msg=column)


@pytest.fixture(scope="module")
def from_arrays():
    G, pheno, fam, bim = cohort_arrays()
    with one_thread():
        return fit_atlas(G, pheno, samples=fam[["FID", "IID"]], loci=bim, settings=SETTINGS, seed=7,
                         test_fraction=0.25, top_pairs=5, device="cpu")


def test_fit_atlas__arrays_give_the_workflows_model_predictions_and_importance(outputs, from_arrays):
    out, _, _ = outputs
    result = from_arrays
    assert_tables_equal(read(out["split.tsv"]), result.split)
    saved = AtlasModel.load(out["model.pt"])
    for name, value in saved.geno.state_dict().items():
        torch.testing.assert_close(result.model.geno.state_dict()[name], value, rtol=0, atol=0, msg=name)
    for name, (written, computed) in {
        "predictions.tsv": (result.predictions, None), "metrics.tsv": (result.metrics, None),
        "epistasis.tsv": (result.epistasis, None),
        "importance.tsv": (result.importance, None), "interactions.tsv": (result.interactions, None),
        "pairs.tsv": (result.pairs, None), "geno_curve.tsv": (result.geno_curve.drop(columns="seconds"), "seconds"),
    }.items():
        table = read(out[name])
        assert_tables_equal(table.drop(columns=computed) if computed else table, written)


def test_fit_baselines__on_arrays_without_a_network_equal_the_workflows_baselines(outputs, from_arrays):
    out, _, _ = outputs
    G, pheno, fam, bim = cohort_arrays()
    data = atlas_data(G, pheno, samples=fam[["FID", "IID"]], loci=bim)
    is_test = from_arrays.is_test
    alone = fit_baselines(data, is_test, lasso_alphas=10, lasso_folds=3, seed=7 + 2)
    written = read(out["predictions.tsv"])
    for name in ("ridge", "lasso", "pairwise"):
        # the workflow's lasso is the network's linear path: the same fit, stored in float32
        tolerance = {"rtol": 1e-9, "atol": 1e-12} if name == "ridge" else {"rtol": 1e-5, "atol": 1e-5}
        np.testing.assert_allclose(alone.predictions[name].ravel(), written[name], **tolerance, err_msg=name)
    metrics = read(out["metrics.tsv"])
    for name in ("ridge", "lasso", "pairwise"):
        np.testing.assert_allclose(alone.metrics[alone.metrics.model == name].r2,
                                   metrics[metrics.model == name].r2, atol=1e-6, err_msg=name)


def test_fit_atlas__bad_vida_setting_and_split_raise():
    G, pheno, fam, bim = cohort_arrays()
    with pytest.raises(InputError, match="vida: unknown setting 'threshold'"):
        fit_atlas(G, pheno, samples=fam[["FID", "IID"]], vida={"threshold": 2})
    with pytest.raises(InputError, match=r"is_test: expected \(160,\) booleans"):
        fit_atlas(G, pheno, samples=fam[["FID", "IID"]], is_test=np.zeros(150, bool))
