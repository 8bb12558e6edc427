import logging
import os

import pytest
import torch

from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions
from slowfast.multigrid.shape import ClipShape

OPTIONS = DatasetOptions(
    num_classes=3,
    num_frames=4,
    sampling_rate=2,
    train_jitter_scales=(32, 40),
    train_crop_size=32,
    test_crop_size=32,
    num_ensemble_views=3,
    num_spatial_crops=3,
    seed=5,
)
SHAPE = ClipShape(num_frames=2, crop_size=24, sampling_rate=(2, 4), jitter_scales=(28, 36))


def break_video(data_dir, name):
    with open(os.path.join(data_dir, "clips", f"{name}.mp4"), "w") as handle:
        handle.write("not a video")


def test_sizes_and_paths(data_dir):
    train, test = Kinetics(data_dir, "train", OPTIONS), Kinetics(data_dir, "test", OPTIONS)
    assert (train.num_videos, len(train)) == (3, 3)
    assert (test.num_videos, len(test), test.entries_per_video) == (3, 27, 9)
    assert train.video_path(1) == os.path.join(data_dir, "clips", "b.mp4")
    assert train.labels.tolist() == [0, 1, 2]


def test_path_prefix_replaces_the_csv_folder(data_dir):
    dataset = Kinetics(data_dir, "val", DatasetOptions(num_classes=3, path_prefix="/videos"))
    assert dataset.video_path(0) == "/videos/clips/a.mp4"


def test_val_is_one_centre_clip_and_centre_crop(data_dir, frame_numbers):
    clip, label, index = Kinetics(data_dir, "val", OPTIONS)[1]
    assert clip.dtype == torch.uint8 and clip.shape == (3, 4, 32, 32)
    assert (label, index) == (1, 1)
    assert frame_numbers(clip.permute(1, 2, 3, 0).numpy()) == [26, 28, 30, 33]


def test_test_entries_map_to_video_view_and_crop(data_dir, frame_numbers):
    dataset = Kinetics(data_dir, "test", OPTIONS)
    starts = {0: [0, 2, 4, 7], 1: [26, 28, 30, 33], 2: [52, 54, 56, 59]}
    for entry in (0, 5, 8, 9 + 7, 26):
        clip, label, index = dataset[entry]
        video, view = entry // 9, (entry % 9) // 3
        assert (label, index) == (video, entry)
        assert clip.shape == (3, 4, 32, 32)
        assert frame_numbers(clip.permute(1, 2, 3, 0).numpy()) == starts[view]


def test_train_item_follows_the_clip_shape(data_dir, frame_numbers):
    dataset = Kinetics(data_dir, "train", OPTIONS)
    gaps = set()
    for draw in range(30):
        clip, label, index = dataset[(2, SHAPE, draw)]
        assert clip.shape == (3, 2, 24, 24) and (label, index) == (2, 2)
        first, last = frame_numbers(clip.permute(1, 2, 3, 0).numpy())
        gaps.add(last - first)
    # span = rate * 2 frames, linspace(start, start + span - 1, 2): gap = 2 * rate - 1 for rate in {2, 3, 4}
    assert gaps == {3, 5, 7}


def test_plain_int_train_item_uses_the_full_shape(data_dir):
    clip, _, _ = Kinetics(data_dir, "train", OPTIONS)[0]
    assert clip.shape == (3, 4, 32, 32)


def test_train_draws_are_reproducible(data_dir):
    torch.manual_seed(0)
    dataset = Kinetics(data_dir, "train", OPTIONS)
    first = dataset[(0, SHAPE, 7)][0]
    assert torch.equal(first, Kinetics(data_dir, "train", OPTIONS)[(0, SHAPE, 7)][0])
    different = [not torch.equal(first, dataset[(0, SHAPE, draw)][0]) for draw in range(8, 12)]
    assert any(different)


def test_without_draw_key_repeated_items_vary_but_replay_identically(data_dir):
    torch.manual_seed(0)
    sequence = [Kinetics(data_dir, "train", OPTIONS) for _ in range(2)]
    clips = [[dataset[(0, SHAPE)][0] for _ in range(4)] for dataset in sequence]
    assert all(torch.equal(a, b) for a, b in zip(*clips))
    assert any(not torch.equal(clips[0][0], other) for other in clips[0][1:])


def test_broken_train_video_is_replaced_and_logged(data_dir, caplog):
    break_video(data_dir, "b")
    dataset = Kinetics(data_dir, "train", OPTIONS)
    with caplog.at_level(logging.WARNING):
        clip, label, index = dataset[(1, SHAPE, 0)]
    assert index in (0, 2) and label == index and clip.shape == (3, 2, 24, 24)
    assert "b.mp4" in caplog.text


def test_all_broken_train_videos_raise(data_dir):
    for name in ("a", "b", "c"):
        break_video(data_dir, name)
    with pytest.raises(RuntimeError, match="the data seems broken"):
        Kinetics(data_dir, "train", OPTIONS)[(0, SHAPE, 0)]


@pytest.mark.parametrize("split, entry, crop", [("val", 1, 32), ("test", 9 + 4, 32)])
def test_broken_eval_video_gives_a_zero_clip_with_label_minus_one(data_dir, caplog, split, entry, crop):
    break_video(data_dir, "b")
    with caplog.at_level(logging.WARNING):
        clip, label, index = Kinetics(data_dir, split, OPTIONS)[entry]
    assert (label, index) == (-1, entry)
    assert clip.shape == (3, 4, crop, crop) and clip.sum() == 0
    assert "b.mp4" in caplog.text


def test_missing_csv(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        Kinetics(str(tmp_path), "train", OPTIONS)
    assert str(raised.value) == (
        f"DATA.PATH_TO_DATA_DIR '{tmp_path}' has no train.csv (expected lines \"<path> <label>\")"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("\n\n", "lists no videos"),
        ("a.mp4 0\nb.mp4\n", "val.csv:2: cannot parse 'b.mp4'"),
        ("a.mp4 zero\n", "val.csv:1: cannot parse"),
        ("a.mp4 0\nb.mp4 3\n", r"val.csv:2: label 3 is outside \[0, MODEL.NUM_CLASSES=3\)"),
        ("a.mp4 -1\n", "val.csv:1: label -1 is outside"),
    ],
)
def test_bad_csv_content_names_file_and_line(tmp_path, content, message):
    (tmp_path / "val.csv").write_text(content)
    with pytest.raises(ValueError, match=message):
        Kinetics(str(tmp_path), "val", OPTIONS)


def test_custom_separator_and_paths_with_spaces(tmp_path):
    (tmp_path / "val.csv").write_text("my clips/a b.mp4,2\n")
    dataset = Kinetics(str(tmp_path), "val", DatasetOptions(num_classes=3, separator=","))
    assert dataset.video_path(0) == os.path.join(str(tmp_path), "my clips/a b.mp4")
    assert dataset.labels.tolist() == [2]


def test_bad_item_is_rejected(data_dir):
    dataset = Kinetics(data_dir, "val", OPTIONS)
    with pytest.raises(IndexError, match="out of range for 3 entries"):
        dataset[3]

