import json
import os

import pytest

from slowfast.config.defaults import get_defaults
from slowfast.datasets.build import DATASET_BUILDERS, build_dataset, dataset_options, fill_decoded_stores
from slowfast.datasets.kinetics import Kinetics


def synthetic_cfg(data_dir):
    cfg = get_defaults()
    cfg.TRAIN.DATASET = "synthetic"
    cfg.TEST.DATASET = "synthetic"
    cfg.DATA.PATH_TO_DATA_DIR = str(data_dir)
    cfg.MODEL.NUM_CLASSES = 2
    cfg.SYNTHETIC.GENERATE = True
    cfg.SYNTHETIC.NUM_CLASSES = 2
    cfg.SYNTHETIC.CLIPS_PER_CLASS = 3
    cfg.SYNTHETIC.NUM_FRAMES = 8
    cfg.SYNTHETIC.SIZE = 32
    cfg.TEST.NUM_ENSEMBLE_VIEWS = 2
    cfg.TEST.NUM_SPATIAL_CROPS = 3
    return cfg


def test_synthetic_is_generated_then_read_as_kinetics(tmp_path):
    cfg = synthetic_cfg(tmp_path / "synthetic")
    train, val, test = (build_dataset(cfg, split) for split in ("train", "val", "test"))
    assert all(isinstance(dataset, Kinetics) for dataset in (train, val, test))
    assert (len(train), len(val), len(test)) == (6, 4, 4 * 2 * 3)
    assert (tmp_path / "synthetic" / "classes.json").is_file()


def test_test_split_uses_test_dataset_name(tmp_path):
    cfg = synthetic_cfg(tmp_path)
    cfg.TEST.DATASET = "nope"
    build_dataset(cfg, "val")
    with pytest.raises(ValueError, match="TEST.DATASET 'nope' is not a known dataset; choose one of"):
        build_dataset(cfg, "test")


def test_class_count_mismatch_is_reported(tmp_path):
    cfg = synthetic_cfg(tmp_path)
    cfg.MODEL.NUM_CLASSES = 3
    with pytest.raises(ValueError, match="SYNTHETIC.NUM_CLASSES=2 differs from MODEL.NUM_CLASSES=3"):
        build_dataset(cfg, "train")


@pytest.mark.parametrize("train, test, splits", [(True, True, ["test", "train", "val"]), (False, True, ["test"]),
                                                  (True, False, ["train", "val"]), (False, False, [])])
def test_decoded_stores_are_filled_for_the_splits_a_run_reads(tmp_path, train, test, splits):
    cfg = synthetic_cfg(tmp_path / "synthetic")
    cfg.TRAIN.ENABLE, cfg.TEST.ENABLE = train, test
    cfg.DATA.DECODED_CACHE_GB, cfg.DATA.DECODED_CACHE_DIR = 1.0, str(tmp_path / "decoded")
    fill_decoded_stores(cfg)
    written = sorted(name for name in os.listdir(tmp_path / "decoded") if name.endswith(".json")) if splits else []
    assert [name.split("-")[0] for name in written] == splits
    for name in written:
        index = json.loads((tmp_path / "decoded" / name).read_text())
        assert len(index["videos"]) == (6 if name.startswith("train") else 4)
    cfg.DATA.DECODED_CACHE_DIR = ""
    fill_decoded_stores(cfg)  # no store asked for: nothing built, nothing written


def test_options_come_from_the_config():
    cfg = get_defaults()
    options = dataset_options(cfg)
    assert (options.num_frames, options.sampling_rate, options.train_jitter_scales) == (8, 8, (256, 320))
    assert (options.num_ensemble_views, options.num_spatial_crops, options.seed) == (10, 3, cfg.RNG_SEED)
    assert {"kinetics", "synthetic"} <= set(DATASET_BUILDERS)
