"""Gene-level enrichment test of (shrunk) effects, as in gene-epsilon and ML-MAGES.

Genes
-----
A gene table has columns ``gene_id symbol chrom start stop`` (``strand`` optional), 1-based
inclusive coordinates as in NCBI/MAGMA gene-location files. A variant at ``POS`` belongs to a
gene when ``start - window <= POS <= stop + window``; genes may overlap, so a variant may
belong to several genes.

Test
----
For gene g with effects ``beta_i`` (i in g), the statistic is ``T_g = sum_i beta_i^2``. Its null
comes one of two ways:

* ``simulated`` (the workflow's default, for shrunk effects): null GWAS of each LD block pushed
  through the shrinkage that made the effects, Monte Carlo p-values with a fitted tail
  (:mod:`phenomap.genes.null`, which says why);
* ``epsilon`` (ML-MAGES, gene-epsilon): ``beta_g ~ N(0, eps R_g)`` with ``R_g`` the LD
  (correlation) matrix of the gene's variants and ``eps`` a null variance supplied by the
  caller (the smallest mixture component's). Then ``T_g = sum_j lambda_j chi2_1`` with
  ``lambda_j`` the eigenvalues of ``eps R_g`` (:mod:`phenomap.genes.quadform` gives the
  p-value). Exact for effects that are Gaussian with that covariance (e.g. ``beta_hat`` with
  ``eps R_g`` replaced by ``S R_g S``), not for shrunk ones.

With ``combine_z`` the gene's p-value joins that test with the ``sum z^2`` test of the GWAS
z-scores of its variants, whose null ``z_g ~ N(0, R_g)`` is exact (weights: the eigenvalues of
``R_g``, as the epsilon null with eps = 1), by the Cauchy combination
(:mod:`phenomap.genes.combine`); with the simulated null the combination's own null comes from
the same null GWAS (:func:`phenomap.genes.null.combined_pvalues`). Shrinkage keeps a gene's
large effects and drops its weak ones, so the shrunk test has less power than ``sum z^2`` for
genes of several weak effects (measured in docs/benchmarks.md); the combination keeps most of
the power of the stronger test. ``inflation`` widens the simulated null and the z test to null
z-scores ``N(0, c R)`` (the workflow's ``c`` is the LD-score intercept, :func:`null_inflation`).

 Allele orientation does not
matter: flipping a variant changes the sign of its beta and of its row and column of ``R_g``,
which leaves ``T_g`` and the eigenvalues unchanged; variants are joined to LD by ID.

LD comes per block (``ids``, ``r``). A gene whose variants lie in two (or more) blocks gets
a block-diagonal ``R_g``: LD between blocks is taken as 0, the premise of the block
partition, so its eigenvalues are those of each block's part together. Variants of a gene
that are in no LD block are left out of the gene (counted and logged). Genes with fewer
than 2 variants left are not tested (counted and logged). An ``R_g`` with an eigenvalue
below ``-PSD_TOLERANCE`` times its largest is not positive semi-definite beyond rounding:
a warning names the gene (or the block, for the simulated null); negative eigenvalues are always
clipped to 0.

Multiple testing: Benjamini-Hochberg q-values over the tested genes of one call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.genes.combine import cauchy_combination
from phenomap.genes.null import (MIN_EXCEEDANCES, Shrinker, combined_pvalues, make_shrinker, null_block_statistics,
                                 null_square_root, simulated_pvalues)
from phenomap.genes.quadform import DEFAULT_SWITCH, quadform_pvalues
from phenomap.gwas.summary import ldsc_intercept
from phenomap.io.plink import chrom_sort_key, normalise_chrom
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.ld.blocks import canonical_build
from phenomap.ld.matrix import read_block_ld
from phenomap.logging import rule_summary
from phenomap.sim.training import block_seed

log = logging.getLogger(__name__)

GENE_COLUMNS = ["gene_id", "symbol", "chrom", "start", "stop"]
RESULT_COLUMNS = ["gene", "gene_id", "chrom", "start", "stop", "n_snps", "stat", "p", "q", "p_method"]
#: Extra columns with ``combine_z``: each test's own p-value and the z-score statistic.
COMBINED_COLUMNS = ["p_effects", "stat_z", "p_z"]
#: Relative size of a negative eigenvalue of R_g above which the gene is reported as not PSD
#: (LD stored as float32 has eigenvalue noise ~1e-7 times the gene's size).
PSD_TOLERANCE = 1e-4
#: Build checks (see :func:`check_gene_coordinates`). Dense check: minimum expected number of
#: genes hit, and the fraction of it below which the coordinates are taken to disagree.
MIN_EXPECTED_HITS = 20
MIN_HIT_RATIO = 0.25
#: Assembly check, judged on genome-wide data only (at least this many shared chromosomes and
#: genes on them): the measured share of genes containing a variant below MIN_SHARE_RATIO of the
#: expected share, or variants beyond a chromosome's last gene by more than OVERFLOW_FRACTION of
#: the chromosome's gene extent on at least OVERFLOW_CHROMOSOMES chromosomes.
MIN_ASSEMBLY_CHROMOSOMES = 5
MIN_ASSEMBLY_GENES = 1000
MIN_SHARE_RATIO = 0.6
OVERFLOW_FRACTION = 0.05
#: q-value threshold of the count in the log's summary line (the report's threshold is a config key).
SUMMARY_Q = 0.05
OVERFLOW_CHROMOSOMES = 3

def read_gene_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a gene-location table.

    Whitespace-separated with a header naming at least ``gene_id symbol chrom start stop``
    (``strand``, if present, must be ``+``, ``-`` or ``.``); coordinates 1-based inclusive;
    chromosome names may carry a ``chr`` prefix.

    Returns
    -------
    DataFrame ``gene_id symbol chrom`` (str, chrom normalised), ``start stop`` (int64) and any
    further columns, sorted by chromosome, start, stop, with a fresh index.

    Raises
    ------
    InputError naming the file, the line and the fix for a missing or empty file, missing
    columns, non-integer or non-positive coordinates, start > stop, unknown chromosome names
    and duplicated gene IDs or symbols.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gene table {path} does not exist: give a table with columns {' '.join(GENE_COLUMNS)}, "
                         "or use the shipped tables (genes: shipped).")
    try:
        table = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"gene table {path} is empty: it needs a header and one line per gene.") from None
    except pd.errors.ParserError as err:
        raise InputError(f"gene table {path} is malformed ({err}); every line needs the same columns.") from None
    missing = [c for c in GENE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"gene table {path} lacks column(s) {missing} (found {list(table.columns)}): "
                         f"its header must name {' '.join(GENE_COLUMNS)} (strand optional).")
    if table.empty:
        raise InputError(f"gene table {path} has a header but no genes.")
    line = np.arange(len(table)) + 2  # 1-based, after the header

    def fail(i: int, problem: str, fix: str):
        raise InputError(f"gene table {path}, line {line[i]} (gene {table.symbol.iloc[i]!r}): {problem}; {fix}.")

    for col in ("start", "stop"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | (values < 1) | (values != values.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            fail(i, f"{col} {table[col].iloc[i]!r} is not a positive integer",
                 "coordinates are 1-based base-pair positions")
        table[col] = values.astype("int64")
    inverted = (table.start > table.stop).to_numpy()
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        fail(i, f"start {table.start.iloc[i]} is after stop {table.stop.iloc[i]}",
             "swap them (1-based inclusive, start <= stop)")
    if "strand" in table.columns:
        bad = ~table.strand.isin(["+", "-", "."])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            fail(i, f"strand {table.strand.iloc[i]!r} is not +, - or .", "fix the value or drop the strand column")
    for col in ("gene_id", "symbol"):
        empty = (table[col] == "").to_numpy()
        if empty.any():
            fail(int(np.flatnonzero(empty)[0]), f"{col} is empty", "give every gene an ID and a symbol")
        dup = table[col].duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            fail(i, f"{col} {table[col].iloc[i]!r} appears more than once",
                 "keep one line per gene (results are keyed by it)")
    table["chrom"] = normalise_chrom(table.chrom, source=f"gene table {path}")
    order = np.lexsort((table.stop.to_numpy(), table.start.to_numpy(), chrom_sort_key(table.chrom).to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def shipped_gene_table(resources_dir: str | Path, build: str) -> Path:
    """Path of the shipped table ``{resources_dir}/genes/genes.{build}.tsv`` (GRCh37/38 = hg19/38).

    Raises InputError listing the shipped builds when there is no table for ``build``.
    """
    folder = Path(resources_dir) / "genes"
    key = canonical_build(build)
    path = folder / f"genes.{key}.tsv"
    if not path.is_file():
        builds = sorted(p.name[len("genes."):-len(".tsv")] for p in folder.glob("genes.*.tsv"))
        raise InputError(f"no shipped gene table for build {build!r} in {folder} (shipped builds: "
                         f"{', '.join(builds) or 'none'}); set build to one of them or give your own gene table.")
    return path


def assign_genes(variants: pd.DataFrame, genes: pd.DataFrame, *, window: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All (gene, variant) pairs with ``start - window <= POS <= stop + window`` on the same chromosome.

    Parameters
    ----------
    variants : table with ``CHROM`` (normalised) and ``POS``.
    genes : table with ``chrom start stop`` (as from :func:`read_gene_table`).
    window : flanking bases added on both sides of each gene, >= 0.

    Returns
    -------
    gene, variant : (P,) int64 row positions into ``genes`` and ``variants``, sorted by gene
    then variant position.
    """
    gene_rows, variant_rows = [], []
    chrom, pos = variants.CHROM.to_numpy(), variants.POS.to_numpy()
    starts, stops = genes.start.to_numpy() - window, genes.stop.to_numpy() + window
    for c, rows in genes.groupby("chrom", sort=False).indices.items():
        on_chrom = np.flatnonzero(chrom == c)
        on_chrom = on_chrom[np.argsort(pos[on_chrom], kind="stable")]
        sorted_pos = pos[on_chrom]
        lo = np.searchsorted(sorted_pos, starts[rows], side="left")
        hi = np.searchsorted(sorted_pos, stops[rows], side="right")
        gene_rows.append(np.repeat(rows, hi - lo))
        variant_rows.append(on_chrom[_ranges(lo, hi - lo)])
    if not gene_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    gene, variant = np.concatenate(gene_rows), np.concatenate(variant_rows)
    order = np.lexsort((pos[variant], gene))
    return gene[order].astype(np.int64), variant[order].astype(np.int64)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each start s and count c, vectorised."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(total) - offsets


