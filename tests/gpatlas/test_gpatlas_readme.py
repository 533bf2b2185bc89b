"""The README's G-P Atlas array example runs as printed and finds its planted locus."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(os.environ.get("PHENOMAP_README", Path(__file__).resolve().parents[2] / "README.md"))
MARKER = "<!-- gpatlas-array-example -->"


def readme_example() -> str:
    """The ```python block right after the marker line in README.md."""
    text = README.read_text()
    if MARKER not in text:
        pytest.fail(f"{README} lacks the line {MARKER} before the G-P Atlas array example")
    block = re.match(r"\s*```python\n(.*?)\n```", text.split(MARKER, 1)[1], re.DOTALL)
    assert block, f"no ```python block right after {MARKER} in {README}"
    return block.group(1)


def test_readme_gpatlas_array_example__runs_and_finds_the_planted_locus():
    namespace: dict = {}
    exec(compile(readme_example(), str(README), "exec"), namespace)
    result, baselines = namespace["result"], namespace["baselines"]
    assert result.data.n_states == 3 and result.importance.ID.iloc[0] == "rs10"
    median = result.metrics[result.metrics.trait == "median"].set_index("model").r2
    assert median["geno->pheno"] > 0.3
    # the baselines alone used the same split as fit_atlas: the same numbers
    alone = baselines.metrics.set_index(["model", "trait"]).r2
    within = result.metrics.set_index(["model", "trait"]).r2
    assert abs(alone[("ridge", "height")] - within[("ridge", "height")]) < 1e-9
    assert abs(alone[("pairwise", "height")] - within[("pairwise", "height")]) < 1e-6
