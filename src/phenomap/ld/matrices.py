"""LD given as per-block correlation matrices instead of reference genotypes (``ld_matrices``).

The input format (documented in config/README.md) is a directory holding

* ``blocks.tsv``: a header line ``chrom start stop block`` and one row per block
  (0-based half-open base-pair intervals, as the LD-block contract; ``block`` names the file);
* ``{block}.npz`` per row, with ``r`` (m, m) float32/float64 correlations of the A1 allele
  counts, ``ids``, ``a1``, ``a2`` (m,) str, ``pos`` (m,) int base-pair positions (as in a
  .bim, inside the block's interval) and ``n``, the LD reference's sample size.

:func:`check_ld_matrices` validates the whole directory (run before any job);
:func:`import_block_table` and :func:`import_block_ld` turn it into the workflow's own block
table and per-block LD files; :func:`export_ld_matrices` writes the format from a run's
``ld/`` folder (e.g. to reuse a panel's LD without its genotypes) and :func:`convert_mlmages_ld`
from ML-MAGES's layout of LD blocks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.tables import atomic_path, read_tsv, write_tsv
from phenomap.ld.blocks import OUTPUT_COLUMNS, named_block, read_block_table
from phenomap.ld.matrix import ld_scores
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

BLOCK_TABLE = "blocks.tsv"
MATRIX_KEYS = ("r", "ids", "a1", "a2", "pos", "n")
#: Largest |r - r.T| accepted as rounding (float32 storage).
SYMMETRY_TOLERANCE = 1e-4
#: Largest |diagonal - 1| and excess of |r| over 1 accepted as rounding.
UNIT_TOLERANCE = 1e-3
#: Smallest eigenvalue accepted: r + PSD_TOLERANCE * I must be positive definite. Smaller
#: negative eigenvalues (rounding) are set to 0 by the summary simulator.
PSD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class BlockMatrix:
    """One validated block: ``r`` (m, m) float32 and ``variants`` (m rows ``POS ID A1 A2``),
    sorted by position; ``n`` the LD reference's sample size."""

    r: np.ndarray
    variants: pd.DataFrame
    n: int


