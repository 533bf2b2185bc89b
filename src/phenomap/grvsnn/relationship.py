"""Relationship matrices (pedigree, genomic, user-supplied) and their low-rank loadings.

GRVSNN (Fan & Waldmann 2025) feeds a network with the genotypes plus the *loadings* of a
relationship matrix K: with ``K = Q Λ Q'`` (eigenvalues in decreasing order), the loadings of
the leading k components are ``L = Q_k Λ_k^½`` (n, k), so that ``L L'`` is the best rank-k
approximation of K. k is the elbow of the scree curve unless given (:func:`elbow`).

Matrices come from

- a pedigree: :func:`numerator_relationship`, Henderson's tabular method for the additive
  (numerator) relationship matrix A;
- genotypes: :func:`genomic_relationship`, VanRaden's GRM (:mod:`phenomap.gwas.grm`);
- a file: :func:`read_relationship`, any relationship matrix a user has (e.g. the A of the
  BGLR mice), in the format documented there.

:func:`relationship_for` restricts a matrix to the genotyped samples, in their order,
joining on IID.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.gwas.grm import genome_grm, vanraden_grm
from phenomap.io.plink import Bfile
from phenomap.io.tables import UNKNOWN_PARENT

log = logging.getLogger(__name__)

#: A relationship matrix is symmetric when ``max |K - K'| <= SYMMETRY_TOL * max |K|``.
SYMMETRY_TOL = 1e-6
#: ... and positive semi-definite when its smallest eigenvalue is ``>= -PSD_TOL * largest``.
PSD_TOL = 1e-5
#: Scaled distances below the scree chord up to this are rounding (a straight spectrum has no elbow).
ROUNDING = 1e-9
#: How a genotyped sample absent from the matrix is handled by :func:`relationship_for`.
MISSING_POLICIES = ("error", "unrelated")


# --- pedigree ---------------------------------------------------------------------------------------------------


def numerator_relationship(pedigree: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Additive (numerator) relationship matrix A of a pedigree, by Henderson's tabular method.

    Individuals are ordered so that parents come before their offspring: by generation
    (founders 0, otherwise one more than the later of the parents'), ties in order of first
    appearance (IID rows in file order, then individuals that appear only as a parent, in
    the order they first appear). Individuals that appear only as a parent are founders
    (both parents unknown). Then, one individual i at a time, with sire s and dam d,

        A[i, j] = A[j, i] = (A[j, s] + A[j, d]) / 2   for every j before i,
        A[i, i] = 1 + A[s, d] / 2,

    where an unknown parent contributes 0. Selfing (s == d) is allowed. Each step is one
    numpy row operation, so the cost is O(n²) time and memory.

    Parameters
    ----------
    pedigree : DataFrame with string columns ``IID SIRE DAM`` (``0`` = unknown parent), one
        row per individual, as :func:`phenomap.io.tables.read_pedigree` returns it.

    Returns
    -------
    ids : (n,) str, the individuals in the order of the matrix.
    A : (n, n) float64, symmetric; ``A[i, i] - 1`` is the inbreeding coefficient of i.

    Raises
    ------
    InputError if some individuals are their own ancestors, naming the individuals of one
    such cycle.
    """
    iid = pedigree["IID"].astype(str).to_numpy()
    sire = pedigree["SIRE"].astype(str).to_numpy()
    dam = pedigree["DAM"].astype(str).to_numpy()
    parents = np.concatenate([sire, dam])
    parent_only = pd.unique(parents[~np.isin(parents, iid) & (parents != UNKNOWN_PARENT)])
    names = np.concatenate([iid, parent_only])
    position = {name: i for i, name in enumerate(names)}
    unknown = np.full(len(parent_only), -1)
    sire_idx = np.concatenate([[position.get(s, -1) for s in sire], unknown])
    dam_idx = np.concatenate([[position.get(d, -1) for d in dam], unknown])

    order, n_generations = _parents_first(names, sire_idx, dam_idx)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    sire_out = np.where(sire_idx[order] >= 0, rank[sire_idx[order]], -1)
    dam_out = np.where(dam_idx[order] >= 0, rank[dam_idx[order]], -1)

    n = len(order)
    A = np.zeros((n, n))
    for i in range(n):
        s, d = sire_out[i], dam_out[i]
        if s >= 0 or d >= 0:
            row = np.zeros(i)
            for parent in (s, d):
                if parent >= 0:
                    row += A[parent, :i]
            row *= 0.5
            A[i, :i] = row
            A[:i, i] = row
        A[i, i] = 1.0 + (0.5 * A[s, d] if s >= 0 and d >= 0 else 0.0)
    log.info("pedigree: %d individuals (%d only as parents), %d generations, %d inbred", n, len(parent_only),
             n_generations, int((np.diag(A) > 1.0).sum()))
    return names[order], A


