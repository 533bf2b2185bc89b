"""Public real data (BGLR mice and wheat in ../shared/data) written as the workflow's inputs.

The data are read from the shared folder and converted on the fly into ``bench/data/``
(never committed): a PLINK fileset, a phenotype and a covariate table, as a user would bring
them. ``python bench/realdata.py`` writes the mice files and prints their paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parents[1] / "shared" / "data"
MICE_TRAITS = ["Obesity.BodyLength", "Obesity.BMI"]


def mice_plink(out_dir: Path = HERE / "data" / "mice") -> dict[str, Path]:
    """BGLR mice as ``mice.{bed,bim,fam}``, ``pheno.tsv`` (the two obesity traits) and ``covar.tsv`` (sex).

    Genotypes count the allele named after the SNP ID's underscore (``rs3683945_G`` counts G),
    which is A1; positions are the map's Mb times 10^6. The .fam carries the sex (1 male,
    2 female); FID = IID = the subject name. Returns the paths (``bfile`` is the prefix).
    """
    from phenomap.io.plink import write_bfile

    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "mice"
    paths = {"bfile": prefix, "pheno": out_dir / "pheno.tsv", "covar": out_dir / "covar.tsv"}
    if all(Path(f"{prefix}.{ext}").exists() for ext in ("bed", "bim", "fam")) and paths["covar"].exists():
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
    return paths


if __name__ == "__main__":
    for key, path in mice_plink().items():
        print(f"{key}\t{path}")
