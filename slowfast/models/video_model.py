"""Assembly of the video models: ResNet (C2D, I3D, Slow; one pathway) and SlowFast (two).

Both take a list of pathway tensors ``[N, C, T, H, W]`` and return logits ``[N, num_classes]``.
Architecture tables (stage depths, temporal kernels, pooling) follow PySlowFast's
``video_model_builder.py`` so that state-dict names and shapes equal its models'.
"""
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.nn as nn

from slowfast.models.fusion import FuseFastToSlow
from slowfast.models.head import ResNetBasicHead
from slowfast.models.norm import NormFactory
from slowfast.models.resnet import ResStage, StagePathway
from slowfast.models.stem import VideoStem

T = TypeVar("T")
# Per stage (res2..res5), per pathway; a single pathway entry applies to every pathway.
PerStage = tuple[tuple[T, ...], ...]

# Blocks per stage res2..res5.
STAGE_DEPTHS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
}
# Output width of a stage relative to WIDTH_PER_GROUP x 2^stage. PySlowFast keeps R50's widths
# for basic blocks too (256..2048 for width 64, a projection in res2's first block); plain_basic
# is the cheaper torchvision-style ResNet-18 (64..512), an option of ours.
TRANSFORM_EXPANSION = {"bottleneck": 4, "basic": 4, "plain_basic": 1}


@dataclass(frozen=True)
class PathwayKernels:
    """Temporal kernel of the stem and the per-stage block pattern (repeated over blocks)."""

    stem: int
    stages: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


# Per architecture, per pathway (PySlowFast's _TEMPORAL_KERNEL_BASIS).
ARCH_TEMPORAL_KERNELS: dict[str, tuple[PathwayKernels, ...]] = {
    "c2d": (PathwayKernels(1, ((1,), (1,), (1,), (1,))),),
    "i3d": (PathwayKernels(5, ((3,), (3, 1), (3, 1), (1, 3))),),
    "slow": (PathwayKernels(1, ((1,), (1,), (3,), (3,))),),
    "slowfast": (
        PathwayKernels(1, ((1,), (1,), (3,), (3,))),
        PathwayKernels(5, ((3,), (3,), (3,), (3,))),
    ),
}
# Temporal max-pool (kernel = stride) after res2, per pathway (PySlowFast's _POOL1).
ARCH_POOL1_TEMPORAL: dict[str, tuple[int, ...]] = {
    "c2d": (2,),
    "i3d": (2,),
    "slow": (1,),
    "slowfast": (1, 1),
}
RESNET_ARCHS = ("c2d", "i3d", "slow")
SLOWFAST_ARCHS = ("slowfast",)

@dataclass(frozen=True)
class ResNetOptions:
    """Backbone options shared by ResNet and SlowFast (PySlowFast's RESNET and NONLOCAL keys).

    Per-stage fields hold one tuple per stage res2..res5 with one entry per pathway (a single
    entry serves every pathway). ``num_block_temp_kernel`` counts, per stage, the blocks that
    keep the architecture's temporal kernel; the rest use 1. The values are taken as given:
    ``models.spec.model_spec`` checks the config's (depth, transform, list lengths, ...).
    """

    depth: int = 50
    width_per_group: int = 64
    num_groups: int = 1
    transform: str = "bottleneck"
    stride_1x1: bool = False
    inplace_relu: bool = True
    num_block_temp_kernel: PerStage[int] = ((3,), (4,), (6,), (3,))
    spatial_strides: PerStage[int] = ((1,), (2,), (2,), (2,))
    spatial_dilations: PerStage[int] = ((1,), (1,), (1,), (1,))
    nonlocal_locations: PerStage[tuple[int, ...]] = (((),), ((),), ((),), ((),))
    nonlocal_groups: PerStage[int] = ((1,), (1,), (1,), (1,))
    nonlocal_pools: PerStage[tuple[int, int, int]] = (((1, 2, 2),),) * 4
    nonlocal_instantiation: str = "dot_product"


@dataclass(frozen=True)
class SlowFastFusion:
    """Pathway ratios and the lateral connection of SlowFast (PySlowFast's SLOWFAST keys)."""

    alpha: int = 8
    beta_inv: int = 8
    conv_channel_ratio: int = 2
    kernel_size: int = 5


