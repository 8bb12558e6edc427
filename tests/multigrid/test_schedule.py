"""Schedule numbers: PySlowFast's worked Kinetics example and the modes it cannot run."""
import math
import subprocess
import sys

import pytest

from slowfast.multigrid.schedule import build_schedule

MULTIGRID = {"MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True}


def stage_table(schedule):
    """(start, end, T, S, batch multiplier) per stage."""
    return [
        (s.start_epoch, s.end_epoch, s.num_frames, s.crop_size, s.batch_multiplier)
        for s in schedule.stages
    ]


@pytest.fixture
def kinetics(make_cfg):
    return build_schedule(make_cfg(MULTIGRID))


def test_kinetics_stage_ends_shapes_and_batches(kinetics):
    ends = [73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 358]
    shapes = [(8, 158), (16, 158), (16, 224), (32, 224)] * 3 + [(32, 224)]
    multipliers = [8, 4, 2, 1] * 3 + [1]
    assert [s.end_epoch for s in kinetics.stages] == ends
    assert [s.start_epoch for s in kinetics.stages] == [0] + ends[:-1]
    assert [(s.num_frames, s.crop_size) for s in kinetics.stages] == shapes
    assert [s.batch_multiplier for s in kinetics.stages] == multipliers
    assert [s.batch_size for s in kinetics.stages] == [64 * m for m in multipliers]
    assert [s.lr_multiplier for s in kinetics.stages] == multipliers
    assert [s.index for s in kinetics.stages] == list(range(13))
    assert kinetics.max_epoch == 358


def test_kinetics_lr_per_stage_and_fine_tune_split(kinetics):
    relative = [8, 4, 2, 1, 0.8, 0.4, 0.2, 0.1, 0.08, 0.04, 0.02, 0.01, 0.01]
    for stage, expected in zip(kinetics.stages, relative):
        assert kinetics.policy_lr_at(stage.start_epoch) == pytest.approx(0.1 * expected)
        assert kinetics.policy_lr_at(stage.end_epoch - 0.5) == pytest.approx(
            0.1 * expected if stage.index < 12 else 0.0001
        )
    # Fine-tuning [329, 358) drops from 0.01 to 0.001 (x BASE_LR) at (329 + 358) // 2 = 343.
    assert kinetics.lr_at(342.9) == pytest.approx(0.001)
    assert kinetics.lr_at(343) == pytest.approx(0.0001)
    assert kinetics.lr_at(357) == pytest.approx(0.0001)


def test_kinetics_warmup_targets_the_scaled_first_stage(kinetics):
    assert kinetics.lr_at(0) == pytest.approx(0.01)
    assert kinetics.lr_at(17) == pytest.approx(0.01 + 17 * (0.8 - 0.01) / 34)
    assert kinetics.lr_at(33.5) == pytest.approx(0.01 + 33.5 * (0.8 - 0.01) / 34)
    assert kinetics.lr_at(34) == pytest.approx(0.8)
    assert kinetics.lr_at(72.99) == pytest.approx(0.8)
    assert kinetics.lr_at(73) == pytest.approx(0.4)
    assert kinetics.lr_at(158) == pytest.approx(0.08)


def test_kinetics_short_cycle_per_gpu_batches_and_crops(kinetics):
    per_gpu = [tuple(b // 8 for b in s.short_cycle_batch_sizes) for s in kinetics.stages]
    assert per_gpu[:4] == [(128, 64, 64), (64, 32, 32), (64, 32, 16), (32, 16, 8)]
    assert per_gpu[4:8] == per_gpu[:4] and per_gpu[8:12] == per_gpu[:4]
    assert per_gpu[12] == (32, 16, 8)
    for stage in kinetics.stages:
        crops = [shape.crop_size for shape in stage.short_cycle_shapes]
        assert crops == [112, 158, stage.crop_size]
        assert stage.base_shape == stage.short_cycle_shapes[-1]
        assert all(shape.num_frames == stage.num_frames for shape in stage.short_cycle_shapes)


def test_kinetics_sampling_rate_and_jitter(kinetics):
    assert [s.sampling_rate for s in kinetics.stages[:4]] == [(2, 8), (2, 4), (2, 4), (2, 2)]
    jitters = {s.crop_size: s.jitter_scales for s in kinetics.stages[2].short_cycle_shapes}
    assert jitters == {112: (128, 320), 158: (181, 320), 224: (256, 320)}
    assert kinetics.stages[0].short_cycle_shapes[-1].sampling_rate == (2, 8)


def test_jitter_scaling_min_max_shrinks_both_ends_with_the_crop(make_cfg):
    schedule = build_schedule(make_cfg({**MULTIGRID, "MULTIGRID.JITTER_SCALING": "min_max"}))
    jitters = {s.crop_size: s.jitter_scales for s in schedule.stages[2].short_cycle_shapes}
    assert jitters == {112: (128, 160), 158: (181, 226), 224: (256, 320)}
    assert schedule.stages[0].base_shape.jitter_scales == (181, 226)
    with pytest.raises(ValueError, match=r"MULTIGRID\.JITTER_SCALING is 'max'"):
        build_schedule(make_cfg({**MULTIGRID, "MULTIGRID.JITTER_SCALING": "max"}))


def test_kinetics_eval_and_checkpoint_epochs(kinetics):
    due = [e for e in range(kinetics.max_epoch) if kinetics.is_eval_epoch(e)]
    assert due[:12] == [22, 47, 72, 83, 96, 109, 119, 130, 141, 145, 151, 157]
    assert due[-3:] == [337, 347, 357]
    assert all(kinetics.is_eval_epoch(s.end_epoch - 1) for s in kinetics.stages)
    assert due == [e for e in range(kinetics.max_epoch) if kinetics.is_checkpoint_epoch(e)]


def test_stage_at_boundaries(kinetics):
    assert kinetics.stage_at(0).index == 0
    assert kinetics.stage_at(72).index == 0
    assert kinetics.stage_at(73).index == 1
    assert kinetics.stage_at(357).index == 12
    assert kinetics.stage_at(400).index == 12
    with pytest.raises(ValueError):
        kinetics.stage_at(-1)


def test_baseline_is_one_full_shape_stage(make_cfg):
    schedule = build_schedule(make_cfg({"TRAIN.EVAL_PERIOD": 10, "TRAIN.CHECKPOINT_PERIOD": 5}))
    (stage,) = schedule.stages
    assert (stage.start_epoch, stage.end_epoch, stage.num_frames, stage.crop_size) == (0, 239, 32, 224)
    assert (stage.batch_size, stage.lr_multiplier, stage.sampling_rate) == (64, 1.0, (2, 2))
    assert stage.short_cycle_batch_sizes == (64,)
    assert stage.base_shape.jitter_scales == (256, 320)
    assert [schedule.lr_at(e) for e in (34, 93, 94, 154, 196, 238)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.001, 0.0001, 0.0001]
    )
    assert [e for e in range(239) if schedule.is_eval_epoch(e)] == list(range(9, 239, 10)) + [238]
    assert [e for e in range(239) if schedule.is_checkpoint_epoch(e)] == list(range(4, 239, 5)) + [238]


def test_long_cycle_only(make_cfg):
    # a = b = [8, 4, 2, 1] (sum 15, mean 3.75); e_ft = 43 / 3.75 = 11.47; x = 358.5 / 207.47.
    schedule = build_schedule(make_cfg({"MULTIGRID.LONG_CYCLE": True}))
    assert [s.end_epoch for s in schedule.stages] == [
        87, 130, 152, 162, 218, 245, 259, 266, 305, 324, 334, 339, 358
    ]
    assert [s.batch_multiplier for s in schedule.stages] == [8, 4, 2, 1] * 3 + [1]
    assert all(len(s.short_cycle_shapes) == 1 for s in schedule.stages)
    assert schedule.stages[0].short_cycle_batch_sizes == (512,)
    assert schedule.stages[0].base_shape.jitter_scales == (181, 320)
    assert schedule.lr_at(100) == pytest.approx(0.4)
    assert schedule.lr_at(347) == pytest.approx(0.001)  # fine-tune [339, 358) splits at 348
    assert schedule.lr_at(348) == pytest.approx(0.0001)


def test_short_cycle_only(make_cfg):
    schedule = build_schedule(make_cfg({"MULTIGRID.SHORT_CYCLE": True, "TRAIN.EVAL_PERIOD": 50}))
    (stage,) = schedule.stages
    assert schedule.max_epoch == 358  # int(239 x 1.5)
    assert (stage.num_frames, stage.crop_size, stage.sampling_rate) == (32, 224, (2, 2))
    assert stage.short_cycle_batch_sizes == (256, 128, 64)
    assert [s.crop_size for s in stage.short_cycle_shapes] == [112, 158, 224]
    # STEPS x 1.5, truncated: [0, 141, 231, 294]; the LR is not scaled by the short-cycle batch.
    lrs = [schedule.lr_at(e) for e in (34, 140, 141, 230, 231, 293, 294)]
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.0001])
    assert [e for e in range(358) if schedule.is_eval_epoch(e)] == [
        49, 99, 149, 199, 249, 299, 349, 357
    ]


def test_cosine_with_long_and_short_cycle(make_cfg):
    cfg = make_cfg(
        {
            **MULTIGRID,
            "SOLVER.LR_POLICY": "cosine",
            "SOLVER.STEPS": [],
            "SOLVER.MAX_EPOCH": 100,
            "SOLVER.WARMUP_EPOCHS": 0.0,
        }
    )
    schedule = build_schedule(cfg)
    # One LR stage [0, 100): epochs 100 a_j / 23 x 1.5, no fine-tuning stage.
    assert stage_table(schedule) == [
        (0, 70, 8, 158, 8), (70, 104, 16, 158, 4), (104, 135, 16, 224, 2), (135, 150, 32, 224, 1)
    ]
    cosine = lambda e: 0.1 * (math.cos(math.pi * e / 150) + 1) / 2  # noqa: E731
    assert schedule.lr_at(0) == pytest.approx(0.8)
    assert schedule.lr_at(75) == pytest.approx(cosine(75) * 4)
    assert schedule.lr_at(120.5) == pytest.approx(cosine(120.5) * 2)
    assert schedule.lr_at(149) == pytest.approx(cosine(149))


def test_cosine_after_warmup_and_end_lr(make_cfg):
    cfg = make_cfg(
        {
            "SOLVER.LR_POLICY": "cosine",
            "SOLVER.STEPS": [],
            "SOLVER.MAX_EPOCH": 20,
            "SOLVER.WARMUP_EPOCHS": 4.0,
            "SOLVER.COSINE_AFTER_WARMUP": True,
            "SOLVER.COSINE_END_LR": 0.001,
        }
    )
    schedule = build_schedule(cfg)
    assert schedule.lr_at(4) == pytest.approx(0.1)
    assert schedule.lr_at(12) == pytest.approx(0.001 + 0.099 * 0.5)
    assert schedule.lr_at(2) == pytest.approx(0.01 + 2 * (0.1 - 0.01) / 4)


def test_custom_factors(make_cfg):
    cfg = make_cfg(
        {
            **MULTIGRID,
            "DATA.NUM_FRAMES": 8,
            "DATA.TRAIN_CROP_SIZE": 64,
            "DATA.TRAIN_JITTER_SCALES": [64, 80],
            "TRAIN.BATCH_SIZE": 4,
            "SOLVER.STEPS": [0, 10],
            "SOLVER.LRS": [1, 0.1],
            "SOLVER.MAX_EPOCH": 12,
            "SOLVER.WARMUP_EPOCHS": 0.0,
            "MULTIGRID.EPOCH_FACTOR": 1.0,
            "MULTIGRID.LONG_CYCLE_FACTORS": [(0.5, 0.5), (1, 1)],
            "MULTIGRID.SHORT_CYCLE_FACTORS": [0.5],
        }
    )
    schedule = build_schedule(cfg)
    # Shapes 4x32 (multipliers of crops 32.0/32: [8, 8], a=8) and 8x64 ([4, 1], a=2.5).
    # e = 10 x [8, 2.5] / 10.5 = [7.619, 2.381]; e_ft = 2 / (10 / (2 x 10 / 10.5)) x 2.5 = 0.952;
    # x = 12 / 10.952 -> ends round(8.348) = 8, round(10.957) = 11, 12.
    assert stage_table(schedule) == [(0, 8, 4, 32, 8), (8, 11, 8, 64, 1), (11, 12, 8, 64, 1)]
    first, second, fine_tune = schedule.stages
    assert [s.crop_size for s in first.short_cycle_shapes] == [32, 32]
    assert first.short_cycle_batch_sizes == (32, 32)  # round((32 / 32)^2) = 1
    assert second.short_cycle_batch_sizes == (16, 4)  # round((64 / 32)^2) = 4
    assert first.sampling_rate == (2, 4)
    assert first.base_shape.jitter_scales == (32, 80)
    # Fine-tuning [11, 12): midpoint 11, so the whole stage is at LRS[1] x 1.
    assert [schedule.lr_at(e) for e in (0, 8, 11)] == pytest.approx([0.8, 0.1, 0.01])


def test_zero_length_stage_is_dropped(make_cfg):
    # SSv2 SlowFast 16x8: T0 64, B0 16, STEPS [0, 14, 18], MAX 22. Cumulative ends
    # 22 x 1.5 x cumsum(e) / sum(e) round to 11 16 21 24 | 27 28 30 30 | 33: the 64x224 entry
    # of the second LR stage spans [30, 30) and is dropped.
    cfg = make_cfg(
        {
            **MULTIGRID,
            "DATA.NUM_FRAMES": 64,
            "TRAIN.BATCH_SIZE": 16,
            "SOLVER.BASE_LR": 0.03,
            "SOLVER.STEPS": [0, 14, 18],
            "SOLVER.MAX_EPOCH": 22,
            "SOLVER.WARMUP_EPOCHS": 0.19,
            "SOLVER.WARMUP_START_LR": 0.0001,
        }
    )
    schedule = build_schedule(cfg)
    assert stage_table(schedule) == [
        (0, 11, 16, 158, 8), (11, 16, 32, 158, 4), (16, 21, 32, 224, 2), (21, 24, 64, 224, 1),
        (24, 27, 16, 158, 8), (27, 28, 32, 158, 4), (28, 30, 32, 224, 2), (30, 33, 64, 224, 1),
    ]
    assert [s.index for s in schedule.stages] == list(range(8))
    # Fine-tuning [30, 33) keeps the dropped stage's 0.1 x 1 until (30 + 33) // 2 = 31.
    expected = [0.24, 0.12, 0.06, 0.03, 0.024, 0.012, 0.006, 0.003]
    assert [schedule.lr_at(s.start_epoch + 0.5) for s in schedule.stages] == pytest.approx(expected)
    assert schedule.lr_at(31) == pytest.approx(0.0003)
    assert schedule.lr_at(0) == pytest.approx(0.0001)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"SOLVER.STEPS": [5, 94]}, "SOLVER.STEPS"),
        ({"SOLVER.STEPS": [0, 94, 94]}, "SOLVER.STEPS"),
        ({"SOLVER.STEPS": [0, 300]}, "SOLVER.STEPS"),
        ({"SOLVER.STEPS": []}, "SOLVER.STEPS"),
        ({"SOLVER.LRS": [1, 0.1]}, "SOLVER.LRS"),
        ({"SOLVER.LR_POLICY": "linear"}, "SOLVER.LR_POLICY"),
        ({**MULTIGRID, "MULTIGRID.LONG_CYCLE_FACTORS": [(0, 1)]}, "MULTIGRID.LONG_CYCLE_FACTORS"),
        ({**MULTIGRID, "MULTIGRID.LONG_CYCLE_FACTORS": [(0.5,)]}, "MULTIGRID.LONG_CYCLE_FACTORS"),
        ({**MULTIGRID, "MULTIGRID.LONG_CYCLE_FACTORS": [(0.01, 1)]}, "MULTIGRID.LONG_CYCLE_FACTORS"),
        ({**MULTIGRID, "MULTIGRID.SHORT_CYCLE_FACTORS": [1.5]}, "MULTIGRID.SHORT_CYCLE_FACTORS"),
        ({**MULTIGRID, "MULTIGRID.SHORT_CYCLE_FACTORS": []}, "MULTIGRID.SHORT_CYCLE_FACTORS"),
        ({**MULTIGRID, "MULTIGRID.EPOCH_FACTOR": 0.0}, "MULTIGRID.EPOCH_FACTOR"),
        ({"TRAIN.BATCH_SIZE": 0}, "TRAIN.BATCH_SIZE"),
        ({"DATA.TRAIN_JITTER_SCALES": [320, 256]}, "DATA.TRAIN_JITTER_SCALES"),
        ({**MULTIGRID, "MULTIGRID.BN_GROUPING": "pixels"}, "MULTIGRID.BN_GROUPING"),
    ],
)
def test_invalid_settings_name_the_key(make_cfg, overrides, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        build_schedule(make_cfg(overrides))


@pytest.mark.parametrize("grouping, expected", [("clips", [8, 8, 8, 8]), ("values", [8, 16, 64, 512])])
def test_bn_group_size_per_global_batch(make_cfg, grouping, expected):
    cfg = make_cfg({**MULTIGRID, "TRAIN.BATCH_SIZE": 64, "MULTIGRID.BN_BASE_SIZE": 8,
                    "MULTIGRID.BN_GROUPING": grouping})
    schedule = build_schedule(cfg)
    assert [schedule.bn_group_size(batch) for batch in (64, 128, 512, 4096)] == expected
    # Under "values" every phase of every stage has as many BN groups as TRAIN.BATCH_SIZE (8).
    sizes = {size for stage in schedule.stages for size in stage.short_cycle_batch_sizes}
    groups = {size // schedule.bn_group_size(size) for size in sizes}
    assert groups == ({8} if grouping == "values" else {size // 8 for size in sizes})


@pytest.mark.slow
def test_schedule_modules_import_no_torch():
    code = (
        "import sys, slowfast.multigrid\n"
        "already = 'torch' in sys.modules\n"
        "import slowfast.multigrid.schedule, slowfast.multigrid.sampler, slowfast.multigrid.report\n"
        "sys.exit(not already and 'torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_one_config_gives_one_schedule_object_and_another_max_epoch_the_schedule_it_configures(make_cfg):
    cfg = make_cfg(MULTIGRID)
    assert build_schedule(cfg) is build_schedule(make_cfg(MULTIGRID))  # validation and the run share it
    longer = make_cfg({**MULTIGRID, "SOLVER.MAX_EPOCH": 300})
    assert build_schedule(cfg).with_max_epoch(300) == build_schedule(longer)
    assert build_schedule(cfg).with_max_epoch(300).max_epoch != build_schedule(cfg).max_epoch
