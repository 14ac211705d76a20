"""A simulated UVC thermal camera: quacks like ``cv2.VideoCapture`` and returns arrays of
exactly the shape and dtype OpenCV returns for the real camera, rendered from ``drivers.scene``
and paced at the camera's frame rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.scene import BlackbodySpec, SceneConfig, SceneFrame, ThermalScene


class SimulatedCapture:
    """``read()`` blocks until the next frame is due, like a real capture.

    ``fail_every`` makes every n-th read fail (``(False, None)``), as a flaky USB link does."""

    def __init__(
        self,
        width_px: int,
        height_px: int,
        fps: float,
        encode: Callable[[SceneFrame], np.ndarray[Any, Any]],
        *,
        seed: int = 0,
        fail_every: int = 0,
    ) -> None:
        config = SceneConfig(
            width_px=width_px, height_px=height_px, blackbody=BlackbodySpec(), seed=seed
        )
        self.scene = ThermalScene(config)
        self.fps = fps
        self.encode = encode
        self.fail_every = fail_every
        self._index = 0
        self._start = time.monotonic()
        self._open = True
        self.sent: list[SceneFrame] = []

    def isOpened(self) -> bool:  # OpenCV spells it so
        """True until released."""
        return self._open

    def set(self, prop: int, value: float) -> bool:
        """Accepts every property, as V4L2 does for the settings the drivers use."""
        return True

    def read(self) -> tuple[bool, Any]:
        """(True, array) for the next frame; (False, None) when released or failing."""
        if not self._open:
            return False, None
        due = self._start + self._index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._index += 1
        if self.fail_every and self._index % self.fail_every == 0:
            return False, None
        frame = self.scene.render((self._index - 1) / self.fps)
        self.sent.append(frame)
        del self.sent[:-64]  # tests look at recent frames; do not grow without bound
        return True, self.encode(frame)

    def release(self) -> None:
        """Stop streaming."""
        self._open = False
