"""GWAS summary statistics: import from plink2/plink 1.9/generic tables and harmonise to a panel.

Every downstream stage reads the summary-statistics contract: a TSV with columns
``CHROM POS ID A1 A2 A1_FREQ N BETA SE Z P`` where A1 is the effect allele, CHROM has no
``chr`` prefix and missing values are ``NA``. :func:`read_sumstats` brings a file into
these columns (validating it), :func:`harmonise` aligns it to the variants and alleles of
an LD panel or cohort ``.bim``, and :func:`harmonise_sumstats` does both from paths.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

from phenomap.errors import InputError
from phenomap.io.plink import Bfile, normalise_chrom
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.logging import rule_summary

log = logging.getLogger(__name__)

CONTRACT_COLUMNS = ["CHROM", "POS", "ID", "A1", "A2", "A1_FREQ", "N", "BETA", "SE", "Z", "P"]
FORMATS = ("auto", "plink2", "plink1", "generic")
MATCH_BY = ("auto", "id", "chrompos")
#: Why a summary-statistics row is left out, in the order they are decided.
DROP_REASONS = ("plink2_error", "missing_statistic", "not_in_panel", "ambiguous", "allele_mismatch", "duplicate")
#: Rows of the harmonisation log after the drop reasons.
MATCH_COUNTS = ("matched", "swapped", "strand_flipped", "ambiguous_by_freq", "panel_without_sumstats")
#: Allele pairs whose two strands look the same (A/T, C/G): read on either strand, they match.
PALINDROMIC = ("AT", "TA", "CG", "GC")
#: Tokens read as a missing value in numeric columns (never ``-9``: it is a valid BETA).
MISSING_TOKENS = ["", "NA", "NaN", "nan", ".", "NULL"]
NUMERIC_COLUMNS = ("A1_FREQ", "N", "BETA", "SE", "Z", "P")
#: Where each contract column sits in the tools' own output; a user column map overrides it.
DEFAULT_COLUMNS = {
    "plink2": {"CHROM": "#CHROM", "N": "OBS_CT", "Z": "T_STAT"},
    "plink1": {"CHROM": "CHR", "POS": "BP", "ID": "SNP", "N": "NMISS", "Z": "STAT"},
    "generic": {},
}
PLINK1_HEADER = {"SNP", "BP", "A1", "TEST", "NMISS"}
#: Key of ``DataFrame.attrs`` where :func:`read_sumstats` records rows it dropped, as
#: ``{reason: (count, example_id)}``; :func:`harmonise` carries them into its log.
DROPPED_ATTR = "dropped"

# Outcome of comparing one sumstats row's alleles with one panel variant's.
KEEP, SWAP, FLIP_KEEP, FLIP_SWAP, AMBIGUOUS, MISMATCH = range(6)


@dataclass(frozen=True)
class Harmonised:
    """Summary statistics aligned to a panel.

    Attributes
    ----------
    table : (m_matched, 11) contract DataFrame (``CONTRACT_COLUMNS``) with the panel's
        CHROM, POS, ID and alleles, effects oriented to the panel's A1, rows in panel order.
    log : DataFrame ``reason n example_id``: one row per drop reason in ``DROP_REASONS``
        (zero counts included), then the ``MATCH_COUNTS``: ``matched`` (rows kept),
        ``swapped``, ``strand_flipped`` and ``ambiguous_by_freq`` (among the matched: A1 was
        the panel's A2, the alleles were on the other strand, a strand-ambiguous variant
        was oriented by allele frequency) and ``panel_without_sumstats``.
    dropped : DataFrame ``CHROM POS ID A1 A2 reason``: every sumstats row left out by the
        harmonisation (reasons ``not_in_panel``, ``ambiguous``, ``allele_mismatch``,
        ``duplicate``), in file order; rows dropped on reading are only counted in ``log``.
    """

    table: pd.DataFrame
    log: pd.DataFrame
    dropped: pd.DataFrame


def read_sumstats(
    path: str | Path,
    *,
    fmt: str = "auto",
    columns: dict[str, str] | None = None,
    n: float | None = None,
    allow_missing: bool = False,
) -> pd.DataFrame:
    """Read a summary-statistics file into the contract columns, validating it.

    Parameters
    ----------
    path : plink2 ``--glm`` linear output, plink 1.9 ``--linear`` output or a generic
        TSV/CSV/whitespace table (``.gz`` allowed).
    fmt : ``"plink2"``, ``"plink1"``, ``"generic"`` or ``"auto"`` (plink2 if the header
        starts with ``#CHROM``; plink1 if it has ``SNP BP A1 TEST NMISS``; else generic).
    columns : map from contract column to the file's column name, e.g.
        ``{"A1": "effect_allele", "P": "pval"}``; contract columns not in the map are
        looked up under the tool's name (plink) or their own name.
    n : sample size used when the file has no N column (or N is missing on a row).
    allow_missing : drop rows whose BETA or SE is missing (failed regressions) instead of
        raising; their count is logged and kept in ``df.attrs["dropped"]``. Rows plink2
        itself marks as failed (``ERRCODE`` other than ``.``) are always dropped, counted
        as ``plink2_error``, with the count per code in the log.

    Returns
    -------
    DataFrame with ``CONTRACT_COLUMNS`` in file order (plink: additive-test rows only).
    CHROM is a string without ``chr`` (NA when absent), POS nullable Int64, alleles upper
    case, A2 NA for plink1 (filled by :func:`harmonise`), A1_FREQ/N/BETA/SE/Z/P float64.
    Z is BETA/SE unless given; a missing P is the two-sided normal p-value of Z. For
    plink1, SE = BETA/STAT, so it carries plink 1.9's 4 printed significant digits.

    Raises InputError naming the file, column, first offending data row and ID, and the
    fix, for: a missing file, a missing required column (ID or CHROM+POS, A1, A2 except
    plink1, BETA, SE), non-numeric numbers, SE <= 0 or infinite, infinite BETA, P or
    A1_FREQ outside [0, 1], N <= 0 or missing, and missing BETA/SE unless ``allow_missing``.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(f"Summary statistics format {fmt!r} is unknown: use one of {', '.join(FORMATS)}.")
    if not path.is_file():
        raise InputError(f"Summary statistics file {path} does not exist: check the path in the config.")
    header = _first_line(path)
    if fmt == "auto":
        fmt = _detect_format(header)
    raw = _read_raw(path, fmt, header)
    names = _resolve_columns(raw, path, fmt, columns or {})

    if "CHROM" in names:
        raw[names["CHROM"]] = normalise_chrom(raw[names["CHROM"]].str.strip(), source=str(path))
    if fmt != "generic" and "TEST" in raw.columns:
        raw = _additive_rows(raw, path)
    if raw.empty:
        raise InputError(f"{path} has no data rows: it needs a header line and one line per variant.")
    dropped = {}
    if fmt == "plink2" and "ERRCODE" in raw.columns:
        raw, dropped = _drop_plink2_errors(raw, path, names)

    table = pd.DataFrame(index=raw.index)
    table["CHROM"] = raw[names["CHROM"]] if "CHROM" in names else pd.Series(pd.NA, index=raw.index, dtype="str")
    table["POS"] = _positions(raw, names, path)
    if "ID" in names:
        table["ID"] = raw[names["ID"]].str.strip()
    else:
        table["ID"] = table.CHROM + ":" + table.POS.astype(str)
    ids = table.ID
    table["A1"] = _alleles(raw[names["A1"]], names["A1"], path, ids)
    if "A2" in names:
        table["A2"] = _alleles(raw[names["A2"]], names["A2"], path, ids)
    elif fmt == "plink2":
        table["A2"] = _plink2_other_allele(raw, table.A1, path, ids)
    else:  # plink1 has no second allele; harmonise() takes it from the panel
        table["A2"] = pd.Series(pd.NA, index=raw.index, dtype="str")
    same = table.A1 == table.A2
    _fail_if(same, path, ids, table.A1, "A1 equals A2", "check the allele columns")

    number = {col: _numbers(raw[names[col]], names[col], path, ids) for col in names if col in NUMERIC_COLUMNS}
    table["A1_FREQ"] = number.get("A1_FREQ", np.nan)
    table["BETA"] = number["BETA"]
    if "SE" in number:
        table["SE"] = number["SE"]
    else:  # plink1: SE = BETA / STAT (undefined when STAT is 0)
        stat = _numbers(raw["STAT"], "STAT", path, ids)
        table["SE"] = (table.BETA / stat.where(stat != 0)).abs()
    table["N"] = number.get("N", np.nan)
    if n is not None:
        table["N"] = table.N.fillna(float(n))
    table["Z"] = number.get("Z", np.nan)
    table["P"] = number.get("P", np.nan)

    table, dropped["missing_statistic"] = _drop_missing_statistics(table, path, allow_missing)
    _validate_numbers(table, path, names)
    table["Z"] = table.Z.fillna(table.BETA / table.SE)
    table["P"] = table.P.fillna(pd.Series(2 * ndtr(-table.Z.abs().to_numpy()), index=table.index))
    table = table[CONTRACT_COLUMNS].reset_index(drop=True)
    table.attrs[DROPPED_ATTR] = {reason: count for reason, count in dropped.items() if count[0]}
    return table


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return handle.readline().rstrip("\r\n")


def _detect_format(header: str) -> str:
    if header.startswith("#CHROM"):
        return "plink2"
    if PLINK1_HEADER <= set(header.split()):
        return "plink1"
    return "generic"


def _read_raw(path: Path, fmt: str, header: str) -> pd.DataFrame:
    """The file as strings, index = 0-based data row (so messages can cite file rows)."""
    if fmt == "plink2":
        sep = "\t"
    elif fmt == "plink1":
        sep = r"\s+"
    else:
        sep = "\t" if "\t" in header else "," if "," in header else r"\s+"
    try:
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: it needs a header line and one line per variant.") from None
    except pd.errors.ParserError as err:
        raise InputError(
            f"{path} is not a well-formed {fmt} table ({err}); check the delimiter and row lengths."
        ) from None
    raw.columns = raw.columns.str.strip()
    return raw


def _resolve_columns(raw: pd.DataFrame, path: Path, fmt: str, columns: dict[str, str]) -> dict[str, str]:
    """Map each contract column present in the file to its file column name."""
    unknown = sorted(set(columns) - set(CONTRACT_COLUMNS))
    if unknown:
        raise InputError(
            f"Column map for {path} has unknown key(s) {unknown}: keys must be contract columns "
            f"({' '.join(CONTRACT_COLUMNS)}) and values the file's column names."
        )
    wanted = {col: col for col in CONTRACT_COLUMNS} | DEFAULT_COLUMNS[fmt] | columns
    found = {col: name for col, name in wanted.items() if name in raw.columns}
    derivable = {  # contract columns the tool's output lets us compute when not given
        "A2": fmt == "plink1" or (fmt == "plink2" and ("OMITTED" in raw or {"REF", "ALT"} <= set(raw.columns))),
        "SE": fmt == "plink1" and "STAT" in raw,
        "ID": {"CHROM", "POS"} <= set(found),
    }
    missing = [col for col in ("ID", "A1", "A2", "BETA", "SE") if col not in found and not derivable.get(col)]
    missing += [col for col in columns if col not in found and col not in missing]  # mapped means required
    if missing:
        col = missing[0]
        alternative = " (or both CHROM and POS)" if col == "ID" else ""
        raise InputError(
            f"{path} ({fmt} format) has no column for {col}: looked for {wanted[col]!r}{alternative}; "
            f"found columns {list(raw.columns)}. Set the column map, e.g. columns: {{{col}: <column name>}}"
            + (", or check fmt" if fmt != "generic" else "")
            + (f" (also missing: {missing[1:]})" if len(missing) > 1 else "")
            + "."
        )
    return found


def _additive_rows(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Keep the additive-test rows of plink output (covariate rows appear without hide-covar)."""
    additive = raw.TEST.str.strip() == "ADD"
    if not additive.any():
        raise InputError(
            f"{path}: no rows with TEST == ADD (found TEST values {sorted(raw.TEST.unique())[:5]}); "
            "run the association with the additive model."
        )
    return raw[additive]


def _row(mask: pd.Series, ids: pd.Series) -> str:
    i = int(np.flatnonzero(mask.to_numpy())[0])
    return f"data row {mask.index[i] + 1} (ID {ids.loc[mask.index[i]]})"


def _fail_if(mask: pd.Series, path: Path, ids: pd.Series, values: pd.Series, problem: str, fix: str) -> None:
    if mask.any():
        value = values.loc[mask].iloc[0]
        shown = repr(value) if isinstance(value, str) else f"{value:g}"
        raise InputError(f"{path}: {problem} (value {shown}) at {_row(mask, ids)}; {fix}.")


def _positions(raw: pd.DataFrame, names: dict[str, str], path: Path) -> pd.Series:
    if "POS" not in names:
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    text = raw[names["POS"]].str.strip()
    pos = pd.to_numeric(text, errors="coerce")
    bad = pos.isna() | (pos < 0) | (pos != pos.round())
    ids = raw[names["ID"]] if "ID" in names else text
    _fail_if(bad, path, ids, text, f"column {names['POS']!r} is not a non-negative integer position",
             "write base-pair positions as whole numbers")
    return pos.astype("Int64")


def _alleles(values: pd.Series, column: str, path: Path, ids: pd.Series) -> pd.Series:
    codes, distinct = pd.factorize(values)  # clean the few distinct alleles, not every row
    alleles = pd.Series(pd.Index(distinct).str.strip().str.upper()[codes], index=values.index, dtype="str")
    missing = alleles.isin(MISSING_TOKENS)
    _fail_if(missing, path, ids, values, f"column {column!r} has a missing allele",
             "give both alleles of every variant, or remove the row")
    return alleles


def _plink2_other_allele(raw: pd.DataFrame, a1: pd.Series, path: Path, ids: pd.Series) -> pd.Series:
    """A2 of plink2 output: the OMITTED column if present, else whichever of REF/ALT is not A1."""
    if "OMITTED" in raw.columns:
        return _alleles(raw.OMITTED, "OMITTED", path, ids)
    ref = _alleles(raw.REF, "REF", path, ids)
    alt = _alleles(raw.ALT, "ALT", path, ids)
    return alt.where(a1 == ref, ref)


def _numbers(values: pd.Series, column: str, path: Path, ids: pd.Series) -> pd.Series:
    """Parse a numeric column; missing tokens become NaN, anything else non-numeric is an error."""
    parsed = pd.to_numeric(values, errors="coerce").astype("float64")
    unparsed = values[parsed.isna()].str.strip()
    not_numeric = ~unparsed.isin(MISSING_TOKENS)
    _fail_if(not_numeric, path, ids, unparsed, f"column {column!r} is not numeric",
             "write a number, or NA where it is missing")
    return parsed


def _drop_plink2_errors(raw: pd.DataFrame, path: Path, names: dict[str, str]) -> tuple[pd.DataFrame, dict]:
    """Drop the rows plink2 marks as failed tests (``ERRCODE`` other than ``.``).

    Returns the other rows and ``{"plink2_error": (count, example_id)}`` (empty when none).
    Raises InputError when every row failed.
    """
    code = raw.ERRCODE.str.strip()
    failed = code != "."
    if not failed.any():
        return raw, {}
    ids = raw[names["ID"]] if "ID" in names else raw[names["CHROM"]] + ":" + raw[names["POS"]]
    per_code = ", ".join(f"{c} {k}" for c, k in code[failed].value_counts().items())
    if failed.all():
        raise InputError(
            f"{path}: plink2 reports every test as failed (ERRCODE {per_code}); check the phenotype, "
            "the covariates (collinear or constant?) and that the genotypes vary."
        )
    example = ids[failed].iloc[0].strip()
    log.warning("%s: dropped %d rows plink2 reports as failed: ERRCODE %s (e.g. %s)",
                path, int(failed.sum()), per_code, example)
    return raw[~failed], {"plink2_error": (int(failed.sum()), example)}


def _drop_missing_statistics(table: pd.DataFrame, path: Path, allow_missing: bool) -> tuple[pd.DataFrame, tuple]:
    """Rows with BETA and SE, and ``(count, example_id)`` of those dropped for lacking one."""
    missing = table.BETA.isna() | table.SE.isna()
    if missing.any() and not allow_missing:
        raise InputError(
            f"{path}: BETA or SE is missing at {_row(missing, table.ID)} ({int(missing.sum())} such rows); "
            "remove these variants, or set allow_missing to drop them (as for failed regressions)."
        )
    example = table.ID[missing].iloc[0] if missing.any() else pd.NA
    if missing.any():
        log.warning("%s: dropped %d rows with missing BETA or SE (e.g. %s)", path, int(missing.sum()), example)
        table = table[~missing].copy()
    if table.empty:
        raise InputError(f"{path}: every row has a missing BETA or SE; check that the association ran.")
    return table, (int(missing.sum()), example)


def _validate_numbers(table: pd.DataFrame, path: Path, names: dict[str, str]) -> None:
    ids = table.ID
    se_name = names.get("SE", "BETA/STAT")
    _fail_if(np.isinf(table.BETA), path, ids, table.BETA, f"column {names['BETA']!r} is infinite",
             "remove the variant or fix the estimate")
    _fail_if((table.SE <= 0) | np.isinf(table.SE), path, ids, table.SE,
             f"column {se_name!r} is not a positive finite SE",
             "standard errors must be > 0 and finite: remove the variant or fix the column map")
    for col in ("P", "A1_FREQ"):
        out_of_range = (table[col] < 0) | (table[col] > 1)
        _fail_if(out_of_range, path, ids, table[col], f"column {names.get(col, col)!r} is outside [0, 1]",
                 "check that the column holds p-values / frequencies (not -log10 P or counts)")
    if "N" not in names and table.N.isna().all():
        raise InputError(
            f"{path} has no sample-size column: add an N column (or map it, columns: {{N: <column name>}}) "
            "or set n in the config to the GWAS sample size."
        )
    _fail_if(table.N.isna(), path, ids, table.N, f"column {names.get('N', 'N')!r} is missing",
             "fill in N, or set n in the config to use for rows without one")
    _fail_if((table.N <= 0) | np.isinf(table.N), path, ids, table.N,
             f"column {names.get('N', 'N')!r} is not positive",
             "N is the number of samples in the regression")


def harmonise(
    sumstats: pd.DataFrame,
    panel_bim: pd.DataFrame,
    *,
    match_by: str = "auto",
    source: str = "summary statistics",
    same_genotypes: bool = False,
    panel_a1_freq: np.ndarray | None = None,
    ambiguous_margin: float = 0.1,
) -> Harmonised:
    """Align summary statistics to the variants and alleles of a panel ``.bim``.

    Parameters
    ----------
    sumstats : contract DataFrame from :func:`read_sumstats` (A2 may be NA, as for plink1).
    panel_bim : LD panel / cohort variants ``CHROM ID CM POS A1 A2`` from ``read_bim``.
    match_by : ``"id"``, ``"chrompos"`` or ``"auto"`` (id when at least half of the
        sumstats IDs are in the panel, else CHROM:POS).
    source : name of the summary statistics in messages (usually the path).
    same_genotypes : True when the statistics were computed on the panel's own genotypes
        (our GWAS): alleles are compared literally (same or swapped), so strand-ambiguous
        A/T and C/G variants are kept and an opposite-strand pair is an allele mismatch.
    panel_a1_freq : (m_panel,) frequency of each panel variant's A1, in panel_bim order,
        NaN where unknown; only the strand-ambiguous variants' entries are used.
    ambiguous_margin : for external statistics, a strand-ambiguous variant is kept
        when its A1 frequency is farther than this from 0.5 in both the sumstats
        (A1_FREQ) and the panel (``panel_a1_freq``), and oriented so that the two
        frequencies lie on the same side of 0.5 (as on the same strand, or after a strand
        flip). Others are dropped as ``ambiguous``.

    Rows whose alleles equal the panel's keep their sign; swapped alleles flip BETA and Z
    and take 1 - A1_FREQ; opposite-strand alleles are complemented first. Strand-ambiguous
    pairs that cannot be oriented, other allele mismatches, variants not in the panel and
    several rows matching one panel variant are dropped and counted. A row without A2
    (plink1) is kept or swapped by whether A1 is the panel's A1 or A2.

    Raises InputError for a margin outside [0, 0.5), a ``panel_a1_freq`` not of the
    panel's length, or if no variant matches (showing example IDs of both sides).
    """
    if match_by not in MATCH_BY:
        raise InputError(f"match_by {match_by!r} is unknown: use one of {', '.join(MATCH_BY)}.")
    panel_freq = _panel_frequencies(panel_a1_freq, len(panel_bim), ambiguous_margin)
    dropped_on_read = sumstats.attrs.get(DROPPED_ATTR, {})
    ss = sumstats.reset_index(drop=True)
    panel = panel_bim.reset_index(drop=True)
    if match_by == "auto":
        match_by = _choose_match(ss, panel)

    ss_key, panel_key = _keys(ss, match_by), _keys(panel, match_by)
    pairs = pd.merge(
        pd.DataFrame({"row": np.arange(len(ss)), "key": ss_key}).dropna(subset=["key"]),
        pd.DataFrame({"panel": np.arange(len(panel)), "key": panel_key}),
        on="key",
    )
    (a1, a2, p1, p2), complement = _allele_codes(ss.A1, ss.A2, panel.A1, panel.A2)
    if same_genotypes:  # no base has a complement: only literal matches, nothing is ambiguous
        complement = np.full_like(complement, -2)
    status = _allele_status(a1[pairs.row], a2[pairs.row], p1[pairs.panel], p2[pairs.panel], complement)
    pairs["status"], pairs["by_freq"] = _orient_by_frequency(
        status, a1[pairs.row] == p1[pairs.panel], ss.A1_FREQ.to_numpy()[pairs.row], panel_freq[pairs.panel],
        ambiguous_margin,
    )
    # Each row takes its best candidate: a consistent allele match, else ambiguous, else mismatch.
    consistent = pairs.status.isin([KEEP, SWAP, FLIP_KEEP, FLIP_SWAP])
    pairs["rank"] = np.select([consistent, pairs.status == AMBIGUOUS], [0, 1], 2)
    best = pairs.groupby("row")["rank"].min().reindex(np.arange(len(ss)))
    pairs = pairs[pairs["rank"] == 0]
    clash = pairs.row.duplicated(keep=False) | pairs.panel.duplicated(keep=False)
    kept = pairs[~clash].sort_values("panel")

    drop_rows = {
        "not_in_panel": np.flatnonzero(best.isna().to_numpy()),
        "ambiguous": np.flatnonzero((best == 1).to_numpy()),
        "allele_mismatch": np.flatnonzero((best == 2).to_numpy()),
        "duplicate": np.unique(pairs.row[clash]),
    }
    swapped = kept.status.isin([SWAP, FLIP_SWAP]).to_numpy()
    flipped = kept.status.isin([FLIP_KEEP, FLIP_SWAP]).to_numpy()
    counts = {reason: dropped_on_read.get(reason, (0, pd.NA)) for reason in DROP_REASONS}
    counts |= {reason: (len(rows), ss.ID.iloc[rows[0]] if len(rows) else pd.NA) for reason, rows in drop_rows.items()}
    counts |= _match_counts(panel, kept.panel.to_numpy(), swapped, flipped, kept.by_freq.to_numpy())
    dropped = pd.concat([ss.iloc[rows][["CHROM", "POS", "ID", "A1", "A2"]].assign(reason=reason)
                         for reason, rows in drop_rows.items()]).sort_index()
    log_table = pd.DataFrame(
        [(reason, n, example) for reason, (n, example) in counts.items()], columns=["reason", "n", "example_id"]
    )
    hint = {"ambiguous": _ambiguous_hint(ss, panel_a1_freq is not None, ambiguous_margin)}
    for reason in DROP_REASONS:
        n, example = counts[reason]
        if n and reason not in dropped_on_read:
            log.warning("%s: dropped %d variants as %s (e.g. %s)%s", source, n, reason, example, hint.get(reason, ""))

    if kept.empty:
        raise InputError(_no_match_message(ss, panel, match_by, source, counts))
    log.info(
        "%s: matched %d of %d variants to the panel by %s (%d swapped, %d strand-flipped, %d strand-ambiguous "
        "oriented by allele frequency%s); %d panel variants have no summary statistics",
        source, len(kept), len(ss), match_by, swapped.sum(), flipped.sum(), counts["ambiguous_by_freq"][0],
        "; alleles compared literally, as the statistics come from the panel's genotypes" if same_genotypes else "",
        counts["panel_without_sumstats"][0],
    )

    sign = np.where(swapped, -1.0, 1.0)
    stats = ss.iloc[kept.row.to_numpy()].reset_index(drop=True)
    table = panel.iloc[kept.panel.to_numpy()][["CHROM", "POS", "ID", "A1", "A2"]].reset_index(drop=True)
    table["A1_FREQ"] = np.where(swapped, 1.0 - stats.A1_FREQ, stats.A1_FREQ)
    table["N"] = stats.N
    table["BETA"] = sign * stats.BETA
    table["SE"] = stats.SE
    table["Z"] = sign * stats.Z
    table["P"] = stats.P
    return Harmonised(table=table[CONTRACT_COLUMNS], log=log_table, dropped=dropped.reset_index(drop=True))


def _panel_frequencies(panel_a1_freq: np.ndarray | None, m: int, margin: float) -> np.ndarray:
    """(m,) panel A1 frequencies (NaN = unknown) after checking them and the margin."""
    if not 0.0 <= margin < 0.5:
        raise InputError(f"harmonise.ambiguous_margin = {margin} is outside [0, 0.5): fix it in the config.")
    freq = np.full(m, np.nan) if panel_a1_freq is None else np.asarray(panel_a1_freq, dtype=float)
    if freq.shape != (m,):
        raise InputError(f"panel_a1_freq has shape {freq.shape}; it needs one entry per panel variant ({m}).")
    return freq


def _match_counts(
    panel: pd.DataFrame, kept: np.ndarray, swapped: np.ndarray, flipped: np.ndarray, by_freq: np.ndarray
) -> dict[str, tuple]:
    """``{reason: (count, example_id)}`` for ``MATCH_COUNTS``, from the panel rows ``kept``
    (k,) that received statistics and (k,) masks of those swapped, strand-flipped and
    oriented by frequency."""
    ids = panel.ID.to_numpy(object)
    among_kept = {"matched": np.ones(len(kept), bool), "swapped": swapped, "strand_flipped": flipped,
                  "ambiguous_by_freq": by_freq}
    kept_ids = ids[kept]
    counts = {
        reason: (int(mask.sum()), kept_ids[mask][0] if mask.any() else pd.NA) for reason, mask in among_kept.items()
    }
    unused = ~np.isin(np.arange(len(panel)), kept, kind="table")
    counts["panel_without_sumstats"] = (int(unused.sum()), ids[unused][0] if unused.any() else pd.NA)
    return counts


def _orient_by_frequency(
    status: np.ndarray, a1_is_p1: np.ndarray, ss_freq: np.ndarray, panel_freq: np.ndarray, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Orient AMBIGUOUS (sumstats row, panel variant) pairs by allele frequency.

    Parameters, all (k,) per pair: ``status`` from :func:`_allele_status`; ``a1_is_p1``
    whether the sumstats A1 is literally the panel's A1 (else its A2); ``ss_freq`` the
    sumstats A1_FREQ and ``panel_freq`` the panel A1 frequency (NaN = unknown).

    A pair is oriented when both frequencies are farther than ``margin`` from 0.5: read on
    the same strand (KEEP or SWAP) when the sumstats A1 frequency lies on the same side of
    0.5 as the panel frequency of the same letter, else on the other strand (FLIP_SWAP or
    FLIP_KEEP). Returns the new statuses and (k,) bool, true for the pairs oriented.
    """
    clear = (np.abs(ss_freq - 0.5) > margin) & (np.abs(panel_freq - 0.5) > margin)
    oriented = (status == AMBIGUOUS) & clear
    panel_freq_of_letter = np.where(a1_is_p1, panel_freq, 1.0 - panel_freq)
    same_strand = (ss_freq - 0.5) * (panel_freq_of_letter - 0.5) > 0
    by_freq = np.select([same_strand & a1_is_p1, same_strand, a1_is_p1], [KEEP, SWAP, FLIP_SWAP], FLIP_KEEP)
    return np.where(oriented, by_freq, status), oriented


def _ambiguous_hint(ss: pd.DataFrame, have_panel_freq: bool, margin: float) -> str:
    """Why strand-ambiguous variants were dropped, and what would keep them (log text)."""
    if ss.A1_FREQ.isna().all():
        return (
            "; the summary statistics have no A1_FREQ: an effect-allele frequency column (map it with "
            f"columns: {{A1_FREQ: <column>}}) would keep those with frequencies farther than {margin:g} from 0.5"
        )
    if not have_panel_freq:
        return "; no panel allele frequencies were given to orient them (harmonise_sumstats computes them)"
    return f": A1 frequency within {margin:g} of 0.5 (or missing) in the summary statistics or the panel"


def _choose_match(ss: pd.DataFrame, panel: pd.DataFrame) -> str:
    if ss.ID.isin(panel.ID).mean() >= 0.5 or ss.CHROM.isna().all() or ss.POS.isna().all():
        return "id"
    return "chrompos"


def _keys(table: pd.DataFrame, match_by: str) -> pd.Series:
    """Join key per row (NA where it cannot be formed)."""
    if match_by == "id":
        return table.ID.astype(object)
    pos = table.POS.astype("Int64")
    key = table.CHROM.astype(str) + ":" + pos.astype(str)
    return key.where(table.CHROM.notna() & pos.notna()).astype(object)


def _allele_codes(*columns: pd.Series) -> tuple[list[np.ndarray], np.ndarray]:
    """Integer codes of the upper-cased alleles of ``columns``, shared by all of them.

    Returns one int64 array per column (-1 = missing allele) and ``complement``, mapping a
    code to the code of its opposite-strand base (-2 for anything but A, C, G, T).
    Comparing codes instead of strings keeps harmonisation of millions of variants fast.
    """
    raw_codes, raw_alleles = pd.factorize(pd.concat(columns, ignore_index=True))
    bases = ["A", "C", "G", "T"]  # codes 0-3, so that complement[:4] = T G C A
    vocabulary_codes, vocabulary = pd.factorize(np.concatenate([bases, pd.Index(raw_alleles).str.upper()]))
    codes = np.where(raw_codes >= 0, vocabulary_codes[len(bases):][raw_codes], -1)
    complement = np.full(len(vocabulary), -2)
    complement[:4] = [3, 2, 1, 0]
    return np.split(codes, np.cumsum([len(col) for col in columns])[:-1]), complement


def _allele_status(
    a1: np.ndarray, a2: np.ndarray, p1: np.ndarray, p2: np.ndarray, complement: np.ndarray
) -> np.ndarray:
    """KEEP/SWAP/FLIP_KEEP/FLIP_SWAP/AMBIGUOUS/MISMATCH per (sumstats, panel) allele pair.

    Alleles are codes from :func:`_allele_codes`. ``a2`` is -1 where the sumstats give
    only the effect allele (plink1): then A1 equal to the panel's A1 or A2 decides keep
    or swap, and an A/T or C/G panel variant is ambiguous.
    """
    one_allele = a2 < 0
    c1, c2, cp1 = (np.where(codes >= 0, complement[codes], -2) for codes in (a1, a2, p1))
    same_set = ((a1 == p1) & (a2 == p2)) | ((a1 == p2) & (a2 == p1))
    same_set_flipped = ((c1 == p1) & (c2 == p2)) | ((c1 == p2) & (c2 == p1))
    ambiguous = np.where(
        one_allele,
        ((a1 == p1) | (a1 == p2)) & (cp1 == p2),
        (same_set | same_set_flipped) & (c1 == a2),
    )
    return np.select(
        [
            ambiguous,
            (a1 == p1) & (one_allele | (a2 == p2)),
            (a1 == p2) & (one_allele | (a2 == p1)),
            ~one_allele & (c1 == p1) & (c2 == p2),
            ~one_allele & (c1 == p2) & (c2 == p1),
        ],
        [AMBIGUOUS, KEEP, SWAP, FLIP_KEEP, FLIP_SWAP],
        MISMATCH,
    )


def _no_match_message(ss: pd.DataFrame, panel: pd.DataFrame, match_by: str, source: str, counts: dict) -> str:
    def examples(table: pd.DataFrame) -> str:
        head = table.head(3)
        return ", ".join(f"{i} ({c}:{p})" for i, c, p in zip(head.ID, head.CHROM, head.POS))

    other = "chrompos" if match_by == "id" else "id"
    dropped = ", ".join(f"{reason} {counts[reason][0]}" for reason in DROP_REASONS)
    return (
        f"{source}: none of its {len(ss)} variants matched the panel ({len(panel)} variants) by {match_by} "
        f"({dropped}). Sumstats variants look like {examples(ss)}; panel variants like {examples(panel)}. "
        "The two probably use a different genome build or ID scheme: lift the sumstats over to the panel's "
        f"build, or try match_by: {other}."
    )


def harmonise_sumstats(
    src: str | Path,
    panel_prefix: str | Path,
    out: str | Path,
    out_log: str | Path,
    out_dropped: str | Path | None = None,
    *,
    fmt: str = "auto",
    columns: dict[str, str] | None = None,
    n: float | None = None,
    allow_missing: bool = False,
    match_by: str = "auto",
    same_genotypes: bool = False,
    ambiguous_margin: float = 0.1,
    chunk: int = 4096,
    ld_matrices: bool = False,
) -> Harmonised:
    """Read ``src``, harmonise it to the ``panel_prefix`` fileset, write the TSVs.

    ``out`` receives the contract table, ``out_log`` the ``reason n example_id`` log and
    ``out_dropped`` (if given) the rows left out (``Harmonised.dropped``), each atomically.
    Arguments are those of :func:`read_sumstats` and :func:`harmonise`.

    With ``ld_matrices``, ``panel_prefix`` is instead a variant table ``CHROM POS ID A1 A2``
    (the LD scores of LD matrices): there are no genotypes, so the A1 frequencies, which the
    training simulation then takes from the summary statistics, are required (InputError
    without an A1_FREQ column), and strand-ambiguous variants are dropped (there are no
    panel frequencies to orient them).

    For external statistics with an A1_FREQ column, the panel A1 frequencies of its
    strand-ambiguous variants found in the sumstats (by ID or CHROM:POS) are computed
    from its genotypes, reading ``chunk`` variants at once (memory ~ samples x chunk x 4
    bytes); no genotype is read otherwise.
    """
    sumstats = read_sumstats(src, fmt=fmt, columns=columns, n=n, allow_missing=allow_missing)
    panel_freq = None
    if ld_matrices:
        if sumstats.A1_FREQ.isna().all():
            raise InputError(
                f"{src} has no A1 allele frequencies (column A1_FREQ): a cohort whose LD reference is LD matrices "
                "takes the frequencies from its summary statistics; add the column or map it with "
                "columns: {A1_FREQ: <column>}."
            )
        panel_bim = read_tsv(panel_prefix)[["CHROM", "POS", "ID", "A1", "A2"]]
    else:
        panel = Bfile.open(panel_prefix)
        panel_bim = panel.bim
        if not same_genotypes and sumstats.A1_FREQ.notna().any():
            panel_freq = panel_a1_freq(panel, _ambiguous_candidates(sumstats, panel.bim), chunk=chunk)
    result = harmonise(
        sumstats, panel_bim, match_by=match_by, source=str(src), same_genotypes=same_genotypes,
        panel_a1_freq=panel_freq, ambiguous_margin=ambiguous_margin,
    )
    write_tsv(result.table, out)
    write_tsv(result.log, out_log)
    if out_dropped is not None:
        write_tsv(result.dropped, out_dropped)
    counts = result.log.set_index("reason")["n"]
    rule_summary(f"{len(sumstats):,} variants of {Path(src).name}",
                 f"matched {len(result.table):,} to the panel ({counts['swapped']:,} allele-swapped)")
    return result


def _ambiguous_candidates(ss: pd.DataFrame, panel: pd.DataFrame) -> np.ndarray:
    """Sorted indices of the panel's A/T and C/G variants whose ID or CHROM:POS is in ``ss``."""
    palindromic = (panel.A1.str.upper() + panel.A2.str.upper()).isin(PALINDROMIC)
    in_sumstats = panel.ID.isin(ss.ID) | _keys(panel, "chrompos").isin(_keys(ss, "chrompos").dropna())
    return np.flatnonzero((palindromic & in_sumstats).to_numpy())


def panel_a1_freq(panel: Bfile, variants: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """A1 frequency of the ``variants`` (sorted indices) of a fileset over its called genotypes.

    Returns (m_panel,) float64: the frequency at those indices (NaN without calls), NaN
    elsewhere. Reads only those variants, ``chunk`` at a time.
    """
    freq = np.full(panel.n_variants, np.nan)
    for idx, G in panel.chunks(chunk, variants=variants):
        called = (~np.isnan(G)).sum(axis=0)
        freq[idx] = np.divide(np.nansum(G, axis=0), 2 * called, out=np.full(len(idx), np.nan), where=called > 0)
    log.info("panel A1 frequencies computed for %d strand-ambiguous variants", len(variants))
    return freq
