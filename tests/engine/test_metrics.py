"""Top-k hits, sklearn-compatible average precision, and the multi-view ensemble (hand-computed)."""
import math

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from slowfast.engine.metrics import (
    ViewEnsemble,
    average_precision,
    mean_average_precision,
    topk_correct,
)


def test_topk_correct_counts_hits_and_clips_k():
    logits = torch.tensor([[0.1, 0.7, 0.2],   # label 1: top-1 hit
                           [0.5, 0.3, 0.2],   # label 1: top-2 hit
                           [0.6, 0.3, 0.1]])  # label 2: only in top-3
    labels = torch.tensor([1, 1, 2])
    assert topk_correct(logits, labels, ks=(1, 2, 5)) == [1, 2, 3]
    with pytest.raises(ValueError, match="expected logits"):
        topk_correct(logits, labels[:2])


def test_average_precision_hand_computed():
    # Ranks: +, -, +, -  ->  1 * 0.5 + 2/3 * 0.5
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert average_precision(scores, np.array([1, 0, 1, 0])) == pytest.approx(5 / 6)


def test_average_precision_treats_tied_scores_as_one_threshold():
    # Thresholds 0.9 (P 0, R 0), 0.5 (tp 1 of 3 kept: P 1/3, R 1/2), 0.1 (P 1/2, R 1).
    # Ranking the tied pair positive-first would give 0.5; sklearn's answer is 5/12.
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    targets = np.array([0, 1, 0, 1])
    assert average_precision(scores, targets) == pytest.approx(5 / 12)
    assert average_precision(scores[[0, 2, 1, 3]], targets[[0, 2, 1, 3]]) == pytest.approx(5 / 12)


def test_map_excludes_classes_without_positives():
    scores = torch.tensor([[0.9, 0.2, 0.3],
                           [0.8, 0.6, 0.1],
                           [0.7, 0.1, 0.2],
                           [0.6, 0.9, 0.4]])
    targets = torch.tensor([[1, 0, 0],
                            [0, 1, 0],
                            [1, 0, 0],
                            [0, 0, 0]])
    # class 0: +, -, +, - -> 5/6; class 1: ranks 0.9(-), 0.6(+) -> 1/2; class 2: no positive.
    assert mean_average_precision(scores, targets) == pytest.approx((5 / 6 + 1 / 2) / 2)


def test_map_without_any_positive_is_nan_and_bad_targets_raise():
    assert math.isnan(mean_average_precision(np.ones((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError, match="0/1"):
        mean_average_precision(np.ones((2, 2)), np.full((2, 2), 2))


def two_views_of_two_videos(method: str) -> ViewEnsemble:
    ensemble = ViewEnsemble(num_videos=2, num_views=2, num_classes=3, method=method)
    # Video 0 (label 0): views disagree; sum favours class 1, max favours class 0.
    # Video 1 (label 2): both views agree on class 2. Entries arrive out of order.
    ensemble.add(torch.tensor([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7]]), torch.tensor([0, 2]),
                 torch.tensor([0, 3]))
    ensemble.add(torch.tensor([[0.2, 0.1, 0.7], [0.0, 0.5, 0.5]]), torch.tensor([2, 0]),
                 torch.tensor([2, 1]))
    return ensemble


def test_sum_and_max_ensembles_differ_as_computed_by_hand():
    summed = two_views_of_two_videos("sum")
    assert torch.allclose(summed.scores, torch.tensor([[0.6, 0.9, 0.5], [0.3, 0.3, 1.4]]))
    assert summed.finalize() == {"num_videos": 2, "num_failed": 0, "incomplete": 0,
                                 "top1": 50.0, "top5": 100.0}

    maxed = two_views_of_two_videos("max")
    assert torch.allclose(maxed.scores, torch.tensor([[0.6, 0.5, 0.5], [0.2, 0.2, 0.7]]))
    assert maxed.finalize()["top1"] == 100.0
    assert maxed.view_counts.tolist() == [2, 2]
    state = maxed.state()
    assert state["labels"].tolist() == [0, 2] and state["view_counts"] is maxed.view_counts


def test_failed_entries_are_skipped_counted_and_make_videos_incomplete():
    ensemble = ViewEnsemble(num_videos=3, num_views=2, num_classes=3)
    ensemble.add(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0], [0.0, 1.0, 0.0]]),
                 torch.tensor([0, 0, -1, 1]), torch.tensor([0, 1, 2, 4]))
    result = ensemble.finalize()
    # Video 0 complete and right; video 1 lost its only view; video 2 has 1 of 2 views, right.
    assert result == {"num_videos": 2, "num_failed": 1, "incomplete": 2,
                      "top1": 100.0, "top5": 100.0}
    assert ensemble.view_counts.tolist() == [2, 0, 1]


