"""Rule logs: everything a script says goes to its log, which ends with a summary, time and memory line or the error."""

from __future__ import annotations

import logging
import re
import sys

import pytest

from phenomap.logging import rule_logging, rule_summary


def test_rule_log_holds_messages_and_stderr_and_ends_with_time_and_memory(tmp_path):
    path = tmp_path / "logs/rule.log"
    with rule_logging(path) as log:
        log.info("read %d variants", 42)
        print("progress 50%", file=sys.stderr)
    lines = path.read_text().splitlines()
    assert "read 42 variants" in lines[0] and lines[1] == "progress 50%"
    assert re.search(r"phenomap: done in \d+\.\d s, peak memory \d+ MB$", lines[-1])
    logging.getLogger("phenomap").info("after the block")
    assert "after the block" not in path.read_text()  # the log's handler is gone


def test_a_failing_rule_logs_the_traceback_and_no_done_line(tmp_path):
    path = tmp_path / "rule.log"
    with pytest.raises(ValueError), rule_logging(path):
        raise ValueError("bad input row 7")
    text = path.read_text()
    assert "rule failed" in text and "ValueError: bad input row 7" in text and "done in" not in text


def test_the_last_summary_of_the_block_ends_the_log_with_items_figure_time_and_memory(tmp_path, caplog):
    path = tmp_path / "rule.log"
    with rule_logging(path):
        rule_summary("1,000 variants", "lambda_GC 1.50")  # e.g. a first pass, superseded
        rule_summary("1,234 variants x 3 traits", "lambda_GC 1.02")
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and re.search(
        r"phenomap: done: 1,234 variants x 3 traits; lambda_GC 1\.02; \d+\.\d s, peak memory \d+ MB$", lines[0])
    with caplog.at_level(logging.INFO, logger="phenomap"):
        caplog.clear()
        rule_summary("40 genes", "3 with q < 0.05")  # outside a rule: logged at once
    assert caplog.messages == ["40 genes; 3 with q < 0.05"]
    with rule_logging(path):
        pass
    assert "done in" in path.read_text()  # nothing reported in this block: the previous one's summary is gone
