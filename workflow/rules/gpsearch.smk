# StarBASE-GP (cohorts with genotypes and phenotypes): per trait, the training/validation split and the SNP database,
# one NSGA-II pipeline search per replicate (resumable from its checkpoint), and the consistency summary over them.

GPSEARCH = config["gpsearch"]


rule gpsearch_snpdb:
    """A trait's training/validation split and its SNP database (validation r² of every SNP under nine encodings)."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
    output:
        split=PATHS["gpsearch_split"],
        snpdb=PATHS["gpsearch_snpdb"],
    params:
        seed=gpsearch_seed(),
        covariates=config["gwas"]["covariates"],
        options={k: GPSEARCH[k] for k in ("validation_fraction", "bin_size", "top_fraction", "p_threshold")},
    log:
        "logs/gpsearch_snpdb/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gpsearch_snpdb/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gpsearch_snpdb.py"


rule gpsearch:
    """One search replicate of a trait: NSGA-II over pipelines, resumed from its checkpoint after an interruption."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
        split=PATHS["gpsearch_split"],
        snpdb=PATHS["gpsearch_snpdb"],
    output:
        pareto=PATHS["gpsearch_pareto"],
        pipelines=PATHS["gpsearch_pipelines"],
        hypervolume=PATHS["gpsearch_hypervolume"],
        importance=PATHS["gpsearch_importance"],
        history=PATHS["gpsearch_history"],
    wildcard_constraints:
        replicate=r"\d+",
    params:
        out_dir=PATHS["gpsearch_replicate"],
        checkpoint=PATHS["gpsearch_checkpoint"],
        settings=gpsearch_settings,
        covariates=config["gwas"]["covariates"],
        importance_repeats=GPSEARCH["importance_repeats"],
    threads: GPSEARCH["threads"]
    log:
        "logs/gpsearch/{cohort}/{trait}/r{replicate}.log",
    benchmark:
        "benchmarks/gpsearch/{cohort}/{trait}/r{replicate}.tsv"
    resources:
        mem_mb=GPSEARCH["mem_mb"],
        runtime=GPSEARCH["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gpsearch.py"


rule gpsearch_summary:
    """SNP consistency scores and QTL calls over a trait's replicates; Manhattan, hypervolume and Pareto figures."""
    input:
        importance=lambda wc: gpsearch_replicate_outputs(wc, "gpsearch_importance"),
        hypervolume=lambda wc: gpsearch_replicate_outputs(wc, "gpsearch_hypervolume"),
        pareto=lambda wc: gpsearch_replicate_outputs(wc, "gpsearch_pareto"),
        snpdb=PATHS["gpsearch_snpdb"],
    output:
        scores=PATHS["gpsearch_consistency"],
        qtl=report(PATHS["gpsearch_qtl"], caption="../report/gpsearch_qtl.rst", category="7. StarBASE-GP",
                   subcategory="{cohort}"),
        manhattan=report(PATHS["gpsearch_manhattan"], caption="../report/gpsearch_consistency.rst",
                         category="7. StarBASE-GP", subcategory="{cohort}"),
        hypervolume=report(PATHS["gpsearch_hypervolume_figure"], caption="../report/gpsearch_hypervolume.rst",
                           category="7. StarBASE-GP", subcategory="{cohort}"),
        pareto=report(PATHS["gpsearch_pareto_figure"], caption="../report/gpsearch_pareto.rst",
                      category="7. StarBASE-GP", subcategory="{cohort}"),
    params:
        top=GPSEARCH["qtl_top"],
        window=GPSEARCH["qtl_window"],
    log:
        "logs/gpsearch_summary/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gpsearch_summary/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gpsearch_summary.py"
