"""Two "nodes" on this machine (one process each, meeting on 127.0.0.1) train exactly like one node
running 2 processes with the same global batch: through torchrun's c10d rendezvous, and through
tools/run_net.py's PySlowFast-style --init_method/--num_shards/--shard_id."""
import subprocess
import sys

import pytest

from slowfast.utils.distributed import find_free_port

pytestmark = pytest.mark.slow  # torchrun and run_net processes

def run_nodes(commands: list[list[str]], env: dict[str, str], timeout_s: float = 300) -> None:
    """Start one process per "node" at once (they wait for each other) and require both to succeed."""
    nodes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for command in commands]
    try:
        outputs = [node.communicate(timeout=timeout_s)[0] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    for shard, (node, output) in enumerate(zip(nodes, outputs)):
        assert node.returncode == 0, f"node {shard} exited {node.returncode}:\n{output[-3000:]}"


def test_two_torchrun_nodes_train_like_one_node(two_rank_run, torchrun_two_processes, repo_root, tmp_path):
    output, port = tmp_path / "out", find_free_port()

    def node(is_host: bool) -> list[str]:
        # On two machines: the same command on each, with --rdzv_endpoint <first machine>:<port>.
        return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
                "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", "two_nodes",
                "--rdzv_conf", f"is_host={int(is_host)}",  # both are 127.0.0.1: say which one hosts the store
                str(repo_root / "tools" / "run_net.py"), "--cfg", str(two_rank_run.config),
                *two_rank_run.overrides(output)]

    run_nodes([node(True), node(False)], two_rank_run.env())
    assert "running on cpu (rank 0 of 2)" in (output / "stdout.log").read_text()
    two_rank_run.assert_same_final_state(output, torchrun_two_processes)


def test_run_net_shards_meeting_at_an_init_method_train_like_one_node(two_rank_run, torchrun_two_processes,
                                                                       repo_root, tmp_path):
    output, port = tmp_path / "out", find_free_port()

    def shard(shard_id: int) -> list[str]:
        return [sys.executable, str(repo_root / "tools" / "run_net.py"), "--cfg", str(two_rank_run.config),
                "--init_method", f"tcp://127.0.0.1:{port}", "--num_shards", "2", "--shard_id", str(shard_id),
                *two_rank_run.overrides(output)]

    run_nodes([shard(0), shard(1)], two_rank_run.env())
    assert "running on cpu (rank 0 of 2)" in (output / "stdout.log").read_text()
    two_rank_run.assert_same_final_state(output, torchrun_two_processes)
