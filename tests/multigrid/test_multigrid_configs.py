"""The shipped Kinetics multigrid YAMLs load and give PySlowFast's 13-stage schedule."""
from pathlib import Path

import pytest

from slowfast.config import load_config
from slowfast.multigrid.schedule import build_schedule

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "Kinetics"
ENDS = [73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 358]


@pytest.mark.parametrize(
    "name, frames",
    [
        ("SLOWFAST_8x8_R50_MG.yaml", [8, 16, 16, 32]),
        ("I3D_8x8_R50_MG.yaml", [2, 4, 4, 8]),
        ("I3D_NLN_8x8_R50_MG.yaml", [2, 4, 4, 8]),
    ],
)
def test_multigrid_config_schedule(name, frames):
    cfg = load_config(str(CONFIGS / name))
    assert cfg.MULTIGRID.LONG_CYCLE and cfg.MULTIGRID.SHORT_CYCLE
    assert cfg.DATA.TEST_CROP_SIZE == 224
    assert cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs"
    schedule = build_schedule(cfg)
    assert [s.end_epoch for s in schedule.stages] == ENDS
    assert [s.num_frames for s in schedule.stages] == frames * 3 + [frames[-1]]
    assert [s.crop_size for s in schedule.stages[:4]] == [158, 158, 224, 224]
    assert [s.batch_size for s in schedule.stages] == [512, 256, 128, 64] * 3 + [64]
    assert schedule.lr_at(0) == pytest.approx(0.01)
    assert schedule.lr_at(34) == pytest.approx(0.8)
    assert schedule.lr_at(343) == pytest.approx(0.0001)
