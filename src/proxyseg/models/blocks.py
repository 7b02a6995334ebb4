"""Building blocks: the Conv-TasNet temporal convolutional network (TCN) used by teacher and proxy.

Every block normalises each frame over its channels only (:class:`ChannelNorm`), never over
time: the output at a frame depends on the input within the receptive field and nothing else,
so a long file processed in chunks with enough context equals the whole file at once.

The network runs frame-major, on ``(batch, frames, channels)``: its 1×1 convolutions are then
matrix products and its norms layer norms over the last dimension, with no transposed copies in
between, which made the channel-major layout of ``nn.Conv1d`` spend about a quarter of its time
copying (docs/speed.md, "Where the time goes"). The weights keep the shapes and names of
``nn.Conv1d``, as saved models have them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class PointwiseConv(nn.Conv1d):
    """A 1×1 convolution applied frame-major: a linear map of each frame's channels.

    Shape:
        - Input: ``(batch, frames, in_channels)``
        - Output: ``(batch, frames, out_channels)``

    Examples
    --------
    >>> conv = PointwiseConv(8, 4)
    >>> x = torch.randn(2, 5, 8)
    >>> torch.allclose(conv(x), nn.Conv1d.forward(conv, x.transpose(1, 2)).transpose(1, 2), atol=1e-6)
    True
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight[:, :, 0], self.bias)


class DepthwiseConv(nn.Conv1d):
    """A dilated depthwise convolution over time, zero-padded to keep the length, applied frame-major.

    Shape:
        - Input: ``(batch, frames, channels)``
        - Output: same

    Examples
    --------
    >>> conv = DepthwiseConv(8, kernel_size=3, dilation=2)
    >>> x = torch.randn(2, 9, 8)
    >>> torch.allclose(conv(x), nn.Conv1d.forward(conv, x.transpose(1, 2)).transpose(1, 2), atol=1e-6)
    True
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (symmetric context), got {kernel_size}")
        super().__init__(channels, channels, kernel_size, dilation=dilation,
                         padding=dilation * (kernel_size - 1) // 2, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames, (dilation,), (padding,) = x.shape[1], self.dilation, self.padding
        padded = F.pad(x, (0, 0, padding, padding))  # (batch, frames + 2 padding, channels)
        output = self.bias.expand_as(x)
        for tap in range(self.kernel_size[0]):
            output = torch.addcmul(output, padded[:, tap * dilation:tap * dilation + frames], self.weight[:, 0, tap])
        return output


class ChannelNorm(nn.Module):
    """Layer normalisation over channels, frame by frame (Conv-TasNet's cLN).

    A module of its own so that the weights are named ``norm.weight`` and ``norm.bias``, as in saved models.

    Shape:
        - Input: ``(batch, frames, channels)``
        - Output: same

    Examples
    --------
    >>> norm = ChannelNorm(8)
    >>> x = torch.randn(2, 5, 8)
    >>> torch.allclose(norm(x)[:, :3], norm(x[:, :3]))
    True
    """

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class TCNBlock(nn.Module):
    """1×1 conv → PReLU → norm → dilated depthwise conv → PReLU → norm → 1×1 conv, plus residual.

    Shape:
        - Input: ``(batch, frames, bottleneck)``
        - Output: same
    """

    def __init__(self, bottleneck: int, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.layers = nn.Sequential(
            PointwiseConv(bottleneck, channels),
            nn.PReLU(),
            ChannelNorm(channels),
            DepthwiseConv(channels, kernel_size, dilation),
            nn.PReLU(),
            ChannelNorm(channels),
            PointwiseConv(channels, bottleneck),
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
    channels
        Channels inside a block (128 in the paper).
    kernel_size
        Depthwise kernel (3).
    blocks
        Blocks per repeat; block ``i`` has dilation ``2**i`` (3: dilations 1, 2, 4).
    repeats
        Repeats of the dilation pattern (5 for the teacher, 2 or 4 for the proxy).

    Shape:
        - Input: ``(batch, frames, in_channels)``
        - Output: ``(batch, frames, bottleneck)``

    Examples
    --------
    >>> tcn = TCN(257, blocks=3, repeats=2)
    >>> tcn(torch.randn(1, 50, 257)).shape, tcn.receptive_field
    (torch.Size([1, 50, 64]), 14)
    """

    def __init__(self, in_channels: int, bottleneck: int = 64, channels: int = 128, kernel_size: int = 3,
                 blocks: int = 3, repeats: int = 5):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("bottleneck", bottleneck), ("channels", channels),
                            ("blocks", blocks), ("repeats", repeats)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.kernel_size, self.blocks, self.repeats = kernel_size, blocks, repeats
        self.input = PointwiseConv(in_channels, bottleneck)
        self.layers = nn.Sequential(*(
            TCNBlock(bottleneck, channels, kernel_size, dilation=2**block)
            for _ in range(repeats) for block in range(blocks)
        ))

    @property
    def receptive_field(self) -> int:
        """Frames of context on each side that an output frame depends on."""
        return self.repeats * sum(2**block for block in range(self.blocks)) * (self.kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.input(x))
