"""``tempgate-kiosk run --config FILE [--simulate]``: run the kiosk until SIGTERM or Ctrl-C."""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from edge.config import ConfigError, load_config


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser("run", help="run the kiosk", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="kiosk TOML file")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="simulated people and thermometer in place of hardware",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from edge.kiosk import Kiosk
    from edge.simulated_gate import GateSimulation, passages

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print("\n".join([f"{exc.path}:", *(f"  {p}" for p in exc.problems)]), file=sys.stderr)
        return 2
    if not args.simulate:
        print(
            "run: only --simulate is wired in this version; real device reading is not yet "
            "connected to the decision path",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    kiosk = Kiosk(config)
    kiosk.start()
    sim = config.simulation
    try:
        kiosk.run(
            passages(
                GateSimulation(
                    gate_id=config.kiosk.gate,
                    people_per_minute=sim.people_per_minute,
                    fever_fraction=sim.fever_fraction,
                    roster_size=sim.roster_size,
                    seed=sim.seed,
                ),
                stop,
            ),
            stop,
        )
    finally:
        kiosk.stop()
    return 0
