"""Logging set-up shared by Snakemake scripts and the command line."""

from __future__ import annotations

import contextlib
import logging
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Summaries reported by `rule_summary` since the innermost `rule_logging` block began (None: outside any block).
_summaries: list[str] | None = None


def rule_summary(items: str, figure: str) -> None:
    """Report a pipeline step's result in brief: what it processed and its key figure.

    ``items`` counts the work ("4,980 / 5,000 variants kept", "1,234 variants x 3 traits"), ``figure`` is the number
    a user looks at first ("lambda_GC 1.02", "K* = 4"). Inside `rule_logging` the last summary ends the rule's log;
    elsewhere (a notebook, a benchmark) it is logged at once.
    """
    text = f"{items}; {figure}"
    if _summaries is None:
        logging.getLogger("phenomap").info(text)
    else:
        _summaries.append(text)


@contextlib.contextmanager
def rule_logging(log_path: str | Path) -> Iterator[logging.Logger]:
    """Send logging, warnings and stderr (tqdm progress bars included) to ``log_path``.

    A block that succeeds ends the log with one line: ``done: <items>; <key figure>; <s> s, peak memory <MB> MB``
    (the last `rule_summary` reported inside the block; the process's maximum resident set), or ``done in <s> s, ...``
    when nothing was reported. An exception escaping the block is logged with its
    traceback and re-raised, so Snakemake marks the job failed and the reason sits in the
    rule's log.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    global _summaries
    outer, _summaries = _summaries, []
    with open(log_path, "w", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(FORMAT))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        old_stderr, sys.stderr = sys.stderr, stream
        start = time.perf_counter()
        try:
            yield logging.getLogger("phenomap")
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
            done = f"done: {_summaries[-1]};" if _summaries else "done in"
            logging.getLogger("phenomap").info("%s %.1f s, peak memory %.0f MB", done, time.perf_counter() - start,
                                               peak_mb)
        except BaseException:
            logging.getLogger("phenomap").exception("rule failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)
            _summaries = outer
