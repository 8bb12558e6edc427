"""tools/make_synthetic_dataset.py: the command it prints trains on what it wrote."""
import shlex

from slowfast.config import load_config


def test_the_printed_command_loads_a_config_for_the_written_classes(load_tool, repo_root, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(repo_root)
    out = tmp_path / "my data"
    args = ["--out", str(out), "--num-classes", "3", "--clips-per-class", "1", "--num-frames", "8", "--size", "16"]
    assert load_tool("make_synthetic_dataset").main(args) == 0
    printed = capsys.readouterr().out.splitlines()[-1]
    assert printed == (f"Train on it with: python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_R18.yaml "
                       f"DATA.PATH_TO_DATA_DIR '{out}' SYNTHETIC.GENERATE False MODEL.NUM_CLASSES 3 "
                       "(SLOWFAST_R18_MG.yaml for multigrid)")
    words = shlex.split(printed.split(": ", 1)[1].split(" (")[0])
    assert words[:4] == ["python", "tools/run_net.py", "--cfg", "configs/Synthetic/SLOWFAST_R18.yaml"]
    for config in ("SLOWFAST_R18.yaml", "SLOWFAST_R18_MG.yaml"):
        cfg = load_config(f"configs/Synthetic/{config}", words[4:])  # the configs ask for 8 classes
        assert (cfg.DATA.PATH_TO_DATA_DIR, cfg.MODEL.NUM_CLASSES, cfg.TRAIN.DATASET) == (str(out), 3, "kinetics")
    assert (out / "train.csv").read_text().count("\n") == 3
