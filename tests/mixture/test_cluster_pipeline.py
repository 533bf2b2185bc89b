"""Rule cluster's I/O layer: joining traits by ID and alleles, outputs equal a direct fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.genes.summary import summarise_genes
from phenomap.mixture.dpgmm import fit_dpgmm, load_mixture
from phenomap.mixture.pipeline import cluster_effects, join_trait_effects
from phenomap.mixture.typing import classify_components

N = 600
MIXTURE = dict(seed=3, n_restarts=3)


def effect_tables(rng, n: int = N) -> dict[str, pd.DataFrame]:
    """Two traits' tables over the same variants: a trait-1 cluster, a shared cluster and small nulls."""
    kind = rng.choice(3, size=n, p=[0.2, 0.2, 0.6])
    beta = np.where(kind[:, None] == 0, rng.normal(0, [1.0, 0.01], (n, 2)), 0.0)
    shared = rng.multivariate_normal([0, 0], [[0.5, 0.45], [0.45, 0.5]], n)
    beta = np.where(kind[:, None] == 1, shared, beta) + np.where(kind[:, None] == 2, 1e-6 * rng.normal(size=(n, 2)), 0)
    freq = rng.uniform(0.05, 0.5, n)
    base = pd.DataFrame({"CHROM": "1", "POS": np.arange(1, n + 1) * 100, "ID": [f"rs{i}" for i in range(n)],
                         "A1": "A", "A2": "G", "N": 1000})
    se = 1 / np.sqrt(1000 * 2 * freq * (1 - freq))  # a trait of unit SD
    return {f"t{j + 1}": base.assign(BETA_SHRUNK=beta[:, j], BETA=beta[:, j] * 2, SE=se) for j in range(2)}


def scale(table: pd.DataFrame) -> float:
    """The trait scale the clustering divides by: median SE * sqrt(N)."""
    return float(np.median(table.SE * np.sqrt(table.N)))


def write(tables: dict[str, pd.DataFrame], tmp_path) -> dict[str, str]:
    paths = {}
    for trait, table in tables.items():
        paths[trait] = str(tmp_path / f"{trait}.tsv")
        table.to_csv(paths[trait], sep="\t", index=False, na_rep="NA")
    return paths


def test_join_trait_effects__joins_by_id_flips_swapped_alleles_and_intersects(rng, tmp_path, caplog):
    tables = effect_tables(rng)
    t2 = tables["t2"].iloc[::-1].copy()  # other row order
    t2.loc[t2.ID == "rs5", ["A1", "A2"]] = ["G", "A"]  # swapped alleles: effect counts G
    t2.loc[t2.ID == "rs5", "BETA_SHRUNK"] *= -1
    t2.loc[t2.ID == "rs7", "BETA_SHRUNK"] = np.nan  # no effect on trait 2
    t2 = t2[t2.ID != "rs9"]  # absent from trait 2
    tables["t2"] = t2
    with caplog.at_level("INFO"):
        joined, scales = join_trait_effects(write(tables, tmp_path), "BETA_SHRUNK")
    expected_ids = [i for i in tables["t1"].ID if i not in ("rs7", "rs9")]
    assert list(joined.ID) == expected_ids  # first table's order, intersection
    t2_by_id = tables["t2"].set_index("ID").BETA_SHRUNK
    expected_t2 = t2_by_id.loc[expected_ids].to_numpy().copy()
    expected_t2[expected_ids.index("rs5")] *= -1  # back to counting A
    kept = tables["t2"].set_index("ID").loc[expected_ids]
    assert scales["t2"] == pytest.approx(scale(kept), rel=1e-12)  # over the clustered variants only
    np.testing.assert_allclose(joined.t2.to_numpy(), expected_t2 / scales["t2"], rtol=1e-12)
    assert "1 with A1/A2 swapped" in caplog.text


@pytest.mark.parametrize("change, message", [
    (lambda t: t.assign(POS=t.POS + 1), r"rs0 is 1:100 A/G in .* but 1:101"),
    (lambda t: t.assign(A1="C"), r"rs0 is .* A/G in .* C/G"),
    (lambda t: t.drop(columns="BETA_SHRUNK"), r"lacks column\(s\) \['BETA_SHRUNK'\]"),
    (lambda t: t.assign(BETA_SHRUNK=t.BETA_SHRUNK.astype(object).where(t.index != 3, "x")),
     r"'x' at data row 4 \(variant rs3\)"),
    (lambda t: pd.concat([t, t.iloc[:1]]), "rs0 appears twice"),
    (lambda t: t.assign(ID="other" + t.ID), "share no variant"),
])
def test_join_trait_effects__rejects_inconsistent_tables(rng, tmp_path, change, message):
    tables = effect_tables(rng, 50)
    tables["t2"] = change(tables["t2"])
    with pytest.raises(InputError, match=message):
        join_trait_effects(write(tables, tmp_path), "BETA_SHRUNK")