def block_temporal_kernels(
    pattern: Sequence[int], num_blocks: int, num_temporal: int
) -> tuple[int, ...]:
    """Repeat ``pattern`` over the blocks, keep the first ``num_temporal`` and use 1 after."""
    count = min(num_temporal, num_blocks)
    return tuple(pattern[i % len(pattern)] for i in range(count)) + (1,) * (num_blocks - count)


def pathway_entry(entries: Sequence[T], pathway: int) -> T:
    """A per-stage option's entry for ``pathway``: a single entry serves every pathway."""
    return entries[0] if len(entries) == 1 else entries[pathway]


def _per_pathway(options: ResNetOptions, field: str, stage: int, pathway: int) -> Any:
    """``options.<field>[stage]`` for ``pathway`` (``pathway_entry``)."""
    return pathway_entry(getattr(options, field)[stage], pathway)


def stage_frames(arch: str, pathway: int, num_frames: int) -> tuple[int, int, int, int]:
    """Frames that pathway ``pathway`` of ``arch`` carries through res2..res5 when it takes
    ``num_frames``: the stem and the stages keep time; the max-pool after res2 divides it
    (rounding down, as the pool does; it needs at least its kernel's frames)."""
    after_pool = num_frames // ARCH_POOL1_TEMPORAL[arch][pathway]
    return num_frames, after_pool, after_pool, after_pool


def stage_sizes(options: ResNetOptions, pathway: int, crop_size: int) -> tuple[int, ...]:
    """Height (= width) of pathway ``pathway``'s feature map in res2..res5 for a square crop:
    the stem's strided conv and max-pool each halve it and every stage's first block divides it
    by its spatial stride, all rounding up (their padding keeps a partial window)."""
    size = math.ceil(math.ceil(crop_size / 2) / 2)
    sizes = []
    for stage in range(4):
        size = math.ceil(size / _per_pathway(options, "spatial_strides", stage, pathway))
        sizes.append(size)
    return tuple(sizes)


def _stage_pathway(
    options: ResNetOptions,
    kernels: PathwayKernels,
    stage: int,
    pathway: int,
    dim_in: int,
    width_divisor: int,
) -> StagePathway:
    """The widths, kernels and non-local layout of one pathway in stage res{stage + 2}."""
    num_blocks = STAGE_DEPTHS[options.depth][stage]
    scale = 2**stage
    expansion = TRANSFORM_EXPANSION[options.transform]
    return StagePathway(
        dim_in=dim_in,
        dim_inner=options.num_groups * options.width_per_group * scale // width_divisor,
        dim_out=options.width_per_group * expansion * scale // width_divisor,
        temporal_kernels=block_temporal_kernels(
            kernels.stages[stage],
            num_blocks,
            _per_pathway(options, "num_block_temp_kernel", stage, pathway),
        ),
        spatial_stride=_per_pathway(options, "spatial_strides", stage, pathway),
        dilation=_per_pathway(options, "spatial_dilations", stage, pathway),
        nonlocal_after=tuple(_per_pathway(options, "nonlocal_locations", stage, pathway)),
        nonlocal_group=_per_pathway(options, "nonlocal_groups", stage, pathway),
        nonlocal_pool=tuple(_per_pathway(options, "nonlocal_pools", stage, pathway)),
    )


def _make_res_stage(
    options: ResNetOptions, pathways: Sequence[StagePathway], norm: NormFactory
) -> ResStage:
    """One ResNet stage (res2..res5) over ``pathways``, with the block options every stage shares."""
    return ResStage(
        pathways,
        transform=options.transform,
        num_groups=options.num_groups,
        stride_1x1=options.stride_1x1,
        inplace_relu=options.inplace_relu,
        nonlocal_instantiation=options.nonlocal_instantiation,
        norm=norm,
    )


def _temporal_pool(kernel: int) -> nn.Module:
    """Max-pool over time with kernel = stride; identity for 1."""
    if kernel == 1:
        return nn.Identity()
    return nn.MaxPool3d(kernel_size=(kernel, 1, 1), stride=(kernel, 1, 1))


