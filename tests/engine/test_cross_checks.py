"""The check across sections: every clip shape of the schedule (and the test crop) against the model."""
from pathlib import Path

import pytest

from slowfast.config import ConfigError, load_config
from slowfast.models.spec import model_spec

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SLOWFAST_MG = str(CONFIGS / "Synthetic" / "SLOWFAST_R18_MG.yaml")
I3D_MG = str(CONFIGS / "Kinetics" / "I3D_8x8_R50_MG.yaml")
I3D_NLN_MG = str(CONFIGS / "Kinetics" / "I3D_NLN_8x8_R50_MG.yaml")


def test_slowfast_long_cycle_below_alpha_frames_stops_at_load_time():
    """The issue's case: 8 frames train the first long-cycle stage at 2, fewer than SLOWFAST.ALPHA 4;
    it used to stop mid-epoch in datasets/pathways.py."""
    with pytest.raises(ConfigError) as raised:
        load_config(SLOWFAST_MG, ["DATA.NUM_FRAMES", "8"])
    assert str(raised.value) == (
        "MULTIGRID.LONG_CYCLE_FACTORS [0.25, 0.707107] trains 2-frame clips (DATA.NUM_FRAMES 8 x 0.25), "
        "which must be a multiple of SLOWFAST.ALPHA 4: raise DATA.NUM_FRAMES to 16 or turn MULTIGRID.LONG_CYCLE off"
    )


@pytest.mark.parametrize("overrides", [["DATA.NUM_FRAMES", "16"],
                                       ["DATA.NUM_FRAMES", "8", "MULTIGRID.LONG_CYCLE", "False"]])
def test_either_remedy_loads(overrides):
    load_config(SLOWFAST_MG, overrides)


def test_long_cycle_frames_must_stay_multiples_of_alpha():
    with pytest.raises(ConfigError, match=r"trains 3-frame clips \(DATA.NUM_FRAMES 12 x 0.25\), which must be a "
                                          r"multiple of SLOWFAST.ALPHA 4: raise DATA.NUM_FRAMES to 16 or"):
        load_config(SLOWFAST_MG, ["DATA.NUM_FRAMES", "12"])


def test_the_full_clip_keeps_its_message():
    with pytest.raises(ConfigError, match=r"^DATA.NUM_FRAMES 6 must be a multiple of SLOWFAST.ALPHA 4$"):
        load_config(SLOWFAST_MG, ["DATA.NUM_FRAMES", "6", "MULTIGRID.LONG_CYCLE", "False"])


def test_i3d_long_cycle_needs_the_frames_its_temporal_pool_takes():
    with pytest.raises(ConfigError) as raised:
        load_config(I3D_MG, ["DATA.NUM_FRAMES", "4"])
    assert str(raised.value).endswith(
        "trains 1-frame clips (DATA.NUM_FRAMES 4 x 0.25), which must be at least 2: MODEL.ARCH i3d max-pools "
        "time by 2 after res2: raise DATA.NUM_FRAMES to 6 or turn MULTIGRID.LONG_CYCLE off")
    load_config(I3D_MG, ["DATA.NUM_FRAMES", "6"])


def test_nonlocal_groups_must_divide_every_long_cycle_stage_s_frames():
    with pytest.raises(ConfigError, match=r"trains 2-frame clips \(DATA.NUM_FRAMES 8 x 0.25\), which must leave a "
                                          r"multiple of NONLOCAL.GROUP 2 frames at res3 \(it leaves 1\): raise "
                                          r"DATA.NUM_FRAMES to 16 or turn MULTIGRID.LONG_CYCLE off"):
        load_config(I3D_NLN_MG, ["NONLOCAL.GROUP", "[[1], [2], [2], [1]]"])


SMALL_CROPS = ["DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[40, 48]", "DATA.TEST_CROP_SIZE", "32"]


def test_short_cycle_crop_too_small_for_the_nonlocal_pool():
    """32 px x 0.5 = 16 px reaches res4 as a 1x1 map, which NONLOCAL.POOL's 2x2 window empties."""
    with pytest.raises(ConfigError) as raised:
        load_config(I3D_NLN_MG, SMALL_CROPS)
    assert str(raised.value) == (
        "MULTIGRID.SHORT_CYCLE_FACTORS 0.5 trains 16-px crops (DATA.TRAIN_CROP_SIZE 32 x 0.5), which must leave "
        "at least a 2x2 feature map at res4 for the NONLOCAL.POOL window [1, 2, 2] (it leaves 1x1): raise "
        "DATA.TRAIN_CROP_SIZE to at least 34 or turn MULTIGRID.SHORT_CYCLE off")
    load_config(I3D_NLN_MG, SMALL_CROPS + ["DATA.TRAIN_CROP_SIZE", "34"])
    load_config(I3D_NLN_MG, SMALL_CROPS + ["MULTIGRID.SHORT_CYCLE", "False"])


def test_test_crop_too_small_for_the_nonlocal_pool():
    with pytest.raises(ConfigError, match=r"^DATA.TEST_CROP_SIZE 16 must leave at least a 2x2 feature map at res4 "
                                          r"for the NONLOCAL.POOL window \[1, 2, 2\] \(it leaves 1x1\): raise it to "
                                          r"at least 17$"):
        load_config(I3D_NLN_MG, SMALL_CROPS + ["MULTIGRID.SHORT_CYCLE", "False", "DATA.TEST_CROP_SIZE", "16"])


def test_full_train_crop_too_small_for_the_nonlocal_pool():
    with pytest.raises(ConfigError, match=r"^DATA.TRAIN_CROP_SIZE 16 must leave at least a 2x2 feature map at res4 "
                                          r"for the NONLOCAL.POOL window \[1, 2, 2\] \(it leaves 1x1\): raise it to "
                                          r"at least 17$"):
        load_config(I3D_NLN_MG, SMALL_CROPS + ["MULTIGRID.SHORT_CYCLE", "False", "MULTIGRID.LONG_CYCLE", "False",
                                               "DATA.TRAIN_CROP_SIZE", "16"])


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*/*.yaml")), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_shipped_config_fits_its_model(path):
    cfg = load_config(str(path))  # runs the cross-section check
    spec = model_spec(cfg)
    assert spec.frames_problem(cfg.DATA.NUM_FRAMES) is None
    assert spec.crop_problem(cfg.DATA.TRAIN_CROP_SIZE) is None and spec.crop_problem(cfg.DATA.TEST_CROP_SIZE) is None
