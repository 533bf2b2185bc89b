"""NSGA-II search: sorting and hypervolume against brute force, resume, cache, constraints, planted QTL."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.gpsearch.nodes import Pipeline
from phenomap.gpsearch.nsga import (
    SearchSettings,
    crowding_distances,
    hypervolume,
    pareto_ranks,
    run_search,
    select_survivors,
)
from phenomap.gpsearch.snpdb import build_snpdb
from phenomap_testing import simulate_two_qtl

ADDITIVE_QTL, RECESSIVE_QTL = "snp30", "snp150"


@cache
def planted():
    """The two-QTL simulation and its SNP database (bins of 10 SNPs)."""
    G, y, train, bim = simulate_two_qtl()
    return G, y, train, build_snpdb(G, y, train, bim, bin_size=10)


#: Small and fast: cheap selectors and regressors, a handful of generations.
SMALL = SearchSettings(population=8, generations=4, min_snps=2, max_snps=8, seed=5,
                       selectors=("variance", "percentile", "fwe"),
                       regressors=("linear", "elastic_net", "decision_tree"))


def search(settings=SMALL, **kwargs):
    G, y, train, snpdb = planted()
    return run_search(G, y, train, snpdb, settings, progress=False, **kwargs)


def brute_force_ranks(points):
    """Peel off non-dominated points (maximisation) one front at a time."""
    ranks = np.full(len(points), -1)
    rank = 0
    while (ranks < 0).any():
        left = np.flatnonzero(ranks < 0)
        for i in left:
            dominated = any((points[j] >= points[i]).all() and (points[j] > points[i]).any() for j in left)
            if not dominated:
                ranks[i] = rank
        rank += 1
    return ranks


def brute_force_hypervolume(points, reference):
    """Sum the cells of the grid of all coordinates that some point dominates."""
    xs = np.unique(np.r_[reference[0], points[:, 0]])
    ys = np.unique(np.r_[reference[1], points[:, 1]])
    area = 0.0
    for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
        for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
            if ((points[:, 0] >= x1) & (points[:, 1] >= y1)).any():
                area += (x1 - x0) * (y1 - y0)
    return area


def test_ranks_and_hypervolume_equal_brute_force(rng):
    for _ in range(5):
        points = np.round(rng.random((40, 2)), 1)  # rounding makes ties and duplicates
        np.testing.assert_array_equal(pareto_ranks(points), brute_force_ranks(points))
        assert hypervolume(points) == pytest.approx(brute_force_hypervolume(points, (0.0, 0.0)), abs=1e-12)
        assert hypervolume(points, (0.2, 0.3)) == pytest.approx(
            brute_force_hypervolume(points[(points > [0.2, 0.3]).all(axis=1)], (0.2, 0.3)), abs=1e-12)


def test_survivors_are_whole_fronts_then_the_least_crowded(rng):
    points = rng.random((30, 2))
    ranks, crowding = pareto_ranks(points), crowding_distances(points)
    chosen = select_survivors(points, 12)
    last = ranks[chosen].max()
    assert set(np.flatnonzero(ranks < last)) <= set(chosen)
    left_out = np.setdiff1d(np.flatnonzero(ranks == last), chosen)
    assert crowding[np.intersect1d(chosen, np.flatnonzero(ranks == last))].min() >= crowding[left_out].max()
    front = np.flatnonzero(ranks == 0)
    ends = front[[points[front, 0].argmin(), points[front, 0].argmax()]]
    assert np.isinf(crowding[ends]).all()


def front_of(result):
    return [(m.json, m.evaluation.r2, m.evaluation.kept) for m in result.pareto]


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    whole = search(checkpoint=tmp_path / "whole.json")
    interrupted = tmp_path / "interrupted.json"
    search(replace(SMALL, generations=2), checkpoint=interrupted)  # "killed" after generation 2
    resumed = search(replace(SMALL, n_jobs=2), checkpoint=interrupted)  # n_jobs is not fingerprinted
    assert front_of(resumed) == front_of(whole)
    np.testing.assert_array_equal(resumed.hypervolume, whole.hypervolume)
    pd.testing.assert_frame_equal(resumed.history, whole.history)
    assert len(whole.hypervolume) == SMALL.generations + 1
    assert resumed.n_evaluations == whole.n_evaluations == SMALL.population * (1 + 2 * SMALL.generations)


def test_checkpoint_with_other_settings_raises_naming_the_key(tmp_path):
    path = tmp_path / "run.json"
    search(replace(SMALL, generations=1), checkpoint=path)
    with pytest.raises(InputError, match=r"max_snps: checkpoint 8, now 9"):
        search(replace(SMALL, max_snps=9), checkpoint=path)
    G, y, train, snpdb = planted()
    with pytest.raises(InputError, match=r"\(data: checkpoint"):
        run_search(G, y[::-1].copy(), train, snpdb, SMALL, checkpoint=path, progress=False)


def test_stale_checkpoint_is_replaced_when_asked_and_the_run_equals_a_fresh_one(tmp_path):
    path = tmp_path / "run.json"
    search(replace(SMALL, generations=1, max_snps=9), checkpoint=path)
    restarted = search(SMALL, checkpoint=path, restart_stale=True)
    fresh = search(SMALL)
    pd.testing.assert_frame_equal(restarted.history, fresh.history)
    assert json.loads(path.read_text())["generation"] == SMALL.generations


def test_no_pipeline_json_is_fitted_twice(monkeypatch):
    fitted = Counter()
    original = Pipeline.fit

    def counting_fit(self, G, y):
        fitted[self.to_json()] += 1
        return original(self, G, y)

    monkeypatch.setattr(Pipeline, "fit", counting_fit)
    result = search(replace(SMALL, generations=6))  # n_jobs=1: fits run in this process
    assert max(fitted.values()) == 1
    assert sum(fitted.values()) == result.n_fits < result.n_evaluations  # identical offspring were not refitted


def test_every_generation_respects_constraints_and_has_distinct_snp_sets(tmp_path):
    settings = replace(SMALL, min_snps=3, max_snps=5)
    path = tmp_path / "run.json"
    for generation in range(settings.generations + 1):  # extend the run one generation at a time
        result = search(replace(settings, generations=generation), checkpoint=path)
        kept_sets = [frozenset(m.evaluation.kept) for m in result.population]
        assert len(set(kept_sets)) == len(kept_sets) <= settings.population
        assert all(3 <= len(m.pipeline.snps) <= 5 for m in result.population)
    history = result.history
    assert history.n_input_snps.between(3, 5).all()  # every offspring of every generation
    assert (history.n_snps <= history.n_input_snps).all()
    assert (history.fate == "duplicate").any()
    assert history.loc[history.fate.isin(["failed", "negative"]), "r2"].fillna(-1).lt(0).all()


def test_random_mode_keeps_an_archive_so_its_hypervolume_never_falls():
    result = search(replace(SMALL, mode="random"))
    assert (np.diff(result.hypervolume) >= 0).all()
    assert result.n_evaluations == SMALL.population * (1 + 2 * SMALL.generations)


def test_basic_mode_starts_from_additive_encodings():
    result = search(replace(SMALL, mode="basic", node_mutation_prob=0.0))
    assert {s.encoding for m in result.population for s in m.pipeline.snps} == {"additive"}


def test_starbase_finds_both_planted_qtl_the_recessive_one_as_recessive():
    _, _, _, snpdb = planted()
    assert snpdb.set_index("ID").best_encoding[RECESSIVE_QTL] == "recessive"
    result = search(replace(SMALL, generations=6))
    on_front = {s.id: s.encoding for m in result.pareto for s in m.kept_snps}
    assert {ADDITIVE_QTL, RECESSIVE_QTL} <= set(on_front)
    assert on_front[RECESSIVE_QTL] == "recessive"
    assert result.pareto[0].evaluation.r2 > 0.5  # both QTL explain most of the variance


def test_bad_settings_raise_input_error():
    with pytest.raises(InputError, match="unknown search mode 'smart'"):
        SearchSettings(mode="smart")
    with pytest.raises(InputError, match="min_snps <= max_snps"):
        SearchSettings(min_snps=10, max_snps=5)
    with pytest.raises(InputError, match="regressors must be a non-empty subset"):
        SearchSettings(regressors=("xgboost",))
