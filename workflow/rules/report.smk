# Figures: effect scatter plots with cluster ellipses, Manhattan plots with significant genes,
# QQ plot of the gene tests.


rule plot_clusters:
    """Scatter of the clustered effects of each pair of traits, with the clusters' 2-sigma ellipses."""
    input:
        labels=PATHS["cluster_labels"],
        model=PATHS["cluster_model"],
        types=PATHS["cluster_types"],
    output:
        directory(PATHS["cluster_figures"]),
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
    script:
        "../../scripts/plot_clusters.py"


rule plot_manhattan:
    """Manhattan plot of one trait's effects with its significant genes labelled."""
    input:
        effects=PATHS["shrunk"],
        tests=PATHS["gene_tests"],
    output:
        PATHS["manhattan"],
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
    script:
        "../../scripts/plot_manhattan.py"


rule plot_gene_qq:
    """QQ plot of the gene-test p-values of every trait."""
    input:
        tests=lambda wc: [PATHS["gene_tests"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
    output:
        PATHS["gene_qq"],
    params:
        traits=lambda wc: traits(wc.cohort),
    log:
        "logs/plot_gene_qq/{cohort}.log",
    benchmark:
        "benchmarks/plot_gene_qq/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
    script:
        "../../scripts/plot_gene_qq.py"
