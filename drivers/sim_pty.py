"""Serve a simulated serial device on a pseudo-terminal, so the real driver opens a real
device node with pyserial — and can lose it.

The simulator serves through a stable symlink (like udev's ``/dev/serial/by-id/...``) to the
current ``/dev/pts/N``. ``unplug`` closes the pty and removes the symlink, exactly what a
driver sees when a USB adapter is pulled (reads fail with EIO, then the path is gone);
``replug`` makes a new pty and points the symlink at it, as udev does when it comes back.

The simulator keeps its own raw-mode handle on the slave side: without one, bytes written
before the driver opens the port are echoed back and lost (protocols.md §8), and it lets the
simulator read the baud rate the driver set, so a wrong baud gets garbage like a real UART.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np

log = logging.getLogger(__name__)

_SPEEDS = {
    getattr(termios, f"B{b}"): b
    for b in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
}

_GARBAGE = np.array([*range(0x10, 0x20), *range(0x80, 0x100)], dtype=np.uint8)


class SimDevice(Protocol):
    """What a simulated device does with time and with bytes from the host."""

    @property
    def model(self) -> str:
        """The model name (used for the symlink name)."""
        ...

    @property
    def baud(self) -> int:
        """The baud the device speaks."""
        ...

    @property
    def checks_baud(self) -> bool:
        """A device behind a real UART garbles at the wrong baud; USB-CDC does not care."""
        ...

    @property
    def sent(self) -> Sequence[Any]:
        """What the device sent validly so far, oldest first (the truth tests compare with)."""
        ...

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        """Replies to what the host sent (complete frames)."""
        ...

    def due_frames(self, now_s: float) -> list[bytes]:
        """Frames the device sends on its own by ``now_s`` (seconds since start)."""
        ...

    def corrupt(self, frame: bytes) -> bytes:
        """The same frame with its checksum (or its content) made invalid."""
        ...

    def power_cycle(self) -> None:
        """Called when the device is plugged back in."""
        ...


@dataclass
class Faults:
    """Fault switches; change them at any time. ``*_every = n`` acts on every n-th frame."""

    garbage_every: int = 0
    bad_checksum_every: int = 0
    split_frames: bool = False


@dataclass
class SimStats:
    """What the simulator did (tests compare them with the driver's counters)."""

    frames_sent: int = 0
    frames_corrupted: int = 0
    garbage_bytes: int = 0
    bytes_lost: int = 0
    unplugs: int = 0


class PtySimulator:
    """Runs ``device`` on a pty in a background thread. Use as a context manager.

    ``path`` is the stable symlink to open; ``pts_path`` the current pty slave."""

    def __init__(
        self,
        device: SimDevice,
        link_path: str | Path | None = None,
        faults: Faults | None = None,
        seed: int = 0,
    ) -> None:
        self.device = device
        self.faults = faults or Faults()
        self.stats = SimStats()
        self._rng = np.random.default_rng(seed)
        if link_path is None:
            self._tmpdir: str | None = tempfile.mkdtemp(prefix="tempgate-sim-")
            link_path = Path(self._tmpdir) / device.model
        else:
            self._tmpdir = None
        self.path = Path(link_path)
        self.pts_path = ""
        self._master = -1
        self._slave = -1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stalled_until = 0.0
        self._plugged = False
        self._frame_no = 0
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"sim-{device.model}", daemon=True)

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Create the pty and start serving."""
        self._plug()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the pty and symlink."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            self._unplug_locked()
        if self._tmpdir is not None:
            with contextlib.suppress(OSError):
                Path(self._tmpdir).rmdir()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Fault controls ---------------------------------------------------------------------------

    def stall(self, seconds: float) -> None:
        """Send nothing and answer nothing for ``seconds`` (a hung MCU)."""
        self._stalled_until = time.monotonic() + seconds

    def unplug(self) -> None:
        """Pull the cable: close the pty (the driver's reads fail) and remove the symlink."""
        with self._lock:
            self._unplug_locked()
            self.stats.unplugs += 1
        log.info("sim unplugged model=%s path=%s", self.device.model, self.path)

    def replug(self) -> None:
        """Plug back in: a new pty behind the same symlink; the device power-cycles."""
        self.device.power_cycle()
        self._plug()
        log.info(
            "sim replugged model=%s path=%s pts=%s", self.device.model, self.path, self.pts_path
        )

    def inject_garbage(self, data: bytes) -> None:
        """Write ``data`` now, between frames."""
        self._write(data)
        self.stats.garbage_bytes += len(data)

    def garbage(self, length: int) -> bytes:
        """Line noise: control and high bytes only. No header (0x5A, 0x02) and no line end,
        so garbage can corrupt the frame or line it lands in but never forge one."""
        return bytes(self._rng.choice(_GARBAGE, length))

    @property
    def plugged(self) -> bool:
        """True while the pty exists."""
        return self._plugged

    # Internals ---------------------------------------------------------------------------------

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        name = os.ttyname(slave)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(name)
        tmp.replace(self.path)  # atomic: the path never points at a stale pty
        with self._lock:
            self._master, self._slave, self.pts_path = master, slave, name
            self._plugged = True

    def _unplug_locked(self) -> None:
        self._plugged = False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _host_baud(self) -> int | None:
        slave = self._slave  # unplug() may close it under us: then there is no host baud
        if slave < 0:
            return None
        try:
            speed = termios.tcgetattr(slave)[5]
        except (termios.error, OSError, ValueError):
            return None
        return _SPEEDS.get(speed)

    def _baud_ok(self) -> bool:
        return not self.device.checks_baud or self._host_baud() == self.device.baud

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                master = self._master
            if master < 0:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.005)
                incoming = os.read(master, 4096) if ready else b""
            except (OSError, ValueError):  # unplugged between the snapshot and the read
                incoming = b""
            now = time.monotonic()
            if now < self._stalled_until:
                continue
            t = now - self._t0
            frames: list[bytes] = []
            if incoming and self._baud_ok():
                frames += self.device.on_host_bytes(incoming, t)
            frames += self.device.due_frames(t)
            for frame in frames:
                self._send_frame(frame)

    def _send_frame(self, frame: bytes) -> None:
        f = self.faults
        self._frame_no += 1
        n = self._frame_no
        if f.garbage_every and n % f.garbage_every == 0:
            self.inject_garbage(self.garbage(int(self._rng.integers(3, 40))))
        if f.bad_checksum_every and n % f.bad_checksum_every == 0:
            frame = self.device.corrupt(frame)
            self.stats.frames_corrupted += 1
        else:
            self.stats.frames_sent += 1
        if not self._baud_ok():
            frame = self._rng.integers(0, 256, len(frame), dtype=np.uint8).tobytes()
        if f.split_frames and len(frame) > 2:
            cut = int(self._rng.integers(1, len(frame)))
            self._write(frame[:cut])
            time.sleep(0.002)
            self._write(frame[cut:])
        else:
            self._write(frame)

    def _write(self, data: bytes) -> None:
        with self._lock:
            master = self._master
            if master < 0:
                self.stats.bytes_lost += len(data)
                return
            view = memoryview(data)
            while view:
                try:
                    written = os.write(master, view)
                except BlockingIOError:
                    # Nobody reads the port: a UART would drop these bytes too.
                    self.stats.bytes_lost += len(view)
                    return
                except OSError:
                    self.stats.bytes_lost += len(view)
                    return
                view = view[written:]
