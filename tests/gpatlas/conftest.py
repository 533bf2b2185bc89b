"""Fixtures of the G-P Atlas tests: one thread per test, planted data, models trained once."""

from __future__ import annotations

import pytest
from gpatlas_helpers import TINY, make_epistatic, make_planted, one_thread

from phenomap.gpatlas.data import split_samples
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="session")
def planted():
    data = make_planted()
    return data, split_samples(len(data.samples), 0.2, seed=1)


@pytest.fixture(scope="session")
def trained(planted):
    """{variant: (model, tier-1 decoder state before tier 2)} trained on the planted data."""
    data, is_test = planted
    out = {}
    with one_thread():
        for variant in ("faithful", "improved"):
            settings = Settings(variant=variant, **TINY)
            model, _ = train_pheno_tier(data, is_test, settings, seed=11)
            before = {k: v.clone() for k, v in model.pheno.decoder.state_dict().items()}
            train_geno_tier(model, data, is_test, settings, seed=12)
            out[variant] = (model, before)
    return out


@pytest.fixture(scope="session")
def epistatic():
    """(data, is_test, improved model) on data with a planted multiplicative pair (trait1)."""
    data = make_epistatic()
    is_test = split_samples(len(data.samples), 0.2, seed=1)
    with one_thread():
        settings = Settings(variant="improved", **{**TINY, "geno_epochs": 5})
        model, _ = train_pheno_tier(data, is_test, settings, seed=21)
        train_geno_tier(model, data, is_test, settings, seed=22)
    return data, is_test, model