def _parents_first(names: np.ndarray, sire: np.ndarray, dam: np.ndarray) -> tuple[np.ndarray, int]:
    """Indices of ``names`` by generation then index (Kahn's algorithm, one generation at a time),
    and the number of generations.

    ``sire``/``dam``: (n,) index of each individual's parents, -1 when unknown. Raises
    InputError naming the members of a cycle when some individual is its own ancestor.
    """
    n = len(names)
    n_parents = (sire >= 0).astype(np.int64) + (dam >= 0)
    children: list[list[int]] = [[] for _ in range(n)]
    for child in range(n):
        for parent in (sire[child], dam[child]):
            if parent >= 0:
                children[parent].append(child)
    order: list[int] = []
    n_generations = 0
    wave = list(np.flatnonzero(n_parents == 0))
    while wave:
        order.extend(wave)
        n_generations += 1
        ready = []
        for parent in wave:
            for child in children[parent]:
                n_parents[child] -= 1
                if n_parents[child] == 0:
                    ready.append(child)
        wave = sorted(ready)
    if len(order) < n:
        cycle = _cycle(np.flatnonzero(n_parents > 0), sire, dam, n_parents)
        chain = " -> ".join(names[cycle + cycle[:1]])
        raise InputError(
            f"pedigree: individuals {', '.join(names[cycle])} are their own ancestors (each is a parent of the "
            f"next: {chain}); {n - len(order)} individuals are in or below such cycles. Fix the SIRE/DAM "
            "columns of these rows."
        )
    return np.asarray(order, dtype=np.int64), n_generations


def _cycle(stuck: np.ndarray, sire: np.ndarray, dam: np.ndarray, n_parents: np.ndarray) -> list[int]:
    """One cycle among ``stuck`` individuals, ancestor first (each one a parent of the next).

    Every stuck individual has a stuck parent (that is why it was never ready), so walking
    from parent to parent must revisit someone.
    """
    seen: dict[int, int] = {}
    walk: list[int] = []
    node = int(stuck[0])
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = int(sire[node] if sire[node] >= 0 and n_parents[sire[node]] > 0 else dam[node])
    return walk[seen[node]:][::-1]


# --- genotypes --------------------------------------------------------------------------------------------------


def genomic_relationship(genotypes: np.ndarray | Bfile, *, samples: np.ndarray | None = None,
                         chunk: int = 4096) -> np.ndarray:
    """VanRaden's genomic relationship matrix (method 1), from an array or a PLINK fileset.

    Computed by :func:`phenomap.gwas.grm.vanraden_grm` (array) or
    :func:`phenomap.gwas.grm.genome_grm` (fileset, streamed ``chunk`` variants at a time).

    Parameters
    ----------
    genotypes : (n, m) A1 allele counts (0, 1, 2; NaN = missing call), or a :class:`Bfile`.
    samples : for a fileset, the .fam row indices to include (default all), in that order.
    chunk : for a fileset, variants read at a time.

    Returns
    -------
    (n, n) float64, symmetric, in sample order.

    Raises
    ------
    InputError for a code other than 0, 1, 2 or NaN (naming the first one), or when no
    variant is polymorphic.
    """
    if isinstance(genotypes, Bfile):
        return genome_grm(genotypes, samples, chunk=chunk).matrix()
    G = np.asarray(genotypes)
    bad = ~(np.isin(G, (0, 1, 2)) | np.isnan(G))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(f"genotypes: sample row {i}, variant column {j} holds {G[i, j].item()!r}, not an allele "
                         f"count; codes must be 0, 1, 2 or NaN (missing) ({int(bad.sum())} bad entries).")
    return vanraden_grm(G)[0]


