# Config validation, cohort lookups and input functions shared by all rule files.
# Each path template is defined once here (PATHS) and used through these helpers.

import csv
import os
import sys
from pathlib import Path

from phenomap.config import (
    ConfigError,
    check_cohort_inputs,
    check_gpsearch_settings,
    check_gpsearch_traits,
    check_grvsnn_settings,
    check_gene_table,
    load_schema,
    made_by_the_workflow,
    require_file,
    validate_config,
)
from phenomap.mixture.dpgmm import MAX_TRAITS
from phenomap.seeds import SEED_OFFSETS  # every stochastic rule draws from seed + its offset
from phenomap.sim.cohort import ToyParams


def stop_with(error):
    """End the run before any job with the configuration problems, one per line."""
    sys.exit(f"phenomap: the configuration cannot run:\n{error}\n(every key: config/config.yaml; "
             "input formats: config/README.md)")


try:
    validate_config(config, load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))
except ConfigError as err:
    stop_with(err)

RESOURCES_DIR = Path(workflow.basedir) / "resources"
# `--sdm conda`: every rule runs in this one environment. Its pip section installs phenomap editable from
# ${PHENOMAP_ROOT}, which pip expands when Snakemake creates the env: this checkout, wherever it lives.
CONDA_ENV = str(Path(workflow.basedir) / "envs" / "phenomap.yaml")
os.environ.update(PHENOMAP_ROOT=str(Path(workflow.basedir).resolve()))
COHORTS = config["cohorts"]


