"""Simulated null of the gene test on shrunk effects: calibration, power, brute force, batching, errors; its
Cauchy combination with the sum z^2 test."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from phenomap.errors import InputError
from phenomap.genes.enrichment import gene_enrichment, gene_test
from phenomap.genes.null import simulated_pvalues
from phenomap.gwas.summary import ldsc_intercept
from phenomap.shrinkage.apply import nn_shrink, nn_shrink_mean
from phenomap.shrinkage.features import feature_names
from phenomap.shrinkage.model import Ensemble, EnsembleSpec, build_network

from phenomap.ld.matrix import correlation
from phenomap.sim.haplotypes import ar1_genotypes


def gene_table(rows) -> pd.DataFrame:
    """Genes from (symbol, chrom, start, stop) tuples, in the form read_gene_table returns."""
    table = pd.DataFrame(rows, columns=["symbol", "chrom", "start", "stop"])
    table.insert(0, "gene_id", [str(100 + i) for i in range(len(table))])
    return table.astype({"start": "int64", "stop": "int64"})


def soft_threshold(beta_hat, se, r, n):
    """A smooth nonlinear shrinkage, like the network's: small z pulled to 0 (z^3 / (z^2 + 4)), large z kept,
    all scaled down in blocks with little signal (by min(1, mean z^2))."""
    z = beta_hat / se
    scale = np.minimum(1.0, np.mean(z**2, axis=-1, keepdims=True))
    return z**3 / (z**2 + 4.0) * se * scale


def block(rng, m: int = 24, n: int = 400):
    """One LD block: ids, r (m, m), SE (m,) and three genes of 6-8 variants."""
    r = correlation(ar1_genotypes(rng, n, m, rho=0.85)).astype(np.float64)
    ids = np.array([f"v{j}" for j in range(m)])
    se = rng.uniform(0.02, 0.05, m)
    genes = gene_table([("A", "1", 100, 800), ("B", "1", 900, 1600), ("C", "1", 1700, 2400)])
    return ids, r, se, genes


def gwas(rng, r, se, beta=None) -> np.ndarray:
    """Marginal effects beta_hat ~ N(S R S^-1 beta, S R S) of one GWAS (null when beta is None)."""
    w, V = np.linalg.eigh(r)
    z = V @ (np.sqrt(np.clip(w, 0, None)) * rng.standard_normal(len(se)))
    if beta is not None:
        z = z + r @ (beta / se)
    return z * se


def effects_of(ids, se, beta_hat, shrink=soft_threshold, r=None):
    return pd.DataFrame({"ID": ids, "CHROM": "1", "POS": 100 * (np.arange(len(ids)) + 1),
                         "beta": shrink(beta_hat[None], se, r, 400)[0], "se": se, "n": 400})


def test_simulated_null__pvalues_uniform_under_null_gwas(rng):
    ids, r, se, genes = block(rng)
    p = []
    for _ in range(150):
        effects = effects_of(ids, se, gwas(rng, r, se))
        result = gene_test(effects, genes, {"b": (ids, r)}, shrinker=soft_threshold, n_draws=400, seed=7)
        p += result.p.tolist()
    p = np.array(p)
    assert len(p) == 450
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    for alpha in (0.05, 0.2):  # binomial 99.9% band around alpha * 450
        lo, hi = stats.binom.ppf([0.0005, 0.9995], len(p), alpha)
        assert lo <= np.sum(p <= alpha) <= hi


def test_simulated_null__epsilon_null_is_miscalibrated_on_shrunk_effects(rng):
    """The motivating failure: eps = the variance of the shrunk effects themselves is not their null."""
    ids, r, se, genes = block(rng)
    p_eps, p_sim = [], []
    for _ in range(60):
        effects = effects_of(ids, se, gwas(rng, r, se))
        eps = max(float(np.var(effects.beta)), 1e-12)
        p_eps += gene_test(effects, genes, {"b": (ids, r)}, eps=eps).p.tolist()
        p_sim += gene_test(effects, genes, {"b": (ids, r)}, shrinker=soft_threshold, n_draws=200, seed=1).p.tolist()
    assert stats.kstest(p_eps, "uniform").pvalue < 1e-3 < stats.kstest(p_sim, "uniform").pvalue


def test_simulated_null__planted_gene_rejects(rng):
    ids, r, se, genes = block(rng)
    beta = np.zeros(len(ids))
    beta[[2, 4]] = 5 * se[[2, 4]]  # two causal variants of gene A, z ~ 5 each
    effects = effects_of(ids, se, gwas(rng, r, se, beta))
    result = gene_test(effects, genes, {"b": (ids, r)}, shrinker=soft_threshold, n_draws=1000, seed=3).set_index("gene")
    assert result.p["A"] < 1e-3 and result.p_method["A"] == "mc_tail"
    assert result.p.idxmin() == "A"


def test_simulated_null__matches_brute_force_monte_carlo_on_a_tiny_gene(rng):
    """Three variants, two genes of two: p against 400k direct draws of T (numpy, no gene_test code)."""
    r = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]])
    se = np.array([0.1, 0.2, 0.15])
    ids = np.array(["a", "b", "c"])
    genes = gene_table([("AB", "1", 100, 200), ("BC", "1", 200, 300)])
    L = np.linalg.cholesky(r)
    draws = soft_threshold((rng.standard_normal((400_000, 3)) @ L.T) * se, se, r, 400) ** 2
    reference = {"AB": draws[:, :2].sum(1), "BC": draws[:, 1:].sum(1)}
    for target in (0.2, 0.02, 2e-3):  # bulk (Monte Carlo count) and tail (fitted) p-values
        x = {g: np.quantile(t, 1 - target) for g, t in reference.items()}
        beta = np.array([np.sqrt(x["AB"] / 2), np.sqrt(x["AB"] / 2), 0.0])
        beta[2] = np.sqrt(x["BC"] - beta[1] ** 2)
        effects = pd.DataFrame({"ID": ids, "CHROM": "1", "POS": [100, 200, 300], "beta": beta, "se": se, "n": 400})
        result = gene_test(effects, genes, {"b": (ids, r)}, shrinker=soft_threshold, n_draws=2000, seed=5)
        for row in result.itertuples():
            truth = np.mean(reference[row.gene] >= row.stat)
            if row.p_method == "mc":
                assert abs(row.p - truth) < 4 * np.sqrt(truth * (1 - truth) / 2000) + 1 / 2001
            else:
                assert truth / 2 < row.p < 2 * truth


def test_simulated_pvalues__count_and_tail():
    rng = np.random.default_rng(0)
    null = rng.exponential(size=(40, 999))  # 40 genes with exponential nulls, P(T >= x) = exp(-x)
    bulk = np.quantile(null[0], 0.5)
    p, method = simulated_pvalues(np.r_[bulk, np.full(39, 7.0)], null)
    assert p[0] == pytest.approx((1 + np.sum(null[0] >= bulk)) / 1000) and method[0] == "mc"
    assert set(method[1:]) == {"mc_tail"}
    # a decade beyond the draws, the fitted tail is right in the median, within a factor ~3 for most genes
    ratio = p[1:] / np.exp(-7.0)
    assert 1 / 1.5 < np.median(ratio) < 1.5
    assert 1 / 3 < np.quantile(ratio, 0.1) and np.quantile(ratio, 0.9) < 3


def tiny_ensemble(top_t: int = 3) -> Ensemble:
    torch.manual_seed(0)
    names = feature_names(top_t)
    spec = EnsembleSpec("2L", top_t, names, [0.0] * len(names), [1.0] * len(names), 0.0, [0, 1])
    networks = [build_network(len(names), "2L", 0.0).eval() for _ in spec.seeds]
    return Ensemble(spec, networks, [build_network(len(names), "2L", 0.0).eval() for _ in spec.seeds])


def test_nn_shrink__batched_draws_equal_one_at_a_time(rng):
    ids, r, se, _ = block(rng, m=12)
    ensemble = tiny_ensemble()
    beta_hat = np.stack([gwas(rng, r, se) for _ in range(5)])
    mean, sd = nn_shrink(beta_hat, se, r, 400, ensemble)
    for b in range(5):
        one_mean, one_sd = nn_shrink(beta_hat[b], se, r, 400, ensemble)
        np.testing.assert_allclose(mean[b], one_mean, rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(sd[b], one_sd, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(nn_shrink_mean(beta_hat, se, r, 400, ensemble), mean, rtol=1e-12)


def test_gene_enrichment__simulated_null_from_files_is_reproducible(tmp_path, rng):
    ids, r, se, genes = block(rng)
    ensemble = tiny_ensemble()
    ensemble.save(tmp_path / "model")
    beta_hat = gwas(rng, r, se)
    effects_tsv, genes_tsv = tmp_path / "shrunk.tsv", tmp_path / "genes.tsv"
    pd.DataFrame({"ID": ids, "CHROM": "1", "POS": 100 * (np.arange(len(ids)) + 1), "BETA": beta_hat, "SE": se,
                  "N": 400, "BETA_SHRUNK": nn_shrink(beta_hat, se, r, 400, ensemble)[0]}).to_csv(
        effects_tsv, sep="\t", index=False)
    genes.to_csv(genes_tsv, sep="\t", index=False)
    np.savez(tmp_path / "b.npz", r=r.astype(np.float32), ids=ids, a1=np.full(len(ids), "A"),
             a2=np.full(len(ids), "G"), n=400)
    run = dict(shrink_method="nn", model_dir=tmp_path / "model", top_t=3, n_draws=100, seed=11)
    first = gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, [tmp_path / "b.npz"], tmp_path / "a.tsv", **run)
    again = gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, [tmp_path / "b.npz"], tmp_path / "b.tsv", **run)
    pd.testing.assert_frame_equal(first, again)
    assert set(first.p_method) <= {"mc", "mc_tail"} and len(first) == 3
    with pytest.raises(InputError, match="top_t=3 neighbours but shrinkage.top_t is 5"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, [tmp_path / "b.npz"], tmp_path / "c.tsv",
                        **run | {"top_t": 5})
    with pytest.raises(InputError, match="not several or none"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, [tmp_path / "b.npz"], tmp_path / "c.tsv",
                        eps=1e-4, **run)


@pytest.mark.parametrize("change, message", [
    ({"eps": 1e-4}, "either eps"),
    ({"n_draws": 5}, "at least 20 draws"),
    ({"se": -1.0}, "standard error -1.0"),
    ({"drop": "n"}, r"lacks column\(s\) \['n'\]"),
])
def test_gene_test__simulated_null_rejects_bad_settings(rng, change, message):
    ids, r, se, genes = block(rng)
    effects = effects_of(ids, se, gwas(rng, r, se)).assign(**{k: v for k, v in change.items() if k == "se"})
    effects = effects.drop(columns=change.get("drop", []))
    options = {"shrinker": soft_threshold, "n_draws": 100} | {k: v for k, v in change.items() if k in ("eps", "n_draws")}
    with pytest.raises(InputError, match=message):
        gene_test(effects, genes, {"b": (ids, r)}, **options)


def z_effects(ids, se, beta_hat):
    return pd.DataFrame({"ID": ids, "CHROM": "1", "POS": 100 * (np.arange(len(ids)) + 1),
                         "beta": soft_threshold(beta_hat[None], se, None, 400)[0], "se": se, "n": 400,
                         "z": beta_hat / se})


def test_gene_test__combined_z_part_matches_brute_force_and_null_is_uniform(rng):
    ids, r, se, genes = block(rng)
    options = dict(shrinker=soft_threshold, n_draws=300, seed=2, combine_z=True)
    p, p_z = [], []
    for _ in range(120):
        result = gene_test(z_effects(ids, se, gwas(rng, r, se)), genes, {"b": (ids, r)}, **options)
        p += result.p.tolist()
        p_z += result.p_z.tolist()
        assert set(result.p_method) <= {"mc", "cauchy"}
    # p_z of gene A (variants 0-7) at its 0.99 and 0.999 quantiles, against 400k direct draws (numpy only)
    draws = (rng.multivariate_normal(np.zeros(8), r[:8, :8], size=400_000) ** 2).sum(axis=1)
    for target in (0.01, 1e-3):
        z = np.zeros(len(ids))
        z[:8] = np.sqrt(np.quantile(draws, 1 - target) / 8)
        a = gene_test(z_effects(ids, se, z * se), genes, {"b": (ids, r)}, **options).set_index("gene").loc["A"]
        truth = np.mean(draws >= a.stat_z)
        assert abs(a.p_z - truth) < 4 * np.sqrt(truth / 400_000)
    for values in (p, p_z):
        assert stats.kstest(values, "uniform").pvalue > 1e-3
    lo, hi = stats.binom.ppf([0.0005, 0.9995], len(p), 0.05)
    assert lo <= np.sum(np.array(p) <= 0.05) <= hi


def test_gene_test__combined_keeps_the_power_the_shrunk_test_loses(rng):
    """Gene B has six weak causal variants (z ~ 1.6 each): the soft threshold removes most of them, sum z^2
    does not; the combination is within twice the better of the two tests' p-values."""
    ids, r, se, genes = block(rng)
    beta = np.zeros(len(ids))
    beta[8:16:2] = 1.6 * se[8:16:2]
    wins = 0
    for _ in range(20):
        result = gene_test(z_effects(ids, se, gwas(rng, r, se, beta)), genes, {"b": (ids, r)}, shrinker=soft_threshold,
                           n_draws=300, seed=4, combine_z=True).set_index("gene")
        best = np.minimum(result.p_effects, result.p_z)
        assert (result.p <= 2 * best * 1.01).all()
        wins += result.p["B"] < result.p_effects["B"]
    assert wins >= 15


