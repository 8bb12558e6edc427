"""ResNet and SlowFast: every arch x depth trains at several shapes; kernels as in PySlowFast."""
import pytest
import torch
import torch.nn as nn

from slowfast.models import build_model
from slowfast.models.build import architectures
from slowfast.models.head import ResNetBasicHead
from slowfast.models.norm import GroupedBatchNorm3d
from slowfast.models.resnet import BasicTransform, BottleneckTransform
from slowfast.models.video_model import block_temporal_kernels

ALPHA = 4  # SlowFast frame-rate ratio of the tiny configs


def _inputs(arch: str, batch: int, frames: int, size: int) -> list[torch.Tensor]:
    fast = torch.randn(batch, 3, frames, size, size)
    if arch == "slowfast":
        return [fast[:, :, ::ALPHA].contiguous(), fast]
    return [fast]


def _temporal_kernels(model: nn.Module, stage: int, pathway: int = 0) -> list[int]:
    """Temporal kernel of each block's first conv in stage res{stage}."""
    stage_module = getattr(model, f"s{stage}")
    kernels = []
    for i in range(len(stage_module.pathways[pathway].temporal_kernels)):
        kernels.append(getattr(stage_module, f"pathway{pathway}_res{i}").branch2.a.kernel_size[0])
    return kernels


@pytest.mark.parametrize("depth", [18, 50, 101])
@pytest.mark.parametrize("arch", sorted(architectures()))  # every registered architecture
def test_forward_backward_at_several_shapes(make_tiny_cfg, arch, depth):
    cfg = make_tiny_cfg(arch, depth, width=4 if depth == 101 else 8)
    model = build_model(cfg)
    transform = BasicTransform if depth == 18 else BottleneckTransform
    first_blocks = [m for n, m in model.named_modules() if n.endswith("_res0")]
    assert all(isinstance(m.branch2, transform) for m in first_blocks)
    for frames, size in [(4, 32), (8, 48)]:
        model.zero_grad()
        logits = model(_inputs(arch, 2, frames, size))
        assert logits.shape == (2, 5) and torch.isfinite(logits).all()
        logits.square().sum().backward()
        assert all(p.grad is not None for p in model.parameters())
        assert model.s1.pathway0_stem.conv.weight.grad.abs().sum() > 0
        assert model.head.projection.weight.grad.abs().sum() > 0


def test_eval_returns_raw_logits_of_global_average_pool():
    head = ResNetBasicHead([4, 2], num_classes=3, dropout_rate=0.5).eval()
    torch.manual_seed(0)
    xs = [torch.randn(2, 4, 2, 3, 3), torch.randn(2, 2, 8, 3, 3)]
    expected = head.projection(torch.cat([x.mean(dim=(2, 3, 4)) for x in xs], dim=1))
    torch.testing.assert_close(head(xs), expected)
    assert not torch.allclose(head(xs).softmax(1), head(xs))


def test_head_pools_adaptively_whatever_the_input_shape(make_tiny_cfg):
    model = build_model(make_tiny_cfg("i3d", 18)).eval()
    with torch.no_grad():
        for frames, size in [(2, 32), (6, 40), (8, 64)]:
            assert model(_inputs("i3d", 1, frames, size)).shape == (1, 5)


def test_i3d_r50_temporal_kernels_follow_pyslowfast(kinetics_cfg):
    cfg = kinetics_cfg("I3D_8x8_R50")
    cfg.RESNET.WIDTH_PER_GROUP = 4
    model = build_model(cfg)
    assert model.s1.pathway0_stem.conv.kernel_size == (5, 7, 7)
    assert _temporal_kernels(model, 2) == [3, 3, 3]
    assert _temporal_kernels(model, 3) == [3, 1, 3, 1]
    assert _temporal_kernels(model, 4) == [3, 1, 3, 1, 3, 1]
    assert _temporal_kernels(model, 5) == [1, 3, 1]


def test_i3d_r101_alternates_over_all_res4_blocks(kinetics_cfg):
    cfg = kinetics_cfg("I3D_8x8_R101")
    cfg.RESNET.WIDTH_PER_GROUP = 4
    model = build_model(cfg)
    assert _temporal_kernels(model, 4) == [3, 1] * 11 + [3]


