import logging
import os
from collections import Counter

import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.datasets.charades import Charades, multi_hot
from slowfast.datasets.clip_items import train_generators
from slowfast.datasets.loader import build_eval_loader, build_train_loader
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.temporal_sampling import strided_frame_indices, strided_train_indices
from slowfast.engine.metrics import ViewEnsemble
from slowfast.multigrid.schedule import build_schedule
from slowfast.multigrid.shape import ClipShape

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
OPTIONS = DatasetOptions(
    num_classes=4,
    num_frames=3,
    sampling_rate=2,
    train_jitter_scales=(32, 40),
    train_crop_size=32,
    test_crop_size=32,
    num_ensemble_views=2,
    num_spatial_crops=1,
    seed=4,
)
# Frame labels of video "a" (12 frames) and "b" (5 frames); class 3 never occurs.
LABELS = {
    "a": ["0", "0", "", "", "1", "1,2", "2", "2", "", "", "0", "0"],
    "b": ["", "1", "1", "", ""],
}


@pytest.fixture()
def charades_dir(make_frame_list):
    make_frame_list("train.csv", {"a": 12, "b": 5}, LABELS)
    return make_frame_list("val.csv", {"a": 12, "b": 5}, LABELS)


def test_multi_hot_hand_computed():
    assert multi_hot(np.array([0, 2]), 4).tolist() == [1.0, 0.0, 1.0, 0.0]


def test_training_label_is_the_union_over_the_sampled_span(charades_dir, clip_frame_numbers):
    dataset = Charades(charades_dir, "train", OPTIONS)
    shape = ClipShape(num_frames=2, crop_size=24, sampling_rate=(2, 4), jitter_scales=(28, 36))
    per_frame = [set(int(c) for c in text.split(",") if c) for text in LABELS["a"]]
    spans = set()
    for draw in range(40):
        clip, label, index = dataset[(0, shape, draw)]
        assert clip.shape == (3, 2, 24, 24) and index == 0 and label.dtype == torch.float32
        first, last = clip_frame_numbers(clip)
        assert last - first in (2, 3, 4)  # the sampling rate range
        expected = set().union(*per_frame[first : last + 1])  # frames between the samples count too
        assert set(np.flatnonzero(label.numpy()).tolist()) == expected
        spans.add((first, last))
    assert len(spans) > 5


def test_val_and_test_labels_are_the_video_union(charades_dir, clip_frame_numbers):
    val = Charades(charades_dir, "val", OPTIONS)
    clip, label, index = val[0]
    assert label.tolist() == [1.0, 1.0, 1.0, 0.0] and index == 0
    assert clip_frame_numbers(clip) == [4, 6, 8]  # span 5 of 12 frames: start round(7 / 2) = 4
    test = Charades(charades_dir, "test", OPTIONS)
    assert len(test) == 2 * 2
    assert [clip_frame_numbers(test[entry][0]) for entry in (0, 1)] == [[0, 2, 4], [7, 9, 11]]
    clip, label, index = test[3]
    assert label.tolist() == [0.0, 1.0, 0.0, 0.0] and index == 3
    assert clip_frame_numbers(clip) == [0, 2, 4]  # 5 frames: both views start at 0


def test_train_item_follows_each_multigrid_shape(charades_dir, clip_frame_numbers):
    cfg = load_config(os.path.join(CONFIGS, "Synthetic", "CHARADES_SLOWFAST_R18_MG.yaml"))
    shapes = {shape for stage in build_schedule(cfg).stages for shape in stage.short_cycle_shapes}
    rates = {shape.sampling_rate for shape in shapes}
    assert {shape.num_frames for shape in shapes} == {4, 8, 16} and (2, 8) in rates and (2, 2) in rates
    dataset = Charades(charades_dir, "train", OPTIONS)
    for shape in shapes:
        clip, label, index = dataset[(0, shape, 1)]
        assert clip.shape == (3, shape.num_frames, shape.crop_size, shape.crop_size)
        numbers = clip_frame_numbers(clip)
        low, high = shape.sampling_rate
        explanations = [
            (start, rate) for rate in range(low, high + 1) for start in range(-high * shape.num_frames, 12)
            if strided_frame_indices(12, start, shape.num_frames, rate).tolist() == numbers
        ]
        assert explanations, f"{numbers} is not a clamped stride in {shape.sampling_rate}"


