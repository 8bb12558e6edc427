"""A checkpoint written before hooks kept their own state (``epoch_sums``, best metrics in
``trainer_state``) resumes exactly: every part lands in the hook that owns it now, and the run
continues as the code that wrote it continued.

The fixture ``data/pre_hook_state/`` was written at commit e6e4f02 by
``data/make_pre_hook_state_checkpoint.py`` (its docstring has the command): the run below stopped
after its 12th of 27 iterations (epoch 4, batch 3; checkpoint_last.pyth), and ``expected.json``
holds what that code's resumed run ended with (digests of the weights and momentum, the trainer
state, the epoch records), the same as its uninterrupted run.
"""
import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine import launch
from slowfast.engine import trainer as trainer_module
from slowfast.engine.loop import HookBase
from slowfast.engine.run_spec import build_run_spec

FIXTURE = Path(__file__).parent / "data" / "pre_hook_state"
MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
# The script's OVERRIDES less what make_cfg already sets (TINY, the data and output folders).
OLD_RUN = {
    "RESNET.WIDTH_PER_GROUP": 4, "DATA.DECODED_CACHE_DIR": "", "MODEL.DROPOUT_RATE": 0.5, "TEST.ENABLE": False,
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 2.0, "MULTIGRID.BN_BASE_SIZE": 4, "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 2, "TRAIN.EVAL_PERIOD": 2, "TRAIN.CHECKPOINT_PERIOD": 2,
    "TRAIN.CHECKPOINT_MINUTES": 1e-9, "SOLVER.MAX_EPOCH": 3, "SOLVER.BASE_LR": 0.01,
    "SOLVER.LR_POLICY": "steps_with_relative_lrs", "SOLVER.STEPS": [0, 2], "SOLVER.LRS": [1, 0.1],
}
STOPPED_AFTER = 12
TIMING = ("dt", "dt_data", "eta", "time_s")


class Stop(Exception):
    """Ends a run early."""


def with_hook(monkeypatch, hook: HookBase) -> None:
    """Runs from here on build their hooks with ``hook`` last."""
    build_hooks = trainer_module.Trainer.build_hooks
    monkeypatch.setattr(trainer_module.Trainer, "build_hooks", lambda self: build_hooks(self) + [hook])


def old_run_folder(make_cfg, output: str):
    """The fixture's config in a new OUTPUT_DIR holding the old checkpoint."""
    cfg = make_cfg(OLD_RUN, output=output, config_file=MG_CONFIG)
    ckpt.checkpoint_dir(cfg.OUTPUT_DIR).mkdir(parents=True)
    shutil.copy(FIXTURE / "checkpoint_last.pyth", ckpt.last_checkpoint_path(cfg.OUTPUT_DIR))
    return cfg


def test_an_old_checkpoint_gives_each_part_to_the_hook_that_owns_it_now(make_cfg, monkeypatch):
    old = torch.load(FIXTURE / "checkpoint_last.pyth", weights_only=True)
    seen = {}

    class Probe(HookBase):
        """Looks at the resumed run where its first epoch starts, then stops it."""

        def before_epoch(self):
            trainer = self.trainer
            seen.update(position=(trainer.epoch, trainer.first_batch), state=trainer.state.state_dict(),
                        hooks=trainer.hook_states(), torch_rng=torch.get_rng_state(),
                        numpy_rng=np.random.get_state()[1], python_rng=random.getstate())
            raise Stop

    with_hook(monkeypatch, Probe())
    with pytest.raises(Stop):
        launch.run(build_run_spec(old_run_folder(make_cfg, "probe")))
    assert seen["position"] == (old["epoch"], old["next_batch"]) == (3, 3)
    sums, trainer_state = old["epoch_sums"], old["trainer_state"]
    assert seen["state"] == {key: trainer_state[key] for key in ("global_iter", "samples_seen", "time_split")}
    assert seen["hooks"] == {
        "EpochStats": {key: sums[key] for key in ("loss", "correct", "samples", "steps", "has_correct")},
        "DataHealth": {key: sums[key] for key in ("skipped_videos", "requested_clips", "failed_videos")},
        "Evaluation": {key: trainer_state[key] for key in ("best_top1", "best_top5")},
    }
    assert seen["hooks"]["DataHealth"]["requested_clips"] == 16 and seen["hooks"]["EpochStats"]["steps"] == 3
    assert torch.equal(seen["torch_rng"], old["rng_state"]["torch"])
    assert np.array_equal(seen["numpy_rng"], old["rng_state"]["numpy"][1].numpy().astype(np.uint32))
    assert seen["python_rng"] == old["rng_state"]["python"]


def digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()[:16]


def test_an_old_checkpoint_resumes_and_ends_as_the_code_that_wrote_it_ended(make_cfg, monkeypatch, read_metrics):
    expected = json.loads((FIXTURE / "expected.json").read_text())
    old = torch.load(FIXTURE / "checkpoint_last.pyth", weights_only=True)

    # Exactness holds on one machine for one data pipeline: first, does this checkout on this
    # machine train the fixture's first iterations as the code that wrote it did?
    class StopAfter(HookBase):
        def after_step(self):
            if self.trainer.state.global_iter == STOPPED_AFTER:
                raise Stop

    with monkeypatch.context() as patch:
        with_hook(patch, StopAfter())
        fresh = make_cfg(OLD_RUN, output="fresh", config_file=MG_CONFIG)
        with pytest.raises(Stop):
            launch.run(build_run_spec(fresh))
    ours = torch.load(ckpt.last_checkpoint_path(fresh.OUTPUT_DIR), weights_only=True)
    if not all(torch.equal(ours["model_state"][key], value) for key, value in old["model_state"].items()):
        pytest.skip("the fixture's first 12 iterations train to other weights here than where the fixture was "
                    "written (another CPU's kernels or codec, or a change to data loading or training since "
                    "e6e4f02): the old code's continuation cannot be compared")

    cfg = old_run_folder(make_cfg, "resumed")
    launch.run(build_run_spec(cfg))
    final = ckpt.load_checkpoint_file(ckpt.checkpoint_path(cfg.OUTPUT_DIR, 5))
    assert {key: digest(value) for key, value in final["model_state"].items()} == expected["final"]["model_state"]
    momentum = {str(i): digest(s["momentum_buffer"]) for i, s in final["optimizer_state"]["state"].items()}
    assert momentum == expected["final"]["momentum_buffers"]
    # The old flat trainer state is now the loop's counters and the evaluation hook's best metrics.
    old_state = dict(expected["final"]["trainer_state"])
    assert sorted(final["trainer_state"].pop("time_split")) == old_state.pop("time_split_stages")
    assert final["trainer_state"] | final["hooks"]["Evaluation"] == old_state
    records = {f"{r['_type']} {r['epoch']}": {k: v for k, v in r.items() if k not in TIMING}
               for kind in ("train_epoch", "val_epoch") for r in read_metrics(cfg.OUTPUT_DIR, kind)}
    assert set(records) == {f"{kind} {epoch}/6" for kind in ("train_epoch", "val_epoch") for epoch in (4, 5, 6)}
    assert records == {key: expected["records"][key] for key in records}