def _check_inputs(xs: Sequence[torch.Tensor], num_pathways: int, model: str) -> None:
    if not isinstance(xs, (list, tuple)) or len(xs) != num_pathways:
        raise ValueError(
            f"{model} expects a list of {num_pathways} pathway tensors [N, C, T, H, W], "
            f"got {type(xs).__name__} of length {len(xs) if isinstance(xs, (list, tuple)) else '-'}"
        )
    for p, x in enumerate(xs):
        if x.dim() != 5:
            raise ValueError(
                f"{model} pathway {p} input must be [N, C, T, H, W], got shape {tuple(x.shape)}"
            )


class ResNet(nn.Module):
    """Single-pathway ResNet-3D: C2D, I3D (optionally with non-local blocks) or Slow."""

    def __init__(
        self,
        num_classes: int,
        arch: str = "i3d",
        options: ResNetOptions = ResNetOptions(),
        input_channels: int = 3,
        dropout_rate: float = 0.5,
        norm: NormFactory = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        (kernels,) = ARCH_TEMPORAL_KERNELS[arch]
        width = options.width_per_group
        self.s1 = VideoStem([input_channels], [width], [kernels.stem], norm, options.inplace_relu)
        dim = width
        for stage in range(4):
            spec = _stage_pathway(options, kernels, stage, 0, dim, width_divisor=1)
            self.add_module(f"s{stage + 2}", _make_res_stage(options, [spec], norm))
            if stage == 0:
                self.pathway0_pool = _temporal_pool(ARCH_POOL1_TEMPORAL[arch][0])
            dim = spec.dim_out
        self.head = ResNetBasicHead([dim], num_classes, dropout_rate)

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        _check_inputs(xs, 1, "ResNet")
        x = self.s2(self.s1(xs))
        x = [self.pathway0_pool(x[0])]
        return self.head(self.s5(self.s4(self.s3(x))))


class SlowFast(nn.Module):
    """Two-pathway SlowFast: pathway 0 is slow (few frames, wide), 1 is fast (alpha x frames)."""

    def __init__(
        self,
        num_classes: int,
        arch: str = "slowfast",
        options: ResNetOptions = ResNetOptions(),
        fusion: SlowFastFusion = SlowFastFusion(),
        input_channels: Sequence[int] = (3, 3),
        dropout_rate: float = 0.5,
        norm: NormFactory = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        kernels = ARCH_TEMPORAL_KERNELS[arch]
        width, beta_inv = options.width_per_group, fusion.beta_inv
        # The fast pathway is 1/BETA_INV as wide (RESNET.WIDTH_PER_GROUP a multiple of it: spec.py).
        stem_widths = [width, width // beta_inv]
        self.s1 = VideoStem(
            list(input_channels), stem_widths, [k.stem for k in kernels], norm, options.inplace_relu
        )
        dims = self._add_fuse(1, stem_widths, fusion, norm, options.inplace_relu)
        for stage in range(4):
            specs = [
                _stage_pathway(options, kernels[p], stage, p, dims[p], width_divisor=divisor)
                for p, divisor in enumerate((1, beta_inv))
            ]
            self.add_module(f"s{stage + 2}", _make_res_stage(options, specs, norm))
            dims = [spec.dim_out for spec in specs]
            if stage < 3:
                dims = self._add_fuse(stage + 2, dims, fusion, norm, options.inplace_relu)
            if stage == 0:
                for p, kernel in enumerate(ARCH_POOL1_TEMPORAL[arch]):
                    self.add_module(f"pathway{p}_pool", _temporal_pool(kernel))
        self.head = ResNetBasicHead(dims, num_classes, dropout_rate)

    def _add_fuse(
        self,
        index: int,
        dims: Sequence[int],
        fusion: SlowFastFusion,
        norm: NormFactory,
        inplace_relu: bool,
    ) -> list[int]:
        """Add ``s{index}_fuse``; return the pathway widths after it."""
        fuse = FuseFastToSlow(
            dims[1], fusion.conv_channel_ratio, fusion.kernel_size, fusion.alpha, norm, inplace_relu
        )
        self.add_module(f"s{index}_fuse", fuse)
        return [dims[0] + dims[1] * fusion.conv_channel_ratio, dims[1]]

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        _check_inputs(xs, 2, "SlowFast")
        x = self.s1_fuse(self.s1(xs))
        x = self.s2_fuse(self.s2(x))
        x = [self.pathway0_pool(x[0]), self.pathway1_pool(x[1])]
        x = self.s3_fuse(self.s3(x))
        x = self.s4_fuse(self.s4(x))
        return self.head(self.s5(x))
