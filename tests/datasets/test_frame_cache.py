"""DecodedVideoCache: whole videos decoded once; cached clips equal decoded ones, budget and failures."""
import dataclasses
import logging
import os

import numpy as np
import pytest
import torch

from slowfast.datasets.decoder import decode_clip
from slowfast.datasets.frame_cache import DecodedVideoCache, decode_whole_video
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.temporal_sampling import clip_frame_indices
from slowfast.multigrid.shape import ClipShape

OPTIONS = DatasetOptions(num_classes=3, num_frames=4, sampling_rate=2, train_jitter_scales=(32, 40),
                         train_crop_size=32, test_crop_size=32, num_ensemble_views=3, num_spatial_crops=3, seed=5)
EVERY_FRAME = lambda info: np.arange(info.frame_count)  # noqa: E731
SHAPES = [ClipShape(2, 24, (2, 4), (28, 36)), ClipShape(8, 32, (1, 2), (32, 40))]


@pytest.mark.parametrize("indices", [[0, 1, 2], [5, 5, 17, 30], [40, 59], [55, 59, 59, 59]])
def test_cached_clip_is_the_decoded_clip(index_video, frame_numbers, indices):
    frames, info = decode_whole_video(index_video)
    assert (len(frames), info.frame_count, info.fps) == (60, 60, 30.0)
    assert frame_numbers(frames) == list(range(60))
    cache = DecodedVideoCache({0: (frames, info)})
    expected = decode_clip(index_video, lambda _: np.array(indices))
    assert np.array_equal(cache.clip(0, lambda _: np.array(indices)), expected)
    assert cache.clip(1, lambda _: np.array(indices)) is None


def test_clip_from_metadata_is_the_decoded_clip(index_video):
    cache = DecodedVideoCache({0: decode_whole_video(index_video)})

    def choose(info):
        return clip_frame_indices(info.frame_count, info.fps, 16, 8, 30.0, 0.7)  # runs past the end

    assert np.array_equal(cache.clip(0, choose), decode_clip(index_video, choose))


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_cached_dataset_gives_the_same_items(data_dir, split):
    plain = Kinetics(data_dir, split, OPTIONS)
    cached = Kinetics(data_dir, split, dataclasses.replace(OPTIONS, decoded_cache_gb=1.0))
    items = [(i, shape, epoch) for i in range(3) for shape in SHAPES for epoch in (0, 1)] if split == "train" \
        else range(len(plain))
    for item in items:
        expected, got = plain[item], cached[item]
        assert torch.equal(expected[0], got[0]) and expected[1:] == got[1:], item


def test_fill_with_processes_equals_fill_in_process(data_dir):
    paths = [os.path.join(data_dir, "clips", f"{name}.mp4") for name in "abc"]
    serial = DecodedVideoCache.fill(paths, 2**30, 0, "serial")
    forked = DecodedVideoCache.fill(paths, 2**30, 2, "forked")
    assert len(serial) == len(forked) == 3 and serial.num_bytes == forked.num_bytes == 3 * 60 * 48 * 64 * 3
    for video in range(3):
        assert np.array_equal(serial.clip(video, EVERY_FRAME), forked.clip(video, EVERY_FRAME))


def test_budget_and_broken_videos_leave_videos_to_the_decoder(data_dir, caplog):
    with open(os.path.join(data_dir, "clips", "a.mp4"), "w") as handle:
        handle.write("not a video")
    paths = [os.path.join(data_dir, "clips", f"{name}.mp4") for name in "abc"]
    one_video = 60 * 48 * 64 * 3
    with caplog.at_level(logging.INFO, logger="slowfast.datasets.frame_cache"):
        cache = DecodedVideoCache.fill(paths, one_video + 1, 0, "train.csv")
    assert len(cache) == 1 and cache.clip(1, EVERY_FRAME) is not None and cache.clip(2, EVERY_FRAME) is None
    message = caplog.records[-1].getMessage()
    assert "decoded 1 of the 3 videos of train.csv" in message
    assert "1 did not fit in DATA.DECODED_CACHE_GB" in message and "1 could not be decoded" in message
    # The broken video still fails where clips are made: logged and replaced as without the cache.
    dataset = Kinetics(data_dir, "train", dataclasses.replace(OPTIONS, decoded_cache_gb=1.0))
    clip, label, used = dataset[(0, SHAPES[0], 0)]
    assert used in (1, 2) and label == used


