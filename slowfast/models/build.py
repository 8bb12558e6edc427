"""``build_model``: the config's model spec (``spec.py``) and the schedule spec's BN group policy, then
the registered factory; with ``spec.py`` the only places in ``slowfast.models`` that read cfg."""
from functools import partial

import torch.nn as nn
from fvcore.common.config import CfgNode

from slowfast.models.init import init_weights
from slowfast.models.norm import GroupedBatchNorm3d, NormFactory
from slowfast.models.registry import MODEL_ARCHS, MODEL_REGISTRY, architectures, register_model
from slowfast.models.spec import TRANS_FUNCS, ModelSpec, model_spec
from slowfast.models.video_model import RESNET_ARCHS, SLOWFAST_ARCHS, ResNet, SlowFast
from slowfast.multigrid.schedule import schedule_spec
from slowfast.utils.bn_groups import BNGroups

__all__ = ["MODEL_ARCHS", "MODEL_REGISTRY", "TRANS_FUNCS", "architectures", "build_model",
           "build_model_from_spec", "norm_factory", "register_model"]


def build_model(cfg: CfgNode) -> nn.Module:
    """Build and initialise the model named by ``MODEL.MODEL_NAME``, on CPU, its BN layers following
    the schedule's group policy (the trainer builds from its run spec's sections instead)."""
    return build_model_from_spec(model_spec(cfg), schedule_spec(cfg).bn_groups)


def build_model_from_spec(spec: ModelSpec, groups: BNGroups = BNGroups()) -> nn.Module:
    """Build and initialise the model of ``spec`` whose BN layers follow ``groups``, on CPU."""
    model = MODEL_REGISTRY[spec.model_name](spec, norm_factory(groups))
    init_weights(
        model,
        fc_init_std=spec.fc_init_std,
        zero_init_final_bn=spec.zero_init_final_bn,
        zero_init_final_conv=spec.zero_init_final_conv,
    )
    return model


def norm_factory(groups: BNGroups) -> NormFactory:
    """The norm layer of every block: GroupedBatchNorm3d following ``groups``."""
    return partial(GroupedBatchNorm3d, eps=1e-5, momentum=0.1, group_size=groups.base_size,
                   reference_batch=groups.reference_batch)


@register_model("ResNet", archs=RESNET_ARCHS, num_pathways=1)
def _build_resnet(spec: ModelSpec, norm: NormFactory) -> ResNet:
    return ResNet(
        num_classes=spec.num_classes,
        arch=spec.arch,
        options=spec.options,
        input_channels=spec.input_channels[0],
        dropout_rate=spec.dropout_rate,
        norm=norm,
    )


@register_model("SlowFast", archs=SLOWFAST_ARCHS, num_pathways=2)
def _build_slowfast(spec: ModelSpec, norm: NormFactory) -> SlowFast:
    return SlowFast(
        num_classes=spec.num_classes,
        arch=spec.arch,
        options=spec.options,
        fusion=spec.fusion,
        input_channels=spec.input_channels,
        dropout_rate=spec.dropout_rate,
        norm=norm,
    )
