"""Atomic writes and sample-keyed tables (phenotypes, covariates, pedigree)."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError

log = logging.getLogger(__name__)

SAMPLE_KEYS = ["FID", "IID"]
MISSING_VALUES = ["NA", "NaN", "nan", "", "-9", "."]
UMASK = os.umask(0o022)
os.umask(UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A failed or interrupted writer therefore never leaves a partial output behind.
    The temporary name keeps the final suffix so writers that dispatch on it work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: Columns read as text whatever they hold: variant IDs, chromosome names, alleles, pipeline IDs (hex).
TEXT_COLUMNS = ("ID", "CHROM", "chrom", "A1", "A2", "pipeline_id")


def read_tsv(path: str | Path) -> pd.DataFrame:
    """Read a table as :func:`write_tsv` writes it: tab-separated, only ``NA`` missing, TEXT_COLUMNS as text."""
    return pd.read_csv(path, sep="\t", dtype=dict.fromkeys(TEXT_COLUMNS, str), keep_default_na=False,
                       na_values=["NA"])


def write_tsv(df: pd.DataFrame, path: str | Path, *, float_format: str = "%.10g") -> None:
    """Write ``df`` as a tab-separated table with ``NA`` for missing values, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format=float_format)


def read_sample_table(path: str | Path, *, what: str, numeric: bool = True) -> pd.DataFrame:
    """Read a ``FID IID <columns…>`` table (phenotypes or covariates).

    Missing values may be written ``NA``, ``NaN``, ``.``, empty or ``-9`` (PLINK
    convention). Columns other than FID/IID must be numeric when ``numeric``.

    Returns a DataFrame with string FID/IID and float64 value columns, in file order.
    Raises InputError naming the file, the column and the first offending row for a
    missing file, missing FID/IID columns, duplicated (FID, IID) pairs or non-numeric
    values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {path} does not exist: check the path in the config.")
    df = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False, comment=None)
    missing = [c for c in SAMPLE_KEYS if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path} lacks column(s) {missing}: its header must start with "
            f"'FID IID' followed by one column per {what} (found {list(df.columns)[:5]})."
        )
    dup = df.duplicated(SAMPLE_KEYS, keep=False)
    if dup.any():
        first = df.loc[dup, SAMPLE_KEYS].iloc[0]
        raise InputError(
            f"{what} file {path}: sample FID={first.FID} IID={first.IID} appears "
            f"{int(dup.sum())} times in total with duplicates; keep one row per sample."
        )
    if not numeric:
        return df
    out = df[SAMPLE_KEYS].copy()
    for col in df.columns.drop(SAMPLE_KEYS):
        raw = df[col].str.strip()
        values = pd.to_numeric(raw.where(~raw.isin(MISSING_VALUES)), errors="coerce")
        bad = values.isna() & ~raw.isin(MISSING_VALUES)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{what} file {path}: column {col!r} has non-numeric value {raw.iloc[i]!r} "
                f"at data row {i + 1} (IID {df.IID.iloc[i]}); use a number or NA for missing."
            )
        if np.isinf(values).any():
            i = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
            raise InputError(
                f"{what} file {path}: column {col!r} is infinite at data row {i + 1} "
                f"(IID {df.IID.iloc[i]}); use a finite number or NA."
            )
        out[col] = values.astype("float64")
    return out


def align_samples(fam: pd.DataFrame, table: pd.DataFrame, *, source: str) -> np.ndarray:
    """Row of ``table`` for each ``.fam`` sample, joined on (FID, IID); -1 where absent.

    Returns (n_fam,) int64. Raises InputError when no sample is shared (showing examples
    of each side so a FID/IID mix-up is visible); logs the overlap counts otherwise.
    """
    keys = pd.MultiIndex.from_frame(table[SAMPLE_KEYS].astype(str))
    idx = keys.get_indexer(pd.MultiIndex.from_frame(fam[SAMPLE_KEYS].astype(str)))
    n_common = int((idx >= 0).sum())
    if n_common == 0:
        raise InputError(
            f"{source} shares no sample with the genotypes: .fam has e.g. "
            f"{list(zip(fam.FID[:3], fam.IID[:3]))}, {source} has e.g. "
            f"{list(zip(table.FID[:3], table.IID[:3]))}. Samples are matched on both FID and IID."
        )
    log.info(
        "%s: %d of %d genotyped samples found (%d rows of the table are not genotyped)",
        source, n_common, len(fam), len(table) - n_common,
    )
    return idx


def concat_tsv(paths: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Row-bind TSV tables with identical columns, in the given order, into ``out``."""
    tables = [read_tsv(p) for p in paths]
    columns = {tuple(t.columns) for t in tables}
    if len(columns) > 1:
        raise InputError(f"cannot concatenate tables with different columns: {sorted(columns)}")
    table = pd.concat(tables, ignore_index=True)
    write_tsv(table, out)
    return table


PEDIGREE_COLUMNS = ["IID", "SIRE", "DAM"]
#: Parent ID meaning "unknown parent" in a pedigree (and in .fam PAT/MAT).
UNKNOWN_PARENT = "0"


def read_pedigree(path: str | Path) -> pd.DataFrame:
    """Read a pedigree table ``IID SIRE DAM`` (whitespace-separated, header line, 0 = unknown).

    Other columns are allowed and ignored. Parents need not have rows of their own nor be
    genotyped.

    Returns a DataFrame with the string columns ``IID SIRE DAM``, in file order.
    Raises InputError naming the file, the data row and the IID for a missing file, a
    missing column, an empty field, an IID written ``0``, a duplicated IID, or an
    individual that is its own sire or dam.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pedigree file {path} does not exist: check the path in the config.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # rows longer than the header
        try:
            df = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False, index_col=False)
        except pd.errors.EmptyDataError:
            raise InputError(f"pedigree file {path} is empty: it needs the header 'IID SIRE DAM'.") from None
        except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
            raise InputError(
                f"pedigree file {path}: a row has more fields than the header ({err}); "
                "write one whitespace-free value per column."
            ) from None
    missing = [c for c in PEDIGREE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"pedigree file {path} lacks column(s) {missing}: its header must name 'IID SIRE DAM' "
            f"(found {list(df.columns)[:5]}); write 0 for an unknown parent."
        )
    ped = df[PEDIGREE_COLUMNS]
    problems = {
        "has an empty field": ped.isna().any(axis=1) | (ped == "").any(axis=1),
        "has IID 0, which means 'unknown parent'": ped.IID == UNKNOWN_PARENT,
        "repeats an IID": ped.IID.duplicated(keep=False),
        "is its own parent": (ped.SIRE == ped.IID) | (ped.DAM == ped.IID),
    }
    for problem, bad in problems.items():
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"pedigree file {path}: data row {i + 1} (IID {ped.IID.iloc[i]}) {problem} "
                f"({int(bad.sum())} such rows); give each individual one row 'IID SIRE DAM' "
                f"with 0 for an unknown parent."
            )
    return ped.reset_index(drop=True)
