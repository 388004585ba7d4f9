"""The fake provider's own request limits, kept as a real provider keeps a key's.

A request over the concurrency cap or the per-minute cap is answered 429 with the wait
a real provider would suggest (``retry-after-ms`` and ``Retry-After``), and the peak
number of requests in flight is kept for ``/stats``: a drill reads it to show that the
benchmark's own limits kept the provider within its caps.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
# What a real provider suggests to a client over its concurrency cap: try again soon.
CONCURRENCY_RETRY_SECONDS = 0.1


class ServerLimits:
    """Admission to the fake server: ``admit()`` before a request is served (``None``
    when admitted, else the seconds to suggest in Retry-After), ``done()`` once its reply
    is ready, before it is sent (so a client that saw the reply never finds its slot
    still counted). Caps of 0 mean unlimited; peaks are counted either way."""

    def __init__(
        self, max_concurrency: int, max_rpm: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_concurrency = max_concurrency
        self.max_rpm = max_rpm
        self.clock = clock
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.started: deque[float] = deque()  # admission times within the last window
        self.peak_per_window = 0

    def admit(self) -> float | None:
        with self.lock:
            now = self.clock()
            while self.started and self.started[0] <= now - WINDOW_SECONDS:
                self.started.popleft()
            if self.max_concurrency and self.in_flight >= self.max_concurrency:
                return CONCURRENCY_RETRY_SECONDS
            if self.max_rpm and len(self.started) >= self.max_rpm:
                return self.started[0] + WINDOW_SECONDS - now
            self.in_flight += 1
            self.started.append(now)
            self.peak = max(self.peak, self.in_flight)
            self.peak_per_window = max(self.peak_per_window, len(self.started))
            return None

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "in_flight": self.in_flight,
                "peak_concurrency": self.peak,
                "peak_per_minute": self.peak_per_window,
                "max_concurrency": self.max_concurrency,
                "max_rpm": self.max_rpm,
            }


def retry_headers(seconds: float) -> dict[str, str]:
    """Both forms real providers send: OpenAI's milliseconds and the standard seconds."""
    return {
        "retry-after-ms": str(max(1, math.ceil(seconds * 1000))),
        "Retry-After": str(max(1, math.ceil(seconds))),
    }
