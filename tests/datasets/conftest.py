"""Shared fixtures: tiny H.264 videos whose frame k is filled with grey level 4 * k."""
import os
import shutil

import cv2
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


FRAME_LIST_HEADER = "original_vido_id video_id frame_id path labels"


def bgr_frame(k: int, height: int = 32, width: int = 48) -> np.ndarray:
    """A BGR image: blue = 4 * k (the frame number), green = 2 * column, red = 200."""
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = 4 * k
    image[..., 1] = 2 * np.arange(width)[None, :]
    image[..., 2] = 200
    return image


@pytest.fixture()
def make_frame_list(tmp_path):
    """Factory: PNG frames of ``{video id: frame count}`` under frames/ and a PySlowFast frame list.

    ``labels`` maps a video id to one label string per frame (e.g. "1,2" or ""); returns the folder.
    """

    def make(file_name: str, videos: dict, labels: dict = None) -> str:
        rows = [FRAME_LIST_HEADER]
        for number, (video_id, count) in enumerate(videos.items()):
            (tmp_path / "frames" / video_id).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                path = f"frames/{video_id}/{video_id}_{k + 1:06d}.png"
                if not (tmp_path / path).exists():
                    cv2.imwrite(str(tmp_path / path), bgr_frame(k))
                label = labels[video_id][k] if labels else ""
                rows.append(f'{video_id} {number} {k} {path} "{label}"')
        (tmp_path / file_name).write_text("\n".join(rows) + "\n")
        return str(tmp_path)

    return make


@pytest.fixture(scope="session")
def clip_frame_numbers():
    """Frame numbers of a BGR uint8 clip [3, T, H, W] made of ``bgr_frame`` images (blue channel / 4)."""

    def read(clip) -> list[int]:
        return np.round(clip[0].float().mean(dim=(1, 2)).numpy() / 4).astype(int).tolist()

    return read


@pytest.fixture()
def data_dir(tmp_path, index_video):
    """Kinetics-format split lists: three copies of the index video (labels 0, 1, 2) listed by
    relative path, with a blank line, in every split."""
    os.makedirs(tmp_path / "clips")
    for name in ("a", "b", "c"):
        shutil.copy(index_video, tmp_path / "clips" / f"{name}.mp4")
    for split in ("train", "val", "test"):
        (tmp_path / f"{split}.csv").write_text("clips/a.mp4 0\nclips/b.mp4 1\n\nclips/c.mp4 2\n")
    return str(tmp_path)
