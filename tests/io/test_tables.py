"""Sample tables and atomic writes: validation messages, joins by ID, no partial outputs."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from phenomap_testing import make_fam
from phenomap.errors import InputError
from phenomap.io.tables import align_samples, atomic_path, read_pedigree, read_sample_table, write_tsv


def write(tmp_path, text, name="pheno.tsv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_sample_table__parses_missing_codes_and_keeps_ids_as_strings(tmp_path):
    path = write(tmp_path, "FID IID h w\n01 001 1.5 NA\n02 002 -9 3\n03 003 . 4\n")
    table = read_sample_table(path, what="phenotype")
    assert list(table.IID) == ["001", "002", "003"]
    np.testing.assert_array_equal(table.h.isna(), [False, True, True])
    assert table.w.tolist()[1:] == [3.0, 4.0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("FID IID h\n1 a 1\n1 a 2\n", "FID=1 IID=a appears"),
        ("FID IID h\n1 a 1\n2 b tall\n", "column 'h' has non-numeric value 'tall' at data row 2 \\(IID b\\)"),
        ("FID IID h\n1 a inf\n", "infinite at data row 1"),
        ("ID h\na 1\n", "lacks column\\(s\\) \\['FID', 'IID'\\]"),
    ],
)
def test_read_sample_table__bad_files_raise_input_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_sample_table(write(tmp_path, text), what="phenotype")


def test_read_sample_table__missing_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match="phenotype file .*nope.tsv does not exist"):
        read_sample_table(tmp_path / "nope.tsv", what="phenotype")


def test_align_samples__joins_on_fid_and_iid_not_row_order(caplog):
    fam = make_fam(4)
    table = pd.DataFrame({"FID": ["s3", "s1", "x", "s0"], "IID": ["s3", "s1", "x", "s0"]})
    with caplog.at_level("INFO"):
        idx = align_samples(fam, table, source="pheno")
    np.testing.assert_array_equal(idx, [3, 1, -1, 0])
    assert "3 of 4 genotyped samples found (1 rows of the table are not genotyped)" in caplog.text


def test_align_samples__no_common_sample_is_an_error():
    fam = make_fam(3)
    table = pd.DataFrame({"FID": ["0"], "IID": ["s0"]})  # right IID, wrong FID
    with pytest.raises(InputError, match="shares no sample.*matched on both FID and IID"):
        align_samples(fam, table, source="pheno")


def test_atomic_path__failed_writer_leaves_nothing_and_success_is_world_readable(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("writer crashed")
    assert not target.exists() and os.listdir(tmp_path) == []
    write_tsv(pd.DataFrame({"a": [1.0, np.nan]}), target)
    assert target.read_text() == "a\n1\nNA\n"
    assert stat.S_IMODE(os.stat(target).st_mode) & 0o044  # group/other can read


def test_read_pedigree__keeps_ids_as_strings_and_ignores_other_columns(tmp_path):
    path = write(tmp_path, "IID\tSIRE\tDAM\tSEX\n001\t0\t0\t1\n002\t0\t0\t2\n003\t001\t002\t2\n", "ped.tsv")
    ped = read_pedigree(path)
    expected = pd.DataFrame({"IID": ["001", "002", "003"], "SIRE": ["0", "0", "001"], "DAM": ["0", "0", "002"]})
    pd.testing.assert_frame_equal(ped, expected)


@pytest.mark.parametrize(
    "text, message",
    [
        ("ID SIRE DAM\na 0 0\n", r"lacks column\(s\) \['IID'\].*header must name 'IID SIRE DAM'"),
        ("IID SIRE DAM\na 0 0\nb a\n", r"data row 2 \(IID b\) has an empty field"),
        ("IID SIRE DAM\na 0 0\nb a c d\n", "a row has more fields than the header"),
        ("IID SIRE DAM\na 0 0 x\nb a c d\n", "a row has more fields than the header"),
        ("IID SIRE DAM\na 0 0\n0 a 0\n", r"data row 2 \(IID 0\) has IID 0"),
        ("IID SIRE DAM\na 0 0\nb a 0\nb 0 a\n", r"data row 2 \(IID b\) repeats an IID \(2 such rows\)"),
        ("IID SIRE DAM\na 0 0\nb 0 b\n", r"data row 2 \(IID b\) is its own parent.*0 for an unknown parent"),
        ("", "is empty"),
    ],
)
def test_read_pedigree__bad_files_raise_input_error(tmp_path, text, message):
    with pytest.raises(InputError, match=r"pedigree file .*ped.tsv.*" + message):
        read_pedigree(write(tmp_path, text, "ped.tsv"))


def test_read_pedigree__missing_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match="pedigree file .*nope.tsv does not exist"):
        read_pedigree(tmp_path / "nope.tsv")
