"""Multi-trait gene summaries on planted shared and trait-specific genes."""

import logging

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.genes.summary import candidate_lists, gene_summary, summarise_genes

TRAITS = ["t1", "t2"]
TYPES = pd.DataFrame({"component": [1, 2, 3, 4],  # as phenomap.mixture.typing.classify_components writes them
                      "type": ["shared-positive", "trait-specific", "trait-specific", "mixed"],
                      "traits": ["t1,t2", "t1", "t2", "t1,t2"]})


def planted(rng, n_per_kind: int = 5, m: int = 12):
    """Genes of four kinds, m variants each, on chromosome 3, with labels and bivariate effects.

    shared: correlated effects on both traits, cluster 1; specific_t1 / specific_t2: effects on
    one trait, clusters 2 / 3; null: tiny effects, cluster 0 except one variant in cluster 4.
    """
    kinds = ["shared"] * n_per_kind + ["t1"] * n_per_kind + ["t2"] * n_per_kind + ["null"] * n_per_kind
    rows, genes = [], []
    for g, kind in enumerate(kinds):
        start = 100_000 * (g + 1)
        genes.append({"gene_id": str(g), "symbol": f"{kind.upper()}{g}", "chrom": "3", "start": start,
                      "stop": start + 10 * m})
        big = rng.normal(0, 0.05, (m, 2))
        if kind == "shared":
            beta, cluster = np.column_stack([big[:, 0], big[:, 0] * 0.8 + 0.2 * big[:, 1]]), np.ones(m, int)
        elif kind in TRAITS:
            beta = np.zeros((m, 2))
            beta[:, TRAITS.index(kind)] = big[:, 0]
            cluster = np.full(m, 2 + TRAITS.index(kind))
        else:
            beta, cluster = rng.normal(0, 1e-4, (m, 2)), np.r_[4, np.zeros(m - 1, int)]
        for j in range(m):
            rows.append({"ID": f"g{g}v{j}", "CHROM": "chr3", "POS": start + 10 * j, "t1": beta[j, 0], "t2": beta[j, 1],
                         "cluster": cluster[j]})
    table = pd.DataFrame(rows)
    shrunk = {t: table[["ID", "CHROM", "POS", t]].rename(columns={t: "beta"}) for t in TRAITS}
    return shrunk, table[["ID", "cluster"]], pd.DataFrame(genes), table


def test_gene_summary__planted_genes_get_their_fractions_and_candidate_labels(rng):
    shrunk, labels, genes, _ = planted(rng)
    summary = gene_summary(shrunk, labels, TYPES, genes).set_index("gene")
    assert len(summary) == 20
    fractions = ["frac_null", "frac_specific_t1", "frac_specific_t2", "frac_shared_positive", "frac_mixed"]
    assert list(summary.columns[5:10]) == fractions
    shared = summary[summary.index.str.startswith("SHARED")]
    assert (shared.frac_shared_positive == 1).all() and (shared.candidate == "shared").all()
    assert (summary[summary.index.str.startswith("T1")].candidate == "specific:t1").all()
    assert (summary[summary.index.str.startswith("T2")].candidate == "specific:t2").all()
    nulls = summary[summary.index.str.startswith("NULL")]
    assert (nulls.candidate == "").all() and np.allclose(nulls.frac_mixed, 1 / 12) and nulls.score.isna().all()
    np.testing.assert_allclose(summary[fractions].sum(axis=1), 1.0)
    lists = candidate_lists(summary.reset_index(), top=3)
    assert sorted(lists) == ["shared", "specific:t1", "specific:t2"] and all(len(v) == 3 for v in lists.values())
    top_shared = shared.score.sort_values(ascending=False).index[:3].tolist()
    assert lists["shared"] == top_shared


def test_gene_summary__effect_products_match_brute_force(rng):
    shrunk, labels, genes, table = planted(rng, n_per_kind=2)
    summary = gene_summary(shrunk, labels, TYPES, genes, window=15)
    for row in summary.itertuples():
        g = genes[genes.symbol == row.gene].iloc[0]
        inside = table[(table.POS >= g.start - 15) & (table.POS <= g.stop + 15)]
        B = inside[TRAITS].to_numpy()
        S = B.T @ B / len(B)
        assert row.n_snps == len(B)
        assert (row.S_t1_t1, row.S_t1_t2, row.S_t2_t2) == pytest.approx((S[0, 0], S[0, 1], S[1, 1]), rel=1e-12)
        expected = row.S_t1_t2 if row.candidate == "shared" else S[0, 0] if row.candidate == "specific:t1" else None
        if expected is not None:
            assert row.score == pytest.approx(abs(expected))


