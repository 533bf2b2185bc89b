# LD rules: block partition (checkpoint), per-block LD matrices and LD scores, computed from the LD reference's
# genotypes or imported from the cohort's `ld_matrices`.


checkpoint ld_blocks:
    """Partition the LD reference into approximately independent blocks (or take the blocks of its LD matrices)."""
    input:
        geno=ld_reference_files,
        table=lambda wc: ld_blocks_table(wc.cohort) or [],
    output:
        blocks=PATHS["ld_blocks"],
    params:
        panel=lambda wc, input: input.geno[0].removesuffix(".bed") if input.geno else None,
        source=lambda wc: ld_blocks_source(wc.cohort),
        build=lambda wc: COHORTS[wc.cohort].get("build"),
        population=lambda wc: COHORTS[wc.cohort].get("population"),
        resources_dir=str(RESOURCES_DIR),
        ld=config["ld"],
    log:
        "logs/ld_blocks/{cohort}.log",
    benchmark:
        "benchmarks/ld_blocks/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/ld_blocks.py"


rule ld_block:
    """Correlation matrix (float32) and LD scores of one block."""
    wildcard_constraints:
        cohort=cohorts_pattern(ld_matrices=False),
    input:
        geno=ld_reference_files,
        blocks=PATHS["ld_blocks"],
    output:
        ld=PATHS["ld_block"],
        scores=PATHS["ld_block_scores"],
    params:
        chunk=config["ld"]["chunk_variants"],
        adjust=config["ld"]["ldscore_adjust"],
    log:
        "logs/ld_block/{cohort}/{block}.log",
    benchmark:
        "benchmarks/ld_block/{cohort}/{block}.tsv"
    resources:
        mem_mb=ld_block_mem_mb,
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/ld_block.py"


rule ld_block_from_matrices:
    """One block of the cohort's LD matrices as the workflow's LD file and LD scores."""
    wildcard_constraints:
        cohort=cohorts_pattern(ld_matrices=True),
    input:
        matrix=matrix_block_file,
        blocks=PATHS["ld_blocks"],
    output:
        ld=PATHS["ld_block"],
        scores=PATHS["ld_block_scores"],
    params:
        adjust=config["ld"]["ldscore_adjust"],
    log:
        "logs/ld_block_from_matrices/{cohort}/{block}.log",
    benchmark:
        "benchmarks/ld_block_from_matrices/{cohort}/{block}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/ld_block_from_matrices.py"


rule ld_scores:
    """Gather the per-block LD scores of a cohort into one table."""
    input:
        lambda wc: block_outputs(wc, PATHS["ld_block_scores"]),
    output:
        PATHS["ld_scores"],
    log:
        "logs/ld_scores/{cohort}.log",
    benchmark:
        "benchmarks/ld_scores/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/ld_scores.py"


rule plot_ld_blocks:
    """Map of the LD blocks along each chromosome."""
    input:
        PATHS["ld_blocks"],
    output:
        report(PATHS["ld_figure"], caption="../report/ld_blocks.rst", category="2. LD blocks", subcategory="{cohort}"),
    log:
        "logs/plot_ld_blocks/{cohort}.log",
    benchmark:
        "benchmarks/plot_ld_blocks/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_ld_blocks.py"
