"""Progress bars: drawn on a terminal, silent in logs and pipes (and off the main process)."""
import io

import pytest

from slowfast.utils.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        super().isatty()  # ValueError once closed, like a real terminal's stream
        return True


def test_bar_is_drawn_on_a_terminal():
    stream = Terminal()
    with progress_bar(4, "synthetic videos", unit="video", stream=stream) as bar:
        for _ in range(4):
            bar.update()
    assert "synthetic videos" in stream.getvalue() and "4/4" in stream.getvalue()


def test_not_a_terminal_or_not_enabled_writes_nothing():
    pipe, terminal = io.StringIO(), Terminal()
    for stream, enabled in ((pipe, True), (terminal, False)):
        with progress_bar(3, "re-encoding", stream=stream, enabled=enabled) as bar:
            bar.update(3)
    assert pipe.getvalue() == "" and terminal.getvalue() == ""


def test_wrapping_an_iterable_yields_its_items_and_length():
    batches = progress_bar(3, "multi-view test", stream=io.StringIO(), iterable=["a", "b", "c"])
    assert len(batches) == 3 and list(batches) == ["a", "b", "c"]


def test_closed_stream_counts_as_not_a_terminal():
    stream = Terminal()
    stream.close()
    with pytest.raises(ValueError):
        stream.isatty()
    bar = progress_bar(1, "x", stream=stream)
    assert bar.disable
    bar.update()
    bar.close()  # would raise ValueError if it wrote to the closed stream


def test_synthetic_generation_is_silent_without_a_terminal(tmp_path, capsys):
    from slowfast.datasets.synthetic import SyntheticOptions, generate_dataset

    options = SyntheticOptions(num_classes=2, clips_per_class=1, num_frames=4, size=16)
    for layout in ("kinetics", "ssv2", "charades"):
        (tmp_path / layout).mkdir()
        generate_dataset(str(tmp_path / layout), options, layout)
    assert capsys.readouterr().err == ""  # pytest's captured stderr is not a terminal
