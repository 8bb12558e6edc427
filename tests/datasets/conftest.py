"""Shared fixtures: tiny H.264 videos whose frame k is filled with grey level 4 * k."""
import numpy as np
import pytest

from slowfast.datasets.synthetic import write_video

HEIGHT, WIDTH = 48, 64


@pytest.fixture(scope="session")
def make_index_video(tmp_path_factory):
    """Factory: write ``file_name`` (its extension picks the container) with ``num_frames`` frames."""
    folder = tmp_path_factory.mktemp("videos")

    def make(file_name: str = "index.mp4", num_frames: int = 60, gop_size: int = 12) -> str:
        frames = np.stack([np.full((HEIGHT, WIDTH, 3), 4 * k, np.uint8) for k in range(num_frames)])
        path = str(folder / file_name)
        write_video(path, frames, fps=30, gop_size=gop_size)
        return path

    return make


@pytest.fixture(scope="session")
def index_video(make_index_video) -> str:
    """60 frames, 64x48, 30 fps, a keyframe every 12 frames."""
    return make_index_video()


@pytest.fixture(scope="session")
def frame_numbers():
    """Read back the index each decoded frame encodes."""

    def read(frames: np.ndarray) -> list[int]:
        return np.round(frames.reshape(len(frames), -1).mean(axis=1) / 4).astype(int).tolist()

    return read
