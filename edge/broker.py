"""Start an MQTT broker for the demo and the tests: the real ``mosquitto`` on a free port,
or, when it is not installed, an embedded development broker (amqtt) that is labelled as such.

Never the machine's shared broker: each caller gets its own process, config and directory.
"""

import getpass
import logging
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

BrokerKind = Literal["mosquitto", "embedded-dev"]


class BrokerError(RuntimeError):
    """The broker could not be started; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker, also when /usr/sbin is not on PATH."""
    found = shutil.which("mosquitto")
    if found:
        return found
    candidate = Path("/usr/sbin/mosquitto")
    return str(candidate) if candidate.exists() else None


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    """Block until something accepts TCP connections on host:port, or raise BrokerError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"nothing accepted connections on {host}:{port} within {timeout_s} s")


def mosquitto_conf(
    port: int, data_dir: Path, extra_lines: tuple[str, ...] = (), autosave_interval_s: int = 1
) -> str:
    """A mosquitto.conf for one local listener with persistence in ``data_dir``.

    ``autosave_interval_s`` 1 bounds what a killed broker loses in the fault tests; a site's
    broker (``tempgate-server broker-config``) saves every 10 s.
    """
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {data_dir}/",
        f"autosave_interval {autosave_interval_s}",
        # Collector and kiosks keep persistent sessions; a long outage must not drop messages.
        "max_queued_messages 1000000",
        # The collector acknowledges after its batch commits: with mosquitto's default of 20
        # unacknowledged messages per client, no batch could grow past 20. Two batches of
        # [ingest] batch_max (5,000) must fit.
        "max_inflight_messages 10000",
        # Started as root, mosquitto would switch to the 'mosquitto' user and then fail to
        # write its persistence file in our directory: stay the user that started it.
        f"user {getpass.getuser()}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        *extra_lines,
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Broker:
    """A broker process this program started and must stop."""

    host: str
    port: int
    kind: BrokerKind
    process: subprocess.Popen[bytes]
    work_dir: Path
    conf_path: Path | None

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_mosquitto(
    work_dir: Path,
    port: int | None = None,
    conf_text: str | None = None,
    log_path: Path | None = None,
) -> Broker:
    """Start ``mosquitto -c work_dir/mosquitto.conf`` and wait until it listens."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    data_dir = work_dir / "data"
    data_dir.mkdir(exist_ok=True)
    conf_path = work_dir / "mosquitto.conf"
    conf_path.write_text(conf_text if conf_text is not None else mosquitto_conf(port, data_dir))
    return run_mosquitto(conf_path, port, log_path or work_dir / "mosquitto.log")


def run_mosquitto(conf_path: Path, port: int, log_path: Path) -> Broker:
    """Start ``mosquitto -c conf_path`` (which must listen on ``port``) and wait for it."""
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerError("mosquitto is not installed: run 'apt-get install mosquitto'")
    with log_path.open("ab") as log_file:
        # A session of its own: Ctrl-C at a terminal must reach the program that started the
        # broker (which stops things in order), not the broker itself.
        process = subprocess.Popen(
            [binary, "-c", str(conf_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    broker = Broker("127.0.0.1", port, "mosquitto", process, conf_path.parent, conf_path)
    try:
        wait_for_port("127.0.0.1", port, timeout_s=10)
    except BrokerError:
        broker.stop()
        raise BrokerError(f"mosquitto did not start on port {port}; see {log_path}") from None
    return broker


def start_embedded_dev_broker(work_dir: Path, port: int | None = None) -> Broker:
    """Start the embedded development broker (amqtt) in a child process.

    For demos on machines without mosquitto only: it does not persist sessions across a
    restart, so the delivery promises are the real broker's, not this one's.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_file = (work_dir / "embedded-broker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "edge.embedded_broker", "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    broker = Broker("127.0.0.1", port, "embedded-dev", process, work_dir, None)
    try:
        wait_for_port("127.0.0.1", port, timeout_s=15)
    except BrokerError:
        broker.stop()
        raise
    log.warning("broker=embedded-dev port=%d note=development-only-not-for-sites", port)
    return broker


def start_best_broker(work_dir: Path, port: int | None = None) -> Broker:
    """The real mosquitto when installed, otherwise the labelled embedded dev broker."""
    if mosquitto_binary() is not None:
        return start_mosquitto(work_dir, port)
    return start_embedded_dev_broker(work_dir, port)
