import json
import logging
import os
from collections import Counter

import pytest
import torch

from slowfast.config import load_config
from slowfast.datasets.clip_items import train_generators
from slowfast.datasets.loader import shard_range
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.pathways import normalize, to_model_inputs
from slowfast.datasets.ssv2 import Ssv2
from slowfast.datasets.temporal_sampling import segment_frame_indices
from slowfast.multigrid.schedule import build_schedule
from slowfast.multigrid.shape import ClipShape

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
OPTIONS = DatasetOptions(
    num_classes=3,
    num_frames=3,
    train_jitter_scales=(32, 40),
    train_crop_size=32,
    test_crop_size=32,
    num_ensemble_views=2,
    num_spatial_crops=3,
    seed=2,
)
TEMPLATES = {"Pushing something left": "0", "Moving something up": "1", "Dropping something": "2"}


@pytest.fixture()
def ssv2_dir(make_frame_list):
    """Videos "10" (10 frames, class 1), "11" (6 frames, class 0) and "12" (7 frames, class 2), in train and val."""
    videos = {"10": 10, "11": 6, "12": 7}
    entries = [
        {"id": "11", "template": "Pushing [something] left"},
        {"id": 10, "template": "Moving [something] up"},
        {"id": "12", "template": "Dropping [something]"},
    ]
    for list_name, json_name in (("train.csv", "train"), ("val.csv", "validation")):
        data_dir = make_frame_list(list_name, videos)
        write_json(data_dir, f"something-something-v2-{json_name}.json", entries)
    write_json(data_dir, "something-something-v2-labels.json", TEMPLATES)
    return data_dir


def write_json(data_dir, name, content):
    with open(os.path.join(data_dir, name), "w") as handle:
        json.dump(content, handle)


def test_labels_come_from_json_templates_in_json_order(ssv2_dir):
    dataset = Ssv2(ssv2_dir, "train", OPTIONS)
    assert [dataset.video_id(v) for v in range(3)] == ["11", "10", "12"]
    assert dataset.labels.tolist() == [0, 1, 2]
    assert [dataset.num_video_frames(v) for v in range(3)] == [6, 10, 7]


def test_val_clip_takes_segment_centres_and_keeps_bgr(ssv2_dir, clip_frame_numbers):
    clip, label, index = Ssv2(ssv2_dir, "val", OPTIONS)[1]
    assert clip.dtype == torch.uint8 and clip.shape == (3, 3, 32, 32)
    assert (label, index) == (1, 1)
    assert clip_frame_numbers(clip) == [1, 4, 7]
    assert clip[2].unique().tolist() == [200]  # red stays in channel 2 (BGR)


