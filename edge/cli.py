"""``tempgate-kiosk``: the kiosk's command line. Each subcommand lives in its own module."""

import argparse
import importlib
import sys
from collections.abc import Sequence

# One module per subcommand family; each has ``register(subparsers)`` that sets ``handler``.
COMMAND_MODULES = (
    "edge.cli_check",
    "edge.cli_run",
    "edge.cli_devices",
    "edge.cli_calibrate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tempgate-kiosk", description="tempgate gate kiosk: measure, decide, record, deliver."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
