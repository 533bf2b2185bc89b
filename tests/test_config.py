"""Configuration: schema errors one line each with a suggestion, defaults filled, start-up checks of input files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phenomap.config import ConfigError, check_cohort_inputs, check_gene_table, load_schema, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def cohort_config(**cohort) -> dict:
    return {"cohorts": {"mine": {"bfile": "x", "pheno": "y", **cohort}}}


def test_validate_config__fills_every_default_from_the_schema():
    config = validate_config(cohort_config(), SCHEMA)
    assert config["seed"] == 20261125
    assert config["shrinkage"]["n_models"] == 10 and config["shrinkage"]["grid"]["h2"] == [0.3, 0.7]
    assert config["gwas"]["model"] == "linear" and config["gwas"]["loco"] is True
    assert config["gpatlas"]["vida"]["max_loci"] == 3000
    assert config["harmonise"]["ambiguous_margin"] == 0.1


@pytest.mark.parametrize("config, expected", [
    ({"shrinkage": {"epoch": 3}}, "config: shrinkage.epoch: unknown key; did you mean 'epochs'?"),
    ({"gwas": {"model": "lmn"}}, "config: gwas.model: 'lmn' is not one of linear, lmm; did you mean 'lmm'?"),
    ({"qc": {"min_maf": "low"}}, "config: qc.min_maf: 'low' is not of type number"),
    ({"shrinkage": {"sim_n": -4}}, "config: shrinkage.sim_n: -4 must be null or an integer >= 10"),
    ({"clusterin": {}}, "config: clusterin: unknown key; did you mean 'clustering'?"),
    ({"cohorts": {"mine": {"bfile": "x", "phen": "y"}}}, "config: cohorts.mine.phen: unknown key; did you mean 'pheno'?"),
    ({"cohorts": {}}, "config: cohorts: {} should be non-empty"),
])
def test_validate_config__one_line_per_error_with_key_path_and_suggestion(config, expected):
    config = {"cohorts": {"mine": {"bfile": "x"}}} | config
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert str(err.value) == expected


def test_validate_config__reports_every_error_not_only_the_first():
    config = cohort_config() | {"qc": {"hwe": 1e-6, "min_maf": 2}, "ld": {"windw": 50}}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    lines = str(err.value).splitlines()
    assert lines == [
        "config: ld.windw: unknown key; did you mean 'window'?",
        "config: qc.hwe: unknown key; did you mean 'hwe_p'?",
        "config: qc.min_maf: 2 is greater than the maximum of 0.5",
    ]


@pytest.fixture
def cohort_files(tmp_path, write_plink, rng) -> dict[str, str]:
    """A 6-sample fileset, a phenotype file (one sample not genotyped) and a covariate file."""
    G = rng.binomial(2, 0.4, size=(6, 5)).astype(float)
    prefix = write_plink(G)
    ids = [f"s{i}" for i in range(6)]
    pheno = pd.DataFrame({"FID": ids[1:] + ["z"], "IID": ids[1:] + ["z"], "height": [1.0, 2, 3, 4, 5, 6],
                          "flat": 1.0})
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"FID": ids, "IID": ids, "sex": [0, 1, 0, 1, 0, 1.0]}).to_csv(tmp_path / "covar.tsv", sep="\t",
                                                                                index=False)
    return {"bfile": prefix, "pheno": str(tmp_path / "pheno.tsv"), "covar": str(tmp_path / "covar.tsv")}


def test_check_cohort_inputs__counts_the_sample_overlap(cohort_files):
    notes = check_cohort_inputs("mine", cohort_files, ["height"], ["sex"])
    assert notes[0].endswith("5 of its 6 samples are genotyped (6 in the .fam; 1 genotyped samples have no row).")
    assert "6 of its 6 samples are genotyped" in notes[1]


@pytest.mark.parametrize("traits, covariates, message", [
    (["heigth"], None, r"trait\(s\) heigth not in the phenotype file .* did you mean 'height'\?"),
    (["flat"], None, r"trait 'flat' has 5 values among genotyped samples and no variance"),
    (["height"], ["age"], r"gwas.covariates: covariate\(s\) age not in the covariate file .*columns: sex\)"),
])
def test_check_cohort_inputs__names_missing_columns_and_unusable_traits(cohort_files, traits, covariates, message):
    with pytest.raises(ConfigError, match=message):
        check_cohort_inputs("mine", cohort_files, traits, covariates)


def test_check_cohort_inputs__hints_when_iids_match_under_other_fids(cohort_files, tmp_path):
    pheno = pd.read_csv(cohort_files["pheno"], sep="\t").assign(FID="FAM1")
    pheno.to_csv(tmp_path / "pheno_fid.tsv", sep="\t", index=False)
    files = cohort_files | {"pheno": str(tmp_path / "pheno_fid.tsv")}
    with pytest.raises(ConfigError, match=r"shares no sample .* 5 of the others have an IID that is in the \.fam "
                                          r"under another FID \(e\.g\. 'FAM1' here vs 's1' in the \.fam\)"):
        check_cohort_inputs("mine", files, ["height"], None)


@pytest.mark.parametrize("key, value, message", [
    ("bfile", "nowhere/geno", r"cohorts\.mine\.bfile: PLINK fileset 'nowhere/geno' lacks nowhere/geno\.bed"),
    ("covar", "nowhere.tsv", r"cohorts\.mine\.covar: covariate file nowhere\.tsv does not exist"),
    ("genes", "nowhere.tsv", r"cohorts\.mine\.genes: gene table nowhere\.tsv does not exist"),
    ("ld_blocks", "blocks.bed", r"cohorts\.mine\.ld_blocks: LD block table blocks\.bed does not exist"),
    ("pedigree", "ped.tsv", r"cohorts\.mine\.pedigree: pedigree file ped\.tsv does not exist"),
])
def test_check_cohort_inputs__names_the_missing_file_and_its_key(cohort_files, key, value, message):
    with pytest.raises(ConfigError, match=message):
        check_cohort_inputs("mine", cohort_files | {key: value}, ["height"], None)


def _schema_defaults(section: str) -> dict:
    defaults = {}
    for key, sub in SCHEMA["properties"][section]["properties"].items():
        if "default" in sub:
            defaults[key] = sub["default"]
        for inner, inner_sub in sub.get("properties", {}).items():
            if "default" in inner_sub:
                defaults[inner] = inner_sub["default"]
    return defaults


def test_config_yaml__every_value_unlike_the_schema_default_is_marked_as_a_toy_override():
    """One place for each default: config/config.yaml differs from the schema only where it says so."""
    import yaml

    text = (REPO / "config/config.yaml").read_text().splitlines()
    config = yaml.safe_load("\n".join(text))
    unmarked = []
    for section, values in config.items():
        if section in ("cohorts", "seed") or not isinstance(values, dict):
            continue
        defaults = _schema_defaults(section)
        flat = {k: v for k, v in values.items() if not isinstance(v, dict)}
        flat |= {k: v for inner in values.values() if isinstance(inner, dict) for k, v in inner.items()}
        for key, value in flat.items():
            if key in defaults and value != defaults[key]:
                start = text.index(f"{section}:")
                end = next((i for i in range(start + 1, len(text)) if text[i][:1].isalpha()), len(text))
                line = next(line for line in text[start:end] if line.strip().startswith(f"{key}:"))
                if "toy override" not in line:
                    unmarked.append(f"{section}.{key}")
    assert not unmarked


@pytest.mark.parametrize("section, function", [
    ("qc", "phenomap.qc:run_qc"), ("gwas", "phenomap.gwas:run_gwas"), ("gwas", "phenomap.gwas.lmm:run_lmm_gwas"),
    ("ld", "phenomap.ld.blocks:make_ld_blocks"), ("ld", "phenomap.ld.matrix:block_ld"),
    ("clustering", "phenomap.mixture.dpgmm:fit_dpgmm"), ("genes", "phenomap.genes.summary:summarise_genes"),
    ("gpatlas", "phenomap.gpatlas.train:Settings"), ("gpatlas", "phenomap.gpatlas.pipeline:run_evaluation"),
    ("harmonise", "phenomap.io.sumstats:harmonise_sumstats"),
    ("gpsearch", "phenomap.gpsearch.nsga:SearchSettings"),
    ("gpsearch", "phenomap.gpsearch.files:write_split_and_snpdb"),
    ("gpsearch", "phenomap.gpsearch.files:run_replicate"),
    ("gpsearch", "phenomap.gpsearch.files:summarise_replicates"),
    ("gpsearch", "phenomap.gpsearch.consistency:write_consistency"),
    ("gpsearch", "phenomap.gpsearch.consistency:write_replicate_summary"),
])
def test_library_defaults__equal_the_schema_defaults(section, function):
    import importlib
    import inspect

    module, name = function.split(":")
    signature = inspect.signature(getattr(importlib.import_module(module), name))
    aliases = {"chunk": "chunk_variants", "adjust": "ldscore_adjust"}
    if section == "gpsearch":
        aliases |= {"top": "qtl_top", "window": "qtl_window", "n_repeats": "importance_repeats"}
    defaults = _schema_defaults(section)
    differing = {}
    for parameter in signature.parameters.values():
        key = aliases.get(parameter.name, parameter.name)
        if parameter.default is inspect.Parameter.empty or key not in defaults:
            continue
        value = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
        if value != defaults[key]:
            differing[parameter.name] = (value, defaults[key])
    assert not differing


def test_library_defaults__are_compared_for_every_gpsearch_key_they_share():
    """The table above covers the search: each of these keys is a parameter of a compared function."""
    import inspect

    from phenomap.gpsearch.files import run_replicate, summarise_replicates, write_split_and_snpdb
    from phenomap.gpsearch.nsga import SearchSettings

    names = {p for f in (SearchSettings, write_split_and_snpdb, run_replicate, summarise_replicates)
             for p in inspect.signature(f).parameters}
    shared = {"population", "generations", "min_snps", "max_snps", "mode", "crossover_prob", "mutation_prob",
              "smart_prob", "node_mutation_prob", "selectors", "regressors", "validation_fraction", "bin_size",
              "top_fraction", "p_threshold", "importance_repeats", "top", "window"}
    assert shared <= names, shared - names


def test_check_gpsearch_settings__names_what_the_search_would_reject():
    from phenomap.config import check_gpsearch_settings

    gpsearch = validate_config(cohort_config(), SCHEMA)["gpsearch"]
    check_gpsearch_settings(gpsearch)
    with pytest.raises(ConfigError, match=r"^config: gpsearch: need 1 <= min_snps <= max_snps, got 50 and 20\.$"):
        check_gpsearch_settings(gpsearch | {"max_snps": 20})


def test_check_grvsnn_settings__names_bad_keys_values_and_missing_fold_files(tmp_path):
    from phenomap.config import check_grvsnn_settings

    grvsnn = validate_config(cohort_config(), SCHEMA)["grvsnn"]
    check_grvsnn_settings(grvsnn)
    with pytest.raises(ConfigError, match=r"config: grvsnn: unknown bayescpi setting\(s\) \['n_iters'\]"):
        check_grvsnn_settings(grvsnn | {"baselines": {"bayescpi": {"n_iters": 100}}})
    with pytest.raises(ConfigError, match=r"config: grvsnn: unknown baseline 'ridged'"):
        check_grvsnn_settings(grvsnn | {"baselines": {"ridged": {}}})
    with pytest.raises(ConfigError, match=r"config: grvsnn.fold_file: fold file .*nowhere.tsv does not exist"):
        check_grvsnn_settings(grvsnn | {"fold_file": str(tmp_path / "nowhere.tsv")})


def test_check_gene_table__counts_genes_with_a_variant_of_the_ld_matrices(tmp_path):
    ld = tmp_path / "ld"
    ld.mkdir()
    (ld / "blocks.tsv").write_text("chrom\tstart\tstop\tblock\n1\t0\t1000\tb1\n")
    np.savez(ld / "b1.npz", r=np.eye(2), ids=["v1", "v2"], a1=["A", "C"], a2=["G", "T"], pos=[150, 600], n=100)
    genes = tmp_path / "genes.tsv"
    genes.write_text("gene_id\tsymbol\tchrom\tstart\tstop\n1\tG1\t1\t100\t200\n2\tG2\t1\t300\t400\n")
    assert check_gene_table(genes, str(ld), window=0, ld_matrices=True) == [
        f"gene table {genes}: 1 of 2 genes contain a variant"]
