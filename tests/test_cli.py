"""`phenomap init` writes a config that validates; `phenomap validate` runs the workflow's start-up checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from phenomap.cli import REPO, guess_genome, init_config, main
from phenomap.config import load_schema, validate_config
from phenomap.genes.enrichment import read_gene_table
from phenomap.io.plink import read_bim
from phenomap.io.tables import write_tsv
from phenomap_testing import make_fam


def fileset(write_plink, rng, chrom, pos, n=60):
    """A fileset with variants at ``chrom``/``pos`` and random genotypes; returns its prefix."""
    order = np.lexsort((pos, pd.Series(chrom).astype(int)))
    bim = pd.DataFrame({"CHROM": np.asarray(chrom)[order], "ID": [f"v{i}" for i in range(len(pos))], "CM": 0.0,
                        "POS": np.asarray(pos)[order], "A1": "A", "A2": "G"})
    return write_plink(rng.binomial(2, 0.3, size=(n, len(pos))).astype(float), bim=bim)


@pytest.mark.parametrize("build", ["hg19", "hg38"])
def test_build_guess_is_the_build_whose_genes_hold_the_variants(write_plink, rng, build):
    genes = read_gene_table(REPO / f"resources/genes/genes.{build}.tsv")
    genes = genes[genes.chrom.isin([str(c) for c in range(1, 23)])].sample(4000, random_state=1)
    prefix = fileset(write_plink, rng, genes.chrom.to_numpy(), ((genes.start + genes.stop) // 2).to_numpy())
    guessed, reason = guess_genome(read_bim(prefix))
    assert guessed == build, reason


def test_non_human_positions_get_blocks_from_the_data_and_no_genes(write_plink, rng):
    chrom = np.repeat(np.arange(1, 20), 300)
    pos = np.concatenate([np.sort(rng.integers(1, 600_000_000, 300)) for _ in range(19)])  # 3x longer than human
    prefix = fileset(write_plink, rng, chrom.astype(str), pos)
    assert guess_genome(read_bim(prefix))[0] is None


def test_init_writes_a_config_that_validates_and_validate_names_problems(write_plink, rng, tmp_path, capsys):
    genes = read_gene_table(REPO / "resources/genes/genes.hg38.tsv")
    genes = genes[genes.chrom.isin([str(c) for c in range(1, 23)])].sample(3000, random_state=2)
    prefix = fileset(write_plink, rng, genes.chrom.to_numpy(), ((genes.start + genes.stop) // 2).to_numpy(), n=80)
    fam = make_fam(80)
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "height": rng.normal(size=80),
                            "bmi": rng.normal(size=80)}).iloc[5:], tmp_path / "pheno.tsv")
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": rng.normal(size=80)}), tmp_path / "covar.tsv")
    out = tmp_path / "cohort.yaml"
    assert main(["init", "--bfile", prefix, "--pheno", str(tmp_path / "pheno.tsv"), "--covar",
                 str(tmp_path / "covar.tsv"), "--cohort", "study", "--out", str(out)]) == 0
    text = out.read_text()
    assert "80 samples x 3,000 variants on 22 chromosomes; phenotypes: 75 samples, 75 of them genotyped" in text
    config = yaml.safe_load(text)
    cohort = config["cohorts"]["study"]
    assert cohort["traits"] == ["height", "bmi"] and cohort["build"] == "hg38" and cohort["population"] == "EUR"
    validate_config(config, load_schema(REPO / "workflow/schemas/config.schema.yaml"))
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    err = capsys.readouterr().err
    assert "phenomap: cohort study:" in err and f"{out} is valid" in err
    cohort["trait"] = cohort.pop("traits")
    out.write_text(yaml.safe_dump(config))
    assert main(["validate", str(out)]) != 0
    err = capsys.readouterr().err
    assert "config: cohorts.study.trait: unknown key; did you mean 'traits'?" in err


def test_validate_names_a_missing_input_file(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"cohorts:\n  c:\n    bfile: {tmp_path / 'geno'}\n    pheno: {tmp_path / 'p.tsv'}\n")
    assert main(["validate", str(config)]) != 0
    assert f"config: cohorts.c: pheno: phenotype file {tmp_path / 'p.tsv'} does not exist" in capsys.readouterr().err
