"""Model registry and ``build_model``: the only place in ``slowfast.models`` that reads cfg."""
from collections.abc import Callable
from functools import partial
from typing import Any

import torch.nn as nn
from fvcore.common.config import CfgNode

from slowfast.models.init import init_weights
from slowfast.models.nonlocal_block import NONLOCAL_INSTANTIATIONS
from slowfast.models.norm import GroupedBatchNorm3d, NormFactory
from slowfast.models.video_model import (
    RESNET_ARCHS,
    SLOWFAST_ARCHS,
    ResNet,
    ResNetOptions,
    SlowFast,
    SlowFastFusion,
)
from slowfast.utils.bn_groups import BNGroups, bn_groups
from slowfast.utils.checks import at_least, per_stage

ModelFactory = Callable[[CfgNode], nn.Module]

# MODEL.MODEL_NAME -> function building that model (on CPU, not initialised) from the config.
MODEL_REGISTRY: dict[str, ModelFactory] = {}
# MODEL.MODEL_NAME -> (the MODEL.ARCH values it builds, its number of pathways).
MODEL_ARCHS: dict[str, tuple[tuple[str, ...], int]] = {}

# RESNET.TRANS_FUNC -> residual transform, whatever RESNET.DEPTH (as in PySlowFast).
# "basic_transform" builds PySlowFast's basic-block network (R50 stage widths), so its checkpoints
# load; "plain_basic_transform" (ours) the same blocks at plain ResNet-18 widths, far cheaper.
TRANS_FUNCS = {
    "bottleneck_transform": "bottleneck",
    "basic_transform": "basic",
    "plain_basic_transform": "plain_basic",
}


def register_model(
    name: str, archs: tuple[str, ...] = (), num_pathways: int = 1
) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator adding a model factory under ``MODEL.MODEL_NAME`` = ``name``, building the
    ``MODEL.ARCH`` values ``archs`` with ``num_pathways`` pathways."""

    def add(factory: ModelFactory) -> ModelFactory:
        if name in MODEL_REGISTRY:
            raise ValueError(f"A model named {name!r} is already registered")
        MODEL_REGISTRY[name] = factory
        MODEL_ARCHS[name] = (tuple(archs), num_pathways)
        return factory

    return add


def architectures() -> dict[str, tuple[str, int]]:
    """Every registered ``MODEL.ARCH`` -> (its ``MODEL.MODEL_NAME``, number of pathways)."""
    return {
        arch: (name, num_pathways)
        for name, (archs, num_pathways) in MODEL_ARCHS.items()
        for arch in archs
    }


def build_model(cfg: CfgNode) -> nn.Module:
    """Build and initialise the model named by ``MODEL.MODEL_NAME``, on CPU."""
    name = cfg.MODEL.MODEL_NAME
    if name not in MODEL_REGISTRY:
        raise ValueError(
            f"MODEL.MODEL_NAME {name!r} is not a registered model; "
            f"use one of {sorted(MODEL_REGISTRY)}"
        )
    model = MODEL_REGISTRY[name](cfg)
    init_weights(
        model,
        fc_init_std=cfg.MODEL.FC_INIT_STD,
        zero_init_final_bn=cfg.RESNET.ZERO_INIT_FINAL_BN,
        zero_init_final_conv=cfg.RESNET.ZERO_INIT_FINAL_CONV,
    )
    return model


def config_bn_groups(cfg: CfgNode) -> BNGroups:
    """The run's BN group policy (``utils.bn_groups.bn_groups``) from the MULTIGRID keys and
    TRAIN.BATCH_SIZE, the same one ``ScheduleSpec.bn_groups`` gives the sampler and reports.
    MULTIGRID.BN_BASE_SIZE and BN_GROUPING are checked by the schedule spec."""
    multigrid = cfg.MULTIGRID
    return bn_groups(multigrid.LONG_CYCLE or multigrid.SHORT_CYCLE, multigrid.BN_BASE_SIZE,
                     multigrid.BN_GROUPING, cfg.TRAIN.BATCH_SIZE)


def bn_group_size(cfg: CfgNode) -> int | None:
    """Clips per BN statistic at the full shape: ``MULTIGRID.BN_BASE_SIZE`` under multigrid, else
    None (the whole batch); ``config_bn_groups(cfg).base_size``."""
    return config_bn_groups(cfg).base_size


def norm_factory(cfg: CfgNode) -> NormFactory:
    """The norm layer of every block: GroupedBatchNorm3d following the run's BN group policy."""
    if cfg.BN.NORM_TYPE != "batchnorm":
        raise ValueError(
            f"BN.NORM_TYPE {cfg.BN.NORM_TYPE!r} is not supported; use 'batchnorm' (multigrid "
            "grouping is set by MULTIGRID.BN_BASE_SIZE)"
        )
    groups = config_bn_groups(cfg)
    return partial(GroupedBatchNorm3d, eps=1e-5, momentum=0.1, group_size=groups.base_size,
                   reference_batch=groups.reference_batch)