def describe_chromosomes(names) -> str:
    """Chromosome names in sort order, compactly: ``'1..22 X Y'`` or ``'1A..7D (21 chromosomes)'``."""
    names = pd.Series(sorted(set(map(str, names))), dtype=str)
    names = names.iloc[np.argsort(chrom_sort_key(names).to_numpy(), kind="stable")].tolist()
    numeric = [n for n in names if n.isdigit()]
    if numeric and [int(n) for n in numeric] == list(range(int(numeric[0]), int(numeric[-1]) + 1)) and len(numeric) > 2:
        names = [f"{numeric[0]}..{numeric[-1]}"] + [n for n in names if not n.isdigit()]
    if len(names) > 6:
        return f"{names[0]}..{names[-1]} ({len(names)} chromosomes)"
    return " ".join(names)


def check_gene_coordinates(
    genes: pd.DataFrame, variants: pd.DataFrame, n_variants_per_gene: np.ndarray, *,
    window: int, genes_source: str, variants_source: str,
) -> None:
    """Raise InputError when the gene table and the variants cannot be on the same genome and build.

    Three checks:

    1. the two share no chromosome name;
    2. dense data (exomes, sequencing): on the shared chromosomes, the genes lying within the
       span of the variants contain far fewer variants than the variant density predicts: under
       uniform placement a gene of length L (plus windows) is hit with probability
       ``1 - exp(-density * L)``; if that expectation is at least ``MIN_EXPECTED_HITS`` genes and
       fewer than ``MIN_HIT_RATIO`` of it are hit, positions and genes disagree;
    3. genome-wide data (at least ``MIN_ASSEMBLY_CHROMOSOMES`` shared chromosomes carrying
       ``MIN_ASSEMBLY_GENES`` genes): another species or assembly shows as chromosomes of other
       lengths. On each shared chromosome the variants should cover the table's genes: the share
       of the table's genes that contain a variant is compared with the share expected if the
       variants covered every gene of the chromosome at their own density; below
       ``MIN_SHARE_RATIO`` of it, or with variants lying beyond the table's last gene by more
       than ``OVERFLOW_FRACTION`` of the chromosome's gene extent on ``OVERFLOW_CHROMOSOMES`` or
       more chromosomes, the table is for another genome (e.g. human genes on mouse positions).

    Two builds of one species (hg19 and hg38) differ by far less than this and are not told apart
    from positions: the cohort's ``build`` setting decides which shipped table is used.
    """
    gene_chroms, variant_chroms = set(genes.chrom), set(variants.CHROM)
    shared = gene_chroms & variant_chroms
    if not shared:
        raise InputError(
            f"{genes_source} uses chromosomes {describe_chromosomes(gene_chroms)}; the {variants_source} use "
            f"{describe_chromosomes(variant_chroms)}: no chromosome in common. Give a gene table for the "
            "cohort's genome and build (or the cohort's own gene table)."
        )
    dense = {"expected": 0.0, "observed": 0, "genes": 0}
    genome = {"expected": 0.0, "observed": 0, "genes": 0}
    overflow = []
    starts, stops = genes.start.to_numpy(), genes.stop.to_numpy()
    for c, rows in genes.groupby("chrom", sort=False).indices.items():
        pos = variants.POS.to_numpy()[(variants.CHROM == c).to_numpy()]
        if len(pos) < 2 or pos.max() == pos.min():
            continue
        density = len(pos) / (pos.max() - pos.min())
        hit_probability = -np.expm1(-density * (stops[rows] - starts[rows] + 1 + 2 * window))
        inside = (starts[rows] >= pos.min()) & (stops[rows] <= pos.max())
        hit = n_variants_per_gene[rows] > 0
        for tally, chosen in ((dense, inside), (genome, np.ones(len(rows), bool))):
            tally["expected"] += float(hit_probability[chosen].sum())
            tally["observed"] += int(hit[chosen].sum())
            tally["genes"] += int(chosen.sum())
        extent = stops[rows].max() - starts[rows].min()
        if extent > 0 and pos.max() - stops[rows].max() > OVERFLOW_FRACTION * extent:
            overflow.append(f"{c}: {pos.max() / 1e6:.1f} vs {stops[rows].max() / 1e6:.1f} Mb")
    fix = ("Check the cohort's `build` setting, give a gene table for the cohort's species and build, "
           "or set `genes: none` to skip the gene stages.")
    if dense["expected"] >= MIN_EXPECTED_HITS and dense["observed"] < MIN_HIT_RATIO * dense["expected"]:
        raise InputError(
            f"only {dense['observed']} of the {dense['genes']} genes of {genes_source} that lie within the span of "
            f"the {variants_source} contain a variant, where about {dense['expected']:.0f} would at the variants' "
            f"density: the gene coordinates and the variant positions look like different genome builds. {fix}"
        )
    if len(shared) < MIN_ASSEMBLY_CHROMOSOMES or genome["genes"] < MIN_ASSEMBLY_GENES:
        return
    measured, expected = genome["observed"] / genome["genes"], genome["expected"] / genome["genes"]
    if measured < MIN_SHARE_RATIO * expected or len(overflow) >= OVERFLOW_CHROMOSOMES:
        raise InputError(
            f"{genes_source} and the {variants_source} look like different genomes or assemblies: on the "
            f"{len(shared)} chromosomes they share, {measured:.1%} of its {genome['genes']:,} genes contain a variant "
            f"where {expected:.1%} would if the variants covered each chromosome's genes at their density"
            + (f", and on {len(overflow)} chromosomes the variants lie beyond its last gene ({'; '.join(overflow[:5])})"
               if overflow else "")
            + f". {fix}"
        )


