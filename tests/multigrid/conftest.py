"""Config builders shared by the multigrid tests."""
from typing import Any, Callable

import pytest

from slowfast.config.defaults import get_defaults

# PySlowFast's Kinetics SLOWFAST_8x8_R50_stepwise schedule keys (reference doc section 1.3).
KINETICS_STEPWISE = {
    "TRAIN.BATCH_SIZE": 64,
    "DATA.NUM_FRAMES": 32,
    "DATA.SAMPLING_RATE": 2,
    "DATA.TRAIN_CROP_SIZE": 224,
    "DATA.TRAIN_JITTER_SCALES": [256, 320],
    "SOLVER.BASE_LR": 0.1,
    "SOLVER.LR_POLICY": "steps_with_relative_lrs",
    "SOLVER.STEPS": [0, 94, 154, 196],
    "SOLVER.LRS": [1, 0.1, 0.01, 0.001, 0.0001, 0.00001],
    "SOLVER.MAX_EPOCH": 239,
    "SOLVER.WARMUP_EPOCHS": 34.0,
    "SOLVER.WARMUP_START_LR": 0.01,
}


def set_keys(cfg: Any, values: dict[str, Any]) -> Any:
    """Assign dotted KEY: value pairs on a CfgNode."""
    for key, value in values.items():
        *path, leaf = key.split(".")
        node = cfg
        for part in path:
            node = node[part]
        node[leaf] = value
    return cfg


@pytest.fixture
def make_cfg() -> Callable[..., Any]:
    """Defaults + the Kinetics stepwise keys + the given overrides (dotted keys)."""

    def build(overrides: dict[str, Any] | None = None) -> Any:
        cfg = set_keys(get_defaults(), KINETICS_STEPWISE)
        return set_keys(cfg, overrides or {})

    return build


@pytest.fixture
def kinetics_stepwise_keys() -> dict[str, Any]:
    """The Kinetics stepwise keys as dotted KEY: value pairs."""
    return dict(KINETICS_STEPWISE)
