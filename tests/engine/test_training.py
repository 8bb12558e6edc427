"""End to end on the tiny synthetic dataset: a baseline run's logs, outputs, learning and resume."""
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from slowfast.config import load_config
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.inputs import InputPreparer
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec
from slowfast.engine.trainer import FROM_SCRATCH_WARNING

BASELINE = {
    "SOLVER.MAX_EPOCH": 3,
    "SOLVER.STEPS": [0],
    "SOLVER.LRS": [1],
    "SOLVER.BASE_LR": 0.01,
    "TRAIN.EVAL_PERIOD": 1,
    "TRAIN.CHECKPOINT_PERIOD": 1,
}


def test_training_loss_goes_down(make_cfg, read_metrics):
    # Motion direction takes a few dozen iterations to pick up; 8 epochs of 4 iterations
    # lower the loss by 0.13 to 0.35 over RNG_SEEDs 0-2 (checked), far beyond batch noise.
    cfg = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 8, "SOLVER.BASE_LR": 0.02, "TRAIN.EVAL_PERIOD": 100,
                    "TRAIN.CHECKPOINT_PERIOD": 100, "TEST.ENABLE": False, "LOG_PERIOD": 100})
    run(build_run_spec(cfg))
    losses = [e["loss"] for e in read_metrics(cfg.OUTPUT_DIR, "train_epoch")]
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.1, losses


def test_baseline_run_logs_every_record_and_tests_the_last_checkpoint(make_cfg, read_stats, read_metrics):
    cfg = make_cfg({**BASELINE, "LOG_PERIOD": 2, "BN.USE_PRECISE_STATS": True, "BN.NUM_BATCHES_PRECISE": 2,
                    "LOG_MODEL_INFO": True, "TENSORBOARD.ENABLE": True})
    results = run(build_run_spec(cfg))
    out = cfg.OUTPUT_DIR

    epochs = read_metrics(out, "train_epoch")
    assert [e["epoch"] for e in epochs] == ["1/3", "2/3", "3/3"]
    assert [e["samples_seen"] for e in epochs] == [32, 64, 96]
    assert all(0 <= e["dt_data"] <= e["dt"] for e in epochs)
    assert read_stats(out, "train_epoch") == epochs  # stdout.log's json_stats lines hold the same records

    # 32 clips / batch 8 = 4 iterations per epoch, logged every LOG_PERIOD 2.
    iters = read_stats(out, "train_iter")
    assert [(r["epoch"], r["iter"], r["global_iter"]) for r in iters] == [
        (f"{e}/3", f"{i}/4", 4 * (e - 1) + i) for e in (1, 2, 3) for i in (2, 4)
    ]
    assert {r["shape"] for r in iters} == {"8x8x32"} and {r["lr"] for r in iters} == {0.01}
    assert all(set(r) >= {"loss", "top1_err", "top5_err", "dt", "dt_data", "eta", "stage"} for r in iters)
    assert all({"top1_err", "top5_err", "loss"} <= set(e) for e in epochs)
    assert all(r["top5_err"] <= r["top1_err"] for r in iters + epochs)

    vals = read_stats(out, "val_epoch")
    assert [v["epoch"] for v in vals] == ["1/3", "2/3", "3/3"]
    assert all(v["num_videos"] == 8 and v["num_failed"] == 0 for v in vals)
    # PySlowFast's val_epoch keys: errors and their running minimum, no accuracies.
    assert all({"top1_err", "top5_err", "min_top1_err", "min_top5_err"} <= set(v) and "top1" not in v for v in vals)
    for key in ("top1_err", "top5_err"):
        assert [v[f"min_{key}"] for v in vals] == [min(v[key] for v in vals[: i + 1]) for i in range(3)]

    (final,) = read_stats(out, "test_final")
    assert final["num_videos"] == 8 and final["num_failed"] == 0 and final["incomplete"] == 0
    assert final["top1_acc"] == round(results["test"]["top1_acc"], 5) and "top5_acc" in final
    assert "top1" not in final and "top5" not in final
    assert read_metrics(out, "test_final") == [final]
    assert [v["epoch"] for v in read_metrics(out, "val_epoch")] == ["1/3", "2/3", "3/3"]

    log = (Path(out) / "stdout.log").read_text()
    assert f"testing {ckpt.checkpoint_path(out, 2)}" in log
    assert log.count("precise BN over 2 batches of 8 clips") == 3
    assert "GFLOPs" in log
    assert [p.name for p in ckpt.list_checkpoints(out)] == [ckpt.checkpoint_path(out, e).name for e in range(3)]
    for epoch, val in enumerate(vals):
        saved = ckpt.load_checkpoint_file(ckpt.checkpoint_path(out, epoch))
        assert saved["epoch"] == epoch and saved["rng_state"] is not None
        # Written after that epoch's validation, so a resumed run knows the best top-1 so far.
        assert sorted(saved["trainer_state"].pop("time_split")) == [str(0)]  # one stage, seconds vary
        assert saved["trainer_state"] == {"global_iter": 4 * (epoch + 1), "samples_seen": 32 * (epoch + 1)}
        assert set(saved["hooks"]) == {"DataHealth", "EpochStats", "Evaluation"}  # the hooks with state
        assert saved["hooks"]["Evaluation"] == {"best_top1": pytest.approx(100 - val["min_top1_err"], abs=1e-5),
                                                "best_top5": pytest.approx(100 - val["min_top5_err"], abs=1e-5)}

    events = EventAccumulator(str(Path(out) / "runs-kinetics"))
    events.Reload()
    assert [(e.step, round(e.value, 5)) for e in events.Scalars("Train/loss")] == [
        (r["global_iter"], pytest.approx(r["loss"], abs=1e-5)) for r in iters]
    assert [e.step for e in events.Scalars("Val/top1")] == [4, 8, 12]


