#!/usr/bin/env python
"""Train and/or test a video model: python tools/run_net.py --cfg FILE [KEY VALUE ...]."""
import argparse
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError  # noqa: E402
from slowfast.engine.launch import WorkerExit, exit_code_for, interrupted_message, run  # noqa: E402
from slowfast.engine.run_spec import build_run_spec  # noqa: E402
from slowfast.utils import cli  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE overrides, e.g. SOLVER.BASE_LR 0.05")
    parser.add_argument("--init_method", default=None,
                        help="torch.distributed rendezvous (tcp://host:port of shard 0) for multi-machine "
                             "runs; a free localhost port when omitted on one machine; ignored under torchrun")
    parser.add_argument("--num_shards", type=int, default=None, help="number of machines (overrides NUM_SHARDS)")
    parser.add_argument("--shard_id", type=int, default=None, help="index of this machine (overrides SHARD_ID)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    return parser.parse_args(argv)


@cli.one_line_errors(ConfigError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = list(args.opts)
    if args.num_shards is not None:
        overrides += ["NUM_SHARDS", str(args.num_shards)]
    if args.shard_id is not None:
        overrides += ["SHARD_ID", str(args.shard_id)]
    spec = build_run_spec(cli.load(args, overrides))
    with cli.SigintWatch():
        try:
            run(spec, init_method=args.init_method)
        except KeyboardInterrupt:
            return cli.interrupted(interrupted_message(spec))
        except WorkerExit as err:  # a spawned worker has printed its error
            return err.exit_code
        except Exception as err:
            if cli.sigint_received():  # an error of the same Ctrl-C (e.g. of the loader workers it stopped)
                return cli.interrupted(interrupted_message(spec))
            code = exit_code_for(err)
            if code is None:
                raise
            cli.error(err)  # bad inputs or a diverged loss: no traceback
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