PATHS = {
    "toy_genotypes": "results/{cohort}/input/genotypes",
    "toy_pheno": "results/{cohort}/input/pheno.tsv",
    "toy_covar": "results/{cohort}/input/covar.tsv",
    "toy_pedigree": "results/{cohort}/input/pedigree.tsv",
    "toy_genes": "results/{cohort}/input/genes.tsv",
    # QC'd genotypes of the cohort itself (GWAS and every individual-level stage) ...
    "qc_genotypes": "results/{cohort}/qc/genotypes",
    "qc_removed": "results/{cohort}/qc/removed.tsv",
    "qc_summary": "results/{cohort}/qc/summary.tsv",
    # ... and of a separate LD panel (`ld_panel`), the LD reference when given
    "qc_panel": "results/{cohort}/qc/panel/genotypes",
    "gwas": "results/{cohort}/gwas/{trait}.tsv",
    "sumstats": "results/{cohort}/sumstats/{trait}.tsv",
    "harmonise_log": "results/{cohort}/sumstats/{trait}.harmonise.tsv",
    "harmonise_dropped": "results/{cohort}/sumstats/{trait}.dropped.tsv",
    "gwas_summary": "results/{cohort}/summary/gwas.tsv",
    "cohort_summary": "results/{cohort}/summary.md",
    "gwas_figure": "results/{cohort}/figures/gwas/{trait}.png",
    "ld_figure": "results/{cohort}/figures/ld_blocks.png",
    "shrinkage_figure": "results/{cohort}/figures/shrinkage.png",
    "ld_blocks": "results/{cohort}/ld/blocks.tsv",
    "ld_block": "results/{cohort}/ld/blocks/{block}.npz",
    "ld_block_scores": "results/{cohort}/ld/blocks/{block}.ldscore.tsv",
    "ld_scores": "results/{cohort}/ld/ldscores.tsv",
    "gwas_architecture": "results/{cohort}/shrinkage/architecture/{trait}.tsv",
    "shrink_plan": "results/{cohort}/shrinkage/training_plan.json",
    "shrink_sims": "results/{cohort}/shrinkage/sims/{block}.npz",
    "shrink_model": "results/{cohort}/shrinkage/model",
    "shrunk": "results/{cohort}/shrinkage/{trait}.tsv",
    "cluster_labels": "results/{cohort}/clusters/labels.tsv",
    "cluster_model": "results/{cohort}/clusters/mixture.json",
    "cluster_types": "results/{cohort}/clusters/types.tsv",
    "trait_cluster_labels": "results/{cohort}/clusters/by_trait/{trait}/labels.tsv",
    "trait_cluster_model": "results/{cohort}/clusters/by_trait/{trait}/mixture.json",
    "trait_cluster_types": "results/{cohort}/clusters/by_trait/{trait}/types.tsv",
    "gene_tests": "results/{cohort}/genes/enrichment/{trait}.tsv",
    "gene_summary": "results/{cohort}/genes/summary.tsv",
    "gene_candidates": "results/{cohort}/genes/candidates.tsv",
    "cluster_figures": "results/{cohort}/figures/clusters",
    "manhattan": "results/{cohort}/figures/manhattan/{trait}.png",
    "gene_qq": "results/{cohort}/figures/gene_qq.png",
    "gpatlas_split": "results/{cohort}/gpatlas/split.tsv",
    "gpatlas_pheno_model": "results/{cohort}/gpatlas/pheno_model.pt",
    "gpatlas_model": "results/{cohort}/gpatlas/geno_model.pt",
    "gpatlas_predictions": "results/{cohort}/gpatlas/predictions.tsv",
    "gpatlas_metrics": "results/{cohort}/gpatlas/metrics.tsv",
    "gpatlas_epistasis": "results/{cohort}/gpatlas/epistasis.tsv",
    "gpatlas_importance": "results/{cohort}/gpatlas/importance.tsv",
    "gpatlas_interactions": "results/{cohort}/gpatlas/interactions.tsv",
    "gpatlas_pairs": "results/{cohort}/gpatlas/interaction_pairs.tsv",
    "gpatlas_prediction_figure": "results/{cohort}/figures/gpatlas/predictions.png",
    "gpatlas_importance_figure": "results/{cohort}/figures/gpatlas/importance.png",
    "grvsnn_loadings": "results/{cohort}/grvsnn/loadings.tsv",
    "grvsnn_folds": "results/{cohort}/grvsnn/folds.tsv",
    "grvsnn_fold_metrics": "results/{cohort}/grvsnn/folds/r{repeat}_f{fold}/metrics.tsv",
    "grvsnn_fold_selected": "results/{cohort}/grvsnn/folds/r{repeat}_f{fold}/selected.tsv",
    "grvsnn_fold_predictions": "results/{cohort}/grvsnn/folds/r{repeat}_f{fold}/predictions.tsv",
    "grvsnn_fold_study": "results/{cohort}/grvsnn/folds/r{repeat}_f{fold}/tuning.journal",
    "grvsnn_metrics": "results/{cohort}/grvsnn/cv_metrics.tsv",
    "grvsnn_comparison": "results/{cohort}/grvsnn/comparison.tsv",
    "grvsnn_selection": "results/{cohort}/grvsnn/selection.tsv",
    "gpsearch_split": "results/{cohort}/gpsearch/{trait}/split.tsv",
    "gpsearch_snpdb": "results/{cohort}/gpsearch/{trait}/snpdb.tsv",
    # one search replicate: its outputs and the checkpoint it resumes from
    "gpsearch_replicate": "results/{cohort}/gpsearch/{trait}/r{replicate}",
    "gpsearch_pareto": "results/{cohort}/gpsearch/{trait}/r{replicate}/pareto.tsv",
    "gpsearch_pipelines": "results/{cohort}/gpsearch/{trait}/r{replicate}/pipelines.json",
    "gpsearch_hypervolume": "results/{cohort}/gpsearch/{trait}/r{replicate}/hypervolume.tsv",
    "gpsearch_importance": "results/{cohort}/gpsearch/{trait}/r{replicate}/importance.tsv",
    "gpsearch_history": "results/{cohort}/gpsearch/{trait}/r{replicate}/history.tsv",
    "gpsearch_checkpoint": "results/{cohort}/gpsearch/{trait}/r{replicate}/checkpoint.json",
    "gpsearch_consistency": "results/{cohort}/gpsearch/{trait}/snp_consistency.tsv",
    "gpsearch_qtl": "results/{cohort}/gpsearch/{trait}/qtl.tsv",
    "gpsearch_manhattan": "results/{cohort}/figures/gpsearch/{trait}/consistency.png",
    "gpsearch_hypervolume_figure": "results/{cohort}/figures/gpsearch/{trait}/hypervolume.png",
    "gpsearch_pareto_figure": "results/{cohort}/figures/gpsearch/{trait}/pareto.png",
}
# shrinkage config keys passed straight to phenomap.shrinkage.train.train_ensemble
TRAIN_OPTIONS = [
    "architecture", "n_models", "subset_fraction", "validation_fraction", "dropout",
    "epochs", "batch_size", "learning_rate", "patience", "device",
]
# gpsearch config keys passed straight to phenomap.gpsearch.nsga.SearchSettings
SEARCH_SETTINGS = [
    "population", "generations", "min_snps", "max_snps", "mode", "crossover_prob", "mutation_prob", "smart_prob",
    "node_mutation_prob", "selectors", "regressors",
]
BFILE_EXT = [".bed", ".bim", ".fam"]


