"""Ingest under a backlog: a broker window for whole batches, each durable before its ack."""

import re
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from conftest import wait_for
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import Broker, mosquitto_conf
from edge.wire import Decision, Entry, Kind, now_utc, subscription, topic, uuid7
from server.broker_config import conf_text
from server.config import ServerConfig
from server.db import connect
from server.ingest import Ingest
from server.store import StoreWriter

BACKLOG = 12_000


def inflight_limit(conf: str) -> int:
    found = re.search(r"^max_inflight_messages (\d+)$", conf, flags=re.MULTILINE)
    assert found is not None, "no max_inflight_messages line"
    return int(found.group(1))


def test_both_broker_configs_let_two_full_ingest_batches_wait_for_their_commit(
    tmp_path: Path,
) -> None:
    # The collector acknowledges a batch only after its commit and keeps two in flight; a
    # broker window smaller than that would cap every batch below batch_max.
    needed = 2 * ServerConfig().ingest.batch_max
    site_conf = conf_text(tmp_path, tmp_path / "data", 1883, "0.0.0.0", None, 8883, "mosquitto")
    test_conf = mosquitto_conf(1883, tmp_path / "data")
    assert inflight_limit(site_conf) >= needed
    assert inflight_limit(test_conf) >= needed


def test_the_store_writer_syncs_each_commit_to_disk(tmp_path: Path) -> None:
    # synchronous=FULL (2): a batch acknowledged to the broker survives a power cut, which
    # NORMAL (1) under WAL does not promise.
    writer = StoreWriter(tmp_path / "collector.sqlite")
    try:
        assert writer._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        writer.close()


def queue_backlog(broker: Broker, client_id: str, count: int) -> None:
    """A persistent session that has missed ``count`` entries, as after a collector outage."""
    session = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    session.connect(broker.host, broker.port)
    session.loop_start()
    session.subscribe(subscription(), qos=1)
    time.sleep(0.3)
    session.disconnect()
    session.loop_stop()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="backlog-publisher")
    publisher.max_inflight_messages_set(1000)
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    last = None
    for seq in range(1, count + 1):
        entry = Entry(
            kiosk_id=f"k-{seq % 40}",
            site_id="school-1",
            gate_id=f"gate-{seq % 40}",
            event_id=uuid7(),
            seq=seq,
            ts=now_utc(),
            decision=Decision.PASS,
            temperature_c=36.6,
            threshold_c=37.3,
            device_id="thermo-1",
        )
        last = publisher.publish(topic("school-1", entry.gate_id, Kind.ENTRY), entry.to_json(), 1)
    assert last is not None
    last.wait_for_publish(timeout=60)
    publisher.disconnect()
    publisher.loop_stop()


def redelivered_to(broker: Broker, client_id: str, wait_s: float) -> int:
    """Messages the broker still holds for the session: every one not acknowledged."""
    count = 0
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal count
        with lock:
            count += 1

    session = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    session.on_message = on_message
    session.connect(broker.host, broker.port)
    session.loop_start()
    time.sleep(wait_s)
    session.disconnect()
    session.loop_stop()
    return count


def test_a_backlog_of_many_batches_is_stored_once_and_every_message_acknowledged(
    mosquitto: Broker, tmp_path: Path
) -> None:
    client_id = "collector-backlog"
    queue_backlog(mosquitto, client_id, BACKLOG)
    store_path = tmp_path / "collector.sqlite"
    config = ServerConfig.model_validate(
        {
            "mqtt": {"port": mosquitto.port, "client_id": client_id},
            "store": {"path": str(store_path)},
        }
    )
    ingest = Ingest(config)
    ingest.start()
    db = connect(store_path)
    try:
        wait_for(
            lambda: db.execute("SELECT count(*) FROM entries").fetchone()[0] == BACKLOG,
            timeout_s=60,
            what=f"{BACKLOG} backlog entries stored",
        )
        # Let the last batch's acknowledgements leave before disconnecting.
        time.sleep(0.5)
    finally:
        ingest.stop()
    # Batch sizes follow the load (what queued while the last batch committed), so their
    # number is not pinned here; what is pinned: more than one batch, none lost, none twice,
    # and nothing left unacknowledged on the broker.
    assert ingest.stored_batches > 1
    assert db.execute("SELECT count(DISTINCT event_id) FROM entries").fetchone()[0] == BACKLOG
    assert redelivered_to(mosquitto, client_id, wait_s=1.0) == 0