def resnet_options(cfg: CfgNode) -> ResNetOptions:
    """Backbone options from the RESNET and NONLOCAL keys."""
    depth = cfg.RESNET.DEPTH
    if cfg.RESNET.TRANS_FUNC not in TRANS_FUNCS:
        raise ValueError(
            f"RESNET.TRANS_FUNC {cfg.RESNET.TRANS_FUNC!r} is not one of {list(TRANS_FUNCS)}"
        )
    transform = TRANS_FUNCS[cfg.RESNET.TRANS_FUNC]
    if transform != "bottleneck" and cfg.RESNET.NUM_GROUPS != 1:
        raise ValueError(
            f"RESNET.NUM_GROUPS {cfg.RESNET.NUM_GROUPS} needs bottleneck blocks; "
            f"{cfg.RESNET.TRANS_FUNC} blocks take 1"
        )
    if cfg.NONLOCAL.INSTANTIATION not in NONLOCAL_INSTANTIATIONS:
        raise ValueError(
            f"NONLOCAL.INSTANTIATION {cfg.NONLOCAL.INSTANTIATION!r} is not one of "
            f"{NONLOCAL_INSTANTIATIONS}"
        )
    return ResNetOptions(
        depth=depth,
        width_per_group=cfg.RESNET.WIDTH_PER_GROUP,
        num_groups=cfg.RESNET.NUM_GROUPS,
        transform=transform,
        stride_1x1=cfg.RESNET.STRIDE_1X1,
        inplace_relu=cfg.RESNET.INPLACE_RELU,
        num_block_temp_kernel=_per_stage(
            cfg.RESNET.NUM_BLOCK_TEMP_KERNEL, "RESNET.NUM_BLOCK_TEMP_KERNEL"
        ),
        spatial_strides=_per_stage(cfg.RESNET.SPATIAL_STRIDES, "RESNET.SPATIAL_STRIDES"),
        spatial_dilations=_per_stage(cfg.RESNET.SPATIAL_DILATIONS, "RESNET.SPATIAL_DILATIONS"),
        nonlocal_locations=_per_stage(cfg.NONLOCAL.LOCATION, "NONLOCAL.LOCATION"),
        nonlocal_groups=_per_stage(cfg.NONLOCAL.GROUP, "NONLOCAL.GROUP"),
        nonlocal_pools=_per_stage(cfg.NONLOCAL.POOL, "NONLOCAL.POOL"),
        nonlocal_instantiation=cfg.NONLOCAL.INSTANTIATION,
    )


def slowfast_fusion(cfg: CfgNode) -> SlowFastFusion:
    """Pathway ratios and lateral connection from the SLOWFAST keys."""
    return SlowFastFusion(
        alpha=cfg.SLOWFAST.ALPHA,
        beta_inv=cfg.SLOWFAST.BETA_INV,
        conv_channel_ratio=cfg.SLOWFAST.FUSION_CONV_CHANNEL_RATIO,
        kernel_size=cfg.SLOWFAST.FUSION_KERNEL_SZ,
    )


def _per_stage(value: Any, key: str) -> tuple:
    """A [stage][pathway] config list as nested tuples; it must have 4 stages (res2..res5)."""
    per_stage(value, key)
    return _to_tuple(value)


def _to_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_to_tuple(v) for v in value)
    return value


def _input_channels(cfg: CfgNode, num_pathways: int) -> list[int]:
    """``DATA.INPUT_CHANNEL_NUM`` for the model's pathways, one entry each as in PySlowFast
    (extra entries are ignored)."""
    channels = list(cfg.DATA.INPUT_CHANNEL_NUM)
    if len(channels) < num_pathways:
        raise ValueError(
            f"DATA.INPUT_CHANNEL_NUM {cfg.DATA.INPUT_CHANNEL_NUM} needs one entry per pathway "
            f"({num_pathways})"
        )
    return channels[:num_pathways]


def _check_num_classes(cfg: CfgNode) -> int:
    at_least(cfg.MODEL.NUM_CLASSES, 1, "MODEL.NUM_CLASSES")
    return int(cfg.MODEL.NUM_CLASSES)


@register_model("ResNet", archs=RESNET_ARCHS, num_pathways=1)
def _build_resnet(cfg: CfgNode) -> ResNet:
    return ResNet(
        num_classes=_check_num_classes(cfg),
        arch=cfg.MODEL.ARCH,
        options=resnet_options(cfg),
        input_channels=_input_channels(cfg, 1)[0],
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
        norm=norm_factory(cfg),
    )


@register_model("SlowFast", archs=SLOWFAST_ARCHS, num_pathways=2)
def _build_slowfast(cfg: CfgNode) -> SlowFast:
    return SlowFast(
        num_classes=_check_num_classes(cfg),
        arch=cfg.MODEL.ARCH,
        options=resnet_options(cfg),
        fusion=slowfast_fusion(cfg),
        input_channels=_input_channels(cfg, 2),
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
        norm=norm_factory(cfg),
    )
