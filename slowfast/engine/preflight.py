"""Checks a run makes before it starts anything (processes, files), so that a first mistake stops
with one line and leaves OUTPUT_DIR as it was."""
from fvcore.common.config import CfgNode

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.tester import check_test_checkpoint
from slowfast.utils.env import check_gpus


def check_before_start(cfg: CfgNode) -> None:
    """Raise ConfigError or CheckpointError when the run cannot go far: NUM_GPUS more than this
    machine shows, OUTPUT_DIR holding another run's checkpoints (training resumes from there), or
    a test-only run without a checkpoint to test."""
    check_gpus(cfg.NUM_GPUS)
    if cfg.TRAIN.ENABLE and cfg.TRAIN.AUTO_RESUME:
        ckpt.check_resumable(cfg.OUTPUT_DIR, cfg.dump())
    check_test_checkpoint(cfg)
