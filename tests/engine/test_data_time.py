"""EpochDataTimer and its log line: mean data wait and step time per iteration, input-bound hint."""
import pytest

from slowfast.engine import data_time
from slowfast.engine.data_time import EpochDataTimer, describe_data_time


def test_summary_gives_mean_seconds_per_iteration(monkeypatch):
    clock = iter([100.0, 104.0])
    monkeypatch.setattr(data_time.time, "perf_counter", lambda: next(clock))
    timer = EpochDataTimer()
    for wait in (0.5, 1.5):
        timer.add_wait(wait)
    assert timer.summary() == pytest.approx({"dt": 2.0, "dt_data": 1.0})


def test_an_empty_epoch_has_no_summary():
    assert EpochDataTimer().summary() == {}
    assert describe_data_time({}, "epoch 1") == "epoch 1: no iterations timed"


def test_the_log_line_flags_input_bound_epochs_only():
    bound = describe_data_time({"dt": 2.0, "dt_data": 1.0}, "epoch 3 (stage 1)")
    assert bound.startswith("epoch 3 (stage 1): 2.000 s per iteration, 1.000 s of it waiting for data (50%)")
    assert "input-bound" in bound
    assert "input-bound" not in describe_data_time({"dt": 2.0, "dt_data": 0.2}, "epoch 1")