def test_multi_label_reports_map_in_percent():
    ensemble = ViewEnsemble(num_videos=2, num_views=1, num_classes=2, method="max")
    ensemble.add(torch.tensor([[0.9, 0.2], [0.4, 0.8]]),
                 torch.tensor([[1, 0], [0, 0]]), torch.tensor([0, 1]))
    ensemble.add(torch.tensor([[7.0, 7.0]]), torch.tensor([[-1, -1]]), torch.tensor([0]))
    # class 0: +, - -> AP 1; class 1 has no positive -> excluded.
    assert ensemble.finalize() == {"num_videos": 2, "num_failed": 1, "incomplete": 0, "map": 100.0}


def test_views_disagreeing_on_the_label_raise():
    ensemble = ViewEnsemble(num_videos=1, num_views=2, num_classes=2)
    with pytest.raises(ValueError, match="views of video 0 disagree"):
        ensemble.add(torch.zeros(2, 2), torch.tensor([0, 1]), torch.tensor([0, 1]))
    ensemble = ViewEnsemble(num_videos=1, num_views=2, num_classes=2)
    ensemble.add(torch.zeros(1, 2), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="entry 1 says 1"):
        ensemble.add(torch.zeros(1, 2), torch.tensor([1]), torch.tensor([1]))


def test_bad_arguments_are_rejected():
    ensemble = ViewEnsemble(num_videos=1, num_views=2, num_classes=2)
    with pytest.raises(ValueError, match=r"out of range \[0, 2\)"):
        ensemble.add(torch.zeros(1, 2), torch.tensor([0]), torch.tensor([2]))


def _ensembles_on_rank(rank: int, init_file: str, results: dict) -> None:
    """Rank 0 sees entries 0 and 3, rank 1 entries 2 and 1 (plus a failed entry)."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    for method in ("sum", "max"):
        ensemble = ViewEnsemble(num_videos=2, num_views=2, num_classes=3, method=method)
        if rank == 0:
            ensemble.add(torch.tensor([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7]]), torch.tensor([0, 2]),
                         torch.tensor([0, 3]))
        else:
            ensemble.add(torch.tensor([[0.2, 0.1, 0.7], [0.0, 0.5, 0.5], [9.0, 9.0, 9.0]]),
                         torch.tensor([2, 0, -1]), torch.tensor([2, 1, 0]))
        ensemble.all_reduce()
        results[(rank, method)] = (ensemble.finalize(), ensemble.scores.tolist())
    dist.destroy_process_group()


@pytest.mark.slow
def test_all_reduce_merges_ranks_like_one_process(tmp_path):
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_ensembles_on_rank, args=(str(tmp_path / "init"), results), nprocs=2)
        merged = dict(results)
    for method in ("sum", "max"):
        single = two_views_of_two_videos(method)
        expected = {**single.finalize(), "num_failed": 1}
        for rank in (0, 1):
            assert merged[(rank, method)][0] == expected
            assert torch.allclose(torch.tensor(merged[(rank, method)][1]), single.scores)
