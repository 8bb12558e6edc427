"""Kinetics decodes clips at the short side they need: same draws and crops as resizing after
decoding, and in a prepared folder the smallest copy that is not upscaled."""
import dataclasses
import os
import shutil
from collections import Counter

import numpy as np
import pytest
import torch

from slowfast.datasets.clip_items import locate_test_entry, train_generators
from slowfast.datasets.decoder import decode_clip
from slowfast.datasets.errors import DataError
from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.datasets.kinetics import Kinetics, PreparedCopyError, choose_copy_short_side
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.prepared import PreparedManifest, copy_path
from slowfast.datasets.temporal_sampling import clip_frame_indices, ensemble_view_start, random_start
from slowfast.datasets.transforms import (
    augment_train,
    jitter_short_side,
    random_crop,
    random_horizontal_flip,
    short_side_resize,
    to_clip_tensor,
    uniform_crop,
)
from slowfast.multigrid.shape import ClipShape

HEIGHT, WIDTH = 48, 64
OPTIONS = DatasetOptions(num_classes=2, num_frames=4, sampling_rate=2, train_jitter_scales=(40, 56),
                         train_crop_size=32, test_crop_size=40, num_ensemble_views=2, num_spatial_crops=3, seed=3)
YS, XS = np.mgrid[0:HEIGHT, 0:WIDTH]


def ramp_frame(k: int, height: int = HEIGHT, width: int = WIDTH, red: int = 0) -> np.ndarray:
    """Red ``red + 2k``, horizontal green and vertical blue ramps (so a crop's position shows)."""
    ys, xs = np.mgrid[0:height, 0:width] * (HEIGHT / height)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = red + 2 * k
    image[..., 1] = 3 * xs
    image[..., 2] = 4 * ys + 30
    return image


def write(path, num_frames: int = 40, height: int = HEIGHT, width: int = WIDTH, red: int = 0) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frames = (ramp_frame(k, height, width, red) for k in range(num_frames))
    write_h264(str(path), frames, 30, height, width, {"x264-params": fixed_keyframes(8), "preset": "veryfast"})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two videos listed in every split, no manifest."""
    root = tmp_path_factory.mktemp("kinetics_scaled")
    for name in ("a", "b"):
        write(root / "videos" / f"{name}.mp4")
    for split in ("train", "val", "test"):
        (root / f"{split}.csv").write_text("videos/a.mp4 0\nvideos/b.mp4 1\n")
    return root


def decoded_then_augmented(path: str, shape: ClipShape, index: int, draw: int) -> torch.Tensor:
    """The reference: decode at the stored size, then augment_train (jitter, crop, flip), with the item's draws."""
    rng, _ = train_generators(OPTIONS.seed, index, draw, Counter())
    low, high = shape.sampling_rate
    rate = int(rng.integers(low, high + 1))
    start = random_start(rng)
    frames = decode_clip(path, lambda info: clip_frame_indices(
        info.frame_count, info.fps, shape.num_frames, rate, OPTIONS.target_fps, start))
    return to_clip_tensor(augment_train(frames, rng, shape.jitter_scales, shape.crop_size))


@pytest.mark.parametrize("jitter_scales", [(48, 48), (24, 30), (40, 72)])
def test_training_clips_are_those_of_resizing_after_decoding(folder, jitter_scales):
    # Same draws in the same order (rate, start, jitter, crop, flip) and, with decoder.SCALER
    # "cv2", the same pixels.
    dataset = Kinetics(str(folder), "train", OPTIONS)
    shape = ClipShape(num_frames=4, crop_size=24, sampling_rate=(1, 4), jitter_scales=jitter_scales)
    for index in range(2):
        for draw in range(6):
            clip, label, used = dataset[(index, shape, draw)]
            expected = decoded_then_augmented(dataset.video_path(index), shape, index, draw)
            assert (label, used) == (index, index) and torch.equal(clip, expected), (index, draw)


