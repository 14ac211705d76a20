"""``tempgate-kiosk check --config FILE``: validate a kiosk config without starting anything."""

import argparse
import sys
from pathlib import Path
from typing import Any

from edge.config import ConfigError, load_config


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser(
        "check", help="validate a kiosk config file", description=__doc__
    )
    parser.add_argument("--config", type=Path, required=True, help="kiosk TOML file")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    k = config.kiosk
    tls = "TLS" if config.mqtt.tls else "plain TCP"
    print(f"{args.config}: OK")
    print(f"  kiosk {k.id} at site {k.site}, gate {k.gate} {k.name!r}".rstrip())
    print(f"  broker {config.mqtt.host}:{config.mqtt.port} ({tls}) as {config.mqtt_username}")
    print(f"  ledger {config.ledger.path}")
    print(f"  decision threshold {config.decision.threshold_c:.1f} ℃")
    for d in config.devices:
        print(f"  device {d.id}: {d.model} ({d.role}) {d.port or ''}".rstrip())
    return 0