wildcard_constraints:
    cohort="|".join(COHORTS),
    trait=r"[A-Za-z0-9_.-]+",
    block=r"[0-9A-Za-z]+_[0-9]+",


def slurm_resources(gpu=0):
    """SLURM partition and account of a job from the config's `resources` (the GPU partition for jobs that request
    GPUs); keys left unset fall back to the profile's `default-resources`."""
    r = config["resources"]
    partition = r["gpu_partition"] if gpu and r["gpu_partition"] else r["partition"]
    return {k: v for k, v in (("slurm_partition", partition), ("slurm_account", r["account"])) if v}


def config_error(cohort, message):
    return ConfigError(f"config: cohorts.{cohort}: {message}")


def is_toy(cohort):
    return "toy" in COHORTS[cohort]


def has_genotypes(cohort):
    """True for cohorts with individual-level genotypes of their own (toy or `bfile`)."""
    return is_toy(cohort) or "bfile" in COHORTS[cohort]


def has_ld_matrices(cohort):
    """True for cohorts whose LD reference is per-block LD matrices (`ld_matrices`), not genotypes."""
    return "ld_matrices" in COHORTS[cohort]


def cohorts_pattern(ld_matrices):
    """Wildcard pattern of the cohorts with (True) or without (False) `ld_matrices`: the LD and simulation rules
    that read genotypes and their LD-matrix counterparts each take one kind."""
    names = [c for c in COHORTS if has_ld_matrices(c) == ld_matrices]
    return "|".join(names) if names else "(?!)"


def has_phenotypes(cohort):
    """True for cohorts with genotypes and phenotypes (the GWAS and G->P stages run)."""
    return is_toy(cohort) or ("bfile" in COHORTS[cohort] and "pheno" in COHORTS[cohort])


def check_cohort(cohort):
    """Reject cohort entries that name no usable inputs, before any job starts."""
    c = COHORTS[cohort]
    if len(traits(cohort)) > MAX_TRAITS:
        raise config_error(cohort, f"the clustering takes at most {MAX_TRAITS} traits; list them in `traits`")
    if is_toy(cohort):
        clash = sorted(set(c) & {"bfile", "pheno", "covar", "pedigree", "sumstats", "ld_panel"})
        if clash:
            raise config_error(cohort, f"a toy cohort cannot also give {clash}")
        return
    if "ld_matrices" in c:
        clash = sorted(set(c) & {"bfile", "pheno", "covar", "pedigree", "relationship", "ld_panel", "ld_blocks"})
        if clash:
            raise config_error(cohort, f"`ld_matrices` is the LD reference of a summary-statistics cohort: it cannot "
                                       f"also give {clash} (its blocks are the matrices'; use `ld_panel` for LD from "
                                       "genotypes)")
        if config["shrinkage"]["simulation"] == "individual":
            raise config_error(cohort, "the individual-level training simulation needs genotypes, and LD matrices "
                                       "have none: set shrinkage.simulation: summary")
    elif "bfile" not in c and "ld_panel" not in c:
        raise config_error(cohort, "give `toy`, or `bfile` (genotypes), or `sumstats` with `ld_panel` or "
                                   "`ld_matrices`")
    if "pheno" not in c and "sumstats" not in c:
        raise config_error(cohort, "give `pheno` (to run a GWAS) or `sumstats` (external results)")
    if "pheno" in c and "bfile" not in c:
        raise config_error(cohort, "`pheno` needs `bfile` genotypes to run a GWAS")
    for key in ("pedigree", "relationship"):
        if key in c and "bfile" not in c:
            raise config_error(cohort, f"`{key}` describes the cohort's genotyped samples: it needs `bfile`")
    if ld_blocks_source(cohort) == "shipped" and not {"build", "population"} <= set(c):
        raise config_error(cohort, "shipped LD blocks need `build` and `population` (or set ld_blocks: data)")


