"""RESNET.DEPTH 18 with basic_transform is PySlowFast's network: its checkpoints load strictly and
give the same logits; plain_basic_transform is our cheaper, plain-width ResNet-18.

The expected state dict is written out here from PySlowFast's rules (reference section 5: basic
blocks keep R50's stage widths WIDTH_PER_GROUP x 4 x 2^i, res2's first block projects), and the
logits come from a functional forward that reads nothing but that state dict.
"""
import pytest
import torch
import torch.nn.functional as F

from slowfast.models import build_model

WIDTH, BETA_INV, ALPHA, RATIO, FUSE_KERNEL, CLASSES = 8, 4, 4, 2, 7, 5
# Per pathway: stem temporal kernel, per-stage block temporal kernel (PySlowFast's
# _TEMPORAL_KERNEL_BASIS for slow / slowfast, every block keeping it).
KERNELS = {"slow": [(1, (1, 1, 3, 3))], "slowfast": [(1, (1, 1, 3, 3)), (5, (3, 3, 3, 3))]}
STRIDES = (1, 2, 2, 2)


def _bn(prefix: str, channels: int) -> list[tuple[str, tuple]]:
    return [(f"{prefix}.{name}", (channels,)) for name in ("weight", "bias", "running_mean", "running_var")] + [
        (f"{prefix}.num_batches_tracked", ())]


