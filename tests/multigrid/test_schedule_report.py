"""Schedule table/JSON (slowfast/multigrid/report.py) and tools/show_schedule.py."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slowfast.config import load_config
from slowfast.multigrid.report import bn_grouping, epochs_note, format_schedule_table, schedule_to_json
from slowfast.multigrid.schedule import build_schedule

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "show_schedule.py"
MULTIGRID = {"MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True}


@pytest.fixture
def kinetics(make_cfg):
    return build_schedule(make_cfg(MULTIGRID))


@pytest.fixture
def kinetics_yaml(tmp_path, kinetics_stepwise_keys):
    """The Kinetics multigrid schedule keys as a YAML file with a one-pathway model."""
    tree: dict = {"MODEL": {"ARCH": "i3d", "MODEL_NAME": "ResNet"}, "NUM_GPUS": 8}
    for key, value in {**kinetics_stepwise_keys, **MULTIGRID}.items():
        group, leaf = key.split(".")
        tree.setdefault(group, {})[leaf] = value
    path = tmp_path / "kinetics_mg.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_json_of_the_kinetics_schedule(kinetics):
    data = schedule_to_json(kinetics)
    assert data["max_epoch"] == 358
    assert len(data["stages"]) == 13
    assert data["stages"][0] == {
        "start_epoch": 0,
        "end_epoch": 73,
        "num_frames": 8,
        "crop_size": 158,
        "batch_size": 512,
        "lr": pytest.approx(0.8),
        "sampling_rate_max": 8,
        "short_cycle": [
            {"crop_size": 112, "batch_size": 1024},
            {"crop_size": 158, "batch_size": 512},
            {"crop_size": 158, "batch_size": 512},
        ],
    }
    assert [s["lr"] for s in data["stages"][-2:]] == pytest.approx([0.001, 0.001])
    lrs = data["lr_by_epoch"]
    assert len(lrs) == 358
    assert [lrs[0], lrs[17], lrs[34], lrs[73], lrs[342], lrs[343]] == pytest.approx(
        [0.01, 0.405, 0.8, 0.4, 0.001, 0.0001]
    )
    json.dumps(data)  # plain JSON types only


def test_table_rows(kinetics):
    lines = format_schedule_table(kinetics, num_devices=8, num_clips=240000).splitlines()
    assert lines[0].split()[:2] == ["stage", "epochs"]
    assert len(lines) == 2 + 13 + 1
    first, last = lines[2], lines[14]
    for cell in ("[0, 73)", "8x158", "512", "112/158/158 : 128/64/64", "groups of 8 (8 per device)"):
        assert cell in first
    # 240000 clips: 117 cycles of 1024+512+512, 384 clips left < 1024.
    assert first.split()[-2:] == ["351", "9.8%"]
    assert "0.001, 0.0001 from 343" in last and "plain" in last
    shares = [float(line.split()[-1].rstrip("%")) for line in lines[2:15]]
    assert sum(shares) == pytest.approx(100, abs=0.1)
    assert lines[-1] == (
        "358 epochs on 8 device(s); warmup 0.01 -> 0.8 over 34 epochs; "
        f"{sum_iterations(kinetics, 240000)} iterations for 240000 clips per epoch"
    )


def test_table_bn_column_follows_the_grouping(make_cfg):
    """K400's 8x8 schedule on 8 GPUs: groups of 8 clips at every stage ("clips"), or groups as
    large as each stage's per-device batch ("values", TRAIN.BATCH_SIZE 64 = 8 devices x 8)."""
    for grouping, first_stage in (("clips", "groups of 8 (8 per device)"), ("values", "plain")):
        schedule = build_schedule(make_cfg({"MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True,
                                            "TRAIN.BATCH_SIZE": 64, "MULTIGRID.BN_GROUPING": grouping}))
        lines = format_schedule_table(schedule, num_devices=8).splitlines()
        assert first_stage in lines[2]


def test_table_bn_column_is_plain_without_multigrid(make_cfg):
    """Baseline BN normalises the whole per-device batch (8 clips here), whatever MULTIGRID.BN_BASE_SIZE."""
    schedule = build_schedule(make_cfg({"MULTIGRID.BN_BASE_SIZE": 4}))
    assert schedule.bn_group_size(64) is None
    row = format_schedule_table(schedule, num_devices=8).splitlines()[2]
    assert "plain" in row and "groups of" not in row  # was "groups of 4 (2 per device)"


def sum_iterations(schedule, num_clips):
    """Total iterations by direct simulation of the drop-last phase cycle."""
    total = 0
    for stage in schedule.stages:
        left, count, sizes = num_clips, 0, stage.short_cycle_batch_sizes
        while left >= sizes[count % len(sizes)]:
            left -= sizes[count % len(sizes)]
            count += 1
        total += count * stage.num_epochs
    return total


