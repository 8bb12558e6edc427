"""tools/count_host_syncs.py: runs the real trainer and reports iterations and sync sites (CPU dry run here)."""
import json

import pytest
import torch

TINY = ["SYNTHETIC.GENERATE", "False", "MODEL.NUM_CLASSES", "4", "RESNET.WIDTH_PER_GROUP", "4",
        "DATA.NUM_FRAMES", "8", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32",
        "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "DATA_LOADER.NUM_WORKERS", "0", "LOG_MODEL_INFO", "False",
        "SOLVER.MAX_EPOCH", "1", "SOLVER.WARMUP_EPOCHS", "0.0", "SOLVER.STEPS", "[0]", "SOLVER.LRS", "[1]",
        "BN.USE_PRECISE_STATS", "False", "DATA.DECODED_CACHE_DIR", ""]


@pytest.fixture(scope="module")
def sync_tool(load_tool):
    return load_tool("count_host_syncs")


def test_cpu_dry_run_trains_and_reports_no_syncs(sync_tool, capsys, repo_root, synthetic_dir, tmp_path):
    argv = ["--cfg", str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml"), "--device", "cpu", "--json", *TINY,
            "DATA.PATH_TO_DATA_DIR", str(synthetic_dir), "OUTPUT_DIR", str(tmp_path / "out")]
    assert sync_tool.main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # 4 classes x 8 training clips, batch 4: 8 iterations in the one epoch.
    assert report == {"device": "cpu", "iterations": 8, "total_syncs": 0, "sites": []}
    assert (tmp_path / "out" / "checkpoints" / "checkpoint_epoch_00001.pyth").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error(sync_tool, capsys, repo_root):
    assert sync_tool.main(["--cfg", str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")]) == 2
    assert "no CUDA device is visible; use --device cpu" in capsys.readouterr().err


def test_format_report_lists_sites_with_their_rate_per_iteration(sync_tool):
    text = sync_tool.format_report({"device": "cuda:0", "iterations": 10, "total_syncs": 5, "sites": [
        {"site": "slowfast/engine/train_stats.py:50 (means)", "count": 5, "per_iteration": 0.5}]})
    assert text.splitlines() == ["10 training iterations on cuda:0, 5 host syncs in all",
                                 "       5     0.500/iter  slowfast/engine/train_stats.py:50 (means)"]
