# Data rules: toy cohort, genotype QC, GWAS and summary-statistics harmonisation.


rule toy_cohort:
    """Simulate the toy cohort (msprime) with its planted truth."""
    output:
        geno=multiext(PATHS["toy_genotypes"], *BFILE_EXT),
        pheno=PATHS["toy_pheno"],
        covar=PATHS["toy_covar"],
        pedigree="results/{cohort}/input/pedigree.tsv",
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
    script:
        "../../scripts/toy_cohort.py"


rule qc:
    """Sample and variant QC (call rates, MAF, HWE) of the cohort genotypes or LD panel."""
    input:
        geno=lambda wc: bfile_files(panel_prefix(wc.cohort)),
    output:
        geno=multiext(PATHS["qc_genotypes"], *BFILE_EXT),
        removed="results/{cohort}/qc/removed.tsv",
    params:
        qc=config["qc"],
        chunk=config["ld"]["chunk_variants"],
    log:
        "logs/qc/{cohort}.log",
    benchmark:
        "benchmarks/qc/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
    script:
        "../../scripts/qc.py"


rule gwas:
    """Linear-regression GWAS of one trait on the QC'd genotypes (numpy or plink2 engine)."""
    input:
        geno=multiext(PATHS["qc_genotypes"], *BFILE_EXT),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
    output:
        PATHS["gwas"],
    params:
        engine=config["gwas"]["engine"],
        covariates=config["gwas"]["covariates"],
        chunk=config["gwas"]["chunk_variants"],
    threads: 1
    log:
        "logs/gwas/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gwas/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["gwas_mem_mb"],
        runtime=config["resources"]["runtime_min"],
    script:
        "../../scripts/gwas.py"


rule sumstats:
    """Harmonise one trait's summary statistics to the LD reference (IDs, alleles, strand)."""
    input:
        source=sumstats_source,
        panel=multiext(PATHS["qc_genotypes"], *BFILE_EXT),
    output:
        table=PATHS["sumstats"],
        report="results/{cohort}/sumstats/{trait}.harmonise.tsv",
    params:
        options=sumstats_options,
    log:
        "logs/sumstats/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/sumstats/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
    script:
        "../../scripts/sumstats.py"
