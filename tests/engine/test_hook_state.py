"""A hook with state of its own resumes exactly with nothing but the hook and one line in
``build_hooks``: no change to the loop, the trainer or the checkpoint code.

The example is a weight EMA (detectron2 and timm keep one as a hook / a model copy): it is
defined here and added by a ``build_hooks`` override, not shipped as a feature.
"""
import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine import launch
from slowfast.engine.loop import HookBase
from slowfast.engine.run_spec import build_run_spec
from slowfast.engine.trainer import Trainer
from slowfast.utils.distributed import unwrap

# The tiny baseline run: 2 epochs of 4 iterations, a "last" checkpoint after every iteration,
# dropout on (so the RNG state must travel too).
RUN = {
    "SOLVER.MAX_EPOCH": 2, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "SOLVER.BASE_LR": 0.05,
    "TRAIN.EVAL_PERIOD": 1, "TRAIN.CHECKPOINT_PERIOD": 1, "TRAIN.CHECKPOINT_MINUTES": 1e-9,
    "MODEL.DROPOUT_RATE": 0.5, "TEST.ENABLE": False,
}
ITERATIONS, STOP_AFTER = 8, 5  # the run stops inside its second epoch


class WeightEMA(HookBase):
    """An exponential moving average of the model's floating-point parameters and buffers, moved
    after every step that updated them: ``average += (1 - decay) * (weights - average)``. It goes
    before the checkpointers, so a checkpoint written after a step holds that step's average."""

    def __init__(self, decay: float) -> None:
        self.decay, self.updates = decay, 0
        self.average: dict[str, torch.Tensor] = {}

    def weights(self) -> dict[str, torch.Tensor]:
        model = unwrap(self.trainer.model)
        return {name: value for name, value in model.state_dict().items() if value.is_floating_point()}

    def before_train(self) -> None:
        if not self.average:  # a resumed run has its average already
            self.average = {name: value.detach().clone() for name, value in self.weights().items()}

    @torch.no_grad()
    def after_step(self) -> None:
        if self.trainer.step.skipped:
            return
        for name, value in self.weights().items():
            self.average[name].lerp_(value, 1 - self.decay)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "average": self.average}

    def load_state_dict(self, state: dict) -> None:
        weights = self.weights()
        self.updates = state["updates"]
        self.average = {name: value.to(weights[name].device).clone() for name, value in state["average"].items()}


class EMATrainer(Trainer):
    def build_hooks(self) -> list[HookBase]:
        return [WeightEMA(decay=0.9)] + super().build_hooks()


class Stop(Exception):
    """Stands for a kill."""


class StopAfter(HookBase):
    def after_step(self) -> None:
        if self.trainer.state.global_iter == STOP_AFTER:
            raise Stop


class StoppingEMATrainer(EMATrainer):
    def build_hooks(self) -> list[HookBase]:
        return super().build_hooks() + [StopAfter()]


def final_checkpoint(cfg) -> dict:
    return ckpt.load_checkpoint_file(ckpt.checkpoint_path(cfg.OUTPUT_DIR, RUN["SOLVER.MAX_EPOCH"] - 1))


def test_a_weight_ema_hook_is_saved_and_resumed_exactly(make_cfg, monkeypatch):
    monkeypatch.setattr(launch, "Trainer", EMATrainer)
    whole = make_cfg(RUN, output="whole")
    launch.run(build_run_spec(whole))
    killed = make_cfg(RUN, output="killed")
    monkeypatch.setattr(launch, "Trainer", StoppingEMATrainer)
    with pytest.raises(Stop):
        launch.run(build_run_spec(killed))
    stopped = ckpt.load_checkpoint_file(ckpt.last_checkpoint_path(killed.OUTPUT_DIR))
    assert (stopped["epoch"], stopped["next_batch"], stopped["hooks"]["WeightEMA"]["updates"]) == (1, 1, STOP_AFTER)
    monkeypatch.setattr(launch, "Trainer", EMATrainer)
    launch.run(build_run_spec(killed))

    expected, actual = final_checkpoint(whole), final_checkpoint(killed)
    ema, resumed_ema = expected["hooks"]["WeightEMA"], actual["hooks"]["WeightEMA"]
    assert ema["updates"] == resumed_ema["updates"] == ITERATIONS and ema["decay"] == 0.9
    assert ema["average"].keys() == resumed_ema["average"].keys()
    for name, value in ema["average"].items():
        assert torch.equal(value, resumed_ema["average"][name]), name
        assert torch.equal(expected["model_state"][name], actual["model_state"][name]), name
    # An average of the weights along the run, not the weights themselves.
    weight = "head.projection.weight"
    assert not torch.equal(ema["average"][weight], expected["model_state"][weight])
