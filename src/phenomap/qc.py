"""Genotype quality control: per-variant statistics, the Hardy-Weinberg exact test, filtering.

The filters follow plink2's ``--mind M --geno G --maf F --hwe H``:

1. samples whose missing-call fraction over *all* input variants exceeds
   ``max_sample_missing`` are removed (plink2 ``--mind`` also runs first);
2. on the kept samples, each variant is tested for its missing-call fraction
   (> ``max_variant_missing``), monomorphism (no copy of one allele observed), minor allele
   frequency (< ``min_maf``) and Hardy-Weinberg exact p (< ``hwe_p``).

The variant filters are all computed on the same samples, so the kept variants do not depend
on their order; the reported reason is the first failing one in the order above (plink2 logs
``--hwe`` removals before ``--maf`` ones, so the two may attribute a variant that fails both
differently).

Which samples enter each statistic:

- call rate, monomorphism and MAF: every kept sample. plink2 computes frequencies on
  founders only, so on a cohort with genotyped parents the two can keep different variants
  by MAF. On X, males' calls count as diploid (0 or 2 copies) and their heterozygous calls
  are left as they are.
- HWE: kept *founders* only (as plink2 without ``--nonfounders``), since relatives are not
  independent draws from the population. A founder is a sample neither of whose parents is
  genotyped (:func:`founders`): parents from the pedigree file when one is given, else from
  the .fam PAT/MAT. Founders are decided on the input .fam, before sample QC.
- HWE on X: kept female founders (.fam SEX 2) only; males are hemizygous. plink2 ``--hwe``
  uses Graffelman & Weir's test with both sexes instead (its female-only p-value is the
  ``femalep`` column of ``--hardy``). When no sample has a known sex, X variants are not
  HWE-tested (a warning says so). XY (pseudo-autosomal) is tested as an autosome; Y and MT
  (haploid) are never tested. Variants that reach the HWE step untested are counted as
  ``hwe_not_tested`` in the summary, not removed.
- With fewer than ``MIN_HWE_FOUNDERS`` founders (or female founders for X) a warning gives
  the smallest p-value the test can reach on them.

HWE also removes variants in a structured or inbred cohort without known parents (every
sample a founder): population structure and inbreeding deplete heterozygotes genome-wide,
so there a lower qc.hwe_p (or 0) is the remedy, not the pedigree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from phenomap.errors import InputError
from phenomap.io.plink import Bfile, chrom_sort_key, write_bfile
from phenomap.io.tables import read_pedigree, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

#: Report reasons, in the order they are tested: each removed item gets the first it fails.
REASONS = ("sample_missing", "variant_missing", "monomorphic", "maf", "hwe")
VARIANT_REASONS = REASONS[1:]
REPORT_COLUMNS = ["kind", "id", "reason", "value", "threshold"]
#: Columns of :attr:`QCResult.per_chrom`, then of the summary table (:meth:`QCResult.summary`).
PER_CHROM_COLUMNS = ["chrom", "variants_in", "variants_kept", *VARIANT_REASONS, "hwe_not_tested"]
SUMMARY_COLUMNS = [*PER_CHROM_COLUMNS, "samples_in", "samples_kept", "sample_missing", "hwe_founders", "hwe_females"]
#: HWE class of a chromosome: diploid (autosomes and the pseudo-autosomal XY), tested on
#: founders; X, tested on female founders; haploid (Y, MT), never tested.
DIPLOID, CHROM_X, HAPLOID = range(3)
#: With fewer founders (female founders for X) than this, a warning says that the HWE test
#: has little power: 50 samples can at best give p ~ 1e-15 (25 / 0 / 25), and a common
#: variant needs a far stronger deviation than in a large cohort to reach qc.hwe_p.
MIN_HWE_FOUNDERS = 50
#: Relative tolerance under which two genotype-configuration probabilities count as equal in
#: the exact test (exact ties computed along different paths differ by rounding only).
TIE_TOLERANCE = 1e-7
#: Configurations less likely than the observed one by more than this many nats are left out
#: of the exact test (relative error < exp(-40) per configuration, ~4e-18).
TRUNCATION = 40.0


@dataclass(frozen=True)
class VariantStats:
    """Genotype counts of m variants and the summaries derived from them.

    Attributes
    ----------
    n_hom_a1, n_het, n_hom_a2, n_missing : (m,) int64
        Samples with 2, 1 and 0 copies of A1, and samples with a missing call.
    """

    n_hom_a1: np.ndarray
    n_het: np.ndarray
    n_hom_a2: np.ndarray
    n_missing: np.ndarray

    @property
    def n_called(self) -> np.ndarray:
        """(m,) samples with a non-missing call."""
        return self.n_hom_a1 + self.n_het + self.n_hom_a2

    @property
    def call_rate(self) -> np.ndarray:
        """(m,) fraction of samples with a call (NaN when there are no samples)."""
        return _ratio(self.n_called, self.n_called + self.n_missing)

    @property
    def missing_rate(self) -> np.ndarray:
        """(m,) fraction of samples with a missing call, as plink2 ``F_MISS``."""
        return _ratio(self.n_missing, self.n_called + self.n_missing)

    @property
    def a1_freq(self) -> np.ndarray:
        """(m,) frequency of A1 among called alleles (NaN without calls)."""
        return _ratio(2 * self.n_hom_a1 + self.n_het, 2 * self.n_called)

    @property
    def maf(self) -> np.ndarray:
        """(m,) minor allele frequency, in [0, 0.5] (NaN without calls)."""
        a1_count = 2 * self.n_hom_a1 + self.n_het
        return _ratio(np.minimum(a1_count, 2 * self.n_called - a1_count), 2 * self.n_called)

    @property
    def het_obs(self) -> np.ndarray:
        """(m,) observed heterozygosity: fraction of called samples that are heterozygous."""
        return _ratio(self.n_het, self.n_called)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as float64, NaN where den == 0."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def variant_stats(G: np.ndarray) -> VariantStats:
    """Genotype counts per variant of hard calls ``G``.

    Parameters
    ----------
    G : (n_samples, m_variants) array of A1 counts in {0, 1, 2}, NaN = missing.

    Raises InputError naming the first variant column holding any other value (dosages).
    """
    G = np.asarray(G)
    if G.ndim != 2:
        raise InputError(f"genotypes must be a 2-D (samples x variants) array, got shape {G.shape}.")
    stats = VariantStats(
        n_hom_a1=np.count_nonzero(G == 2, axis=0).astype(np.int64),
        n_het=np.count_nonzero(G == 1, axis=0).astype(np.int64),
        n_hom_a2=np.count_nonzero(G == 0, axis=0).astype(np.int64),
        n_missing=np.count_nonzero(np.isnan(G), axis=0).astype(np.int64),
    )
    bad = stats.n_called + stats.n_missing != G.shape[0]
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"genotype column {j} holds values other than 0, 1, 2 or NaN (dosages?); "
            "QC needs hard calls, e.g. from `plink2 --make-bed`."
        )
    return stats


def hwe_exact_p(n_het, n_hom1, n_hom2, *, max_terms: int = 1 << 20) -> np.ndarray:
    """Two-sided Hardy-Weinberg exact test p-values (Wigginton, Cutler & Abecasis 2005).

    Given n samples carrying c copies of the rarer allele, the heterozygote count h has
    P(h) = n! 2^h / (h! r! s!) / C(2n, c), with r = (c - h) / 2 and s = n - h - r the
    homozygote counts. The p-value sums P over all h no more likely than the observed one
    (ties within a relative TIE_TOLERANCE included), as plink2 ``--hardy`` without 'midp'.

    P is log-concave in h, so the h with P(h) >= P(observed) exp(-TRUNCATION) form an
    interval around the mode; it is found by bisection and only it is enumerated (what is
    left out changes p by less than c exp(-TRUNCATION) relative), so a variant costs
    O(standard deviation of h) log-gamma evaluations rather than O(c).

    Parameters
    ----------
    n_het, n_hom1, n_hom2 : (m,) non-negative integer counts of heterozygotes and of the two
        homozygotes (either order: the test is symmetric in them).
    max_terms : bound on the probabilities held at once (memory ~ 60 bytes each).

    Returns (m,) float64 p-values in [0, 1] (0 only by underflow, below ~1e-308); 1 for
    variants without calls or with a single allele.
    """
    shape = np.broadcast_shapes(np.shape(n_het), np.shape(n_hom1), np.shape(n_hom2))
    counts = {}
    for name, x in (("n_het", n_het), ("n_hom1", n_hom1), ("n_hom2", n_hom2)):
        x = np.broadcast_to(np.asarray(x, dtype=np.float64), shape).ravel()
        if not (np.isfinite(x) & (x >= 0) & (x == np.round(x))).all():
            raise InputError(f"hwe_exact_p: {name} must hold non-negative integer counts.")
        counts[name] = x.astype(np.int64)
    het, hom1, hom2 = counts["n_het"], counts["n_hom1"], counts["n_hom2"]
    n = het + hom1 + hom2
    n_rare = het + 2 * np.minimum(hom1, hom2)
    # Configurations k = 0 .. n_rare // 2 have n_rare % 2 + 2k heterozygotes; observed: het // 2.
    observed = het // 2
    first, last = _likely_configs(observed, n, n_rare)
    widths = last - first + 1
    p = np.ones(len(n))
    tested = n_rare >= 2  # otherwise a single configuration: p = 1
    # Pad each batch to its widest interval; batching by power-of-two width wastes < 2x.
    width_class = np.ceil(np.log2(widths))
    for cls in np.unique(width_class[tested]):
        members = np.flatnonzero(tested & (width_class == cls))
        width = int(widths[members].max())
        rows = max(1, max_terms // width)
        for start in range(0, len(members), rows):
            sel = members[start : start + rows]
            p[sel] = _as_likely_fraction(observed[sel], first[sel], last[sel], n[sel], n_rare[sel], width)
    return p.reshape(shape)


def _config_logp(k: np.ndarray, n: np.ndarray, n_rare: np.ndarray) -> np.ndarray:
    """log P of configuration k (n_rare % 2 + 2k heterozygotes) up to a per-variant constant."""
    het = n_rare % 2 + 2 * k
    rare_hom = (n_rare - het) // 2
    return het * np.log(2.0) - gammaln(het + 1.0) - gammaln(rare_hom + 1.0) - gammaln(n - het - rare_hom + 1.0)


def _likely_configs(observed: np.ndarray, n: np.ndarray, n_rare: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last configuration k with log P(k) >= log P(observed) - TRUNCATION."""
    zero, last = np.zeros_like(n), n_rare // 2

    def past_mode(k):  # P(k + 1) <= P(k): 4 r s <= (het + 1)(het + 2); true from the mode on
        het = n_rare % 2 + 2 * k
        rare_hom = (n_rare - het) // 2
        return 4 * rare_hom * (n - het - rare_hom) <= (het + 1) * (het + 2)

    mode = _bisect(past_mode, zero, last)
    floor = _config_logp(observed, n, n_rare) - TRUNCATION
    first = _bisect(lambda k: _config_logp(k, n, n_rare) >= floor, zero, mode)
    end = _bisect(lambda k: (k == last) | (_config_logp(np.minimum(k + 1, last), n, n_rare) < floor), mode, last)
    return first, end


def _bisect(predicate, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per element, the smallest k in [lo, hi] with ``predicate(k)``, for a predicate that is
    false then true on [lo, hi] and true at hi."""
    while (active := lo < hi).any():
        mid = (lo + hi) // 2
        true = predicate(mid)
        lo, hi = np.where(active & ~true, mid + 1, lo), np.where(active & true, mid, hi)
    return lo


def _as_likely_fraction(
    observed: np.ndarray, first: np.ndarray, last: np.ndarray, n: np.ndarray, n_rare: np.ndarray, width: int
) -> np.ndarray:
    """Mass of configurations first..last no more likely than the observed one, over the mass
    of first..last; rows padded to ``width`` configurations."""
    k = first[:, None] + np.arange(width)[None, :]
    in_range = k <= last[:, None]
    logp = _config_logp(np.minimum(k, last[:, None]), n[:, None], n_rare[:, None])
    logp = np.where(in_range, logp, -np.inf)
    prob = np.exp(logp - logp.max(axis=1, keepdims=True))
    as_extreme = logp <= _config_logp(observed, n, n_rare)[:, None] + TIE_TOLERANCE
    return np.minimum((prob * as_extreme).sum(axis=1) / prob.sum(axis=1), 1.0)


@dataclass(frozen=True)
class QCResult:
    """What a :func:`run_qc` call did: items in, kept and removed per reason, HWE samples.

    Attributes
    ----------
    n_samples_in, n_samples_kept, n_variants_in, n_variants_kept : int
    removed_sample_missing, removed_variant_missing, removed_monomorphic, removed_maf, removed_hwe : int
        Items removed, each under the first reason (in ``REASONS`` order) it fails.
    hwe_not_tested : int
        Kept variants without an HWE test: Y and MT; X without a kept female founder (no
        sex in the .fam, or no female); all chromosomes but X without a kept founder; all
        kept variants when hwe_p = 0.
    n_hwe_founders : int
        Kept founders: the samples of the HWE test on autosomes and XY.
    n_hwe_females : int
        Kept female founders (.fam SEX 2): the samples of the HWE test on X.
    per_chrom : DataFrame
        One row per chromosome (``chrom_sort_key`` order) with ``PER_CHROM_COLUMNS``.
        Left out of ``==``, which compares the counts.
    """

    n_samples_in: int
    n_samples_kept: int
    n_variants_in: int
    n_variants_kept: int
    removed_sample_missing: int
    removed_variant_missing: int
    removed_monomorphic: int
    removed_maf: int
    removed_hwe: int
    hwe_not_tested: int
    n_hwe_founders: int
    n_hwe_females: int
    per_chrom: pd.DataFrame = field(compare=False, repr=False)

    def summary(self) -> pd.DataFrame:
        """The QC summary table (``SUMMARY_COLUMNS``): ``per_chrom`` then a ``total`` row.

        The variant columns of the total row are the column sums; the sample columns
        (``samples_in samples_kept sample_missing hwe_founders hwe_females``, the counts
        of the same names in this result) are filled on the total row only, NA elsewhere.
        """
        total = self.per_chrom.drop(columns="chrom").sum().to_dict() | {
            "chrom": "total",
            "samples_in": self.n_samples_in,
            "samples_kept": self.n_samples_kept,
            "sample_missing": self.removed_sample_missing,
            "hwe_founders": self.n_hwe_founders,
            "hwe_females": self.n_hwe_females,
        }
        table = pd.concat([self.per_chrom, pd.DataFrame([total])], ignore_index=True)
        return table[SUMMARY_COLUMNS].astype(dict.fromkeys(SUMMARY_COLUMNS[1:], "Int64"))


def _check_thresholds(min_maf: float, max_variant_missing: float, max_sample_missing: float, hwe_p: float) -> None:
    limits = {
        "min_maf": (min_maf, 0.5),
        "max_variant_missing": (max_variant_missing, 1.0),
        "max_sample_missing": (max_sample_missing, 1.0),
        "hwe_p": (hwe_p, 1.0),
    }
    for key, (value, upper) in limits.items():
        if not 0.0 <= value <= upper:
            raise InputError(f"QC setting qc.{key} = {value} is outside [0, {upper}]; fix it in the config.")


def founders(fam: pd.DataFrame, pedigree: pd.DataFrame | None = None, *, source: str = "pedigree") -> np.ndarray:
    """Which samples are founders: neither parent is a genotyped sample (a .fam row).

    Parameters
    ----------
    fam : (n, 6) sample table from ``read_fam``.
    pedigree : ``IID SIRE DAM`` table from ``read_pedigree``, or None. When given, it alone
        names the parents: a sample's SIRE and DAM are looked up among the .fam IIDs, and a
        sample without a pedigree row is a founder; pedigree rows of individuals not in the
        .fam are counted and logged. Without it, the .fam PAT and MAT are looked up among
        the IIDs of the sample's own FID (the PLINK convention).
    source : name of the pedigree in messages (usually its path).

    Returns (n,) bool. Founder status depends on the whole .fam, not on which samples a
    filter keeps later (as in plink2). Unlike plink2, which makes any sample with a
    non-``0`` parent ID a non-founder, a parent that is not genotyped does not count, so
    full siblings of ungenotyped parents are all founders.

    Raises InputError, with a pedigree, when the .fam repeats an IID under several FIDs.
    """
    if pedigree is None:
        genotyped = pd.MultiIndex.from_frame(fam[["FID", "IID"]])
        has_parent = [pd.MultiIndex.from_arrays([fam.FID, fam[col]]).isin(genotyped) for col in ("PAT", "MAT")]
        return ~(has_parent[0] | has_parent[1])
    repeated = fam.IID[fam.IID.duplicated()]
    if len(repeated):
        raise InputError(
            f"the .fam repeats IID {repeated.iloc[0]!r} under several FIDs, so {source} (IID SIRE DAM) cannot "
            "tell those samples apart; give every sample a unique IID, or leave the pedigree out and put the "
            "parents in the .fam PAT/MAT columns."
        )
    parents = pedigree.set_index("IID").reindex(fam.IID)
    has_parent = parents.SIRE.isin(fam.IID).to_numpy() | parents.DAM.isin(fam.IID).to_numpy()
    absent = pedigree.IID[~pedigree.IID.isin(fam.IID)]
    log.info(
        "%s: %d of %d genotyped samples have a row (the others count as founders), %d have a genotyped "
        "parent; %d rows are of individuals not genotyped%s",
        source, int(parents.SIRE.notna().sum()), len(fam), int(has_parent.sum()), len(absent),
        f" (e.g. {absent.iloc[0]})" if len(absent) else "",
    )
    return ~has_parent


def hwe_class(chrom: pd.Series) -> np.ndarray:
    """(m,) HWE class per variant from its .bim CHROM: DIPLOID, CHROM_X or HAPLOID."""
    return np.select([chrom == "X", chrom.isin(["Y", "MT"])], [CHROM_X, HAPLOID], DIPLOID)


def run_qc(
    bfile_prefix: str | Path,
    out_prefix: str | Path,
    out_report: str | Path,
    out_summary: str | Path,
    *,
    pedigree: str | Path | None = None,
    min_maf: float = 0.01,
    max_variant_missing: float = 0.05,
    max_sample_missing: float = 0.05,
    hwe_p: float = 1e-6,
    chunk: int = 2000,
) -> QCResult:
    """Filter samples then variants of a PLINK fileset, streaming variant chunks.

    Parameters
    ----------
    bfile_prefix : input fileset prefix (.bed/.bim/.fam).
    out_prefix : prefix of the filtered fileset (kept samples x kept variants, input order,
        .bim/.fam rows as read).
    out_report : TSV ``kind id reason value threshold``, one row per removed sample
        (id ``FID:IID``) or variant (id from the .bim); ``value`` is the failing statistic
        (missing fraction, MAF or HWE p), threshold NA for ``monomorphic``.
    out_summary : TSV of :meth:`QCResult.summary`: per chromosome, variants in, kept,
        removed per reason and kept without an HWE test, then a ``total`` row that also
        holds the sample counts (in, kept, removed for missing calls, HWE founders and
        female founders). The same table is logged.
    pedigree : optional ``IID SIRE DAM`` TSV deciding who is a founder (see
        :func:`founders`); without it the .fam PAT/MAT decide.
    min_maf, max_variant_missing, max_sample_missing, hwe_p : thresholds, see the module
        docstring; removal is strict (a value equal to the threshold passes); hwe_p = 0
        disables the HWE filter. Monomorphic variants are always removed.
    chunk : variants read at once (memory ~ samples x chunk x 4 bytes).

    Raises InputError when a threshold is out of range, the pedigree is malformed, or no
    sample or variant survives. The input is read twice (three times when samples are
    removed).
    """
    _check_thresholds(min_maf, max_variant_missing, max_sample_missing, hwe_p)
    bfile = Bfile.open(bfile_prefix)
    n, m = bfile.n_samples, bfile.n_variants
    ped = None if pedigree is None else read_pedigree(pedigree)
    founder = founders(bfile.fam, ped, source=str(pedigree))
    hwe_rows = {DIPLOID: founder, CHROM_X: founder & (bfile.fam.SEX == "2").to_numpy()}
    group = hwe_class(bfile.bim.CHROM)

    # Pass 1: counts over all samples; pass 2 (only if samples are removed) subtracts theirs.
    sample_missing, stats, hwe_stats = _genotype_counts(bfile, slice(None), group, hwe_rows, chunk, "counting")
    sample_missing_rate = sample_missing / m
    drop_samples = sample_missing_rate > max_sample_missing
    if drop_samples.all():
        raise InputError(
            f"{bfile_prefix}: all {n} samples have more than {max_sample_missing:g} missing calls "
            f"(lowest missing fraction {sample_missing_rate.min():.4g}); raise qc.max_sample_missing."
        )
    if drop_samples.any():
        removed = np.flatnonzero(drop_samples)
        _, stats_removed, hwe_removed = _genotype_counts(bfile, removed, group, hwe_rows, chunk, "removing samples")
        stats, hwe_stats = _subtract(stats, stats_removed), _subtract(hwe_stats, hwe_removed)
    n_hwe = {cls: int((rows & ~drop_samples).sum()) for cls, rows in hwe_rows.items()}
    hwe_tested = (hwe_p > 0) & np.isin(group, [cls for cls, k in n_hwe.items() if k > 0])
    _log_hwe_samples(group, n_hwe, bfile.fam.SEX.isin(["1", "2"]).any(), hwe_p)

    removed_variants = _variant_filters(
        stats, hwe_stats, hwe_tested, bfile.bim.ID,
        min_maf=min_maf, max_variant_missing=max_variant_missing, hwe_p=hwe_p,
    )
    keep_variants = np.setdiff1d(np.arange(m), removed_variants.index)
    if keep_variants.size == 0:
        raise InputError(_no_variant_message(bfile_prefix, removed_variants, int((~drop_samples).sum())))
    removed_samples = pd.DataFrame(
        {
            "kind": "sample",
            "id": (bfile.fam.FID + ":" + bfile.fam.IID)[drop_samples].to_numpy(),
            "reason": "sample_missing",
            "value": sample_missing_rate[drop_samples],
            "threshold": max_sample_missing,
        }
    )
    report = pd.concat([removed_samples, removed_variants.assign(kind="variant")], ignore_index=True)
    report = report[REPORT_COLUMNS]

    keep_samples = np.flatnonzero(~drop_samples)
    write_bfile(
        out_prefix,
        bfile.fam.iloc[keep_samples],
        bfile.bim.iloc[keep_variants],
        (G for _, G in bfile.chunks(chunk, variants=keep_variants, samples=keep_samples, progress="qc: writing")),
    )
    write_tsv(report, out_report)

    reason = np.full(m, "", dtype=object)
    reason[removed_variants.index] = removed_variants.reason.to_numpy()
    per_reason = report.reason.value_counts()
    result = QCResult(
        n_samples_in=n,
        n_samples_kept=len(keep_samples),
        n_variants_in=m,
        n_variants_kept=len(keep_variants),
        **{f"removed_{r}": int(per_reason.get(r, 0)) for r in REASONS},
        hwe_not_tested=int(((reason == "") & ~hwe_tested).sum()),
        n_hwe_founders=n_hwe[DIPLOID],
        n_hwe_females=n_hwe[CHROM_X],
        per_chrom=_per_chrom(bfile.bim.CHROM, reason, ~hwe_tested),
    )
    write_tsv(result.summary(), out_summary)
    _log_summary(bfile_prefix, result)
    return result


def _genotype_counts(
    bfile: Bfile, samples, group: np.ndarray, hwe_rows: dict[int, np.ndarray], chunk: int, what: str
) -> tuple[np.ndarray, VariantStats, VariantStats]:
    """Counts over ``samples`` (a slice or sorted index array of the .fam rows).

    Returns missing calls per read sample, (n_read,), and the genotype counts of each
    variant over the read samples and over those of them in its HWE sample set
    (``hwe_rows[class]``, (n,) bool over all samples; classes not in it count nothing).
    """
    sample_missing = 0
    counts = {f.name: np.zeros(bfile.n_variants, dtype=np.int64) for f in fields(VariantStats)}
    hwe_counts = {name: total.copy() for name, total in counts.items()}
    for idx, G in bfile.chunks(chunk, samples=samples, progress=f"qc: {what}"):
        sample_missing = sample_missing + np.isnan(G).sum(axis=1)
        _add_counts(counts, idx, G)
        for cls, rows in hwe_rows.items():
            cols = group[idx] == cls
            _add_counts(hwe_counts, idx[cols], G[np.ix_(rows[samples], cols)])
    return sample_missing, VariantStats(**counts), VariantStats(**hwe_counts)


def _add_counts(totals: dict[str, np.ndarray], idx: np.ndarray, G: np.ndarray) -> None:
    """Add the genotype counts of the columns of ``G`` to ``totals[name][idx]``."""
    chunk_stats = variant_stats(G)
    for name, total in totals.items():
        total[idx] += getattr(chunk_stats, name)


def _subtract(a: VariantStats, b: VariantStats) -> VariantStats:
    return VariantStats(**{f.name: getattr(a, f.name) - getattr(b, f.name) for f in fields(VariantStats)})


def _log_hwe_samples(group: np.ndarray, n_hwe: dict[int, int], sex_known: bool, hwe_p: float) -> None:
    """Log which samples the HWE test uses, and warn where it is weak or cannot run."""
    if hwe_p == 0:
        log.info("HWE filter off (qc.hwe_p = 0): no variant is HWE-tested")
        return
    n_x, n_haploid = int((group == CHROM_X).sum()), int((group == HAPLOID).sum())
    if (group == DIPLOID).any():
        _warn_few(n_hwe[DIPLOID], "founders", "autosomes and XY", hwe_p)
    if n_x and not sex_known:
        log.warning(
            "no sample has a known sex (.fam column 5 is 0 for all): the %d chrX variants are not HWE-tested. "
            "Put the sex in the .fam (1 = male, 2 = female; e.g. plink2 --update-sex) to test chrX on female "
            "founders.", n_x,
        )
    elif n_x:
        _warn_few(n_hwe[CHROM_X], "female founders", "chrX", hwe_p)
    if n_haploid:
        log.info("%d variants on Y or MT are haploid: never HWE-tested", n_haploid)


def _warn_few(n_founders: int, who: str, where: str, hwe_p: float) -> None:
    """Warn when fewer than MIN_HWE_FOUNDERS samples carry the HWE test of ``where``."""
    if n_founders == 0:
        log.warning("no kept %s: the variants on %s are not HWE-tested", who, where)
    elif n_founders < MIN_HWE_FOUNDERS:
        smallest = float(hwe_exact_p(0, n_founders // 2, n_founders - n_founders // 2))
        log.warning(
            "HWE on %s is computed on %d %s only (fewer than %d): the test has little power; the smallest "
            "p-value %d samples can give is %.3g (qc.hwe_p = %g)",
            where, n_founders, who, MIN_HWE_FOUNDERS, n_founders, smallest, hwe_p,
        )


def _variant_filters(
    stats: VariantStats,
    hwe_stats: VariantStats,
    hwe_tested: np.ndarray,
    ids: pd.Series,
    *,
    min_maf: float,
    max_variant_missing: float,
    hwe_p: float,
) -> pd.DataFrame:
    """Removed variants: ``id reason value threshold`` indexed by variant position, each with
    its first failing reason, the statistic that failed and the threshold it failed.

    Call rate, monomorphism and MAF use ``stats`` (all kept samples); the HWE p-value uses
    ``hwe_stats`` (the HWE samples) of the variants where ``hwe_tested`` (m,) is true.
    """
    m = len(ids)
    reason = np.full(m, "", dtype=object)
    value = np.full(m, np.nan)
    threshold = np.full(m, np.nan)

    def mark(name: str, statistic: np.ndarray, fails: np.ndarray, limit: float) -> None:
        first = fails & (reason == "")
        reason[first], value[first], threshold[first] = name, statistic[first], limit

    missing = stats.missing_rate
    mark("variant_missing", missing, missing > max_variant_missing, max_variant_missing)
    maf = stats.maf
    mark("monomorphic", maf, ~(maf > 0), np.nan)  # NaN (no calls left) counts as monomorphic
    mark("maf", maf, maf < min_maf, min_maf)
    test = (reason == "") & hwe_tested
    p = np.full(m, np.nan)
    p[test] = hwe_exact_p(hwe_stats.n_het[test], hwe_stats.n_hom_a1[test], hwe_stats.n_hom_a2[test])
    mark("hwe", p, p < hwe_p, hwe_p)
    removed = np.flatnonzero(reason != "")
    return pd.DataFrame(
        {
            "id": ids.to_numpy()[removed],
            "reason": reason[removed],
            "value": value[removed],
            "threshold": threshold[removed],
        },
        index=removed,
    )


def _no_variant_message(bfile_prefix, removed_variants: pd.DataFrame, n_kept_samples: int) -> str:
    per_reason = removed_variants.reason.value_counts()
    failed = [r for r in REASONS if r in per_reason]
    keys = {"variant_missing": "qc.max_variant_missing", "maf": "qc.min_maf", "hwe": "qc.hwe_p"}
    relax = [keys[r] for r in failed if r in keys]
    return (
        f"{bfile_prefix}: no variant passes QC on the {n_kept_samples} kept samples "
        f"(removed per reason: {', '.join(f'{r} {per_reason[r]}' for r in failed)}). "
        + (f"Relax {' / '.join(relax)}." if relax else "The kept samples carry no polymorphic variant.")
    )


def _per_chrom(chrom: pd.Series, reason: np.ndarray, not_tested: np.ndarray) -> pd.DataFrame:
    """``PER_CHROM_COLUMNS`` per chromosome, from each variant's removal reason ("" = kept)
    and whether it had no HWE test, both (m,)."""
    variants = pd.DataFrame(
        {
            "chrom": chrom.to_numpy(),
            "outcome": np.where(reason == "", "variants_kept", reason),
            "hwe_not_tested": (reason == "") & not_tested,
        }
    )
    table = pd.crosstab(variants.chrom, variants.outcome).reindex(columns=PER_CHROM_COLUMNS[2:-1], fill_value=0)
    table.insert(0, "variants_in", table.sum(axis=1))
    table["hwe_not_tested"] = variants.groupby("chrom").hwe_not_tested.sum()
    table = table.reset_index().rename_axis(columns=None)
    return table.iloc[np.argsort(chrom_sort_key(table.chrom).to_numpy(), kind="stable")].reset_index(drop=True)


def _log_summary(bfile_prefix, result: QCResult) -> None:
    """The QC summary as readable log lines: samples, then one line per chromosome and the total."""
    log.info(
        "QC of %s: kept %d of %d samples (%d removed for missing calls); HWE on %d founders, %d female founders",
        bfile_prefix, result.n_samples_kept, result.n_samples_in, result.removed_sample_missing,
        result.n_hwe_founders, result.n_hwe_females,
    )
    for row in result.summary().itertuples(index=False):
        where = "total" if row.chrom == "total" else f"chrom {row.chrom}"
        removed = ", ".join(f"{r} {getattr(row, r)}" for r in VARIANT_REASONS)
        log.info(
            "QC %s: kept %d of %d variants; removed %s; %d kept without HWE test",
            where, row.variants_kept, row.variants_in, removed, row.hwe_not_tested,
        )
    rule_summary(f"{result.n_variants_in:,} variants x {result.n_samples_in:,} samples",
                 f"kept {result.n_variants_kept:,} variants, {result.n_samples_kept:,} samples")
