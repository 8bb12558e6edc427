"""projects/multigrid/reproduce.py: argument handling, records and the files it writes (run_variant
replaced by a fake that trains nothing)."""
import importlib.util
import json
import os

import pytest

from slowfast.benchmark.ablation import VariantRun

TINY = ["RESNET.WIDTH_PER_GROUP", "4", "MODEL.NUM_CLASSES", "4", "SYNTHETIC.GENERATE", "False",
        "DATA.NUM_FRAMES", "16", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[32, 40]",
        "SOLVER.MAX_EPOCH", "2", "SOLVER.STEPS", "[0, 1]", "DATA.DECODED_CACHE_DIR", ""]


@pytest.fixture
def reproduce(repo_root):
    spec = importlib.util.spec_from_file_location("reproduce", repo_root / "projects/multigrid/reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_variants_are_rejected(reproduce, capsys):
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--cfg", "x.yaml", "--variants", "baseline,fast"])
    assert "--variants must name some of" in capsys.readouterr().err
    assert reproduce.parse_args(["--cfg", "x.yaml", "A.B", "1", "--variants", "baseline"]).variants == ["baseline"]


def test_main_runs_each_variant_and_writes_table_json_and_plot(
    reproduce, monkeypatch, repo_root, synthetic_dir, tmp_path
):
    commands = []

    def fake_run(command, name, output_dir):
        commands.append(command)
        os.makedirs(output_dir)
        return VariantRun(name, output_dir, 0, {"baseline": 10.0, "long_short": 4.0}[name], 100.0,
                          [(2.0, 50.0), (4.0, 70.0)], 71.0)

    monkeypatch.setattr(reproduce.ablation, "run_variant", fake_run)
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml")
    out = tmp_path / "abl"
    assert reproduce.main(["--cfg", cfg, "--output-dir", str(out), "--variants", "baseline,long_short",
                           *TINY, "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]) == 0
    assert [c[c.index("OUTPUT_DIR") + 1] for c in commands] == [str(out / "baseline"), str(out / "long_short")]
    report = json.loads((out / "ablation.json").read_text())
    baseline, multigrid = report["runs"]
    assert baseline["iterations"] == 2 * 8  # 2 epochs of 32 clips / batch 4
    assert multigrid["train_gflops"] < baseline["train_gflops"]
    assert "| long_short | 4.0 | 2.50x |" in (out / "ablation.md").read_text()
    assert (out / "val_vs_wallclock.png").stat().st_size > 0


def test_a_failed_variant_stops_the_ablation(reproduce, monkeypatch, repo_root, tmp_path, capsys):
    monkeypatch.setattr(reproduce.ablation, "run_variant", lambda c, n, o: VariantRun(n, o, 1, 1.0, 1.0))
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18.yaml")
    assert reproduce.main(["--cfg", cfg, "--output-dir", str(tmp_path), *TINY]) == 1
    assert "variant baseline exited with 1" in capsys.readouterr().err


def test_completed_variants_are_reused_and_unrecorded_folders_set_aside(reproduce, monkeypatch, repo_root,
                                                                         synthetic_dir, tmp_path, capsys):
    trained = []

    def fake_run(command, name, output_dir):
        trained.append(name)
        os.makedirs(output_dir)
        return VariantRun(name, output_dir, 0, {"baseline": 10.0, "long_short": 4.0}[name], 100.0, [(2.0, 50.0)], 71.0)

    monkeypatch.setattr(reproduce.ablation, "run_variant", fake_run)
    out = tmp_path / "abl"
    argv = ["--cfg", str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml"), "--output-dir", str(out),
            "--variants", "baseline,long_short", *TINY, "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]
    assert reproduce.main(argv) == 0 and trained == ["baseline", "long_short"]
    first_table = (out / "ablation.md").read_text()

    # The baseline's record is lost (say, it was interrupted): only it trains again, in a fresh folder.
    (out / "baseline" / "ablation_run.json").unlink()
    (out / "baseline" / "marker").write_text("earlier run")
    assert reproduce.main(argv) == 0 and trained == ["baseline", "long_short", "baseline"]
    assert "[long_short] reusing the completed run" in capsys.readouterr().out
    (aside,) = [path for path in out.iterdir() if path.name.startswith("baseline.replaced-")]
    assert (aside / "marker").read_text() == "earlier run"
    assert (out / "ablation.md").read_text() == first_table

    # Another command (different overrides) or --rerun trains again.
    assert reproduce.main(argv + ["SOLVER.BASE_LR", "0.05"]) == 0
    assert trained[3:] == ["baseline", "long_short"]
    assert reproduce.main(argv + ["SOLVER.BASE_LR", "0.05", "--rerun"]) == 0
    assert trained[5:] == ["baseline", "long_short"]


def test_seeds_repeat_every_variant_seed_by_seed_in_folders_of_their_own(reproduce, monkeypatch, repo_root,
                                                                       synthetic_dir, tmp_path):
    trained = []

    def fake_run(command, name, output_dir):
        seed = int(command[command.index("RNG_SEED") + 1])
        trained.append((name, seed, os.path.basename(output_dir)))
        os.makedirs(output_dir)
        return VariantRun(name, output_dir, 0, 10.0 if name == "baseline" else 4.0, 100.0, [(2.0, 50.0)],
                          70.0 + seed, test_videos=8)

    monkeypatch.setattr(reproduce.ablation, "run_variant", fake_run)
    out = tmp_path / "abl"
    assert reproduce.main(["--cfg", str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml"), "--output-dir",
                           str(out), "--variants", "baseline,long_short", "--seeds", "2", *TINY,
                           "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]) == 0
    assert trained == [("baseline", 0, "baseline_seed0"), ("long_short", 0, "long_short_seed0"),
                       ("baseline", 1, "baseline_seed1"), ("long_short", 1, "long_short_seed1")]
    table = (out / "ablation.md").read_text()
    assert "Over 2 seeds:" in table and "| long_short | 2 | 4.0 | 2.50x | 70.50 | 0.71 | +0.00 | 0.71 |" in table
    assert [run["seed"] for run in json.loads((out / "ablation.json").read_text())["runs"]] == [0, 0, 1, 1]
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--cfg", "x.yaml", "--seeds", "0"])

    # More seeds later: --first-seed 2 trains only seeds 2 and 3; --seeds 4 then reuses all and tables them.
    argv = ["--cfg", str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml"), "--output-dir", str(out),
            "--variants", "baseline,long_short", *TINY, "DATA.PATH_TO_DATA_DIR", str(synthetic_dir)]
    assert reproduce.main(argv + ["--seeds", "2", "--first-seed", "2"]) == 0
    assert trained[4:] == [("baseline", 2, "baseline_seed2"), ("long_short", 2, "long_short_seed2"),
                           ("baseline", 3, "baseline_seed3"), ("long_short", 3, "long_short_seed3")]
    assert reproduce.main(argv + ["--seeds", "4"]) == 0 and len(trained) == 8
    assert "Over 4 seeds:" in (out / "ablation.md").read_text()
    assert [run["seed"] for run in json.loads((out / "ablation.json").read_text())["runs"]] == [0, 0, 1, 1, 2, 2,
                                                                                                 3, 3]
    assert reproduce.main(argv + ["--first-seed", "4"]) == 0 and trained[8:] == [("baseline", 4, "baseline_seed4"),
                                                                                 ("long_short", 4, "long_short_seed4")]
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--cfg", "x.yaml", "--first-seed", "-1"])


def test_decoded_stores_are_filled_before_the_first_variant_runs(
    reproduce, monkeypatch, repo_root, synthetic_dir, tmp_path
):
    store = tmp_path / "decoded"
    stores_at_first_run = []

    def fake_run(command, name, output_dir):
        stores_at_first_run.append(sorted(path.name.split("-")[0] for path in store.glob("*.json")))
        return VariantRun(name, output_dir, 1, 1.0, 1.0)

    monkeypatch.setattr(reproduce.ablation, "run_variant", fake_run)
    cfg = str(repo_root / "configs/Synthetic/SLOWFAST_R18_MG.yaml")
    reproduce.main(["--cfg", cfg, "--output-dir", str(tmp_path / "abl"), *TINY, "DATA.PATH_TO_DATA_DIR",
                    str(synthetic_dir), "DATA.DECODED_CACHE_DIR", str(store)])
    assert stores_at_first_run == [["test", "train", "val"]]