def test_table_without_clip_count_uses_per_clip_cost(make_cfg):
    schedule = build_schedule(make_cfg({"MULTIGRID.LONG_CYCLE": True}))
    lines = format_schedule_table(schedule, num_devices=1).splitlines()
    # Per clip, an epoch costs T x S^2: stage 0 is 87 x 8 x 158^2 of the sum over stages.
    costs = [s.num_epochs * s.num_frames * s.crop_size**2 for s in schedule.stages]
    assert lines[2].split()[-2:] == ["-", f"{100 * costs[0] / sum(costs):.1f}%"] == ["-", "9.9%"]
    assert lines[-1] == "358 epochs on 1 device(s); warmup 0.01 -> 0.8 over 34 epochs"


@pytest.mark.parametrize(
    "per_device, devices, expected",
    [
        (8, 8, "plain"),
        (64, 8, "groups of 8 (8 per device)"),
        (2, 8, "sync over 4 devices"),
        (2, 2, "sync over 4 devices (only 2 available)"),
        (12, 8, "plain (12 clips, not a multiple or divisor of 8)"),
    ],
)
def test_bn_grouping(per_device, devices, expected):
    assert bn_grouping(per_device, 8, devices) == expected


@pytest.mark.slow
def test_show_schedule_json_subprocess(kinetics_yaml):
    result = subprocess.run(
        [sys.executable, str(TOOL), "--cfg", str(kinetics_yaml), "--json"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    assert result.stdout.count("\n") == 1
    data = json.loads(result.stdout)
    assert data == schedule_to_json(build_schedule(load_config(str(kinetics_yaml))))
    assert [s["end_epoch"] for s in data["stages"]] == [
        73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 358
    ]
    assert [s["batch_size"] for s in data["stages"]] == [512, 256, 128, 64] * 3 + [64]
    assert [s["sampling_rate_max"] for s in data["stages"][:4]] == [8, 4, 4, 2]
    assert [[p["batch_size"] for p in s["short_cycle"]] for s in data["stages"][2:4]] == [
        [512, 256, 128], [256, 128, 64]
    ]


def load_tool():
    spec = importlib.util.spec_from_file_location("show_schedule", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_show_schedule_table_and_overrides(kinetics_yaml, capsys):
    tool = load_tool()
    assert tool.main(["--cfg", str(kinetics_yaml), "--num-clips", "1000", "MULTIGRID.LONG_CYCLE", "False"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 1 + 1  # short cycle only: one stage
    assert "112/158/224 : 32/16/8" in lines[2]  # NUM_GPUS 8 from the file
    assert lines[-1].startswith("358 epochs on 8 device(s)")
    assert tool.main(["--cfg", str(kinetics_yaml), "--num-gpus", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_epoch"] == 358


def test_show_schedule_reports_bad_keys(kinetics_yaml, capsys):
    tool = load_tool()
    assert tool.main(["--cfg", str(kinetics_yaml), "SOLVER.STEPS", "[3, 94]"]) == 2
    assert "SOLVER.STEPS" in capsys.readouterr().err


def test_table_with_fewer_clips_than_a_batch(kinetics):
    lines = format_schedule_table(kinetics, num_devices=8, num_clips=100).splitlines()
    assert lines[2].split()[-2:] == ["0", "0.0%"]
    assert lines[-1].endswith("; 0 iterations for 100 clips per epoch")


def test_iteration_points_follow_stages_short_cycle_and_lr(make_cfg):
    from slowfast.multigrid.plot import iteration_points
    from slowfast.multigrid.sampler import phase_batch_counts

    schedule = build_schedule(make_cfg({**MULTIGRID, "TRAIN.BATCH_SIZE": 2}))
    points = iteration_points(schedule, num_clips=64)
    per_epoch = [sum(phase_batch_counts(64, schedule.stage_at(e).short_cycle_batch_sizes))
                 for e in range(schedule.max_epoch)]
    assert [p.iteration for p in points] == list(range(sum(per_epoch)))
    first = schedule.stages[0]
    shapes = [(s.num_frames, s.crop_size, b) for s, b in zip(first.short_cycle_shapes, first.short_cycle_batch_sizes)]
    assert [(p.num_frames, p.crop_size, p.batch_size) for p in points[:4]] == shapes + shapes[:1]
    assert points[-1].epoch == schedule.max_epoch - 1
    for point in points[:20]:
        it = point.iteration - sum(per_epoch[:point.epoch])
        assert point.lr == schedule.lr_at(point.epoch + it / per_epoch[point.epoch])
    sparse = iteration_points(schedule, num_clips=64, max_points=10)
    assert len(sparse) <= 10 + schedule.max_epoch and sparse[0] == points[0]


def test_show_schedule_plot_writes_the_picture_and_checks_its_arguments(kinetics_yaml, tmp_path, capsys):
    tool = load_tool()
    picture = tmp_path / "schedule.png"
    assert tool.main(["--cfg", str(kinetics_yaml), "--num-clips", "20000", "--plot", str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10000
    assert f"wrote {picture}" in capsys.readouterr().err
    # No clip count and no train.csv in DATA.PATH_TO_DATA_DIR: a one-line error naming --num-clips.
    assert tool.main(["--cfg", str(kinetics_yaml), "--plot", str(tmp_path / "b.png"),
                      "DATA.PATH_TO_DATA_DIR", str(tmp_path)]) == 2
    assert "--plot needs the training clips per epoch: pass --num-clips N" in capsys.readouterr().err
    assert tool.main(["--cfg", str(kinetics_yaml), "--num-clips", "100", "--plot", str(tmp_path / "b.txt")]) == 2
    assert "name a .png, .pdf or .svg file" in capsys.readouterr().err
    (tmp_path / "train.csv").write_text("a.mp4 0\nb.mp4 1\n" * 600)
    assert tool.main(["--cfg", str(kinetics_yaml), "--plot", str(tmp_path / "c.svg"),
                      "DATA.PATH_TO_DATA_DIR", str(tmp_path)]) == 0
    assert (tmp_path / "c.svg").read_text().startswith("<?xml")


@pytest.mark.parametrize(
    "overrides, note",
    [
        ({**MULTIGRID, "SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "SOLVER.WARMUP_EPOCHS": 0.0,
          "MULTIGRID.EPOCH_FACTOR": 1.5},
         "training runs 2 epochs for SOLVER.MAX_EPOCH 1: the long cycle trains SOLVER.MAX_EPOCH x "
         "MULTIGRID.EPOCH_FACTOR 1.5 = 1.5 epochs, stage ends rounded to whole epochs; MULTIGRID.EPOCH_FACTOR 1.0 "
         "trains exactly SOLVER.MAX_EPOCH epochs"),
        ({"MULTIGRID.SHORT_CYCLE": True, "SOLVER.MAX_EPOCH": 3, "SOLVER.STEPS": [0], "SOLVER.LRS": [1],
          "SOLVER.WARMUP_EPOCHS": 0.0, "MULTIGRID.EPOCH_FACTOR": 1.5},
         "training runs 4 epochs for SOLVER.MAX_EPOCH 3: the short cycle trains SOLVER.MAX_EPOCH x "
         "MULTIGRID.EPOCH_FACTOR 1.5 = 4.5 epochs, truncated to whole epochs; MULTIGRID.EPOCH_FACTOR 1.0 trains "
         "exactly SOLVER.MAX_EPOCH epochs"),
        ({**MULTIGRID, "MULTIGRID.EPOCH_FACTOR": 2.0},
         "training runs 478 epochs for SOLVER.MAX_EPOCH 239: the long cycle trains SOLVER.MAX_EPOCH x "
         "MULTIGRID.EPOCH_FACTOR 2 = 478 epochs; MULTIGRID.EPOCH_FACTOR 1.0 trains exactly SOLVER.MAX_EPOCH epochs"),
        ({**MULTIGRID, "MULTIGRID.EPOCH_FACTOR": 1.0}, None),
        ({}, None),
    ],
    ids=["long cycle rounds", "short cycle truncates", "whole epochs", "epoch factor 1", "baseline"],
)
def test_epochs_note_says_why_the_schedule_trains_another_number_of_epochs(make_cfg, overrides, note):
    cfg = make_cfg(overrides)
    schedule = build_schedule(cfg)
    assert epochs_note(schedule, cfg.SOLVER.MAX_EPOCH, cfg.MULTIGRID.EPOCH_FACTOR) == note
    if note is None:
        assert schedule.max_epoch == cfg.SOLVER.MAX_EPOCH


def test_show_schedule_prints_the_epochs_note_on_stderr(kinetics_yaml, capsys):
    assert load_tool().main(["--cfg", str(kinetics_yaml), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["max_epoch"] == 358
    assert captured.err == ("training runs 358 epochs for SOLVER.MAX_EPOCH 239: the long cycle trains SOLVER.MAX_EPOCH "
                            "x MULTIGRID.EPOCH_FACTOR 1.5 = 358.5 epochs, stage ends rounded to whole epochs; "
                            "MULTIGRID.EPOCH_FACTOR 1.0 trains exactly SOLVER.MAX_EPOCH epochs\n")


def test_show_schedule_plot_without_matplotlib_is_one_line_naming_the_install(kinetics_yaml, tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib then raises ImportError
    picture = tmp_path / "schedule.png"
    assert load_tool().main(["--cfg", str(kinetics_yaml), "--num-clips", "100", "--plot", str(picture)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: --plot draws with matplotlib, which is not installed: pip "
                                                "install matplotlib (or pip install -e '.[plot]')\n")
    assert not picture.exists()