def genotypes_prefix(cohort):
    """PLINK prefix of the cohort's own genotypes before QC (simulated for toy cohorts), or None."""
    if is_toy(cohort):
        return PATHS["toy_genotypes"].format(cohort=cohort)
    return COHORTS[cohort].get("bfile")


def qc_genotypes(cohort):
    """Prefix of the cohort's own QC'd genotypes: the GWAS and every individual-level stage read them."""
    return PATHS["qc_genotypes"].format(cohort=cohort)


def ld_reference(cohort):
    """Prefix of the QC'd LD reference: the QC'd `ld_panel` when given, else the cohort's QC'd genotypes."""
    return PATHS["qc_panel" if COHORTS[cohort].get("ld_panel") else "qc_genotypes"].format(cohort=cohort)


def ld_reference_files(wildcards):
    """The LD reference's PLINK files; none for a cohort given as LD matrices."""
    return [] if has_ld_matrices(wildcards.cohort) else bfile_files(ld_reference(wildcards.cohort))


def harmonise_panel(wildcards):
    """What summary statistics are harmonised to: the LD reference's PLINK files, or the variants (LD scores) of
    the LD matrices."""
    if has_ld_matrices(wildcards.cohort):
        return [PATHS["ld_scores"].format(cohort=wildcards.cohort)]
    return bfile_files(ld_reference(wildcards.cohort))


def matrix_block_file(wildcards):
    """The user's LD-matrix file of one block (the `file` column of the imported block table)."""
    table = checkpoints.ld_blocks.get(cohort=wildcards.cohort).output.blocks
    with open(table) as fh:
        return next(row["file"] for row in csv.DictReader(fh, delimiter="\t") if row["block"] == wildcards.block)


def qc_source(wildcards):
    """Raw fileset behind a QC output: the LD panel for `qc/panel`, else the cohort's genotypes."""
    raw = COHORTS[wildcards.cohort]["ld_panel"] if wildcards.qcdir == "qc/panel" else genotypes_prefix(wildcards.cohort)
    return bfile_files(raw)


def pedigree_path(cohort):
    """The cohort's pedigree (`IID SIRE DAM`), used by QC to find founders; None if not given."""
    return PATHS["toy_pedigree"].format(cohort=cohort) if is_toy(cohort) else COHORTS[cohort].get("pedigree")


def pheno_path(cohort):
    return PATHS["toy_pheno"].format(cohort=cohort) if is_toy(cohort) else COHORTS[cohort].get("pheno")


def covar_path(cohort):
    return PATHS["toy_covar"].format(cohort=cohort) if is_toy(cohort) else COHORTS[cohort].get("covar")


def ld_blocks_setting(cohort):
    c = COHORTS[cohort]
    return c.get("ld_blocks", "data" if is_toy(cohort) else "shipped")


def ld_blocks_source(cohort):
    """`matrices` (the blocks of `ld_matrices`), `shipped`, `data`, or `file` when the setting is a path to the
    user's block table."""
    if has_ld_matrices(cohort):
        return "matrices"
    setting = ld_blocks_setting(cohort)
    return setting if setting in ("shipped", "data") else "file"


def ld_blocks_table(cohort):
    if has_ld_matrices(cohort):
        return str(Path(COHORTS[cohort]["ld_matrices"]) / "blocks.tsv")
    return ld_blocks_setting(cohort) if ld_blocks_source(cohort) == "file" else None


def traits(cohort):
    """Traits analysed in a cohort: `traits`, else external sumstats keys plus phenotype columns."""
    c = COHORTS[cohort]
    if is_toy(cohort):
        return [f"trait{i + 1}" for i in range(ToyParams(**c["toy"]).n_traits)]
    if "traits" in c:
        return list(c["traits"])
    names = list(c.get("sumstats", {}))
    if "pheno" in c:
        if not Path(c["pheno"]).is_file():
            raise config_error(cohort, f"pheno: phenotype file {c['pheno']} does not exist; check the path")
        with open(c["pheno"]) as fh:
            header = fh.readline().split()
        names += [t for t in header[2:] if t not in names]
    return names


def phenotype_traits(cohort):
    """Traits with phenotypes (not only external summary statistics): the G->P and prediction stages' traits."""
    return [t for t in traits(cohort) if not external_sumstats(cohort, t)]


