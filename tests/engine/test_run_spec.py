"""The run spec: every section's values for a tiny config, its moved rules' one-line errors, one schedule."""
import pickle
import re
from pathlib import Path

import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.engine.context import PlaceSpec, RunContext
from slowfast.engine.final_test_spec import FinalTestSpec
from slowfast.engine.inputs import input_shapes
from slowfast.engine.run_spec import build_run_spec
from slowfast.engine.solver_spec import SolverSpec
from slowfast.engine.train_spec import TrainSpec
from slowfast.engine.trainer import Trainer
from slowfast.multigrid.schedule import build_schedule

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC_R18 = str(ROOT / "configs" / "Synthetic" / "SLOWFAST_R18.yaml")
ENGINE = ROOT / "slowfast" / "engine"
# SLOWFAST_R18.yaml shrunk (as tests/engine/conftest.py TINY), with a few values of each section changed.
TINY = ["SYNTHETIC.GENERATE", "False", "MODEL.NUM_CLASSES", "4", "RESNET.WIDTH_PER_GROUP", "8",
        "DATA.NUM_FRAMES", "8", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[32, 40]",
        "DATA.TEST_CROP_SIZE", "32", "DATA.DECODED_CACHE_GB", "0.0", "DATA.DECODED_CACHE_DIR", "",
        "DATA_LOADER.NUM_WORKERS", "0", "TRAIN.BATCH_SIZE", "8", "TEST.BATCH_SIZE", "8", "LOG_PERIOD", "1",
        "LOG_MODEL_INFO", "False", "SOLVER.MOMENTUM", "0.8", "BN.WEIGHT_DECAY", "0.001",
        "MODEL.HEAD_ACT", "sigmoid", "TRAIN.CHANNELS_LAST", "True", "TRAIN.NON_FINITE_LOSS", "skip",
        "TRAIN.CHECKPOINT_MINUTES", "5.0", "TRAIN.CHECKPOINT_KEEP", "3", "TEST.SAVE_RESULTS_PATH", "scores.pyth",
        "TEST.CHECKPOINT_FILE_PATH", "/weights/k400.pkl", "TEST.CHECKPOINT_TYPE", "caffe2"]


def tiny(tmp_path: Path, *overrides: str):
    return load_config(SYNTHETIC_R18, [*TINY, "OUTPUT_DIR", str(tmp_path / "run"), *overrides])


def test_each_section_holds_the_checked_values_of_its_keys(tmp_path):
    cfg = tiny(tmp_path)
    spec = build_run_spec(cfg)
    assert spec.solver == SolverSpec(
        optimizing_method="sgd", momentum=0.8, dampening=0.0, nesterov=True, weight_decay=1e-4, bn_weight_decay=0.001,
        loss_func="cross_entropy", head_act="sigmoid", mixed_precision=False, channels_last=True, compile=False,
        non_finite_loss="skip",
    )
    assert spec.solver.skip_non_finite and spec.solver.memory_format == torch.channels_last_3d
    assert spec.place == PlaceSpec(num_gpus=0, num_shards=1, shard_id=0, rng_seed=0,
                                   output_dir=str(tmp_path / "run"), log_period=1, log_model_info=False,
                                   tensorboard=False, tensorboard_log_dir="")
    assert spec.place.num_devices == 1
    assert spec.train == TrainSpec(enable=True, auto_resume=True, checkpoint_file_path="", checkpoint_type="pytorch",
                                   checkpoint_inflate=False, checkpoint_reinit_head=False, expect_pretrained=False,
                                   checkpoint_minutes=5.0, checkpoint_keep=3, precise_bn=True, precise_bn_batches=10)
    assert spec.test == FinalTestSpec(enable=True, checkpoint_file_path="/weights/k400.pkl", checkpoint_type="caffe2",
                                      batch_size=8, save_results_path="scores.pyth", allow_random_init=False)
    model = spec.model
    assert (model.arch, model.num_classes, model.input_channels, model.fusion.alpha) == ("slowfast", 4, (3, 3), 4)
    data = spec.data
    assert (data.train_dataset, data.options.num_frames, data.options.test_crop_size, data.num_workers) == (
        "kinetics", 8, 32, 0)
    schedule = spec.schedule
    assert (schedule.max_epoch, len(schedule.stages), schedule.stages[0].batch_size, schedule.base_lr) == (
        32, 1, 8, 0.0125)
    assert (schedule.spec.num_frames, schedule.spec.crop_size, schedule.bn_groups.base_size) == (8, 32, None)
    assert spec.config_yaml == cfg.dump()


