"""Sample tables and atomic writes: validation messages, joins by ID, no partial outputs."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from phenomap_testing import make_fam
from phenomap.errors import InputError
from phenomap.io.tables import align_samples, atomic_path, read_sample_table, write_tsv


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