# --- files ------------------------------------------------------------------------------------------------------


def read_relationship(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate a relationship matrix with its sample IDs.

    Two formats, chosen by the file name:

    - ``*.npz``: arrays ``ids`` (n,) and one matrix, ``K`` or ``A`` (n, n), rows and columns
      both in the order of ``ids``.
    - anything else: a whitespace-separated text table (gzip-compressed when the name ends
      in ``.gz``). The first line holds the n column IDs, optionally preceded by a corner
      label (e.g. ``IID``); each of the n following lines holds a row ID and n numbers.
      This is what R writes with ``write.table(A, file, quote = FALSE)`` (no corner) or
      ``write.table(A, file, col.names = NA)`` (quoted IDs, ``""`` corner). Rows and columns
      must hold the same IDs; the columns may be in another order (they are matched by ID).

    The matrix must be finite, symmetric (:data:`SYMMETRY_TOL`) and positive semi-definite
    (:data:`PSD_TOL`; no repair is attempted: a matrix further from PSD is not a covariance
    of relationships, and a silent fix would hide a wrong file). It is returned exactly
    symmetrised.

    Returns
    -------
    ids : (n,) str, the row IDs in file order.
    K : (n, n) float64.

    Raises
    ------
    InputError naming the file and the offending row, column or pair.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"relationship file {path} does not exist: check the `relationship:` path in the config.")
    ids, K = _read_npz(path) if path.suffix == ".npz" else _read_text(path)
    return ids, validate_relationship(ids, K, source=f"relationship file {path}")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as blob:
        matrices = [key for key in ("K", "A") if key in blob.files]
        if "ids" not in blob.files or len(matrices) != 1:
            raise InputError(f"relationship file {path} holds arrays {blob.files}: it needs `ids` and exactly one "
                             "matrix named `K` or `A`.")
        return blob["ids"].astype(str), np.asarray(blob[matrices[0]], dtype=np.float64)


