"""The ResNet stem (stage ``s1``): a large strided convolution and a max-pool, per pathway."""
from collections.abc import Sequence

import torch
import torch.nn as nn

from slowfast.models.norm import NormFactory


class ResNetStem(nn.Module):
    """Conv [t,7,7] /2 -> BN -> ReLU -> max-pool [1,3,3] /2: H and W shrink 4x, T is kept."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        norm: NormFactory,
        inplace_relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in,
            dim_out,
            kernel_size=(temporal_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temporal_kernel // 2, 3, 3),
            bias=False,
        )
        self.bn = norm(dim_out)
        self.relu = nn.ReLU(inplace=inplace_relu)
        self.pool_layer = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_layer(self.relu(self.bn(self.conv(x))))


class VideoStem(nn.Module):
    """One :class:`ResNetStem` per pathway, named ``pathway{p}_stem`` as in PySlowFast."""

    def __init__(
        self,
        dims_in: Sequence[int],
        dims_out: Sequence[int],
        temporal_kernels: Sequence[int],
        norm: NormFactory,
        inplace_relu: bool = True,
    ) -> None:
        super().__init__()
        if not len(dims_in) == len(dims_out) == len(temporal_kernels):
            raise ValueError(
                f"VideoStem needs one entry per pathway in dims_in {list(dims_in)}, dims_out "
                f"{list(dims_out)} and temporal_kernels {list(temporal_kernels)}"
            )
        self.num_pathways = len(dims_in)
        for p, (dim_in, dim_out, kernel) in enumerate(zip(dims_in, dims_out, temporal_kernels)):
            stem = ResNetStem(dim_in, dim_out, kernel, norm, inplace_relu)
            self.add_module(f"pathway{p}_stem", stem)

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [getattr(self, f"pathway{p}_stem")(x) for p, x in enumerate(xs)]
