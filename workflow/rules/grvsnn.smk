# GRVSNN (cohorts with genotypes and phenotypes): relationship loadings, cross-validation folds, one job per
# repeat x fold (GPU-capable, CPU fallback) with GRVSNN and its baselines on the same folds, and the summary.

GRVSNN = config["grvsnn"]
GRVSNN_SEED = config["seed"] + SEED_OFFSETS["grvsnn"]
# grvsnn config keys passed straight to phenomap.grvsnn.train.Hyperparameters
GRVSNN_HYPERPARAMETERS = [
    "learning_rate", "selection_learning_rate", "dropout", "batch_size", "hidden", "width", "weight_decay",
    "max_epochs", "patience",
]


rule grvsnn_loadings:
    """Loadings of the relationship matrix (the cohort's file, its pedigree, or the genomic one) at its elbow."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        relationship=lambda wc: COHORTS[wc.cohort].get("relationship", []),
        pedigree=lambda wc: pedigree_path(wc.cohort) or [],
    output:
        loadings=PATHS["grvsnn_loadings"],
        eigenvalues="results/{cohort}/grvsnn/eigenvalues.tsv",
    params:
        n_components=GRVSNN["n_components"],
    log:
        "logs/grvsnn_loadings/{cohort}.log",
    benchmark:
        "benchmarks/grvsnn_loadings/{cohort}.tsv"
    resources:
        mem_mb=GRVSNN["mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/grvsnn_loadings.py"


rule grvsnn_folds:
    """Cross-validation folds of the analysed samples: random k-fold per repeat, or the user's fold file."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
        fold_file=GRVSNN["fold_file"] or [],
    output:
        PATHS["grvsnn_folds"],
    params:
        traits=lambda wc: phenotype_traits(wc.cohort),
        covariates=config["gwas"]["covariates"],
        k=GRVSNN["folds"],
        repeats=GRVSNN["repeats"],
        seed=GRVSNN_SEED,
    log:
        "logs/grvsnn_folds/{cohort}.log",
    benchmark:
        "benchmarks/grvsnn_folds/{cohort}.tsv"
    resources:
        mem_mb=GRVSNN["mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/grvsnn_folds.py"


rule grvsnn_fold:
    """One repeat x fold: GRVSNN (multi- and single-task, tuned by TPE on the training fold) and the baselines."""
    input:
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        pheno=lambda wc: pheno_path(wc.cohort),
        covar=lambda wc: covar_path(wc.cohort) or [],
        folds=PATHS["grvsnn_folds"],
        loadings=PATHS["grvsnn_loadings"] if GRVSNN["loadings"] else [],
    output:
        metrics=PATHS["grvsnn_fold_metrics"],
        selected=PATHS["grvsnn_fold_selected"],
        predictions=PATHS["grvsnn_fold_predictions"],
    wildcard_constraints:
        repeat=r"\d+",
        fold=r"\d+",
    params:
        traits=lambda wc: phenotype_traits(wc.cohort),
        covariates=config["gwas"]["covariates"],
        study=PATHS["grvsnn_fold_study"],
        options=dict(
            methods=GRVSNN["methods"],
            hyperparameters={k: GRVSNN[k] for k in GRVSNN_HYPERPARAMETERS},
            baselines=GRVSNN["baselines"],
            validation_fraction=GRVSNN["validation_fraction"],
            selection_threshold=GRVSNN["selection_threshold"],
            tune_trials=GRVSNN["tune_trials"],
            seed=GRVSNN_SEED,
            device=GRVSNN["device"],
        ),
    threads: GRVSNN["threads"]
    log:
        "logs/grvsnn_fold/{cohort}/r{repeat}_f{fold}.log",
    benchmark:
        "benchmarks/grvsnn_fold/{cohort}/r{repeat}_f{fold}.tsv"
    resources:
        gpu=GRVSNN["gpu"],
        mem_mb=GRVSNN["mem_mb"],
        runtime=GRVSNN["runtime_min"],
        **slurm_resources(GRVSNN["gpu"]),
    conda: CONDA_ENV
    script:
        "../../scripts/grvsnn_fold.py"


rule grvsnn_summary:
    """Every fold's metrics, the comparison of methods (mean +- SE, paired differences), selection frequencies, figures."""
    input:
        metrics=lambda wc: grvsnn_fold_outputs(wc.cohort, "grvsnn_fold_metrics"),
        selected=lambda wc: grvsnn_fold_outputs(wc.cohort, "grvsnn_fold_selected"),
        geno=lambda wc: bfile_files(qc_genotypes(wc.cohort)),
        loadings=PATHS["grvsnn_loadings"] if GRVSNN["loadings"] else [],
    output:
        metrics=PATHS["grvsnn_metrics"],
        comparison=report(PATHS["grvsnn_comparison"], caption="../report/grvsnn_comparison.rst",
                          category="6. GRVSNN", subcategory="{cohort}"),
        selection=PATHS["grvsnn_selection"],
        boxplot=report("results/{cohort}/figures/grvsnn/cv_r.png", caption="../report/grvsnn_cv.rst",
                       category="6. GRVSNN", subcategory="{cohort}"),
        selection_figure=report("results/{cohort}/figures/grvsnn/selection.png", caption="../report/grvsnn_selection.rst",
                                category="6. GRVSNN", subcategory="{cohort}"),
    log:
        "logs/grvsnn_summary/{cohort}.log",
    benchmark:
        "benchmarks/grvsnn_summary/{cohort}.tsv"
    resources:
        mem_mb=config["resources"]["default_mem_mb"],
        runtime=config["resources"]["runtime_min"],
        **slurm_resources(),
    conda: CONDA_ENV
    script:
        "../../scripts/grvsnn_summary.py"
