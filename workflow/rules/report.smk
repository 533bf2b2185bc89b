# Figures: effect scatter plots with cluster ellipses, Manhattan plots with significant genes,
# QQ plot of the gene tests.


rule plot_clusters:
    """Scatter of the clustered effects of each pair of traits, with the clusters' 2-sigma ellipses."""
    input:
        labels=PATHS["cluster_labels"],
        model=PATHS["cluster_model"],
        types=PATHS["cluster_types"],
    output:
        report(directory(PATHS["cluster_figures"]), patterns=["{pair}.png"], caption="../report/clusters.rst",
               category="4. Clusters and genes", subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
        seed=config["seed"],
    log:
        "logs/plot_clusters/{cohort}.log",
    benchmark:
        "benchmarks/plot_clusters/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_clusters.py"


rule plot_manhattan:
    """Manhattan plot of one trait's effects with its significant genes labelled."""
    input:
        effects=PATHS["shrunk"],
        tests=PATHS["gene_tests"],
    output:
        report(PATHS["manhattan"], caption="../report/gene_manhattan.rst", category="4. Clusters and genes",
               subcategory="{cohort}"),
    params:
        effect_column=config["clustering"]["effect_column"],
        q_threshold=config["genes"]["q_threshold"],
    log:
        "logs/plot_manhattan/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/plot_manhattan/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_manhattan.py"


rule plot_gene_qq:
    """QQ plot of the gene-test p-values of every trait."""
    input:
        tests=lambda wc: [PATHS["gene_tests"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
    output:
        report(PATHS["gene_qq"], caption="../report/gene_qq.rst", category="4. Clusters and genes",
               subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
    log:
        "logs/plot_gene_qq/{cohort}.log",
    benchmark:
        "benchmarks/plot_gene_qq/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_gene_qq.py"


rule cohort_summary:
    """The cohort's summary.md: QC, lambda_GC and top loci, genes, prediction accuracy beside baselines, QTL calls."""
    input:
        unpack(summary_inputs),
    output:
        report(PATHS["cohort_summary"], caption="../report/summary.rst", category="0. Summary", subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
        gpsearch_traits=lambda wc: gpsearch_traits(wc.cohort),
        q_threshold=config["genes"]["q_threshold"],
    log:
        "logs/cohort_summary/{cohort}.log",
    benchmark:
        "benchmarks/cohort_summary/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/cohort_summary.py"
