"""The ``phenomap`` command: scaffold a config for a new cohort (``init``) and check one (``validate``).

``phenomap init --bfile PREFIX --pheno FILE [--covar FILE] [--sumstats TRAIT=FILE ...]`` prints
(or writes, ``--out``) a commented config for the cohort: its traits and covariates, sample and
variant counts, the phenotyped samples found in the genotypes, and the species-appropriate LD-block
and gene choices (human chromosome positions: the shipped tables of the more likely build; anything
else: blocks from the data, no gene table).

``phenomap validate CONFIG`` runs the workflow's own start-up checks (schema, every input file,
sample overlap, gene table against the variants) without building or running any job: the same
checks ``snakemake`` runs first, so a config that validates starts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.config import sample_overlap_note
from phenomap.errors import InputError
from phenomap.io.plink import read_bim, read_fam
from phenomap.io.tables import SAMPLE_KEYS, read_sample_table

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
BUILDS = ("hg38", "hg19")


def guess_genome(variants: pd.DataFrame) -> tuple[str | None, str]:
    """(build or None, reason): the shipped human build whose genes contain the larger share of the
    variants' positions (``CHROM POS``, e.g. a .bim), or None when neither table fits the genome
    (another species, or no positions)."""
    from phenomap.genes.enrichment import assign_genes, check_gene_coordinates, read_gene_table

    variants = variants[["CHROM", "POS"]]
    shares = {}
    for build in BUILDS:
        genes = read_gene_table(RESOURCES / "genes" / f"genes.{build}.tsv")
        gene, _ = assign_genes(variants, genes, window=0)
        per_gene = np.bincount(gene, minlength=len(genes))
        try:
            check_gene_coordinates(genes, variants, per_gene, window=0, genes_source=f"{build} genes",
                                   variants_source="variants")
        except InputError:
            return None, "the positions do not fit the shipped human gene tables (another species or assembly)"
        shares[build] = float((per_gene > 0).mean())
    build = max(shares, key=shares.get)
    detail = ", ".join(f"{b} {s:.3f}" for b, s in shares.items())
    return build, f"share of shipped genes containing a variant: {detail} (the builds differ little: check it)"


def init_config(bfile: str | Path, pheno: str | Path, *, covar: str | Path | None = None,
                sumstats: dict[str, str] | None = None, cohort: str = "my_cohort") -> str:
    """A commented YAML config for one cohort (see the module text)."""
    fam, bim = read_fam(bfile), read_bim(bfile)
    table = read_sample_table(pheno, what="phenotype")
    traits = [c for c in table.columns if c not in SAMPLE_KEYS]
    found, _ = sample_overlap_note(fam, table, f"phenotype file {pheno}")
    build, reason = guess_genome(bim)
    lines = [
        f"# phenomap config for {cohort}, written by `phenomap init`; every key not set here takes the documented",
        "# default (workflow/schemas/config.schema.yaml). Check it with `phenomap validate <this file>`, run it with",
        "#   snakemake --profile profiles/local --configfile <this file>",
        f"# Genotypes: {len(fam):,} samples x {len(bim):,} variants on {bim.CHROM.nunique()} chromosomes; "
        f"phenotypes: {len(table):,} samples, {found:,} of them genotyped.",
        "cohorts:",
        f"  {cohort}:",
        f"    bfile: {bfile}",
        f"    pheno: {pheno}          # traits: {', '.join(traits)}",
    ]
    if covar:
        names = [c for c in read_sample_table(covar, what="covariate").columns if c not in SAMPLE_KEYS]
        lines.append(f"    covar: {covar}          # covariates: {', '.join(names)} "
                     "(all used; gwas.covariates to choose)")
    if sumstats:
        lines.append("    sumstats:")
        lines += [f"      {trait}: {{path: {path}, format: auto}}   # column maps for other layouts: config/README.md"
                  for trait, path in sumstats.items()]
    lines.append(f"    traits: [{', '.join(traits)}]   # the traits to analyse (at most 10 are clustered together)")
    if build:
        lines += [f"    build: {build}          # guessed: {reason}",
                  "    population: EUR        # ancestry of the shipped LD blocks: EUR, AFR, EAS or SAS",
                  "    # genes: the shipped table of `build` is used; `genes: none` skips the gene stages"]
    else:
        lines += [f"    ld_blocks: data        # {reason}: blocks are partitioned from the genotypes",
                  "    genes: none            # no gene table for this genome ships: give a TSV to run the gene stages"]
    lines += ["", "gwas:",
              "  model: linear         # `lmm` for related or structured cohorts (families, crosses, breeds)"]
    return "\n".join(lines) + "\n"


def validate(config: str | Path) -> int:
    """Run the workflow's start-up checks on ``config``; print what they found; 0 when it can run."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                           "--configfile", str(config), "--list-rules"], capture_output=True, text=True)
    findings = [line for line in proc.stderr.splitlines() if line.startswith(("phenomap", "config:", "("))]
    print("\n".join(findings or [proc.stderr.strip()]), file=sys.stderr)
    if proc.returncode == 0:
        print(f"phenomap: {config} is valid", file=sys.stderr)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phenomap", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="write a commented config for a cohort")
    init.add_argument("--bfile", required=True, help="PLINK prefix (.bed/.bim/.fam)")
    init.add_argument("--pheno", required=True, help="phenotype TSV: FID IID trait...")
    init.add_argument("--covar", help="covariate TSV: FID IID covariate...")
    init.add_argument("--sumstats", nargs="*", default=[], metavar="TRAIT=FILE", help="summary statistics per trait")
    init.add_argument("--cohort", default="my_cohort", help="cohort name in the config")
    init.add_argument("--out", help="write the config here (default: print it)")
    check = commands.add_parser("validate", help="check a config and its input files without running anything")
    check.add_argument("config")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.config)
    try:
        pairs = dict(item.split("=", 1) for item in args.sumstats)
        text = init_config(args.bfile, args.pheno, covar=args.covar, sumstats=pairs or None, cohort=args.cohort)
    except (InputError, ValueError) as err:
        print(f"phenomap init: {err}", file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).write_text(text)
        print(f"phenomap: wrote {args.out}; check it with `phenomap validate {args.out}`", file=sys.stderr)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