def external_sumstats(cohort, trait):
    """The config entry of a trait's external summary statistics, or None."""
    return COHORTS[cohort].get("sumstats", {}).get(trait)


def sumstats_source(wildcards):
    entry = external_sumstats(wildcards.cohort, wildcards.trait)
    return entry["path"] if entry else PATHS["gwas"].format(**wildcards)


def sumstats_options(wildcards):
    """Reader and harmoniser options: from the config for external files, the contract for our GWAS.

    Our own GWAS of the LD reference's own genotypes needs no strand resolution (same_genotypes);
    with a separate `ld_panel` it is harmonised like external statistics.
    """
    entry = external_sumstats(wildcards.cohort, wildcards.trait)
    common = dict(ambiguous_margin=config["harmonise"]["ambiguous_margin"],
                  ld_matrices=has_ld_matrices(wildcards.cohort))
    if entry is None:
        own_reference = not COHORTS[wildcards.cohort].get("ld_panel")
        return common | dict(fmt="generic", columns=None, n=None, allow_missing=True, match_by="id",
                             same_genotypes=own_reference)
    return common | dict(
        fmt=entry.get("format", "auto"),
        columns=entry.get("columns"),
        n=entry.get("n"),
        allow_missing=entry.get("allow_missing", False),
        match_by=entry.get("match_by", "auto"),
        same_genotypes=False,
    )


def gwas_description(cohort, trait):
    """Where a trait's statistics come from, in words (summary table and figure titles)."""
    entry = external_sumstats(cohort, trait)
    if entry:
        return f"external summary statistics {entry['path']}"
    gwas = config["gwas"]
    if gwas["model"] == "lmm":
        return "mixed model" + (" (LOCO)" if gwas["loco"] else "")
    return f"linear model, {gwas['engine']}"


def gene_table(cohort):
    """Gene table of a cohort, or None when it has none (the gene stages are then skipped).

    The toy cohort's own; else the cohort's `genes` (`none` = no gene stages); else the shipped table of
    its `build`; else none (e.g. a non-human cohort without a gene table).
    """
    if is_toy(cohort):
        return PATHS["toy_genes"].format(cohort=cohort)
    genes = COHORTS[cohort].get("genes")
    if genes == "none":
        return None
    if genes:
        return genes
    if "build" not in COHORTS[cohort]:
        return None
    from phenomap.genes.enrichment import shipped_gene_table  # here: scipy.stats would slow every start-up

    return str(shipped_gene_table(RESOURCES_DIR, COHORTS[cohort]["build"]))


def bfile_files(prefix):
    return [f"{prefix}{ext}" for ext in BFILE_EXT]


def cohort_blocks(cohort):
    """Block names of a cohort, known once the ld_blocks checkpoint ran."""
    table = checkpoints.ld_blocks.get(cohort=cohort).output.blocks
    with open(table) as fh:
        return [row["block"] for row in csv.DictReader(fh, delimiter="\t")]


def block_outputs(wildcards, template):
    """``template`` expanded over every block of the cohort (other wildcards filled in)."""
    return [template.format(**dict(wildcards.items()), block=b) for b in cohort_blocks(wildcards.cohort)]


def trait_outputs(wildcards, template):
    """``template`` expanded over every trait of the cohort."""
    return [template.format(cohort=wildcards.cohort, trait=t) for t in traits(wildcards.cohort)]


def training_blocks(wildcards, template):
    """``template`` over the blocks used for training: all, or `max_training_blocks` evenly spaced."""
    blocks = cohort_blocks(wildcards.cohort)
    cap = config["shrinkage"]["max_training_blocks"]
    if cap and cap < len(blocks):
        blocks = [blocks[round(i * (len(blocks) - 1) / (cap - 1))] for i in range(cap)] if cap > 1 else blocks[:1]
    return [template.format(cohort=wildcards.cohort, block=b) for b in blocks]


def total_block_variants(blocks_table):
    """Number of variants in all blocks (the denominator of each block's heritability share)."""
    with open(blocks_table) as fh:
        return sum(int(row["n_variants"]) for row in csv.DictReader(fh, delimiter="\t"))


