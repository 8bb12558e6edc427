"""The model spec: the one place of the model keys' rules, and the shapes it says the model takes."""
import pytest
import torch

from slowfast.config import ConfigError
from slowfast.models import build_model
from slowfast.models.build import build_model_from_spec
from slowfast.models.spec import model_spec
from slowfast.models.video_model import ResNetOptions, SlowFast, SlowFastFusion, stage_frames, stage_sizes

ALPHA = 4  # SlowFast frame-rate ratio of the tiny configs


def _with_nonlocal(cfg, group=1, pool=(1, 2, 2)):
    """Non-local blocks after block 1 of res3 and res4 (every pathway)."""
    entries = 2 if cfg.MODEL.ARCH == "slowfast" else 1
    cfg.NONLOCAL.LOCATION = [[[]] * entries, [[1]] * entries, [[1]] * entries, [[]] * entries]
    cfg.NONLOCAL.GROUP = [[1], [group], [group], [1]]
    cfg.NONLOCAL.POOL = [[list(pool)]] * 4
    return cfg


def _inputs(arch, frames, size):
    fast = torch.randn(2, 3, frames, size, size)
    if arch == "slowfast":
        return [fast[:, :, ::ALPHA][:, :, : frames // ALPHA], fast]
    return [fast]


def _runs(model, arch, frames, size) -> bool:
    try:
        with torch.no_grad():
            model(_inputs(arch, frames, size))
    except (RuntimeError, ValueError):
        return False
    return True


CASES = {
    "slowfast": lambda cfg: cfg,
    "i3d": lambda cfg: cfg,
    "c2d": lambda cfg: cfg,
    "slow": lambda cfg: cfg,
    "i3d+nl": lambda cfg: _with_nonlocal(cfg),
    "i3d+nl group 2": lambda cfg: _with_nonlocal(cfg, group=2),
    "slow+nl time pool 2": lambda cfg: _with_nonlocal(cfg, pool=(2, 2, 2)),
    "slowfast+nl": lambda cfg: _with_nonlocal(cfg),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_spec_says_which_shapes_the_model_takes(make_tiny_cfg, case):
    """frames_problem / crop_problem are None exactly for the shapes a forward pass goes through."""
    arch = case.split("+")[0]
    cfg = CASES[case](make_tiny_cfg(arch, 50 if "nl" in case else 18, width=4))
    spec = model_spec(cfg)
    model = build_model(cfg).train()
    for frames in (1, 2, 3, 4, 6, 8, 12):
        assert (spec.frames_problem(frames) is None) == _runs(model, arch, frames, 64), (case, frames)
    frames = 16  # fits every case
    for crop in (8, 16, 17, 24, 32, 33):
        assert (spec.crop_problem(crop) is None) == _runs(model, arch, frames, crop), (case, crop)


def test_stage_shapes_follow_the_layers(make_tiny_cfg):
    cfg = make_tiny_cfg("i3d", 18, width=4)
    cfg.RESNET.SPATIAL_STRIDES = [[1], [2], [1], [2]]
    model = build_model(cfg).eval()
    seen = []
    for name in ("s2", "s3", "s4", "s5"):
        getattr(model, name).register_forward_hook(lambda module, args, out: seen.append(tuple(out[0].shape[2:])))
    with torch.no_grad():
        model(_inputs("i3d", 7, 45))
    options = model_spec(cfg).options
    assert stage_frames("i3d", 0, 7) == (7, 3, 3, 3)
    assert stage_sizes(options, 0, 45) == (12, 6, 6, 3)
    assert seen == [(t, s, s) for t, s in zip(stage_frames("i3d", 0, 7), stage_sizes(options, 0, 45))]


@pytest.mark.parametrize("width, beta_inv, fits", [(8, 4, True), (8, 8, True), (12, 8, False), (4, 8, False)])
def test_width_per_group_must_be_a_multiple_of_beta_inv(make_tiny_cfg, width, beta_inv, fits):
    cfg = make_tiny_cfg("slowfast", 18, width=width)
    cfg.SLOWFAST.BETA_INV = beta_inv
    if fits:
        model = build_model(cfg)
        assert model.s1.pathway1_stem.conv.out_channels == width // beta_inv
        return
    with pytest.raises(ConfigError, match=rf"^RESNET.WIDTH_PER_GROUP {width} must be a multiple of "
                                          rf"SLOWFAST.BETA_INV {beta_inv}$"):
        build_model(cfg)


def test_a_width_that_beta_inv_does_not_divide_can_break_the_fast_pathway():
    """Why the rule is divisibility and not "width // BETA_INV >= 1": width 12 / 8 floors the fast
    pathway's grouped 3x3 conv to 24 // 8 = 3 channels, which 2 groups cannot split."""
    options = ResNetOptions(depth=50, width_per_group=12, num_groups=2, nonlocal_groups=((1,),) * 4)
    with pytest.raises(ValueError, match="divisible by groups"):
        SlowFast(5, options=options, fusion=SlowFastFusion(alpha=4, beta_inv=8))


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("SLOWFAST.BETA_INV", 0, r"SLOWFAST.BETA_INV must be >= 1, got 0"),
        ("SLOWFAST.ALPHA", 0, r"SLOWFAST.ALPHA must be >= 1, got 0"),
        ("SLOWFAST.FUSION_KERNEL_SZ", 4, r"SLOWFAST.FUSION_KERNEL_SZ must be a positive odd number"),
        ("SLOWFAST.FUSION_CONV_CHANNEL_RATIO", 0, r"SLOWFAST.FUSION_CONV_CHANNEL_RATIO must be >= 1"),
        ("NONLOCAL.GROUP", [[1, 1], [1, 1], [], [1, 1]], r"NONLOCAL.GROUP has 0 entries for res4; give 1"),
        ("MODEL.DROPOUT_RATE", 1.0, r"MODEL.DROPOUT_RATE must be in \[0, 1\), got 1.0"),
    ],
)
def test_slowfast_keys_are_checked_once_in_the_spec(make_tiny_cfg, key, value, message):
    cfg = make_tiny_cfg("slowfast", 18)
    node, leaf = key.split(".")
    cfg[node][leaf] = value
    with pytest.raises(ConfigError, match=message):
        model_spec(cfg)


def test_an_even_fusion_kernel_would_give_the_lateral_one_frame_too_many(make_tiny_cfg):
    cfg = make_tiny_cfg("slowfast", 18, width=4)
    spec = model_spec(cfg)
    even = type(spec)(**{**spec.__dict__, "fusion": SlowFastFusion(alpha=ALPHA, beta_inv=4, kernel_size=4)})
    with pytest.raises(ValueError, match="lateral connection"):
        build_model_from_spec(even)(_inputs("slowfast", 8, 32))
