"""ResNet-3D building blocks: residual transforms, blocks and multi-pathway stages.

Module names (``branch1``, ``branch2.a_bn``, ``pathway{p}_res{i}``, ``pathway{p}_nonlocal{i}``)
equal PySlowFast's so that its checkpoints load unchanged.
"""
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from slowfast.models.nonlocal_block import Nonlocal
from slowfast.models.norm import NormFactory

# Residual transforms: "bottleneck", and "basic" / "plain_basic", the same block at the stage
# widths the builder gives them (video_model.TRANSFORM_EXPANSION): PySlowFast's R50 widths, or
# plain ResNet-18 widths. RESNET.TRANS_FUNC is checked in models/spec.py.
BASIC_TRANSFORMS = ("basic", "plain_basic")


class BottleneckTransform(nn.Module):
    """Conv [t,1,1] -> conv [1,3,3] (spatial stride, groups) -> conv [1,1,1], each with BN."""

    def __init__(
        self,
        dim_in: int,
        dim_inner: int,
        dim_out: int,
        temporal_kernel: int,
        spatial_stride: int,
        dilation: int = 1,
        num_groups: int = 1,
        stride_1x1: bool = False,
        inplace_relu: bool = True,
        norm: NormFactory = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        # The spatial stride goes on the 1x1 conv (MSRA style) or on the 3x3 conv (default).
        stride_a, stride_b = (spatial_stride, 1) if stride_1x1 else (1, spatial_stride)
        self.a = nn.Conv3d(
            dim_in,
            dim_inner,
            kernel_size=(temporal_kernel, 1, 1),
            stride=(1, stride_a, stride_a),
            padding=(temporal_kernel // 2, 0, 0),
            bias=False,
        )
        self.a_bn = norm(dim_inner)
        self.a_relu = nn.ReLU(inplace=inplace_relu)
        self.b = nn.Conv3d(
            dim_inner,
            dim_inner,
            kernel_size=(1, 3, 3),
            stride=(1, stride_b, stride_b),
            padding=(0, dilation, dilation),
            dilation=(1, dilation, dilation),
            groups=num_groups,
            bias=False,
        )
        self.b_bn = norm(dim_inner)
        self.b_relu = nn.ReLU(inplace=inplace_relu)
        self.c = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.c_bn = norm(dim_out)

    @property
    def final_conv(self) -> nn.Conv3d:
        """The last conv of the residual branch."""
        return self.c

    @property
    def final_bn(self) -> nn.Module:
        """The BN whose output is added to the shortcut."""
        return self.c_bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class BasicTransform(nn.Module):
    """Conv [t,3,3] (spatial stride) -> conv [1,3,3], each with BN: the ResNet-18 block."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        spatial_stride: int,
        dilation: int = 1,
        inplace_relu: bool = True,
        norm: NormFactory = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        self.a = nn.Conv3d(
            dim_in,
            dim_out,
            kernel_size=(temporal_kernel, 3, 3),
            stride=(1, spatial_stride, spatial_stride),
            padding=(temporal_kernel // 2, 1, 1),
            bias=False,
        )
        self.a_bn = norm(dim_out)
        self.a_relu = nn.ReLU(inplace=inplace_relu)
        self.b = nn.Conv3d(
            dim_out,
            dim_out,
            kernel_size=(1, 3, 3),
            padding=(0, dilation, dilation),
            dilation=(1, dilation, dilation),
            bias=False,
        )
        self.b_bn = norm(dim_out)

    @property
    def final_conv(self) -> nn.Conv3d:
        """The last conv of the residual branch."""
        return self.b

    @property
    def final_bn(self) -> nn.Module:
        """The BN whose output is added to the shortcut."""
        return self.b_bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        return self.b_bn(self.b(x))


class ResBlock(nn.Module):
    """``relu(shortcut(x) + branch2(x))``; the shortcut projects (``branch1``) on a shape change."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        spatial_stride: int,
        branch2: nn.Module,
        norm: NormFactory = nn.BatchNorm3d,
        inplace_relu: bool = True,
    ) -> None:
        super().__init__()
        if dim_in != dim_out or spatial_stride != 1:
            self.branch1 = nn.Conv3d(
                dim_in,
                dim_out,
                kernel_size=1,
                stride=(1, spatial_stride, spatial_stride),
                bias=False,
            )
            self.branch1_bn = norm(dim_out)
        else:
            self.branch1 = None
        self.branch2 = branch2
        self.relu = nn.ReLU(inplace=inplace_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.branch1 is None else self.branch1_bn(self.branch1(x))
        return self.relu(shortcut + self.branch2(x))


@dataclass(frozen=True)
class StagePathway:
    """What one pathway of a stage looks like: widths, per-block temporal kernels, non-local.

    ``temporal_kernels`` has one entry per block (its length is the stage depth); the first
    block gets ``spatial_stride``. A non-local block follows every block listed in
    ``nonlocal_after``; ``nonlocal_group`` > 1 splits time into that many independent chunks.
    """

    dim_in: int
    dim_inner: int
    dim_out: int
    temporal_kernels: tuple[int, ...]
    spatial_stride: int = 1
    dilation: int = 1
    nonlocal_after: tuple[int, ...] = ()
    nonlocal_group: int = 1
    nonlocal_pool: tuple[int, int, int] = (1, 2, 2)


class ResStage(nn.Module):
    """One ResNet stage (res2..res5) for every pathway, with optional non-local blocks."""

    def __init__(
        self,
        pathways: Sequence[StagePathway],
        transform: str = "bottleneck",
        num_groups: int = 1,
        stride_1x1: bool = False,
        inplace_relu: bool = True,
        nonlocal_instantiation: str = "softmax",
        norm: NormFactory = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        self.pathways = tuple(pathways)
        for p, spec in enumerate(self.pathways):
            bad = [i for i in spec.nonlocal_after if not 0 <= i < len(spec.temporal_kernels)]
            if bad:
                raise ValueError(
                    f"Non-local positions {bad} of pathway {p} are outside the stage's "
                    f"{len(spec.temporal_kernels)} blocks (NONLOCAL.LOCATION)"
                )
            for i, temporal_kernel in enumerate(spec.temporal_kernels):
                dim_in = spec.dim_in if i == 0 else spec.dim_out
                stride = spec.spatial_stride if i == 0 else 1
                branch2 = _branch2(
                    transform, dim_in, spec, temporal_kernel, stride,
                    num_groups, stride_1x1, inplace_relu, norm,
                )
                block = ResBlock(dim_in, spec.dim_out, stride, branch2, norm, inplace_relu)
                self.add_module(f"pathway{p}_res{i}", block)
                if i in spec.nonlocal_after:
                    nonlocal_block = Nonlocal(
                        spec.dim_out, spec.dim_out // 2, spec.nonlocal_pool,
                        nonlocal_instantiation, norm,
                    )
                    self.add_module(f"pathway{p}_nonlocal{i}", nonlocal_block)

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for p, (x, spec) in enumerate(zip(xs, self.pathways)):
            for i in range(len(spec.temporal_kernels)):
                x = getattr(self, f"pathway{p}_res{i}")(x)
                if i in spec.nonlocal_after:
                    nonlocal_block = getattr(self, f"pathway{p}_nonlocal{i}")
                    x = _apply_in_time_groups(nonlocal_block, x, spec.nonlocal_group)
            outputs.append(x)
        return outputs


def _branch2(
    transform: str,
    dim_in: int,
    spec: StagePathway,
    temporal_kernel: int,
    stride: int,
    num_groups: int,
    stride_1x1: bool,
    inplace_relu: bool,
    norm: NormFactory,
) -> nn.Module:
    """The residual transform of one block of ``spec``."""
    if transform in BASIC_TRANSFORMS:
        return BasicTransform(
            dim_in, spec.dim_out, temporal_kernel, stride, spec.dilation, inplace_relu, norm
        )
    return BottleneckTransform(
        dim_in,
        spec.dim_inner,
        spec.dim_out,
        temporal_kernel,
        stride,
        spec.dilation,
        num_groups,
        stride_1x1,
        inplace_relu,
        norm,
    )


def _apply_in_time_groups(module: nn.Module, x: torch.Tensor, groups: int) -> torch.Tensor:
    """Apply ``module`` to ``groups`` consecutive time chunks of ``x`` independently."""
    if groups == 1:
        return module(x)
    n, c, t, h, w = x.shape
    if t % groups:
        raise ValueError(f"NONLOCAL.GROUP {groups} does not divide the {t} frames reaching it")
    # [N, C, T, H, W] -> [N * groups, C, T / groups, H, W], chunks of consecutive frames.
    folded = x.transpose(1, 2).reshape(n * groups, t // groups, c, h, w).transpose(1, 2)
    y = module(folded)
    return y.transpose(1, 2).reshape(n, t, c, h, w).transpose(1, 2)
