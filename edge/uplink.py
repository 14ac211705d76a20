"""Deliver the ledger's outbox to the broker: paho-mqtt 2.x, QoS 1, persistent session.

The outbox is the source of truth, not paho's in-memory queue: rows are handed to paho while
connected, at most ``max_inflight`` at a time, and deleted only after their PUBACK. After a
restart every row still in the outbox is sent again; the collector ignores duplicates by
``event_id``. A record first sent long after its decision is marked ``historical``.
"""

import json
import logging
import queue
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import KioskConfig
from edge.ledger import Ledger, OutboxRow
from edge.wire import Kind, KioskState, Status, now_utc, topic

log = logging.getLogger(__name__)


class Uplink:
    """Publishes status, birth and the outbox; call ``start`` once and ``stop`` at the end."""

    def __init__(self, config: KioskConfig, ledger: Ledger, boot: int) -> None:
        self._config = config
        self._ledger = ledger
        self._boot = boot
        self._kiosk = config.kiosk
        self._status_topic = topic(self._kiosk.site, self._kiosk.gate, Kind.STATUS)
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        # mid → event_id (None for non-outbox publishes) for messages handed to paho.
        self._inflight: dict[int, str | None] = {}
        self._early_acks: set[int] = set()
        self._acked: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._on_connect_messages: list[tuple[str, bytes]] = []
        self.published = 0
        self._client = self._make_client()
        self._drainer = threading.Thread(target=self._drain_loop, name="uplink-drain", daemon=True)

    def _make_client(self) -> mqtt.Client:
        mqtt_cfg = self._config.mqtt
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._kiosk.id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if mqtt_cfg.password is not None:
            client.username_pw_set(self._config.mqtt_username, mqtt_cfg.password)
        else:
            client.username_pw_set(self._config.mqtt_username)
        if mqtt_cfg.tls is not None:
            client.tls_set(
                ca_certs=str(mqtt_cfg.tls.ca_file),
                certfile=str(mqtt_cfg.tls.cert_file) if mqtt_cfg.tls.cert_file else None,
                keyfile=str(mqtt_cfg.tls.key_file) if mqtt_cfg.tls.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        will = Status(
            kiosk_id=self._kiosk.id, ts=now_utc(), state=KioskState.OFFLINE, boot=self._boot
        )
        client.will_set(self._status_topic, will.to_json(), qos=1, retain=True)
        client.reconnect_delay_set(
            min_delay=max(1, round(mqtt_cfg.reconnect_min_s)),
            max_delay=max(1, round(mqtt_cfg.reconnect_max_s)),
        )
        client.max_inflight_messages_set(mqtt_cfg.max_inflight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def announce_on_connect(self, topic_name: str, payload: bytes) -> None:
        """A retained message (the birth) to publish on every (re)connect."""
        self._on_connect_messages.append((topic_name, payload))

    def start(self) -> None:
        mqtt_cfg = self._config.mqtt
        self._client.connect_async(mqtt_cfg.host, mqtt_cfg.port, keepalive=mqtt_cfg.keepalive_s)
        self._client.loop_start()
        self._drainer.start()
        log.info("event=uplink_start broker=%s:%d", mqtt_cfg.host, mqtt_cfg.port)

    def publish_transient(self, topic_name: str, payload: bytes) -> bool:
        """Publish a message that is not in the outbox (health); dropped when offline."""
        if not self.connected:
            return False
        return self._publish(topic_name, payload, retain=False, event_id=None)

    def wake(self) -> None:
        """Something new is in the outbox."""
        self._wake.set()

    def wait_until_drained(self, timeout_s: float) -> bool:
        """True once the outbox is empty (every record acknowledged by the broker)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._apply_acks()
            if self._ledger.outbox_count() == 0:
                return True
            self._wake.set()
            time.sleep(0.05)
        return False

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Drain what can be drained, publish ``stopped``, disconnect."""
        if self.connected:
            self.wait_until_drained(drain_timeout_s)
            stopped = Status(
                kiosk_id=self._kiosk.id, ts=now_utc(), state=KioskState.STOPPED, boot=self._boot
            )
            info = self._client.publish(self._status_topic, stopped.to_json(), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                log.warning("event=stopped_status_not_sent")
        self._stopping.set()
        self._wake.set()
        self._drainer.join(timeout=5)
        was_connected = self.connected
        self._disconnected.clear()
        self._client.disconnect()
        # DISCONNECT must reach the broker before the socket closes, or the broker publishes
        # the last will and a clean stop looks like a crash ('offline' after 'stopped').
        if was_connected and not self._disconnected.wait(timeout=3):
            log.warning("event=disconnect_unconfirmed")
        self._client.loop_stop()
        self._apply_acks()
        log.info("event=uplink_stop outbox_pending=%d", self._ledger.outbox_count())

    # paho callbacks run on paho's network thread: keep them short, never touch SQLite here.
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if reason_code.is_failure:
            log.error("event=mqtt_refused reason=%s", reason_code)
            return
        log.info("event=mqtt_connected session_present=%s", flags.session_present)
        online = Status(
            kiosk_id=self._kiosk.id, ts=now_utc(), state=KioskState.ONLINE, boot=self._boot
        )
        self._publish(self._status_topic, online.to_json(), retain=True, event_id=None)
        for topic_name, payload in self._on_connect_messages:
            self._publish(topic_name, payload, retain=True, event_id=None)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        self._connected.clear()
        self._disconnected.set()
        log.warning("event=mqtt_disconnected reason=%s", reason_code)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        with self._lock:
            if mid not in self._inflight:
                # PUBACK before publish() returned to the drain thread; it claims it there.
                self._early_acks.add(mid)
                return
            event_id = self._inflight.pop(mid)
        if event_id is not None:
            self._acked.put(event_id)
            self._wake.set()

    def _publish(self, topic_name: str, payload: bytes, retain: bool, event_id: str | None) -> bool:
        info = self._client.publish(topic_name, payload, qos=1, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("event=publish_refused rc=%s topic=%s", info.rc, topic_name)
            return False
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                acked_now = True
            else:
                self._inflight[info.mid] = event_id
                acked_now = False
        if acked_now and event_id is not None:
            self._acked.put(event_id)
        return True

    def _apply_acks(self) -> None:
        acked = []
        while True:
            try:
                acked.append(self._acked.get_nowait())
            except queue.Empty:
                break
        if acked:
            self._ledger.acknowledge(acked)
            self.published += len(acked)

    def _payload_for(self, row: OutboxRow) -> bytes:
        age_s = time.time() - row.created_at_s
        if age_s <= self._config.ledger.historical_after_s:
            return row.payload
        data = json.loads(row.payload)
        data["historical"] = True
        return json.dumps(data, separators=(",", ":")).encode()

    def _drain_loop(self) -> None:
        max_inflight = self._config.mqtt.max_inflight
        while not self._stopping.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            try:
                self._apply_acks()
                if not self.connected:
                    continue
                with self._lock:
                    handed = {e for e in self._inflight.values() if e is not None}
                room = max_inflight - len(handed)
                if room <= 0:
                    continue
                for row in self._ledger.pending(room, exclude=handed):
                    if not self._publish(row.topic, self._payload_for(row), False, row.event_id):
                        break
            except Exception:
                # The drain loop must outlive any single failure; the rows stay in the outbox.
                log.exception("event=drain_error")
                time.sleep(0.5)
