"""The model's section of the config, read and checked once: ``model_spec(cfg) -> ModelSpec``.

Every rule on the MODEL, RESNET, SLOWFAST, NONLOCAL and BN keys (and DATA.INPUT_CHANNEL_NUM)
lives here and nowhere else: config validation builds this spec instead of repeating them,
``build_model`` builds from it, and the model classes take its values as explicit arguments
without checking them again. ``ModelSpec.frames_problem`` / ``crop_problem`` say what clip
shapes the model can take, for the checks across sections (``engine/cross_checks.py``).
"""
from dataclasses import dataclass
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.models.nonlocal_block import NONLOCAL_INSTANTIATIONS
from slowfast.models.registry import MODEL_ARCHS, architectures
from slowfast.models.video_model import (
    ARCH_POOL1_TEMPORAL,
    STAGE_DEPTHS,
    ResNetOptions,
    SlowFastFusion,
    pathway_entry,
    stage_frames,
    stage_sizes,
)
from slowfast.utils.checks import at_least, one_of, per_stage, require

# RESNET.TRANS_FUNC -> residual transform, whatever RESNET.DEPTH (as in PySlowFast).
# "basic_transform" builds PySlowFast's basic-block network (R50 stage widths), so its checkpoints
# load; "plain_basic_transform" (ours) the same blocks at plain ResNet-18 widths, far cheaper.
TRANS_FUNCS = {
    "bottleneck_transform": "bottleneck",
    "basic_transform": "basic",
    "plain_basic_transform": "plain_basic",
}
NORM_TYPES = ("batchnorm",)  # multigrid's grouping is set by MULTIGRID.BN_BASE_SIZE, not here
# [stage][pathway] keys that need exactly one entry per pathway, as PySlowFast indexes them.
PER_PATHWAY_KEYS = ("RESNET.NUM_BLOCK_TEMP_KERNEL", "RESNET.SPATIAL_STRIDES", "RESNET.SPATIAL_DILATIONS",
                    "NONLOCAL.LOCATION")
# [stage][pathway] keys whose single entry per stage may serve every pathway.
SHARED_PER_STAGE_KEYS = ("NONLOCAL.GROUP", "NONLOCAL.POOL")


@dataclass(frozen=True)
class ModelSpec:
    """What ``build_model`` needs, in checked plain values; field comments name the keys."""

    model_name: str  # MODEL.MODEL_NAME
    arch: str  # MODEL.ARCH
    num_classes: int  # MODEL.NUM_CLASSES
    input_channels: tuple[int, ...]  # DATA.INPUT_CHANNEL_NUM, one per pathway
    options: ResNetOptions  # RESNET.*, NONLOCAL.*
    fusion: SlowFastFusion | None = None  # SLOWFAST.* (SlowFast only)
    dropout_rate: float = 0.5  # MODEL.DROPOUT_RATE
    fc_init_std: float = 0.01  # MODEL.FC_INIT_STD
    zero_init_final_bn: bool = False  # RESNET.ZERO_INIT_FINAL_BN
    zero_init_final_conv: bool = False  # RESNET.ZERO_INIT_FINAL_CONV

    @property
    def num_pathways(self) -> int:
        return len(self.input_channels)

    def pathway_frames(self, num_frames: int) -> tuple[int, ...]:
        """Frames each pathway takes from a clip of ``num_frames`` (SlowFast: slow = 1 in ALPHA)."""
        if self.fusion is None:
            return (num_frames,)
        return num_frames // self.fusion.alpha, num_frames

    def frames_problem(self, num_frames: int) -> str | None:
        """Why clips of ``num_frames`` frames would break the model, phrased to follow "<key> <value>"
        (e.g. "must be a multiple of SLOWFAST.ALPHA 4"); None when they fit."""
        if self.fusion is not None and num_frames % self.fusion.alpha:
            # The lateral connections stride the fast pathway's time by ALPHA onto the slow one's.
            return f"must be a multiple of SLOWFAST.ALPHA {self.fusion.alpha}"
        for pathway, frames in enumerate(self.pathway_frames(num_frames)):
            pool = ARCH_POOL1_TEMPORAL[self.arch][pathway]
            if frames < pool:
                return f"must be at least {pool}: MODEL.ARCH {self.arch} max-pools time by {pool} after res2"
            for stage, stage_time in enumerate(stage_frames(self.arch, pathway, frames)):
                problem = self._nonlocal_frames_problem(stage, pathway, stage_time)
                if problem:
                    return problem
        return None

    def crop_problem(self, crop_size: int) -> str | None:
        """Why square crops of ``crop_size`` px would break the model (a feature map smaller than
        a NONLOCAL.POOL window: an empty map), phrased to follow "<key> <value>"; None when they fit."""
        for pathway in range(self.num_pathways):
            for stage, size in enumerate(stage_sizes(self.options, pathway, crop_size)):
                if not self._nonlocal_at(stage, pathway):
                    continue
                pool = self._entry("nonlocal_pools", stage, pathway)
                needed = max(pool[1], pool[2])
                if size < needed:
                    return (f"must leave at least a {needed}x{needed} feature map at res{stage + 2} for the "
                            f"NONLOCAL.POOL window {list(pool)} (it leaves {size}x{size})")
        return None

    def _entry(self, field: str, stage: int, pathway: int) -> Any:
        return pathway_entry(getattr(self.options, field)[stage], pathway)

    def _nonlocal_at(self, stage: int, pathway: int) -> bool:
        return bool(self._entry("nonlocal_locations", stage, pathway))

    def _nonlocal_frames_problem(self, stage: int, pathway: int, frames: int) -> str | None:
        """Non-local blocks attend within NONLOCAL.GROUP chunks of time, max-pooled by NONLOCAL.POOL."""
        if not self._nonlocal_at(stage, pathway):
            return None
        group = self._entry("nonlocal_groups", stage, pathway)
        pool_time = self._entry("nonlocal_pools", stage, pathway)[0]
        if frames % group or frames // group < pool_time:
            needed = f"a multiple of NONLOCAL.GROUP {group}" if pool_time == 1 else (
                f"a multiple of NONLOCAL.GROUP {group}, at least {group * pool_time} for NONLOCAL.POOL's "
                f"{pool_time} frames")
            return f"must leave {needed} frames at res{stage + 2} (it leaves {frames})"
        return None


