# Data rules: toy cohort, genotype QC, GWAS, summary-statistics harmonisation and the GWAS summary.


rule toy_cohort:
    """Simulate the toy cohort (msprime) with its planted truth."""
    output:
        geno=multiext(PATHS["toy_genotypes"], *BFILE_EXT),
        pheno=PATHS["toy_pheno"],
        covar=PATHS["toy_covar"],
        pedigree=PATHS["toy_pedigree"],
        genes=PATHS["toy_genes"],
        truth="results/{cohort}/input/truth_effects.tsv",
    params:
        toy=lambda wc: COHORTS[wc.cohort]["toy"],
        seed=config["seed"] + SEED_OFFSETS["toy_cohort"],
    log:
        "logs/toy_cohort/{cohort}.log",
    benchmark:
        "benchmarks/toy_cohort/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/toy_cohort.py"


rule qc:
    """Sample and variant QC (call rates, MAF, HWE on founders) of the cohort's genotypes (qc/) or its LD panel (qc/panel/)."""
    input:
        geno=qc_source,
        pedigree=lambda wc: (pedigree_path(wc.cohort) or []) if wc.qcdir == "qc" else [],
    output:
        geno=multiext("results/{cohort}/{qcdir}/genotypes", *BFILE_EXT),
        removed="results/{cohort}/{qcdir}/removed.tsv",
        summary=report("results/{cohort}/{qcdir}/summary.tsv", caption="../report/qc_summary.rst",
                       category="1. QC and GWAS", subcategory="{cohort}"),
    wildcard_constraints:
        qcdir="qc|qc/panel",
    params:
        qc=config["qc"],
        chunk=config["ld"]["chunk_variants"],
    log:
        "logs/qc/{cohort}/{qcdir}.log",
    benchmark:
        "benchmarks/qc/{cohort}/{qcdir}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/qc.py"


rule gwas:
    """GWAS of one trait on the cohort's QC'd genotypes: linear model (numpy or plink2) or LOCO mixed model."""
    input:
        geno=multiext(PATHS["qc_genotypes"], *BFILE_EXT),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
    output:
        PATHS["gwas"],
    params:
        model=config["gwas"]["model"],
        engine=config["gwas"]["engine"],
        loco=config["gwas"]["loco"],
        covariates=config["gwas"]["covariates"],
        chunk=config["gwas"]["chunk_variants"],
    threads: config["gwas"]["threads"]
    log:
        "logs/gwas/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gwas/{cohort}/{trait}.tsv"
    resources:
        mem_mb=gwas_mem_mb,
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gwas.py"


rule sumstats:
    """Harmonise one trait's summary statistics to the LD reference (IDs, alleles, strand); list the rows left out."""
    input:
        source=sumstats_source,
        panel=harmonise_panel,
    output:
        table=PATHS["sumstats"],
        report=PATHS["harmonise_log"],
        dropped=PATHS["harmonise_dropped"],
    params:
        options=sumstats_options,
    log:
        "logs/sumstats/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/sumstats/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/sumstats.py"


rule gwas_summary:
    """Per trait: where the statistics come from, variants kept by harmonisation, lambda_GC, top loci."""
    input:
        tables=lambda wc: [PATHS["sumstats"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
        reports=lambda wc: [PATHS["harmonise_log"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
    output:
        report(PATHS["gwas_summary"], caption="../report/gwas_summary.rst", category="1. QC and GWAS",
               subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
        sources=lambda wc: [gwas_description(wc.cohort, t) for t in traits(wc.cohort)],
    log:
        "logs/gwas_summary/{cohort}.log",
    benchmark:
        "benchmarks/gwas_summary/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gwas_summary.py"


rule plot_gwas:
    """SNP-level Manhattan and QQ plot of one trait's -log10 P, with lambda_GC."""
    input:
        PATHS["sumstats"],
    output:
        report(PATHS["gwas_figure"], caption="../report/gwas_figure.rst", category="1. QC and GWAS",
               subcategory="{cohort}"),
    params:
        source=lambda wc: gwas_description(wc.cohort, wc.trait),
    log:
        "logs/plot_gwas/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/plot_gwas/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_gwas.py"
