"""Search summaries: consistency score by hand, QTL windows, importance against scikit-learn, files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from phenomap.gpsearch.consistency import (
    call_qtl,
    consistency_scores,
    pareto_table,
    permutation_importances,
    write_consistency,
    write_replicate_summary,
)
from phenomap.gpsearch.nodes import LDPruneNode, Pipeline, RegressorNode, SelectorNode, SnpNode
from phenomap.gpsearch.nsga import SearchSettings, run_search
from phenomap.gpsearch.snpdb import build_snpdb
from phenomap.io.tables import read_tsv
from phenomap_testing import simulate_two_qtl


def importance_rows(replicate, pipeline, snps):
    """Rows of one Pareto pipeline: snps = [(ID, importance, encoding)]; SNPs sit on chr1 at 1 kb x index."""
    return [{"replicate": replicate, "pipeline_id": pipeline, "ID": i, "CHROM": "1", "POS": 1000 * ord(i[0]),
             "encoding": e, "importance": v, "importance_sd": 0.0} for i, v, e in snps]


def test_consistency_score_equals_hand_computation():
    table = pd.DataFrame(
        importance_rows(0, "p1", [("A", 0.30, "recessive"), ("B", 0.10, "additive")])
        + importance_rows(0, "p2", [("A", 0.20, "recessive")])
        + importance_rows(0, "p3", [("B", 0.05, "additive"), ("C", 0.01, "additive")])
        + importance_rows(1, "q1", [("A", 0.10, "additive"), ("C", 0.40, "dominant")])
        + importance_rows(1, "q2", [("C", 0.20, "dominant")]))
    scores = consistency_scores(table).set_index("ID")
    # replicate 0 (3 pipelines): A rank 1, 1 in 2/3; B ranks 2, 1 in 2/3; C rank 2 in 1/3
    # replicate 1 (2 pipelines): A rank 2 in 1/2; C ranks 1, 1 in 2/2; B absent (score 0)
    expected = {"A": (2 / 3 / 1 + 1 / 2 / 2) / 2, "B": (2 / 3 / 1.5 + 0) / 2, "C": (1 / 3 / 2 + 1 / 1) / 2}
    for snp, value in expected.items():
        assert scores.score[snp] == pytest.approx(value, rel=1e-12)
    assert list(scores.index) == ["C", "A", "B"]
    assert scores.n_replicates.to_dict() == {"C": 2, "A": 2, "B": 1}
    assert scores.mean_rank["B"] == pytest.approx(1.5) and scores.share["C"] == pytest.approx((1 / 3 + 1) / 2)
    assert scores.encoding.to_dict() == {"C": "dominant", "A": "recessive", "B": "additive"}


def test_tied_importances_share_their_mean_rank():
    table = pd.DataFrame(importance_rows(0, "p", [("A", 0.2, "additive"), ("B", 0.2, "additive"),
                                                  ("C", 0.1, "additive")]))
    scores = consistency_scores(table).set_index("ID")
    assert scores.mean_rank.to_dict() == {"A": 1.5, "B": 1.5, "C": 3.0}


def test_qtl_calls_merge_snps_within_the_window_and_keep_peaks_beyond():
    scores = pd.DataFrame({
        "ID": ["a", "b", "c", "d", "e", "f"],
        "CHROM": ["1", "1", "1", "1", "2", "1"],
        "POS": [5_000_000, 5_900_000, 4_000_000, 6_200_000, 5_100_000, 3_999_999],
        "score": [0.9, 0.8, 0.3, 0.7, 0.6, 0.5],
        "encoding": ["additive", "dominant", "additive", "recessive", "pager", "additive"],
    })
    qtl = call_qtl(scores, window=1_000_000)
    # a absorbs b (0.9 Mb away) and c (exactly 1 Mb); d is 1.2 Mb from a, e is on chr2, f is 1,000,001 bp away
    assert qtl.ID.tolist() == ["a", "d", "e", "f"]
    assert qtl.n_snps.tolist() == [3, 1, 1, 1]
    assert (qtl.start[0], qtl.end[0]) == (4_000_000, 5_900_000)
    assert qtl.encoding.tolist() == ["additive", "recessive", "pager", "additive"]
    assert call_qtl(scores, top=2).ID.tolist() == ["a"]  # only a and b are among the top 2


def test_importance_of_kept_snps_equals_sklearn_on_the_whole_pipeline(rng):
    n = 400
    G = rng.binomial(2, 0.4, size=(n, 5)).astype(float)
    G[:, 1] = G[:, 0]  # a copy of SNP 0 that LD pruning drops
    y = G[:, 0] + 0.5 * (G[:, 2] == 2) + 0.3 * G[:, 3] + rng.normal(size=n)
    train = np.arange(n) < 250
    snps = tuple(SnpNode(f"s{j}", j, "1", 1000 * (j + 1), e, r2)
                 for j, (e, r2) in enumerate(zip(["additive", "additive", "recessive", "additive", "dominant"],
                                                 [0.3, 0.2, 0.1, 0.05, 0.01], strict=True)))
    pipe = Pipeline(snps, LDPruneNode(params={"r2_threshold": 0.8, "max_distance": 1_000_000}),
                    SelectorNode("variance", {"threshold": 0.0}), RegressorNode("linear", {}))
    ours = permutation_importances(pipe, G[train], y[train], G[~train], y[~train], n_repeats=7, seed=11)
    assert "s1" not in set(ours.ID)
    X_val = pipe.features(G[~train])
    whole = permutation_importance(pipe.model_, X_val, y[~train], scoring="r2", n_repeats=7, random_state=11)
    by_column = pd.Series(whole.importances_mean, index=X_val.columns)
    np.testing.assert_allclose(ours.importance, by_column[ours.ID], rtol=1e-9, atol=1e-12)
    assert by_column["s1"] == 0.0
    assert ours.set_index("ID").importance.idxmax() == "s0"


def test_two_replicates_call_both_planted_qtl_the_recessive_one_as_recessive(tmp_path):
    G, y, train, bim = simulate_two_qtl()
    snpdb = build_snpdb(G, y, train, bim, bin_size=10)
    settings = SearchSettings(population=8, generations=5, min_snps=2, max_snps=8,
                              selectors=("variance", "percentile", "fwe"),
                              regressors=("linear", "elastic_net", "decision_tree"))
    paths = []
    for seed in (1, 2):
        result = run_search(G, y, train, snpdb, replace(settings, seed=seed), progress=False)
        out = tmp_path / f"replicate{seed}"
        write_replicate_summary(result, G, y, train, out, n_repeats=5, seed=seed)
        front = read_tsv(out / "pareto.tsv")
        pd.testing.assert_frame_equal(front, pareto_table(result), check_dtype=False)
        assert set(front.pipeline_id) <= set(json.loads((out / "pipelines.json").read_text()))
        np.testing.assert_allclose(read_tsv(out / "hypervolume.tsv").hypervolume, result.hypervolume, rtol=1e-9)
        paths.append(out / "importance.tsv")
    write_consistency(paths, tmp_path / "snp_consistency.tsv", tmp_path / "qtl.tsv", top=10)
    qtl = read_tsv(tmp_path / "qtl.tsv")
    assert set(qtl.ID[:2]) == {"snp30", "snp150"}
    assert qtl.set_index("ID").encoding["snp150"] == "recessive"
    scores = read_tsv(tmp_path / "snp_consistency.tsv")
    assert scores.score.is_monotonic_decreasing and scores.score.between(0, 1).all()


def test_pareto_importances__an_empty_front_gives_an_empty_table():
    from types import SimpleNamespace

    from phenomap.gpsearch.consistency import IMPORTANCE_COLUMNS, pareto_importances

    empty = SimpleNamespace(pareto=[])
    table = pareto_importances(empty, np.zeros((4, 2)), np.arange(4.0), np.array([True, True, False, False]))
    assert table.empty and list(table.columns) == list(IMPORTANCE_COLUMNS)
