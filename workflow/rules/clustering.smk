# ML-MAGES after shrinkage: zero-mean DP mixture clustering of the traits' effects, gene
# enrichment test per trait, and the multi-trait gene summary with candidate genes.

CLUSTERING = config["clustering"]
GENES = config["genes"]
# clustering config keys passed straight to phenomap.mixture.dpgmm.fit_dpgmm
MIXTURE_OPTIONS = [
    "k_max", "alpha", "n_restarts", "weight_threshold", "max_iter", "tol", "null_cutoff", "max_fitted_fraction",
    "min_cluster_size", "restart_subsample",
]
# params shared by rules cluster and cluster_trait (scripts/cluster.py)
CLUSTER_PARAMS = dict(
    effect_column=CLUSTERING["effect_column"],
    mixture={k: CLUSTERING[k] for k in MIXTURE_OPTIONS} | {"seed": config["seed"] + SEED_OFFSETS["cluster"]},
    ratio_threshold=CLUSTERING["ratio_threshold"],
    angle_threshold=CLUSTERING["angle_threshold"],
)


rule cluster:
    """Zero-mean truncated DP Gaussian mixture of every trait's effects; cluster labels and types."""
    input:
        effects=lambda wc: [PATHS["shrunk"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
    output:
        labels=PATHS["cluster_labels"],
        model=PATHS["cluster_model"],
        types=PATHS["cluster_types"],
    params:
        traits=lambda wc: traits(wc.cohort),
        **CLUSTER_PARAMS,
    log:
        "logs/cluster/{cohort}.log",
    benchmark:
        "benchmarks/cluster/{cohort}.tsv"
    resources:
        mem_mb=CLUSTERING["mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/cluster.py"


rule cluster_trait:
    """One trait's own (univariate) mixture, whose smallest cluster gives the gene test's null variance."""
    input:
        effects=[PATHS["shrunk"]],
    output:
        labels=PATHS["trait_cluster_labels"],
        model=PATHS["trait_cluster_model"],
        types=PATHS["trait_cluster_types"],
    params:
        traits=lambda wc: [wc.trait],
        **CLUSTER_PARAMS,
    log:
        "logs/cluster_trait/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/cluster_trait/{cohort}/{trait}.tsv"
    resources:
        mem_mb=CLUSTERING["mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/cluster.py"


SIMULATED_NULL = GENES["null_model"] == "simulated"
# the shrinkage that made the tested column (BETA = unshrunk), replayed by the simulated null
TESTED_SHRINKAGE = "none" if CLUSTERING["effect_column"] == "BETA" else SHRINK["method"]


rule gene_enrichment:
    """Gene test of one trait: T_g = sum of squared effects, BH FDR; with `genes.combine_z`, its p
    joined with the sum z^2 test of the GWAS z-scores by the Cauchy combination; with
    `genes.null_inflation: ldsc` both nulls are widened by the GWAS's LD-score intercept.

    Null (`genes.null_model`): simulated = null GWAS of each LD block pushed through the same
    shrinkage (default); epsilon = N(0, eps R_g) with eps the smallest cluster's variance of the
    trait's own mixture (`genes.epsilon: trait`, as ML-MAGES) or of the joint mixture (`joint`).
    """
    input:
        effects=PATHS["shrunk"],
        model=lambda wc: [] if SIMULATED_NULL else
            PATHS["cluster_model" if GENES["epsilon"] == "joint" else "trait_cluster_model"].format(**wc),
        shrink_model=lambda wc: PATHS["shrink_model"].format(cohort=wc.cohort)
            if SIMULATED_NULL and TESTED_SHRINKAGE == "nn" else [],
        genes=lambda wc: gene_table(wc.cohort),
        ld=lambda wc: block_outputs(wc, PATHS["ld_block"]),
        ldscores=lambda wc: PATHS["ld_scores"].format(cohort=wc.cohort) if GENES["null_inflation"] == "ldsc" else [],
    output:
        PATHS["gene_tests"],
    params:
        effect_column=CLUSTERING["effect_column"],
        trait_index=lambda wc: traits(wc.cohort).index(wc.trait) if GENES["epsilon"] == "joint" else 0,
        shrink_method=TESTED_SHRINKAGE if SIMULATED_NULL else None,
        top_t=SHRINK["top_t"],
        shrink_seed=config["seed"] + SEED_OFFSETS["shrink"],
        n_draws=GENES["null_draws"],
        combine_z=GENES["combine_z"],
        seed=config["seed"] + SEED_OFFSETS["gene_null"],
        window=GENES["window"],
        exact_below=GENES["exact_below"],
    log:
        "logs/gene_enrichment/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gene_enrichment/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gene_enrichment.py"


rule gene_summary:
    """Per gene: fraction of variants in each cluster type, S_g, and shared / trait-specific candidates."""
    input:
        labels=PATHS["cluster_labels"],
        types=PATHS["cluster_types"],
        genes=lambda wc: gene_table(wc.cohort),
    output:
        summary=report(PATHS["gene_summary"], caption="../report/gene_summary.rst", category="4. Clusters and genes",
                       subcategory="{cohort}"),
        candidates=report(PATHS["gene_candidates"], caption="../report/gene_candidates.rst",
                          category="4. Clusters and genes", subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
        window=GENES["window"],
        min_snps=GENES["min_snps"],
        min_fraction=GENES["min_fraction"],
    log:
        "logs/gene_summary/{cohort}.log",
    benchmark:
        "benchmarks/gene_summary/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gene_summary.py"
