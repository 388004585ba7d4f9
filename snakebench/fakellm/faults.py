"""What the fake provider server does wrong, how often, and what it counted.

Faults come from one seeded generator behind a lock, so a drill with a given
seed injects the same sequence of faults (in request order) on every run, and
the counters let a test compare what the server sent with what got recorded.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from snakebench.players.bots import BOT_NAMES

T = TypeVar("T")
Fault = Literal["ok", "error", "rate_limit", "timeout", "malformed"]

# Stats category for each fault; "bad_requests" counts requests we could not read.
CATEGORY: dict[Fault, str] = {
    "ok": "ok",
    "malformed": "malformed",
    "rate_limit": "rate_limited",
    "error": "errors",
    "timeout": "timeouts",
}
# "over_limit": 429s answered because a request passed the server's own caps
# (--max-concurrency, --max-rpm), as opposed to the injected "rate_limited" ones.
CATEGORIES = (*CATEGORY.values(), "over_limit", "bad_requests")


@dataclass(frozen=True)
class FakeOptions:
    """Behaviour of the fake server. Rates are probabilities per request; they are
    tried in the order error, rate limit, timeout, malformed, so their sum should
    stay at most 1 (beyond that the later ones get what is left)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    timeout_rate: float = 0.0
    malformed_rate: float = 0.0
    strategy: str = "greedy"
    seed: int = 0
    catalogue: Any = None  # the JSON GET /api/v1/models answers; None: the built-in one
    retry_after: float = 1.0  # seconds, sent in Retry-After with every 429
    hang_seconds: float = 60.0  # how long a "timeout" request hangs before answering
    max_concurrency: int = 0  # requests in flight past which it answers 429; 0: no cap
    max_rpm: int = 0  # requests per 60 s past which it answers 429; 0: no cap

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "timeout_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("latency_ms", "jitter_ms", "retry_after", "hang_seconds", "max_concurrency",
                     "max_rpm"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.strategy not in BOT_NAMES:
            raise ValueError(
                f"unknown strategy {self.strategy!r}; strategies: {', '.join(BOT_NAMES)}"
            )


class Dice:
    """The server's only source of randomness, shared by its handler threads."""

    def __init__(self, options: FakeOptions) -> None:
        self._options = options
        self._rng = random.Random(options.seed)
        self._lock = threading.Lock()

    def fault(self) -> Fault:
        o = self._options
        with self._lock:
            roll = self._rng.random()
        table: tuple[tuple[float, Fault], ...] = (
            (o.error_rate, "error"),
            (o.rate_limit_rate, "rate_limit"),
            (o.timeout_rate, "timeout"),
            (o.malformed_rate, "malformed"),
        )
        bound = 0.0
        for rate, fault in table:
            bound += rate
            if roll < bound:
                return fault
        return "ok"

    def latency(self) -> float:
        """Seconds to wait before answering: the base latency plus up to the jitter."""
        with self._lock:
            jitter = self._rng.uniform(0, self._options.jitter_ms)
        return max(0.0, self._options.latency_ms + jitter) / 1000

    def choice(self, options: Sequence[T]) -> T:
        with self._lock:
            return self._rng.choice(options)


# The OpenRouter attribution headers /stats counts, by the header's value.
ATTRIBUTION_HEADERS = ("X-Title", "HTTP-Referer")


class FakeStats:
    """Counts per requested model of what the server answered, and of the attribution
    headers requests came with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._attribution: dict[str, dict[str, int]] = {h: {} for h in ATTRIBUTION_HEADERS}

    def record_attribution(self, headers: Mapping[str, str]) -> None:
        """Count the request under each attribution header it carries (HTTP header
        names are case-insensitive; ``headers`` may be a plain dict or a message)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        with self._lock:
            for header in ATTRIBUTION_HEADERS:
                value = lowered.get(header.lower())
                if value is not None:
                    seen = self._attribution[header]
                    seen[value] = seen.get(value, 0) + 1

    def record(self, model: str, category: str) -> None:
        with self._lock:
            counts = self._counts.setdefault(model, dict.fromkeys(CATEGORIES, 0))
            counts[category] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"models": {name: counts}, "total": counts, "attribution": {header: {value:
        requests}}}``; counts include ``requests``, the sum of the categories."""
        with self._lock:
            models = {name: dict(counts) for name, counts in self._counts.items()}
            attribution = {header: dict(seen) for header, seen in self._attribution.items()}
        total = dict.fromkeys(CATEGORIES, 0)
        for counts in models.values():
            counts["requests"] = sum(counts[c] for c in CATEGORIES)
            for category in CATEGORIES:
                total[category] += counts[category]
        total["requests"] = sum(total[c] for c in CATEGORIES)
        return {"models": models, "total": total, "attribution": attribution}
