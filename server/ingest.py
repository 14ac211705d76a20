"""MQTT ingest: subscribe with a persistent session, validate against ``edge.wire``, write in
batches through the one writer, and acknowledge each message only after its batch committed.

A message the collector cannot use goes to the dead-letter table with the reason, and is then
acknowledged: it will never become valid by being sent again.
"""

import logging
import queue
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.wire import Alert, Birth, Entry, Health, Status, WireError, parse_message, subscription
from server.config import ServerConfig
from server.store import Batch, DeadLetter
from server.writer_process import WriterProcess

log = logging.getLogger(__name__)

# With [mqtt] shared_group set, several collectors share this filter ($share/<group>/…).
SUBSCRIPTION = subscription()
INBOX_MAX = 50_000


class Received(NamedTuple):
    """One message as paho handed it over; a tuple, as it is made once per message."""

    mid: int
    qos: int
    topic: str
    payload: bytes


def sort_into(batch: Batch, topic_name: str, payload: bytes) -> None:
    """Validate one message and put it where it belongs in the batch."""
    try:
        where, message = parse_message(topic_name, payload)
    except WireError as exc:
        batch.dead_letters.append(DeadLetter(topic_name, payload, str(exc)))
        log.warning("event=dead_letter topic=%s reason=%s", topic_name, exc)
        return
    if isinstance(message, Entry):
        batch.entries.append(message)
    elif isinstance(message, Alert):
        batch.alerts.append(message)
    elif isinstance(message, Status):
        batch.statuses.append((where, message))
    elif isinstance(message, Birth):
        batch.births.append(message)
    elif isinstance(message, Health):
        batch.health.append(message)


class Ingest:
    """Owns the MQTT subscriber and the writer thread."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        # SimpleQueue: the C queue, several times cheaper per message than queue.Queue.
        self._queue: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.stored_batches = 0
        self.on_commit: Callable[[], None] = lambda: None
        self._writer_thread = threading.Thread(target=self._write_loop, name="ingest-writer")
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        cfg = self._config.mqtt
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.ca_file is not None:
            client.tls_set(ca_certs=str(cfg.ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Open the store, then connect: a broken store fails the start, not a batch."""
        self.open_store()
        self.connect()

    def open_store(self) -> None:
        """Start the store writer (its own process) and the thread that feeds it."""
        self._writer = WriterProcess(self._config.store.path)
        self._writer.start()
        self._writer_thread.start()

    def connect(self) -> None:
        """Connect to the broker in paho's network thread; messages flow from here on."""
        cfg = self._config.mqtt
        self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self._client.loop_start()
        log.info("event=ingest_start broker=%s:%d", cfg.host, cfg.port)

    def stop(self) -> None:
        """Stop taking messages, write and acknowledge what was received, disconnect."""
        self._client.disconnect()
        self._client.loop_stop()
        self._stopping.set()
        self._writer_thread.join(timeout=10)
        self._writer.stop()

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
        group = self._config.mqtt.shared_group
        client.subscribe(f"$share/{group}/{SUBSCRIPTION}" if group else SUBSCRIPTION, qos=1)
        self.connected.set()
        log.info("event=mqtt_connected session_present=%s", flags.session_present)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        self.connected.clear()
        log.warning("event=mqtt_disconnected reason=%s", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(Received(msg.mid, msg.qos, msg.topic, bytes(msg.payload)))
        # When the writer falls behind, hold paho's network thread: back-pressure to the
        # broker, which queues for our persistent session, instead of unbounded memory here.
        while self._queue.qsize() > INBOX_MAX and not self._stopping.is_set():
            time.sleep(0.005)

    def _next_batch(self) -> list[Received]:
        ingest = self._config.ingest
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + ingest.batch_wait_ms / 1000
        while len(items) < ingest.batch_max:
            remaining = deadline - time.monotonic()
            try:
                items.append(
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return items

    def _write_loop(self) -> None:
        # Two batches in flight: the writer commits one while the next is gathered and sent.
        in_flight: deque[list[Received]] = deque()
        while not (self._stopping.is_set() and self._queue.empty() and not in_flight):
            items = self._next_batch() if len(in_flight) < 2 else []
            if items:
                self._writer.submit([(item.topic, item.payload) for item in items])
                in_flight.append(items)
            if in_flight and (len(in_flight) >= 2 or not items):
                self._writer.wait_committed()
                for item in in_flight.popleft():
                    if item.qos > 0:
                        self._client.ack(item.mid, item.qos)
                self.stored_batches += 1
                self.on_commit()
