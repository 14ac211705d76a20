"""The site broker as `tempgate-server broker-config` writes it, run by a real mosquitto:
a kiosk speaks only for its own gate, passwords are checked, TLS needs the right CA."""

import csv
import getpass
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from conftest import Collector, require, start_collector, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import Broker, free_port, mosquitto_binary, run_mosquitto
from edge.config import parse_config
from edge.kiosk import Kiosk
from edge.simulated_gate import SimulatedPassage
from edge.wire import Decision, Entry, PersonKind, now_utc, uuid7

KIOSKS = (
    "kiosk_id,site,gate,password\n"
    "north-1,school-1,north,\n"  # no password: one is generated
    "south-1,school-1,south,s3cret-south\n"
)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca_and_server_cert(directory: Path, name: str) -> None:
    """A CA and a server certificate for 127.0.0.1 signed by it, as a site would make them."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}-ca.key",
        "-out",
        f"{name}-ca.crt",
        "-days",
        "2",
        "-subj",
        f"/CN={name} test CA",
        cwd=directory,
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}-server.key",
        "-out",
        f"{name}-server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        f"{name}-server.csr",
        "-CA",
        f"{name}-ca.crt",
        "-CAkey",
        f"{name}-ca.key",
        "-CAcreateserial",
        "-out",
        f"{name}-server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=directory,
    )


@dataclass
class SecureSite:
    work: Path
    broker: Broker
    tls_port: int
    passwords: dict[str, str]
    collector: Collector
    certs: Path


@pytest.fixture
def secure_site(tmp_path: Path) -> Iterator[SecureSite]:
    require(mosquitto_binary() is not None, "mosquitto is not installed")
    require(shutil.which("openssl") is not None, "openssl is not installed")
    certs = tmp_path / "certs"
    make_ca_and_server_cert(certs, "site")
    make_ca_and_server_cert(certs, "other")
    (tmp_path / "kiosks.csv").write_text(KIOSKS)
    port, tls_port = free_port(), free_port()
    out = tmp_path / "broker"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "broker-config",
            "--kiosks",
            str(tmp_path / "kiosks.csv"),
            "--out",
            str(out),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-port",
            str(tls_port),
            "--tls-cafile",
            str(certs / "site-ca.crt"),
            "--tls-certfile",
            str(certs / "site-server.crt"),
            "--tls-keyfile",
            str(certs / "site-server.key"),
            "--user",
            getpass.getuser(),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with (out / "credentials.csv").open() as f:
        passwords = {row["username"]: row["password"] for row in csv.DictReader(f)}
    assert passwords["south-1"] == "s3cret-south"
    assert oct((out / "credentials.csv").stat().st_mode)[-3:] == "600"
    broker = run_mosquitto(out / "mosquitto.conf", port, tmp_path / "mosquitto.log")
    collector = start_collector(
        tmp_path / "collector",
        broker,
        f'username = "collector"\npassword = "{passwords["collector"]}"\n',
    )
    try:
        yield SecureSite(tmp_path, broker, tls_port, passwords, collector, certs)
    finally:
        collector.stop()
        broker.stop()


def kiosk(site: SecureSite, kiosk_id: str, gate: str, tls: bool = False) -> Kiosk:
    port = site.tls_port if tls else site.broker.port
    tls_lines = f'[mqtt.tls]\nca_file = "{site.certs / "site-ca.crt"}"\n' if tls else ""
    config = parse_config(
        f'[kiosk]\nid = "{kiosk_id}"\nsite = "school-1"\ngate = "{gate}"\n'
        f'[mqtt]\nport = {port}\npassword = "{site.passwords[kiosk_id]}"\n{tls_lines}'
        f'[ledger]\npath = "{site.work / f"{kiosk_id}-{tls}.sqlite"}"\n'
        '[[devices]]\nid = "thermo-1"\nmodel = "simulated-point"\n',
        site.work / "kiosk.toml",
    )
    started = Kiosk(config)
    started.start()
    return started


Connection = tuple[mqtt.Client, list[mqtt.MQTTMessage], threading.Event, list[str]]


def client(site: SecureSite, username: str, password: str) -> Connection:
    received: list[mqtt.MQTTMessage] = []
    connected = threading.Event()
    outcome: list[str] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username)
    c.username_pw_set(username, password)

    def on_connect(
        cl: mqtt.Client, u: object, flags: object, reason: object, props: object
    ) -> None:
        outcome.append(str(reason))
        connected.set()

    c.on_connect = on_connect
    c.on_message = lambda cl, u, msg: received.append(msg)
    c.connect("127.0.0.1", site.broker.port)
    c.loop_start()
    return c, received, connected, outcome


def test_a_kiosk_cannot_speak_for_another_gate_nor_read_alerts(secure_site: SecureSite) -> None:
    site = secure_site
    spy, spied, connected, outcome = client(site, "north-1", site.passwords["north-1"])
    assert connected.wait(5)
    assert outcome == ["Success"]
    spy.subscribe("tempgate/v1/+/+/alert", qos=1)
    spy.subscribe("tempgate/v1/#", qos=1)
    # north-1 forges an entry for the south gate, on the south gate's topic.
    forged = Entry(
        kiosk_id="south-1",
        site_id="school-1",
        gate_id="south",
        event_id=uuid7(),
        seq=1,
        ts=now_utc(),
        decision=Decision.PASS,
        temperature_c=36.5,
        threshold_c=37.3,
        device_id="thermo-1",
    )
    spy.publish("tempgate/v1/school-1/south/entry", forged.to_json(), qos=1).wait_for_publish(5)

    south = kiosk(site, "south-1", "south")
    try:
        south.handle(SimulatedPassage("S7", PersonKind.STUDENT, 38.6, 10.0), "thermo-1")
        assert south.uplink.wait_until_drained(10)
    finally:
        south.stop()
    wait_for(lambda: len(site.collector.entries()) == 1, 10, "south's own entry")
    time.sleep(1.0)
    stored = site.collector.entries()
    assert [(e["gate_id"], e["temperature_c"]) for e in stored] == [("south", 38.6)]
    assert [m.topic for m in spied] == [], "north-1 read another gate's traffic"
    spy.disconnect()
    spy.loop_stop()


def test_a_wrong_password_is_refused(secure_site: SecureSite) -> None:
    intruder, _, connected, outcome = client(secure_site, "north-1", "guess")
    assert connected.wait(5)
    assert outcome[0] in {"Not authorized", "Bad user name or password"}
    intruder.loop_stop()


def test_tls_connects_with_the_site_ca_and_fails_with_another(secure_site: SecureSite) -> None:
    site = secure_site
    north = kiosk(site, "north-1", "north", tls=True)
    try:
        north.handle(SimulatedPassage("S1", PersonKind.STUDENT, 36.6, 10.0), "thermo-1")
        assert north.uplink.wait_until_drained(10)
    finally:
        north.stop()
    wait_for(lambda: len(site.collector.entries()) == 1, 10, "the entry sent over TLS")

    wrong = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="north-1")
    wrong.username_pw_set("north-1", site.passwords["north-1"])
    wrong.tls_set(ca_certs=str(site.certs / "other-ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ssl.SSLCertVerificationError):
        wrong.connect("127.0.0.1", site.tls_port)


def test_broker_config_refuses_a_bad_kiosks_file_and_writes_nothing(tmp_path: Path) -> None:
    require(mosquitto_binary() is not None, "mosquitto is not installed")
    (tmp_path / "kiosks.csv").write_text(
        "kiosk_id,site,gate\nNorth 1,school-1,north\nok-1,s,g\nok-1,s,h\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "broker-config",
            "--kiosks",
            str(tmp_path / "kiosks.csv"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "line 2: kiosk_id must be" in result.stderr
    assert "line 4: kiosk_id ok-1 is taken" in result.stderr
    assert not (tmp_path / "out").exists()