def test_gene_enrichment__combined_reads_z_from_beta_and_se(tmp_path, rng):
    ids, r, se, genes = block(rng)
    beta_hat = gwas(rng, r, se)
    table = pd.DataFrame({"ID": ids, "CHROM": "1", "POS": 100 * (np.arange(len(ids)) + 1), "BETA": beta_hat,
                          "SE": se, "N": 400})
    effects_tsv, genes_tsv = tmp_path / "effects.tsv", tmp_path / "genes.tsv"
    table.to_csv(effects_tsv, sep="\t", index=False)
    genes.to_csv(genes_tsv, sep="\t", index=False)
    np.savez(tmp_path / "b.npz", r=r.astype(np.float32), ids=ids, a1=np.full(len(ids), "A"),
             a2=np.full(len(ids), "G"), n=400)
    run = dict(shrink_method="none", n_draws=100, seed=1, combine_z=True)
    result = gene_enrichment(effects_tsv, "BETA", genes_tsv, [tmp_path / "b.npz"], tmp_path / "out.tsv", **run)
    direct = gene_test(table.rename(columns={"BETA": "beta", "SE": "se", "N": "n"}).assign(z=beta_hat / se), genes,
                       {"b": (ids, r.astype(np.float32))}, shrinker=lambda b, *_: b, n_draws=100, seed=1,
                       combine_z=True)
    pd.testing.assert_frame_equal(result, direct, check_dtype=False)
    table.drop(columns="BETA").assign(BETA_SHRUNK=beta_hat).to_csv(effects_tsv, sep="\t", index=False)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['BETA'\]"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, [tmp_path / "b.npz"], tmp_path / "out.tsv", **run)


