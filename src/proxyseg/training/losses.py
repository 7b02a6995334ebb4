"""Losses of the teacher and the proxy, with classes or frames a corpus does not annotate masked out."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy averaged over the annotated (frame, class) cells only.

    Parameters
    ----------
    logits, targets
        ``(batch, frame, class)``; targets in [0, 1].
    mask
        Broadcastable to ``(batch, frame, class)``; True where the target is known. A corpus
        that does not annotate music (e.g. DIHARD) has music masked out.

    Returns
    -------
    torch.Tensor
        Scalar; zero when nothing is annotated.

    Examples
    --------
    >>> logits = torch.tensor([[[0.0, 100.0]]])
    >>> targets = torch.tensor([[[1.0, 0.0]]])
    >>> round(float(masked_bce(logits, targets, torch.tensor([True, False]))), 4)  # log 2
    0.6931
    """
    mask = mask.expand_as(logits).to(logits.dtype)
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (losses * mask).sum() / mask.sum().clamp(min=1.0)
