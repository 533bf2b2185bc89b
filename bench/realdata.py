"""Public real data (BGLR mice and wheat in ../shared/data) written as the workflow's inputs.

The data are read from the shared folder and converted on the fly into ``bench/data/``
(never committed): a PLINK fileset, a phenotype and a covariate table, as a user would bring
them. ``python bench/realdata.py`` writes the mice files and prints their paths.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
#: ../shared/data beside the repository, or $PHENOMAP_SHARED_DATA (e.g. when run from a git worktree elsewhere)
SHARED_DATA = Path(os.environ.get("PHENOMAP_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
MICE_TRAITS = ["Obesity.BodyLength", "Obesity.BMI"]


def mice_plink(out_dir: Path = HERE / "data" / "mice") -> dict[str, Path]:
    """BGLR mice as ``mice.{bed,bim,fam}``, ``pheno.tsv`` (the two obesity traits), ``covar.tsv`` (sex) and
    ``relationship.npz`` (the pedigree relationship matrix A with its ``ids``).

    Genotypes count the allele named after the SNP ID's underscore (``rs3683945_G`` counts G),
    which is A1; positions are the map's Mb times 10^6. The .fam carries the sex (1 male,
    2 female); FID = IID = the subject name. Returns the paths (``bfile`` is the prefix).
    """
    from phenomap.io.plink import write_bfile

    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "mice"
    paths = {"bfile": prefix, "pheno": out_dir / "pheno.tsv", "covar": out_dir / "covar.tsv",
             "relationship": out_dir / "relationship.npz"}
    if all(Path(f"{prefix}.{ext}").exists() for ext in ("bed", "bim", "fam")) and paths["relationship"].exists():
        return paths
    src = SHARED_DATA / "mice"
    with np.load(src / "mice_X.npz", allow_pickle=False) as data:
        X, ids, snps = data["X"], data["ids"].astype(str), data["snps"].astype(str)
    geno_map = pd.read_csv(src / "mice_map.tsv.gz", sep="\t", dtype={"chr": str})
    pheno = pd.read_csv(src / "mice_pheno.tsv.gz", sep="\t")
    if not (geno_map.snp_id.to_numpy() == snps).all() or not (pheno["SUBJECT.NAME"].astype(str).to_numpy() == ids).all():
        raise RuntimeError(f"{src}: map or phenotype rows are not in the genotype order")
    counted = geno_map.snp_id.str.rsplit("_", n=1).str[1]
    alleles = geno_map.alleles.str.split(";")
    other = [a[1] if a[0] == c else a[0] for a, c in zip(alleles, counted)]
    bim = pd.DataFrame({"CHROM": geno_map.chr, "ID": geno_map.snp_id, "CM": 0.0,
                        "POS": np.round(geno_map.mbp * 1e6).astype(np.int64), "A1": counted, "A2": other})
    sex = pheno.GENDER.map({"M": "1", "F": "2"}).fillna("0")
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": sex, "PHENO": "-9"})
    write_bfile(prefix, fam, bim, iter([X.astype(np.float32)]))
    keys = pd.DataFrame({"FID": ids, "IID": ids})
    pd.concat([keys, pheno[MICE_TRAITS]], axis=1).to_csv(paths["pheno"], sep="\t", index=False, na_rep="NA")
    covar = keys.assign(sex=(pheno.GENDER == "M").astype(float))
    covar.to_csv(paths["covar"], sep="\t", index=False, na_rep="NA")
    with np.load(src / "mice_A.npz", allow_pickle=False) as data:
        np.savez(paths["relationship"], ids=data["ids"], A=data["A"])
    return paths


if __name__ == "__main__":
    for key, path in mice_plink().items():
        print(f"{key}\t{path}")


def mice_arrays() -> dict:
    """BGLR mice as arrays: ``X`` (1814, 10346) float32 allele counts, ``Y`` (1814, 2) the obesity traits,
    ``sex`` (1814,) 1 = male, ``A`` (1814, 1814) pedigree relationship, ``ids``, ``markers``, ``traits``."""
    src = SHARED_DATA / "mice"
    with np.load(src / "mice_X.npz", allow_pickle=False) as data:
        X, ids, markers = data["X"].astype(np.float32), data["ids"].astype(str), data["snps"].astype(str)
    with np.load(src / "mice_A.npz", allow_pickle=False) as data:
        if not (data["ids"].astype(str) == ids).all():
            raise RuntimeError(f"{src}/mice_A.npz is not in the genotype order")
        A = data["A"].astype(np.float64)
    pheno = pd.read_csv(src / "mice_pheno.tsv.gz", sep="\t")
    return {"X": X, "Y": pheno[MICE_TRAITS].to_numpy(float), "sex": (pheno.GENDER == "M").to_numpy(float),
            "A": A, "ids": ids, "markers": markers, "traits": MICE_TRAITS}


def wheat_arrays() -> dict:
    """BGLR wheat: ``X`` (599, 1279) float32 DArT markers 0/1, ``Y`` (599, 4) grain yield in 4 environments,
    ``A`` pedigree relationship, ``sets`` (599,) the standard 10-fold labels 1..10, ``ids``, ``markers``, ``traits``."""
    with np.load(SHARED_DATA / "wheat" / "wheat.npz", allow_pickle=False) as data:
        return {"X": data["X"].astype(np.float32), "Y": data["Y"].astype(float), "A": data["A"].astype(np.float64),
                "sets": data["sets"].astype(int), "ids": data["ids"].astype(str),
                "markers": data["markers"].astype(str), "traits": [f"yield_env{e}" for e in data["Y_env"].astype(str)]}
