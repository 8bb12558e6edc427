"""setup_logging handlers and format, json_stats lines, metrics.jsonl and TensorBoard events."""
import json
import logging
import re

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from slowfast.utils import logging as slog

LINE = re.compile(r"^\[\d\d/\d\d \d\d:\d\d:\d\d\]\[INFO\] test_logging:\d+: hello$")


@pytest.fixture(autouse=True)
def restore_root_logger():
    """setup_logging configures the process-wide root logger: undo it after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def owned_handlers():
    return [h for h in logging.getLogger().handlers if getattr(h, "_slowfast_handler", False)]


def test_rank0_logs_info_to_stdout_and_stdout_log(tmp_path, capsys):
    slog.setup_logging(str(tmp_path), rank=0)
    slog.get_logger(__name__).info("hello")
    console = capsys.readouterr().out.splitlines()
    saved = (tmp_path / "stdout.log").read_text().splitlines()
    assert LINE.match(console[-1]), console
    assert len(saved) == 1 and LINE.match(saved[0]), saved


def test_setup_twice_does_not_duplicate_and_redirects_the_file(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    slog.setup_logging(first)
    slog.setup_logging(first)
    assert len(owned_handlers()) == 2  # one console, one file
    slog.get_logger(__name__).info("hello")
    slog.setup_logging(second)
    assert len(owned_handlers()) == 2
    slog.get_logger(__name__).info("again")
    first_lines = (first / "stdout.log").read_text().splitlines()
    assert len(first_lines) == 1 and first_lines[0].endswith(": hello")
    assert (second / "stdout.log").read_text().rstrip().endswith(": again")


def test_other_ranks_log_warnings_only_and_write_no_file(tmp_path, capsys):
    slog.setup_logging(tmp_path, rank=3)
    log = slog.get_logger(__name__)
    log.info("quiet")
    log.warning("loud")
    out = capsys.readouterr().out
    assert "quiet" not in out
    assert re.search(r"^\[rank 3\]\[\d\d/\d\d \d\d:\d\d:\d\d\]\[WARNING\] test_logging:\d+: loud$",
                     out, re.M)
    assert not (tmp_path / "stdout.log").exists()


def test_log_to_file_writes_stdout_log_only_with_the_callers_place_and_traceback(tmp_path, capsys):
    slog.log_to_file("error: before setup")  # no file yet: nothing, and no error
    slog.setup_logging(tmp_path)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as err:
        slog.log_to_file("the run stopped with an unexpected error:", err)
    slog.log_to_file("error: bad input")
    assert capsys.readouterr() == ("", "")  # the caller prints these on stderr itself
    lines = (tmp_path / "stdout.log").read_text().splitlines()
    assert re.fullmatch(r"\[.*\]\[ERROR\] test_logging:\d+: the run stopped with an unexpected error:", lines[0])
    assert lines[1] == "Traceback (most recent call last):" and lines[-2] == "RuntimeError: a bug"
    assert re.fullmatch(r"\[.*\]\[ERROR\] test_logging:\d+: error: bad input", lines[-1])


def test_log_to_file_writes_nothing_on_other_ranks(tmp_path):
    slog.setup_logging(tmp_path, rank=1)
    slog.log_to_file("error: bad input")
    assert not (tmp_path / "stdout.log").exists()


def test_json_stats_line_is_rounded_sorted_and_logged(tmp_path):
    slog.setup_logging(tmp_path)
    stats = {"loss": 0.123456789, "_type": "train_epoch", "epoch": "1/10", "lr": 1.0,
             "top1_err": np.float32(12.5), "iter": np.int64(7), "dt": torch.tensor(0.25),
             "grad_norm": 3}
    line = slog.log_json_stats(stats)
    expected = ('{"_type": "train_epoch", "dt": 0.25000, "epoch": "1/10", "grad_norm": 3, '
                '"iter": 7, "loss": 0.12346, "lr": 1.00000, "top1_err": 12.50000}')
    assert line == expected
    assert (tmp_path / "stdout.log").read_text().rstrip().endswith("json_stats: " + expected)
    assert not (tmp_path / "metrics.jsonl").exists()


def test_metrics_jsonl_gets_one_object_per_call(tmp_path):
    slog.setup_logging(None)
    slog.log_json_stats({"_type": "train_epoch", "epoch": "1/2", "loss": 2.0000049}, tmp_path)
    slog.log_json_stats({"_type": "val_epoch", "epoch": "1/2", "top1_err": 55.555556}, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows == [{"_type": "train_epoch", "epoch": "1/2", "loss": 2.0},
                    {"_type": "val_epoch", "epoch": "1/2", "top1_err": 55.55556}]


def test_tensorboard_writer_writes_scalars_when_enabled(tmp_path):
    writer = slog.MetricsWriter(tmp_path, dataset="kinetics", enabled=True)
    assert writer.log_dir == tmp_path / "runs-kinetics"
    assert not writer.log_dir.exists()  # created lazily
    writer.add_scalars({"Train/loss": 1.5, "Train/lr": 0.1}, step=3)
    writer.add_scalars({"Train/loss": 0.5}, step=4)
    writer.close()
    events = list(writer.log_dir.glob("events.out.tfevents.*"))
    assert len(events) == 1
    accumulator = EventAccumulator(str(writer.log_dir))
    accumulator.Reload()
    losses = [(e.step, e.value) for e in accumulator.Scalars("Train/loss")]
    assert losses == [(3, 1.5), (4, 0.5)]
    assert [e.value for e in accumulator.Scalars("Train/lr")] == [pytest.approx(0.1)]


def test_tensorboard_disabled_writes_nothing_and_log_dir_is_honoured(tmp_path):
    disabled = slog.MetricsWriter(tmp_path, dataset="ssv2", enabled=False)
    disabled.add_scalars({"Train/loss": 1.0}, step=0)
    disabled.close()
    assert list(tmp_path.iterdir()) == []
    off_rank = slog.MetricsWriter(None, dataset="ssv2", enabled=True)
    off_rank.add_scalars({"Train/loss": 1.0}, step=0)
    assert off_rank.log_dir is None and not off_rank.enabled
    custom = slog.MetricsWriter(tmp_path, dataset="ssv2", log_dir="tb")
    custom.add_scalars({"Val/Top1_err": 40.0}, step=1)
    custom.close()
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1
