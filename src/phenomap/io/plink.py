"""PLINK 1 binary filesets (.bed/.bim/.fam): validated metadata and chunked genotype reads.

Genotypes are read with bed-reader as allele counts of A1 (the fifth .bim column, the
PLINK convention), float32, with NaN for missing calls. Metadata are parsed here with
pandas so that IDs stay strings and problems are reported with the file and line.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from bed_reader import create_bed, open_bed
from tqdm.auto import tqdm

from phenomap.errors import InputError

BIM_COLUMNS = ["CHROM", "ID", "CM", "POS", "A1", "A2"]
FAM_COLUMNS = ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"]
#: Accepted chromosome names after removing a ``chr`` prefix: autosomes 1-99 (with an
#: optional sub-genome letter, as in wheat's 1A..7D), X, Y, XY and MT.
CHROM_PATTERN = re.compile(r"^([0-9]{1,2}[A-Da-d]?|X|Y|XY|MT)$")


def normalise_chrom(values: pd.Series, *, source: str) -> pd.Series:
    """Strip a ``chr`` prefix and map ``M`` to ``MT``; raise InputError on unknown names.

    ``source`` names the file for the message.
    """
    chrom = values.astype(str).str.replace(r"^(chr|CHR|Chr)", "", regex=True)
    chrom = chrom.replace({"M": "MT", "23": "X", "24": "Y", "25": "XY", "26": "MT"})
    bad = ~chrom.str.match(CHROM_PATTERN)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{source}: unknown chromosome name {values.iloc[i]!r} at data row {i + 1}; "
            "use 1-99 (optionally chr-prefixed), X, Y, XY or MT, and remove unplaced contigs."
        )
    return chrom


def chrom_sort_key(chrom: pd.Series) -> pd.Series:
    """Sort key placing numeric chromosomes first in numeric order, then X, Y, XY, MT."""
    special = {"X": 1000, "Y": 1001, "XY": 1002, "MT": 1003}
    num = pd.to_numeric(chrom.str.extract(r"^([0-9]+)", expand=False), errors="coerce")
    sub = chrom.str.extract(r"([A-Da-d])$", expand=False).fillna("").str.upper()
    key = num.fillna(chrom.map(special)).astype(float) * 10
    return key + sub.map(lambda s: "ABCD".index(s) + 1 if s else 0)


def bfile_paths(prefix: str | Path) -> dict[str, Path]:
    """The three files of a PLINK fileset; raise InputError naming any that is missing."""
    prefix = str(prefix)
    paths = {ext: Path(f"{prefix}.{ext}") for ext in ("bed", "bim", "fam")}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise InputError(
            f"PLINK fileset {prefix!r} is incomplete: missing {', '.join(missing)}. "
            "Give the prefix without extension, with .bed, .bim and .fam side by side."
        )
    return paths


def read_bim(prefix: str | Path) -> pd.DataFrame:
    """Variant table ``CHROM ID CM POS A1 A2`` of a fileset, in file order.

    CHROM is normalised (no ``chr`` prefix). Raises InputError for a malformed line,
    unknown chromosome names, duplicated variant IDs or identical alleles.
    """
    path = bfile_paths(prefix)["bim"]
    try:
        bim = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: a .bim file needs one line per variant.") from None
    if bim.shape[1] != 6:
        raise InputError(f"{path} has {bim.shape[1]} columns, expected 6 ({' '.join(BIM_COLUMNS)}).")
    bim.columns = BIM_COLUMNS
    bim["CHROM"] = normalise_chrom(bim.CHROM, source=str(path))
    pos = pd.to_numeric(bim.POS, errors="coerce")
    if pos.isna().any() or (pos < 0).any():
        i = int(np.flatnonzero((pos.isna() | (pos < 0)).to_numpy())[0])
        raise InputError(f"{path}: line {i + 1} has invalid position {bim.POS.iloc[i]!r}.")
    bim["POS"] = pos.astype("int64")
    bim["CM"] = pd.to_numeric(bim.CM, errors="coerce").fillna(0.0)
    dup = bim.ID.duplicated(keep=False)
    if dup.any():
        ids = bim.ID[dup].unique()
        raise InputError(
            f"{path}: {len(ids)} variant ID(s) occur more than once (first: {ids[0]!r}, "
            f"lines {', '.join(str(i + 1) for i in np.flatnonzero((bim.ID == ids[0]).to_numpy()))}). "
            "Give every variant a unique ID, e.g. `plink2 --set-all-var-ids @:#:$r:$a`."
        )
    same = bim.A1 == bim.A2
    if same.any():
        i = int(np.flatnonzero(same.to_numpy())[0])
        raise InputError(f"{path}: variant {bim.ID.iloc[i]} (line {i + 1}) has A1 == A2.")
    return bim


def read_fam(prefix: str | Path) -> pd.DataFrame:
    """Sample table ``FID IID PAT MAT SEX PHENO`` (all strings), in file order.

    Raises InputError for a malformed file or duplicated (FID, IID) pairs.
    """
    path = bfile_paths(prefix)["fam"]
    try:
        fam = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: a .fam file needs one line per sample.") from None
    if fam.shape[1] != 6:
        raise InputError(f"{path} has {fam.shape[1]} columns, expected 6 ({' '.join(FAM_COLUMNS)}).")
    fam.columns = FAM_COLUMNS
    dup = fam.duplicated(["FID", "IID"], keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"{path}: sample FID={fam.FID.iloc[i]} IID={fam.IID.iloc[i]} (line {i + 1}) "
            "occurs more than once; remove the duplicate samples."
        )
    return fam


@dataclass(frozen=True)
class Bfile:
    """A validated PLINK fileset: metadata in memory, genotypes read on demand.

    Attributes
    ----------
    prefix : path prefix without extension.
    bim : (m, 6) variant table, see :func:`read_bim`.
    fam : (n, 6) sample table, see :func:`read_fam`.
    """

    prefix: str
    bim: pd.DataFrame
    fam: pd.DataFrame

    @classmethod
    def open(cls, prefix: str | Path) -> Bfile:
        prefix = str(prefix)
        bim, fam = read_bim(prefix), read_fam(prefix)
        expected = 3 + len(bim) * ((len(fam) + 3) // 4)
        size = Path(f"{prefix}.bed").stat().st_size
        if size != expected:
            raise InputError(
                f"{prefix}.bed has {size} bytes but {len(fam)} samples x {len(bim)} variants "
                f"need {expected}: the .bed does not match its .bim/.fam (or is not SNP-major)."
            )
        return cls(prefix, bim, fam)

    @property
    def n_samples(self) -> int:
        return len(self.fam)

    @property
    def n_variants(self) -> int:
        return len(self.bim)

    def read(self, variants=slice(None), samples=slice(None), *, dtype="float32") -> np.ndarray:
        """Allele counts of A1, shape (n_selected_samples, n_selected_variants), NaN = missing.

        ``variants``/``samples`` are slices or integer index arrays (file order).
        """
        with open_bed(
            f"{self.prefix}.bed", iid_count=self.n_samples, sid_count=self.n_variants, num_threads=1
        ) as bed:
            return bed.read(index=np.s_[samples, variants], dtype=dtype, order="F")

    def chunks(
        self, chunk: int, variants: np.ndarray | None = None, samples=slice(None), *, progress: str | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(variant_indices, G)`` over consecutive chunks of at most ``chunk`` variants.

        ``variants`` selects (sorted) variant indices, default all; ``G`` is
        (n_selected_samples, len(variant_indices)) float32 with NaN for missing.
        A tqdm bar labelled ``progress`` goes to stderr (the rule log) when given.
        """
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        idx = np.arange(self.n_variants) if variants is None else np.asarray(variants)
        starts = range(0, len(idx), chunk)
        for start in tqdm(starts, desc=progress, disable=progress is None, mininterval=5):
            sel = idx[start : start + chunk]
            yield sel, self.read(sel, samples)


