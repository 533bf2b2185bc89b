"""Inheritance encodings of genotypes: eight fixed maps and the phenotype-fitted PAGER.

A genotype is the count of A1 alleles (0, 1 or 2; NaN = missing). Every encoding maps the
three genotype classes onto [0, 1] (StarBASE-GP, Hernandez et al. 2025, section III-A);
NaN stays NaN (imputation is the caller's choice, see :mod:`phenomap.gpsearch.snpdb`).

=============  =====  =====  =====  ==============================================
encoding        G=0    G=1    G=2   pattern
=============  =====  =====  =====  ==============================================
additive        0      0.5    1     heterozygote halfway (paper: "normalised to [0, 1]")
superadditive   0      0.75   1     heterozygote above the midpoint (partial dominance)
subadditive     0      0.25   1     heterozygote below the midpoint (partial recessivity)
dominant        0      1      1     one copy of A1 suffices
recessive       0      0      1     two copies of A1 needed
heterosis       0      1      0     heterozygote apart, homozygotes equal
overdominant    0      1      0.5   heterozygote beyond both homozygotes, which differ
underdominant   0.5    0      1     heterozygote below both homozygotes, which differ
pager           fitted on training phenotypes, see :class:`Pager`
=============  =====  =====  =====  ==============================================

The paper names the eight fixed models (its Figure 1) but gives their values only in the
figure; the values above are those of the authors' released implementation, checked against
the figure's description. A linear fit is unchanged by an affine map of the encoding, so a
mirrored pattern (e.g. 1, 0, 0 for dominant) is covered by its row; that is also why
underdominant is not (1, 0, 1), which would fit exactly as heterosis does.

PAGER (Freda et al. 2024, BioData Mining 17:41): each genotype class is encoded by its mean
phenotype minus the mean of the reference class (genotype 0), min-max scaled to [0, 1] over
the classes. Subtracting the reference mean does not change a min-max scaled value, so the
reference class only names the idea; a class absent from training still gets a value (see
:class:`Pager`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phenomap.errors import InputError

#: Fixed encodings: value for genotype 0, 1, 2 (see the module table).
FIXED_ENCODINGS: dict[str, tuple[float, float, float]] = {
    "additive": (0.0, 0.5, 1.0),
    "superadditive": (0.0, 0.75, 1.0),
    "subadditive": (0.0, 0.25, 1.0),
    "dominant": (0.0, 1.0, 1.0),
    "recessive": (0.0, 0.0, 1.0),
    "heterosis": (0.0, 1.0, 0.0),
    "overdominant": (0.0, 1.0, 0.5),
    "underdominant": (0.5, 0.0, 1.0),
}
#: All encodings, in the order used for columns and for breaking ties (first wins).
ENCODINGS: tuple[str, ...] = (*FIXED_ENCODINGS, "pager")


def check_encoding(name: str) -> str:
    """Return ``name`` if it is a known encoding; raise InputError listing the known ones."""
    if name not in ENCODINGS:
        raise InputError(f"unknown genotype encoding {name!r}; choose one of {', '.join(ENCODINGS)}.")
    return name


def check_genotypes(G: np.ndarray, *, what: str = "genotypes") -> np.ndarray:
    """``G`` as a float array after checking it holds only 0, 1, 2 and NaN; raise InputError otherwise."""
    G = np.asarray(G, dtype=float)
    bad = ~(np.isnan(G) | (G == 0) | (G == 1) | (G == 2))
    if bad.any():
        where = np.unravel_index(int(np.flatnonzero(bad)[0]), G.shape)
        raise InputError(
            f"{what}: value {float(G[where])!r} at index {tuple(int(i) for i in where)} is not an allele "
            "count 0, 1 or 2 (NaN = missing); hard-call dosages before the search."
        )
    return G


def class_values(G: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Map genotype classes to per-column values.

    G: (n, m) allele counts, NaN = missing; values: (3,) or (m, 3), the value of genotype
    0, 1, 2 (per column when 2-D). Returns (n, m) float with NaN where G is NaN.
    """
    values = np.broadcast_to(np.asarray(values, dtype=float), (G.shape[1], 3))
    missing = np.isnan(G)
    index = np.where(missing, 0, G).astype(np.intp)
    out = np.take_along_axis(values.T, index, axis=0)
    out[missing] = np.nan
    return out


@dataclass(frozen=True)
class Pager:
    """PAGER class values fitted on training samples, one row per SNP.

    values: (m, 3) value of genotype 0, 1, 2 in [0, 1]. A class absent from the training
    samples gets the mean of the column's encoded training values, so it carries no signal
    (as mean imputation does). When fewer than two classes are present, or all present
    classes have the same mean phenotype, every class is 0 (a constant column).
    """

    values: np.ndarray

    @classmethod
    def fit(cls, G: np.ndarray, y: np.ndarray) -> Pager:
        """Fit on training genotypes G (n, m) (0/1/2/NaN) and phenotypes y (n,), NaN-free."""
        G = check_genotypes(G)
        y = np.asarray(y, dtype=float)
        counts, sums = class_counts_and_sums(G, y)
        return cls(pager_values(counts, sums))

    def transform(self, G: np.ndarray) -> np.ndarray:
        """Encode G (n, m) with the fitted class values; NaN stays NaN."""
        G = check_genotypes(G)
        if G.shape[1] != len(self.values):
            raise InputError(f"PAGER was fitted on {len(self.values)} SNPs but is given {G.shape[1]}.")
        return class_values(G, self.values)


def class_counts_and_sums(G: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per SNP and genotype class: sample count and phenotype sum.

    G: (n, m) with 0/1/2/NaN, y: (n,). Returns two (m, 3) arrays (missing calls excluded).
    """
    counts = np.empty((G.shape[1], 3))
    sums = np.empty((G.shape[1], 3))
    for g in range(3):
        is_g = (G == g).astype(float)
        counts[:, g] = is_g.sum(axis=0)
        sums[:, g] = y @ is_g
    return counts, sums


def pager_values(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """PAGER class values (m, 3) from training class counts and phenotype sums (m, 3), see :class:`Pager`."""
    present = counts > 0
    means = np.where(present, sums / np.maximum(counts, 1), np.nan)
    low = np.where(present, means, np.inf).min(axis=1, keepdims=True)
    high = np.where(present, means, -np.inf).max(axis=1, keepdims=True)
    spread = high - low
    ok = spread > 0
    values = np.where(ok & present, (means - low) / np.where(ok, spread, 1), 0.0)
    n_observed = counts.sum(axis=1, keepdims=True)
    column_mean = (values * counts).sum(axis=1, keepdims=True) / np.maximum(n_observed, 1)
    return np.where(present, values, column_mean)


def encode(G: np.ndarray, name: str, pager: Pager | None = None) -> np.ndarray:
    """Encode every column of G (n, m) (0/1/2, NaN = missing) with encoding ``name``.

    Returns (n, m) float in [0, 1], NaN where G is NaN. ``pager`` (fitted on training
    samples) is required for ``name == "pager"``.
    """
    check_encoding(name)
    G = check_genotypes(G)
    if name == "pager":
        if pager is None:
            raise InputError("the pager encoding needs a Pager fitted on training samples (Pager.fit(G, y)).")
        return pager.transform(G)
    return class_values(G, np.array(FIXED_ENCODINGS[name]))