class LDBlockFiles(Mapping):
    """LD blocks from ``.npz`` files (``r`` (m, m), ``ids`` (m,)), loaded one at a time on access.

    Keys are the file names without ``.npz`` (the block names); values ``(ids, r)``.
    """

    def __init__(self, paths: Sequence[str | Path]):
        self.paths: dict[str, Path] = {}
        for path in map(Path, paths):
            name = path.name.removesuffix(".npz")
            if name in self.paths:
                raise InputError(f"two LD files for block {name}: {self.paths[name]} and {path}.")
            self.paths[name] = path

    def __getitem__(self, block: str) -> tuple[np.ndarray, np.ndarray]:
        ld = read_block_ld(self.paths[block])
        return ld.ids, ld.r

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def gene_test(
    effects: pd.DataFrame,
    genes: pd.DataFrame,
    ld_blocks: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    eps: float | None = None,
    shrinker: Shrinker | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    combine_z: bool = False,
    inflation: float = 1.0,
    window: int = 0,
    switch: float = DEFAULT_SWITCH,
    genes_source: str = "the gene table",
) -> pd.DataFrame:
    """Enrichment test of every gene with at least two variants in LD blocks.

    Parameters
    ----------
    effects : ``ID CHROM POS beta`` per variant (per-allele effects, e.g. shrunk), plus ``se``
        and ``n`` (the GWAS's standard error and sample size) for the simulated null, and ``z``
        (the GWAS z-score) with ``combine_z``; NaN betas are left out (counted in the log).
    genes : gene table as from :func:`read_gene_table`.
    ld_blocks : block name -> ``(ids (m,), r (m, m))``, e.g. :class:`LDBlockFiles`; read once
        each, in order.
    eps : the epsilon null: null variance of one effect (e.g. the smallest mixture component), > 0.
    shrinker : the simulated null: the shrinkage that made ``beta`` from the GWAS
        (:mod:`phenomap.genes.null`); give exactly one of ``eps`` and ``shrinker``.
    n_draws, seed : null GWAS per LD block and the seed of their draws (simulated null).
    combine_z : Cauchy-combine the test of ``beta`` with the ``sum z^2`` test of the z-scores.
    inflation : null GWAS variance factor ``c >= 1`` of the simulated null and the z test (``z_g ~ N(0, c R_g)``),
        e.g. the LD-score intercept; the epsilon null does not use it.
    window : flanking bases around each gene, >= 0.
    switch : Liu p-value below which the p-value is recomputed exactly
        (:func:`phenomap.genes.quadform.quadform_pvalues`; epsilon null).

    Returns
    -------
    DataFrame ``gene`` (symbol) ``gene_id chrom start stop n_snps stat p q p_method``, one row
    per tested gene, sorted by p (ties in gene-table order): ``stat`` = T_g, ``q`` = Benjamini-Hochberg, ``p_method`` =
    liu / imhof / saddlepoint (epsilon null) or mc / mc_tail (simulated null). With ``combine_z``
    also ``p_effects`` (the test of ``beta`` alone), ``stat_z`` (sum z^2) and ``p_z``; ``p`` is then
    their Cauchy combination: calibrated on the null draws (``p_method`` ``mc``, or ``cauchy`` in the
    tail beyond them, :func:`~phenomap.genes.null.combined_pvalues`) for the simulated null, the
    analytic combination (``cauchy``) for the epsilon null.

    Raises
    ------
    InputError for eps <= 0, both or neither null, fewer than 2 * MIN_EXCEEDANCES draws, a
    negative window, duplicated or infinite effects, missing or invalid ``se`` / ``n`` for the
    simulated null, a variant in two LD blocks, and gene coordinates that do not match the
    variants (:func:`check_gene_coordinates`).
    """
    if (eps is None) == (shrinker is None):
        raise InputError("give the gene test's null as either eps (epsilon null) or a shrinker (simulated null).")
    if eps is not None and (not np.isfinite(eps) or eps <= 0):
        raise InputError(f"the null effect variance eps must be a positive number, got {eps}: check the mixture fit.")
    if shrinker is not None and n_draws < 2 * MIN_EXCEEDANCES:
        raise InputError(f"the simulated null needs at least {2 * MIN_EXCEEDANCES} draws per block, got {n_draws}.")
    if window < 0:
        raise InputError(f"the gene window must be >= 0 bases, got {window}.")
    if not (np.isfinite(inflation) and inflation >= 1):
        raise InputError(f"the null inflation factor must be a number >= 1, got {inflation}.")
    effects = _valid_effects(effects, with_gwas=shrinker is not None, with_z=combine_z)
    gene, variant = assign_genes(effects, genes, window=window)
    per_gene = np.bincount(gene, minlength=len(genes))
    check_gene_coordinates(genes, effects, per_gene, window=window, genes_source=genes_source,
                           variants_source="effects")
    log.info("%d of %d genes contain no variant (window %d bp); %d gene-variant pairs",
             int(np.sum(per_gene == 0)), len(genes), window, len(gene))

    parts = _gene_nulls(effects, genes, gene, variant, ld_blocks, shrinker=shrinker, n_draws=n_draws, seed=seed,
                        with_eigenvalues=eps is not None or combine_z, inflation=inflation)
    in_ld = parts.pair_in_ld
    if (~in_ld).any():
        log.warning("%d variants in genes have no LD (in no LD block) and are left out of their genes, e.g. %s",
                    len(np.unique(variant[~in_ld])), effects.ID.iloc[variant[~in_ld][0]])
    n_snps = np.bincount(gene[in_ld], minlength=len(genes))
    beta = effects.beta.to_numpy()
    stat = np.bincount(gene[in_ld], weights=beta[variant[in_ld]] ** 2, minlength=len(genes))
    tested = np.flatnonzero(n_snps >= 2)
    log.info("%d genes tested; %d skipped with a single variant in LD, %d with none",
             len(tested), int(np.sum(n_snps == 1)), int(np.sum((n_snps == 0) & (per_gene > 0))))
    eigenvalues = [np.concatenate(parts.eigenvalues[g]) for g in tested] if eps is not None or combine_z else []
    if shrinker is None:
        pvalues = quadform_pvalues(stat[tested], [eps * lam for lam in eigenvalues], switch=switch)
        p, p_method = pvalues.p, pvalues.method
    else:
        null = np.stack([parts.null[g] for g in tested]) if len(tested) else np.zeros((0, n_draws))
        p, p_method = simulated_pvalues(stat[tested], null)
    extra = {}
    if combine_z and len(tested):
        z = effects.z.to_numpy()
        stat_z = np.bincount(gene[in_ld], weights=z[variant[in_ld]] ** 2, minlength=len(genes))[tested]
        eigenvalues = [inflation * lam for lam in eigenvalues]
        by_z = quadform_pvalues(stat_z, eigenvalues, switch=switch)
        extra = {"p_effects": p, "stat_z": stat_z, "p_z": by_z.p}
        analytic = cauchy_combination(np.vstack([p, by_z.p]))
        if shrinker is None:
            p, p_method = analytic, ["cauchy"] * len(tested)
        else:
            p, p_method = combined_pvalues(stat[tested], null, stat_z, np.stack([parts.null_z[g] for g in tested]),
                                           eigenvalues, analytic)
    elif combine_z:
        extra = {column: np.zeros(0) for column in COMBINED_COLUMNS}
    out = pd.DataFrame({
        "gene": genes.symbol.to_numpy()[tested], "gene_id": genes.gene_id.to_numpy()[tested],
        "chrom": genes.chrom.to_numpy()[tested], "start": genes.start.to_numpy()[tested],
        "stop": genes.stop.to_numpy()[tested], "n_snps": n_snps[tested], "stat": stat[tested],
        "p": p, "q": stats.false_discovery_control(p, method="bh") if len(tested) else np.zeros(0),
        "p_method": p_method, **extra,
    })
    log.info("p-values: %s", ", ".join(f"{m} {n}" for m, n in out.p_method.value_counts().items()) or "none")
    return out.sort_values("p", kind="stable", ignore_index=True)  # ties stay in gene-table order


