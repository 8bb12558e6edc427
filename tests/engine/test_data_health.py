"""Counting substituted training clips and the DATA.MAX_FAILED_SHARE stop, judged over the epoch."""
import pytest
import torch

from slowfast.engine.data_health import FailedVideoCounter, TooManyFailedVideosError


def test_share_is_judged_over_the_epoch_so_far_once_enough_clips_were_drawn():
    counter = FailedVideoCounter(0.5, num_videos=600, source="/d/train.csv", min_clips=8)
    counter.start_epoch(epoch_clips=600)
    # A batch of two substitutes alone says nothing: fewer than min_clips drawn.
    assert counter.check_batch([(3, None, 0), (5, None, 0)], torch.tensor([4, 6]), "a") == [3, 5]
    counter.judge("epoch 1 so far (iteration 1)")
    assert counter.check_batch([7, 8, 9, 10, 11, 12], torch.tensor([7, 8, 9, 10, 11, 12]), "b") == []
    counter.judge("epoch 1 so far (iteration 2)")  # 2 of 8: fine
    assert counter.check_batch([3, 13], torch.tensor([1, 2]), "c") == [13]  # 3 failed before: not new
    counter.judge("epoch 1 so far (iteration 3)")  # 4 of 10
    counter.check_batch([14, 15], torch.tensor([1, 2]), "d")
    counter.judge("epoch 1 so far (iteration 4)")  # 6 of 12: exactly the share, allowed
    counter.check_batch([16], torch.tensor([1]), "e")
    with pytest.raises(TooManyFailedVideosError) as raised:
        counter.judge("epoch 1 so far (iteration 5)")  # 7 of 13
    assert str(raised.value) == (
        "7 of the 13 training clips of epoch 1 so far (iteration 5) come from replacement videos (their own "
        "failed to decode), more than DATA.MAX_FAILED_SHARE=0.5; 6 of the 600 files in /d/train.csv have "
        "failed so far: see the 'Skipping training video' warnings for the files and reasons, fix or drop them"
    )


def test_a_short_epoch_is_judged_once_it_is_complete_and_counts_survive_a_checkpoint():
    counter = FailedVideoCounter(0.25, num_videos=6, min_clips=256)
    counter.start_epoch(epoch_clips=6)
    counter.check_batch([0, 1], torch.tensor([2, 3]), "a")
    counter.judge("x")  # 2 of 2, but the epoch has 6 clips
    resumed = FailedVideoCounter(0.25, num_videos=6, min_clips=256)
    resumed.load_state(counter.state())
    resumed.start_epoch(epoch_clips=6, resumed=True)
    assert (resumed.epoch_count, resumed.epoch_requested, resumed.failed_videos) == (2, 2, {0, 1})
    resumed.check_batch([2, 3, 4, 5], torch.tensor([2, 3, 4, 5]), "b")
    with pytest.raises(TooManyFailedVideosError, match=r"^2 of the 6 training clips"):
        resumed.judge("y")  # 2 of 6 > 0.25
    resumed.start_epoch(epoch_clips=6)
    assert resumed.epoch_count == 0 and resumed.failed_videos == {0, 1}  # distinct files: the whole run


def test_counter_rejects_a_short_batch():
    with pytest.raises(RuntimeError, match="returned 1 clips for a batch of 2"):
        FailedVideoCounter(0.0).check_batch([1, 2], torch.tensor([1]), "x")
