"""Shared helpers of the model tests: tiny configs that build in milliseconds."""
from collections.abc import Callable
from pathlib import Path

import pytest
from fvcore.common.config import CfgNode

from slowfast.config.defaults import get_defaults

REPO_ROOT = Path(__file__).resolve().parents[2]
KINETICS_CONFIGS = REPO_ROOT / "configs" / "Kinetics"


def tiny_cfg(arch: str, depth: int, width: int = 8, num_classes: int = 5) -> CfgNode:
    """A config of ``arch`` at ``depth``, tiny width, every block keeping its temporal kernel."""
    cfg = get_defaults()
    two_pathways = arch == "slowfast"
    cfg.MODEL.ARCH = arch
    cfg.MODEL.MODEL_NAME = "SlowFast" if two_pathways else "ResNet"
    cfg.MODEL.NUM_CLASSES = num_classes
    cfg.MODEL.DROPOUT_RATE = 0.0
    cfg.DATA.INPUT_CHANNEL_NUM = [3, 3] if two_pathways else [3]
    cfg.RESNET.DEPTH = depth
    if depth == 18:  # the cheap plain-width ResNet-18
        cfg.RESNET.TRANS_FUNC = "plain_basic_transform"
    cfg.RESNET.WIDTH_PER_GROUP = width
    per_pathway = 2 if two_pathways else 1  # the spec wants one entry per pathway, as configs give
    cfg.RESNET.NUM_BLOCK_TEMP_KERNEL = [[23] * per_pathway] * 4
    cfg.RESNET.SPATIAL_STRIDES = [[1] * per_pathway] + [[2] * per_pathway] * 3
    cfg.RESNET.SPATIAL_DILATIONS = [[1] * per_pathway] * 4
    cfg.NONLOCAL.LOCATION = [[[]] * per_pathway] * 4
    cfg.SLOWFAST.ALPHA = 4
    cfg.SLOWFAST.BETA_INV = 4
    cfg.SLOWFAST.FUSION_KERNEL_SZ = 7
    return cfg


@pytest.fixture
def make_tiny_cfg() -> Callable[..., CfgNode]:
    return tiny_cfg


@pytest.fixture
def kinetics_cfg() -> Callable[[str], CfgNode]:
    """Loads ``configs/Kinetics/<name>.yaml`` on top of the defaults."""

    def load(name: str) -> CfgNode:
        cfg = get_defaults()
        cfg.merge_from_file(str(KINETICS_CONFIGS / f"{name}.yaml"))
        return cfg

    return load