def _valid_effects(effects: pd.DataFrame, *, with_gwas: bool = False, with_z: bool = False) -> pd.DataFrame:
    columns = ["ID", "CHROM", "POS", "beta"] + (["se", "n"] if with_gwas else []) + (["z"] if with_z else [])
    missing = [c for c in columns if c not in effects.columns]
    if missing:
        why = [why for why, needed in (("the simulated null redraws the GWAS from its SE and N", with_gwas),
                                       ("the combined test adds the GWAS z-scores", with_z)) if needed]
        raise InputError(f"the effects table lacks column(s) {missing}; it needs {' '.join(columns)}"
                         + (f" ({'; '.join(why)})." if why else "."))
    effects = effects[columns].copy()
    effects["ID"] = effects.ID.astype(str)
    dup = effects.ID.duplicated()
    if dup.any():
        raise InputError(f"variant {effects.ID[dup].iloc[0]} appears more than once in the effects: "
                         "keep one row per variant.")
    beta = pd.to_numeric(effects.beta, errors="coerce").astype(np.float64)
    if np.isinf(beta).any():
        raise InputError(f"variant {effects.ID[np.isinf(beta)].iloc[0]} has an infinite effect: fix the effects table.")
    effects["beta"] = beta
    if beta.isna().any():
        log.info("%d of %d variants have no effect (NA) and are left out", int(beta.isna().sum()), len(beta))
    effects = effects[beta.notna()].reset_index(drop=True)
    if with_gwas:
        for col, what in (("se", "standard error"), ("n", "sample size")):
            values = pd.to_numeric(effects[col], errors="coerce")
            bad = ~(np.isfinite(values) & (values > 0))
            if bad.any():
                raise InputError(f"variant {effects.ID[bad].iloc[0]} has {what} {effects[col][bad].iloc[0]}: the "
                                 "simulated null needs a positive SE and N for every variant with an effect.")
            effects[col] = values.astype(np.float64)
    if with_z:
        z = pd.to_numeric(effects.z, errors="coerce")
        bad = ~np.isfinite(z)
        if bad.any():
            raise InputError(f"variant {effects.ID[bad].iloc[0]} has GWAS z-score {effects.z[bad].iloc[0]}: the "
                             "combined test needs a finite z (BETA / SE) for every variant with an effect.")
        effects["z"] = z.astype(np.float64)
    effects["CHROM"] = normalise_chrom(effects.CHROM, source="effects table")
    pos = pd.to_numeric(effects.POS, errors="coerce")
    bad = pos.isna() | (pos != pos.round())
    if bad.any():
        raise InputError(f"variant {effects.ID[bad].iloc[0]} has position {effects.POS[bad].iloc[0]!r}, "
                         "not an integer base-pair position: fix the effects table.")
    effects["POS"] = pos.astype(np.int64)
    return effects


