"""``tempgate-server``: run the collector, create API tokens, print daily reports."""

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from server.config import ServerConfig, ServerConfigError, load_server_config

if TYPE_CHECKING:
    import sqlite_utils


def _config(path: Path) -> ServerConfig | None:
    try:
        return load_server_config(path)
    except ServerConfigError as exc:
        print("\n".join([f"{exc.path}:", *(f"  {p}" for p in exc.problems)]), file=sys.stderr)
        return None


def _store(config: ServerConfig) -> "sqlite_utils.Database":
    """The collector's store, migrated, on a connection of the caller's."""
    from server.db import connect, migrate

    migrate(config.store.path)
    return connect(config.store.path)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from server.api.app import create_app
    from server.ingest import Ingest

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    config = _config(args.config)
    if config is None:
        return 2
    app = create_app(config.store.path, Ingest(config), config.api.auth_failures_per_minute)
    # Open live streams (consoles) must not hold a stop for ever: 5 s, then they are cut.
    uvicorn.run(
        app,
        host=config.http.host,
        port=config.http.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0


def token_create(args: argparse.Namespace) -> int:
    from edge.wire import format_ts, now_utc
    from server.auth import Role, TokenNameTaken, create_token
    from server.db import Transaction

    config = _config(args.config)
    if config is None:
        return 2
    db = _store(config)
    try:
        with Transaction(db):
            token = create_token(db, args.name, Role(args.role), format_ts(now_utc()))
            db.table("audit_log").insert(
                {
                    "ts": format_ts(now_utc()),
                    "actor": "cli",
                    "action": "token.create",
                    "detail": f"{args.name} as {args.role}",
                }
            )
    except TokenNameTaken as exc:
        print(f"token create: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(token)
    return 0


def report(args: argparse.Namespace) -> int:
    from edge.wire import now_utc
    from server.report_formats import to_csv, to_html, to_xlsx
    from server.reports import UnknownSite, build_report

    config = _config(args.config)
    if config is None:
        return 2
    db = _store(config)
    try:
        built = build_report(db, args.site, args.day, now_utc())
    except UnknownSite as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    if args.format == "xlsx":
        if args.out is None:
            print("report: xlsx is binary; name a file with --out FILE.xlsx", file=sys.stderr)
            return 2
        args.out.write_bytes(to_xlsx(built))
        return 0
    text = {
        "json": lambda: built.model_dump_json(indent=2),
        "csv": lambda: to_csv(built),
        "html": lambda: to_html(built),
    }[args.format]()
    if args.out is None:
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def purge_now(args: argparse.Namespace) -> int:
    from edge.wire import now_utc
    from server.retention import purge

    config = _config(args.config)
    if config is None:
        return 2
    db = _store(config)
    try:
        counts = purge(db, now_utc(), args.days or config.retention.days)
    finally:
        db.close()
    print(" ".join(f"{table}={n}" for table, n in counts.items()))
    return 0


def broker_config(args: argparse.Namespace) -> int:
    from server.broker_config import BrokerConfigError, TlsFiles, write_broker_config

    tls_parts = (args.tls_cafile, args.tls_certfile, args.tls_keyfile)
    if any(tls_parts) and not all(tls_parts):
        print(
            "broker-config: TLS needs --tls-cafile, --tls-certfile and --tls-keyfile",
            file=sys.stderr,
        )
        return 2
    tls = TlsFiles(*tls_parts) if all(tls_parts) else None
    try:
        conf = write_broker_config(
            args.kiosks,
            args.out,
            port=args.port,
            bind=args.bind,
            tls=tls,
            tls_port=args.tls_port,
            collector_user=args.collector_user,
            run_as=args.user,
        )
    except (BrokerConfigError, OSError) as exc:
        print(f"broker-config: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {conf}, {args.out / 'passwd'}, {args.out / 'acl'}")
    print(f"credentials for kiosks and the collector: {args.out / 'credentials.csv'} (mode 600)")
    print(f"start it with: mosquitto -c {conf}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tempgate-server", description="tempgate collector")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_parser = sub.add_parser("run", help="ingest from MQTT and serve the API and console")
    run_parser.add_argument("--config", type=Path, required=True, help="server TOML file")
    run_parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run_parser.set_defaults(handler=run)

    token_parser = sub.add_parser("token", help="API tokens")
    token_sub = token_parser.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token; it is printed once")
    create.add_argument("--config", type=Path, required=True, help="server TOML file")
    create.add_argument("--role", required=True, choices=["viewer", "guard", "admin"])
    create.add_argument("--name", required=True, help="who uses it, e.g. guard-wang")
    create.set_defaults(handler=token_create)

    report_parser = sub.add_parser("report", help="a site's daily report")
    report_parser.add_argument("--config", type=Path, required=True, help="server TOML file")
    report_parser.add_argument("--site", required=True)
    report_parser.add_argument("--day", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    report_parser.add_argument("--format", default="json", choices=["json", "csv", "xlsx", "html"])
    report_parser.add_argument("--out", type=Path, help="write here instead of stdout")
    report_parser.set_defaults(handler=report)

    purge_parser = sub.add_parser("purge", help="apply retention now (it also runs daily)")
    purge_parser.add_argument("--config", type=Path, required=True, help="server TOML file")
    purge_parser.add_argument("--days", type=int, help="override [retention] days")
    purge_parser.set_defaults(handler=purge_now)

    broker = sub.add_parser("broker-config", help="mosquitto config, passwords and ACL for a site")
    broker.add_argument(
        "--kiosks", type=Path, required=True, help="CSV: kiosk_id,site,gate[,password]"
    )
    broker.add_argument("--out", type=Path, required=True, help="directory to write into")
    broker.add_argument("--port", type=int, default=1883)
    broker.add_argument("--bind", default="0.0.0.0")
    broker.add_argument("--tls-port", type=int, default=8883)
    broker.add_argument("--tls-cafile", type=Path)
    broker.add_argument("--tls-certfile", type=Path)
    broker.add_argument("--tls-keyfile", type=Path)
    broker.add_argument("--collector-user", default="collector")
    broker.add_argument("--user", default="mosquitto", help="the user mosquitto drops to as root")
    broker.set_defaults(handler=broker_config)

    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
