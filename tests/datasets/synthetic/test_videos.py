import json
import logging
import os
import runpy

import av
import numpy as np
import pytest

from slowfast.datasets.decoder import decode_clip
from slowfast.datasets.synthetic import (
    SyntheticOptions,
    ensure_synthetic_dataset,
    generate_synthetic_dataset,
    write_video,
)
from slowfast.datasets.synthetic.render import (
    PATTERNS,
    REVERSED_PATTERN,
    class_names,
    object_track,
    render_clip,
)
from slowfast.datasets.synthetic.videos import clip_rng


def decode_frames(path: str, indices: np.ndarray) -> np.ndarray:
    """The frames at ``indices``, through the loader's decoder."""
    return decode_clip(path, lambda info: indices)


TINY = dict(num_classes=8, clips_per_class=1, num_frames=8, size=32, difficulty=2, seed=3)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp("synthetic"))
    generate_synthetic_dataset(folder, SyntheticOptions(**TINY))
    return folder


def read(path):
    with open(path) as handle:
        return handle.read()


def test_splits_classes_and_csv_format(tiny_dataset):
    train = read(os.path.join(tiny_dataset, "train.csv")).splitlines()
    val = read(os.path.join(tiny_dataset, "val.csv")).splitlines()
    assert train[0] == "videos/train/moving_left/0000.mp4 0"
    assert len(train) == 8 and len(val) == 16  # val and test: max(2, 1 // 4) per class
    assert sorted(int(line.split()[1]) for line in val) == sorted(list(range(8)) * 2)
    classes = json.loads(read(os.path.join(tiny_dataset, "classes.json")))
    assert classes == {name: i for i, name in enumerate(PATTERNS)}
    assert json.loads(read(os.path.join(tiny_dataset, "generator.json"))) == TINY


def test_videos_decode_with_the_expected_count_and_size(tiny_dataset):
    path = os.path.join(tiny_dataset, "videos/test/growing/0001.mp4")
    with av.open(path) as container:
        stream = container.streams.video[0]
        assert (stream.frames, stream.average_rate, stream.codec_context.name) == (8, 30, "h264")
        assert stream.codec_context.pix_fmt == "yuv420p"
    assert decode_frames(path, np.arange(8)).shape == (8, 32, 32, 3)


def test_same_seed_gives_the_same_dataset(tiny_dataset, tmp_path):
    generate_synthetic_dataset(str(tmp_path), SyntheticOptions(**TINY))
    for name in ("train.csv", "val.csv", "test.csv", "classes.json"):
        assert read(tmp_path / name) == read(os.path.join(tiny_dataset, name))
    video = "videos/train/rotating_clockwise/0000.mp4"
    first_frames = [decode_frames(os.path.join(folder, video), np.array([0])) for folder in (tmp_path, tiny_dataset)]
    np.testing.assert_array_equal(*first_frames)


def test_worker_processes_write_the_same_files(tiny_dataset, tmp_path):
    generate_synthetic_dataset(str(tmp_path), SyntheticOptions(**TINY), workers=2)
    for name in ("train.csv", "val.csv", "test.csv", "classes.json", "generator.json"):
        assert read(tmp_path / name) == read(os.path.join(tiny_dataset, name))
    for line in read(tmp_path / "test.csv").splitlines():
        video = line.split()[0]
        with open(tmp_path / video, "rb") as ours, open(os.path.join(tiny_dataset, video), "rb") as serial:
            assert ours.read() == serial.read()


def test_test_clips_per_class_sizes_the_test_split_only(tmp_path):
    options = SyntheticOptions(**{**TINY, "num_classes": 2, "test_clips_per_class": 3})
    generate_synthetic_dataset(str(tmp_path), options)
    counts = {split: len(read(tmp_path / f"{split}.csv").splitlines()) for split in ("train", "val", "test")}
    assert counts == {"train": 2, "val": 4, "test": 6}
    assert json.loads(read(tmp_path / "generator.json")) == {**TINY, "num_classes": 2, "test_clips_per_class": 3}
    with pytest.raises(ValueError, match=r"^SYNTHETIC.TEST_CLIPS_PER_CLASS must be >= 0, got -1$"):
        SyntheticOptions(test_clips_per_class=-1)