def ld_block_mem_mb(wildcards, input):
    """Memory of one per-block LD job from the block's size (see phenomap.ld.matrix.block_ld_memory_mb)."""
    from phenomap.ld.matrix import block_ld_memory_mb

    with open(input.blocks) as fh:
        size = next(int(row["n_variants"]) for row in csv.DictReader(fh, delimiter="\t")
                    if row["block"] == wildcards.block)
    with open(input.geno[2]) as fh:
        n_samples = sum(1 for _ in fh)
    return block_ld_memory_mb(n_samples, size, config["ld"]["chunk_variants"])


def gwas_mem_mb(wildcards, input):
    """Memory of one GWAS job: `resources.gwas_mem_mb`, or more for a mixed model on many samples."""
    if config["gwas"]["model"] != "lmm":
        return config["resources"]["gwas_mem_mb"]
    from phenomap.gwas.lmm import lmm_memory_mb

    with open(input.geno[2]) as fh:
        n_samples = sum(1 for _ in fh)
    return max(config["resources"]["gwas_mem_mb"], lmm_memory_mb(n_samples, config["gwas"]["chunk_variants"]))


def gpatlas_outputs(cohort):
    """Final G-P Atlas outputs of a cohort with genotypes and phenotypes (none otherwise)."""
    if not config["gpatlas"]["enabled"] or not has_phenotypes(cohort):
        return []
    names = ["gpatlas_predictions", "gpatlas_metrics", "gpatlas_epistasis", "gpatlas_importance", "gpatlas_interactions",
             "gpatlas_pairs", "gpatlas_prediction_figure", "gpatlas_importance_figure"]
    return [PATHS[name].format(cohort=cohort) for name in names]


def grvsnn_folds_shape():
    """(repeats, folds) of the cross-validation: the user's fold file, else `grvsnn.repeats` x `grvsnn.folds`."""
    fold_file = config["grvsnn"]["fold_file"]
    if not fold_file:
        return config["grvsnn"]["repeats"], config["grvsnn"]["folds"]
    from phenomap.io.tables import read_sample_table

    table = read_sample_table(fold_file, what="fold")
    repeats = table["repeat"].nunique() if "repeat" in table.columns else 1
    return repeats, table.fold.nunique()


def grvsnn_fold_outputs(cohort, template):
    """PATHS[template] of every cross-validation fold job of a cohort."""
    repeats, folds = grvsnn_folds_shape()
    return [PATHS[template].format(cohort=cohort, repeat=r, fold=f) for r in range(repeats) for f in range(folds)]


def grvsnn_outputs(cohort):
    """Final GRVSNN outputs of a cohort with genotypes and phenotypes (none otherwise)."""
    if not config["grvsnn"]["enabled"] or not has_phenotypes(cohort):
        return []
    return [PATHS[name].format(cohort=cohort) for name in ("grvsnn_metrics", "grvsnn_comparison", "grvsnn_selection")]


def gpsearch_traits(cohort):
    """Traits searched in a cohort: `gpsearch.traits`, else every trait with phenotypes (none when disabled)."""
    if not config["gpsearch"]["enabled"] or not has_phenotypes(cohort):
        return []
    return config["gpsearch"]["traits"] or phenotype_traits(cohort)


def gpsearch_seed(replicate=None):
    """Seed of a trait's split (no replicate), or of replicate r's search: the split's + 1 + r."""
    seed = config["seed"] + SEED_OFFSETS["gpsearch"]
    return seed if replicate is None else seed + 1 + int(replicate)


def gpsearch_settings(wildcards):
    """SearchSettings keywords of one replicate's search (all but n_jobs, the job's threads)."""
    return {k: config["gpsearch"][k] for k in SEARCH_SETTINGS} | {"seed": gpsearch_seed(wildcards.replicate)}


def gpsearch_replicate_outputs(wildcards, template):
    """PATHS[template] of every search replicate of a cohort's trait."""
    return [PATHS[template].format(cohort=wildcards.cohort, trait=wildcards.trait, replicate=r)
            for r in range(config["gpsearch"]["replicates"])]


def gpsearch_outputs(cohort):
    """Final StarBASE-GP outputs of a cohort: consistency scores, QTL calls and figures of each searched trait."""
    names = ("gpsearch_consistency", "gpsearch_qtl", "gpsearch_manhattan", "gpsearch_hypervolume_figure",
             "gpsearch_pareto_figure")
    return [PATHS[name].format(cohort=cohort, trait=t) for t in gpsearch_traits(cohort) for name in names]