def test_config_yaml_in_output_dir_reloads_to_the_run_config(make_cfg):
    cfg = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TRAIN.ENABLE": False, "TEST.ENABLE": False})
    Path(cfg.OUTPUT_DIR).mkdir()
    (Path(cfg.OUTPUT_DIR) / "config.yaml").write_text("the trained run's config\n")
    run(build_run_spec(cfg))
    # A run that does not train writes config_test.yaml: the trained run's config.yaml stays.
    assert (Path(cfg.OUTPUT_DIR) / "config.yaml").read_text() == "the trained run's config\n"
    reloaded = load_config(f"{cfg.OUTPUT_DIR}/config_test.yaml")
    # Compared as YAML: the file stores tuples (e.g. LONG_CYCLE_FACTORS pairs) as lists.
    assert yaml.safe_load(reloaded.dump()) == yaml.safe_load(cfg.dump())
    assert reloaded.DATA.PATH_TO_DATA_DIR == cfg.DATA.PATH_TO_DATA_DIR and reloaded.OUTPUT_DIR == cfg.OUTPUT_DIR


def test_second_run_with_more_epochs_resumes_after_the_last_checkpoint(make_cfg, read_stats):
    first = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 2, "TRAIN.EVAL_PERIOD": 2, "TEST.ENABLE": False})
    run(build_run_spec(first))
    second = make_cfg({**BASELINE, "TRAIN.EVAL_PERIOD": 3, "TEST.ENABLE": False})
    assert second.OUTPUT_DIR == first.OUTPUT_DIR
    run(build_run_spec(second))

    log = (Path(second.OUTPUT_DIR) / "stdout.log").read_text()
    assert "resumed from the checkpoint of epoch 2; continuing at epoch 3" in log
    iters = read_stats(second.OUTPUT_DIR, "train_iter")
    assert [r["epoch"] for r in iters] == ["1/2"] * 4 + ["2/2"] * 4 + ["3/3"] * 4
    assert [r["global_iter"] for r in iters] == list(range(1, 13))
    assert [r["samples_seen"] for r in read_stats(second.OUTPUT_DIR, "train_epoch")] == [32, 64, 96]
    assert [p.name for p in ckpt.list_checkpoints(second.OUTPUT_DIR)] == [
        "checkpoint_epoch_00001.pyth", "checkpoint_epoch_00002.pyth", "checkpoint_epoch_00003.pyth"]


def test_channels_last_trains_the_same_weights_with_inputs_in_that_layout(make_cfg):
    states = {}
    for channels_last in (False, True):
        cfg = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False, "TRAIN.CHANNELS_LAST": channels_last},
                       output=f"channels_last_{channels_last}")
        run(build_run_spec(cfg))
        path = Path(cfg.OUTPUT_DIR) / "checkpoints" / "checkpoint_epoch_00001.pyth"
        states[channels_last] = torch.load(path, weights_only=True)["model_state"]
    assert states[True].keys() == states[False].keys()
    for name, value in states[False].items():
        torch.testing.assert_close(states[True][name], value, atol=1e-5, rtol=1e-4, msg=name)

    spec = build_run_spec(cfg)
    prepare = InputPreparer(spec.model, spec.data, spec.solver.memory_format, torch.device("cpu"))
    slow, fast = prepare(torch.zeros((2, 3, 8, 32, 32), dtype=torch.uint8))
    assert slow.is_contiguous(memory_format=torch.channels_last_3d)
    assert fast.is_contiguous(memory_format=torch.channels_last_3d)


def test_fine_tuning_config_without_weights_warns_once_that_it_trains_from_scratch(make_cfg):
    cfg = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False, "TRAIN.EXPECT_PRETRAINED": True})
    run(build_run_spec(cfg))
    lines = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text().splitlines()
    warnings = [line for line in lines if "training from scratch: " in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(FROM_SCRATCH_WARNING)
    assert "set TRAIN.CHECKPOINT_FILE_PATH to the Kinetics-400 checkpoint" in FROM_SCRATCH_WARNING


def test_fine_tuning_config_with_a_checkpoint_path_does_not_warn(make_cfg):
    pretrained = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False}, output="pretrained")
    run(build_run_spec(pretrained))
    weights = Path(pretrained.OUTPUT_DIR) / "checkpoints" / "checkpoint_epoch_00001.pyth"
    cfg = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False, "TRAIN.EXPECT_PRETRAINED": True,
                    "TRAIN.CHECKPOINT_FILE_PATH": str(weights)}, output="fine_tuned")
    run(build_run_spec(cfg))
    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    assert f"initialised from {weights}\n" in log
    assert "training from scratch" not in log

    reinit = make_cfg({**BASELINE, "SOLVER.MAX_EPOCH": 1, "TEST.ENABLE": False,
                       "TRAIN.CHECKPOINT_FILE_PATH": str(weights), "TRAIN.CHECKPOINT_REINIT_HEAD": True},
                      output="fine_tuned_new_head")
    run(build_run_spec(reinit))
    log = (Path(reinit.OUTPUT_DIR) / "stdout.log").read_text()
    assert f"initialised from {weights}; classifier re-initialised (TRAIN.CHECKPOINT_REINIT_HEAD)" in log
    assert "head.projection re-initialised: not loaded, as asked" in log
