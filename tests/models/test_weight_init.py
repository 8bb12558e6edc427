"""init_weights: MSRA fill, identity BN, zero gamma on final BNs, small normal classifier."""
import math

import torch
import torch.nn as nn

from slowfast.models import build_model
from slowfast.models.nonlocal_block import Nonlocal
from slowfast.models.resnet import BasicTransform, BottleneckTransform


def _final_bn_names(model: nn.Module) -> set[str]:
    names = set()
    for name, module in model.named_modules():
        if isinstance(module, BottleneckTransform):
            names.add(f"{name}.c_bn")
        elif isinstance(module, BasicTransform):
            names.add(f"{name}.b_bn")
        elif isinstance(module, Nonlocal):
            names.add(f"{name}.bn")
    return names


def _nl_cfg(make_tiny_cfg, depth: int):
    cfg = make_tiny_cfg("i3d", depth, width=16)
    cfg.NONLOCAL.LOCATION = [[[]], [[1]], [[1]], [[]]]
    cfg.RESNET.ZERO_INIT_FINAL_BN = True
    cfg.MODEL.FC_INIT_STD = 0.01
    return cfg


def test_zero_init_final_bn_gamma_only_on_final_bns(make_tiny_cfg):
    for depth, final_name in [(50, "branch2.c_bn"), (18, "branch2.b_bn")]:
        model = build_model(_nl_cfg(make_tiny_cfg, depth))
        final = _final_bn_names(model)
        assert any(n.endswith(final_name) for n in final)
        assert any(n.endswith("nonlocal1.bn") for n in final)
        for name, module in model.named_modules():
            if isinstance(module, nn.BatchNorm3d):
                assert torch.all(module.weight == (0.0 if name in final else 1.0)), name
                assert torch.all(module.bias == 0.0), name


def test_zero_init_blocks_start_as_identity(make_tiny_cfg):
    model = build_model(_nl_cfg(make_tiny_cfg, 50))
    block = model.s3.pathway0_res1  # no projection shortcut
    x = torch.randn(2, block.branch2.a.in_channels, 2, 4, 4)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_conv_and_linear_fill(make_tiny_cfg):
    cfg = _nl_cfg(make_tiny_cfg, 50)
    cfg.MODEL.NUM_CLASSES = 400
    model = build_model(cfg)
    conv = model.s5.pathway0_res0.branch2.a  # 256 -> 128 channels: enough for a std estimate
    fan_out = conv.out_channels * math.prod(conv.kernel_size)
    assert abs(conv.weight.std().item() / math.sqrt(2.0 / fan_out) - 1) < 0.1
    assert torch.all(model.s3.pathway0_nonlocal1.conv_theta.bias == 0)
    projection = model.head.projection
    assert abs(projection.weight.std().item() / 0.01 - 1) < 0.1
    assert torch.all(projection.bias == 0)


def test_zero_init_final_conv(make_tiny_cfg):
    cfg = make_tiny_cfg("slow", 50)
    cfg.RESNET.ZERO_INIT_FINAL_CONV = True
    model = build_model(cfg)
    assert torch.all(model.s2.pathway0_res0.branch2.c.weight == 0)
    assert model.s2.pathway0_res0.branch2.b.weight.abs().sum() > 0
