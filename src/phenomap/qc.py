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
differently). Unlike plink2, which computes frequencies and HWE on founders only, every kept
sample counts here (plink2 ``--nonfounders``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from phenomap.errors import InputError
from phenomap.io.plink import Bfile, write_bfile
from phenomap.io.tables import write_tsv

log = logging.getLogger(__name__)

#: Report reasons, in the order they are tested: each removed item gets the first it fails.
REASONS = ("sample_missing", "variant_missing", "monomorphic", "maf", "hwe")
REPORT_COLUMNS = ["kind", "id", "reason", "value", "threshold"]
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
    """Counts of a :func:`run_qc` call: items in, kept, and removed per reason."""

    n_samples_in: int
    n_samples_kept: int
    n_variants_in: int
    n_variants_kept: int
    removed_sample_missing: int
    removed_variant_missing: int
    removed_monomorphic: int
    removed_maf: int
    removed_hwe: int


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


def run_qc(
    bfile_prefix: str | Path,
    out_prefix: str | Path,
    out_report: str | Path,
    *,
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
    min_maf, max_variant_missing, max_sample_missing, hwe_p : thresholds, see the module
        docstring; removal is strict (a value equal to the threshold passes); hwe_p = 0
        disables the HWE filter. Monomorphic variants are always removed.
    chunk : variants read at once (memory ~ samples x chunk x 4 bytes).

    Raises InputError when a threshold is out of range or no sample or variant survives.
    The input is read twice (three times when samples are removed).
    """
    _check_thresholds(min_maf, max_variant_missing, max_sample_missing, hwe_p)
    bfile = Bfile.open(bfile_prefix)
    n, m = bfile.n_samples, bfile.n_variants

    # Pass 1: per-sample missing counts and per-variant counts over all samples.
    sample_missing = np.zeros(n, dtype=np.int64)
    counts = {field.name: np.zeros(m, dtype=np.int64) for field in fields(VariantStats)}
    for idx, G in bfile.chunks(chunk, progress="qc: counting genotypes"):
        sample_missing += np.isnan(G).sum(axis=1)
        chunk_stats = variant_stats(G)
        for name, total in counts.items():
            total[idx] = getattr(chunk_stats, name)
    sample_missing_rate = sample_missing / m
    drop_samples = sample_missing_rate > max_sample_missing
    if drop_samples.all():
        raise InputError(
            f"{bfile_prefix}: all {n} samples have more than {max_sample_missing:g} missing calls "
            f"(lowest missing fraction {sample_missing_rate.min():.4g}); raise qc.max_sample_missing."
        )

    # Pass 2 (only if samples were removed): subtract the removed samples' genotype counts.
    if drop_samples.any():
        removed = np.flatnonzero(drop_samples)
        for idx, G in bfile.chunks(chunk, samples=removed, progress="qc: removing samples"):
            chunk_stats = variant_stats(G)
            for name, total in counts.items():
                total[idx] -= getattr(chunk_stats, name)
    stats = VariantStats(**counts)

    removed_variants = _variant_filters(
        stats, bfile.bim.ID, min_maf=min_maf, max_variant_missing=max_variant_missing, hwe_p=hwe_p
    )
    keep_variants = np.setdiff1d(np.arange(m), removed_variants.index)
    if keep_variants.size == 0:
        per_reason = removed_variants.reason.value_counts()
        failed = [r for r in REASONS if r in per_reason]
        keys = {"variant_missing": "qc.max_variant_missing", "maf": "qc.min_maf", "hwe": "qc.hwe_p"}
        relax = [keys[r] for r in failed if r in keys]
        raise InputError(
            f"{bfile_prefix}: no variant passes QC on the {int((~drop_samples).sum())} kept samples "
            f"(removed per reason: {', '.join(f'{r} {per_reason[r]}' for r in failed)}). "
            + (f"Relax {' / '.join(relax)}." if relax else "The kept samples carry no polymorphic variant.")
        )
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

    per_reason = report.reason.value_counts()
    result = QCResult(
        n_samples_in=n,
        n_samples_kept=len(keep_samples),
        n_variants_in=m,
        n_variants_kept=len(keep_variants),
        **{f"removed_{r}": int(per_reason.get(r, 0)) for r in REASONS},
    )
    log.info(
        "QC of %s: kept %d of %d samples and %d of %d variants; removed %s",
        bfile_prefix, result.n_samples_kept, n, result.n_variants_kept, m,
        ", ".join(f"{r}: {getattr(result, f'removed_{r}')}" for r in REASONS),
    )
    return result


def _variant_filters(
    stats: VariantStats, ids: pd.Series, *, min_maf: float, max_variant_missing: float, hwe_p: float
) -> pd.DataFrame:
    """Removed variants: ``id reason value threshold`` indexed by variant position, each with
    its first failing reason, the statistic that failed and the threshold it failed."""
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
    if hwe_p > 0:
        undecided = reason == ""
        p = np.full(m, np.nan)
        p[undecided] = hwe_exact_p(stats.n_het[undecided], stats.n_hom_a1[undecided], stats.n_hom_a2[undecided])
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
