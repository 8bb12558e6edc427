"""Parameter count and GFLOPs per clip (multiply-adds, via torch.utils.flop_counter)."""
import torch
import torch.nn as nn

from slowfast.models import build_model
from slowfast.models.complexity import count_parameters, gflops_per_clip, model_info_line


class _OneConv(nn.Module):
    """A model taking a pathway list, with a known cost: C_out*C_in*k^3 multiply-adds per output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 4, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm3d(4)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return self.bn(self.conv(xs[0]))


def test_conv_cost_is_counted_in_multiply_adds():
    model = _OneConv()
    expected = 4 * 3 * 27 * (2 * 8 * 8) / 1e9
    assert abs(gflops_per_clip(model, [(3, 2, 8, 8)]) - expected) < 1e-12
    assert count_parameters(model) == 4 * 3 * 27 + 2 * 4


def test_gflops_grow_with_frames_and_crop(make_tiny_cfg):
    model = build_model(make_tiny_cfg("c2d", 18))
    small = gflops_per_clip(model, [(3, 4, 32, 32)])
    longer = gflops_per_clip(model, [(3, 8, 32, 32)])
    larger = gflops_per_clip(model, [(3, 4, 64, 64)])
    assert small > 0
    # C2D has no temporal kernels: the cost is linear in frames (the head is negligible).
    assert abs(longer / small - 2) < 0.01
    assert 3.9 < larger / small < 4.1


def test_slowfast_counts_both_pathways(make_tiny_cfg):
    model = build_model(make_tiny_cfg("slowfast", 18))
    both = gflops_per_clip(model, [(3, 2, 32, 32), (3, 8, 32, 32)])
    more_fast = gflops_per_clip(model, [(3, 4, 32, 32), (3, 16, 32, 32)])
    assert 0 < both < more_fast


def test_modes_are_restored(make_tiny_cfg):
    model = build_model(make_tiny_cfg("i3d", 18))
    model.train()
    model.s2.eval()  # e.g. a frozen stage
    modes = {name: m.training for name, m in model.named_modules()}
    running_mean = model.s1.pathway0_stem.bn.running_mean.clone()
    gflops_per_clip(model, [(3, 4, 32, 32)])
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert torch.equal(model.s1.pathway0_stem.bn.running_mean, running_mean)  # ran in eval


def test_info_line(make_tiny_cfg):
    model = build_model(make_tiny_cfg("slow", 18))
    line = model_info_line(model, [(3, 4, 32, 32)])
    assert line.startswith(f"Model ResNet: {count_parameters(model):,} parameters, ")
    assert f"{gflops_per_clip(model, [(3, 4, 32, 32)]):.2f} GFLOPs" in line
    assert line.endswith("per clip of [3x4x32x32]")
