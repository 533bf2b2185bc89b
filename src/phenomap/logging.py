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


@contextlib.contextmanager
def rule_logging(log_path: str | Path) -> Iterator[logging.Logger]:
    """Send logging, warnings and stderr (tqdm progress bars included) to ``log_path``.

    A block that succeeds ends the log with one line: ``done in <s> s, peak memory <MB> MB``
    (the process's maximum resident set). An exception escaping the block is logged with its
    traceback and re-raised, so Snakemake marks the job failed and the reason sits in the
    rule's log.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
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
            logging.getLogger("phenomap").info("done in %.1f s, peak memory %.0f MB", time.perf_counter() - start,
                                               peak_mb)
        except BaseException:
            logging.getLogger("phenomap").exception("rule failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)
