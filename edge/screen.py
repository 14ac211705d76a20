"""The kiosk screen: a local page with the gate's result, the live thermal view and device status.

The kiosk extra carries no web framework, so this is the standard library's
``ThreadingHTTPServer``. Endpoints: ``/`` (the page), ``/state`` (JSON snapshot), ``/events``
(server-sent events), ``/frame.png`` (the latest thermal frame). The measurement pipeline calls
``show_result``, ``show_frame`` and ``set_status``; each only swaps a value under a lock and
queues an event, so a slow or stuck browser can never hold the pipeline up.
"""

import json
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any, Literal, cast, get_args

import numpy as np
import numpy.typing as npt

from edge.screen_frame import (
    Box,
    FrameC,
    FrameUnavailable,
    check_box,
    check_frame,
    render_thermal_png,
)
from edge.screen_http import ScreenServer, Static

log = logging.getLogger(__name__)

ScreenOutcome = Literal["pass", "remeasure", "fever_suspect", "confirmed", "cleared", "refused"]
OUTCOMES: frozenset[str] = frozenset(get_args(ScreenOutcome))
Language = Literal["zh-CN", "en"]
LANGUAGES: frozenset[str] = frozenset(get_args(Language))
Link = Literal["online", "offline", "connecting"]
LINKS: frozenset[str] = frozenset(get_args(Link))

# An event a browser has not read after this many newer ones is a browser that stopped reading:
# it is dropped, and its EventSource reconnects to a fresh snapshot.
SUBSCRIBER_BACKLOG = 64


@dataclass(frozen=True)
class ScreenResult:
    """One decision as the gate shows it. ``temperature_c`` is the estimate shown, in ℃."""

    outcome: ScreenOutcome
    temperature_c: float | None
    person_name: str | None
    person_id: str | None
    message: str
    ts_utc: datetime

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {sorted(OUTCOMES)}")
        if self.temperature_c is not None and not math.isfinite(self.temperature_c):
            raise ValueError(
                f"temperature_c must be a finite ℃ value or None, got {self.temperature_c}"
            )
        if self.ts_utc.tzinfo is None:
            raise ValueError("ts_utc must be timezone-aware (UTC), got a naive datetime")

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "temperature_c": self.temperature_c,
            "person_name": self.person_name,
            "person_id": self.person_id,
            "message": self.message,
            "ts_utc": self.ts_utc.isoformat(timespec="milliseconds"),
        }


@dataclass(frozen=True)
class ScreenEvent:
    """One server-sent event: its name (``state``, ``result``, ``status``) and JSON data."""

    name: str
    data: dict[str, Any] | None

    def encode(self) -> bytes:
        return f"event: {self.name}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n".encode()


@dataclass(frozen=True)
class _Frame:
    frame_c: FrameC
    face_box_px: Box | None
    blackbody_box_px: Box | None
    seq: int
    at_monotonic: float