def test_another_seed_gives_other_videos():
    clips = [render_clip(0, 4, 32, 1, np.random.default_rng(seed)) for seed in (0, 1)]
    assert not np.array_equal(*clips)


def motion_centroids(frames):
    """Centre of the pixels that change between consecutive frames (the moving object's edges)."""
    changed = np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=-1) > 30
    return np.array([[np.nonzero(mask)[1].mean(), np.nonzero(mask)[0].mean()] for mask in changed])


def slope(values):
    return np.polyfit(np.arange(len(values)), values, 1)[0]


@pytest.mark.parametrize("class_id, axis, sign", [(0, 0, -1), (1, 0, 1), (2, 1, -1), (3, 1, 1), (8, 0, -1)])
def test_playing_a_clip_backwards_reverses_its_motion(tmp_path, class_id, axis, sign):
    frames = render_clip(class_id, 16, 48, 0, clip_rng(0, "train", class_id, 0))
    path = str(tmp_path / "clip.mp4")
    write_video(path, frames)
    decoded = decode_frames(path, np.arange(16))
    assert np.sign(slope(motion_centroids(decoded)[:, axis])) == sign
    assert np.sign(slope(motion_centroids(decoded[::-1])[:, axis])) == -sign


@pytest.mark.parametrize("class_id", range(16))
def test_reversed_track_matches_the_opposite_class(class_id):
    pattern = PATTERNS[class_id % 8]
    opposite = class_id - class_id % 8 + PATTERNS.index(REVERSED_PATTERN[pattern])
    track = object_track(class_id, 10, 64, 1.0, np.random.default_rng(0))
    other = object_track(opposite, 10, 64, 1.0, np.random.default_rng(0))
    for field in ("x", "y", "radius", "angle"):
        assert np.sign(slope(getattr(track, field)[::-1])) == np.sign(slope(getattr(other, field)))


def test_fast_classes_move_more_than_slow_ones():
    travel = [np.ptp(object_track(c, 10, 64, 1.0, np.random.default_rng(s)).x) for c in (0, 8) for s in range(20)]
    assert max(travel[:20]) < min(travel[20:])


def test_class_names_and_limits():
    assert class_names(10)[8:] == ["moving_left_fast", "moving_right_fast"]
    with pytest.raises(ValueError, match=r"^SYNTHETIC.NUM_CLASSES must be in \[1, 16\], got 17$"):
        SyntheticOptions(num_classes=17)
    with pytest.raises(ValueError, match=r"^SYNTHETIC.DIFFICULTY is 4; expected one of \[0, 1, 2, 3\]$"):
        SyntheticOptions(difficulty=4)


def test_ensure_generates_only_when_train_csv_is_missing(tmp_path, caplog):
    data_dir = str(tmp_path / "data")
    options = dict(TINY, num_classes=2)
    with caplog.at_level(logging.INFO):
        assert ensure_synthetic_dataset(data_dir, **options)
    assert "generating the synthetic dataset" in caplog.text
    assert len(read(os.path.join(data_dir, "train.csv")).splitlines()) == 2
    assert os.listdir(tmp_path) == ["data"]  # the private folder is gone
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert not ensure_synthetic_dataset(data_dir, **options)
        assert not ensure_synthetic_dataset(data_dir, **dict(options, seed=4))
    assert "already in" in caplog.text and "delete the folder to regenerate" in caplog.text


def test_ensure_fills_an_existing_empty_folder(tmp_path):
    assert ensure_synthetic_dataset(str(tmp_path), **dict(TINY, num_classes=1))
    expected = ["classes.json", "generator.json", "test.csv", "train.csv", "val.csv", "videos"]
    assert sorted(os.listdir(tmp_path)) == expected


def test_command_line_tool_writes_the_dataset(tmp_path, tiny_dataset):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    tool = os.path.join(repo, "tools", "make_synthetic_dataset.py")
    main = runpy.run_path(tool)["main"]
    args = ["--out", str(tmp_path), "--num-classes", "8", "--clips-per-class", "1", "--num-frames", "8"]
    main(args + ["--size", "32", "--difficulty", "2", "--seed", "3"])
    assert read(tmp_path / "test.csv") == read(os.path.join(tiny_dataset, "test.csv"))
