"""Faults with real processes: every decision a kiosk committed reaches the collector once.

Each scenario runs a real mosquitto, a real collector process and two simulated kiosk
processes (``tempgate-kiosk run --simulate``), breaks something mid-flow, recovers, lets the
kiosks drain, and counts per kiosk sequence number: sent (committed at the kiosk), stored (at
the collector), lost, duplicated. ``make faults`` runs just these; ``make test`` runs them too.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FAULT_ROWS, Collector, FaultRow, start_collector, wait_for
from tcp_proxy import CuttableProxy

from edge.broker import Broker, start_mosquitto

PEOPLE_PER_MINUTE = 300
# "A network cut for minutes": two by default; shorten locally with TEMPGATE_FAULT_CUT_S.
NETWORK_CUT_S = float(os.environ.get("TEMPGATE_FAULT_CUT_S", "120"))


@dataclass
class KioskProcess:
    gate: str
    config: Path
    ledger: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edge.cli",
                    "run",
                    "--simulate",
                    "--config",
                    str(self.config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM: the kiosk drains its outbox (as far as it can) and says 'stopped'."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def committed_seq(self) -> int:
        """How many records this kiosk committed: its sequence runs 1..N without gaps."""
        db = sqlite3.connect(self.ledger)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
            return int(row[0]) if row else 0
        except sqlite3.OperationalError:
            return 0  # the ledger file exists but its tables do not yet
        finally:
            db.close()


@dataclass
class Site:
    work: Path
    broker: Broker
    collector: Collector
    kiosks: list[KioskProcess] = field(default_factory=list)
    proxy: CuttableProxy | None = None

    def add_kiosk(self, gate: str, max_mb: float = 64.0) -> KioskProcess:
        port = self.proxy.port if self.proxy else self.broker.port
        config = self.work / f"kiosk-{gate}.toml"
        ledger = self.work / f"ledger-{gate}.sqlite"
        config.write_text(
            f'[kiosk]\nid = "faults-{gate}-1"\nsite = "faults"\ngate = "{gate}"\n'
            f"[mqtt]\nport = {port}\nkeepalive_s = 5\nreconnect_min_s = 1\nreconnect_max_s = 2\n"
            f'[ledger]\npath = "{ledger}"\nmax_mb = {max_mb}\n'
            '[[devices]]\nid = "thermo-1"\nmodel = "simulated-point"\n[screen]\nport = 0\n'
            f"[simulation]\npeople_per_minute = {PEOPLE_PER_MINUTE}\nfever_fraction = 0.1\n"
        )
        kiosk = KioskProcess(gate, config, ledger, self.work / f"kiosk-{gate}.log")
        self.kiosks.append(kiosk)
        kiosk.start()
        return kiosk

    def stored(self) -> tuple[int, int]:
        """(rows, distinct kiosk sequence numbers) the collector stored from our kiosks."""
        db = sqlite3.connect(self.collector.store_path)
        try:
            row = db.execute(
                "SELECT count(*), count(DISTINCT kiosk_id || ':' || seq) FROM ("
                "SELECT kiosk_id, seq FROM entries UNION ALL "
                "SELECT kiosk_id, seq FROM alerts WHERE seq IS NOT NULL) "
                "WHERE kiosk_id LIKE 'faults-%'"
            ).fetchone()
            return int(row[0]), int(row[1])
        finally:
            db.close()

    def finish(self, scenario: str) -> FaultRow:
        """Stop the kiosks cleanly, wait for the collector to catch up, count."""
        if self.proxy is not None:
            self.proxy.restore()
        for kiosk in self.kiosks:
            kiosk.stop()
        sent = sum(k.committed_seq() for k in self.kiosks)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.stored()[1] < sent:
            time.sleep(0.5)
        rows, distinct = self.stored()
        row = FaultRow(scenario, sent, distinct, sent - distinct, rows - distinct)
        FAULT_ROWS.append(row)
        return row


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    from conftest import require

    from edge.broker import mosquitto_binary

    require(mosquitto_binary() is not None, "mosquitto is not installed")
    broker = start_mosquitto(tmp_path / "broker")
    collector = start_collector(tmp_path / "collector", broker)
    proxy = CuttableProxy(broker.port) if request.node.get_closest_marker("proxy") else None
    built = Site(tmp_path, broker, collector, proxy=proxy)
    try:
        yield built
    finally:
        for kiosk in built.kiosks:
            if kiosk.process is not None and kiosk.process.poll() is None:
                kiosk.process.kill()
                kiosk.process.wait()
        collector.stop()
        if proxy is not None:
            proxy.close()
        built.broker.stop()


def assert_nothing_lost(row: FaultRow) -> None:
    assert row.sent > 20, row
    assert (row.lost, row.duplicated) == (0, 0), row


def test_broker_restart_during_flow(site: Site) -> None:
    site.add_kiosk("north")
    site.add_kiosk("south")
    time.sleep(6)
    site.broker.stop()
    time.sleep(5)
    site.broker = start_mosquitto(site.broker.work_dir, port=site.broker.port)
    time.sleep(8)
    assert_nothing_lost(site.finish("broker restart during flow"))


def test_collector_sigkill_mid_batch(site: Site) -> None:
    site.add_kiosk("north")
    site.add_kiosk("south")
    time.sleep(6)
    site.collector.process.send_signal(signal.SIGKILL)
    site.collector.process.wait()
    time.sleep(4)
    site.collector.restart()
    time.sleep(6)
    assert_nothing_lost(site.finish("collector SIGKILL mid-batch"))


def test_kiosk_sigkill_mid_passage_and_restart(site: Site) -> None:
    north = site.add_kiosk("north")
    site.add_kiosk("south")
    for _ in range(3):
        time.sleep(4)
        north.kill()
        time.sleep(1)
        north.start()
    time.sleep(5)
    row = site.finish("kiosk SIGKILL mid-passage (3×)")
    assert_nothing_lost(row)
    db = sqlite3.connect(north.ledger)
    assert db.execute("SELECT value FROM meta WHERE key = 'boot'").fetchone()[0] == 4


@pytest.mark.proxy
def test_network_cut_for_minutes_while_screening(site: Site) -> None:
    north = site.add_kiosk("north")
    site.add_kiosk("south")
    assert site.proxy is not None
    time.sleep(5)
    before = north.committed_seq()
    site.proxy.cut()
    time.sleep(NETWORK_CUT_S)
    # The kiosk kept deciding with the network gone.
    assert north.committed_seq() > before + NETWORK_CUT_S * PEOPLE_PER_MINUTE / 60 * 0.5
    site.proxy.restore()
    time.sleep(8)
    row = site.finish(f"network cut {NETWORK_CUT_S:g} s, kiosks screening")
    assert_nothing_lost(row)
    wait_for(
        lambda: any(
            a["alert_type"] == "kiosk_offline" for a in site.collector.get("/api/v1/alerts")
        ),
        5,
        "the cut kiosks to have been reported offline",
    )


@pytest.mark.proxy
def test_kiosk_disk_nearly_full_refuses_rather_than_drops(site: Site) -> None:
    north = site.add_kiosk("north", max_mb=0.25)
    assert site.proxy is not None
    time.sleep(3)
    site.proxy.cut()
    wait_for(lambda: "event=decision_refused" in north.log.read_text(), 120, "the ledger to fill")
    site.proxy.restore()
    time.sleep(10)
    row = site.finish("kiosk ledger nearly full (bounded at 0.25 MB)")
    assert_nothing_lost(row)
    log = north.log.read_text()
    assert "event=ledger_space_low" in log
    assert log.index("event=ledger_space_low") < log.index("event=decision_refused")


def test_store_writer_killed_mid_flow_is_restarted_and_loses_nothing(site: Site) -> None:
    """The store writer is a child process of the collector: killed, it is started again and
    given every batch it had not confirmed; nothing is acknowledged before it is committed."""
    site.add_kiosk("north")
    site.add_kiosk("south")
    time.sleep(4)
    children = subprocess.run(
        ["pgrep", "-P", str(site.collector.process.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "the collector runs its store writer as a child process"
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    time.sleep(6)
    assert site.collector.process.poll() is None
    assert_nothing_lost(site.finish("store writer SIGKILL mid-flow"))
    assert "event=writer_died" in site.collector.log_path.read_text()