def test_slowfast_temporal_kernels_per_pathway(kinetics_cfg):
    cfg = kinetics_cfg("SLOWFAST_8x8_R50")
    cfg.RESNET.WIDTH_PER_GROUP = 8
    model = build_model(cfg)
    assert model.s1.pathway0_stem.conv.kernel_size[0] == 1
    assert model.s1.pathway1_stem.conv.kernel_size[0] == 5
    slow = [_temporal_kernels(model, s, 0) for s in (2, 3, 4, 5)]
    fast = [_temporal_kernels(model, s, 1) for s in (2, 3, 4, 5)]
    assert slow == [[1] * 3, [1] * 4, [3] * 6, [3] * 3]
    assert fast == [[3] * 3, [3] * 4, [3] * 6, [3] * 3]
    lateral = model.s1_fuse.conv_f2s
    assert lateral.kernel_size == (7, 1, 1) and lateral.stride == (4, 1, 1)


@pytest.mark.parametrize("arch, pattern", [("c2d", [1, 1, 1, 1]), ("slow", [1, 1, 3, 3])])
def test_single_pathway_patterns(make_tiny_cfg, arch, pattern):
    model = build_model(make_tiny_cfg(arch, 50))
    assert [set(_temporal_kernels(model, s)) for s in (2, 3, 4, 5)] == [{k} for k in pattern]


def test_block_temporal_kernels_repeat_then_pad_with_ones():
    assert block_temporal_kernels((3, 1), 6, 6) == (3, 1, 3, 1, 3, 1)
    assert block_temporal_kernels((3, 1), 23, 6) == (3, 1, 3, 1, 3, 1) + (1,) * 17
    assert block_temporal_kernels((1, 3), 3, 3) == (1, 3, 1)
    assert block_temporal_kernels((3,), 2, 4) == (3, 3)  # more temporal blocks than blocks: all


@pytest.mark.parametrize("arch, frames_after_res2", [("i3d", 4), ("c2d", 4), ("slow", 8)])
def test_pool_after_res2_halves_time_for_c2d_and_i3d(make_tiny_cfg, arch, frames_after_res2):
    model = build_model(make_tiny_cfg(arch, 18)).eval()
    seen = {}
    model.s3.register_forward_pre_hook(lambda module, args: seen.update(shape=args[0][0].shape))
    with torch.no_grad():
        model(_inputs(arch, 1, 8, 32))
    assert seen["shape"][2] == frames_after_res2


def test_slowfast_widths_include_the_lateral_channels(make_tiny_cfg):
    model = build_model(make_tiny_cfg("slowfast", 50, width=8))  # BETA_INV 4, ratio 2
    assert model.s1_fuse.conv_f2s.weight.shape == (4, 2, 7, 1, 1)
    assert model.s2.pathway0_res0.branch1.weight.shape == (32, 8 + 4, 1, 1, 1)
    assert model.s3.pathway0_res0.branch1.weight.shape == (64, 32 + 16, 1, 1, 1)
    assert model.head.projection.weight.shape == (5, 256 + 64)


def test_slowfast_rejects_mismatched_frame_counts(make_tiny_cfg):
    model = build_model(make_tiny_cfg("slowfast", 18))
    slow, fast = _inputs("slowfast", 2, 8, 32)
    with pytest.raises(ValueError, match="SLOWFAST.ALPHA times"):
        model([slow[:, :, :1], fast])


def test_inputs_must_be_a_list_of_pathways(make_tiny_cfg):
    model = build_model(make_tiny_cfg("i3d", 18))
    with pytest.raises(ValueError, match="list of 1 pathway tensors"):
        model(torch.randn(1, 3, 4, 32, 32))


def test_multigrid_bn_groups_clips_in_the_model(make_tiny_cfg):
    cfg = make_tiny_cfg("slow", 18)
    cfg.MULTIGRID.SHORT_CYCLE = True
    cfg.MULTIGRID.BN_BASE_SIZE = 2
    model = build_model(cfg)
    x = _inputs("slow", 4, 4, 32)[0]
    out = model([x])
    # Clip i is in group i % 2: clips 0 and 2 share their statistics, as do 1 and 3.
    consecutive_groups = model([x[[0, 2, 1, 3]]])[[0, 2, 1, 3]]
    groups = torch.stack([model([x[[0, 2]]]), model([x[[1, 3]]])], dim=1).flatten(0, 1)
    torch.testing.assert_close(out, groups, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(out, consecutive_groups, rtol=1e-4, atol=1e-5)
    assert {m.group_size for m in model.modules() if isinstance(m, GroupedBatchNorm3d)} == {2}
