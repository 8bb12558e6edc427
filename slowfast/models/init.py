"""Weight initialisation of the video models, as PySlowFast's ``init_weights``."""
import torch.nn as nn

from slowfast.models.nonlocal_block import Nonlocal
from slowfast.models.resnet import BasicTransform, BottleneckTransform

# Blocks whose output is added to an identity path; their ``final_bn`` may start at zero gamma.
_RESIDUAL_BRANCHES = (BottleneckTransform, BasicTransform, Nonlocal)
_TRANSFORMS = (BottleneckTransform, BasicTransform)


def init_weights(
    model: nn.Module,
    fc_init_std: float,
    zero_init_final_bn: bool,
    zero_init_final_conv: bool = False,
) -> None:
    """MSRA-fill convs (fan_out), BN to identity, Linear ~ N(0, fc_init_std), biases 0.

    With ``zero_init_final_bn`` the last BN of every residual transform and non-local block gets
    gamma 0, so each such block starts as an identity mapping (Goyal et al., 2017); with
    ``zero_init_final_conv`` the last conv of every residual transform starts at 0.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=fc_init_std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    # Second pass: model.modules() visits a block before its children, so the generic fill
    # above would undo a zero-init done in the same loop.
    for module in model.modules():
        if zero_init_final_bn and isinstance(module, _RESIDUAL_BRANCHES):
            gamma = getattr(module.final_bn, "weight", None)
            if gamma is not None:
                nn.init.zeros_(gamma)
        if zero_init_final_conv and isinstance(module, _TRANSFORMS):
            nn.init.zeros_(module.final_conv.weight)