def test_test_entries_single_crop_is_the_centre(ssv2_dir, clip_frame_numbers):
    one_crop = Ssv2(ssv2_dir, "test", DatasetOptions(**{**vars(OPTIONS), "num_spatial_crops": 1}))
    three_crops = Ssv2(ssv2_dir, "test", OPTIONS)
    assert (len(one_crop), len(three_crops)) == (3 * 2, 3 * 2 * 3)
    # Frames are 48 wide, green = 2 * column: crops start at columns 0, 8, 16.
    left_columns = [int(three_crops[6 + crop][0][1, 0, 0, 0]) // 2 for crop in range(3)]
    assert left_columns == [0, 8, 16]
    clip, label, index = one_crop[2 + 1]  # video 1, view 1
    assert int(clip[1, 0, 0, 0]) // 2 == 8 and (label, index) == (1, 3)
    assert clip_frame_numbers(clip) == [2, 5, 8]


def test_every_test_entry_is_scored_once_across_processes(ssv2_dir):
    dataset = Ssv2(ssv2_dir, "test", OPTIONS)
    seen = [entry for rank in range(4) for entry in shard_range(len(dataset), rank, 4)]
    assert sorted(seen) == list(range(len(dataset)))
    positions = {(entry // 6, entry % 6 // 3, entry % 3) for entry in seen}
    assert len(positions) == len(dataset)


def test_train_item_follows_each_multigrid_shape(ssv2_dir, clip_frame_numbers):
    cfg = load_config(os.path.join(CONFIGS, "Synthetic", "SSV2_SLOWFAST_R18_MG.yaml"))
    shapes = {shape for stage in build_schedule(cfg).stages for shape in stage.short_cycle_shapes}
    assert {shape.num_frames for shape in shapes} == {4, 8, 16}
    dataset = Ssv2(ssv2_dir, "train", OPTIONS)
    for shape in shapes:
        clip, label, index = dataset[(1, shape, 3)]
        assert clip.shape == (3, shape.num_frames, shape.crop_size, shape.crop_size)
        assert (label, index) == (1, 1)
        numbers = clip_frame_numbers(clip)
        assert numbers == sorted(numbers) and 0 <= numbers[0] and numbers[-1] <= 9


def test_train_clips_are_the_segment_policy_on_the_item_draws(ssv2_dir, clip_frame_numbers):
    # Video "10" (dataset index 1) has 10 frames: 3 segments span 0-3, 3-6, 6-9.
    dataset = Ssv2(ssv2_dir, "train", OPTIONS)
    shape = ClipShape(num_frames=3, crop_size=24, sampling_rate=(1, 4), jitter_scales=(28, 36))
    clips = [[1, 6, 7], [1, 3, 6], [0, 4, 8], [3, 5, 9], [1, 5, 8], [0, 6, 9]]
    assert [clip_frame_numbers(dataset[(1, shape, draw)][0]) for draw in range(6)] == clips
    for draw, clip in enumerate(clips):
        rng, _ = train_generators(OPTIONS.seed, 1, draw, Counter())
        assert segment_frame_indices(10, 3, rng).tolist() == clip


def test_train_draws_are_reproducible_and_vary(ssv2_dir):
    shape = ClipShape(num_frames=3, crop_size=24, sampling_rate=(2, 2), jitter_scales=(32, 40))
    first = Ssv2(ssv2_dir, "train", OPTIONS)[(1, shape, 5)][0]
    assert torch.equal(first, Ssv2(ssv2_dir, "train", OPTIONS)[(1, shape, 5)][0])
    assert any(not torch.equal(first, Ssv2(ssv2_dir, "train", OPTIONS)[(1, shape, d)][0]) for d in range(6, 10))


def test_reverse_input_channel_turns_bgr_clips_to_rgb(ssv2_dir):
    clips = Ssv2(ssv2_dir, "val", OPTIONS)[0][0][None]
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    (as_read,) = to_model_inputs(clips, mean, std, None)
    slow, fast = to_model_inputs(clips, mean, std, 1, reverse_channels=True)
    torch.testing.assert_close(fast, normalize(clips, mean, std).flip(1))
    assert torch.allclose(fast[:, 0], torch.tensor((200 / 255 - 0.6) / 0.3))  # red first
    torch.testing.assert_close(as_read[:, 2], fast[:, 0])
    torch.testing.assert_close(slow, fast)


def test_json_video_missing_from_frame_list_is_dropped_with_a_warning(ssv2_dir, make_frame_list, caplog):
    make_frame_list("val.csv", {"10": 10, "12": 7})
    with caplog.at_level(logging.WARNING):
        dataset = Ssv2(ssv2_dir, "val", OPTIONS)
    assert [dataset.video_id(v) for v in range(dataset.num_videos)] == ["10", "12"]
    assert "1 of 3 videos of" in caplog.text and "something-something-v2-validation.json" in caplog.text
    assert "have no frames in" in caplog.text and "val.csv (ids 11)" in caplog.text


def test_no_video_left_is_an_error(ssv2_dir, make_frame_list):
    make_frame_list("val.csv", {"99": 3})
    with pytest.raises(ValueError, match=r"3 of 3 videos .* no video is left"):
        Ssv2(ssv2_dir, "val", OPTIONS)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("something-something-v2-labels.json", {"Dropping something": "x"},
         r"labels.json: template 'Dropping something' has class id 'x'"),
        ("something-something-v2-labels.json", {"Dropping something": "3"}, r"MODEL.NUM_CLASSES=3"),
        ("something-something-v2-train.json", [{"id": "10", "template": "Eating [something]"}],
         r"train.json: entry #0 \(id 10\) has template 'Eating \[something\]'"),
        ("something-something-v2-train.json", [{"id": "10"}], r"train.json: entry #0 has no \"id\" and \"template\""),
        ("something-something-v2-train.json", {"id": "10"}, r"train.json: expected a list"),
    ],
)
def test_malformed_json_names_file_and_entry(ssv2_dir, name, content, message):
    write_json(ssv2_dir, name, content)
    with pytest.raises(ValueError, match=message):
        Ssv2(ssv2_dir, "train", OPTIONS)


def test_unparsable_json_and_missing_files(ssv2_dir):
    with open(os.path.join(ssv2_dir, "something-something-v2-train.json"), "w") as handle:
        handle.write('[\n{"id": 1,\n')
    with pytest.raises(ValueError, match=r"train.json:3: not valid JSON"):
        Ssv2(ssv2_dir, "train", OPTIONS)
    os.remove(os.path.join(ssv2_dir, "something-something-v2-labels.json"))
    with pytest.raises(FileNotFoundError, match="something-something-v2-labels.json' is missing"):
        Ssv2(ssv2_dir, "val", OPTIONS)


def test_missing_frame_fails_val_entry_and_is_replaced_in_training(ssv2_dir, caplog):
    missing = os.path.join(ssv2_dir, "frames", "10", "10_000005.png")
    os.remove(missing)
    with caplog.at_level(logging.WARNING):
        clip, label, index = Ssv2(ssv2_dir, "val", OPTIONS)[1]
    assert (label, index) == (-1, 1) and clip.shape == (3, 3, 32, 32) and clip.sum() == 0
    assert missing in caplog.text and "val.csv:6" in caplog.text  # line 1 is the header
    shape = ClipShape(num_frames=10, crop_size=32, sampling_rate=(1, 1), jitter_scales=(32, 32))
    clip, label, index = Ssv2(ssv2_dir, "train", OPTIONS)[(1, shape, 0)]
    assert index in (0, 2) and label == index
