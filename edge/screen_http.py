"""HTTP for the kiosk screen: routes, static files, the event stream. State lives in edge.screen."""

import json
import logging
import queue
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from edge.screen_frame import FrameUnavailable

if TYPE_CHECKING:
    from edge.screen import KioskScreen

log = logging.getLogger(__name__)

# A comment line this often keeps proxies from timing the stream out and lets the server notice
# a browser that went away (the write fails) even when nothing happens at the gate.
HEARTBEAT_S = 15.0
# How often a waiting stream looks up whether it was dropped or the screen is stopping.
WAKE_S = 0.5

# Nothing from anywhere but this server: no CDN, no inline script.
CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self'; connect-src 'self'"

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/screen.js": ("screen.js", "text/javascript; charset=utf-8"),
    "/screen.css": ("screen.css", "text/css; charset=utf-8"),
}


@dataclass(frozen=True)
class Static:
    """The page's files, read once at start: they are small and never change while running."""

    by_path: dict[str, tuple[bytes, str]]

    @classmethod
    def load(cls, folder: Traversable) -> "Static":
        return cls(
            {
                route: (folder.joinpath(name).read_bytes(), content_type)
                for route, (name, content_type) in STATIC_FILES.items()
            }
        )


class ScreenServer(ThreadingHTTPServer):
    """The HTTP server of one kiosk screen: a thread per request, knowing its screen."""

    daemon_threads = True
    # Event streams end only when the browser goes: never wait for them on close.
    block_on_close = False

    def __init__(self, address: tuple[str, int], screen: "KioskScreen") -> None:
        super().__init__(address, ScreenHandler)
        self.screen = screen


class ScreenHandler(BaseHTTPRequestHandler):
    """One request. HTTP/1.0 (the default): each response ends by closing, which suits a stream."""

    server_version = "tempgate-screen"
    server: ScreenServer

    @property
    def screen(self) -> "KioskScreen":
        return self.server.screen

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in self.screen.static.by_path:
            body, content_type = self.screen.static.by_path[path]
            self._send(HTTPStatus.OK, body, content_type)
        elif path == "/state":
            self._send_json(HTTPStatus.OK, self.screen.state())
        elif path == "/frame.png":
            self._send_frame()
        elif path == "/events":
            self._stream_events()
        else:
            self._send_json(
                HTTPStatus.NOT_FOUND,
                {"message": f"no such page {path!r}; try /, /state, /events or /frame.png"},
            )

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr; the page asks for a frame 4 times a second.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("event=screen_http request=%s", format % args)

    def _send_frame(self) -> None:
        try:
            png = self.screen.frame_png()
        except FrameUnavailable as missing:
            self._send_json(HTTPStatus.NOT_FOUND, {"message": str(missing)})
            return
        self._send(HTTPStatus.OK, png, "image/png")

    def _stream_events(self) -> None:
        subscriber = self.screen.subscribe()
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n")
            self._pump(subscriber)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("event=screen_client_gone")
        finally:
            self.screen.unsubscribe(subscriber)

    def _pump(self, subscriber: "queue.Queue[Any]") -> None:
        idle_s = 0.0
        while self.screen.is_subscribed(subscriber) or not subscriber.empty():
            try:
                event = subscriber.get(timeout=WAKE_S)
            except queue.Empty:
                idle_s += WAKE_S
                if idle_s >= HEARTBEAT_S:
                    self.wfile.write(b": heartbeat\n\n")
                    idle_s = 0.0
                continue
            if event is None:
                return
            self.wfile.write(event.encode())
            idle_s = 0.0

    def _send_json(self, status: HTTPStatus, data: dict[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Everything here is live state or ships with the software: never serve a stale copy.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.end_headers()
        self.wfile.write(body)