def write_bfile(prefix: str | Path, fam: pd.DataFrame, bim: pd.DataFrame, chunks: Iterator[np.ndarray]) -> None:
    """Write a fileset from its metadata and an iterator of genotype column blocks.

    ``chunks`` yields (n_samples, k) arrays of A1 counts (NaN = missing) whose widths add
    up to ``len(bim)``. The three files appear together only when all is written.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    properties = {
        "fid": fam.FID.to_numpy(str), "iid": fam.IID.to_numpy(str),
        "father": fam.PAT.to_numpy(str), "mother": fam.MAT.to_numpy(str),
        "sex": pd.to_numeric(fam.SEX, errors="coerce").fillna(0).astype(np.int32).to_numpy(),
        "pheno": fam.PHENO.to_numpy(str),
        "chromosome": bim.CHROM.to_numpy(str), "sid": bim.ID.to_numpy(str),
        "cm_position": bim.CM.to_numpy(float), "bp_position": bim.POS.to_numpy(np.int32),
        "allele_1": bim.A1.to_numpy(str), "allele_2": bim.A2.to_numpy(str),
    }
    tmpdir = Path(tempfile.mkdtemp(dir=prefix.parent, prefix=f".{prefix.name}."))
    try:
        tmp = tmpdir / "out"
        with create_bed(f"{tmp}.bed", iid_count=len(fam), sid_count=len(bim), properties=properties) as bed:
            for block in chunks:
                for column in np.asarray(block, dtype=np.float32).T:
                    bed.write(column)
        for ext in ("bim", "fam", "bed"):
            os.replace(f"{tmp}.{ext}", f"{prefix}.{ext}")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
