#!/usr/bin/env python
"""Train and/or test a video model: python tools/run_net.py --cfg FILE [KEY VALUE ...]."""
import argparse
import os
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_CHECKOUT, "slowfast")):  # a checkout: its package, not another install
    sys.path.insert(0, _CHECKOUT)

from slowfast.config import ConfigError, load_config
from slowfast.engine.launch import WorkerExit, exit_code_for, run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument("--init_method", default=None,
                        help="torch.distributed rendezvous (tcp://host:port of shard 0) for multi-machine "
                             "runs; a free localhost port when omitted on one machine; ignored under torchrun")
    parser.add_argument("--num_shards", type=int, default=None, help="number of machines (overrides NUM_SHARDS)")
    parser.add_argument("--shard_id", type=int, default=None, help="index of this machine (overrides SHARD_ID)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    parser.add_argument("overrides", nargs="*", help="KEY VALUE overrides, e.g. SOLVER.BASE_LR 0.05")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = list(args.overrides) + list(args.opts)
    if args.num_shards is not None:
        overrides += ["NUM_SHARDS", str(args.num_shards)]
    if args.shard_id is not None:
        overrides += ["SHARD_ID", str(args.shard_id)]
    try:
        cfg = load_config(args.cfg_file, overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        run(cfg, init_method=args.init_method)
    except WorkerExit as err:  # a spawned worker has printed its error
        return err.exit_code
    except Exception as err:
        code = exit_code_for(err)
        if code is None:
            raise
        print(f"error: {err}", file=sys.stderr)  # bad inputs or a diverged loss: no traceback
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