def test_the_jitter_is_drawn_after_the_temporal_draws_and_before_crop_and_flip(folder):
    dataset = Kinetics(str(folder), "train", OPTIONS)
    shape = ClipShape(num_frames=4, crop_size=24, sampling_rate=(1, 4), jitter_scales=(40, 72))
    for draw in range(6):
        rng, _ = train_generators(OPTIONS.seed, 1, draw, Counter())
        rate = int(rng.integers(1, 5))
        start = random_start(rng)
        short_side = jitter_short_side(rng, 40, 72)
        frames = decode_clip(dataset.video_path(1), lambda info: clip_frame_indices(
            info.frame_count, info.fps, 4, rate, OPTIONS.target_fps, start), short_side=short_side)
        expected = to_clip_tensor(random_horizontal_flip(random_crop(frames, rng, 24), rng))
        assert torch.equal(dataset[(1, shape, draw)][0], expected)


def test_eval_clips_equal_resizing_after_decoding(folder):
    for split, short_side, size in (("val", 40, 32), ("test", 40, 40)):
        dataset = Kinetics(str(folder), split, OPTIONS)
        for entry in range(len(dataset)):
            clip, label, _ = dataset[entry]
            if split == "val":
                video, view, crop, views = entry, 0, 1, 1
            else:
                (video, view, crop), views = locate_test_entry(entry, 2, 3), 2
            frames = decode_clip(dataset.video_path(video), lambda info: clip_frame_indices(
                info.frame_count, info.fps, 4, 2, OPTIONS.target_fps, ensemble_view_start(view, views)))
            expected = to_clip_tensor(uniform_crop(short_side_resize(frames, short_side), size, crop))
            assert label == video and torch.equal(clip, expected), (split, entry)


@pytest.mark.parametrize("needed, chosen", [(1, 128), (100, 128), (128, 128), (129, 256), (181, 256), (256, 256),
                                            (257, 256), (320, 256)])
def test_the_smallest_copy_at_least_as_large_else_the_largest(needed, chosen):
    # needed: the bottom of a shape's jitter range (128 for a 112 crop of the K400 MG schedule)
    assert choose_copy_short_side((128, 256), needed) == chosen
    assert choose_copy_short_side((256, 128), needed) == chosen  # order does not matter
    assert choose_copy_short_side((256,), needed) == 256


def test_copy_paths_sit_beside_the_primary():
    assert copy_path("videos/abc.mp4", 128) == "videos/abc.s128.mp4"


def prepared_folder(root, copies: dict) -> str:
    """Primaries a.mp4 and b.mp4 (red 0, 40 frames) listed in train.csv, a manifest with short sides
    24 and 48, and the 24 copies given as {name: (frame count, or None for no file)} (red 200)."""
    for name in ("a", "b"):
        write(root / "videos" / f"{name}.mp4")
        if copies.get(name) is not None:
            write(root / "videos" / f"{name}.s24.mp4", copies[name], height=24, width=32, red=120)
    (root / "train.csv").write_text("videos/a.mp4 0\nvideos/b.mp4 1\n")
    shutil.copy(root / "train.csv", root / "val.csv")
    PreparedManifest((24, 48), keyframe_interval=8, crf=23).write(str(root))
    return str(root)


def test_clips_read_the_smallest_copy_at_least_the_bottom_of_their_jitter_range(tmp_path):
    dataset = Kinetics(prepared_folder(tmp_path, {"a": 40, "b": 40}), "train", OPTIONS)
    reds = {}
    for jitter in ((16, 16), (16, 48), (24, 60), (25, 25), (25, 48), (48, 60)):
        shape = ClipShape(num_frames=4, crop_size=16, sampling_rate=(1, 1), jitter_scales=jitter)
        clip, _, _ = dataset[(0, shape, 0)]
        reds[jitter] = float(clip[0].float().mean())
    assert all(reds[jitter] > 100 for jitter in ((16, 16), (16, 48), (24, 60)))  # the 24 copy (red 120 + 2k)
    assert all(reds[jitter] < 90 for jitter in ((25, 25), (25, 48), (48, 60)))  # the primary (red 2k)
    val_clip, _, _ = Kinetics(str(tmp_path), "val", dataclasses.replace(OPTIONS, train_jitter_scales=(24, 30),
                                                                         train_crop_size=16))[0]
    assert float(val_clip[0].float().mean()) > 100


