"""SGD with BN parameters in their own weight-decay group."""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase


def build_optimizer(
    model: nn.Module, lr: float, momentum: float, dampening: float, nesterov: bool,
    weight_decay: float, bn_weight_decay: float,
) -> torch.optim.SGD:
    """Two parameter groups, "bn" then "non_bn", whatever norm layers the model uses.

    The groups are fixed at construction, so the optimizer state survives multigrid stage
    changes (the reference loses it when sub-BN turns into BN, its issue #478).
    """
    bn_params, other_params = [], []
    for module in model.modules():
        is_norm = isinstance(module, _NormBase)
        for param in module.parameters(recurse=False):
            if param.requires_grad:
                (bn_params if is_norm else other_params).append(param)
    groups = [
        {"params": bn_params, "weight_decay": bn_weight_decay, "name": "bn"},
        {"params": other_params, "weight_decay": weight_decay, "name": "non_bn"},
    ]
    return torch.optim.SGD(
        groups, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
    )


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write the same learning rate to every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr
