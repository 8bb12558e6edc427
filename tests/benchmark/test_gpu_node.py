"""Will the loader keep up on a GPU node: the per-stage arithmetic on hand-computed numbers."""
import pytest

from slowfast.benchmark.gpu_node import Phase, gpu_seconds_per_clip, predict_stage, stage_phases, summarize_run
from slowfast.multigrid.schedule import Stage
from slowfast.multigrid.shape import ClipShape


def test_a_stage_runs_at_the_slower_of_loader_and_gpu():
    # Per epoch: loader (100 x 0.1 + 50 x 0.2) / 4 cores = 5 s; GPU 100 x 0.01 + 50 x 0.04 = 3 s. Two epochs.
    phases = [Phase(clips=100, cpu_s_per_clip=0.1, gpu_s_per_clip=0.01),
              Phase(clips=50, cpu_s_per_clip=0.2, gpu_s_per_clip=0.04)]
    stage = predict_stage(3, 2, "8x112", phases, cores_per_gpu=4)
    assert stage.clips_per_gpu == 300
    assert (stage.loader_s, stage.gpu_s, stage.predicted_s) == pytest.approx((10.0, 6.0, 10.0))
    assert (stage.loader_clips_per_s, stage.gpu_clips_per_s) == pytest.approx((30.0, 50.0))
    assert stage.headroom == pytest.approx(0.6) and stage.bound == "loader"
    fast = predict_stage(4, 1, "8x112", phases, cores_per_gpu=16)  # loader 1.25 s < GPU 3 s
    assert fast.bound == "gpu" and fast.predicted_s == pytest.approx(3.0) and fast.headroom == pytest.approx(2.4)
    run = summarize_run([stage, fast])
    assert run["gpu_bound_s"] == pytest.approx(9.0) and run["predicted_s"] == pytest.approx(13.0)
    assert run["efficiency"] == pytest.approx(9.0 / 13.0) and run["predicted_hours"] == pytest.approx(13.0 / 3600)
    assert run["loader_bound_stages"] == [3]
    with pytest.raises(ValueError, match="cores per GPU must be > 0"):
        predict_stage(0, 1, "8x112", phases, cores_per_gpu=0)


def test_phases_hold_each_short_cycle_shapes_clips_per_gpu():
    small, base = ClipShape(8, 112, (2, 8), (128, 320)), ClipShape(8, 158, (2, 8), (181, 320))
    stage = Stage(index=0, start_epoch=0, end_epoch=2, num_frames=8, crop_size=158, batch_multiplier=8,
                  batch_size=16, lr_multiplier=1.0, sampling_rate=(2, 8), short_cycle_shapes=(small, base, base),
                  short_cycle_batch_sizes=(32, 16, 16))
    # 100 clips: one 64-clip cycle, then 36 left: one more batch of 32 -> 2, 1, 1 batches; per device /4.
    phases = stage_phases(stage, 100, 4, {small: 0.5, base: 1.0}, {(8, 112): 0.01, (8, 158): 0.02})
    assert phases == [Phase(16, 0.5, 0.01), Phase(4, 1.0, 0.02), Phase(4, 1.0, 0.02)]


def test_missing_step_times_take_the_nearest_shapes_seconds_per_gflop():
    gflops = {(8, 112): 1.0, (16, 112): 2.0, (32, 112): 4.0, (32, 224): 16.0, (16, 224): 8.0, (8, 224): 4.0}
    measured = {(8, 112): (0.2, 100), (32, 224): (0.1, 10)}
    steps = gpu_seconds_per_clip(measured, [(8, 112), (16, 112), (16, 224), (32, 224)], lambda t, s: gflops[t, s])
    assert steps[(8, 112)].gpu_s_per_clip == pytest.approx(0.002) and steps[(8, 112)].source == "measured at batch 100"
    assert steps[(16, 112)].gpu_s_per_clip == pytest.approx(0.004)  # 2x the FLOPs of 8x112
    assert steps[(16, 112)].source == "scaled by FLOPs (x2) from 8x112 at batch 100"
    assert steps[(16, 224)].gpu_s_per_clip == pytest.approx(0.005)  # half of 32x224's
    assert steps[(32, 224)].gpu_s_per_clip == pytest.approx(0.01)
    # 32x112 is 4x 8x112 and a quarter of 32x224: a tie goes to the larger shape.
    tie = gpu_seconds_per_clip(measured, [(32, 112)], lambda t, s: gflops[t, s])[(32, 112)]
    assert tie.gpu_s_per_clip == pytest.approx(0.0025) and "from 32x224" in tie.source
    with pytest.raises(ValueError, match="no rows for the chosen precision"):
        gpu_seconds_per_clip({}, [(8, 112)], lambda t, s: 1.0)
