import json
import logging
import os

import numpy as np
import pytest

from slowfast.config.defaults import get_defaults
from slowfast.datasets.build import build_dataset, ensure_synthetic_data
from slowfast.datasets.charades import Charades
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.spec import data_spec
from slowfast.datasets.ssv2 import Ssv2
from slowfast.datasets.synthetic import SyntheticOptions, ensure_synthetic_dataset, generate_dataset
from slowfast.datasets.synthetic.frames import render_multi_action_clip, ssv2_template

TINY = dict(num_classes=4, clips_per_class=2, num_frames=12, size=32, difficulty=1, seed=1)
OPTIONS = DatasetOptions(num_classes=4, num_frames=4, sampling_rate=2, train_jitter_scales=(32, 40),
                          train_crop_size=32, test_crop_size=32, num_ensemble_views=1, num_spatial_crops=1)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    folders = {}
    for layout in ("ssv2", "charades"):
        folders[layout] = str(tmp_path_factory.mktemp(layout))
        generate_dataset(folders[layout], SyntheticOptions(**TINY), layout)
    return folders


def read_json(folder, name):
    with open(os.path.join(folder, name)) as handle:
        return json.load(handle)


def test_ssv2_layout_files_and_labels(layouts):
    folder = layouts["ssv2"]
    labels = read_json(folder, "something-something-v2-labels.json")
    assert labels == {"Pushing something from right to left": "0", "Pushing something from left to right": "1",
                      "Moving something up": "2", "Moving something down": "3"}
    train = read_json(folder, "something-something-v2-train.json")
    validation = read_json(folder, "something-something-v2-validation.json")
    assert (len(train), len(validation)) == (8, 8)  # val: max(2, 2 // 4) per class
    assert len({entry["id"] for entry in train + validation}) == 16
    assert train[0]["template"] == "Pushing [something] from right to left"
    assert read_json(folder, "generator.json") == {**TINY, "layout": "ssv2"}
    with open(os.path.join(folder, "val.csv")) as handle:
        assert handle.readline() == "original_vido_id video_id frame_id path labels\n"
        assert handle.readline() == '1 0 0 frames/1/1_000001.jpg ""\n'
    dataset = Ssv2(folder, "train", OPTIONS)
    assert dataset.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert all(9 <= dataset.num_video_frames(v) <= 12 for v in range(8))
    clip, label, _ = dataset[5]
    assert clip.shape == (3, 4, 32, 32) and label == 2


def test_ssv2_templates_of_fast_classes():
    assert ssv2_template("moving_up_fast") == "Moving [something] up quickly"
    assert ssv2_template("growing") == "Approaching [something] with your camera"


def test_charades_layout_has_overlapping_per_frame_labels(layouts):
    folder = layouts["charades"]
    assert read_json(folder, "generator.json") == {**TINY, "layout": "charades"}
    dataset = Charades(folder, "train", OPTIONS)
    assert dataset.num_videos == 8 and dataset.video_id(0) == "T0000"
    frames = dataset.frames
    per_video_counts = [len(dataset.video_labels(v)) for v in range(8)]
    assert set(per_video_counts) <= {1, 2, 3} and max(per_video_counts) > 1
    for video in range(8):
        for class_id in dataset.video_labels(video):
            active = [class_id in frames.labels_of_span(video, t, t) for t in range(12)]
            first, last = active.index(True), 11 - active[::-1].index(True)
            assert all(active[first : last + 1])  # one contiguous interval per action
            assert 5 <= last - first + 1 <= 10  # 40-80 % of 12 frames
    _, label, _ = Charades(folder, "val", OPTIONS)[0]
    assert label.shape == (4,) and set(label.tolist()) <= {0.0, 1.0} and label.sum() >= 1


def test_actions_move_only_during_their_interval():
    frames, labels = render_multi_action_clip([2, 5], 20, 32, 0, np.random.default_rng(3))
    assert frames.shape == (20, 32, 32, 3)
    assert {c for frame in labels for c in frame} == {2, 5}
    changed = np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=(1, 2, 3)) > 0
    # Difficulty 0 has no noise: frames t and t + 1 differ exactly when an action is active in both.
    assert changed.tolist() == [bool(set(labels[t]) & set(labels[t + 1])) for t in range(19)]


def test_build_generates_the_layout_of_train_dataset(tmp_path, caplog):
    cfg = get_defaults()
    cfg.TRAIN.DATASET = cfg.TEST.DATASET = "charades"
    cfg.DATA.PATH_TO_DATA_DIR = str(tmp_path / "charades")
    cfg.DATA.MULTI_LABEL, cfg.MODEL.LOSS_FUNC = True, "bce_logit"
    cfg.MODEL.NUM_CLASSES = cfg.SYNTHETIC.NUM_CLASSES = 2
    cfg.SYNTHETIC.GENERATE = True
    cfg.SYNTHETIC.CLIPS_PER_CLASS, cfg.SYNTHETIC.NUM_FRAMES, cfg.SYNTHETIC.SIZE = 1, 6, 32
    data = data_spec(cfg)
    assert data.synthetic.layout == "charades"
    ensure_synthetic_data(data)
    assert isinstance(build_dataset(data, "test"), Charades)
    with caplog.at_level(logging.WARNING):
        assert not ensure_synthetic_dataset(cfg.DATA.PATH_TO_DATA_DIR, layout="ssv2", num_classes=2,
                                            clips_per_class=1, num_frames=6, size=32)
    assert "'layout': 'charades'" in caplog.text and "delete the folder to regenerate" in caplog.text