def test_the_spec_survives_pickling_to_spawned_workers(tmp_path):
    spec = build_run_spec(tiny(tmp_path, "MULTIGRID.SHORT_CYCLE", "True", "MULTIGRID.BN_BASE_SIZE", "4"))
    assert spec.schedule.bn_groups.base_size == 4 and len(spec.schedule.stages[0].short_cycle_shapes) == 3
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_input_shapes_follow_the_model_s_pathways(tmp_path):
    slowfast = build_run_spec(tiny(tmp_path)).model
    assert input_shapes(slowfast, 8, 32) == [(3, 2, 32, 32), (3, 8, 32, 32)]
    i3d = load_config(str(ROOT / "configs" / "Kinetics" / "I3D_8x8_R50.yaml"), ["OUTPUT_DIR", str(tmp_path)])
    assert input_shapes(build_run_spec(i3d).model, 8, 224) == [(3, 8, 224, 224)]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["MODEL.LOSS_FUNC", "hinge"], "MODEL.LOSS_FUNC is 'hinge'; expected one of ['cross_entropy', 'bce_logit']"),
        (["MODEL.HEAD_ACT", "relu"], "MODEL.HEAD_ACT is 'relu'; expected one of ['softmax', 'sigmoid']"),
        (["SOLVER.OPTIMIZING_METHOD", "adam"], "SOLVER.OPTIMIZING_METHOD is 'adam'; expected one of ['sgd']"),
        (["TRAIN.NON_FINITE_LOSS", "ignore"], "TRAIN.NON_FINITE_LOSS is 'ignore'; expected one of ['stop', 'skip']"),
        (["SOLVER.BASE_LR", "0.0"], "SOLVER.BASE_LR must be > 0, got 0.0"),
        (["SOLVER.WARMUP_EPOCHS", "40.0"], "SOLVER.WARMUP_EPOCHS 40.0 must be in [0, SOLVER.MAX_EPOCH 32]"),
        (["NUM_GPUS", "-1"], "NUM_GPUS must be >= 0 (0 = CPU), got -1"),
        (["NUM_SHARDS", "2", "SHARD_ID", "2"], "SHARD_ID 2 must be in [0, NUM_SHARDS 2)"),
        (["LOG_PERIOD", "0"], "LOG_PERIOD must be >= 1, got 0"),
        (["BN.NUM_BATCHES_PRECISE", "-1"], "BN.NUM_BATCHES_PRECISE must be >= 0, got -1"),
        (["TRAIN.CHECKPOINT_KEEP", "-1"], "TRAIN.CHECKPOINT_KEEP must be >= 0 (0 = keep all), got -1"),
        (["DATA.MULTI_LABEL", "True"], "DATA.MULTI_LABEL True needs MODEL.LOSS_FUNC bce_logit"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "6"],
         "SYNTHETIC.NUM_CLASSES 6 differs from MODEL.NUM_CLASSES 4; set them equal"),
        (["NUM_SHARDS", "2", "TEST.BATCH_SIZE", "3"],
         "TEST.BATCH_SIZE 3 must be a positive multiple of the number of devices 2 (NUM_GPUS 0 x NUM_SHARDS 2)"),
        # make_schedule's own refusal, which used to leave load_config as a bare ValueError.
        (["MULTIGRID.SHORT_CYCLE", "True", "MULTIGRID.EPOCH_FACTOR", "0.01"],
         "SOLVER.MAX_EPOCH 32 x MULTIGRID.EPOCH_FACTOR 0.01 leaves no epoch to train; raise one of them"),
    ],
)
def test_a_moved_rule_stops_loading_with_its_one_line_error(tmp_path, overrides, message):
    with pytest.raises(ConfigError) as raised:
        tiny(tmp_path, *overrides)
    assert str(raised.value) == message


def test_the_trainer_uses_the_one_schedule_the_spec_built(make_cfg):
    cfg = make_cfg({"SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1]})
    spec = build_run_spec(cfg)
    assert build_schedule(cfg) is spec.schedule  # memoised: validation, the spec and any rebuild share it
    trainer = Trainer(spec, RunContext(torch.device("cpu")))
    assert trainer.schedule is spec.schedule and trainer.sampler.schedule is spec.schedule


def test_below_the_spec_builders_the_engine_reads_no_config():
    readers = {path.name for path in ENGINE.rglob("*.py") if re.search(r"\bcfg\.[A-Z]", path.read_text())}
    assert readers == {"context.py", "final_test_spec.py", "solver_spec.py", "train_spec.py"}
    takes_config = {path.name for path in ENGINE.rglob("*.py") if "CfgNode" in path.read_text()}
    assert takes_config == {"context.py", "final_test_spec.py", "run_spec.py", "solver_spec.py", "train_spec.py"}
