"""Building blocks: the Conv-TasNet temporal convolutional network (TCN) used by teacher and proxy.

Every block normalises each frame over its channels only (:class:`ChannelNorm`), never over
time: the output at a frame depends on the input within the receptive field and nothing else,
so a long file processed in chunks with enough context equals the whole file at once.
"""

from __future__ import annotations

import torch
from torch import nn


class ChannelNorm(nn.Module):
    """Layer normalisation over channels, frame by frame (Conv-TasNet's cLN).

    Shape:
        - Input: ``(batch, channels, frames)``
        - Output: same

    Examples
    --------
    >>> norm = ChannelNorm(8)
    >>> x = torch.randn(2, 8, 5)
    >>> torch.allclose(norm(x)[..., :3], norm(x[..., :3]))
    True
    """

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class TCNBlock(nn.Module):
    """1×1 conv → PReLU → norm → dilated depthwise conv → PReLU → norm → 1×1 conv, plus residual.

    Shape:
        - Input: ``(batch, channels, frames)``
        - Output: same
    """

    def __init__(self, channels: int, hidden: int, kernel_size: int, dilation: int):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (symmetric context), got {kernel_size}")
        self.layers = nn.Sequential(
            nn.Conv1d(channels, hidden, 1),
            nn.PReLU(),
            ChannelNorm(hidden),
            nn.Conv1d(hidden, hidden, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2,
                      groups=hidden),
            nn.PReLU(),
            ChannelNorm(hidden),
            nn.Conv1d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class TCN(nn.Module):
    """Bottleneck 1×1 conv, then ``repeats`` × ``blocks`` TCN blocks with dilations 1, 2, 4, …

    Parameters
    ----------
    in_channels
        Input channels (feature bins).
    bottleneck
        Channels between blocks (64 in the paper).
    hidden
        Channels inside a block (128 in the paper).
    kernel_size
        Depthwise kernel (3).
    blocks
        Blocks per repeat; block ``i`` has dilation ``2**i`` (3: dilations 1, 2, 4).
    repeats
        Repeats of the dilation pattern (5 for the teacher, 2 or 4 for the proxy).

    Shape:
        - Input: ``(batch, in_channels, frames)``
        - Output: ``(batch, bottleneck, frames)``

    Examples
    --------
    >>> tcn = TCN(257, blocks=3, repeats=2)
    >>> tcn(torch.randn(1, 257, 50)).shape, tcn.receptive_field
    (torch.Size([1, 64, 50]), 14)
    """

    def __init__(self, in_channels: int, bottleneck: int = 64, hidden: int = 128, kernel_size: int = 3,
                 blocks: int = 3, repeats: int = 5):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("bottleneck", bottleneck), ("hidden", hidden),
                            ("blocks", blocks), ("repeats", repeats)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.kernel_size, self.blocks, self.repeats = kernel_size, blocks, repeats
        self.input = nn.Conv1d(in_channels, bottleneck, 1)
        self.layers = nn.Sequential(*(
            TCNBlock(bottleneck, hidden, kernel_size, dilation=2**block)
            for _ in range(repeats) for block in range(blocks)
        ))

    @property
    def receptive_field(self) -> int:
        """Frames of context on each side that an output frame depends on."""
        return self.repeats * sum(2**block for block in range(self.blocks)) * (self.kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.input(x))
