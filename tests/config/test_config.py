from pathlib import Path

import pytest

from slowfast.config import ConfigError, get_cfg, load_config, merge_overrides
from slowfast.config.validation import validate_config


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_yaml_with_base_and_overrides(tmp_path):
    write(tmp_path, "base.yaml", "MODEL:\n  ARCH: i3d\n  MODEL_NAME: ResNet\nNUM_GPUS: 0\n"
                                 "SOLVER:\n  BASE_LR: 0.2\n  MAX_EPOCH: 7\nTRAIN:\n  BATCH_SIZE: 16\n")
    child = write(tmp_path, "child.yaml", "_BASE_: base.yaml\nSOLVER:\n  MAX_EPOCH: 9\n")
    cfg = load_config(child, ["SOLVER.WARMUP_EPOCHS", "2", "DATA.MEAN", "[0.5, 0.5, 0.5]"])
    assert cfg.SOLVER.BASE_LR == 0.2
    assert cfg.SOLVER.MAX_EPOCH == 9
    assert cfg.TRAIN.BATCH_SIZE == 16
    assert cfg.SOLVER.WARMUP_EPOCHS == 2.0 and isinstance(cfg.SOLVER.WARMUP_EPOCHS, float)
    assert cfg.DATA.MEAN == [0.5, 0.5, 0.5]
    assert cfg.is_frozen()


def test_unknown_key_in_file_names_file_and_suggests(tmp_path):
    path = write(tmp_path, "bad.yaml", "SOLVER:\n  BASE_LRR: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*unknown key SOLVER.BASE_LRR.*did you mean SOLVER.BASE_LR"):
        load_config(path)


def test_unknown_override_key():
    with pytest.raises(ConfigError, match=r"command-line override: unknown key TRAIN.BATCHSIZE"):
        load_config(None, ["TRAIN.BATCHSIZE", "8"])


def test_wrong_type_is_rejected():
    with pytest.raises(ConfigError, match=r"TRAIN.BATCH_SIZE expects a int.*got str 'eight'"):
        load_config(None, ["TRAIN.BATCH_SIZE", "eight"])


def test_odd_number_of_overrides():
    with pytest.raises(ConfigError, match="KEY VALUE pairs"):
        merge_overrides(get_cfg(), ["TRAIN.BATCH_SIZE"])


def test_missing_file():
    with pytest.raises(ConfigError, match="config file 'nope.yaml' not found"):
        load_config("nope.yaml")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["NUM_GPUS", "0", "TRAIN.BATCH_SIZE", "7", "NUM_SHARDS", "2"],
         r"TRAIN.BATCH_SIZE 7 must be a positive multiple of the number of devices 2"),
        (["DATA.TRAIN_CROP_SIZE", "300"], r"DATA.TRAIN_CROP_SIZE 300 is larger than the smallest jitter scale"),
        (["MODEL.ARCH", "x3d"], r"MODEL.ARCH is 'x3d'; expected one of"),
        (["MODEL.ARCH", "i3d"], r"MODEL.ARCH 'i3d' does not go with MODEL.MODEL_NAME 'SlowFast'"),
        (["RESNET.DEPTH", "34"], r"RESNET.DEPTH is 34; expected one of \[18, 50, 101\]"),
        (["MULTIGRID.JITTER_SCALING", "max"],
         r"MULTIGRID.JITTER_SCALING is 'max'; expected one of \['min', 'min_max'\]"),
        (["DATA.INPUT_CHANNEL_NUM", "[3]"], r"DATA.INPUT_CHANNEL_NUM needs 2 entries for MODEL.ARCH slowfast"),
        (["SOLVER.LR_POLICY", "linear"], r"SOLVER.LR_POLICY is 'linear'"),
        (["DATA.TRAIN_JITTER_SCALES", "[320, 256]"], r"DATA.TRAIN_JITTER_SCALES must be \[min, max\]"),
        (["SHARD_ID", "1"], r"SHARD_ID 1 must be in \[0, NUM_SHARDS 1\)"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4"],
         r"SYNTHETIC.NUM_CLASSES 4 differs from MODEL.NUM_CLASSES 400; set them equal"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "400"], r"SYNTHETIC.NUM_CLASSES must be in \[1, 16\]"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4", "MODEL.NUM_CLASSES", "4",
          "SYNTHETIC.SIZE", "15"], r"SYNTHETIC.SIZE must be even and >= 16"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4", "MODEL.NUM_CLASSES", "4",
          "SYNTHETIC.TEST_CLIPS_PER_CLASS", "-1"], r"SYNTHETIC.TEST_CLIPS_PER_CLASS must be >= 0"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4", "MODEL.NUM_CLASSES", "4",
          "TRAIN.DATASET", "ssv2", "SYNTHETIC.TEST_CLIPS_PER_CLASS", "5"],
         r"SYNTHETIC.TEST_CLIPS_PER_CLASS sizes the test split of the Kinetics layout only; TRAIN.DATASET 'ssv2'"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4", "MODEL.NUM_CLASSES", "4",
          "TRAIN.DATASET", "ava"], r"TRAIN.DATASET \(with SYNTHETIC.GENERATE True\) is 'ava'"),
        (["RESNET.TRANS_FUNC", "x3d_transform"], r"RESNET.TRANS_FUNC is 'x3d_transform'"),
        (["RESNET.TRANS_FUNC", "basic_transform", "RESNET.NUM_GROUPS", "32"],
         r"RESNET.NUM_GROUPS 32 needs RESNET.TRANS_FUNC bottleneck_transform"),
        (["NONLOCAL.INSTANTIATION", "gaussian"], r"NONLOCAL.INSTANTIATION is 'gaussian'"),
        (["BN.NORM_TYPE", "sync_batchnorm"], r"BN.NORM_TYPE is 'sync_batchnorm'"),
        (["TRAIN.CHECKPOINT_MINUTES", "-1.0"], r"TRAIN.CHECKPOINT_MINUTES must be >= 0 \(0 = off\), got -1.0"),
        (["TRAIN.CHECKPOINT_KEEP", "-2"], r"TRAIN.CHECKPOINT_KEEP must be >= 0 \(0 = keep all\), got -2"),
        (["DATA.DECODED_CACHE_DIR", "frames"],
         r"DATA.DECODED_CACHE_DIR 'frames' keeps the decoded cache, which is off \(DATA.DECODED_CACHE_GB 0\)"),
    ],
)
def test_inconsistent_values_stop_with_named_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["NUM_GPUS", "1", "RESNET.NUM_BLOCK_TEMP_KERNEL", "[[3, 3], [4, 4], [6, 6], [3, 3]]",
                           "RESNET.SPATIAL_STRIDES", "[[1, 1], [2, 2], [2, 2], [2, 2]]",
                           "RESNET.SPATIAL_DILATIONS", "[[1, 1], [1, 1], [1, 1], [1, 1]]",
                           "NONLOCAL.LOCATION", "[[[], []], [[], []], [[], []], [[], []]]", *overrides])


