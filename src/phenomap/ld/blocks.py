"""LD blocks: reference block tables, variant assignment and a data-driven partition.

Coordinates
-----------
A block table is BED-like: ``chrom start stop`` per row, 0-based half-open. A variant with
.bim position ``POS`` belongs to a block when ``start <= POS < stop``; the .bim position is
compared as it is, the way the ldetect tables are normally read. Adjacent blocks may share a
boundary (``stop`` of one = ``start`` of the next) and then hold each variant exactly once. A
variant before the first block, after the last, at the last ``stop`` or in a gap between
blocks (the hg38 tables leave out centromeres) belongs to no block: index -1 here, counted
and reported by :func:`make_ld_blocks`, never assigned silently.

Blocks written by :func:`make_ld_blocks` follow the same rule, so that
``assign_blocks(bim, written_table)`` gives back exactly the partition. A table block keeps
its coordinates. Where blocks are cut here (data-driven, or a too long table block), the
edge between two neighbours is the position of the later block's first variant; a
data-driven chromosome starts at its first variant and ends one past its last, so its
blocks tile it without gaps. Two variants at the same position are therefore never
separated by a boundary.

Data-driven partition
---------------------
Variants of a chromosome are taken in position order. Gap g lies between variants g and
g + 1; its score (:func:`cross_ld_profile`) is the summed r^2 between the ``window``
variants on its left and the ``window`` on its right. Boundaries go where this cross-gap
LD is low (:func:`partition`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.io.plink import Bfile, chrom_sort_key, normalise_chrom
from phenomap.io.tables import write_tsv
from phenomap.ld.matrix import standardise
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

BLOCK_COLUMNS = ["chrom", "start", "stop"]
OUTPUT_COLUMNS = ["chrom", "start", "stop", "block", "n_variants", "first_id", "last_id"]
#: Header names accepted for the three block columns (compared lower-case, without '#').
HEADER_ALIASES = {"chr": "chrom", "chromosome": "chrom", "chromstart": "start", "end": "stop", "chromend": "stop"}
BUILD_ALIASES = {"hg19": "hg19", "grch37": "hg19", "hg38": "hg38", "grch38": "hg38"}
SOURCES = ("shipped", "file", "data", "matrices")


def canonical_build(build: str) -> str:
    """Build name as the shipped tables spell it: GRCh37 -> hg19, GRCh38 -> hg38 (others lower-cased)."""
    return BUILD_ALIASES.get(str(build).lower(), str(build).lower())


def read_block_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a BED-like LD-block table.

    The file is whitespace-separated with columns ``chrom start stop`` (0-based half-open),
    with or without a header line (``chr``/``#chrom`` and ``end`` are accepted as names;
    further named columns are kept). Chromosome names may carry a ``chr`` prefix.

    Returns
    -------
    DataFrame ``chrom`` (str, normalised), ``start``, ``stop`` (int64) and any further
    columns, sorted by chromosome then start, with a fresh 0..k-1 index.

    Raises
    ------
    InputError naming the file, the line and the fix for a missing or empty file, missing
    columns, non-integer or negative coordinates, start >= stop, unknown chromosome names,
    rows out of order within a chromosome and overlapping blocks.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"LD-block table {path} does not exist: give a BED-like file with columns "
            "'chrom start stop', or use the shipped tables or the data-driven partition."
        )
    try:
        raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"LD-block table {path} is empty: it needs one 'chrom start stop' line per block.") from None
    except pd.errors.ParserError as err:
        raise InputError(f"LD-block table {path} is malformed ({err}); every line needs the same columns.") from None
    has_header = raw.shape[1] >= 2 and not raw.iloc[0, 1].isdigit()
    if has_header:
        names = [str(v).lstrip("#").lower() for v in raw.iloc[0]]
        table = raw.iloc[1:].set_axis([HEADER_ALIASES.get(v, v) for v in names], axis=1)
    else:
        table = raw.iloc[:, :3].set_axis(BLOCK_COLUMNS[: raw.shape[1]], axis=1)
    missing = [c for c in BLOCK_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"LD-block table {path} lacks column(s) {missing} (found {list(table.columns)}): "
            "use a header 'chrom start stop', or no header and those three columns first."
        )
    if table.empty:
        raise InputError(f"LD-block table {path} has a header but no blocks.")
    table = table.reset_index(drop=True)
    line = np.arange(len(table)) + 1 + has_header
    for col in ("start", "stop"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | (values < 0) | (values != values.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"LD-block table {path}, line {line[i]}: {col} {table[col].iloc[i]!r} is not a "
                "non-negative integer base-pair position."
            )
        table[col] = values.astype("int64")
    table["chrom"] = normalise_chrom(table.chrom, source=f"LD-block table {path}")

    def where(i: int) -> str:
        return f"line {line[i]} ({table.chrom.iloc[i]}:{table.start.iloc[i]}-{table.stop.iloc[i]})"

    empty = (table.start >= table.stop).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"LD-block table {path}, {where(i)}: start must be below stop "
            "(0-based half-open intervals, as in BED); fix or remove the line."
        )
    previous = table.groupby("chrom", sort=False)[["start", "stop"]].shift()
    previous_row = table.index.to_series().groupby(table.chrom, sort=False).shift()
    for problem, fix, bad in (
        ("starts before the block above it,", "sort the rows by chromosome, then start",
         table.start < previous.start),
        ("overlaps", "blocks must not overlap (adjacent ones may share a boundary); merge or trim them",
         table.start < previous.stop),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"LD-block table {path}, {where(i)} {problem} {where(int(previous_row.iloc[i]))}: {fix}.")
    order = np.lexsort((table.start.to_numpy(), chrom_sort_key(table.chrom).to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def shipped_block_table(resources_dir: str | Path, population: str, build: str) -> Path:
    """Path of the shipped table ``{resources_dir}/ld_blocks/{population}.{build}.bed``.

    Population and build match case-insensitively; GRCh37/GRCh38 stand for hg19/hg38.
    Raises InputError listing the available combinations when there is no such table.
    """
    folder = Path(resources_dir) / "ld_blocks"
    available = {}
    for path in sorted(folder.glob("*.bed")):
        pop, _, bld = path.name[: -len(".bed")].rpartition(".")
        available[pop.lower(), bld.lower()] = path
    key = (str(population).lower(), canonical_build(build))
    if key not in available:
        listed = ", ".join(f"{p.name[:-4].rpartition('.')[0]}/{b}" for (_, b), p in available.items()) or "none"
        raise InputError(
            f"no shipped LD-block table for population {population!r} and build {build!r} in {folder} "
            f"(available population/build: {listed}); choose one of these, give your own table, "
            "or use the data-driven partition."
        )
    return available[key]


def assign_blocks(bim: pd.DataFrame, blocks: pd.DataFrame) -> np.ndarray:
    """Block of each variant under the half-open rule ``start <= POS < stop``.

    Parameters
    ----------
    bim : variant table with ``CHROM`` (normalised) and ``POS``.
    blocks : table as returned by :func:`read_block_table` (sorted, non-overlapping).

    Returns
    -------
    (len(bim),) int64: the row position in ``blocks`` of each variant's block, -1 for a
    variant outside every block.
    """
    out = np.full(len(bim), -1, dtype=np.int64)
    chrom, pos = bim.CHROM.to_numpy(), bim.POS.to_numpy()
    starts, stops = blocks.start.to_numpy(), blocks.stop.to_numpy()
    for c, rows in blocks.groupby("chrom", sort=False).indices.items():
        variants = np.flatnonzero(chrom == c)
        k = rows[0] + np.searchsorted(starts[rows], pos[variants], side="right") - 1
        inside = (k >= rows[0]) & (pos[variants] < stops[np.maximum(k, rows[0])])
        out[variants[inside]] = k[inside]
    return out


def block_variants(bim: pd.DataFrame, block: pd.Series) -> np.ndarray:
    """Indices (.bim order) of the variants in one block row (``chrom start stop``)."""
    inside = (bim.CHROM == str(block["chrom"])) & (bim.POS >= block["start"]) & (bim.POS < block["stop"])
    return np.flatnonzero(inside.to_numpy())


def named_block(blocks_tsv: str | Path, block: str) -> pd.Series:
    """The row of block ``block`` in a table written by :func:`make_ld_blocks`.

    Raises InputError when the table has no ``block`` column or lacks that block.
    """
    blocks = read_block_table(blocks_tsv)
    if "block" not in blocks.columns:
        raise InputError(f"{blocks_tsv} has no 'block' column: give the table written by make_ld_blocks.")
    rows = blocks[blocks.block == block]
    if rows.empty:
        raise InputError(
            f"block {block!r} is not in {blocks_tsv} (it has {len(blocks)} blocks, e.g. "
            f"{', '.join(blocks.block.head(3))}); rerun the ld_blocks step."
        )
    return rows.iloc[0]


def cross_ld_profile(bfile: Bfile, variant_idx: np.ndarray, *, window: int = 100, chunk: int = 2000) -> np.ndarray:
    """Cross-gap LD along a run of variants of one chromosome.

    For the gap g between ``variant_idx[g]`` and ``variant_idx[g + 1]`` (variants given in
    position order), ``profile[g] = sum r_ik^2`` over i in ``[g - window + 1, g]`` and k in
    ``[g + 1, g + window]`` (clipped at the ends), with r the Pearson correlation of the
    mean-imputed genotypes. A variant without variance contributes nothing (logged).

    Genotypes are read ``chunk`` variants at a time and only pairs less than ``2 * window``
    apart are formed, so memory is O(n * (chunk + window) + window^2) whatever the length.
    A pair (i, k) with lag d = k - i enters the gaps ``i + max(0, d - window)`` to
    ``i + min(d, window) - 1``; these ranges are added with a difference array.

    Returns
    -------
    (len(variant_idx) - 1,) float64.
    """
    variant_idx = np.asarray(variant_idx)
    m = len(variant_idx)
    if m < 2:
        return np.zeros(0)
    span = 2 * window - 1  # largest lag of a pair straddling a gap within both windows
    lags = np.arange(span + 1)
    first_gap = np.maximum(0, lags - window)  # offsets from i, indexed by lag
    after_last_gap = np.minimum(lags, window)
    width = max(span, 64)  # columns per product: rows span the band, so ~half the entries are used
    reach = width + 2 * span + 1  # gaps touched by one product, counted from its first row
    diff = np.zeros(m + reach)
    carry = np.zeros((bfile.n_samples, 0))
    done, n_constant, example = 0, 0, None
    label = f"cross-gap LD, chromosome {bfile.bim.CHROM.iloc[variant_idx[0]]}"
    for sel, G in bfile.chunks(chunk, variants=variant_idx, progress=label):
        Z_new, constant = standardise(G)
        if constant.any():
            n_constant += int(constant.sum())
            example = bfile.bim.ID.iloc[sel[np.flatnonzero(constant)[0]]] if example is None else example
        Z = np.hstack([carry, Z_new])
        offset = done - carry.shape[1]  # sequence index of Z's first column
        for a in range(done, done + len(sel), width):
            b = min(a + width, done + len(sel))
            top = max(a - span, offset)
            product = Z[:, top - offset : b - 1 - offset].T @ Z[:, a - offset : b - offset]
            i, k = np.meshgrid(np.arange(top, b - 1), np.arange(a, b), indexing="ij")
            lag = k - i
            band = (lag >= 1) & (lag <= span)
            i, lag, r2 = i[band] - top, lag[band], product[band] ** 2
            diff[top : top + reach] += np.bincount(i + first_gap[lag], weights=r2, minlength=reach) - np.bincount(
                i + after_last_gap[lag], weights=r2, minlength=reach
            )
        done += len(sel)
        carry = Z[:, -span:]
    if n_constant:
        log.warning(
            "%d variant(s) have no genotype variance (e.g. %s): they count as uncorrelated here, "
            "and the per-block LD step will reject them; filter them out (plink2 --maf).", n_constant, example,
        )
    return np.cumsum(diff)[: m - 1]


def partition(profile: np.ndarray, *, target: int, min_size: int, max_size: int) -> np.ndarray:
    """Cut a run of variants into blocks at gaps of low cross-gap LD.

    Gap g separates variants g and g + 1 of m = len(profile) + 1; a boundary at g ends a
    block with variant g. The algorithm:

    1. Start from k = m / target (rounded half up) blocks of equal size (at least 1, at most
       m // min_size so that every start block has min_size variants).
    2. Move each boundary, left to right, to the lowest profile value within +-target // 2 of
       its start, keeping min_size variants from the moved boundary on its left and the
       start boundary on its right.
    3. Split any block longer than max_size at its lowest interior gap that leaves min_size
       variants on both sides, and repeat on the pieces until none is too long.

    Ties go to the leftmost gap. A gap scored +inf is never chosen: a boundary whose range
    holds only such gaps is dropped, and a long block without an allowed interior gap stays
    whole (make_ld_blocks scores gaps between variants at the same position +inf). Blocks
    are shorter than min_size only when m itself is.

    Returns
    -------
    Sorted int64 gap indices of the boundaries.
    """
    profile = np.asarray(profile, dtype=np.float64)
    if not 1 <= min_size <= target <= max_size or max_size < 2 * min_size:
        raise ValueError(
            f"need 1 <= min_size <= target <= max_size and max_size >= 2 * min_size, "
            f"got min_size={min_size}, target={target}, max_size={max_size}"
        )
    if np.isnan(profile).any():
        raise ValueError("profile has NaN values")
    m = len(profile) + 1
    k = max(1, min(int(m / target + 0.5), m // min_size))
    start = np.arange(1, k) * m // k - 1
    limits = np.append(start[1:], m - 1)  # next start boundary (or the last variant)
    boundaries, left = [], -1
    for b, right in zip(start, limits):
        lo = max(b - target // 2, left + min_size)
        hi = min(b + target // 2, right - min_size)
        best = lo + int(np.argmin(profile[lo : hi + 1]))
        if np.isfinite(profile[best]):
            boundaries.append(best)
            left = best
    return split_oversized(profile, np.array(boundaries, dtype=np.int64), min_size=min_size, max_size=max_size)


def split_oversized(profile: np.ndarray, boundaries: np.ndarray, *, min_size: int, max_size: int) -> np.ndarray:
    """Add boundaries until no block exceeds max_size variants (step 3 of :func:`partition`).

    A block longer than max_size is cut at its lowest-scoring gap with at least min_size
    variants on each side, and the pieces are treated alike. Returns sorted gap indices.
    """
    m = len(profile) + 1
    edges = np.concatenate([[-1], boundaries, [m - 1]])
    pending = [(int(s) + 1, int(e)) for s, e in zip(edges[:-1], edges[1:])]  # first, last variant
    out = list(boundaries)
    while pending:
        first, last = pending.pop()
        if last - first + 1 <= max_size:
            continue
        lo, hi = first + min_size - 1, last - min_size
        cut = lo + int(np.argmin(profile[lo : hi + 1]))
        if np.isfinite(profile[cut]):
            out.append(cut)
            pending += [(first, cut), (cut + 1, last)]
    return np.sort(np.array(out, dtype=np.int64))


def make_ld_blocks(
    panel_prefix: str | Path | None,
    out_tsv: str | Path,
    out_report: str | Path | None = None,
    *,
    source: str,
    table: str | Path | None = None,
    population: str | None = None,
    build: str | None = None,
    resources_dir: str | Path = "resources",
    target_variants: int = 400,
    min_variants: int = 50,
    max_variants: int = 1500,
    window: int = 100,
    chunk: int = 2000,
) -> pd.DataFrame:
    """Partition the variants of a PLINK panel into LD blocks and write the block table.

    Parameters
    ----------
    panel_prefix : PLINK fileset of the LD reference (None for ``source="matrices"``).
    out_tsv : the block table, columns ``chrom start stop block n_variants first_id last_id``;
        ``block`` is ``{chrom}_{index:04d}`` (1-based within the chromosome), coordinates
        follow the module's convention; rows sorted by chromosome then start.
    out_report : optional per-chromosome TSV ``chrom n_variants n_outside example_outside
        table_blocks empty_blocks split_blocks blocks`` (table columns NA for ``data``).
    source : ``"shipped"`` (``population`` + ``build`` table from ``resources_dir``),
        ``"file"`` (the table at ``table``), ``"data"`` (:func:`partition` of each
        chromosome with ``target_variants``, ``min_variants``, ``max_variants``) or
        ``"matrices"`` (the blocks of the LD-matrix directory of the table ``table``, as
        :func:`phenomap.ld.matrices.import_block_table` writes them; no panel is read).
    window, chunk : see :func:`cross_ld_profile`.

    Gaps are scored with :func:`cross_ld_profile`, scaled up to a full window where a
    chromosome end leaves fewer than ``window`` variants on one side, and +inf between two
    variants at the same position (which no boundary can separate).

    With a table, variants outside every block are counted, logged (WARNING, with an
    example) and reported; blocks without variants are dropped and counted; blocks of more
    than ``max_variants`` variants are split at their weakest gaps (:func:`split_oversized`,
    scored with ``window`` variants of context on both sides).

    Returns
    -------
    The written block table.
    """
    if not 1 <= min_variants <= target_variants <= max_variants or max_variants < 2 * min_variants:
        raise InputError(
            "LD block sizes need 1 <= min_variants <= target_variants <= max_variants and "
            f"max_variants >= 2 * min_variants; got min_variants={min_variants}, "
            f"target_variants={target_variants}, max_variants={max_variants}."
        )
    if window < 1 or chunk < 1:
        raise InputError(f"LD window and chunk must be >= 1, got window={window}, chunk={chunk}.")
    if source == "matrices":
        from phenomap.ld.matrices import import_block_table  # it imports this module

        return import_block_table(Path(table).parent, out_tsv)
    if source == "shipped":
        if population is None or build is None:
            raise InputError("shipped LD blocks need the cohort's `population` and `build`.")
        table = shipped_block_table(resources_dir, population, build)
    elif source == "file":
        if table is None:
            raise InputError("LD blocks from a file need the path of the table.")
    elif source != "data":
        raise InputError(f"unknown LD-block source {source!r}: use one of {', '.join(SOURCES)}.")
    bfile = Bfile.open(panel_prefix)
    blocks_in = None if source == "data" else read_block_table(table)
    sizes = dict(min_size=min_variants, max_size=max_variants)
    pieces, report = [], []
    chroms = pd.Series(pd.unique(pd.concat([bfile.bim.CHROM] + ([] if blocks_in is None else [blocks_in.chrom]))))
    for chrom in chroms.iloc[np.argsort(chrom_sort_key(chroms).to_numpy(), kind="stable")]:
        order = np.flatnonzero((bfile.bim.CHROM == chrom).to_numpy())
        order = order[np.argsort(bfile.bim.POS.to_numpy()[order], kind="stable")]
        if blocks_in is None:
            blocks, stats = _partition_chromosome(
                bfile, order, target=target_variants, window=window, chunk=chunk, **sizes
            )
        else:
            own = blocks_in[blocks_in.chrom == chrom]
            blocks, stats = _cut_table_chromosome(bfile, order, own, window=window, chunk=chunk, **sizes)
        if len(blocks):
            pieces.append(blocks)
        report.append({"chrom": chrom, "n_variants": len(order), **stats, "blocks": len(blocks)})
    if not pieces:
        raise InputError(
            f"no variant of {panel_prefix}.bim lies in any block of {table}: the table does not "
            "match the panel (check the genome build and chromosome names)."
        )
    out = pd.concat(pieces, ignore_index=True)
    report = pd.DataFrame(report).astype({c: "Int64" for c in ("table_blocks", "empty_blocks", "split_blocks")})
    out.insert(3, "block", out.chrom + "_" + (out.groupby("chrom").cumcount() + 1).map("{:04d}".format))
    _log_summary(report, table, max_variants)
    rule_summary(f"{out.n_variants.sum():,} variants in {len(out):,} blocks",
                 f"median {out.n_variants.median():.0f} variants per block (max {out.n_variants.max():,})")
    write_tsv(out[OUTPUT_COLUMNS], out_tsv)
    if out_report is not None:
        write_tsv(report, out_report)
    return out[OUTPUT_COLUMNS]


def _gap_scores(bfile: Bfile, order: np.ndarray, lo: int, hi: int, *, window: int, chunk: int) -> np.ndarray:
    """Scores of the gaps between ``order[lo:hi]`` used to place boundaries.

    The cross-gap profile is computed with up to ``window`` variants of context on both
    sides, scaled to a full window (a gap with fewer than ``window`` variants on a side,
    at a chromosome end, gets the profile times window^2 / number of pairs), and +inf at
    gaps between variants at the same position.
    """
    context_lo, context_hi = max(0, lo - window), min(len(order), hi + window)
    profile = cross_ld_profile(bfile, order[context_lo:context_hi], window=window, chunk=chunk)
    gap = np.arange(len(profile))
    pairs = np.minimum(window, gap + 1) * np.minimum(window, len(profile) - gap)
    scores = (profile * window**2 / pairs)[lo - context_lo : hi - context_lo - 1]
    pos = bfile.bim.POS.to_numpy()[order[lo:hi]]
    scores[pos[1:] == pos[:-1]] = np.inf
    return scores


def _block_rows(bfile: Bfile, variants: np.ndarray, boundaries: np.ndarray, start: int, stop: int) -> pd.DataFrame:
    """Rows for the blocks cut at ``boundaries`` out of ``variants`` (position order), which
    together span ``[start, stop)``; inner block edges sit at the next block's first variant."""
    pos, ids = bfile.bim.POS.to_numpy(), bfile.bim.ID.to_numpy()
    first = np.concatenate([[0], boundaries + 1])
    last = np.append(boundaries, len(variants) - 1)
    edges = pos[variants[first[1:]]]
    return pd.DataFrame(
        {"chrom": bfile.bim.CHROM.iloc[variants[0]], "start": np.concatenate([[start], edges]),
         "stop": np.append(edges, stop), "n_variants": last - first + 1,
         "first_id": ids[variants[first]], "last_id": ids[variants[last]]}
    )


def _partition_chromosome(bfile, order, *, target, min_size, max_size, window, chunk):
    """Data-driven blocks of one chromosome (``order``: its variants in position order)."""
    scores = _gap_scores(bfile, order, 0, len(order), window=window, chunk=chunk)
    boundaries = partition(scores, target=target, min_size=min_size, max_size=max_size)
    pos = bfile.bim.POS.to_numpy()[order]
    blocks = _block_rows(bfile, order, boundaries, pos[0], pos[-1] + 1)
    stats = {"n_outside": 0, "example_outside": "", "table_blocks": None, "empty_blocks": None, "split_blocks": None}
    return blocks, stats


def _cut_table_chromosome(bfile, order, table, *, min_size, max_size, window, chunk):
    """Blocks of one chromosome from a reference table: drop empty ones, split long ones."""
    pos = bfile.bim.POS.to_numpy()[order]
    lo = np.searchsorted(pos, table.start.to_numpy(), side="left")
    hi = np.searchsorted(pos, table.stop.to_numpy(), side="left")
    covered = np.cumsum(np.bincount(lo, minlength=len(pos) + 1) - np.bincount(hi, minlength=len(pos) + 1))[:-1] > 0
    outside = order[~covered]
    pieces, n_split = [], 0
    for a, b, start, stop in zip(lo, hi, table.start, table.stop):
        if a == b:
            continue
        boundaries = np.zeros(0, dtype=np.int64)
        if b - a > max_size:
            scores = _gap_scores(bfile, order, a, b, window=window, chunk=chunk)
            boundaries = split_oversized(scores, boundaries, min_size=min_size, max_size=max_size)
            n_split += 1
        pieces.append(_block_rows(bfile, order[a:b], boundaries, start, stop))
    stats = {
        "n_outside": len(outside), "example_outside": bfile.bim.ID.iloc[outside[0]] if len(outside) else "",
        "table_blocks": len(table), "empty_blocks": int((lo == hi).sum()), "split_blocks": n_split,
    }
    return (pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()), stats


def _log_summary(report: pd.DataFrame, table, max_variants: int) -> None:
    n, outside = int(report.n_variants.sum()), int(report.n_outside.sum())
    if table is None:
        log.info("data-driven partition: %d variants in %d blocks", n, int(report.blocks.sum()))
        return
    log.info(
        "%s: %d blocks; %d without panel variants dropped; %d with more than %d variants split; "
        "%d blocks written", table, int(report.table_blocks.sum()), int(report.empty_blocks.sum()),
        int(report.split_blocks.sum()), max_variants, int(report.blocks.sum()),
    )
    if outside:
        first = report[report.n_outside > 0].iloc[0]
        log.warning(
            "%d of %d variants lie outside every block of %s (e.g. %s on chromosome %s; per "
            "chromosome in the report): they get no LD block and are left out of LD and all "
            "later steps. Check that the table's genome build matches the panel.",
            outside, n, table, first.example_outside, first.chrom,
        )
