import shutil

import pytest
import torch

from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.loader import ShardSampler, build_eval_loader, build_train_loader, shard_range
from slowfast.datasets.options import DatasetOptions
from slowfast.multigrid.shape import ClipShape

OPTIONS = DatasetOptions(
    num_classes=4,
    num_frames=2,
    sampling_rate=2,
    train_jitter_scales=(32, 40),
    train_crop_size=32,
    test_crop_size=32,
    num_ensemble_views=2,
    num_spatial_crops=1,
)
SMALL = ClipShape(num_frames=2, crop_size=16, sampling_rate=(2, 4), jitter_scales=(18, 40))
LARGE = ClipShape(num_frames=4, crop_size=32, sampling_rate=(2, 2), jitter_scales=(32, 40))
BATCHES = [[(0, SMALL), (1, SMALL), (2, SMALL), (3, SMALL)], [(3, LARGE), (0, LARGE)], [(2, LARGE), (1, LARGE)]]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, index_video):
    folder = tmp_path_factory.mktemp("kinetics")
    lines = []
    for label in range(4):
        shutil.copy(index_video, folder / f"v{label}.mp4")
        lines.append(f"v{label}.mp4 {label}\n")
    for split in ("train", "test"):
        (folder / f"{split}.csv").write_text("".join(lines))
    return str(folder)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_train_batches_follow_the_sampler_shapes(data_dir, num_workers):
    loader = build_train_loader(Kinetics(data_dir, "train", OPTIONS), BATCHES, num_workers, pin_memory=False, seed=3)
    assert loader.persistent_workers == (num_workers > 0)
    for epoch in range(2):
        shapes, labels = [], []
        for clips, batch_labels, indices in loader:
            assert clips.dtype == torch.uint8
            assert torch.equal(batch_labels, indices)  # label i is video i
            shapes.append(tuple(clips.shape))
            labels.append(batch_labels.tolist())
        assert shapes == [(4, 3, 2, 16, 16), (2, 3, 4, 32, 32), (2, 3, 4, 32, 32)]
        assert labels == [[0, 1, 2, 3], [3, 0], [2, 1]]


def test_worker_augmentations_are_reproducible_for_a_seed(data_dir):
    def first_batch(seed):
        loader = build_train_loader(Kinetics(data_dir, "train", OPTIONS), BATCHES[:1], 1, False, seed=seed)
        return next(iter(loader))[0]

    assert torch.equal(first_batch(1), first_batch(1))
    assert not torch.equal(first_batch(1), first_batch(2))


def test_persistent_workers_draw_new_augmentations_each_epoch(data_dir):
    loader = build_train_loader(Kinetics(data_dir, "train", OPTIONS), BATCHES[:1], 1, False, seed=1)
    epochs = [next(iter(loader))[0] for _ in range(2)]
    assert not torch.equal(*epochs)


def test_shards_are_contiguous_disjoint_and_cover_everything():
    shards = [shard_range(10, rank, 3) for rank in range(3)]
    assert [list(shard) for shard in shards] == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert [len(ShardSampler(2, rank, 4)) for rank in range(4)] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="rank 3"):
        shard_range(10, 3, 3)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_eval_loader_sees_every_entry_once_over_ranks(data_dir, num_workers):
    dataset = Kinetics(data_dir, "test", OPTIONS)  # 4 videos x 2 views = 8 entries
    seen = []
    for rank in range(3):
        loader = build_eval_loader(dataset, 2, num_workers, pin_memory=False, rank=rank, world_size=3)
        for clips, labels, indices in loader:
            assert clips.shape[1:] == (3, 2, 32, 32)
            assert labels.tolist() == [index // 2 for index in indices.tolist()]
            seen.extend(indices.tolist())
    assert seen == list(range(8))