class _GeneNull:
    """Null of each gene, one piece per LD block it touches, and which (gene, variant) pairs have LD.

    eigenvalues : per gene, the eigenvalues of ``R_part`` of each part (epsilon null, z test), or None.
    null, null_z : gene -> (B,) sum over its parts of the parts' null statistics, of the effects and of
        ``sum z^2`` in the same null GWAS (simulated null).
    """

    def __init__(self, n_genes: int, n_pairs: int, with_eigenvalues: bool):
        self.eigenvalues: list[list[np.ndarray] | None] = [[] if with_eigenvalues else None for _ in range(n_genes)]
        self.null: dict[int, np.ndarray] = {}
        self.null_z: dict[int, np.ndarray] = {}
        self.pair_in_ld = np.zeros(n_pairs, dtype=bool)


def _gene_nulls(effects, genes, gene, variant, ld_blocks, *, shrinker, n_draws, seed, with_eigenvalues,
                inflation) -> _GeneNull:
    """Walk the LD blocks once; per gene part in a block, eigenvalues of ``R_part`` (``with_eigenvalues``) and
    its statistic on null GWAS of the block's variants with effects, through ``shrinker`` (when given)."""
    result = _GeneNull(len(genes), len(gene), with_eigenvalues)
    by_variant = np.argsort(variant, kind="stable")  # pairs grouped by variant (CSR)
    first_pair = np.searchsorted(variant[by_variant], np.arange(len(effects) + 1))
    id_index = pd.Index(effects.ID)
    block_of = np.full(len(effects), "", dtype=object)
    local = np.full(len(effects), -1, dtype=np.int64)
    for block in tqdm(ld_blocks, desc="gene LD", mininterval=5):
        ids, r = ld_blocks[block]
        rows = id_index.get_indexer(ids)
        here = np.flatnonzero(rows >= 0)
        rows = rows[here]
        twice = block_of[rows] != ""
        if twice.any():
            raise InputError(f"variant {effects.ID.iloc[rows[twice][0]]} is in LD blocks "
                             f"{block_of[rows[twice][0]]} and {block}: LD blocks must not overlap.")
        block_of[rows] = block
        local[rows] = np.arange(len(rows))  # position among the block's variants with effects
        counts = first_pair[rows + 1] - first_pair[rows]
        pairs = by_variant[_ranges(first_pair[rows], counts)]
        if len(pairs) == 0:
            continue
        result.pair_in_ld[pairs] = True
        pairs = pairs[np.argsort(gene[pairs], kind="stable")]
        genes_here, first = np.unique(gene[pairs], return_index=True)
        members = np.split(local[variant[pairs]], first[1:])
        r = r[np.ix_(here, here)].astype(np.float64)
        if with_eigenvalues:
            for g, idx in zip(genes_here, members):
                lam = np.linalg.eigvalsh(r[np.ix_(idx, idx)])
                _check_psd(lam[0] / lam[-1], f"gene {genes.symbol.iloc[g]}: LD matrix of its {len(idx)} variants "
                           f"in block {block}")
                result.eigenvalues[g].append(np.clip(lam, 0.0, None))
        if shrinker is None:
            continue
        root, ratio = null_square_root(r)
        _check_psd(ratio, f"block {block}: LD matrix of its {len(here)} variants with effects (simulated null)")
        null, null_z = null_block_statistics(
            root, effects.se.to_numpy()[rows], int(np.median(effects.n.to_numpy()[rows])), members, shrinker,
            n_draws=n_draws, rng=np.random.default_rng(block_seed(seed, block)), r=r, inflation=inflation,
        )
        for g, draws, draws_z in zip(genes_here, null, null_z):
            result.null[g] = result.null[g] + draws if g in result.null else draws
            result.null_z[g] = result.null_z[g] + draws_z if g in result.null_z else draws_z
    return result


