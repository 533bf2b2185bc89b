# phenomap: from PLINK genotypes or GWAS summary statistics to genes, loci and predictions.
# Entry point only: configuration, rule files, and the default target. See README.md.
#
# Path contract (everything under results/<cohort>/):
#   input/     toy cohort files (simulated cohorts only)
#   qc/        genotypes.{bed,bim,fam} after QC (the LD reference of all later stages), removed.tsv
#   gwas/      <trait>.tsv  association results of the cohort's own GWAS
#   sumstats/  <trait>.tsv  harmonised summary statistics (contract columns), <trait>.harmonise.tsv
#   ld/        blocks.tsv, blocks/<block>.npz + .ldscore.tsv, ldscores.tsv
#   shrinkage/ sims/<block>.npz, model/ (ensemble), <trait>.tsv (sumstats + BETA_SHRUNK, BETA_SHRUNK_SD)
#   gpatlas/   split.tsv, {pheno,geno}_model.pt, *_curve.tsv, predictions.tsv, metrics.tsv,
#              importance.tsv, interactions.tsv (VIDA), interaction_pairs.tsv

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/ld.smk"
include: "workflow/rules/shrinkage.smk"
include: "workflow/rules/gpatlas.smk"


rule all:
    """Every output of every configured cohort."""
    default_target: True
    input:
        final_outputs(),
