"""Non-local block against the formula of Wang et al. (2018), and its place in a ResStage."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from slowfast.models.init import init_weights
from slowfast.models.nonlocal_block import Nonlocal
from slowfast.models.resnet import ResStage, StagePathway


def _randomised(block: nn.Module) -> nn.Module:
    """Random weights everywhere and non-trivial BN statistics, in eval mode."""
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.5)
        for module in block.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.running_mean.copy_(torch.randn_like(module.running_mean))
                module.running_var.copy_(torch.rand_like(module.running_var) + 0.5)
    return block.eval()


def _conv1x1(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1x1 conv written out: ``W x + b`` over channels, [N, C_out, T*H*W]."""
    weight = conv.weight[:, :, 0, 0, 0]
    return torch.einsum("oc,ncp->nop", weight, x.flatten(2)) + conv.bias[None, :, None]


def _expected(block: Nonlocal, x: torch.Tensor, instantiation: str) -> torch.Tensor:
    pooled = F.max_pool3d(x, kernel_size=(1, 2, 2), stride=(1, 2, 2))
    theta = _conv1x1(block.conv_theta, x)
    phi = _conv1x1(block.conv_phi, pooled)
    g = _conv1x1(block.conv_g, pooled)
    affinity = torch.einsum("ncq,nck->nqk", theta, phi)  # [N, queries, keys]
    if instantiation == "softmax":
        affinity = torch.softmax(affinity / theta.shape[1] ** 0.5, dim=2)
    else:
        affinity = affinity / phi.shape[2]
    y = torch.einsum("nqk,nck->ncq", affinity, g).reshape(x.shape[0], theta.shape[1], *x.shape[2:])
    z = torch.einsum("oc,ncthw->nothw", block.conv_out.weight[:, :, 0, 0, 0], y)
    z = z + block.conv_out.bias[None, :, None, None, None]
    bn = block.bn
    z = (z - bn.running_mean[None, :, None, None, None]) / torch.sqrt(bn.running_var + bn.eps)[
        None, :, None, None, None
    ]
    z = z * bn.weight[None, :, None, None, None] + bn.bias[None, :, None, None, None]
    return x + z


@pytest.mark.parametrize("instantiation", ["softmax", "dot_product"])
def test_matches_formula(instantiation):
    block = _randomised(Nonlocal(6, 3, (1, 2, 2), instantiation, nn.BatchNorm3d))
    x = torch.randn(2, 6, 3, 4, 6)
    with torch.no_grad():
        expected = _expected(block, x, instantiation)
        torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-4)


def test_names_and_shapes_follow_pyslowfast():
    block = Nonlocal(8, 4, (1, 2, 2), "softmax", nn.BatchNorm3d)
    shapes = {name: tuple(t.shape) for name, t in block.state_dict().items()}
    assert shapes["conv_theta.weight"] == (4, 8, 1, 1, 1)
    assert shapes["conv_out.weight"] == (8, 4, 1, 1, 1)
    assert shapes["conv_g.bias"] == (4,)
    assert shapes["bn.running_var"] == (8,)
    modules = [n.split(".")[0] for n in shapes]
    convs = ("conv_theta", "conv_phi", "conv_g", "conv_out")
    assert modules == [m for m in convs for _ in ("weight", "bias")] + ["bn"] * 5


def test_without_pool_keys_are_all_positions():
    block = _randomised(Nonlocal(4, 2, (1, 1, 1), "dot_product", nn.BatchNorm3d))
    assert block.pool is None
    x = torch.randn(1, 4, 2, 3, 3)
    theta, phi, g = (_conv1x1(c, x) for c in (block.conv_theta, block.conv_phi, block.conv_g))
    y = torch.einsum("ncq,nck,ndk->ndq", theta, phi, g) / phi.shape[2]
    with torch.no_grad():
        z = block.bn(block.conv_out(y.reshape(1, 2, 2, 3, 3)))
        torch.testing.assert_close(block(x), x + z, rtol=1e-4, atol=1e-5)


def test_zero_init_final_bn_makes_identity():
    block = Nonlocal(6, 3, (1, 2, 2), "softmax", nn.BatchNorm3d)
    init_weights(block, fc_init_std=0.01, zero_init_final_bn=True)
    x = torch.randn(2, 6, 2, 4, 4)
    assert torch.equal(block.bn.weight, torch.zeros(6))
    torch.testing.assert_close(block(x), x)


def test_group_splits_time_into_independent_chunks():
    spec = StagePathway(
        dim_in=4, dim_inner=2, dim_out=8, temporal_kernels=(3, 1),
        nonlocal_after=(1,), nonlocal_group=2,
    )
    stage = _randomised(ResStage([spec], nonlocal_instantiation="softmax"))
    x = torch.randn(2, 4, 4, 4, 4)
    with torch.no_grad():
        (out,) = stage([x])
        features = stage.pathway0_res1(stage.pathway0_res0(x))
        chunks = [stage.pathway0_nonlocal1(features[:, :, t : t + 2]) for t in (0, 2)]
        torch.testing.assert_close(out, torch.cat(chunks, dim=2))
        # Without grouping every frame attends to all four frames, which differs.
        assert not torch.allclose(out, stage.pathway0_nonlocal1(features), atol=1e-4)


def test_nonlocal_position_outside_stage_is_rejected():
    spec = StagePathway(
        dim_in=4, dim_inner=2, dim_out=8, temporal_kernels=(1, 1), nonlocal_after=(2,)
    )
    with pytest.raises(ValueError, match=r"Non-local positions \[2\].*NONLOCAL.LOCATION"):
        ResStage([spec])