def test_defaults_are_not_valid_for_slowfast_without_two_pathway_lists():
    cfg = get_cfg()
    with pytest.raises(ConfigError, match=r"RESNET.NUM_BLOCK_TEMP_KERNEL must list 4 stages x 2 pathway"):
        validate_config(cfg)


@pytest.mark.parametrize(
    "key, value, note",
    [
        ("DIST_BACKEND", "gloo", "the backend follows the device"),
        ("MODEL.SINGLE_PATHWAY_ARCH", "['c2d']", "come from the model registry"),
        ("MODEL.MULTI_PATHWAY_ARCH", "['x3d']", "come from the model registry"),
        ("SOLVER.GAMMA", "0.5", "the relative LR of each LR stage comes from SOLVER.LRS"),
    ],
)
def test_retired_key_asking_for_something_stops_with_its_note(key, value, note):
    with pytest.raises(ConfigError) as raised:
        load_config(None, ["MODEL.ARCH", "i3d", "MODEL.MODEL_NAME", "ResNet", key, value])
    message = str(raised.value)
    assert message.startswith(f"command-line override: {key} ") and "was retired: " in message
    assert note in message and "remove the key" in message
    assert "unknown key" not in message and "\n" not in message


def test_old_config_yaml_with_retired_keys_loads_with_one_warning_each(tmp_path, caplog):
    old = write(tmp_path, "config.yaml",
                "TRAIN:\n  CHECKPOINT_EPOCH_RESET: False\nDIST_BACKEND: nccl\nMODEL:\n  ARCH: i3d\n"
                "  MODEL_NAME: ResNet\n  SINGLE_PATHWAY_ARCH: [c2d, i3d, slow]\n"
                "  MULTI_PATHWAY_ARCH: [slowfast]\nSOLVER:\n  BASE_LR: 0.2\n  GAMMA: 0.1\n")
    with caplog.at_level("WARNING", logger="slowfast.config.loading"):
        cfg = load_config(old, ["TRAIN.CHECKPOINT_EPOCH_RESET", "True"])
    assert cfg.MODEL.ARCH == "i3d" and "DIST_BACKEND" not in cfg
    assert cfg.SOLVER.BASE_LR == 0.2 and "GAMMA" not in cfg.SOLVER
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 6 and all("was retired and is ignored: " in line for line in lines)
    assert lines[4] == (f"config file '{old}': SOLVER.GAMMA was retired and is ignored: the relative LR of each LR "
                        "stage comes from SOLVER.LRS (PySlowFast's multigrid takes GAMMA**i, the same as LRS "
                        "[1, 0.1, 0.01, ...]); set SOLVER.LRS and remove the key")
    assert lines[0].startswith(f"config file '{old}': TRAIN.CHECKPOINT_EPOCH_RESET was retired")
    assert lines[-1].startswith("command-line override: TRAIN.CHECKPOINT_EPOCH_RESET was retired")


def test_architectures_come_from_the_model_registry():
    from slowfast.models.build import MODEL_ARCHS, architectures

    assert architectures() == {"c2d": ("ResNet", 1), "i3d": ("ResNet", 1), "slow": ("ResNet", 1),
                               "slowfast": ("SlowFast", 2)}
    assert set(MODEL_ARCHS) == {"ResNet", "SlowFast"}


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*/*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_shipped_config_writes_its_runs_to_its_own_folder_under_output(path):
    # Not "." (PySlowFast's): runs landed in the checkout, and a second config then met the first's checkpoints.
    assert load_config(str(path)).OUTPUT_DIR == f"output/{path.parent.name.lower()}_{path.stem.lower()}"