def gene_outputs(cohort, names):
    """Gene-test, gene-summary and gene-figure outputs of a cohort with a gene table (none otherwise)."""
    if gene_table(cohort) is None:
        return []
    out = [PATHS[template].format(cohort=cohort, trait=t) for template in ("gene_tests", "manhattan") for t in names]
    return out + [PATHS[name].format(cohort=cohort) for name in ("gene_summary", "gene_candidates", "gene_qq")]


def check_inputs():
    """Validate every cohort's config and input files before any job runs; print what was found (only the problems
    when there are any).

    Runs in the main snakemake process only (cluster jobs re-read the Snakefile and skip it).
    """
    problems, found = [], []
    try:
        check_grvsnn_settings(config["grvsnn"])
        check_gpsearch_settings(config["gpsearch"])
        if config["gpatlas"]["split_file"]:
            require_file(config["gpatlas"]["split_file"], "split file", "gpatlas.split_file")
    except ConfigError as err:
        problems.append(str(err))
    for cohort in COHORTS:
        try:
            check_cohort(cohort)
            if config["gpsearch"]["enabled"] and has_phenotypes(cohort):
                check_gpsearch_traits(cohort, config["gpsearch"]["traits"], phenotype_traits(cohort))
            if is_toy(cohort):
                continue
            notes = check_cohort_inputs(cohort, COHORTS[cohort], traits(cohort), config["gwas"]["covariates"])
            genes = gene_table(cohort)
            if genes is None:
                notes.append("no gene table (`genes: none`, or no `genes`/`build`): gene tests, gene summaries and "
                             "gene figures are skipped; every other stage runs")
            else:
                c = COHORTS[cohort]
                reference = c.get("ld_matrices") or c.get("ld_panel") or c["bfile"]
                if not (made_by_the_workflow(genes) or made_by_the_workflow(reference)):
                    notes += check_gene_table(genes, reference, window=config["genes"]["window"],
                                              ld_matrices=has_ld_matrices(cohort))
        except ConfigError as err:
            problems.append(str(err))
            continue
        found += [f"phenomap: cohort {cohort}: {note}" for note in notes]
    if problems:
        stop_with("\n".join(problems))
    for line in found:
        print(line, file=sys.stderr)


def cohort_outputs(cohort):
    """Every result file of one cohort except its summary."""
    names = traits(cohort)
    out = []
    if has_genotypes(cohort):
        out += [PATHS["qc_removed"].format(cohort=cohort), PATHS["qc_summary"].format(cohort=cohort)]
    out.append(PATHS["gwas_summary"].format(cohort=cohort))
    out += [PATHS["gwas_figure"].format(cohort=cohort, trait=t) for t in names]
    out += [PATHS[name].format(cohort=cohort) for name in ("ld_scores", "ld_figure", "shrinkage_figure")]
    out += [PATHS[name].format(cohort=cohort) for name in ("cluster_labels", "cluster_figures")]
    out += gene_outputs(cohort, names)
    out += gpatlas_outputs(cohort)
    out += grvsnn_outputs(cohort)
    out += gpsearch_outputs(cohort)
    return out


def summary_inputs(wildcards):
    """Named inputs of a cohort's summary: the tables of the stages that run for it, and its figures."""
    cohort = wildcards.cohort
    outputs = cohort_outputs(cohort)
    inputs = {"gwas": PATHS["gwas_summary"].format(cohort=cohort),
              "figures": [p for p in outputs if "/figures/" in p]}
    wanted = {"qc": "qc_summary", "candidates": "gene_candidates", "gpatlas": "gpatlas_metrics",
              "grvsnn": "grvsnn_comparison"}
    for key, name in wanted.items():
        path = PATHS[name].format(cohort=cohort)
        if path in outputs:
            inputs[key] = path
    if "candidates" in inputs:
        inputs["gene_tests"] = [PATHS["gene_tests"].format(cohort=cohort, trait=t) for t in traits(cohort)]
    inputs["qtl"] = [PATHS["gpsearch_qtl"].format(cohort=cohort, trait=t) for t in gpsearch_traits(cohort)]
    return inputs


def final_outputs():
    return [path for cohort in COHORTS for path in [*cohort_outputs(cohort), PATHS["cohort_summary"].format(cohort=cohort)]]


if workflow.is_main_process:
    check_inputs()
