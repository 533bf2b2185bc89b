"""PLINK filesets: round trip through bed-reader and clear errors for broken filesets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phenomap_testing import make_bim, make_fam
from phenomap.errors import InputError
from phenomap.io.plink import Bfile, chrom_sort_key, normalise_chrom, read_bim


def test_bfile__round_trip_keeps_genotypes_missing_calls_and_order(rng, write_plink):
    G = rng.binomial(2, 0.3, (13, 9)).astype(np.float32)
    G[rng.random(G.shape) < 0.1] = np.nan
    bfile = Bfile.open(write_plink(G))
    np.testing.assert_array_equal(bfile.read(), G)
    chunks = list(bfile.chunks(4, variants=np.array([0, 2, 3, 8])))
    assert [list(i) for i, _ in chunks] == [[0, 2, 3, 8]]
    np.testing.assert_array_equal(chunks[0][1], G[:, [0, 2, 3, 8]])
    np.testing.assert_array_equal(bfile.read(samples=[5, 1]), G[[5, 1]])


@pytest.mark.parametrize("ext", ["bed", "bim", "fam"])
def test_bfile__missing_file_is_named(rng, write_plink, ext):
    prefix = write_plink(rng.binomial(2, 0.3, (5, 4)).astype(np.float32))
    Path(f"{prefix}.{ext}").unlink()
    with pytest.raises(InputError, match=rf"incomplete: missing .*geno\.{ext}"):
        Bfile.open(prefix)


def test_bfile__duplicated_samples_and_variants_are_errors(rng, write_plink):
    G = rng.binomial(2, 0.3, (4, 3)).astype(np.float32)
    fam = make_fam(4)
    fam.loc[3, ["FID", "IID"]] = "s1"
    with pytest.raises(InputError, match="FID=s1 IID=s1 .*line 2.* occurs more than once"):
        Bfile.open(write_plink(G, fam=fam))
    bim = make_bim(3)
    bim.loc[2, "ID"] = bim.ID[0]
    with pytest.raises(InputError, match="1 variant ID.*'1:1000', lines 1, 3"):
        Bfile.open(write_plink(G, bim=bim, name="dupvar"))


def test_bfile__bed_that_does_not_match_its_bim_is_an_error(rng, write_plink):
    prefix = write_plink(rng.binomial(2, 0.3, (8, 5)).astype(np.float32))
    with open(f"{prefix}.bim", "a") as fh:
        fh.write("1\textra\t0\t99999\tA\tG\n")
    with pytest.raises(InputError, match="8 samples x 6 variants need"):
        Bfile.open(prefix)


def test_read_bim__unknown_chromosome_names_the_line(rng, write_plink):
    bim = make_bim(3)
    bim.loc[1, "CHROM"] = "chrUn_gl000220"
    prefix = write_plink(rng.binomial(2, 0.3, (4, 3)).astype(np.float32), bim=bim)
    with pytest.raises(InputError, match="unknown chromosome name 'chrUn_gl000220' at data row 2"):
        read_bim(prefix)


def test_normalise_chrom__accepts_prefixes_and_sorts_naturally():
    import pandas as pd

    chrom = normalise_chrom(pd.Series(["chr10", "2", "chrX", "1B", "1A", "MT", "chrM"]), source="x")
    assert list(chrom) == ["10", "2", "X", "1B", "1A", "MT", "MT"]
    ordered = chrom.iloc[np.argsort(chrom_sort_key(chrom).to_numpy(), kind="stable")]
    assert list(ordered) == ["1A", "1B", "2", "10", "X", "MT", "MT"]
