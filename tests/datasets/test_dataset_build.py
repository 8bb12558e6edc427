import json
import logging
import os
import shutil

import pytest

from slowfast.config.defaults import get_defaults
from slowfast.datasets.build import DATASET_BUILDERS, build_dataset, fill_decoded_stores
from slowfast.datasets.errors import DataError
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.spec import KINETICS_FORMAT, MULTI_LABEL_DATASETS, SYNTHETIC_LAYOUTS, data_spec


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
    data = data_spec(cfg)
    train, val, test = (build_dataset(data, split) for split in ("train", "val", "test"))
    assert all(isinstance(dataset, Kinetics) for dataset in (train, val, test))
    assert (len(train), len(val), len(test)) == (6, 4, 4 * 2 * 3)
    assert (tmp_path / "synthetic" / "classes.json").is_file()


def test_test_split_uses_test_dataset_name(tmp_path):
    cfg = synthetic_cfg(tmp_path)
    cfg.TEST.DATASET = "nope"
    data = data_spec(cfg)
    build_dataset(data, "val")
    with pytest.raises(ValueError) as raised:
        build_dataset(data, "test")
    assert str(raised.value) == f"TEST.DATASET 'nope' is not a known dataset; choose one of {sorted(DATASET_BUILDERS)}"


@pytest.mark.parametrize("splits", [("train", "val", "test"), ("test",), ("train", "val"), ()])
def test_decoded_stores_are_filled_for_the_splits_asked_for(tmp_path, splits):
    cfg = synthetic_cfg(tmp_path / "synthetic")
    cfg.DATA.DECODED_CACHE_GB, cfg.DATA.DECODED_CACHE_DIR = 1.0, str(tmp_path / "decoded")
    fill_decoded_stores(data_spec(cfg), splits)
    written = sorted(name for name in os.listdir(tmp_path / "decoded") if name.endswith(".json")) if splits else []
    assert [name.split("-")[0] for name in written] == sorted(splits)
    for name in written:
        index = json.loads((tmp_path / "decoded" / name).read_text())
        assert len(index["videos"]) == (6 if name.startswith("train") else 4)
    cfg.DATA.DECODED_CACHE_DIR = ""
    fill_decoded_stores(data_spec(cfg), ("train", "val", "test"))  # no store asked for: nothing built or written


def test_every_dataset_the_spec_names_has_a_builder():
    assert set(SYNTHETIC_LAYOUTS) | set(MULTI_LABEL_DATASETS) | set(KINETICS_FORMAT) <= set(DATASET_BUILDERS)


def kinetics_cfg(data_dir, path_prefix=""):
    cfg = get_defaults()
    cfg.DATA.PATH_TO_DATA_DIR, cfg.DATA.PATH_PREFIX = data_dir, path_prefix
    cfg.MODEL.NUM_CLASSES = 3
    return cfg


def test_a_list_whose_files_all_exist_builds_without_a_warning(data_dir, caplog):
    with caplog.at_level(logging.WARNING):
        assert len(build_dataset(data_spec(kinetics_cfg(data_dir)), "train")) == 3
    assert caplog.text == ""


def test_a_few_missing_videos_are_a_warning_and_stay_listed(data_dir, caplog):
    os.remove(os.path.join(data_dir, "clips", "b.mp4"))
    with caplog.at_level(logging.WARNING):
        dataset = build_dataset(data_spec(kinetics_cfg(data_dir)), "train")
    assert len(dataset) == 3  # training draws another video for it, val/test count it as failed
    assert [record.getMessage() for record in caplog.records] == [
        f"1 of the 3 videos listed in {data_dir}/train.csv have no file (first: {data_dir}/clips/b.mp4); training "
        "draws other videos in their place, val/test count them as failed"]


def test_most_videos_missing_is_an_error_naming_list_files_and_counts(data_dir):
    for name in ("a", "c"):
        os.remove(os.path.join(data_dir, "clips", f"{name}.mp4"))
    with pytest.raises(DataError) as raised:
        build_dataset(data_spec(kinetics_cfg(data_dir)), "val")
    assert str(raised.value) == (
        f"2 of the 3 videos listed in {data_dir}/val.csv have no file, more than DATA.MAX_FAILED_SHARE 0.5 allows "
        f"(first: {data_dir}/clips/a.mp4, {data_dir}/clips/c.mp4); relative paths are read from the list's folder "
        f"{data_dir}: set DATA.PATH_PREFIX to the folder they are relative to, or fix the paths")


def test_a_wrong_path_prefix_is_an_error_naming_it(data_dir, tmp_path):
    wrong = str(tmp_path / "elsewhere")
    with pytest.raises(DataError) as raised:
        build_dataset(data_spec(kinetics_cfg(data_dir, path_prefix=wrong)), "train")
    assert str(raised.value) == (
        f"3 of the 3 videos listed in {data_dir}/train.csv have no file (first: {wrong}/clips/a.mp4, "
        f"{wrong}/clips/b.mp4, {wrong}/clips/c.mp4); relative paths are joined to DATA.PATH_PREFIX '{wrong}': "
        "check it, or fix the paths")


@pytest.mark.parametrize("dataset", ["charades", "ssv2"])
def test_frame_lists_whose_frames_are_missing_are_an_error(make_frame_list, tmp_path, dataset):
    folder = make_frame_list("val.csv", {"a": 3, "b": 2})
    if dataset == "ssv2":
        (tmp_path / "something-something-v2-labels.json").write_text('{"push": "0"}')
        entries = [{"id": "a", "template": "push"}, {"id": "b", "template": "push"}]
        (tmp_path / "something-something-v2-validation.json").write_text(json.dumps(entries))
    shutil.rmtree(tmp_path / "frames")
    cfg = get_defaults()
    cfg.TEST.DATASET, cfg.DATA.PATH_TO_DATA_DIR, cfg.MODEL.NUM_CLASSES = dataset, folder, 4
    cfg.DATA.MULTI_LABEL = dataset == "charades"
    cfg.MODEL.LOSS_FUNC = "bce_logit" if dataset == "charades" else "cross_entropy"
    with pytest.raises(DataError) as raised:
        build_dataset(data_spec(cfg), "test")
    assert str(raised.value) == (
        f"2 of the 2 videos listed in {folder}/val.csv have no file (first: {folder}/frames/a/a_000001.png, "
        f"{folder}/frames/b/b_000001.png); relative paths are read from the list's folder {folder}: set "
        "DATA.PATH_PREFIX to the folder they are relative to, or fix the paths")