def model_spec(cfg: CfgNode) -> ModelSpec:
    """The MODEL, RESNET, SLOWFAST, NONLOCAL and BN keys and DATA.INPUT_CHANNEL_NUM, each rule checked
    once; ConfigError naming the key for the first bad value."""
    archs = architectures()
    arch, model_name = cfg.MODEL.ARCH, cfg.MODEL.MODEL_NAME
    one_of(arch, archs, "MODEL.ARCH")
    one_of(model_name, sorted(MODEL_ARCHS), "MODEL.MODEL_NAME")
    arch_model, num_pathways = archs[arch]
    require(arch_model == model_name, f"MODEL.ARCH {arch!r} does not go with MODEL.MODEL_NAME "
                                      f"{model_name!r}; use MODEL_NAME {arch_model}")
    options = _resnet_options(cfg)
    one_of(cfg.BN.NORM_TYPE, NORM_TYPES, "BN.NORM_TYPE")
    at_least(cfg.MODEL.NUM_CLASSES, 1, "MODEL.NUM_CLASSES")
    require(0.0 <= cfg.MODEL.DROPOUT_RATE < 1.0, f"MODEL.DROPOUT_RATE must be in [0, 1), got {cfg.MODEL.DROPOUT_RATE}")
    _check_per_stage_lists(cfg, num_pathways)
    require(len(cfg.DATA.INPUT_CHANNEL_NUM) >= num_pathways,
            f"DATA.INPUT_CHANNEL_NUM needs {num_pathways} entries for MODEL.ARCH {arch}, "
            f"got {cfg.DATA.INPUT_CHANNEL_NUM}")
    return ModelSpec(
        model_name=model_name,
        arch=arch,
        num_classes=int(cfg.MODEL.NUM_CLASSES),
        # One entry per pathway as in PySlowFast (extra entries are ignored).
        input_channels=tuple(cfg.DATA.INPUT_CHANNEL_NUM[:num_pathways]),
        options=options,
        fusion=_slowfast_fusion(cfg) if num_pathways == 2 else None,
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
        fc_init_std=cfg.MODEL.FC_INIT_STD,
        zero_init_final_bn=cfg.RESNET.ZERO_INIT_FINAL_BN,
        zero_init_final_conv=cfg.RESNET.ZERO_INIT_FINAL_CONV,
    )


