"""How a process finds its place in a run, without starting any process group."""
import pytest
import torch

from slowfast.utils import distributed
from slowfast.utils.distributed import ProcessPlace


def test_rank_is_shard_times_gpus_plus_local_rank():
    assert distributed.place_from_config(8, 2, 1, 3) == ProcessPlace(rank=11, world_size=16, local_rank=3)
    assert distributed.place_from_config(0, 2, 1, 0) == ProcessPlace(rank=1, world_size=2, local_rank=0)


@pytest.mark.parametrize("num_gpus, num_shards, per_machine, devices",
                         [(0, 1, 1, 1), (0, 3, 1, 3), (8, 1, 8, 8), (8, 2, 8, 16)])
def test_devices_are_one_process_per_gpu_or_one_per_cpu_machine(num_gpus, num_shards, per_machine, devices):
    assert distributed.processes_per_machine(num_gpus) == per_machine
    assert distributed.num_devices(num_gpus, num_shards) == devices
    assert distributed.place_from_config(num_gpus, num_shards, 0, 0).world_size == devices


def test_torchrun_environment_gives_the_place(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched_by_torchrun()
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.launched_by_torchrun()
    assert distributed.place_from_environment() == ProcessPlace(5, 8, 1)


def test_init_method_is_a_free_local_port_on_one_machine_and_required_on_several():
    assert distributed.default_init_method(1, "tcp://h:1") == "tcp://h:1"
    address = distributed.default_init_method(1, None)
    assert address.startswith("tcp://localhost:") and int(address.rsplit(":", 1)[1]) > 0
    with pytest.raises(ValueError, match="NUM_SHARDS is 2: pass --init_method"):
        distributed.default_init_method(2, None)


def test_single_process_helpers_are_no_ops():
    model = torch.nn.BatchNorm3d(2)
    assert distributed.wrap_for_ranks(model, torch.device("cpu")) is model
    assert distributed.states_of_all_ranks({"torch": 1}) == {"torch": 1}
    assert distributed.state_of_this_rank({"per_rank": [{"a": 0}, {"a": 1}]}) == {"a": 0}
    assert distributed.all_reduce_sum(torch.ones(2)).tolist() == [1.0, 1.0]
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 0)) == "nccl"
