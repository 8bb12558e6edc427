"""Per-shape loader cost: per-clip work from a timing, FLOP share, cost over the reference and the target."""
import pytest

from slowfast.benchmark.data import LoaderTiming
from slowfast.benchmark.shape_cost import ClipWork, clip_work, cost_target, reference_from_report, shape_costs
from slowfast.datasets.decoder import DecodeStats
from slowfast.multigrid.shape import ClipShape


def _work(frames: int, crop: int, cpu_s: float) -> ClipWork:
    return ClipWork(f"{frames}x{crop} r2", frames, crop, (2, 2), 4, cpu_s, 2 * cpu_s, 10.0, frames, frames * 100.0)


def test_clip_work_is_the_timing_per_clip():
    timing = LoaderTiming(seconds=2.0, batches=2, cpu_seconds=1.0, decoded=DecodeStats(40, 8, 8000))
    work = clip_work(ClipShape(8, 112, (2, 8), (128, 320)), timing, batch_size=2)
    assert work == ClipWork("8x112 r2-8", 8, 112, (2, 8), 4, 0.25, 0.5, 10.0, 2.0, 2000.0)
    with pytest.raises(ValueError, match="no timed clips at 8x112 r2-8"):
        clip_work(ClipShape(8, 112, (2, 8), (128, 320)), LoaderTiming(1.0, 0, 1.0, DecodeStats(0, 0, 0)), 2)


def test_costs_are_relative_to_the_reference_full_shape_and_judged_against_the_target():
    gflops = {(8, 112): 1.0, (16, 158): 4.0, (32, 224): 16.0}
    work = [_work(8, 112, 0.02), _work(16, 158, 0.05), _work(32, 224, 0.1)]
    rows, reference = shape_costs(work, lambda t, s: gflops[t, s], (32, 224))
    assert reference == {"source": "this run", "shape": "32x224 r2", "cpu_s_per_clip": 0.1}
    assert [row["flop_share"] for row in rows] == [0.0625, 0.25, 1.0]
    assert [row["cost_vs_reference"] for row in rows] == pytest.approx([0.2, 0.5, 1.0])
    assert [row["target"] for row in rows] == [0.2, 0.5, 2.0]  # max(2 x share, 0.2)
    assert [row["passes"] for row in rows] == [True, True, True]
    downloaded = {"source": "k.json", "shape": "32x224 r2", "cpu_s_per_clip": 0.08}
    rows, _ = shape_costs(work, lambda t, s: gflops[t, s], (32, 224), downloaded)
    assert [row["cost_vs_reference"] for row in rows] == pytest.approx([0.25, 0.625, 1.25])
    assert [row["passes"] for row in rows] == [False, False, True]
    assert rows[0]["frames_decoded_per_clip"] == 10.0 and rows[0]["pixels_converted_per_clip"] == 800.0
    assert cost_target(0.01) == 0.2 and cost_target(0.3) == 0.6


def test_the_reference_comes_from_a_saved_data_report():
    report = {"mode": "data", "shape_costs": [_work(8, 112, 0.02).to_json(), _work(32, 224, 0.1).to_json()]}
    assert reference_from_report(report, (32, 224), "k.json") == {
        "source": "k.json", "shape": "32x224 r2", "cpu_s_per_clip": 0.1}
    with pytest.raises(ValueError, match=r"has no clip cost at the full shape 16x224 \(it measured"):
        reference_from_report(report, (16, 224), "k.json")
    with pytest.raises(ValueError, match="'old.json' is not a `benchmark.py data --workers 0 --json` output"):
        reference_from_report({"mode": "data", "results": []}, (32, 224), "old.json")