def test_gene_summary__traits_with_different_variants_use_the_intersection(rng, caplog):
    shrunk, labels, genes, _ = planted(rng, n_per_kind=1)
    shrunk["t2"] = shrunk["t2"].iloc[3:]  # the first gene loses 3 variants on trait 2
    shrunk["t1"].loc[5, "beta"] = np.nan
    with caplog.at_level(logging.INFO):
        summary = gene_summary(shrunk, labels.iloc[:-1], TYPES, genes).set_index("gene")
    assert summary.n_snps.tolist() == [8, 12, 12, 11]
    assert "trait t1: 47 variants with an effect (1 NA)" in caplog.text
    assert "44 variants have effects on all 2 traits; 43 of them have a cluster label" in caplog.text
    assert "1 variants with effects on every trait have no cluster label" in caplog.text


def test_gene_summary__one_trait_and_min_snps(rng):
    shrunk, labels, genes, _ = planted(rng, n_per_kind=1)
    labels = labels[labels.cluster.isin([0, 2, 4])]  # the variants of the T1 and NULL genes
    types = TYPES[TYPES.component.isin([2, 4])]
    summary = gene_summary({"t1": shrunk["t1"]}, labels, types, genes)
    assert summary.set_index("gene").candidate.to_dict() == {"T11": "specific:t1", "NULL3": ""}
    assert list(summary.columns[6:]) == ["frac_null", "frac_specific_t1", "frac_mixed", "S_t1_t1", "candidate", "score"]
    assert gene_summary({"t1": shrunk["t1"]}, labels, types, genes, min_snps=13).empty


@pytest.mark.parametrize(
    "change, message",
    [
        ("no_traits", "at least one trait"),
        ("missing_column", r"trait t2 lack column\(s\) \['POS'\]"),
        ("duplicate", "variant g0v0 appears twice in the effects of trait t1"),
        ("moved", r"variant g0v0 is at 3:100000 .* at chr3:100001 in those of trait t2"),
        ("unknown_cluster", "has cluster 9, which the cluster-type table does not list"),
        ("unknown_trait", r"cluster 2 is specific to 't7'"),
        ("disjoint", "no variant has an effect on every trait"),
        ("chromosomes", r"uses chromosomes 12; the effects use 3"),
        ("window", "window must be >= 0"),
        ("label_columns", r"labels lack column\(s\) \['cluster'\]"),
        ("label_value", r"variant g0v2 has cluster label 'two', not an integer"),
    ],
)
def test_gene_summary__rejects_bad_input(rng, change, message):
    shrunk, labels, genes, _ = planted(rng, n_per_kind=1)
    types, window = TYPES, 0
    if change == "no_traits":
        shrunk = {}
    elif change == "missing_column":
        shrunk["t2"] = shrunk["t2"].drop(columns="POS")
    elif change == "duplicate":
        shrunk["t1"] = pd.concat([shrunk["t1"], shrunk["t1"].iloc[:1]])
    elif change == "moved":
        shrunk["t2"].loc[0, "POS"] += 1
    elif change == "unknown_cluster":
        labels.loc[4, "cluster"] = 9
    elif change == "unknown_trait":
        types = TYPES.replace({"traits": {"t1": "t7"}})
    elif change == "disjoint":
        shrunk["t2"] = shrunk["t2"].assign(ID=shrunk["t2"].ID + "x")
    elif change == "chromosomes":
        genes = genes.assign(chrom="12")
    elif change == "window":
        window = -1
    elif change == "label_columns":
        labels = labels.rename(columns={"cluster": "k"})
    elif change == "label_value":
        labels = labels.astype({"cluster": object})
        labels.loc[2, "cluster"] = "two"
    with pytest.raises(InputError, match=message):
        gene_summary(shrunk, labels, types, genes, window=window)


def test_summarise_genes__files_equal_the_in_memory_summary_and_rank_candidates(rng, tmp_path):
    shrunk, labels, genes, table = planted(rng)
    paths = {name: tmp_path / f"{name}.tsv" for name in ("labels", "types", "genes", "summary", "candidates")}
    table.to_csv(paths["labels"], sep="\t", index=False)
    TYPES.to_csv(paths["types"], sep="\t", index=False)
    genes.to_csv(paths["genes"], sep="\t", index=False)
    summarise_genes(paths["labels"], paths["types"], paths["genes"], TRAITS, paths["summary"], paths["candidates"])
    expected = gene_summary(shrunk, labels, TYPES, genes)
    written = pd.read_csv(paths["summary"], sep="\t", dtype={"gene_id": str, "chrom": str}, keep_default_na=False,
                          na_values=["NA"])
    pd.testing.assert_frame_equal(written.fillna({"candidate": ""}), expected, check_exact=False, rtol=1e-9,
                                  check_dtype=False)
    candidates = pd.read_csv(paths["candidates"], sep="\t")
    for kind, group in candidates.groupby("candidate"):
        flagged = expected[expected.candidate == kind].sort_values("score", ascending=False)
        assert list(group.sort_values("rank").gene) == list(flagged.gene), kind
        assert list(group["rank"]) == list(range(1, len(group) + 1))
    with pytest.raises(InputError, match=r"no effect column for trait\(s\) \['t3'\]"):
        summarise_genes(paths["labels"], paths["types"], paths["genes"], ["t1", "t3"], paths["summary"],
                        paths["candidates"])
