"""``tempgate-server``: run the collector."""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from server.config import ServerConfigError, load_server_config


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from server.api.app import create_app
    from server.ingest import Ingest

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        config = load_server_config(args.config)
    except ServerConfigError as exc:
        print("\n".join([f"{exc.path}:", *(f"  {p}" for p in exc.problems)]), file=sys.stderr)
        return 2
    app = create_app(config.store.path, Ingest(config))
    uvicorn.run(app, host=config.http.host, port=config.http.port, log_level="warning")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tempgate-server", description="tempgate collector")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = sub.add_parser("run", help="ingest from MQTT and serve the API")
    run_parser.add_argument("--config", type=Path, required=True, help="server TOML file")
    run_parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run_parser.set_defaults(handler=run)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
