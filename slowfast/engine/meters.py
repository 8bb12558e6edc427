"""ETA text for training logs."""
import math


def format_eta(seconds: float) -> str:
    """Whole seconds as ``H:MM:SS`` (hours unbounded; negative or non-finite become 0:00:00)."""
    total = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