def _resnet_options(cfg: CfgNode) -> ResNetOptions:
    """Backbone options from the RESNET and NONLOCAL keys (per-stage lists checked by the caller)."""
    resnet = cfg.RESNET
    one_of(resnet.DEPTH, tuple(STAGE_DEPTHS), "RESNET.DEPTH")
    one_of(resnet.TRANS_FUNC, tuple(TRANS_FUNCS), "RESNET.TRANS_FUNC")
    require(resnet.TRANS_FUNC == "bottleneck_transform" or resnet.NUM_GROUPS == 1,
            f"RESNET.NUM_GROUPS {resnet.NUM_GROUPS} needs RESNET.TRANS_FUNC bottleneck_transform; "
            f"{resnet.TRANS_FUNC} blocks take 1")
    one_of(cfg.NONLOCAL.INSTANTIATION, NONLOCAL_INSTANTIATIONS, "NONLOCAL.INSTANTIATION")
    return ResNetOptions(
        depth=resnet.DEPTH,
        width_per_group=resnet.WIDTH_PER_GROUP,
        num_groups=resnet.NUM_GROUPS,
        transform=TRANS_FUNCS[resnet.TRANS_FUNC],
        stride_1x1=resnet.STRIDE_1X1,
        inplace_relu=resnet.INPLACE_RELU,
        num_block_temp_kernel=_to_tuple(resnet.NUM_BLOCK_TEMP_KERNEL),
        spatial_strides=_to_tuple(resnet.SPATIAL_STRIDES),
        spatial_dilations=_to_tuple(resnet.SPATIAL_DILATIONS),
        nonlocal_locations=_to_tuple(cfg.NONLOCAL.LOCATION),
        nonlocal_groups=_to_tuple(cfg.NONLOCAL.GROUP),
        nonlocal_pools=_to_tuple(cfg.NONLOCAL.POOL),
        nonlocal_instantiation=cfg.NONLOCAL.INSTANTIATION,
    )


def _check_per_stage_lists(cfg: CfgNode, num_pathways: int) -> None:
    """[stage][pathway] lists: 4 stages (res2..res5); one entry per pathway, or for NONLOCAL.GROUP
    and POOL also a single entry serving every pathway."""
    for key in PER_PATHWAY_KEYS:
        node, leaf = key.split(".")
        per_stage(cfg[node][leaf], key, num_pathways)
    for key in SHARED_PER_STAGE_KEYS:
        node, leaf = key.split(".")
        value = cfg[node][leaf]
        per_stage(value, key)
        for stage, entries in enumerate(value):
            require(len(entries) == 1 or len(entries) >= num_pathways,
                    f"{key} has {len(entries)} entries for res{stage + 2}; give 1 (for every pathway) "
                    f"or one per pathway ({num_pathways})")


def _slowfast_fusion(cfg: CfgNode) -> SlowFastFusion:
    """Pathway ratios and lateral connection from the SLOWFAST keys."""
    slowfast, width = cfg.SLOWFAST, cfg.RESNET.WIDTH_PER_GROUP
    at_least(slowfast.ALPHA, 1, "SLOWFAST.ALPHA")
    at_least(slowfast.BETA_INV, 1, "SLOWFAST.BETA_INV")
    # Every fast-pathway width is the slow one's / BETA_INV: exact (and the grouped 3x3 convs'
    # widths stay multiples of RESNET.NUM_GROUPS) only when the width divides.
    require(width % slowfast.BETA_INV == 0,
            f"RESNET.WIDTH_PER_GROUP {width} must be a multiple of SLOWFAST.BETA_INV {slowfast.BETA_INV}")
    at_least(slowfast.FUSION_CONV_CHANNEL_RATIO, 1, "SLOWFAST.FUSION_CONV_CHANNEL_RATIO")
    # An even kernel's padding would give the lateral one frame more than the slow pathway has.
    require(slowfast.FUSION_KERNEL_SZ >= 1 and slowfast.FUSION_KERNEL_SZ % 2 == 1,
            f"SLOWFAST.FUSION_KERNEL_SZ must be a positive odd number (its padding keeps T / SLOWFAST.ALPHA "
            f"frames), got {slowfast.FUSION_KERNEL_SZ}")
    return SlowFastFusion(
        alpha=slowfast.ALPHA,
        beta_inv=slowfast.BETA_INV,
        conv_channel_ratio=slowfast.FUSION_CONV_CHANNEL_RATIO,
        kernel_size=slowfast.FUSION_KERNEL_SZ,
    )


def _to_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_to_tuple(v) for v in value)
    return value
