"""configs/Kinetics/*_1GPU.yaml: the 8-GPU SlowFast 8x8 R50 configs on one GPU, same per-device work."""
from pathlib import Path

import pytest
import yaml

from slowfast.config import load_config
from slowfast.multigrid.sampler import phase_batch_counts
from slowfast.multigrid.schedule import build_schedule

KINETICS = Path(__file__).resolve().parents[2] / "configs" / "Kinetics"
KINETICS_400_TRAIN_CLIPS = 234619
CHANGED = {
    "NUM_GPUS": (8, 1),
    "TRAIN.BATCH_SIZE": (64, 8),
    "TEST.BATCH_SIZE": (64, 8),
    "SOLVER.BASE_LR": (0.1, 0.0125),
    "SOLVER.WARMUP_START_LR": (0.01, 0.00125),
    "BN.NUM_BATCHES_PRECISE": (200, 1600),
    "DATA_LOADER.NUM_WORKERS": (8, 12),
}


def flat(cfg) -> dict:
    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from walk(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value
    return dict(walk(yaml.safe_load(cfg.dump()), ""))


def clips_per_epoch(stage) -> int:
    sizes = stage.short_cycle_batch_sizes
    return sum(n * size for n, size in zip(phase_batch_counts(KINETICS_400_TRAIN_CLIPS, sizes), sizes))


@pytest.mark.parametrize("name", ["SLOWFAST_8x8_R50", "SLOWFAST_8x8_R50_MG"])
def test_one_gpu_config_changes_only_devices_batches_lr_precise_bn_and_workers(name):
    eight, one = load_config(str(KINETICS / f"{name}.yaml")), load_config(str(KINETICS / f"{name}_1GPU.yaml"))
    eight_keys, one_keys = flat(eight), flat(one)
    differing = {k for k in eight_keys if eight_keys[k] != one_keys[k]}
    assert differing == set(CHANGED) | {"OUTPUT_DIR"}
    assert {k: (eight_keys[k], one_keys[k]) for k in CHANGED} == CHANGED
    assert one.OUTPUT_DIR == f"output/kinetics_{name.lower()}_1gpu"
    assert one.TRAIN.BATCH_SIZE == eight.TRAIN.BATCH_SIZE // eight.NUM_GPUS
    assert one.BN.NUM_BATCHES_PRECISE * one.TRAIN.BATCH_SIZE == eight.BN.NUM_BATCHES_PRECISE * eight.TRAIN.BATCH_SIZE


@pytest.mark.parametrize("name", ["SLOWFAST_8x8_R50", "SLOWFAST_8x8_R50_MG"])
def test_one_gpu_schedule_is_the_eight_gpu_one_per_device(name):
    eight = build_schedule(load_config(str(KINETICS / f"{name}.yaml")))
    one = build_schedule(load_config(str(KINETICS / f"{name}_1GPU.yaml")))
    assert len(one.stages) == len(eight.stages) == (13 if name.endswith("_MG") else 1)
    for s1, s8 in zip(one.stages, eight.stages):
        assert (s1.start_epoch, s1.end_epoch, s1.num_frames, s1.crop_size, s1.short_cycle_shapes) == (
            s8.start_epoch, s8.end_epoch, s8.num_frames, s8.crop_size, s8.short_cycle_shapes)
        assert (s1.batch_multiplier, s1.lr_multiplier) == (s8.batch_multiplier, s8.lr_multiplier)
        # One GPU runs each 8-GPU device's batches: global sizes / 8, per-device sizes equal.
        assert [8 * b for b in s1.short_cycle_batch_sizes] == list(s8.short_cycle_batch_sizes)
        # Every clip of the epoch is trained but the last partial batch's (fewer on one GPU).
        assert 0 <= clips_per_epoch(s1) - clips_per_epoch(s8) < max(s8.short_cycle_batch_sizes)
        assert KINETICS_400_TRAIN_CLIPS - clips_per_epoch(s1) < max(s1.short_cycle_batch_sizes)
    for epoch in (0.0, 10.5, 34.0, 100.0, eight.max_epoch - 0.5):
        assert one.lr_at(epoch) * 8 == pytest.approx(eight.lr_at(epoch), rel=1e-12)