class KioskScreen:
    """Serves the kiosk page; the pipeline feeds it results, frames and status."""

    def __init__(
        self,
        host: str,
        port: int,
        kiosk_name: str,
        language: str = "zh-CN",
        *,
        result_hold_s: float = 5.0,
        frame_stale_s: float = 3.0,
    ) -> None:
        """``result_hold_s``: how long a result stays before the idle prompt returns.
        ``frame_stale_s``: a frame older than this is not shown, so a stopped camera never
        looks live."""
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not one of {sorted(LANGUAGES)}")
        if result_hold_s <= 0 or frame_stale_s <= 0:
            raise ValueError("result_hold_s and frame_stale_s must be positive seconds")
        self.host = host
        self.port = port
        self.kiosk_name = kiosk_name
        self.language = language
        self.result_hold_s = result_hold_s
        self.frame_stale_s = frame_stale_s
        self.static = Static.load(files("edge").joinpath("screen_static"))
        self._lock = threading.Lock()
        self._result: ScreenResult | None = None
        self._result_at = 0.0
        self._devices: dict[str, bool] = {}
        self._link: Link = "connecting"
        self._frame: _Frame | None = None
        self._frame_seq = 0
        self._png: tuple[int, bytes] | None = None
        self._encode_lock = threading.Lock()
        self._subscribers: set[queue.Queue[ScreenEvent | None]] = set()
        self._stopping = threading.Event()
        self._server: ScreenServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a daemon thread. Port 0 picks a free port; ``url`` tells which."""
        if self._server is not None:
            raise RuntimeError("the kiosk screen is already started")
        try:
            server = ScreenServer((self.host, self.port), self)
        except OSError as error:
            raise OSError(
                f"the kiosk screen cannot listen on {self.host}:{self.port}: {error.strerror}; "
                f"is another kiosk process running, or use port 0 for a free one"
            ) from error
        self._server = server
        self.port = server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="kiosk-screen"
        )
        self._thread.daemon = True
        self._thread.start()
        log.info("event=screen_start url=%s", self.url)

    def stop(self) -> None:
        """Stop serving and end every open event stream. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        with self._lock:
            for subscriber in self._subscribers:
                _offer(subscriber, None)
            self._subscribers.clear()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("event=screen_stop")

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8080/``."""
        if self._server is None:
            raise RuntimeError("the kiosk screen is not started: call start() first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}/"

    # -- what the pipeline calls -----------------------------------------------------------

    def show_result(self, result: ScreenResult) -> None:
        """Show a decision now; it returns to the idle prompt after ``result_hold_s``.

        Call it once the decision is committed to the ledger: nothing is shown as final before
        it is recorded. A decision that could not be recorded is a ``remeasure`` whose
        ``message`` says to measure by hand.
        """
        if not isinstance(result, ScreenResult):
            raise TypeError(f"show_result takes a ScreenResult, got {type(result).__name__}")
        with self._lock:
            self._result = result
            self._result_at = time.monotonic()
            event = ScreenEvent("result", self._result_json())
            self._publish(event)

    def show_frame(
        self,
        frame_c: npt.NDArray[np.floating[Any]],
        face_box_px: tuple[int, int, int, int] | None,
        blackbody_box_px: tuple[int, int, int, int] | None,
    ) -> None:
        """Keep the latest (H, W) ℃ frame and its boxes, (x, y, w, h) in frame pixels.

        Only validates and copies: the PNG is encoded when a browser asks for it.
        """
        frame = check_frame(frame_c)
        face = check_box("face_box_px", face_box_px, frame.shape)
        blackbody = check_box("blackbody_box_px", blackbody_box_px, frame.shape)
        with self._lock:
            self._frame_seq += 1
            self._frame = _Frame(frame, face, blackbody, self._frame_seq, time.monotonic())

    def set_status(self, devices: dict[str, bool], link: str) -> None:
        """Device id → online, and the uplink's state (``online``/``offline``/``connecting``)."""
        if link not in LINKS:
            raise ValueError(f"link {link!r} is not one of {sorted(LINKS)}")
        with self._lock:
            if dict(devices) == self._devices and link == self._link:
                return
            self._devices = dict(devices)
            self._link = cast(Link, link)  # checked against LINKS above
            self._publish(ScreenEvent("status", self._status_json()))

    # -- what the HTTP handler calls -------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The whole screen as JSON: what ``/state`` answers and each event stream starts with."""
        with self._lock:
            return self._state_json()

    def subscribe(self) -> "queue.Queue[ScreenEvent | None]":
        """A queue of events for one browser, starting with a full ``state`` snapshot."""
        subscriber: queue.Queue[ScreenEvent | None] = queue.Queue(SUBSCRIBER_BACKLOG)
        with self._lock:
            subscriber.put_nowait(ScreenEvent("state", self._state_json()))
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: "queue.Queue[ScreenEvent | None]") -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def is_subscribed(self, subscriber: "queue.Queue[ScreenEvent | None]") -> bool:
        with self._lock:
            return subscriber in self._subscribers and not self._stopping.is_set()

    def frame_png(self) -> bytes:
        """The latest frame as PNG, encoded at most once per frame; ``FrameUnavailable`` if none."""
        with self._lock:
            frame = self._frame
        if frame is None:
            raise FrameUnavailable("no thermal frame yet: the camera has not sent one")
        age_s = time.monotonic() - frame.at_monotonic
        if age_s > self.frame_stale_s:
            raise FrameUnavailable(
                f"no thermal frame for {age_s:.1f} s: check that the thermal camera is connected"
            )
        # One encoder at a time: several browsers asking for the same frame share one encoding.
        with self._encode_lock:
            if self._png is None or self._png[0] != frame.seq:
                png = render_thermal_png(frame.frame_c, frame.face_box_px, frame.blackbody_box_px)
                self._png = (frame.seq, png)
            return self._png[1]

    # -- helpers (called with self._lock held) ---------------------------------------------

    def _publish(self, event: ScreenEvent) -> None:
        for subscriber in list(self._subscribers):
            if not _offer(subscriber, event):
                self._subscribers.discard(subscriber)
                log.warning("event=screen_client_dropped reason=backlog_full")

    def _result_json(self) -> dict[str, Any] | None:
        if self._result is None:
            return None
        remaining_s = self.result_hold_s - (time.monotonic() - self._result_at)
        if remaining_s <= 0:
            return None
        return self._result.to_json() | {"hold_ms": round(remaining_s * 1000)}

    def _status_json(self) -> dict[str, Any]:
        return {"devices": dict(sorted(self._devices.items())), "link": self._link}

    def _state_json(self) -> dict[str, Any]:
        return {
            "kiosk_name": self.kiosk_name,
            "language": self.language,
            "result": self._result_json(),
            "status": self._status_json(),
        }


def _offer(subscriber: "queue.Queue[ScreenEvent | None]", event: ScreenEvent | None) -> bool:
    try:
        subscriber.put_nowait(event)
    except queue.Full:
        return False
    return True