def test_cluster_effects__outputs_equal_a_direct_fit_and_typing(rng, tmp_path):
    tables = effect_tables(rng)
    out = {name: tmp_path / f"{name}.{ext}" for name, ext in [("labels", "tsv"), ("model", "json"), ("types", "tsv")]}
    cluster_effects(write(tables, tmp_path), "BETA_SHRUNK", out["labels"], out["model"], out["types"],
                    mixture=MIXTURE, ratio_threshold=4.0, angle_threshold=22.5)
    gamma = np.column_stack([tables[t].BETA_SHRUNK / scale(tables[t]) for t in ("t1", "t2")])
    direct = fit_dpgmm(gamma, **MIXTURE)
    labels = pd.read_csv(out["labels"], sep="\t")
    np.testing.assert_array_equal(labels.cluster, direct.labels)
    np.testing.assert_allclose(labels.posterior[direct.fitted], direct.responsibilities.max(axis=1), rtol=1e-9)
    assert labels.posterior[~direct.fitted].isna().all()
    np.testing.assert_allclose(labels[["t1", "t2"]].to_numpy(), gamma, rtol=1e-9)
    saved = load_mixture(out["model"])
    np.testing.assert_array_equal(saved.covariances, direct.covariances)
    model = json.loads(out["model"].read_text())
    assert model["traits"] == ["t1", "t2"]
    np.testing.assert_allclose(model["trait_scale"], [scale(tables["t1"]), scale(tables["t2"])], rtol=1e-12)
    types = pd.read_csv(out["types"], sep="\t")
    expected = classify_components(direct.covariances, trait_names=["t1", "t2"])
    assert list(types.type) == list(expected.type)
    # the planted trait-1 and shared clusters are found
    assert {("trait-specific", "t1"), ("shared-positive", "t1,t2")} <= set(zip(types.type, types.traits))


def test_cluster_effects__one_trait_types_every_cluster_as_specific_to_it(rng, tmp_path):
    tables = effect_tables(rng)
    out = [tmp_path / "l.tsv", tmp_path / "m.json", tmp_path / "t.tsv"]
    cluster_effects(write({"t1": tables["t1"]}, tmp_path), "BETA", *out, mixture=MIXTURE, ratio_threshold=4.0,
                    angle_threshold=22.5)
    fit = fit_dpgmm(tables["t1"].BETA.to_numpy() / scale(tables["t1"]), **MIXTURE)
    types = pd.read_csv(out[2], sep="\t")
    assert list(types.component) == list(range(1, fit.k_star + 1))
    assert (types.type == "trait-specific").all() and (types.traits == "t1").all()
    np.testing.assert_allclose(types.trace, fit.covariances[:, 0, 0], rtol=1e-9)


def test_cluster_effects__a_trait_without_non_null_effects_gives_empty_but_valid_outputs(rng, tmp_path, caplog):
    tables = effect_tables(rng)
    tables["t1"] = tables["t1"].assign(BETA_SHRUNK=0.0)
    paths = write(tables, tmp_path)
    out = [tmp_path / "l.tsv", tmp_path / "m.json", tmp_path / "t.tsv"]
    cluster_effects({"t1": paths["t1"]}, "BETA_SHRUNK", *out, mixture=MIXTURE, ratio_threshold=4.0,
                    angle_threshold=22.5)
    assert "every variant is in the null cluster" in caplog.text
    assert (pd.read_csv(out[0], sep="\t").cluster == 0).all()
    assert pd.read_csv(out[2], sep="\t").empty
    assert np.isnan(load_mixture(out[1]).null_variance).all()
    cluster_effects(paths, "BETA_SHRUNK", *out, mixture=MIXTURE, ratio_threshold=4.0, angle_threshold=22.5)
    fit = load_mixture(out[1])
    assert np.isnan(fit.null_variance[0]) and fit.null_variance[1] > 0  # trait 2 is still clustered
    types = pd.read_csv(out[2], sep="\t")
    assert "t1" not in ",".join(types.traits[types.type == "trait-specific"])


def test_cluster_effects__labels_types_and_candidates_do_not_depend_on_trait_units(rng, tmp_path):
    """Multiplying one trait's phenotype by 100 (its BETA, SE and shrunk effects) changes nothing downstream."""
    tables = effect_tables(rng)
    in_cm = dict(tables, t2=tables["t2"].assign(**{c: tables["t2"][c] * 100 for c in ("BETA_SHRUNK", "BETA", "SE")}))
    genes = pd.DataFrame({"gene_id": [f"g{k}" for k in range(30)], "symbol": [f"G{k}" for k in range(30)],
                          "chrom": "1", "start": np.arange(30) * 2000 + 1, "stop": np.arange(30) * 2000 + 2000})
    genes.to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    results = []
    for name, version in (("raw", tables), ("cm", in_cm)):
        folder = tmp_path / name
        folder.mkdir()
        out = [folder / "l.tsv", folder / "m.json", folder / "t.tsv"]
        cluster_effects(write(version, folder), "BETA_SHRUNK", *out, mixture=MIXTURE, ratio_threshold=4.0,
                        angle_threshold=22.5)
        summarise_genes(out[0], out[2], tmp_path / "genes.tsv", ["t1", "t2"], folder / "s.tsv", folder / "c.tsv")
        results.append([pd.read_csv(path, sep="\t") for path in (out[0], out[2], folder / "c.tsv")])
    (labels, types, candidates), (labels_cm, types_cm, candidates_cm) = results
    np.testing.assert_array_equal(labels.cluster, labels_cm.cluster)
    np.testing.assert_allclose(labels[["t1", "t2"]], labels_cm[["t1", "t2"]], rtol=1e-9)
    pd.testing.assert_frame_equal(types[["type", "traits"]], types_cm[["type", "traits"]])
    pd.testing.assert_frame_equal(candidates, candidates_cm, check_exact=False, rtol=1e-9)
    assert {"trait-specific", "shared-positive"} <= set(types.type) and len(candidates) > 0
