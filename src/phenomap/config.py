"""The workflow configuration: schema validation with one-line errors, and start-up checks of input files.

:func:`validate_config` fills the schema's defaults into the config and reports every schema
violation as one line naming the key path (``shrinkage.epochs``), what is wrong, and a "did
you mean" for near misses of key names and choices. :func:`check_cohort_inputs` checks what
can be checked of a cohort's files before any job runs (files exist, trait and covariate
columns exist, phenotyped samples are genotyped) and returns notes to print.
"""

from __future__ import annotations

import copy
import difflib
import gzip
import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from jsonschema import Draft202012Validator, validators

from phenomap.errors import InputError
from phenomap.io.plink import read_fam
from phenomap.io.tables import SAMPLE_KEYS, read_sample_table


class ConfigError(InputError):
    """The configuration breaks the schema or names unusable inputs (one problem per line)."""


def _with_defaults(validator_class):
    """A validator class that fills ``default`` values of missing properties before validating them."""
    check_properties = validator_class.VALIDATORS["properties"]

    def fill_then_check(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": fill_then_check})


DefaultFillingValidator = _with_defaults(Draft202012Validator)


def load_schema(path: str | Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def validate_config(config: dict, schema: Mapping) -> dict:
    """Fill defaults into ``config`` (in place) and raise ConfigError listing every schema violation.

    Each line reads ``config: <key.path>: <problem>``, e.g.
    ``config: shrinkage.epoch: unknown key; did you mean 'epochs'?``. Returns ``config``.
    """
    validator = DefaultFillingValidator(schema)
    problems = sorted({_describe(error) for error in validator.iter_errors(config)})
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _key_path(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _describe(error) -> str:
    """One line for one jsonschema error: key path, problem, and a suggestion where one fits."""
    where = _key_path(error.absolute_path)
    kind, value, schema = error.validator, error.instance, error.schema
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        unknown = [key for key in value if key not in allowed]
        lines = []
        for key in unknown:
            prefix = f"{where}.{key}" if error.absolute_path else key
            hint = _suggest(key, allowed) or (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
            lines.append(f"config: {prefix}: unknown key{hint}")
        return "\n".join(lines)
    if kind == "required":
        missing = [key for key in error.validator_value if key not in value]
        return f"config: {where}: missing required key(s) {', '.join(missing)}"
    if kind == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return f"config: {where}: {_short(value)} is not one of {choices}{_suggest(value, error.validator_value)}"
    if kind == "type":
        return f"config: {where}: {_short(value)} is not of type {error.validator_value}"
    if kind in ("oneOf", "anyOf"):
        options = " or ".join(_schema_summary(option) for option in error.validator_value)
        return f"config: {where}: {_short(value)} must be {options}"
    if kind == "pattern" or (kind == "propertyNames"):
        return f"config: {where}: {_short(value)} does not match {error.validator_value!r}"
    return f"config: {where}: {error.message if len(error.message) < 160 else _short(value) + ' is invalid'}"


def _schema_summary(schema: Mapping) -> str:
    """A few words for a sub-schema of a oneOf: ``null``, ``a number >= 0``, ``a list of numbers``."""
    kind = schema.get("type", "value")
    if kind == "null":
        return "null"
    bounds = [f"{op} {schema[key]}" for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                  ("maximum", "<="), ("exclusiveMaximum", "<")) if key in schema]
    words = {"integer": "an integer", "number": "a number", "string": "a string", "array": "a list",
             "boolean": "true/false", "object": "a mapping"}.get(kind, kind)
    return " ".join([words, *bounds])


# --- start-up checks of a cohort's input files -------------------------------------------------------

#: Folder of the workflow's outputs: an input there (e.g. another cohort's results) is made by the run
#: itself and is checked by the job that reads it.
RESULTS_DIR = "results"


def made_by_the_workflow(path: str | Path) -> bool:
    """True for a relative path under ``results/``, which a job of this workflow writes."""
    parts = Path(path).parts
    return bool(parts) and parts[0] == RESULTS_DIR


def require_file(path: str | Path, what: str, key: str) -> Path:
    """``path`` if it exists (or a later job writes it under ``results/``); else ConfigError naming ``key``."""
    path = Path(path)
    if made_by_the_workflow(path):
        return path
    if not path.is_file():
        raise ConfigError(f"config: {key}: {what} {path} does not exist; check the path (relative paths are "
                          "read from the directory snakemake runs in).")
    return path


def check_bfile(prefix: str, key: str) -> None:
    """Raise ConfigError naming every missing file of a PLINK fileset ``prefix``."""
    if made_by_the_workflow(prefix):
        return
    missing = [f"{prefix}.{ext}" for ext in ("bed", "bim", "fam") if not Path(f"{prefix}.{ext}").is_file()]
    if missing:
        raise ConfigError(f"config: {key}: PLINK fileset {prefix!r} lacks {', '.join(missing)}; give the prefix "
                          "without extension, with .bed, .bim and .fam side by side.")


def sample_overlap_note(fam: pd.DataFrame, table: pd.DataFrame, source: str) -> tuple[int, str]:
    """Number of ``table`` samples found in the .fam (joined on FID and IID) and a note describing the overlap.

    Raises ConfigError when no sample is shared, with a hint when the IIDs match but the FIDs do not.
    """
    keys = pd.MultiIndex.from_frame(table[SAMPLE_KEYS].astype(str))
    found = keys.isin(pd.MultiIndex.from_frame(fam[SAMPLE_KEYS].astype(str)))
    n_found = int(found.sum())
    iid_only = int((~found & table.IID.astype(str).isin(set(fam.IID.astype(str)))).sum())
    hint = ""
    if iid_only:
        hint = (f" {iid_only} of the others have an IID that is in the .fam under another FID (e.g. "
                f"{table.FID[~found & table.IID.isin(fam.IID)].iloc[0]!r} here vs "
                f"{fam.FID[fam.IID == table.IID[~found & table.IID.isin(fam.IID)].iloc[0]].iloc[0]!r} in the .fam): "
                "samples are matched on both FID and IID, so write the .fam's FIDs into this file.")
    if n_found == 0:
        raise ConfigError(f"config: {source} shares no sample with the genotypes (matched on FID and IID): .fam has "
                          f"e.g. {list(zip(fam.FID[:2], fam.IID[:2]))}, this file "
                          f"{list(zip(table.FID[:2], table.IID[:2]))}.{hint}")
    note = (f"{source}: {n_found} of its {len(table)} samples are genotyped ({len(fam)} in the .fam; "
            f"{len(fam) - n_found} genotyped samples have no row).{hint}")
    return n_found, note


def check_cohort_inputs(name: str, cohort: Mapping, traits: list[str], covariates: list[str] | None) -> list[str]:
    """Check a real cohort's input files before any job runs; return notes for the console.

    Checks that every configured file exists; that the phenotype file parses (numeric columns,
    unique samples), holds every analysed trait (those without external summary statistics)
    with at least 3 values, and shares samples with the .fam (counts reported; a hint when
    FIDs differ but IIDs match); the same for the covariate file and ``gwas.covariates``; and
    that every external summary-statistics file exists.
    """
    key = f"cohorts.{name}"
    notes: list[str] = []
    for field in ("bfile", "ld_panel"):
        if field in cohort:
            check_bfile(cohort[field], f"{key}.{field}")
    for field, what in (("pedigree", "pedigree file"), ("relationship", "relationship matrix file")):
        if field in cohort:
            require_file(cohort[field], what, f"{key}.{field}")
    if cohort.get("genes") not in (None, "none"):
        require_file(cohort["genes"], "gene table", f"{key}.genes")
    if cohort.get("ld_blocks") not in (None, "shipped", "data"):
        require_file(cohort["ld_blocks"], "LD block table", f"{key}.ld_blocks")
    for trait, entry in cohort.get("sumstats", {}).items():
        require_file(entry["path"], "summary-statistics file", f"{key}.sumstats.{trait}.path")
    if "ld_matrices" in cohort:
        notes.append(check_ld_matrix_inputs(cohort["ld_matrices"], cohort.get("sumstats", {}), key))
    gwas_traits = [t for t in traits if t not in cohort.get("sumstats", {})]
    if "pheno" not in cohort:
        return notes
    fam = read_fam(cohort["bfile"])
    pheno_path = require_file(cohort["pheno"], "phenotype file", f"{key}.pheno")
    try:
        pheno = read_sample_table(pheno_path, what="phenotype")
    except InputError as err:
        raise ConfigError(f"config: {key}.pheno: {err}") from None
    absent = [t for t in gwas_traits if t not in pheno.columns]
    if absent:
        columns = [c for c in pheno.columns if c not in SAMPLE_KEYS]
        hints = "".join(_suggest(t, columns) for t in absent[:1])
        raise ConfigError(f"config: {key}.traits: trait(s) {', '.join(absent)} not in the phenotype file {pheno_path} "
                          f"(its columns: {', '.join(columns)}){hints}")
    _, note = sample_overlap_note(fam, pheno, f"phenotype file {pheno_path}")
    notes.append(note)
    genotyped = pheno.set_index(SAMPLE_KEYS).index.isin(fam.set_index(SAMPLE_KEYS[:2]).index)
    for trait in gwas_traits:
        values = pheno.loc[genotyped, trait].dropna()
        if len(values) < 3 or values.nunique() < 2:
            raise ConfigError(f"config: {key}: trait {trait!r} has {len(values)} values among genotyped samples"
                              + (" and no variance" if len(values) >= 3 else "")
                              + f" in {pheno_path}; remove it from `traits` or fix the file.")
    if "covar" in cohort:
        covar_path = require_file(cohort["covar"], "covariate file", f"{key}.covar")
        try:
            covar = read_sample_table(covar_path, what="covariate")
        except InputError as err:
            raise ConfigError(f"config: {key}.covar: {err}") from None
        columns = [c for c in covar.columns if c not in SAMPLE_KEYS]
        absent = [c for c in (covariates or []) if c not in columns]
        if absent:
            raise ConfigError(f"config: gwas.covariates: covariate(s) {', '.join(absent)} not in the covariate file "
                              f"{covar_path} of cohort {name} (its columns: {', '.join(columns)})"
                              + _suggest(absent[0], columns))
        _, note = sample_overlap_note(fam, covar, f"covariate file {covar_path}")
        notes.append(note)
    return notes


def check_ld_matrix_inputs(directory: str, sumstats: Mapping, key: str) -> str:
    """Validate an LD-matrix directory (:func:`phenomap.ld.matrices.check_ld_matrices`) and that every
    summary-statistics file has the A1 frequencies the training simulation then needs; return a note."""
    from phenomap.ld.matrices import check_ld_matrices

    try:
        variants = check_ld_matrices(directory)
    except InputError as err:
        raise ConfigError(f"config: {key}.ld_matrices: {err}") from None
    for trait, entry in sumstats.items():
        column = (entry.get("columns") or {}).get("A1_FREQ", "A1_FREQ")
        with (gzip.open if entry["path"].endswith(".gz") else open)(entry["path"], "rt") as fh:
            header = fh.readline()
        if column not in re.split(r"[\s,]+", header.strip()):
            raise ConfigError(f"config: {key}.sumstats.{trait}: {entry['path']} has no allele-frequency column "
                              f"{column!r}; with `ld_matrices` the frequencies come from the summary statistics: "
                              "add the column or map it with columns: {A1_FREQ: <column>}.")
    return (f"LD matrices {directory}: {variants.block.nunique():,} blocks, {len(variants):,} variants "
            "(checked: files, shapes, symmetry, positive semi-definiteness, IDs, alleles, positions)")


def check_gene_table(genes_path: str | Path, reference: str, *, window: int, ld_matrices: bool = False) -> list[str]:
    """Check a gene table against the variant positions of the LD reference before any job runs: a fileset's
    .bim (``reference`` a PLINK prefix) or, with ``ld_matrices``, the variants of an LD-matrix directory.

    Raises ConfigError when the table cannot be read or its coordinates are not on the genome
    and build of the variants (:func:`phenomap.genes.enrichment.check_gene_coordinates`);
    returns a note with the number of genes containing a variant.
    """
    from phenomap.genes.enrichment import assign_genes, check_gene_coordinates, read_gene_table
    from phenomap.io.plink import read_bim
    from phenomap.ld.matrices import matrix_variants

    try:
        genes = read_gene_table(genes_path)
        variants = (matrix_variants(reference) if ld_matrices else read_bim(reference))[["CHROM", "POS"]]
        gene, _ = assign_genes(variants, genes, window=window)
        per_gene = np.bincount(gene, minlength=len(genes))
        check_gene_coordinates(genes, variants, per_gene, window=window, genes_source=f"gene table {genes_path}",
                               variants_source=f"variants of {reference}" + ("" if ld_matrices else ".bim"))
    except InputError as err:
        raise ConfigError(f"config: genes: {err}") from None
    return [f"gene table {genes_path}: {int((per_gene > 0).sum()):,} of {len(genes):,} genes contain a variant"]


def check_grvsnn_settings(grvsnn: Mapping) -> None:
    """Raise ConfigError for a missing fold file, or GRVSNN hyperparameters or baseline settings the library
    would reject."""
    from phenomap.grvsnn.baselines import make_settings
    from phenomap.grvsnn.train import Hyperparameters

    if grvsnn["fold_file"]:
        require_file(grvsnn["fold_file"], "fold file", "grvsnn.fold_file")
    try:
        Hyperparameters(**{f.name: grvsnn[f.name] for f in fields(Hyperparameters)})
        for method, settings in grvsnn["baselines"].items():
            make_settings(method, settings)
    except (InputError, TypeError) as err:
        raise ConfigError(f"config: grvsnn: {err}") from None


def check_gpsearch_settings(gpsearch: Mapping) -> None:
    """Raise ConfigError for search settings the library would reject (e.g. min_snps above max_snps)."""
    from phenomap.gpsearch.nsga import SearchSettings

    try:
        SearchSettings(**{f.name: gpsearch[f.name] for f in fields(SearchSettings) if f.name in gpsearch})
    except InputError as err:
        raise ConfigError(f"config: gpsearch: {err}") from None


def check_gpsearch_traits(cohort: str, wanted: list[str] | None, available: list[str]) -> None:
    """Raise ConfigError when `gpsearch.traits` names a trait without phenotypes in a cohort that runs the search."""
    unknown = [t for t in wanted or [] if t not in available]
    if unknown:
        raise ConfigError(f"config: gpsearch.traits: cohort {cohort} has no phenotypes for {unknown} "
                          f"(its traits: {', '.join(available)}){_suggest(unknown[0], available)}")
