"""Progress on a terminal (apps, objects, rate) on stderr; nothing at all when not a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO

_MIN_INTERVAL = 0.2


class Progress:
    def __init__(self, apps: int, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.apps_total = apps
        self.apps_done = 0
        self.objects_total = 0
        self.objects_done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def add_objects(self, n: int) -> None:
        self.objects_total += n
        self._draw()

    def object_done(self) -> None:
        self.objects_done += 1
        self._draw()

    def app_done(self) -> None:
        self.apps_done += 1
        self._draw(force=True)

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        t = time.monotonic()
        if not force and t - self._drawn < _MIN_INTERVAL:
            return
        self._drawn = t
        rate = self.objects_done / max(t - self._started, 1e-6)
        self.stream.write(
            f"\r  apps {self.apps_done}/{self.apps_total}  {_bar(self.apps_done, self.apps_total)}  "
            f"objects {self.objects_done}/{self.objects_total}  {rate:5.1f}/s "
        )
        self.stream.flush()


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"
