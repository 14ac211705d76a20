"""``tempgate-demo``: a whole simulated site on this machine.

Starts a broker (mosquitto, or the labelled embedded development broker), the collector and
two simulated kiosks at two gates of one school, each as its own process started the way a
site starts them. Runs until Ctrl-C or ``--for`` seconds, stops everything it started, and
prints what each gate decided against what the collector stored.
"""

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from edge.broker import (
    Broker,
    BrokerError,
    free_port,
    start_best_broker,
    start_embedded_dev_broker,
    start_mosquitto,
)
from edge.ledger import Ledger

SITE = "demo-school"
GATES = ("north", "south")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(name: str, args: list[str], log_path: Path) -> Child:
    log_file = log_path.open("ab")
    # A session of its own: Ctrl-C reaches only the demo, which stops children in order.
    process = subprocess.Popen(
        [sys.executable, *args], stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Child(name, process, log_path)


def kiosk_id(gate: str) -> str:
    return f"{SITE}-{gate}-1"


def write_kiosk_config(
    run_dir: Path, gate: str, broker: Broker, seed: int, screen_port: int
) -> Path:
    path = run_dir / f"kiosk-{gate}.toml"
    path.write_text(
        f"""[kiosk]
id = "{kiosk_id(gate)}"
site = "{SITE}"
gate = "{gate}"
name = "Demo {gate} gate"

[mqtt]
host = "{broker.host}"
port = {broker.port}
reconnect_max_s = 5
health_interval_s = 10

[ledger]
path = "{run_dir / f"ledger-{gate}.sqlite"}"

[[devices]]
id = "thermo-{gate}"
model = "simulated-point"

[screen]
port = {screen_port}

[simulation]
people_per_minute = 40
fever_fraction = 0.15
seed = {seed}
"""
    )
    return path


def write_server_config(run_dir: Path, broker: Broker, http_port: int) -> Path:
    path = run_dir / "server.toml"
    path.write_text(
        f"""[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "demo-collector"

[store]
path = "{run_dir / "collector.sqlite"}"

[http]
host = "127.0.0.1"
port = {http_port}
"""
    )
    return path


TOKEN: dict[str, str] = {}


def get_json(url: str) -> Any:
    request = urllib.request.Request(url)
    if "token" in TOKEN:
        request.add_header("Authorization", f"Bearer {TOKEN['token']}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def wait_healthy(base_url: str, collector: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if collector.process.poll() is not None:
            raise RuntimeError(f"the collector exited; see {collector.log_path}")
        try:
            if get_json(f"{base_url}/healthz").get("mqtt_connected"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the collector did not come up in {timeout_s} s; see {collector.log_path}")


def all_entries(base_url: str) -> list[dict[str, Any]]:
    """Every entry the collector's API returns, page by page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"site": SITE, "limit": "1000"} | ({"cursor": cursor} if cursor else {})
        page = get_json(f"{base_url}/api/v1/entries?{urllib.parse.urlencode(query)}")
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def summarise(base_url: str, run_dir: Path) -> tuple[str, bool]:
    """A table per gate: decided at the kiosk, stored at the collector, alerts; and whether
    every decision reached the collector exactly once."""
    entries = all_entries(base_url)
    alerts = get_json(f"{base_url}/api/v1/alerts?site={SITE}&limit=1000")
    lines = [f"{'gate':<8}{'decided':>9}{'stored':>8}{'fever':>7}{'alerts':>8}"]
    complete = True
    for gate in GATES:
        ledger = Ledger(run_dir / f"ledger-{gate}.sqlite")
        decided = {r["event_id"] for r in ledger.records("entry")}
        ledger.close()
        stored = [e for e in entries if e["gate_id"] == gate]
        stored_ids = {e["event_id"] for e in stored}
        fevers = sum(e["decision"] == "fever_suspect" for e in stored)
        gate_alerts = sum(a["gate_id"] == gate for a in alerts)
        complete &= stored_ids == decided and len(stored) == len(stored_ids)
        lines.append(f"{gate:<8}{len(decided):>9}{len(stored):>8}{fevers:>7}{gate_alerts:>8}")
    return "\n".join(lines), complete


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tempgate-demo", description=__doc__)
    parser.add_argument("--for", dest="for_s", type=float, help="run this many seconds, then stop")
    parser.add_argument("--dir", type=Path, help="where configs, ledgers and logs go")
    parser.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "embedded"],
        default="auto",
        help="auto: mosquitto when installed, else the embedded development broker",
    )
    parser.add_argument("--http-port", type=int, default=0, help="API port (default: a free one)")
    args = parser.parse_args(argv)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir: Path = (args.dir or Path("run") / f"demo-{stamp}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        starters = {
            "auto": start_best_broker,
            "mosquitto": start_mosquitto,
            "embedded": start_embedded_dev_broker,
        }
        broker = starters[args.broker](run_dir / "broker")
    except BrokerError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    if broker.kind == "embedded-dev":
        print("demo: using the EMBEDDED DEVELOPMENT BROKER (amqtt) in place of mosquitto,")
        print("      not for sites: no persistence, no ACL. Install mosquitto for the real one.")
    print(f"demo: broker       {broker.kind} on {broker.host}:{broker.port}")

    http_port = args.http_port or free_port()
    server_config = write_server_config(run_dir, broker, http_port)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "token",
            "create",
            "--config",
            str(server_config),
            "--role",
            "admin",
            "--name",
            "demo-admin",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        print(f"demo: could not create a token: {made.stderr}", file=sys.stderr)
        broker.stop()
        return 1
    TOKEN["token"] = made.stdout.strip()
    base_url = f"http://127.0.0.1:{http_port}"
    children: list[Child] = []
    ok = False
    try:
        collector = spawn(
            "collector",
            [
                "-m",
                "server.cli",
                "run",
                "--config",
                str(write_server_config(run_dir, broker, http_port)),
            ],
            run_dir / "collector.log",
        )
        children.append(collector)
        wait_healthy(base_url, collector, timeout_s=30)
        print(
            f"demo: collector    {base_url}  (API {base_url}/api/v1/entries, docs {base_url}/docs)"
        )
        print(f"demo: console      {base_url}/console/")
        print(f"demo: admin token  {TOKEN['token']}  (for the console and the API)")
        kiosks = []
        for seed, gate in enumerate(GATES, start=1):
            screen_port = free_port()
            config = write_kiosk_config(run_dir, gate, broker, seed, screen_port)
            kiosk = spawn(
                f"kiosk-{gate}",
                ["-m", "edge.cli", "run", "--simulate", "--config", str(config)],
                run_dir / f"kiosk-{gate}.log",
            )
            kiosks.append(kiosk)
            children.append(kiosk)
            print(
                f"demo: kiosk        {kiosk_id(gate)} at gate {gate}: screen "
                f"http://127.0.0.1:{screen_port}/  (log {kiosk.log_path})"
            )
        print(f"demo: files in     {run_dir}")
        print("demo: running" + (f" for {args.for_s:g} s" if args.for_s else "; Ctrl-C stops"))
        stop.wait(args.for_s)
        print("demo: stopping kiosks (each drains its outbox and publishes 'stopped')")
        for kiosk in kiosks:
            kiosk.stop()
        # Let the collector commit the last batch before counting.
        deadline = time.monotonic() + 10
        table, ok = summarise(base_url, run_dir)
        while not ok and time.monotonic() < deadline:
            time.sleep(0.5)
            table, ok = summarise(base_url, run_dir)
        print(table)
        verdict = "every decision stored once" if ok else "MISMATCH between kiosks and collector"
        print(f"demo: {verdict}")
    except (RuntimeError, OSError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
    finally:
        for child in reversed(children):
            child.stop()
        broker.stop()
        print("demo: stopped every process it started")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
