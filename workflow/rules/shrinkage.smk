# Effect-size shrinkage (ML-MAGES): training simulations on the cohort's LD blocks, ensemble
# training (GPU-capable), and per-block shrinkage of every trait with the configured method.

SHRINK = config["shrinkage"]


rule gwas_architecture:
    """Per-block mean chi^2 and heritability of one trait's GWAS: the signal the training must cover."""
    input:
        sumstats=PATHS["sumstats"],
        ld=lambda wc: block_outputs(wc, PATHS["ld_block"]),
    output:
        PATHS["gwas_architecture"],
    log:
        "logs/gwas_architecture/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/gwas_architecture/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gwas_architecture.py"


rule training_plan:
    """Settings of the training simulation: derived from the cohort's GWAS, or the fixed grid."""
    input:
        geno=lambda wc: [] if has_ld_matrices(wc.cohort) else ld_reference_files(wc),  # LD matrices: no genotypes
        architectures=lambda wc: trait_outputs(wc, PATHS["gwas_architecture"]) if SHRINK["training_grid"] == "derived" else [],
    output:
        PATHS["shrink_plan"],
    params:
        source=SHRINK["training_grid"],
        grid=SHRINK["grid"],
        derived=SHRINK["derived"],
        method=SHRINK["simulation"],
        sim_n=SHRINK["sim_n"],
    log:
        "logs/training_plan/{cohort}.log",
    benchmark:
        "benchmarks/training_plan/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/training_plan.py"


rule simulate_training:
    """Simulated GWAS (true and estimated effects) on one LD block, for every setting of the training plan."""
    wildcard_constraints:
        cohort=cohorts_pattern(ld_matrices=False),
    input:
        geno=ld_reference_files,
        blocks=PATHS["ld_blocks"],
        ld=PATHS["ld_block"],
        plan=PATHS["shrink_plan"],
    output:
        PATHS["shrink_sims"],
    params:
        replicates=SHRINK["replicates"],
        method=SHRINK["simulation"],
        m_total=lambda wc, input: total_block_variants(input.blocks),
        seed=config["seed"] + SEED_OFFSETS["simulate_training"],
    log:
        "logs/simulate_training/{cohort}/{block}.log",
    benchmark:
        "benchmarks/simulate_training/{cohort}/{block}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/simulate_training.py"


rule simulate_training_from_matrices:
    """Summary-level simulated GWAS on one block of LD matrices (A1 frequencies from the cohort's summary
    statistics), for every setting of the training plan."""
    wildcard_constraints:
        cohort=cohorts_pattern(ld_matrices=True),
    input:
        ld=PATHS["ld_block"],
        sumstats=lambda wc: [PATHS["sumstats"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
        blocks=PATHS["ld_blocks"],
        plan=PATHS["shrink_plan"],
    output:
        PATHS["shrink_sims"],
    params:
        replicates=SHRINK["replicates"],
        m_total=lambda wc, input: total_block_variants(input.blocks),
        seed=config["seed"] + SEED_OFFSETS["simulate_training"],
    log:
        "logs/simulate_training/{cohort}/{block}.log",
    benchmark:
        "benchmarks/simulate_training/{cohort}/{block}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/simulate_training_from_matrices.py"


rule train_shrinkage:
    """Train the shrinkage ensemble on the simulations (GPU when available and requested); observed vs
    simulated per-block mean chi^2 per trait in the model directory's chi2_check.tsv."""
    input:
        sims=lambda wc: training_blocks(wc, PATHS["shrink_sims"]),
        ld=lambda wc: training_blocks(wc, PATHS["ld_block"]),
        architectures=lambda wc: trait_outputs(wc, PATHS["gwas_architecture"]),
    output:
        directory(PATHS["shrink_model"]),
    params:
        traits=lambda wc: traits(wc.cohort),
        options={k: SHRINK[k] for k in TRAIN_OPTIONS},
        top_t=SHRINK["top_t"],
        causal_weight=SHRINK["causal_weight"],
        seed=config["seed"] + SEED_OFFSETS["train_shrinkage"],
    threads: SHRINK["threads"]
    log:
        "logs/train_shrinkage/{cohort}.log",
    benchmark:
        "benchmarks/train_shrinkage/{cohort}.tsv"
    resources:
        gpu=SHRINK["gpu"],
        mem_mb=SHRINK["mem_mb"],
        runtime=SHRINK["runtime_min"],
        **slurm_resources(SHRINK["gpu"]),
    conda: CONDA_ENV
    script:
        "../../scripts/train_shrinkage.py"


rule shrink:
    """Shrunk effects of one trait over all LD blocks with the configured method."""
    input:
        sumstats=PATHS["sumstats"],
        ld=lambda wc: block_outputs(wc, PATHS["ld_block"]),
        model=lambda wc: PATHS["shrink_model"].format(cohort=wc.cohort) if SHRINK["method"] == "nn" else [],
    output:
        PATHS["shrunk"],
    params:
        method=SHRINK["method"],
        top_t=SHRINK["top_t"],
        seed=config["seed"] + SEED_OFFSETS["shrink"],
    log:
        "logs/shrink/{cohort}/{trait}.log",
    benchmark:
        "benchmarks/shrink/{cohort}/{trait}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/shrink.py"


rule plot_shrinkage:
    """Training curves of the shrinkage networks and each trait's effects before and after shrinkage."""
    input:
        model=lambda wc: PATHS["shrink_model"].format(cohort=wc.cohort) if SHRINK["method"] == "nn" else [],
        effects=lambda wc: [PATHS["shrunk"].format(cohort=wc.cohort, trait=t) for t in traits(wc.cohort)],
    output:
        report(PATHS["shrinkage_figure"], caption="../report/shrinkage.rst", category="3. Effect shrinkage", subcategory="{cohort}"),
    params:
        traits=lambda wc: traits(wc.cohort),
    log:
        "logs/plot_shrinkage/{cohort}.log",
    benchmark:
        "benchmarks/plot_shrinkage/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_shrinkage.py"