def pyslowfast_r18_entries(arch: str) -> list[tuple[str, tuple]]:
    """(name, shape) of every tensor of PySlowFast's R18 ``arch`` with basic_transform."""
    pathways = KERNELS[arch]
    widths = [WIDTH] if arch == "slow" else [WIDTH, WIDTH // BETA_INV]
    entries, dims = [], list(widths)
    for p, (stem_t, _) in enumerate(pathways):
        entries += [(f"s1.pathway{p}_stem.conv.weight", (widths[p], 3, stem_t, 7, 7))]
        entries += _bn(f"s1.pathway{p}_stem.bn", widths[p])

    def fuse(stage: int) -> None:
        fast = dims[1]
        entries.append((f"s{stage}_fuse.conv_f2s.weight", (fast * RATIO, fast, FUSE_KERNEL, 1, 1)))
        entries.extend(_bn(f"s{stage}_fuse.bn", fast * RATIO))
        dims[0] += fast * RATIO

    if arch == "slowfast":
        fuse(1)
    for stage in range(4):
        for p, (_, stage_kernels) in enumerate(pathways):
            dim_out = widths[p] * 4 * 2**stage  # R50's widths for basic blocks too
            t = stage_kernels[stage]
            for block in range(2):
                name = f"s{stage + 2}.pathway{p}_res{block}"
                dim_in = dims[p] if block == 0 else dim_out
                if block == 0:  # a shape change every first block, res2's included (64 -> 256)
                    entries += [(f"{name}.branch1.weight", (dim_out, dim_in, 1, 1, 1))]
                    entries += _bn(f"{name}.branch1_bn", dim_out)
                entries += [(f"{name}.branch2.a.weight", (dim_out, dim_in, t, 3, 3))]
                entries += _bn(f"{name}.branch2.a_bn", dim_out)
                entries += [(f"{name}.branch2.b.weight", (dim_out, dim_out, 1, 3, 3))]
                entries += _bn(f"{name}.branch2.b_bn", dim_out)
            dims[p] = dim_out
        if arch == "slowfast" and stage < 3:
            fuse(stage + 2)
    entries += [("head.projection.weight", (CLASSES, sum(dims))), ("head.projection.bias", (CLASSES,))]
    return entries


def random_state(entries: list[tuple[str, tuple]], seed: int = 0) -> dict[str, torch.Tensor]:
    """A "trained" checkpoint: random weights, BN statistics that are far from the init."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in entries:
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(11)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=generator) + 0.5
        elif name.endswith(("bn.weight", "_bn.weight")):
            state[name] = torch.rand(shape, generator=generator) + 0.5
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod())) if len(shape) > 1 else 1
            state[name] = torch.randn(shape, generator=generator) / fan_in**0.5
    return state


def reference_forward(state: dict[str, torch.Tensor], arch: str, xs: list[torch.Tensor]) -> torch.Tensor:
    """PySlowFast's eval-mode forward, computed from the state dict alone (kernels from its shapes)."""

    def conv_bn(x, conv, bn, stride=(1, 1, 1), relu=True):
        weight = state[f"{conv}.weight"]
        t, h = weight.shape[2], weight.shape[3]
        x = F.conv3d(x, weight, stride=stride, padding=(t // 2, h // 2, h // 2))
        x = F.batch_norm(x, state[f"{bn}.running_mean"], state[f"{bn}.running_var"], state[f"{bn}.weight"],
                         state[f"{bn}.bias"], training=False, eps=1e-5)
        return F.relu(x) if relu else x

    def fuse(xs, stage):
        name = f"s{stage}_fuse"
        weight = state[f"{name}.conv_f2s.weight"]
        y = F.conv3d(xs[1], weight, stride=(ALPHA, 1, 1), padding=(FUSE_KERNEL // 2, 0, 0))
        y = F.relu(F.batch_norm(y, state[f"{name}.bn.running_mean"], state[f"{name}.bn.running_var"],
                                state[f"{name}.bn.weight"], state[f"{name}.bn.bias"], training=False, eps=1e-5))
        return [torch.cat([xs[0], y], dim=1), xs[1]]

    xs = [conv_bn(x, f"s1.pathway{p}_stem.conv", f"s1.pathway{p}_stem.bn", stride=(1, 2, 2)) for p, x in enumerate(xs)]
    xs = [F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1)) for x in xs]
    if arch == "slowfast":
        xs = fuse(xs, 1)
    for stage in range(4):
        for p in range(len(xs)):
            for block in range(2):
                name = f"s{stage + 2}.pathway{p}_res{block}"
                stride = (1, STRIDES[stage], STRIDES[stage]) if block == 0 else (1, 1, 1)
                x = xs[p]
                shortcut = conv_bn(x, f"{name}.branch1", f"{name}.branch1_bn", stride, relu=False) \
                    if f"{name}.branch1.weight" in state else x
                y = conv_bn(x, f"{name}.branch2.a", f"{name}.branch2.a_bn", stride)
                y = conv_bn(y, f"{name}.branch2.b", f"{name}.branch2.b_bn", relu=False)
                xs[p] = F.relu(shortcut + y)
        if arch == "slowfast" and stage < 3:
            xs = fuse(xs, stage + 2)
    features = torch.cat([x.mean(dim=(2, 3, 4)) for x in xs], dim=1)
    return F.linear(features, state["head.projection.weight"], state["head.projection.bias"])


def r18_cfg(make_tiny_cfg, arch: str, trans_func: str):
    cfg = make_tiny_cfg(arch, 18, width=WIDTH, num_classes=CLASSES)
    cfg.RESNET.TRANS_FUNC = trans_func
    cfg.SLOWFAST.ALPHA, cfg.SLOWFAST.BETA_INV = ALPHA, BETA_INV
    cfg.SLOWFAST.FUSION_CONV_CHANNEL_RATIO, cfg.SLOWFAST.FUSION_KERNEL_SZ = RATIO, FUSE_KERNEL
    return cfg


@pytest.mark.parametrize("arch", ["slow", "slowfast"])
def test_pyslowfast_r18_checkpoint_loads_strictly_and_reproduces_its_logits(make_tiny_cfg, arch):
    model = build_model(r18_cfg(make_tiny_cfg, arch, "basic_transform")).eval()
    entries = pyslowfast_r18_entries(arch)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == entries
    state = random_state(entries)
    model.load_state_dict(state, strict=True)

    generator = torch.Generator().manual_seed(1)
    frames = 8
    xs = [torch.randn(2, 3, frames, 32, 32, generator=generator)]
    if arch == "slowfast":
        xs = [xs[0][:, :, ::ALPHA], xs[0]]
    with torch.no_grad():
        ours = model(xs)
        expected = reference_forward(state, arch, xs)
    assert ours.shape == (2, CLASSES)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ["slow", "slowfast"])
def test_plain_basic_transform_keeps_plain_resnet18_widths(make_tiny_cfg, arch):
    model = build_model(r18_cfg(make_tiny_cfg, arch, "plain_basic_transform"))
    assert model.s2.pathway0_res0.branch2.b.weight.shape[0] == WIDTH
    assert model.s5.pathway0_res1.branch2.b.weight.shape[0] == WIDTH * 8
    pyslowfast = build_model(r18_cfg(make_tiny_cfg, arch, "basic_transform"))
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in pyslowfast.parameters()) / 4


def test_depth_18_with_bottleneck_transform_builds_bottleneck_blocks_as_pyslowfast(make_tiny_cfg):
    model = build_model(r18_cfg(make_tiny_cfg, "slow", "bottleneck_transform"))
    block = model.s2.pathway0_res1.branch2
    assert block.c.weight.shape == (WIDTH * 4, WIDTH, 1, 1, 1)
    assert not hasattr(model.s2, "pathway0_res2")  # 2 blocks per stage


def test_synthetic_configs_use_the_plain_resnet18(repo_configs):
    for path in repo_configs:
        assert path.read_text().count("TRANS_FUNC: plain_basic_transform") == 1, path


@pytest.fixture
def repo_configs():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "configs" / "Synthetic"
    return [p for p in sorted(folder.glob("*.yaml")) if "TRANS_FUNC" in p.read_text()]
