"""TRAIN.COMPILE: the schedule's shapes, dynamo's limits, an unchanged state dict, compile time counted."""
import functools
from pathlib import Path

import pytest
import torch
import torch._dynamo
from torch import nn

from slowfast.engine import compile as compile_module
from slowfast.engine import trainer as trainer_module
from slowfast.engine.compile import EXTRA_GRAPHS, compile_model, training_batch_shapes
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec
from slowfast.multigrid.schedule import build_schedule

MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
DYNAMO_LIMITS = ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit", "accumulated_cache_size_limit")


def dynamo_limits() -> dict:
    return {name: getattr(torch._dynamo.config, name) for name in DYNAMO_LIMITS
            if name in torch._dynamo.config._config}


@pytest.fixture(autouse=True)
def dynamo_limits_restored():
    """compile_model raises dynamo's process-wide limits; every test here leaves them as it found them."""
    before = dynamo_limits()
    with torch._dynamo.config.patch(before):
        yield
    assert dynamo_limits() == before


def test_training_shapes_are_every_stage_and_short_cycle_shape_per_device(make_cfg):
    cfg = make_cfg({"TRAIN.BATCH_SIZE": 2, "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [1, 1]]},
                   config_file=MG_CONFIG)
    schedule = build_schedule(cfg)
    expected = {(batch, shape.num_frames, shape.crop_size) for stage in schedule.stages
                for shape, batch in zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes)}
    assert training_batch_shapes(schedule, 1) == expected and len(expected) > 3
    assert training_batch_shapes(schedule, 2) == {(max(b // 2, 1), t, s) for b, t, s in expected}


def test_compile_raises_dynamo_limits_and_keeps_the_state_dict():
    torch._dynamo.config.recompile_limit = 8
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4))
    keys = list(model.state_dict())
    assert compile_model(model, 20, backend="eager") == 20 + EXTRA_GRAPHS
    assert torch._dynamo.config.recompile_limit == 20 + EXTRA_GRAPHS
    assert list(model.state_dict()) == keys
    x = torch.randn(2, 3, 2, 4, 4)
    model.eval()
    torch.testing.assert_close(model(x), model._orig_mod(x) if hasattr(model, "_orig_mod") else model.forward(x))


def test_dynamo_config_patch_restores_limits_without_deleting_them():
    before = dynamo_limits()
    with torch._dynamo.config.patch(before):
        compile_model(nn.Linear(2, 2), 50, backend="eager")
        assert torch._dynamo.config.recompile_limit == 50 + EXTRA_GRAPHS
    assert dynamo_limits() == before and torch._dynamo.config.recompile_limit == before["recompile_limit"]


def test_compiled_run_counts_the_first_step_of_a_shape_as_compile_time(make_cfg, read_stats, monkeypatch):
    # The eager backend traces and guards like inductor but generates no code (seconds, not
    # minutes); one training shape (baseline, 1 epoch) keeps the test short.
    eager = functools.partial(compile_module.compile_model, backend="eager")
    monkeypatch.setattr(trainer_module, "compile_model", eager)
    torch._dynamo.reset()
    cfg = make_cfg({"TRAIN.COMPILE": True, "TRAIN.BATCH_SIZE": 4, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False,
                    "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "SOLVER.WARMUP_EPOCHS": 0.0, "BN.USE_PRECISE_STATS": False,
                    "TRAIN.EVAL_PERIOD": 1, "TRAIN.CHECKPOINT_PERIOD": 1})
    run(build_run_spec(cfg))
    iters = read_stats(cfg.OUTPUT_DIR, "train_iter")
    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    assert "TRAIN.COMPILE: 1 training shapes" in log
    assert log.count("compiled the model for batch shape (4, 3, 8, 32, 32)") == 1
    (split,) = read_stats(cfg.OUTPUT_DIR, "time_split")
    assert split["compile_s"] > 0 and split["step_s"] > 0 and iters[-1]["iter"] == "8/8"