def test_a_missing_or_different_copy_fails_naming_the_first_and_how_many(tmp_path):
    with pytest.raises(PreparedCopyError, match=r"^2 of the 2 videos listed in .*train.csv have copies that "
                       r"disagree with .*prepared.json \(first: .*videos/a.mp4: no copy .*videos/a.s24.mp4 "
                       r"at short side 24\); rerun tools/prepare_videos.py"):
        Kinetics(prepared_folder(tmp_path / "missing", {"b": 39}), "train", OPTIONS)
    with pytest.raises(DataError, match=r"1 of the 2 videos .* \(first: .*videos/b.mp4: copy .*b.s24.mp4 has 39 "
                       r"frames at 30 fps, the listed video 40 frames at 30 fps\)"):
        Kinetics(prepared_folder(tmp_path / "short", {"a": 40, "b": 39}), "train", OPTIONS)
    assert "\n" not in str(PreparedCopyError("one line"))


def test_only_a_split_that_can_read_the_copies_checks_them(tmp_path):
    root = prepared_folder(tmp_path, {})  # no copies at all
    with pytest.raises(PreparedCopyError):
        Kinetics(root, "train", OPTIONS)
    primary_only = dataclasses.replace(OPTIONS, train_jitter_scales=(48, 60), train_crop_size=16)
    Kinetics(root, "val", primary_only)  # val reads the 48 primary: nothing to check
    with pytest.raises(PreparedCopyError):
        Kinetics(root, "val", dataclasses.replace(primary_only, train_jitter_scales=(24, 30)))


def test_the_check_runs_in_processes_too(tmp_path):
    from slowfast.datasets.kinetics import check_prepared_copies

    root = prepared_folder(tmp_path, {"a": 40, "b": 40})
    manifest = PreparedManifest.read(root)
    primaries = [str(tmp_path / "videos" / name) for name in ("a.mp4", "b.mp4")] * 40
    check_prepared_copies(primaries, manifest, "prepared.json", "train.csv", num_processes=2)
    os.remove(tmp_path / "videos" / "b.s24.mp4")
    with pytest.raises(PreparedCopyError, match=r"^40 of the 80 videos"):
        check_prepared_copies(primaries, manifest, "prepared.json", "train.csv", num_processes=2)


def test_a_folder_without_manifest_reads_only_the_listed_videos(folder):
    dataset = Kinetics(str(folder), "train", OPTIONS)
    shape = ClipShape(num_frames=4, crop_size=16, sampling_rate=(1, 1), jitter_scales=(20, 20))
    clip, _, _ = dataset[(0, shape, 0)]
    assert clip.shape == (3, 4, 16, 16) and float(clip[0].float().mean()) < 90


def test_a_replaced_video_gets_the_draws_it_got_when_resizing_followed_decoding(folder, tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"")
    (tmp_path / "train.csv").write_text(f"broken.mp4 0\n{folder}/videos/b.mp4 1\n")
    dataset = Kinetics(str(tmp_path), "train", OPTIONS)
    shape = ClipShape(num_frames=4, crop_size=24, sampling_rate=(1, 4), jitter_scales=(48, 48))
    for draw in range(4):
        clip, label, used = dataset[(0, shape, draw)]
        rng, _ = train_generators(OPTIONS.seed, 0, draw, Counter())
        rng.integers(1, 5), random_start(rng)  # the broken video's temporal draws
        rate = int(rng.integers(1, 5))
        start = random_start(rng)
        frames = decode_clip(dataset.video_path(1), lambda info: clip_frame_indices(
            info.frame_count, info.fps, 4, rate, OPTIONS.target_fps, start))
        assert (label, used) == (1, 1)
        assert torch.equal(clip, to_clip_tensor(augment_train(frames, rng, (48, 48), 24)))