def _check_psd(ratio: float, what: str) -> None:
    """Warn when the smallest eigenvalue over the largest, ``ratio``, is negative beyond rounding."""
    if ratio < -PSD_TOLERANCE:
        log.warning("%s is not positive semi-definite (smallest eigenvalue %.3g of the largest); negative "
                    "eigenvalues set to 0", what, ratio)


def null_variance(mixture_json: str | Path, trait_index: int) -> float:
    """Null effect variance eps of one trait from a fitted mixture (JSON of the cluster step), in effect units.

    The mixture is fitted to effects divided by each trait's scale (``trait_scale``, see
    :mod:`phenomap.mixture.pipeline`), so entry ``trait_index`` of ``null_variance`` (``null``
    for a trait without non-null effects, returned as NaN) is multiplied by that trait's
    scale squared.
    """
    path = Path(mixture_json)
    try:
        document = json.loads(path.read_text())
        values = [np.nan if v is None else float(v) for v in document["null_variance"]]
        scales = [float(v) for v in document["trait_scale"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"mixture model {path} cannot be read ({err!r}): it needs 'null_variance' and "
                         "'trait_scale' lists; rerun the cluster step.") from None
    if not 0 <= trait_index < len(values) or len(scales) != len(values):
        raise InputError(f"trait index {trait_index} is out of range for the mixture model {path}, "
                         f"which has {len(values)} trait(s) and {len(scales)} scale(s).")
    return values[trait_index] * scales[trait_index] ** 2


def null_inflation(table: pd.DataFrame, ldscores_tsv: str | Path, source: str | Path) -> float:
    """``max(1, a)`` with ``a`` the LD-score regression intercept of ``table``'s ``BETA / SE``, joined by ID to
    the LD scores in ``ldscores_tsv`` (:func:`phenomap.gwas.summary.ldsc_intercept`); logged."""
    scores = read_tsv(ldscores_tsv)
    if not {"ID", "ldscore"} <= set(scores.columns):
        raise InputError(f"LD-score table {ldscores_tsv} needs columns ID and ldscore (found {list(scores.columns)}).")
    joined = table[["ID", "BETA", "SE", "N"]].astype({"ID": str}).merge(
        scores[["ID", "ldscore"]].astype({"ID": str}), on="ID")
    z = pd.to_numeric(joined.BETA, errors="coerce") / pd.to_numeric(joined.SE, errors="coerce")
    try:
        intercept, slope = ldsc_intercept(z, joined.ldscore, float(np.nanmedian(pd.to_numeric(joined.N, errors="coerce"))))
    except ValueError as err:
        raise InputError(f"{source}: cannot estimate the GWAS's inflation ({err}); only {len(joined)} of its "
                         f"variants have an LD score in {ldscores_tsv}. Set genes.null_inflation: none to skip it.") \
            from None
    inflation = max(1.0, intercept)
    log.info("LD-score regression on %d variants: intercept %.3f, slope %.4f; the gene-test null is scaled by %.3f",
             len(joined), intercept, slope, inflation)
    if inflation > 1.1:
        log.warning("%s: the GWAS is inflated beyond its LD (LD-score intercept %.2f): the gene test's null is widened "
                    "to match, which costs power; a mixed model (gwas.model: lmm) or better covariates may remove the "
                    "inflation at its source", source, intercept)
    return inflation


def gene_enrichment(
    effects_tsv: str | Path,
    effect_column: str,
    genes_tsv: str | Path,
    ld_npzs: Sequence[str | Path],
    out: str | Path,
    *,
    eps: float | None = None,
    mixture_json: str | Path | None = None,
    trait_index: int | None = None,
    shrink_method: str | None = None,
    model_dir: str | Path | None = None,
    top_t: int | None = None,
    shrink_seed: int = 0,
    n_draws: int = 1000,
    seed: int = 0,
    combine_z: bool = False,
    ldscores_tsv: str | Path | None = None,
    window: int = 0,
    switch: float = DEFAULT_SWITCH,
) -> pd.DataFrame:
    """I/O layer of rule ``gene_enrichment``: one trait's effects -> gene results TSV.

    ``effects_tsv`` has ``ID CHROM POS`` and ``effect_column`` (e.g. ``BETA_SHRUNK``; NA = no
    effect). The null is one of (give exactly one):

    * simulated (``shrink_method``): the shrinkage that made the effects, as rule ``shrink``
      applied it (``nn`` with the ensemble in ``model_dir`` and ``top_t``, or a baseline with
      ``shrink_seed``; ``none`` for unshrunk ``BETA``), redrawn ``n_draws`` times per LD block
      from the effects file's ``SE`` and ``N`` with ``seed`` (:mod:`phenomap.genes.null`);
    * epsilon: ``eps``, or read from ``mixture_json`` for the trait at ``trait_index``
      (:func:`null_variance`).

    ``combine_z`` joins that test with the ``sum z^2`` test of ``z = BETA / SE`` (:func:`gene_test`).
    With ``ldscores_tsv`` (``ID ldscore``, e.g. rule ld_scores' table) the simulated null and the
    z test are scaled by the GWAS's inflation, ``max(1, LD-score regression intercept)`` of the
    effects file's ``BETA / SE`` (:func:`null_inflation`).
    Writes :func:`gene_test`'s table to ``out`` and returns it; when no gene can be tested (no
    effect values, or a trait the mixture found no non-null effect for) the table is empty,
    with its header.
    """
    if sum(x is not None for x in (eps, mixture_json, shrink_method)) != 1:
        raise InputError("give the gene test's null as one of eps, a mixture model file or the shrinkage method "
                         "(simulated null), not several or none.")
    if mixture_json is not None:
        if trait_index is None:
            raise InputError("reading eps from a mixture model needs the trait's index in the clustering.")
        eps = null_variance(mixture_json, trait_index)
    table = read_tsv(effects_tsv)
    gwas = (["SE", "N"] if shrink_method is not None else []) + (["BETA", "SE"] if combine_z else []) \
        + (["BETA", "SE", "N"] if ldscores_tsv is not None else [])
    gwas = list(dict.fromkeys(gwas))
    missing = [c for c in ("ID", "CHROM", "POS", effect_column, *gwas) if c not in table.columns]
    if missing:
        raise InputError(f"effects file {effects_tsv} lacks column(s) {missing} (found {list(table.columns)[:12]}): "
                         "check the effect column in the config.")
    effects = table[["ID", "CHROM", "POS"]].assign(beta=pd.to_numeric(table[effect_column], errors="coerce"))
    if shrink_method is not None:
        effects = effects.assign(se=table.SE, n=table.N)
    if combine_z:
        effects = effects.assign(z=pd.to_numeric(table.BETA, errors="coerce") / pd.to_numeric(table.SE, errors="coerce"))
    bad = effects.beta.isna() & table[effect_column].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"effects file {effects_tsv}: column {effect_column} has non-numeric value "
                         f"{table[effect_column].iloc[i]!r} at data row {i + 1} (variant {table.ID.iloc[i]}).")
    inflation = 1.0 if ldscores_tsv is None else null_inflation(table, ldscores_tsv, effects_tsv)
    if effects.beta.isna().all():
        log.warning("effects file %s has no %s value: no gene can be tested; writing an empty table",
                    effects_tsv, effect_column)
        result = pd.DataFrame(columns=RESULT_COLUMNS + (COMBINED_COLUMNS if combine_z else []))
    elif eps is not None and np.isnan(eps):
        log.warning("the mixture model %s has no null variance for trait %d (no non-null effect was clustered): "
                    "no gene can be tested; writing an empty table", mixture_json, trait_index)
        result = pd.DataFrame(columns=RESULT_COLUMNS + (COMBINED_COLUMNS if combine_z else []))
    else:
        genes = read_gene_table(genes_tsv)
        shrinker = None if shrink_method is None else make_shrinker(shrink_method, model_dir=model_dir, top_t=top_t,
                                                                    seed=shrink_seed)
        result = gene_test(effects, genes, LDBlockFiles(ld_npzs), eps=eps, shrinker=shrinker, n_draws=n_draws,
                           seed=seed, combine_z=combine_z, inflation=inflation, window=window, switch=switch,
                           genes_source=f"gene table {genes_tsv}")
    write_tsv(result, out)
    rule_summary(f"{len(result):,} genes tested", f"{(result.q < SUMMARY_Q).sum()} with q < {SUMMARY_Q:g}"
                 + (f", smallest q {result.q.min():.2g}" if len(result) else "")
                 + (f"; null inflation {inflation:.2f}" if ldscores_tsv is not None else ""))
    return result
