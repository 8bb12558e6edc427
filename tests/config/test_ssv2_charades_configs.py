"""configs/SSv2, configs/Charades and their synthetic demos: PySlowFast's values, valid schedules."""
from pathlib import Path

import pytest

from slowfast.config import load_config
from slowfast.multigrid.schedule import build_schedule

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def load(relative: str):
    return load_config(str(CONFIGS / relative))


@pytest.mark.parametrize("name", ["SLOWFAST_16x8_R50", "SLOWFAST_16x8_R50_MG"])
def test_ssv2_values(name):
    cfg = load(f"SSv2/{name}.yaml")
    assert (cfg.TRAIN.DATASET, cfg.TEST.DATASET, cfg.MODEL.NUM_CLASSES) == ("ssv2", "ssv2", 174)
    assert cfg.TRAIN.EXPECT_PRETRAINED and cfg.TRAIN.CHECKPOINT_FILE_PATH == ""
    assert (cfg.TRAIN.BATCH_SIZE, cfg.TRAIN.EVAL_PERIOD, cfg.TRAIN.CHECKPOINT_PERIOD) == (16, 2, 2)
    data = cfg.DATA
    assert (data.NUM_FRAMES, data.SAMPLING_RATE, list(data.TRAIN_JITTER_SCALES)) == (64, 2, [256, 320])
    assert data.INV_UNIFORM_SAMPLE and not data.RANDOM_FLIP and data.REVERSE_INPUT_CHANNEL
    assert not data.MULTI_LABEL and cfg.MODEL.LOSS_FUNC == "cross_entropy"
    solver = cfg.SOLVER
    assert (solver.BASE_LR, list(solver.STEPS), solver.MAX_EPOCH, solver.WEIGHT_DECAY) == (0.03, [0, 14, 18], 22, 1e-6)
    assert (solver.WARMUP_EPOCHS, solver.WARMUP_START_LR) == (0.19, 1e-4)
    assert (cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.TEST.NUM_SPATIAL_CROPS, cfg.DATA_LOADER.NUM_WORKERS) == (1, 1, 4)
    assert (cfg.SLOWFAST.ALPHA, cfg.SLOWFAST.BETA_INV, cfg.SLOWFAST.FUSION_KERNEL_SZ) == (4, 8, 7)
    multigrid = name.endswith("_MG")
    assert cfg.MULTIGRID.LONG_CYCLE == cfg.MULTIGRID.SHORT_CYCLE == multigrid
    assert data.TEST_CROP_SIZE == (224 if multigrid else 256)


@pytest.mark.parametrize("name", ["SLOWFAST_16x8_R50", "SLOWFAST_16x8_R50_MG"])
def test_charades_values(name):
    cfg = load(f"Charades/{name}.yaml")
    assert (cfg.TRAIN.DATASET, cfg.TEST.DATASET, cfg.MODEL.NUM_CLASSES) == ("charades", "charades", 157)
    assert cfg.TRAIN.EXPECT_PRETRAINED and cfg.TRAIN.CHECKPOINT_FILE_PATH == ""
    assert (cfg.TRAIN.BATCH_SIZE, cfg.TRAIN.EVAL_PERIOD, cfg.TRAIN.CHECKPOINT_PERIOD) == (16, 6, 6)
    data = cfg.DATA
    assert (data.NUM_FRAMES, data.SAMPLING_RATE, list(data.TRAIN_JITTER_SCALES)) == (64, 2, [256, 340])
    assert data.MULTI_LABEL and data.INV_UNIFORM_SAMPLE and data.REVERSE_INPUT_CHANNEL and data.RANDOM_FLIP
    assert (data.ENSEMBLE_METHOD, cfg.MODEL.LOSS_FUNC, cfg.MODEL.HEAD_ACT) == ("max", "bce_logit", "sigmoid")
    solver = cfg.SOLVER
    assert (solver.BASE_LR, list(solver.STEPS), solver.MAX_EPOCH) == (0.0375, [0, 41, 49], 57)
    assert solver.WEIGHT_DECAY == 1e-4
    assert (solver.WARMUP_EPOCHS, solver.WARMUP_START_LR) == (4.0, 1e-4)
    assert (cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.TEST.NUM_SPATIAL_CROPS, data.TEST_CROP_SIZE) == (10, 3, 256)
    multigrid = name.endswith("_MG")
    assert cfg.MULTIGRID.LONG_CYCLE == cfg.MULTIGRID.SHORT_CYCLE == multigrid


def test_long_cycle_changes_segments_for_ssv2_and_sampling_rate_range_for_charades():
    ssv2 = build_schedule(load("SSv2/SLOWFAST_16x8_R50_MG.yaml"))
    charades = build_schedule(load("Charades/SLOWFAST_16x8_R50_MG.yaml"))
    base_shapes = {(s.base_shape.num_frames, s.base_shape.sampling_rate) for s in charades.stages}
    assert base_shapes == {(16, (2, 8)), (32, (2, 4)), (64, (2, 2))}
    assert {s.base_shape.num_frames for s in ssv2.stages} == {16, 32, 64}


@pytest.mark.parametrize("name, dataset, multi_label", [
    ("SSV2_SLOWFAST_R18_MG", "ssv2", False),
    ("CHARADES_SLOWFAST_R18_MG", "charades", True),
])
def test_synthetic_demos(name, dataset, multi_label):
    cfg = load(f"Synthetic/{name}.yaml")
    assert (cfg.TRAIN.DATASET, cfg.TEST.DATASET, cfg.DATA.MULTI_LABEL) == (dataset, dataset, multi_label)
    assert cfg.SYNTHETIC.GENERATE and cfg.SYNTHETIC.NUM_CLASSES == cfg.MODEL.NUM_CLASSES
    assert cfg.MULTIGRID.LONG_CYCLE and cfg.MULTIGRID.SHORT_CYCLE and cfg.NUM_GPUS == 0
    assert cfg.DATA.REVERSE_INPUT_CHANNEL and not cfg.DATA.RANDOM_FLIP
    assert not cfg.TRAIN.EXPECT_PRETRAINED  # the demos train from scratch: no synthetic Kinetics to start from