def _read_text(path: Path) -> tuple[np.ndarray, np.ndarray]:
    read = dict(sep=r"\s+", header=None, keep_default_na=False)
    try:
        header = pd.read_csv(path, nrows=1, dtype=str, **read).iloc[0].to_numpy(str)
        body = pd.read_csv(path, skiprows=1, dtype={0: str}, **read)
    except pd.errors.EmptyDataError:
        raise InputError(f"relationship file {path} is empty or has only a header: it needs a line of column "
                         "IDs and one line 'ID value…' per individual.") from None
    except pd.errors.ParserError as err:
        raise InputError(f"relationship file {path}: rows have different numbers of fields ({err}); each row "
                         "must be an ID followed by one number per column.") from None
    n = body.shape[1] - 1
    if len(header) not in (n, n + 1):
        raise InputError(f"relationship file {path}: the header has {len(header)} fields but the rows have an ID "
                         f"and {n} values; the header must list the {n} column IDs (optionally after a corner label).")
    columns = header[len(header) - n:]
    rows = body.iloc[:, 0].to_numpy(str)
    if len(rows) != n:
        raise InputError(f"relationship file {path} has {len(rows)} rows but {n} columns: the matrix must be "
                         "square, one row per column ID.")
    values = body.iloc[:, 1:]
    text = [j for j, dtype in enumerate(values.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
    if text:
        j = text[0]
        i = int(np.flatnonzero(pd.to_numeric(values.iloc[:, j], errors="coerce").isna())[0])
        raise InputError(f"relationship file {path}: row {rows[i]} (line {i + 2}), column {columns[j]} holds "
                         f"{values.iat[i, j]!r}, not a number; a relationship matrix has no missing entries.")
    _check_unique(rows, f"relationship file {path}: row IDs")
    _check_unique(columns, f"relationship file {path}: column IDs")
    if set(rows) != set(columns):
        only_rows = sorted(set(rows.tolist()) - set(columns.tolist()))
        only_columns = sorted(set(columns.tolist()) - set(rows.tolist()))
        raise InputError(f"relationship file {path}: row and column IDs differ ({len(only_rows)} only in rows, "
                         f"e.g. {only_rows[:3]}; {len(only_columns)} only in columns, e.g. {only_columns[:3]}).")
    return rows, values.to_numpy(np.float64)[:, pd.Index(columns).get_indexer(rows)]


def _check_unique(ids: np.ndarray, what: str) -> None:
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise InputError(f"{what} repeat {ids[dup][:3].tolist()} ({int(dup.sum())} repeats); give each "
                         "individual one row and one column.")


def validate_relationship(ids: Sequence[str], K: np.ndarray, *, source: str) -> np.ndarray:
    """Check that ``K`` is a finite, symmetric, PSD matrix over ``ids``; return it symmetrised.

    Parameters
    ----------
    ids : (n,) sample IDs of the rows (and columns) of ``K``.
    K : (n, n) relationship matrix.
    source : what to call the matrix in error messages (e.g. the file).

    Returns
    -------
    (n, n) float64, ``(K + K') / 2``.

    Raises
    ------
    InputError for a non-square matrix, a count of IDs other than n, repeated IDs, a
    non-finite entry, an asymmetry beyond :data:`SYMMETRY_TOL` (naming the largest
    asymmetric pair) or an eigenvalue below ``-PSD_TOL`` times the largest.
    """
    ids = np.asarray(ids, dtype=str)
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] != len(ids):
        raise InputError(f"{source}: a matrix of shape {K.shape} with {len(ids)} IDs; it must be square with one "
                         "ID per row and column.")
    _check_unique(ids, f"{source}: IDs")
    finite = np.isfinite(K)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise InputError(f"{source}: entry ({ids[i]}, {ids[j]}) is {K[i, j]}; every entry must be finite.")
    asymmetry = np.abs(K - K.T)
    scale = max(np.abs(K).max(initial=0.0), np.finfo(float).tiny)
    if asymmetry.max(initial=0.0) > SYMMETRY_TOL * scale:
        i, j = np.unravel_index(np.argmax(asymmetry), K.shape)
        raise InputError(f"{source} is not symmetric: entry ({ids[i]}, {ids[j]}) is {K[i, j]:.8g} but "
                         f"({ids[j]}, {ids[i]}) is {K[j, i]:.8g}; a relationship matrix must equal its transpose.")
    K = (K + K.T) / 2.0
    eigenvalues = np.linalg.eigvalsh(K)
    if eigenvalues[0] < -PSD_TOL * max(eigenvalues[-1], 0.0):
        raise InputError(
            f"{source} is not positive semi-definite: its smallest eigenvalue is {eigenvalues[0]:.4g} (largest "
            f"{eigenvalues[-1]:.4g}, {int((eigenvalues < 0).sum())} negative); relationship matrices are covariances. "
            "Check how it was computed (e.g. a GRM from different samples than its IDs), or bend it before use."
        )
    return K


def relationship_for(samples: Sequence[str], ids: Sequence[str], K: np.ndarray, *, source: str,
                     missing: str = "error") -> np.ndarray:
    """The relationship matrix of ``samples``, in their order, joined to the rows of ``K`` on IID.

    Individuals of ``K`` that are not among ``samples`` are dropped (their number is logged).
    Genotyped samples absent from ``K`` are, by ``missing``:

    - ``"error"`` (for a matrix file): InputError naming a few. A relationship cannot be
      invented for them.
    - ``"unrelated"`` (for a pedigree): unrelated, non-inbred founders (a row and column of
      the identity), which is what a pedigree that does not list them says; their number and
      a few IDs are logged as a warning.

    Parameters
    ----------
    samples : (s,) IIDs of the genotyped samples, e.g. ``fam.IID``; must be unique, since
        the join ignores FID.
    ids : (n,) IIDs of the rows and columns of ``K``.
    K : (n, n) relationship matrix.
    source : what to call ``K`` in messages (e.g. the pedigree file).
    missing : ``"error"`` or ``"unrelated"``.

    Returns
    -------
    (s, s) float64.

    Raises
    ------
    InputError for repeated sample IIDs, no sample in ``K`` at all (whatever ``missing``:
    the IDs probably do not match), or missing samples with ``missing="error"``.
    """
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    samples = np.asarray(samples, dtype=str)
    _check_unique(samples, f"{source}: the genotyped sample IIDs (joined to the matrix on IID alone)")
    index = pd.Index(np.asarray(ids, dtype=str)).get_indexer(samples)
    absent = index < 0
    n_found = int((~absent).sum())
    if n_found == 0:
        raise InputError(f"{source} shares no IID with the genotyped samples (they have e.g. {samples[:3].tolist()}, "
                         f"it has e.g. {np.asarray(ids, dtype=str)[:3].tolist()}); samples are joined on IID.")
    log.info("%s: %d of %d genotyped samples found; %d of its %d individuals are not genotyped and are dropped",
             source, n_found, len(samples), len(ids) - n_found, len(ids))
    if absent.any():
        examples = samples[absent][:5].tolist()
        if missing == "error":
            raise InputError(f"{source} lacks {int(absent.sum())} genotyped samples, e.g. {examples}; give it a row "
                             "and column for every genotyped sample, or drop those samples.")
        log.warning("%s lacks %d genotyped samples (e.g. %s): they are treated as unrelated, non-inbred founders",
                    source, int(absent.sum()), examples)
    out = np.eye(len(samples))
    found = np.flatnonzero(~absent)
    out[np.ix_(found, found)] = np.asarray(K, dtype=np.float64)[np.ix_(index[found], index[found])]
    return out


# --- loadings ---------------------------------------------------------------------------------------------------


def elbow(eigenvalues: np.ndarray) -> int:
    """Number of leading components before the elbow of a scree curve (maximum distance to the chord).

    The curve is the eigenvalues in decreasing order, ``(i, λ_i)`` for i = 0 … n-1, both
    axes scaled to [0, 1]. The elbow is the point furthest below the chord from the first
    point to the last (the "kneedle" rule); it is the first point of the flat tail, so the
    components kept are those before it: k = its 0-based index. A step in the spectrum
    from level a to level b < a after k eigenvalues therefore gives k.

    Parameters
    ----------
    eigenvalues : (n,) in decreasing order.

    Returns
    -------
    k in [1, n]: n when no point lies below the chord by more than :data:`ROUNDING` (a
    flat, straight or concave spectrum: no elbow to cut at).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = len(lam)
    if n < 3 or lam[0] == lam[-1]:
        return n
    x = np.arange(n) / (n - 1)
    y = (lam - lam[-1]) / (lam[0] - lam[-1])
    below = 1.0 - x - y  # proportional to the distance below the chord from (0, 1) to (1, 0)
    k = int(np.argmax(below))
    return k if below[k] > ROUNDING else n


def loadings(K: np.ndarray, *, n_components: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Loadings ``L = Q_k Λ_k^½`` of the k leading eigen-components of a relationship matrix.

    Eigenvalues below 0 (rounding in a PSD matrix) are set to 0.

    Parameters
    ----------
    K : (n, n) symmetric PSD matrix.
    n_components : k; None = :func:`elbow` of the eigenvalues.

    Returns
    -------
    L : (n, k) float64; ``L L'`` is the best rank-k approximation of K (the sum of its top k
        components). A column's sign is that of numpy's eigenvector (arbitrary).
    eigenvalues : (n,) float64, all of them, in decreasing order, negatives set to 0.
    k : the number of components kept.

    Raises
    ------
    InputError if ``n_components`` is not in [1, n].
    """
    K = np.asarray(K, dtype=np.float64)
    n = K.shape[0]
    if n_components is not None and not 1 <= n_components <= n:
        raise InputError(f"grvsnn: n_components = {n_components} must be between 1 and the {n} individuals of the "
                         "relationship matrix (or unset, for the elbow of the eigenvalues).")
    values, vectors = np.linalg.eigh(K)
    values, vectors = np.clip(values[::-1], 0.0, None), vectors[:, ::-1]
    k = elbow(values) if n_components is None else n_components
    log.info("relationship loadings: %d of %d components (%s), %.1f%% of the trace", k, n,
             "elbow" if n_components is None else "set", 100 * values[:k].sum() / max(values.sum(), 1e-300))
    return vectors[:, :k] * np.sqrt(values[:k]), values, k
