"""The conda environment file agrees with the package's own requirements (one set of version ranges)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name where they differ.
CONDA_NAMES = {"torch": "pytorch"}
#: Binaries the cross-check tests use; conda (bioconda) has them, PyPI does not.
CONDA_ONLY = {"python", "pip", "plink2", "gemma", "pygments"}


def _requirement(spec: str) -> Requirement:
    """A conda or pip spec as a Requirement (conda's `python=3.11` read as `python==3.11.*`)."""
    spec = re.sub(r"^([A-Za-z0-9_.-]+)=(?!=)([^,]+)$", r"\1==\2.*", spec.split("#")[0].strip())
    return Requirement(spec)


def test_conda_environment_lists_every_requirement_with_the_same_versions():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    env = yaml.safe_load((REPO / "envs/phenomap.yaml").read_text())
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    specs += [d for entry in env["dependencies"] if isinstance(entry, dict) for d in entry.get("pip", [])]
    listed = {(r := _requirement(s)).name.lower(): r for s in specs}
    for req in wanted:
        name = CONDA_NAMES.get(req.name, req.name).lower()
        assert name in listed, f"envs/phenomap.yaml lacks {req.name} ({req})"
        conda = listed[name].specifier
        assert conda == req.specifier, f"{req.name}: pyproject {req.specifier}, conda {conda}"
    extra = set(listed) - {CONDA_NAMES.get(r.name, r.name).lower() for r in wanted} - CONDA_ONLY
    assert not extra, f"envs/phenomap.yaml lists packages pyproject does not require: {sorted(extra)}"