def test_gene_test__inflated_null_gwas_is_calibrated_by_its_inflation(rng):
    """Null GWAS with z ~ N(0, 1.5 R): taken as uninflated, genes are called; with inflation 1.5, p is uniform."""
    ids, r, se, genes = block(rng)
    p_plain, p_scaled = [], []
    for _ in range(100):
        effects = z_effects(ids, se, np.sqrt(1.5) * gwas(rng, r, se))
        options = dict(shrinker=soft_threshold, n_draws=300, seed=6, combine_z=True)
        p_plain += gene_test(effects, genes, {"b": (ids, r)}, **options).p.tolist()
        p_scaled += gene_test(effects, genes, {"b": (ids, r)}, inflation=1.5, **options).p.tolist()
    assert np.mean(np.array(p_plain) <= 0.05) > 0.1
    assert stats.kstest(p_scaled, "uniform").pvalue > 1e-3
    lo, hi = stats.binom.ppf([0.0005, 0.9995], len(p_scaled), 0.05)
    assert lo <= np.sum(np.array(p_scaled) <= 0.05) <= hi
    with pytest.raises(InputError, match="inflation factor must be a number >= 1"):
        gene_test(effects, genes, {"b": (ids, r)}, inflation=0.8, **options)


def test_gene_enrichment__null_inflation_is_the_ld_score_intercept(tmp_path, rng, caplog):
    ids, r, se, genes = block(rng)
    beta_hat = np.sqrt(1.4) * gwas(rng, r, se)
    table = pd.DataFrame({"ID": ids, "CHROM": "1", "POS": 100 * (np.arange(len(ids)) + 1), "BETA": beta_hat,
                          "SE": se, "N": 400})
    scores = pd.DataFrame({"ID": ids, "ldscore": (r**2).sum(axis=1)})
    effects_tsv, genes_tsv, scores_tsv = tmp_path / "effects.tsv", tmp_path / "genes.tsv", tmp_path / "ld.tsv"
    table.to_csv(effects_tsv, sep="\t", index=False)
    genes.to_csv(genes_tsv, sep="\t", index=False)
    scores.iloc[::-1].to_csv(scores_tsv, sep="\t", index=False)  # joined by ID, not row order
    np.savez(tmp_path / "b.npz", r=r.astype(np.float32), ids=ids, a1=np.full(len(ids), "A"),
             a2=np.full(len(ids), "G"), n=400)
    run = dict(shrink_method="none", n_draws=100, seed=1, combine_z=True)
    with caplog.at_level("INFO"):
        result = gene_enrichment(effects_tsv, "BETA", genes_tsv, [tmp_path / "b.npz"], tmp_path / "out.tsv",
                                 ldscores_tsv=scores_tsv, **run)
    expected = max(1.0, ldsc_intercept(beta_hat / se, scores.ldscore, 400)[0])
    assert f"scaled by {expected:.3f}" in caplog.text
    direct = gene_test(table.rename(columns={"BETA": "beta", "SE": "se", "N": "n"}).assign(z=beta_hat / se), genes,
                       {"b": (ids, r.astype(np.float32))}, shrinker=lambda b, *_: b, n_draws=100, seed=1,
                       combine_z=True, inflation=expected)
    pd.testing.assert_frame_equal(result, direct, check_dtype=False)
    scores.iloc[:5].to_csv(scores_tsv, sep="\t", index=False)
    with pytest.raises(InputError, match="cannot estimate the GWAS's inflation.*only 5 of its variants"):
        gene_enrichment(effects_tsv, "BETA", genes_tsv, [tmp_path / "b.npz"], tmp_path / "out.tsv",
                        ldscores_tsv=scores_tsv, **run)