def read_matrix_table(directory: str | Path) -> pd.DataFrame:
    """The block table of an LD-matrix directory (``chrom start stop block`` + ``file``), sorted.

    Raises InputError when the table is missing or malformed, has no ``block`` column or
    repeats a block name.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"LD-matrix directory {directory} does not exist: check `ld_matrices` in the config.")
    table = read_block_table(directory / BLOCK_TABLE)
    if "block" not in table.columns:
        raise InputError(f"{directory / BLOCK_TABLE} has no 'block' column: give the header 'chrom start stop block', "
                         "where block names the file {block}.npz beside the table.")
    repeated = table.block[table.block.duplicated()]
    if len(repeated):
        raise InputError(f"{directory / BLOCK_TABLE}: block {repeated.iloc[0]!r} is listed twice; "
                         "give each block once.")
    return table.assign(file=[str(directory / f"{b}.npz") for b in table.block])


def read_block_matrix(path: str | Path, chrom: str, start: int, stop: int) -> BlockMatrix:
    """Read and validate the LD-matrix file of block ``chrom:start-stop``.

    Raises InputError naming the file (and variant) for: a missing file or key, ``ids``/
    ``a1``/``a2``/``pos`` not all of length m, a non-square ``r``, non-finite values, an
    asymmetric matrix, a diagonal other than 1 or |r| > 1 (beyond rounding), a matrix that is
    not positive semi-definite (smallest eigenvalue below ``-PSD_TOLERANCE``), duplicated IDs,
    equal or missing alleles, a position outside the block, or ``n`` < 3.
    """
    path = Path(path)
    where = f"LD-matrix file {path} (block {chrom}:{start}-{stop})"
    if not path.is_file():
        raise InputError(f"{where} does not exist: every block of {BLOCK_TABLE} needs its {{block}}.npz file.")
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in MATRIX_KEYS if key not in data.files]
        if missing:
            raise InputError(f"{where} lacks {missing}: it needs {', '.join(MATRIX_KEYS)} (see config/README.md).")
        r = np.asarray(data["r"], dtype=np.float64)
        ids, a1, a2 = (np.char.upper(data[k].astype(str)) if k != "ids" else data[k].astype(str)
                       for k in ("ids", "a1", "a2"))
        pos, n = data["pos"], int(data["n"])
    m = len(ids)
    if r.shape != (m, m) or any(len(v) != m for v in (a1, a2, pos)):
        raise InputError(f"{where}: r has shape {r.shape} for {m} ids, {len(a1)}/{len(a2)} alleles and {len(pos)} "
                         "positions; r must be square with one id, a1, a2 and pos per row.")
    if m == 0:
        raise InputError(f"{where} holds no variant: drop the block from {BLOCK_TABLE}.")
    if not np.isfinite(r).all():
        raise InputError(f"{where}: r has {int((~np.isfinite(r)).sum())} non-finite entries (NaN/inf).")
    asym = np.abs(r - r.T).max()
    if asym > SYMMETRY_TOLERANCE:
        j, k = np.unravel_index(np.argmax(np.abs(r - r.T)), r.shape)
        raise InputError(f"{where}: r is not symmetric: r[{ids[j]}, {ids[k]}] = {r[j, k]:.6g} but "
                         f"r[{ids[k]}, {ids[j]}] = {r[k, j]:.6g}; give the full symmetric matrix.")
    off = np.abs(np.diag(r) - 1)
    if off.max() > UNIT_TOLERANCE or np.abs(r).max() > 1 + UNIT_TOLERANCE:
        j = int(np.argmax(off)) if off.max() > UNIT_TOLERANCE else int(np.argmax(np.abs(r).max(axis=1)))
        raise InputError(f"{where}: r is not a correlation matrix at variant {str(ids[j])!r} (diagonal {r[j, j]:.6g}, "
                         f"largest |r| {np.abs(r[j]).max():.6g}): give correlations, not covariances.")
    try:
        np.linalg.cholesky(r + PSD_TOLERANCE * np.eye(m))
    except np.linalg.LinAlgError:
        low = np.linalg.eigvalsh(r)[0]
        raise InputError(f"{where}: r is not positive semi-definite (smallest eigenvalue {low:.4g} < -{PSD_TOLERANCE}):"
                         " compute it from one reference sample, or repair it (e.g. shrink towards the identity)."
                         ) from None
    _check_variants(where, ids, a1, a2, pos, start, stop)
    order = np.argsort(pos, kind="stable")
    variants = pd.DataFrame({"POS": pos[order].astype(np.int64), "ID": ids[order], "A1": a1[order], "A2": a2[order]})
    if n < 3:
        raise InputError(f"{where}: n = {n}; give the LD reference's sample size (at least 3).")
    return BlockMatrix(r=r[np.ix_(order, order)].astype(np.float32), variants=variants, n=n)


def _check_variants(where: str, ids, a1, a2, pos, start: int, stop: int) -> None:
    problems = (
        (pd.Series(ids).duplicated().to_numpy(), "is listed twice", "give each variant once"),
        ((a1 == a2) | np.isin(a1, ["", "NA", "."]) | np.isin(a2, ["", "NA", "."]),
         "has equal or missing alleles", "give both alleles"),
        ((pos < start) | (pos >= stop), "lies outside the block", "assign it to the block that holds its position"),
    )
    for bad, problem, fix in problems:
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}: variant {str(ids[j])!r} (pos {pos[j]}, {a1[j]}/{a2[j]}) {problem}; {fix}.")


def check_ld_matrices(directory: str | Path) -> pd.DataFrame:
    """Validate every block of an LD-matrix directory (:func:`read_block_matrix`) and that no
    variant ID is in two blocks. Returns the variants ``CHROM POS ID A1 A2 block`` in block order.

    Costs one read and one Cholesky factorisation per block (about 0.1 s for 2,000 variants).
    """
    table = read_matrix_table(directory)
    parts = []
    for row in table.itertuples():
        variants = read_block_matrix(row.file, row.chrom, row.start, row.stop).variants
        parts.append(variants.assign(CHROM=row.chrom, block=row.block))
    variants = pd.concat(parts, ignore_index=True)[["CHROM", "POS", "ID", "A1", "A2", "block"]]
    twice = variants.ID.duplicated(keep=False)
    if twice.any():
        rows = variants[twice & (variants.ID == variants.ID[twice].iloc[0])]
        raise InputError(f"LD matrices {directory}: variant {rows.ID.iloc[0]!r} is in blocks "
                         f"{' and '.join(rows.block)}; a variant may be in one block only.")
    return variants


def matrix_variants(directory: str | Path) -> pd.DataFrame:
    """``CHROM POS ID`` of every variant of an LD-matrix directory, block by block, reading only the
    ``ids`` and ``pos`` of each file (no validation: see :func:`check_ld_matrices`)."""
    parts = []
    for row in read_matrix_table(directory).itertuples():
        with np.load(row.file, allow_pickle=False) as data:
            parts.append(pd.DataFrame({"CHROM": row.chrom, "POS": data["pos"].astype(np.int64),
                                       "ID": data["ids"].astype(str)}))
    return pd.concat(parts, ignore_index=True)


def import_block_table(directory: str | Path, out_tsv: str | Path) -> pd.DataFrame:
    """Write the workflow's block table for an LD-matrix directory.

    Columns ``chrom start stop block n_variants first_id last_id file``: ``block`` is
    ``{chrom}_{index:04d}`` (as :func:`phenomap.ld.blocks.make_ld_blocks` names them), ``file``
    the block's matrix file. Returns the table.
    """
    table = read_matrix_table(directory)
    counts, first, last = [], [], []
    for path in table.file:
        with np.load(path, allow_pickle=False) as data:
            pos, ids = data["pos"], data["ids"].astype(str)
        counts.append(len(ids))
        first.append(ids[np.argmin(pos)])
        last.append(ids[len(pos) - 1 - np.argmax(pos[::-1])])
    out = table.assign(
        block=table.chrom + "_" + (table.groupby("chrom").cumcount() + 1).map("{:04d}".format),
        n_variants=counts, first_id=first, last_id=last,
    )[[*OUTPUT_COLUMNS, "file"]]
    write_tsv(out, out_tsv)
    log.info("%d LD blocks with %d variants from the LD matrices in %s", len(out), sum(counts), directory)
    return out


def import_block_ld(blocks_tsv: str | Path, block: str, out_ld: str | Path, out_scores: str | Path, *,
                    adjust: bool = True) -> None:
    """Write one block of LD matrices as the workflow's LD file and LD-score table.

    ``blocks_tsv`` is the table written by :func:`import_block_table`; the outputs are those of
    :func:`phenomap.ld.matrix.block_ld` (variants sorted by position, LD scores with the
    matrices' ``n``).
    """
    row = named_block(blocks_tsv, block)
    matrix = read_block_matrix(row["file"], row["chrom"], row["start"], row["stop"])
    v = matrix.variants
    with atomic_path(out_ld) as tmp:
        np.savez(tmp, r=matrix.r, ids=v.ID.to_numpy(str), a1=v.A1.to_numpy(str), a2=v.A2.to_numpy(str),
                 n=np.int64(matrix.n))
    scores = ld_scores(matrix.r, matrix.n, adjust=adjust)
    write_tsv(v.assign(CHROM=row["chrom"], ldscore=scores)[["CHROM", "POS", "ID", "A1", "A2", "ldscore"]], out_scores)
    log.info("block %s (%s): %d variants from %s, n = %d", block, row["file"], len(v), Path(row["file"]).name, matrix.n)
    rule_summary(f"{len(v):,} variants of {Path(row['file']).name}, n = {matrix.n:,}",
                 f"mean LD score {scores.mean():.3g}")


def export_ld_matrices(ld_dir: str | Path, out_dir: str | Path) -> None:
    """Write the LD of a run (its ``results/{cohort}/ld`` folder: ``blocks.tsv``,
    ``blocks/{block}.npz`` and ``blocks/{block}.ldscore.tsv``) in the LD-matrix format."""
    ld_dir, out_dir = Path(ld_dir), Path(out_dir)
    blocks = read_tsv(ld_dir / "blocks.tsv")
    out_dir.mkdir(parents=True, exist_ok=True)
    for block in blocks.block:
        with np.load(ld_dir / "blocks" / f"{block}.npz", allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("r", "ids", "a1", "a2", "n")}
        scores = read_tsv(ld_dir / "blocks" / f"{block}.ldscore.tsv")
        if not np.array_equal(scores.ID.to_numpy(str), arrays["ids"].astype(str)):
            raise InputError(f"{ld_dir}/blocks/{block}: the LD file and its LD scores list different variants; "
                             "rerun the ld_block step.")
        np.savez(out_dir / f"{block}.npz", pos=scores.POS.to_numpy(np.int64), **arrays)
    write_tsv(blocks[["chrom", "start", "stop", "block"]], out_dir / BLOCK_TABLE)


def convert_mlmages_ld(ld_dir: str | Path, variants_tsv: str | Path, n: int, out_dir: str | Path) -> pd.DataFrame:
    """Write LD blocks in ML-MAGES's layout as an LD-matrix directory.

    ML-MAGES keeps, per chromosome c, ``block_meta_chr{c}.csv`` (columns ``idx_in_chr
    block_lb block_ub block_size``: block k holds the chromosome's variants lb..ub-1) and one
    whitespace-separated text matrix ``chr{c}_block{k}.ld`` per block, without variant names.
    ``variants_tsv`` supplies them: ``CHROM POS ID A1 A2`` of every variant, each chromosome's
    rows in the order of its LD (A1 the allele the correlations count); ``n`` is the LD
    reference's sample size. Block k of chromosome c becomes ``chr{c}_block{k}``, covering
    [its first position, the next block's first position) (the last: up to its last
    position + 1). Returns the block table written.

    Raises InputError when a meta file is missing or its blocks do not tile the chromosome's
    variants, or a matrix does not have the block's size.
    """
    ld_dir, out_dir = Path(ld_dir), Path(out_dir)
    variants = read_tsv(variants_tsv)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for chrom, chrom_variants in variants.groupby("CHROM", sort=False):
        meta_path = ld_dir / f"block_meta_chr{chrom}.csv"
        if not meta_path.is_file():
            raise InputError(f"{meta_path} does not exist: ML-MAGES LD blocks need a meta file per chromosome of "
                             f"{variants_tsv}.")
        meta = pd.read_csv(meta_path)
        bounds = np.append(meta.block_lb.to_numpy(), meta.block_ub.to_numpy()[-1:])
        if bounds[0] != 0 or bounds[-1] != len(chrom_variants) or (meta.block_lb.to_numpy()[1:]
                                                                    != meta.block_ub.to_numpy()[:-1]).any():
            raise InputError(f"{meta_path}: its blocks cover variants {bounds[0]}..{bounds[-1]} with gaps or overlaps,"
                             f" but {variants_tsv} lists {len(chrom_variants)} variants on chromosome {chrom}.")
        pos = chrom_variants.POS.to_numpy(np.int64)
        for k, (lb, ub) in enumerate(zip(bounds[:-1], bounds[1:])):
            r = np.loadtxt(ld_dir / f"chr{chrom}_block{k}.ld", ndmin=2)
            if r.shape != (ub - lb, ub - lb):
                raise InputError(f"{ld_dir / f'chr{chrom}_block{k}.ld'} is {r.shape[0]} x {r.shape[1]} but block {k} "
                                 f"of {meta_path} has {ub - lb} variants.")
            block = chrom_variants.iloc[lb:ub]
            name = f"chr{chrom}_block{k}"
            np.savez(out_dir / f"{name}.npz", r=r.astype(np.float32), ids=block.ID.to_numpy(str),
                     a1=block.A1.to_numpy(str), a2=block.A2.to_numpy(str), pos=pos[lb:ub], n=np.int64(n))
            rows.append((chrom, pos[lb], pos[ub] if ub < len(pos) else pos[-1] + 1, name))
    table = pd.DataFrame(rows, columns=["chrom", "start", "stop", "block"])
    write_tsv(table, out_dir / BLOCK_TABLE)
    return table
