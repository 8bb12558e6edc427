"""configs/Kinetics: every YAML loads over the defaults, carries PySlowFast's values and builds."""
from pathlib import Path

import pytest
import torch

from slowfast.models import build_model

KINETICS_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "Kinetics"
# The PySlowFast baseline configs (multigrid variants live beside them).
BASELINES = [
    "C2D_8x8_R50",
    "I3D_8x8_R50",
    "I3D_NLN_8x8_R50",
    "I3D_8x8_R101",
    "SLOW_8x8_R50",
    "SLOWFAST_8x8_R50",
    "SLOWFAST_4x16_R50",
    "SLOWFAST_8x8_R50_stepwise",
]


@pytest.mark.parametrize("name", BASELINES)
def test_pyslowfast_common_values(kinetics_cfg, name):
    cfg = kinetics_cfg(name)
    assert (cfg.NUM_GPUS, cfg.NUM_SHARDS, cfg.RNG_SEED) == (8, 1, 0)
    assert cfg.OUTPUT_DIR == f"output/kinetics_{name.lower()}"  # PySlowFast's "." wrote runs into the checkout
    assert cfg.BN.USE_PRECISE_STATS and cfg.BN.NUM_BATCHES_PRECISE == 200
    assert cfg.RESNET.ZERO_INIT_FINAL_BN and cfg.RESNET.WIDTH_PER_GROUP == 64
    assert (cfg.TRAIN.BATCH_SIZE, cfg.TEST.BATCH_SIZE, cfg.MODEL.NUM_CLASSES) == (64, 64, 400)
    solver = cfg.SOLVER
    assert (solver.BASE_LR, solver.WEIGHT_DECAY, solver.WARMUP_EPOCHS) == (0.1, 1e-4, 34.0)
    data = cfg.DATA
    assert (data.TRAIN_CROP_SIZE, data.TEST_CROP_SIZE, data.PATH_TO_DATA_DIR) == (224, 256, "")
    assert not (cfg.MULTIGRID.LONG_CYCLE or cfg.MULTIGRID.SHORT_CYCLE)


@pytest.mark.parametrize("name", sorted(p.stem for p in KINETICS_CONFIGS.glob("*.yaml")))
def test_every_kinetics_config_builds_a_working_model(kinetics_cfg, name):
    cfg = kinetics_cfg(name)
    cfg.RESNET.WIDTH_PER_GROUP = 8
    cfg.MODEL.NUM_CLASSES = 5
    model = build_model(cfg).eval()
    clip = torch.randn(1, 3, max(cfg.DATA.NUM_FRAMES // 4, cfg.SLOWFAST.ALPHA), 32, 32)
    inputs = [clip[:, :, :: cfg.SLOWFAST.ALPHA], clip] if cfg.MODEL.ARCH == "slowfast" else [clip]
    with torch.no_grad():
        assert model(inputs).shape == (1, 5)


@pytest.mark.parametrize(
    "name, arch, model_name, frames, rate",
    [
        ("C2D_8x8_R50", "c2d", "ResNet", 8, 8),
        ("I3D_8x8_R50", "i3d", "ResNet", 8, 8),
        ("SLOW_8x8_R50", "slow", "ResNet", 8, 8),
        ("SLOWFAST_8x8_R50", "slowfast", "SlowFast", 32, 2),
        ("SLOWFAST_4x16_R50", "slowfast", "SlowFast", 32, 2),
    ],
)
def test_architecture_and_sampling(kinetics_cfg, name, arch, model_name, frames, rate):
    cfg = kinetics_cfg(name)
    assert (cfg.MODEL.ARCH, cfg.MODEL.MODEL_NAME) == (arch, model_name)
    assert (cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE) == (frames, rate)


def test_slowfast_ratios(kinetics_cfg):
    eight = kinetics_cfg("SLOWFAST_8x8_R50")
    four = kinetics_cfg("SLOWFAST_4x16_R50")
    # 8x8: slow pathway 32 / 4 = 8 frames at stride 2 * 4 = 8; 4x16: 4 frames at stride 16.
    for cfg, expected in [(eight, (4, 7, 8)), (four, (8, 5, 8))]:
        slowfast = cfg.SLOWFAST
        assert (slowfast.ALPHA, slowfast.FUSION_KERNEL_SZ, slowfast.BETA_INV) == expected
    assert four.DATA.NUM_FRAMES // four.SLOWFAST.ALPHA == 4
    assert four.DATA.SAMPLING_RATE * four.SLOWFAST.ALPHA == 16


def test_resnet_variants(kinetics_cfg):
    assert kinetics_cfg("I3D_8x8_R101").RESNET.NUM_BLOCK_TEMP_KERNEL == [[3], [4], [23], [3]]
    assert kinetics_cfg("I3D_8x8_R101").RESNET.DEPTH == 101
    assert kinetics_cfg("I3D_NLN_8x8_R50").NONLOCAL.LOCATION == [[[]], [[1, 3]], [[1, 3, 5]], [[]]]
    assert kinetics_cfg("I3D_NLN_8x8_R50").NONLOCAL.INSTANTIATION == "softmax"
    assert kinetics_cfg("SLOWFAST_8x8_R50").NONLOCAL.INSTANTIATION == "dot_product"


def test_stepwise_schedule(kinetics_cfg):
    cfg = kinetics_cfg("SLOWFAST_8x8_R50_stepwise")
    assert cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs"
    assert cfg.SOLVER.STEPS == [0, 94, 154, 196]
    assert cfg.SOLVER.LRS == [1, 0.1, 0.01, 0.001, 0.0001, 0.00001]
    assert cfg.SOLVER.MAX_EPOCH == 239
    assert kinetics_cfg("SLOWFAST_8x8_R50").SOLVER.MAX_EPOCH == 196
