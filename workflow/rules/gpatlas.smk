# G-P Atlas (cohorts with genotypes and phenotypes): tier 1 phenotype autoencoder and the
# train/test split, tier 2 genotype encoder (both GPU-capable, CPU fallback), held-out metrics
# against ridge/lasso, ablation importance, VIDA and pairwise interaction scores.

GPATLAS = config["gpatlas"]
# gpatlas config keys passed straight to phenomap.gpatlas.train.Settings
GPATLAS_SETTINGS = [
    "variant", "coding", "hidden", "latent", "batch_size", "pheno_epochs", "geno_epochs", "learning_rate",
    "pheno_noise", "geno_noise", "l1", "l2", "decoder_lr", "validation_fraction", "lasso_alphas", "lasso_folds",
    "path_folds", "paths", "screen_pairs",
]
GPATLAS_SEED = config["seed"] + SEED_OFFSETS["gpatlas"]
GPATLAS_TRAINING = {k: GPATLAS[k] for k in GPATLAS_SETTINGS}


rule gpatlas_pheno:
    """G-P Atlas tier 1: fix the train/test split and train the phenotype denoising autoencoder."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        split_file=GPATLAS["split_file"] or [],
    output:
        split=PATHS["gpatlas_split"],
        model=PATHS["gpatlas_pheno_model"],
        curve="results/{cohort}/gpatlas/pheno_curve.tsv",
    params:
        traits=lambda wc: traits(wc.cohort),
        settings=GPATLAS_TRAINING,
        seed=GPATLAS_SEED,
        test_fraction=GPATLAS["test_fraction"],
        device=GPATLAS["device"],
    threads: GPATLAS["threads"]
    log:
        "logs/gpatlas_pheno/{cohort}.log",
    benchmark:
        "benchmarks/gpatlas_pheno/{cohort}.tsv"
    resources:
        gpu=GPATLAS["gpu"],
        mem_mb=GPATLAS["mem_mb"],
        runtime=GPATLAS["runtime_min"],
        **slurm_resources(GPATLAS["gpu"]),
    conda: CONDA_ENV
    script:
        "../../scripts/gpatlas_pheno.py"


rule gpatlas_geno:
    """G-P Atlas tier 2: train the genotype encoder into the tier-1 decoder."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        split=PATHS["gpatlas_split"],
        model=PATHS["gpatlas_pheno_model"],
    output:
        model=PATHS["gpatlas_model"],
        curve="results/{cohort}/gpatlas/geno_curve.tsv",
    params:
        traits=lambda wc: traits(wc.cohort),
        settings=GPATLAS_TRAINING,
        seed=GPATLAS_SEED,
        device=GPATLAS["device"],
    threads: GPATLAS["threads"]
    log:
        "logs/gpatlas_geno/{cohort}.log",
    benchmark:
        "benchmarks/gpatlas_geno/{cohort}.tsv"
    resources:
        gpu=GPATLAS["gpu"],
        mem_mb=GPATLAS["mem_mb"],
        runtime=GPATLAS["runtime_min"],
        **slurm_resources(GPATLAS["gpu"]),
    conda: CONDA_ENV
    script:
        "../../scripts/gpatlas_geno.py"


rule gpatlas_evaluate:
    """G-P Atlas predictions of every sample and held-out metrics beside ridge and lasso; epistasis screen."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        split=PATHS["gpatlas_split"],
        model=PATHS["gpatlas_model"],
    output:
        predictions=PATHS["gpatlas_predictions"],
        metrics=report(PATHS["gpatlas_metrics"], caption="../report/gpatlas_metrics.rst", category="5. G-P Atlas",
                       subcategory="{cohort}"),
        epistasis=PATHS["gpatlas_epistasis"],
    params:
        traits=lambda wc: traits(wc.cohort),
        baselines=GPATLAS["baselines"],
        lasso_alphas=GPATLAS["lasso_alphas"],
        lasso_folds=GPATLAS["lasso_folds"],
        screen_pairs=GPATLAS["screen_pairs"],
        seed=GPATLAS_SEED,
    threads: GPATLAS["threads"]
    log:
        "logs/gpatlas_evaluate/{cohort}.log",
    benchmark:
        "benchmarks/gpatlas_evaluate/{cohort}.tsv"
    resources:
        mem_mb=GPATLAS["mem_mb"],
        runtime=GPATLAS["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/gpatlas_evaluate.py"


rule gpatlas_importance:
    """G-P Atlas locus importance (feature ablation), VIDA scores and pairwise interactions."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        split=PATHS["gpatlas_split"],
        model=PATHS["gpatlas_model"],
    output:
        importance=PATHS["gpatlas_importance"],
        interactions=PATHS["gpatlas_interactions"],
        pairs=PATHS["gpatlas_pairs"],
    params:
        traits=lambda wc: traits(wc.cohort),
        vida=GPATLAS["vida"],
        top_pairs=GPATLAS["top_pairs"],
        device=GPATLAS["device"],
    threads: GPATLAS["threads"]
    log:
        "logs/gpatlas_importance/{cohort}.log",
    benchmark:
        "benchmarks/gpatlas_importance/{cohort}.tsv"
    resources:
        gpu=GPATLAS["gpu"],
        mem_mb=GPATLAS["mem_mb"],
        runtime=GPATLAS["runtime_min"],
        **slurm_resources(GPATLAS["gpu"]),
    conda: CONDA_ENV
    script:
        "../../scripts/gpatlas_importance.py"



rule plot_gpatlas:
    """G-P Atlas held-out predictions beside the linear baselines, and locus importance along the genome."""
    input:
        predictions=PATHS["gpatlas_predictions"],
        importance=PATHS["gpatlas_importance"],
    output:
        predictions=report(PATHS["gpatlas_prediction_figure"], caption="../report/gpatlas_predictions.rst",
                           category="5. G-P Atlas", subcategory="{cohort}"),
        importance=report(PATHS["gpatlas_importance_figure"], caption="../report/gpatlas_importance.rst",
                          category="5. G-P Atlas", subcategory="{cohort}"),
    log:
        "logs/plot_gpatlas/{cohort}.log",
    benchmark:
        "benchmarks/plot_gpatlas/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/plot_gpatlas.py"
