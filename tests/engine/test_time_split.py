"""TimeSplit: seconds per stage and category, its records, table and checkpoint round trip."""
import pytest

from slowfast.engine import time_split
from slowfast.engine.time_split import CATEGORIES, TimeSplit, format_time_split


def test_records_sum_each_stage_and_category_in_stage_order():
    split = TimeSplit()
    split.add(1, "step", 2.0)
    split.add(0, "data", 1.5)
    split.add(0, "step", 0.5)
    split.add(1, "step", 1.0)
    split.add(1, "val", 1.0)
    records = split.records()
    assert [r["stage"] for r in records] == [0, 1]
    assert records[0] == {"_type": "time_split", "stage": 0, "step_s": 0.5, "data_s": 1.5, "compile_s": 0.0,
                          "val_s": 0.0, "precise_bn_s": 0.0, "checkpoint_s": 0.0, "total_s": 2.0}
    assert records[1]["step_s"] == 3.0 and records[1]["val_s"] == 1.0 and records[1]["total_s"] == 4.0


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="time category must be one of"):
        TimeSplit().add(0, "lunch", 1.0)


def test_timing_counts_the_body_also_when_it_raises(monkeypatch):
    clock = iter([10.0, 12.5])
    monkeypatch.setattr(time_split.time, "perf_counter", lambda: next(clock))
    split = TimeSplit()
    with pytest.raises(KeyError):
        with split.timing(2, "checkpoint"):
            raise KeyError("disk")
    assert split.records()[0]["checkpoint_s"] == 2.5


def test_state_dict_round_trip_keeps_every_stage():
    split = TimeSplit()
    split.add(0, "step", 1.0)
    split.add(3, "precise_bn", 0.25)
    restored = TimeSplit()
    restored.load_state_dict(split.state_dict())
    assert restored.records() == split.records()
    restored.add(3, "step", 1.0)
    assert restored.records()[1]["total_s"] == 1.25


def test_table_shows_each_category_with_its_share():
    split = TimeSplit()
    split.add(0, "step", 3.0)
    split.add(0, "data", 1.0)
    table = format_time_split(split.records())
    header, row = table.splitlines()
    assert header.split() == ["stage", "total", "s", *CATEGORIES]
    assert row.split()[:6] == ["0", "4.0", "3.0", "(75%)", "1.0", "(25%)"]
