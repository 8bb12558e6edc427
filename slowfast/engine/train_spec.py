"""The training run's section of the config, read and checked once: ``train_spec(cfg) -> TrainSpec``.

Whether the run trains, where its weights start (resume, a pretrained checkpoint), how often the
trainer checkpoints beyond the schedule's epochs and how many it keeps, and precise BN. The epochs,
batches and eval/checkpoint periods are the schedule's (``multigrid/spec.py``).
"""
from dataclasses import dataclass

from fvcore.common.config import CfgNode

from slowfast.utils.checks import require


@dataclass(frozen=True)
class TrainSpec:
    """What the trainer's restore and its checkpoint and precise BN hooks need; field comments name the keys."""

    enable: bool  # TRAIN.ENABLE
    auto_resume: bool  # TRAIN.AUTO_RESUME
    checkpoint_file_path: str  # TRAIN.CHECKPOINT_FILE_PATH ("": none)
    checkpoint_type: str  # TRAIN.CHECKPOINT_TYPE
    checkpoint_inflate: bool  # TRAIN.CHECKPOINT_INFLATE
    checkpoint_reinit_head: bool  # TRAIN.CHECKPOINT_REINIT_HEAD
    expect_pretrained: bool  # TRAIN.EXPECT_PRETRAINED
    checkpoint_minutes: float  # TRAIN.CHECKPOINT_MINUTES (0: off)
    checkpoint_keep: int  # TRAIN.CHECKPOINT_KEEP (0: keep all)
    precise_bn: bool  # BN.USE_PRECISE_STATS
    precise_bn_batches: int  # BN.NUM_BATCHES_PRECISE


def train_spec(cfg: CfgNode) -> TrainSpec:
    """The training run's keys, each rule checked once; ConfigError naming the key for the first bad value."""
    train = cfg.TRAIN
    require(cfg.BN.NUM_BATCHES_PRECISE >= 0, f"BN.NUM_BATCHES_PRECISE must be >= 0, got {cfg.BN.NUM_BATCHES_PRECISE}")
    require(train.CHECKPOINT_MINUTES >= 0,
            f"TRAIN.CHECKPOINT_MINUTES must be >= 0 (0 = off), got {train.CHECKPOINT_MINUTES}")
    require(train.CHECKPOINT_KEEP >= 0,
            f"TRAIN.CHECKPOINT_KEEP must be >= 0 (0 = keep all), got {train.CHECKPOINT_KEEP}")
    return TrainSpec(
        enable=train.ENABLE,
        auto_resume=train.AUTO_RESUME,
        checkpoint_file_path=train.CHECKPOINT_FILE_PATH,
        checkpoint_type=train.CHECKPOINT_TYPE,
        checkpoint_inflate=train.CHECKPOINT_INFLATE,
        checkpoint_reinit_head=train.CHECKPOINT_REINIT_HEAD,
        expect_pretrained=train.EXPECT_PRETRAINED,
        checkpoint_minutes=train.CHECKPOINT_MINUTES,
        checkpoint_keep=train.CHECKPOINT_KEEP,
        precise_bn=cfg.BN.USE_PRECISE_STATS,
        precise_bn_batches=cfg.BN.NUM_BATCHES_PRECISE,
    )
