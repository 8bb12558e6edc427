"""ETA formatting."""
from slowfast.engine.meters import format_eta


def test_format_eta():
    assert format_eta(0) == "0:00:00"
    assert format_eta(59.9) == "0:00:59"
    assert format_eta(3661) == "1:01:01"
    assert format_eta(100 * 3600 + 5) == "100:00:05"
    assert format_eta(-3) == "0:00:00"
    assert format_eta(float("inf")) == "0:00:00"
