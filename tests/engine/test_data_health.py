"""Counting substituted training clips and the DATA.MAX_FAILED_SHARE stop."""
import pytest
import torch

from slowfast.engine.data_health import FailedVideoCounter, TooManyFailedVideosError


def test_counter_counts_substitutes_per_epoch_and_allows_exactly_the_max_share():
    counter = FailedVideoCounter(0.5)
    assert counter.check_batch([(3, None, 0), (5, None, 0)], torch.tensor([3, 5]), "a") == 0
    assert counter.check_batch([3, 5], torch.tensor([3, 9]), "b") == 1  # half: allowed
    assert counter.epoch_count == 1
    with pytest.raises(TooManyFailedVideosError, match=r"^2 of the 2 training clips at epoch 2, iteration 7 "):
        counter.check_batch([3, 5], torch.tensor([4, 6]), "epoch 2, iteration 7")
    assert counter.epoch_count == 3
    counter.start_epoch(already_counted=4)
    assert counter.epoch_count == 4


def test_counter_rejects_a_share_outside_zero_one_and_a_short_batch():
    with pytest.raises(ValueError, match=r"DATA.MAX_FAILED_SHARE must be in \[0, 1\], got 1.5"):
        FailedVideoCounter(1.5)
    with pytest.raises(RuntimeError, match="returned 1 clips for a batch of 2"):
        FailedVideoCounter(0.0).check_batch([1, 2], torch.tensor([1]), "x")
