"""A TCP proxy for fault tests: forwards 127.0.0.1:listen_port to a target port, and can cut
the network the way a pulled cable does (nothing arrives, nothing is refused) and restore it.
"""

import contextlib
import selectors
import socket
import threading

from edge.broker import free_port


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the pump thread and restore/close share the sockets
        self._thread = threading.Thread(target=self._run, name="proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """From now on bytes are swallowed in both directions; new connections hang."""
        self._cut.set()

    def restore(self) -> None:
        """Drop the connections that lived through the cut (they are dead to both ends by now,
        as after a real outage) and forward again."""
        with self._lock:
            self._cut.clear()
            for sock in list(self._peers):
                self._close(sock)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for sock in list(self._peers):
                self._close(sock)
            self._listener.close()

    def _close(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            s.close()
        if peer is not None:
            self._peers.pop(peer, None)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._pump()

    def _pump(self) -> None:
        for key, _ in self._selector.select(timeout=0.05):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock is self._listener:
                self._accept()
                continue
            if sock not in self._peers:
                continue  # closed earlier in this round
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._close(sock)
            elif not self._cut.is_set():
                try:
                    self._peers[sock].sendall(data)
                except OSError:
                    self._close(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.close()
            return
        self._peers[client] = upstream
        self._peers[upstream] = client
        for s in (client, upstream):
            s.setblocking(False)
            self._selector.register(s, selectors.EVENT_READ, None)