def test_train_clips_are_the_strided_policy_on_the_item_draws(charades_dir, clip_frame_numbers):
    # Video "a" has 12 frames, "b" 5; 3 frames, rates 1-4, draws 0-5 of each.
    dataset = Charades(charades_dir, "train", OPTIONS)
    shape = ClipShape(num_frames=3, crop_size=24, sampling_rate=(1, 4), jitter_scales=(28, 36))
    expected = {
        0: [[5, 8, 11], [1, 4, 7], [2, 4, 6], [6, 8, 10], [5, 8, 11], [2, 6, 10]],
        1: [[0, 2, 4], [0, 1, 4], [0, 2, 4], [0, 4, 4], [1, 2, 3], [0, 2, 4]],
    }
    for video, clips in expected.items():
        assert [clip_frame_numbers(dataset[(video, shape, draw)][0]) for draw in range(6)] == clips
        for draw, clip in enumerate(clips):
            rng, _ = train_generators(OPTIONS.seed, video, draw, Counter())
            assert strided_train_indices(dataset.num_video_frames(video), 3, (1, 4), rng).tolist() == clip


def test_loaders_collate_float_targets(charades_dir):
    train = Charades(charades_dir, "train", OPTIONS)
    shape = ClipShape(num_frames=2, crop_size=24, sampling_rate=(2, 2), jitter_scales=(32, 32))
    clips, labels, indices = next(iter(build_train_loader(train, [[(0, shape, 0), (1, shape, 0)]], 0, False)))
    assert clips.shape == (2, 3, 2, 24, 24) and labels.shape == (2, 4) and labels.dtype == torch.float32
    clips, labels, indices = next(iter(build_eval_loader(Charades(charades_dir, "val", OPTIONS), 2, 0, False)))
    assert labels.tolist() == [[1, 1, 1, 0], [0, 1, 0, 0]] and indices.tolist() == [0, 1]


def test_unreadable_frame_gives_an_all_minus_one_target(charades_dir, caplog):
    with open(os.path.join(charades_dir, "frames", "b", "b_000001.png"), "w") as handle:
        handle.write("garbage")
    with caplog.at_level(logging.WARNING):
        clip, label, index = Charades(charades_dir, "val", OPTIONS)[1]
    assert label.tolist() == [-1.0] * 4 and index == 1 and clip.sum() == 0
    assert "b_000001.png" in caplog.text and "val.csv:14" in caplog.text


def test_max_ensemble_and_map_hand_computed():
    """Three videos x two views; class 2 has no positive and is left out of the mean."""
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    view_scores = torch.tensor([
        [[0.2, 0.75, 0.3], [0.9, 0.75, 0.1]],
        [[0.3, 0.8, 0.5], [0.1, 0.0, 0.2]],
        [[0.6, 0.7, 0.9], [0.2, 0.7, 0.1]],
    ]).reshape(6, 3)
    results = {}
    for method in ("max", "sum"):
        ensemble = ViewEnsemble(num_videos=3, num_views=2, num_classes=3, method=method)
        ensemble.add(view_scores, targets.repeat_interleave(2, dim=0), torch.arange(6))
        results[method] = ensemble.finalize()["map"]
    # Class 0 ranks both positives first (AP 1) either way. Class 1, max: 0.8 (+), 0.75 (-), 0.7 (+)
    # -> AP = (1 + 2/3) / 2; sum: 1.5 (-), 1.4 (+), 0.8 (+) -> AP = (1/2 + 2/3) / 2.
    assert results["max"] == pytest.approx(100.0 * (1 + 5 / 6) / 2)
    assert results["sum"] == pytest.approx(100.0 * (1 + 7 / 12) / 2)
