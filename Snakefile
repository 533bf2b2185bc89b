# phenomap: from PLINK genotypes or GWAS summary statistics to genes, loci and predictions.
# Entry point only: configuration, rule files, and the default target. See README.md.
#
# Configuration: `--configfile my.yaml` runs exactly the cohorts of my.yaml, every key it leaves out
# taking the schema's default (workflow/schemas/config.schema.yaml). Without --configfile, the toy
# default config/config.yaml runs.
#
# Path contract (everything under results/<cohort>/):
#   input/     toy cohort files (simulated cohorts only)
#   qc/        genotypes.{bed,bim,fam} after QC (GWAS and individual-level stages), removed.tsv, summary.tsv;
#              qc/panel/ the same for a separate LD panel (`ld_panel`), the LD reference when given
#   gwas/      <trait>.tsv  association results of the cohort's own GWAS
#   sumstats/  <trait>.tsv  harmonised summary statistics (contract columns), <trait>.harmonise.tsv
#   summary/   gwas.tsv     per trait: source, variants kept, lambda_GC, top locus
#   ld/        blocks.tsv, blocks/<block>.npz + .ldscore.tsv, ldscores.tsv
#   shrinkage/ sims/<block>.npz, model/ (ensemble), <trait>.tsv (sumstats + BETA_SHRUNK, BETA_SHRUNK_SD)
#   clusters/  labels.tsv (per variant: scaled effects, cluster, posterior), mixture.json, types.tsv
#   genes/     enrichment/<trait>.tsv gene tests (stat, p, q), summary.tsv, candidates.tsv (cohorts with genes)
#   figures/   gwas/<trait>.png (Manhattan + QQ, lambda_GC), clusters/<a>__<b>.png, manhattan/<trait>.png, gene_qq.png
#   gpatlas/   split.tsv, {pheno,geno}_model.pt, *_curve.tsv, predictions.tsv, metrics.tsv,
#              importance.tsv, interactions.tsv (VIDA), interaction_pairs.tsv
#   grvsnn/    loadings.tsv, eigenvalues.tsv, folds.tsv, folds/r<repeat>_f<fold>/{metrics,selected,predictions}.tsv,
#              cv_metrics.tsv, comparison.tsv, selection.tsv; figures/grvsnn/{cv_r,selection}.png
#   gpsearch/  <trait>/{split,snpdb}.tsv, <trait>/r<replicate>/{pareto.tsv,pipelines.json,hypervolume.tsv,
#              importance.tsv,history.tsv,checkpoint.json}, <trait>/{snp_consistency,qtl}.tsv;
#              figures/gpsearch/<trait>/{consistency,hypervolume,pareto}.png

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/ld.smk"
include: "workflow/rules/shrinkage.smk"
include: "workflow/rules/clustering.smk"
include: "workflow/rules/gpatlas.smk"
include: "workflow/rules/grvsnn.smk"
include: "workflow/rules/gpsearch.smk"
include: "workflow/rules/report.smk"


rule all:
    """Every output of every configured cohort."""
    default_target: True
    input:
        final_outputs(),


onsuccess:
    summaries = [PATHS["cohort_summary"].format(cohort=c) for c in COHORTS]
    print("\nphenomap: finished. Start with each cohort's summary:", file=sys.stderr)
    for path in summaries:
        print(f"  {path}" + ("" if Path(path).exists() else " (not built by this run)"), file=sys.stderr)
    configfiles = "".join(f" {f}" for f in workflow.overwrite_configfiles)
    configfiles = f" --configfile{configfiles}" if configfiles else ""
    print(f"HTML report with every figure and its caption: snakemake{configfiles} --report results/report.html",
          file=sys.stderr)
