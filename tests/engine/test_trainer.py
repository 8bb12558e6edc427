"""The Trainer as a whole object: what dropping it frees."""
import gc
import weakref

import torch

from slowfast.engine.context import RunContext
from slowfast.engine.launch import prepare_output_dir
from slowfast.engine.run_spec import build_run_spec
from slowfast.engine.trainer import Trainer

RUN = {"SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TEST.ENABLE": False,
       "TRAIN.EVAL_PERIOD": 1, "TRAIN.CHECKPOINT_PERIOD": 1, "BN.USE_PRECISE_STATS": True,
       "BN.NUM_BATCHES_PRECISE": 1, "TENSORBOARD.ENABLE": True}


def test_dropping_a_trained_trainer_frees_it_and_its_datasets_without_the_cyclic_collector(make_cfg):
    spec = build_run_spec(make_cfg(RUN))
    prepare_output_dir(spec)
    trainer = Trainer(spec, RunContext(device=torch.device("cpu")))
    trainer.fit()  # an epoch with precise BN, validation, checkpoints and TensorBoard
    held = {name: weakref.ref(thing) for name, thing in [
        ("trainer", trainer), ("train set", trainer.train_set), ("val set", trainer.val_set),
        ("train loader", trainer.train_loader), ("model", trainer.model)]}
    gc.collect()
    gc.disable()
    try:
        del trainer
        assert [name for name, ref in held.items() if ref() is not None] == []
    finally:
        gc.enable()
