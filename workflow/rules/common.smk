# Config validation, cohort lookups and input functions shared by all rule files.
# Each path template is defined once here (PATHS) and used through these helpers.

import csv
from pathlib import Path

from snakemake.utils import validate

from phenomap.mixture.dpgmm import MAX_TRAITS
from phenomap.seeds import SEED_OFFSETS  # every stochastic rule draws from seed + its offset
from phenomap.sim.cohort import ToyParams


validate(config, "../schemas/config.schema.yaml")

RESOURCES_DIR = Path(workflow.basedir) / "resources"
COHORTS = config["cohorts"]


PATHS = {
    "toy_genotypes": "results/{cohort}/input/genotypes",
    "toy_pheno": "results/{cohort}/input/pheno.tsv",
    "toy_covar": "results/{cohort}/input/covar.tsv",
    "toy_genes": "results/{cohort}/input/genes.tsv",
    "qc_genotypes": "results/{cohort}/qc/genotypes",
    "gwas": "results/{cohort}/gwas/{trait}.tsv",
    "sumstats": "results/{cohort}/sumstats/{trait}.tsv",
    "ld_blocks": "results/{cohort}/ld/blocks.tsv",
    "ld_block": "results/{cohort}/ld/blocks/{block}.npz",
    "ld_block_scores": "results/{cohort}/ld/blocks/{block}.ldscore.tsv",
    "ld_scores": "results/{cohort}/ld/ldscores.tsv",
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
    "gpatlas_importance": "results/{cohort}/gpatlas/importance.tsv",
    "gpatlas_interactions": "results/{cohort}/gpatlas/interactions.tsv",
    "gpatlas_pairs": "results/{cohort}/gpatlas/interaction_pairs.tsv",
}
# shrinkage config keys passed straight to phenomap.shrinkage.train.train_ensemble
TRAIN_OPTIONS = [
    "architecture", "n_models", "subset_fraction", "validation_fraction", "dropout",
    "epochs", "batch_size", "learning_rate", "patience", "device",
]
BFILE_EXT = [".bed", ".bim", ".fam"]


wildcard_constraints:
    cohort="|".join(COHORTS),
    trait=r"[A-Za-z0-9_.-]+",
    block=r"[0-9A-Za-z]+_[0-9]+",


def config_error(cohort, message):
    return ValueError(f"config: cohorts.{cohort}: {message} (see config/README.md)")


def is_toy(cohort):
    return "toy" in COHORTS[cohort]


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
    if "bfile" not in c and "ld_panel" not in c:
        raise config_error(cohort, "give `toy`, or `bfile` (genotypes), or `sumstats` with `ld_panel`")
    if "pheno" not in c and "sumstats" not in c:
        raise config_error(cohort, "give `pheno` (to run a GWAS) or `sumstats` (external results)")
    if "pheno" in c and "bfile" not in c:
        raise config_error(cohort, "`pheno` needs `bfile` genotypes to run a GWAS")
    if ld_blocks_source(cohort) == "shipped" and not {"build", "population"} <= set(c):
        raise config_error(cohort, "shipped LD blocks need `build` and `population` (or set ld_blocks: data)")
    if "genes" not in c and "build" not in c:
        raise config_error(cohort, "the gene tests need `genes` (your gene table) or `build` (the shipped table)")


def genotypes_prefix(cohort):
    """PLINK prefix of the cohort's own genotypes (simulated for toy cohorts)."""
    if is_toy(cohort):
        return PATHS["toy_genotypes"].format(cohort=cohort)
    return COHORTS[cohort].get("bfile")


def panel_prefix(cohort):
    """PLINK prefix of the LD reference: `ld_panel` if given, else the cohort genotypes."""
    return COHORTS[cohort].get("ld_panel") or genotypes_prefix(cohort)


def pheno_path(cohort):
    return PATHS["toy_pheno"].format(cohort=cohort) if is_toy(cohort) else COHORTS[cohort].get("pheno")


def covar_path(cohort):
    return PATHS["toy_covar"].format(cohort=cohort) if is_toy(cohort) else COHORTS[cohort].get("covar")


def ld_blocks_setting(cohort):
    c = COHORTS[cohort]
    return c.get("ld_blocks", "data" if is_toy(cohort) else "shipped")


def ld_blocks_source(cohort):
    """`shipped`, `data`, or `file` when the setting is a path to the user's block table."""
    setting = ld_blocks_setting(cohort)
    return setting if setting in ("shipped", "data") else "file"


def ld_blocks_table(cohort):
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
        with open(c["pheno"]) as fh:
            header = next(csv.reader(fh, delimiter="\t"))
        names += [t for t in header[2:] if t not in names]
    return names


def external_sumstats(cohort, trait):
    """The config entry of a trait's external summary statistics, or None."""
    return COHORTS[cohort].get("sumstats", {}).get(trait)


def sumstats_source(wildcards):
    entry = external_sumstats(wildcards.cohort, wildcards.trait)
    return entry["path"] if entry else PATHS["gwas"].format(**wildcards)


def sumstats_options(wildcards):
    """Reader options: from the config for external files, contract defaults for our GWAS."""
    entry = external_sumstats(wildcards.cohort, wildcards.trait)
    if entry is None:
        return dict(fmt="generic", columns=None, n=None, allow_missing=True, match_by="id")
    return dict(
        fmt=entry.get("format", "auto"),
        columns=entry.get("columns"),
        n=entry.get("n"),
        allow_missing=entry.get("allow_missing", False),
        match_by=entry.get("match_by", "auto"),
    )


def gene_table(cohort):
    """Gene table of a cohort: the toy cohort's own, the cohort's `genes`, or the shipped one of its `build`."""
    if is_toy(cohort):
        return PATHS["toy_genes"].format(cohort=cohort)
    if "genes" in COHORTS[cohort]:
        return COHORTS[cohort]["genes"]
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


def gpatlas_genotypes(wildcards):
    """G-P Atlas input: the cohort's QC'd genotypes, unless QC ran on a separate LD panel."""
    if COHORTS[wildcards.cohort].get("ld_panel"):
        return bfile_files(genotypes_prefix(wildcards.cohort))
    return bfile_files(PATHS["qc_genotypes"].format(cohort=wildcards.cohort))


def gpatlas_outputs(cohort):
    """Final G-P Atlas outputs of a cohort with genotypes and phenotypes (none otherwise)."""
    c = COHORTS[cohort]
    if not config["gpatlas"]["enabled"] or not (is_toy(cohort) or ("bfile" in c and "pheno" in c)):
        return []
    names = ["gpatlas_predictions", "gpatlas_metrics", "gpatlas_importance", "gpatlas_interactions", "gpatlas_pairs"]
    return [PATHS[name].format(cohort=cohort) for name in names]


def final_outputs():
    out = []
    for cohort in COHORTS:
        check_cohort(cohort)
        names = traits(cohort)  # reads the phenotype header when the config lists no traits
        out.append(f"results/{cohort}/qc/removed.tsv")
        out += [PATHS["sumstats"].format(cohort=cohort, trait=t) for t in names]
        out.append(PATHS["ld_scores"].format(cohort=cohort))
        out += [PATHS["gene_tests"].format(cohort=cohort, trait=t) for t in names]
        out += [PATHS["manhattan"].format(cohort=cohort, trait=t) for t in names]
        out += [PATHS[name].format(cohort=cohort)
                for name in ("cluster_labels", "gene_summary", "gene_candidates", "cluster_figures", "gene_qq")]
        out += gpatlas_outputs(cohort)
    return out
