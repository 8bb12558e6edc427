import pytest
import torch

from slowfast.datasets.pathways import normalize, slow_pathway_indices, to_model_inputs

MEAN = [0.45, 0.5, 0.4]
STD = [0.225, 0.25, 0.2]


def ramp_clips(num_frames):
    """uint8 [2, 3, T, 2, 2] whose frame t has value 7 * t + channel."""
    values = torch.arange(num_frames).view(1, 1, num_frames, 1, 1) * 7 + torch.arange(3).view(1, 3, 1, 1, 1)
    return values.expand(2, 3, num_frames, 2, 2).to(torch.uint8).contiguous()


def test_normalize_matches_the_formula():
    clips = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 3, 1, 1).expand(1, 3, 3, 1, 1)
    normalised = normalize(clips, MEAN, STD)
    assert normalised.dtype == torch.float32 and normalised.shape == (1, 3, 3, 1, 1)
    for channel in range(3):
        expected = torch.tensor([(v / 255 - MEAN[channel]) / STD[channel] for v in (0, 51, 255)])
        torch.testing.assert_close(normalised[0, channel, :, 0, 0], expected, rtol=0, atol=1e-6)


def test_single_pathway_returns_the_normalised_clip():
    clips = ramp_clips(4)
    (inputs,) = to_model_inputs(clips, MEAN, STD, slowfast_alpha=None)
    torch.testing.assert_close(inputs, normalize(clips, MEAN, STD))
    assert clips.dtype == torch.uint8  # input untouched


@pytest.mark.parametrize(
    "num_frames, alpha, expected",
    [(8, 4, [0, 4]), (32, 4, [0, 4, 8, 12, 16, 20, 24, 28]), (6, 4, [0]), (8, 8, [0]), (16, 2, list(range(0, 16, 2)))],
)
def test_slow_pathway_takes_every_alpha_th_frame(num_frames, alpha, expected):
    assert slow_pathway_indices(num_frames, alpha) == expected
    slow, fast = to_model_inputs(ramp_clips(num_frames), MEAN, STD, slowfast_alpha=alpha)
    assert fast.shape == (2, 3, num_frames, 2, 2)
    assert slow.shape == (2, 3, len(expected), 2, 2) and slow.is_contiguous()
    torch.testing.assert_close(slow, fast[:, :, expected])
    frame_values = (fast[0, 0, :, 0, 0] * STD[0] + MEAN[0]) * 255
    torch.testing.assert_close(frame_values, torch.arange(num_frames) * 7.0, rtol=0, atol=1e-4)


def test_too_few_frames_for_slowfast_is_rejected():
    with pytest.raises(ValueError, match="SLOWFAST.ALPHA=8"):
        to_model_inputs(ramp_clips(4), MEAN, STD, slowfast_alpha=8)


def test_bad_channel_count_is_rejected():
    with pytest.raises(ValueError, match="C = len"):
        normalize(ramp_clips(2)[:, :2], MEAN, STD)
