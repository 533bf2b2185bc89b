"""Software environments (`snakemake --sdm conda`): every rule runs in a conda env of envs/, whose versions are the
package's own requirements (one set of version ranges) and which installs this checkout's phenomap."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from phenomap_testing import workflow_rules

REPO = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name where they differ.
CONDA_NAMES = {"torch": "pytorch"}
#: Binaries the cross-check tests use; conda (bioconda) has them, PyPI does not.
CONDA_ONLY = {"python", "pip", "plink2", "gemma", "pygments"}
#: The pip line that installs the workflow's own phenomap, editable (pip expands the variable; common.smk sets it).
SELF_INSTALL = "-e ${PHENOMAP_ROOT}"


def _requirement(spec: str) -> Requirement:
    """A conda or pip spec as a Requirement (conda's `python=3.11` read as `python==3.11.*`)."""
    spec = re.sub(r"^([A-Za-z0-9_.-]+)=(?!=)([^,]+)$", r"\1==\2.*", spec.split("#")[0].strip())
    return Requirement(spec)


def _pip_lines(env: dict) -> list[str]:
    return [line for entry in env["dependencies"] if isinstance(entry, dict) for line in entry.get("pip", [])]


@pytest.fixture(scope="module")
def rule_envs(tmp_path_factory) -> dict[str, Path | None]:
    """Rule name -> its conda env file (None: no `conda:`), for every rule that runs code."""
    return {rule.name: (Path(rule.snakefile).parent / rule.conda_env).resolve() if rule.conda_env else None
            for rule in workflow_rules(tmp_path_factory.mktemp("dag"))
            if rule.script or rule.shellcmd or rule.notebook or rule.wrapper or rule.is_run}


def test_every_rule_that_runs_code_names_an_env_file_of_envs(rule_envs):
    assert len(rule_envs) >= 30  # every stage's rules, not an empty workflow
    missing = sorted(name for name, env in rule_envs.items() if env is None)
    assert not missing, f"rules without a `conda:` env: {missing}"
    outside = {name: env for name, env in rule_envs.items() if env.parent != REPO / "envs" or not env.is_file()}
    assert not outside, f"`conda:` envs that are not files of envs/: {outside}"


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_lists_every_requirement_with_pyprojects_versions_and_installs_phenomap(env_file):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    env = yaml.safe_load(env_file.read_text())
    assert SELF_INSTALL in _pip_lines(env), f"{env_file.name}: the pip section must install phenomap: {SELF_INSTALL}"
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    specs += [line for line in _pip_lines(env) if line != SELF_INSTALL]
    listed = {(r := _requirement(s)).name.lower(): r for s in specs}
    for req in wanted:
        name = CONDA_NAMES.get(req.name, req.name).lower()
        assert name in listed, f"{env_file.name} lacks {req.name} ({req})"
        conda = listed[name].specifier
        assert conda == req.specifier, f"{req.name}: pyproject {req.specifier}, {env_file.name} {conda}"
    extra = set(listed) - {CONDA_NAMES.get(r.name, r.name).lower() for r in wanted} - CONDA_ONLY
    assert not extra, f"{env_file.name} lists packages pyproject does not require: {sorted(extra)}"


def test_sdm_conda_creates_the_env_with_this_checkouts_phenomap_and_dry_runs(tmp_path):
    """Through a stub `conda` (tests/conda_stub/): Snakemake's own env creation, from a working directory elsewhere."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    shutil.copytree(REPO / "tests/conda_stub", bin_dir)
    state.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PHENOMAP_ROOT"}
    env |= dict(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", CONDA_STUB_STATE=str(state))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(tmp_path / "run"), "--sdm", "conda", "--cores", "1"]
    created = subprocess.run(cmd + ["--conda-create-envs-only"], capture_output=True, text=True, env=env)
    assert created.returncode == 0, created.stderr[-4000:]
    envs = [json.loads(line) for line in (state / "created.jsonl").read_text().splitlines()]
    assert len(envs) == 1  # one env for every rule, created once
    assert f"-e {REPO}" in envs[0]["pip"], envs[0]["pip"]
    dry = subprocess.run(cmd + ["--dry-run"], capture_output=True, text=True, env=env)
    assert dry.returncode == 0, dry.stderr[-4000:]
    assert "toy_cohort" in dry.stdout + dry.stderr
