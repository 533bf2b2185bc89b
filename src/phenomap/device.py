"""Choice of the torch device for neural-network rules."""

from __future__ import annotations

import torch

from phenomap.errors import InputError


def pick(requested: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cpu``; ``cuda`` (InputError if unavailable)."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise InputError("device: cuda was requested but no CUDA GPU is visible to torch; "
                         "use device: auto (falls back to cpu) or run on a GPU node.")
    if requested not in ("cpu", "cuda"):
        raise InputError(f"device: {requested!r} is not one of auto, cpu, cuda.")
    return torch.device(requested)
