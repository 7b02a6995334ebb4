"""How big a model may be: its weights and its context, computed from its arguments before it is built."""

from __future__ import annotations

#: Weights of one model (its TCN, classifier, dictionary): the shipped ones have about 0.5 M; 100 M
#: (400 MB of float32) is far beyond any useful segmenter here, and what memory a file may claim.
MAX_PARAMETERS = 100_000_000
#: Feature frames of context on each side of an output frame (100 s): inference holds that much.
MAX_CONTEXT = 5_000


def tcn_parameters(in_channels: int, bottleneck: int, channels: int, kernel_size: int, blocks: int,
                   repeats: int) -> int:
    """Weights of a :class:`proxyseg.models.blocks.TCN`, from its arguments (nothing is built).

    >>> import torch
    >>> from proxyseg.models.blocks import TCN
    >>> tcn_parameters(257, 64, 128, 3, 3, 2) == sum(p.numel() for p in TCN(257, 64, 128, 3, 3, 2).parameters())
    True
    """
    # Per block: two 1x1 convolutions, a depthwise one, two PReLUs and two channel norms.
    block = 2 * bottleneck * channels + channels * kernel_size + 6 * channels + bottleneck + 2
    return in_channels * bottleneck + bottleneck + blocks * repeats * block


def tcn_context(kernel_size: int, blocks: int, repeats: int) -> int:
    """Frames of context on each side of a TCN's output frame (its receptive field), from its arguments."""
    return repeats * (2**blocks - 1) * (kernel_size - 1) // 2


def check_size(parameters: int, context: int | None) -> None:
    """Refuse a model of more than :data:`MAX_PARAMETERS` weights or :data:`MAX_CONTEXT` frames of context."""
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"these arguments make {parameters:,} weights, more than the {MAX_PARAMETERS:,} allowed")
    if context is not None and context > MAX_CONTEXT:
        raise ValueError(f"these arguments make a context of {context:,} frames, more than the {MAX_CONTEXT:,} "
                         "allowed")
