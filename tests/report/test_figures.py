"""Figure rules' I/O layer: the stage outputs read back and drawn, one file per figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.image import imread

from phenomap.mixture.dpgmm import fit_dpgmm, save_mixture
from phenomap.mixture.typing import classify_components
from phenomap.report import figures

TRAITS = ["a", "b", "c"]


def test_cluster_figures__one_scatter_per_trait_pair_and_none_for_one_trait(rng, tmp_path, monkeypatch):
    gamma = rng.normal(0, 1, (400, 3)) * rng.choice([1e-6, 1.0], size=(400, 1), p=[0.5, 0.5])
    fit = fit_dpgmm(gamma, seed=1, n_restarts=2)
    labels = pd.DataFrame(gamma, columns=TRAITS).assign(ID=[f"v{i}" for i in range(400)], cluster=fit.labels)
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    save_mixture(fit, tmp_path / "model.json")
    classify_components(fit.covariances, trait_names=TRAITS).to_csv(tmp_path / "types.tsv", sep="\t", index=False)
    drawn = []
    original = figures.effect_scatter
    monkeypatch.setattr(figures, "effect_scatter", lambda *args, **kw: drawn.append(args[1]) or original(*args, **kw))
    paths = figures.cluster_figures(tmp_path / "labels.tsv", tmp_path / "model.json", tmp_path / "types.tsv",
                                    TRAITS, tmp_path / "out")
    assert [p.name for p in paths] == ["a__b.png", "a__c.png", "b__c.png"]
    assert drawn == [("a", "b"), ("a", "c"), ("b", "c")]
    assert all(imread(p).ndim == 3 for p in paths)
    assert figures.cluster_figures(tmp_path / "labels.tsv", tmp_path / "model.json", tmp_path / "types.tsv",
                                   ["a"], tmp_path / "one") == []
    assert (tmp_path / "one").is_dir()


def test_qq_figure__reads_every_traits_p_values(tmp_path, monkeypatch):
    p = {"a": [0.5, 0.01, np.nan], "b": [1.0, 1e-8]}
    paths = {}
    for trait, values in p.items():
        paths[trait] = tmp_path / f"{trait}.tsv"
        pd.DataFrame({"gene": [f"g{i}" for i in range(len(values))], "p": values}).to_csv(
            paths[trait], sep="\t", index=False, na_rep="NA")
    seen = {}
    monkeypatch.setattr(figures, "qq_plot", lambda pvalues, out, title: seen.update(pvalues))
    figures.qq_figure(paths, tmp_path / "qq.png")
    assert list(seen) == ["a", "b"]
    np.testing.assert_array_equal(seen["a"], [0.5, 0.01, np.nan])
    np.testing.assert_array_equal(seen["b"], [1.0, 1e-8])
