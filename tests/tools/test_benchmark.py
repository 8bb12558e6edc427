"""tools/bench_tool.py: argument handling and JSON output of each mode on tiny configs (never speed)."""
import json

import pytest

TINY = ["RESNET.WIDTH_PER_GROUP", "4", "MODEL.NUM_CLASSES", "4", "SYNTHETIC.GENERATE", "False",
        "DATA.NUM_FRAMES", "16", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[32, 40]",
        "DATA.DECODED_CACHE_DIR", ""]


@pytest.fixture
def bench_tool(load_tool):
    return load_tool("benchmark")


def _run_json(bench_tool, capsys, argv):
    assert bench_tool.main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_schedule_mode_reports_stages_and_a_speedup_over_the_baseline(bench_tool, capsys, repo_root, synthetic_dir):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml")
    argv = ["schedule", "--cfg", cfg, "--num-clips", "32", *TINY, "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]
    report = _run_json(bench_tool, capsys, argv)
    assert report["mode"] == "schedule" and report["num_clips"] == 32
    assert [stage["stage"] for stage in report["stages"]] == list(range(len(report["stages"])))
    assert report["iterations"] == sum(stage["iterations"] for stage in report["stages"])
    assert report["total_gflops"] == pytest.approx(sum(stage["total_gflops"] for stage in report["stages"]))
    # Baseline: 32 epochs of 32 // 4 = 8 iterations; multigrid does less compute.
    assert report["baseline_iterations"] == 256
    assert report["predicted_speedup"] == pytest.approx(report["baseline_total_gflops"] / report["total_gflops"])
    assert report["predicted_speedup"] > 1.0
    assert bench_tool.main(argv) == 0
    assert "predicted speedup" in capsys.readouterr().out


def test_schedule_mode_says_whether_the_loader_keeps_up(bench_tool, capsys, repo_root, synthetic_dir, tmp_path):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    data = {"mode": "data", "results": [
        {"loader": "ours", "shape": "16x32 r2", "clips_per_s": 10.0},
        {"loader": "ours", "shape": "16x32 r2", "clips_per_s": 30.0},
        {"loader": "simple", "shape": "16x32 r2", "clips_per_s": 99.0}]}
    model = {"mode": "model", "results": [{"shape": "16x32", "clips_per_s": 20.0}]}
    (tmp_path / "d.json").write_text(json.dumps(data))
    (tmp_path / "m.json").write_text(json.dumps(model))
    report = _run_json(bench_tool, capsys, [
        "schedule", "--cfg", cfg, "--num-clips", "16", "--data-json", str(tmp_path / "d.json"),
        "--model-json", str(tmp_path / "m.json"), *TINY, "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)])
    assert report["predicted_speedup"] == pytest.approx(1.0)
    assert report["keeps_up"] == [{"shape": "16x32 r2", "loader_clips_per_s": 30.0, "model_clips_per_s": 20.0,
                                   "keeps_up": True, "input_bound_fraction": 0.0}]
    assert bench_tool.main(["schedule", "--cfg", cfg, "--num-clips", "16", "--data-json", str(tmp_path / "m.json"),
                           "--model-json", str(tmp_path / "m.json"), *TINY]) == 2
    assert "not a `benchmark.py data --json` output" in capsys.readouterr().err


def test_data_mode_measures_ours_and_the_simple_loader_per_shape(bench_tool, capsys, repo_root, synthetic_dir):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    assert bench_tool.main([
        "data", "--cfg", cfg, "--workers", "0", "--batch-size", "2", "--num-batches", "1", *TINY,
        "DATA.PATH_TO_DATA_DIR", str(synthetic_dir), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    rows = report["results"]
    assert [(row["loader"], row["shape"], row["num_workers"], row["batch_size"]) for row in rows] == [
        ("ours", "16x32 r2", 0, 2), ("simple", "16x32 r2", 0, 2)]
    assert all(row["num_batches"] == 1 for row in rows)
    assert all(row["clips_per_s"] == pytest.approx(2 * row["batches_per_s"]) for row in rows)
    assert rows[0]["decode_s_per_clip"] > 0 and rows[0]["transform_s_per_clip"] > 0
    assert rows[1]["decode_s_per_clip"] is None
    assert all(row["cpu_s_per_clip"] > 0 for row in rows)  # 0 workers: this process did the work
    # One shape, the full one: every cost relative to it is 1.
    assert all(row["loader_cost_vs_full"] == 1.0 and row["model_flops_vs_full"] == 1.0 for row in rows)
    (cost,) = report["shape_costs"]
    assert (cost["shape"], cost["clips"], cost["flop_share"], cost["cost_vs_reference"], cost["target"]) == (
        "16x32 r2", 2, 1.0, 1.0, 2.0)
    assert cost["cpu_s_per_clip"] == rows[0]["cpu_s_per_clip"] and cost["passes"] is True
    assert report["cost_reference"] == {"source": "this run", "shape": "16x32 r2",
                                        "cpu_s_per_clip": cost["cpu_s_per_clip"]}
    # Progress on stderr: what is measured, before it is.
    assert "benchmark: [1/1] 16x32 r2: ours, 0 workers, 1 timed batches of 2" in err
    assert "benchmark: note: DATA.DECODED_CACHE_GB 4 decodes the videos into memory" in err


def test_data_mode_counts_the_decoders_work_on_copied_videos_against_a_reference(
        bench_tool, capsys, repo_root, tmp_path):
    from slowfast.benchmark.videos import VideoSpec, write_kinetics_like

    sources = write_kinetics_like(str(tmp_path / "src"), 2, VideoSpec(width=64, height=48, fps=30, seconds=2.0))
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    argv = ["data", "--cfg", cfg, "--workers", "0", "--batch-size", "2", "--num-batches", "1", "--no-simple",
            "--data-dir", str(tmp_path / "copy"), *TINY, "DATA.DECODED_CACHE_GB", "0"]
    reference = _run_json(bench_tool, capsys, argv + ["--copy-videos", ",".join(sources),
                                                      "--save", str(tmp_path / "ref.json")])
    assert sorted(p.name for p in (tmp_path / "copy" / "videos").iterdir()) == [
        "0000_video_0000.mp4", "0001_video_0001.mp4"]
    report = _run_json(bench_tool, capsys, argv + ["--reference", str(tmp_path / "ref.json")])
    (cost,) = report["shape_costs"]
    # 16 frames at rate 2 out of 60, one keyframe: at least the 16 are decoded, exactly 16 converted.
    assert cost["frames_decoded_per_clip"] >= 16 and cost["frames_converted_per_clip"] == 16
    assert 0 < cost["pixels_converted_per_clip"] <= 16 * 64 * 48 and cost["pixels_converted_per_clip"] % 16 == 0
    ref_cpu = reference["shape_costs"][0]["cpu_s_per_clip"]
    assert report["cost_reference"] == {"source": str(tmp_path / "ref.json"), "shape": "16x32 r2",
                                        "cpu_s_per_clip": ref_cpu}
    assert cost["cost_vs_reference"] == cost["cpu_s_per_clip"] / ref_cpu
    assert cost["passes"] == (cost["cost_vs_reference"] <= 2.0)
    assert bench_tool.main(argv + ["--reference", str(tmp_path / "ref.json")]) == 0
    table = capsys.readouterr().out
    assert "frames_decoded_per_clip" in table and ("PASS" in table or "FAIL" in table)
    assert f"the full shape 16x32 r2 of {tmp_path / 'ref.json'}; target max(2 x flop_share, 0.2)" in table


def test_schedule_mode_predicts_whether_the_loader_keeps_up_on_a_gpu_node(
        bench_tool, capsys, repo_root, synthetic_dir, tmp_path):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    data = {"mode": "data", "results": [{"loader": "ours", "shape": "16x32 r2", "clips_per_s": 1.0}],
            "shape_costs": [{"shape": "16x32 r2", "cpu_s_per_clip": 0.5}]}
    model = {"mode": "model", "source": "a table", "results": [
        {"shape": "16x32", "batch_size": 4, "step_s": 0.2, "clips_per_s": 20.0},
        {"shape": "16x32", "batch_size": 4, "step_s": 0.1, "precision": "bf16", "clips_per_s": 40.0}]}
    (tmp_path / "d.json").write_text(json.dumps(data))
    (tmp_path / "m.json").write_text(json.dumps(model))
    argv = ["schedule", "--cfg", cfg, "--num-clips", "16", "--data-json", str(tmp_path / "d.json"),
            "--model-json", str(tmp_path / "m.json"), "--cores-per-gpu", "2", *TINY,
            "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]
    node = _run_json(bench_tool, capsys, argv)["gpu_node"]
    # Loader: 2 cores / 0.5 s = 4 clips/s; GPU (fp32): 4 clips / 0.2 s = 20 clips/s.
    assert node["shapes"] == [{"shape": "16x32 r2", "cpu_s_per_clip": 0.5, "gpu_s_per_clip": 0.05,
                               "gpu_step_source": "measured at batch 4"}]
    (stage,) = node["stages"]
    assert stage["loader_clips_per_s"] == pytest.approx(4.0) and stage["gpu_clips_per_s"] == pytest.approx(20.0)
    assert stage["headroom"] == pytest.approx(0.2) and stage["bound"] == "loader"
    assert stage["predicted_s"] == pytest.approx(stage["clips_per_gpu"] * 0.25)
    assert node["efficiency"] == pytest.approx(0.2) and node["loader_bound_stages"] == [0]
    assert (node["cores_per_gpu"], node["precision"], node["step_times_from"]) == (2.0, "fp32", "a table")
    bf16 = _run_json(bench_tool, capsys, argv + ["--precisions", "bf16"])["gpu_node"]
    assert bf16["stages"][0]["gpu_clips_per_s"] == pytest.approx(40.0)
    assert bench_tool.main(argv) == 0
    assert "efficiency 20.0%; loader-bound stages: [0]" in capsys.readouterr().out
    data["shape_costs"] = []
    (tmp_path / "d.json").write_text(json.dumps(data))
    assert bench_tool.main(argv) == 2
    assert "--data-json has no CPU seconds per clip for ['16x32 r2']" in capsys.readouterr().err


def test_costs_relative_to_the_full_shape_per_loader_and_worker_count():
    from slowfast.benchmark.commands import relative_to_full_shape

    def row(loader, frames, crop, workers, clips_per_s):
        return {"loader": loader, "num_frames": frames, "crop_size": crop, "num_workers": workers,
                "clips_per_s": clips_per_s}

    rows = [row("ours", 4, 16, 0, 40.0), row("ours", 8, 32, 0, 10.0), row("ours", 4, 16, 2, 80.0),
            row("ours", 8, 32, 2, 20.0), row("simple", 4, 16, 0, 5.0)]
    out = relative_to_full_shape(rows, (8, 32), lambda t, s: t * s * s)
    assert [r["loader_cost_vs_full"] for r in out] == [0.25, 1.0, 0.25, 1.0, 1.0]  # simple: only its own shape
    assert [r["model_flops_vs_full"] for r in out] == [0.125, 1.0, 0.125, 1.0, 1.0]


def test_model_mode_times_each_shape_and_batch(bench_tool, capsys, repo_root):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    report = _run_json(bench_tool, capsys, [
        "model", "--cfg", cfg, "--batch-sizes", "1,2", "--num-steps", "1", "--device", "cpu", *TINY])
    rows = report["results"]
    shapes = [(row["shape"], row["batch_size"], row["device"]) for row in rows]
    assert shapes == [("16x32", 1, "cpu"), ("16x32", 2, "cpu")]
    assert all(row["clips_per_s"] == pytest.approx(row["batch_size"] / row["step_s"]) for row in rows)
    # On CPU: the step's resident-memory growth, and no CUDA allocator figure.
    assert all(row["cuda_max_allocated_mb"] is None and row["cpu_rss_growth_mb"] >= 0 for row in rows)


def test_model_mode_measures_every_precision_and_memory_format(bench_tool, capsys, repo_root, tmp_path):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    report = _run_json(bench_tool, capsys, [
        "model", "--cfg", cfg, "--batch-sizes", "1", "--num-steps", "1", "--device", "cpu",
        "--memory-formats", "contiguous,channels_last_3d", *TINY])
    assert [(row["precision"], row["memory_format"]) for row in report["results"]] == [
        ("fp32", "contiguous"), ("fp32", "channels_last_3d")]
    saved = tmp_path / "model.json"
    assert bench_tool.main(["model", "--cfg", cfg, "--batch-sizes", "1", "--num-steps", "1", "--device", "cpu",
                            "--save", str(saved), *TINY]) == 0
    assert "precision" in capsys.readouterr().out  # the table, while the file holds the JSON
    assert json.loads(saved.read_text())["results"][0]["memory_format"] == "contiguous"
    assert bench_tool.main(["model", "--cfg", cfg, "--precisions", "bf16", "--device", "cpu", *TINY]) == 2
    assert "bf16 autocast is measured on CUDA only" in capsys.readouterr().err


def test_model_mode_defaults_to_the_schedules_per_device_batch_of_each_shape(bench_tool, capsys, repo_root):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml")
    report = _run_json(bench_tool, capsys, [
        "model", "--cfg", cfg, "--num-steps", "1", "--device", "cpu", *TINY,
        "TRAIN.BATCH_SIZE", "2", "MULTIGRID.SHORT_CYCLE", "False"])
    # Long cycle over 16 frames x 32 px: 4x23 (x8 batch), 8x23 (x4), 8x32 (x2), 16x32 (x1).
    assert [(row["shape"], row["batch_size"]) for row in report["results"]] == [
        ("4x23", 16), ("8x23", 8), ("8x32", 4), ("16x32", 2)]
    rows = report["results"]
    for row in rows:
        assert row["gflops"] > 0 and row["s_per_gflop"] == pytest.approx(row["step_s"] / row["gflops"])
        assert row["relative_s_per_gflop"] == pytest.approx(row["s_per_gflop"] / rows[-1]["s_per_gflop"])
    assert rows[-1]["relative_s_per_gflop"] == 1.0
    # Per-device batches scale with the shape, so every step costs about the same FLOPs.
    assert max(row["gflops"] for row in rows) / min(row["gflops"] for row in rows) < 1.4


def test_model_mode_times_the_bn_layers_grouped_and_plain(bench_tool, capsys, repo_root):
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml")
    report = _run_json(bench_tool, capsys, [
        "model", "--cfg", cfg, "--num-steps", "2", "--device", "cpu", "--bn", "--shapes", "4x23,16x32", *TINY,
        "TRAIN.BATCH_SIZE", "2", "MULTIGRID.SHORT_CYCLE", "False", "MULTIGRID.BN_BASE_SIZE", "2"])
    rows = report["results"]
    assert [row["shape"] for row in rows] == ["4x23", "16x32"]
    for row in rows:
        assert row["bn_grouped_s"] > 0 and row["bn_plain_s"] > 0
        assert row["bn_ratio"] == pytest.approx(row["bn_grouped_s"] / row["bn_plain_s"])


@pytest.mark.parametrize("argv, message", [
    (["model", "--cfg", "x.yaml", "--precisions", "fp16"], "expected comma-separated names from ['fp32', 'bf16']"),
    (["model", "--cfg", "x.yaml", "--memory-formats", "nhwc"], "names from ['contiguous', 'channels_last_3d']"),
    (["schedule", "--cfg", "x.yaml"], "needs --num-clips"),
    (["data", "--cfg", "x.yaml", "--workers", "a"], "comma-separated integers"),
    (["data", "--cfg", "x.yaml", "--batch-size", "0"], "--batch-size must be >= 1"),
    (["schedule", "--cfg", "x.yaml", "--num-clips", "4", "--data-json", "d"], "go together"),
    (["schedule", "--cfg", "x.yaml", "--num-clips", "4", "--cores-per-gpu", "8"], "needs a value > 0 and --data-json"),
    (["schedule", "--cfg", "x.yaml", "--num-clips", "4", "--data-json", "d", "--model-json", "m",
      "--cores-per-gpu", "8", "--precisions", "fp32,bf16"], "one precision and one memory format"),
    (["data", "--cfg", "x.yaml", "--copy-videos", "a.mp4"], "--copy-videos needs --data-dir"),
    (["data", "--cfg", "x.yaml", "--data-dir", "d", "--write-kinetics-like", "w"], "two sources of videos"),
])
def test_bad_arguments_are_rejected_with_a_message(bench_tool, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench_tool.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_config_is_an_error_not_a_traceback(bench_tool, capsys):
    assert bench_tool.main(["model", "--cfg", "missing.yaml"]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_interleaved_timing_takes_medians_over_rounds(monkeypatch):
    from slowfast.benchmark import model as model_bench

    calls = []
    clock = iter([0.0, 1.0, 1.0, 3.0, 3.0, 4.0, 4.0, 9.0, 9.0, 10.0, 10.0, 12.0])
    monkeypatch.setattr(model_bench.time, "perf_counter", lambda: next(clock))
    steps = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    medians = model_bench.median_seconds_interleaved(steps, 3, model_bench.torch.device("cpu"))
    assert calls == ["a", "b"] * 3
    assert medians == {"a": 1.0, "b": 2.0}  # a: 1, 1, 1; b: 2, 5, 2


def test_cpu_memory_is_the_resident_growth_during_the_step():
    from slowfast.benchmark import model as model_bench

    def step():
        held = model_bench.torch.ones(16 * 2**20)  # 64 MiB, held while the sampler looks
        model_bench.time.sleep(0.05)
        del held

    assert 60 <= model_bench.cpu_rss_growth_mb(step) < 80
    assert model_bench.step_memory_mb(step, model_bench.torch.device("cpu"))[0] is None