def _fill(paths, store, budget=2**30):
    return DecodedVideoCache.fill(paths, budget, 0, "train.csv", store=store)


def _no_decoding(monkeypatch):
    def refuse(path):
        raise AssertionError(f"decoded {path} although the store matches")

    monkeypatch.setattr("slowfast.datasets.frame_cache.decode_whole_video", refuse)


def test_store_is_written_once_then_mapped(data_dir, tmp_path, monkeypatch, caplog):
    paths = [os.path.join(data_dir, "clips", f"{name}.mp4") for name in "abc"]
    store = str(tmp_path / "decoded" / "train")
    written = _fill(paths, store)
    assert os.path.getsize(store + ".frames") == written.num_bytes == 3 * 60 * 48 * 64 * 3
    _no_decoding(monkeypatch)
    with caplog.at_level(logging.INFO, logger="slowfast.datasets.frame_cache"):
        mapped = _fill(paths, store)
    assert caplog.records[-1].getMessage().startswith(f"mapped 3 of the 3 videos of train.csv from {store}.frames")
    for video in range(3):
        frames = mapped.clip(video, EVERY_FRAME)
        assert np.array_equal(frames, written.clip(video, EVERY_FRAME))
        assert np.array_equal(frames, decode_clip(paths[video], EVERY_FRAME))


def test_store_keeps_budget_and_failures(data_dir, tmp_path, monkeypatch, caplog):
    with open(os.path.join(data_dir, "clips", "a.mp4"), "w") as handle:
        handle.write("not a video")
    paths = [os.path.join(data_dir, "clips", f"{name}.mp4") for name in "abc"]
    store, one_video = str(tmp_path / "train"), 60 * 48 * 64 * 3
    _fill(paths, store, one_video + 1)
    _no_decoding(monkeypatch)
    with caplog.at_level(logging.INFO, logger="slowfast.datasets.frame_cache"):
        cache = _fill(paths, store, one_video + 1)
    assert len(cache) == 1 and cache.clip(1, EVERY_FRAME) is not None and cache.clip(2, EVERY_FRAME) is None
    message = caplog.records[-1].getMessage()
    assert "1 did not fit in DATA.DECODED_CACHE_GB" in message and "1 could not be decoded" in message


@pytest.mark.parametrize("change", ["touch a video", "budget", "list", "cut frames file", "no index"])
def test_store_is_decoded_again_when_it_no_longer_matches(data_dir, tmp_path, change, caplog):
    paths = [os.path.join(data_dir, "clips", f"{name}.mp4") for name in "abc"]
    store, budget = str(tmp_path / "train"), 2**30
    _fill(paths, store, budget)
    if change == "touch a video":
        os.utime(paths[1], ns=(0, 0))
    elif change == "budget":
        budget = 2 * 60 * 48 * 64 * 3
    elif change == "list":
        paths = paths[::-1]
    elif change == "cut frames file":
        os.truncate(store + ".frames", 1000)
    else:
        os.unlink(store + ".json")
    with caplog.at_level(logging.INFO, logger="slowfast.datasets.frame_cache"):
        cache = _fill(paths, store, budget)
    assert caplog.records[-1].getMessage().startswith("decoded ")
    assert os.path.getsize(store + ".frames") == cache.num_bytes == len(cache) * 60 * 48 * 64 * 3
    assert np.array_equal(cache.clip(0, EVERY_FRAME), decode_clip(paths[0], EVERY_FRAME))


def test_dataset_with_a_store_gives_the_same_items_and_keeps_one_store_per_split(data_dir, tmp_path):
    options = dataclasses.replace(OPTIONS, decoded_cache_gb=1.0, decoded_cache_dir=str(tmp_path / "decoded"))
    items = [(i, shape, epoch) for i in range(3) for shape in SHAPES for epoch in (0, 1)]
    plain = Kinetics(data_dir, "train", OPTIONS)
    for stored in (Kinetics(data_dir, "train", options), Kinetics(data_dir, "train", options)):  # written, mapped
        for item in items:
            expected, got = plain[item], stored[item]
            assert torch.equal(expected[0], got[0]) and expected[1:] == got[1:], item
    Kinetics(data_dir, "test", options)
    names = sorted(os.listdir(tmp_path / "decoded"))
    assert [name.split("-")[0] for name in names] == ["test", "test", "train", "train"]
    assert {os.path.splitext(name)[1] for name in names} == {".frames", ".json"}
