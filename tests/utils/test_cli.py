"""slowfast/utils/cli.py, the helper every script under tools/ (and reproduce.py) uses."""
import argparse
import ast
import os
import signal
import time
from pathlib import Path

import pytest

from slowfast.config import ConfigError
from slowfast.utils import cli

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(REPO.glob("tools/*.py")) + [REPO / "projects/multigrid/reproduce.py"]


def test_config_arguments_and_overrides_load_a_validated_config(tmp_path):
    parser = cli.parser("doc")
    cli.add_config_arguments(parser)
    config = tmp_path / "c.yaml"
    config.write_text("MODEL:\n  ARCH: i3d\n  MODEL_NAME: ResNet\nNUM_GPUS: 0\n")
    args = parser.parse_args(["--cfg", str(config), "SOLVER.BASE_LR", "0.5"])
    cfg = cli.load(args, ["SOLVER.MAX_EPOCH", "7"])
    assert (cfg.MODEL.ARCH, cfg.SOLVER.BASE_LR, cfg.SOLVER.MAX_EPOCH) == ("i3d", 0.5, 7)
    assert cfg.is_frozen()


def test_listed_errors_become_one_line_and_exit_2(capsys):
    @cli.one_line_errors(ConfigError, FileNotFoundError)
    def main(kind: str) -> int:
        if kind == "config":
            raise ConfigError("SOLVER.BASE_LR must be > 0, got 0")
        if kind == "file":
            raise FileNotFoundError("'/x' has no train.csv")
        if kind == "other":
            raise RuntimeError("a bug")
        return 0

    assert main("ok") == 0
    assert main("config") == 2
    assert capsys.readouterr().err == "error: SOLVER.BASE_LR must be > 0, got 0\n"
    assert main("file") == 2
    assert capsys.readouterr().err == "error: '/x' has no train.csv\n"
    with pytest.raises(RuntimeError):  # anything else keeps its traceback
        main("other")


def test_sigint_watch_raises_keyboard_interrupt_remembers_it_and_restores_the_handler():
    with cli.SigintWatch() as watch:
        assert not watch.received and not cli.sigint_received()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler runs before this ends
        assert watch.received and cli.sigint_received()
    with cli.SigintWatch():
        assert not cli.sigint_received()  # each watch starts afresh
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_watch_leaves_an_ignored_sigint_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with cli.SigintWatch() as watch:
            os.kill(os.getpid(), signal.SIGINT)
        assert not watch.received and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_interrupted_prints_the_line_and_gives_exit_status_130(capsys):
    assert cli.interrupted("interrupted by Ctrl-C (SIGINT); rerunning starts afresh") == 130
    assert capsys.readouterr().err == "interrupted by Ctrl-C (SIGINT); rerunning starts afresh\n"


def test_at_least_one_names_the_option(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-clips", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    cli.at_least_one(parser, parser.parse_args([]), "num_clips", "workers")  # unset: fine
    with pytest.raises(SystemExit):
        cli.at_least_one(parser, parser.parse_args(["--workers", "0"]), "num_clips", "workers")
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_script_uses_the_helper_and_one_sys_path_line(script):
    tree = ast.parse(script.read_text())
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module == "slowfast.utils" for alias in node.names}
    assert "cli" in imports, f"{script} does not import slowfast.utils.cli"
    path_edits = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                  and node.attr == "insert" and ast.unparse(node.value) == "sys.path"]
    assert len(path_edits) == 1, f"{script} edits sys.path {len(path_edits)} times"
    source = script.read_text()
    assert "ArgumentParser(" not in source and 'print(f"error:' not in source
