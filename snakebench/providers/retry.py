"""Retrying transient provider failures: exponential backoff with full jitter.

Full jitter (a uniform wait between 0 and the exponential ceiling) keeps many
workers that hit the same rate limit at once from retrying in lockstep. A
server's ``Retry-After`` is a floor: waiting less would only earn another 429.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from snakebench.config import Settings
from snakebench.logs import bounded
from snakebench.providers.base import ProviderError, TransientProviderError

log = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_EXPONENT = 60  # beyond this the ceiling is max_delay anyway


@dataclass
class RetryPolicy:
    attempts: int  # calls in all, the first one included
    base_delay: float
    max_delay: float
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")

    @classmethod
    def from_settings(cls, settings: Settings, rng: random.Random | None = None) -> RetryPolicy:
        return cls(
            attempts=max(1, settings.provider_retries),
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            rng=rng or random.Random(),
        )

    def delay(self, retry_index: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_index`` (0 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(retry_index, _MAX_EXPONENT))
        wait = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


class RetriesExhaustedError(ProviderError):
    """Every attempt failed transiently; ``last`` is the final failure."""

    def __init__(self, attempts: int, last: TransientProviderError) -> None:
        super().__init__(f"{attempts} attempt(s) failed; last: {last}")
        self.attempts = attempts
        self.last = last


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    what: str = "provider call",
) -> tuple[T, int]:
    """``call()``'s result and how many retries it took. Only transient errors are
    retried, each with a log line naming ``what`` was retried and why; anything else
    propagates at once."""
    for attempt in range(policy.attempts):
        try:
            return call(), attempt
        except TransientProviderError as exc:
            if attempt + 1 >= policy.attempts:
                raise RetriesExhaustedError(policy.attempts, exc) from None
            wait = policy.delay(attempt, exc.retry_after)
            log.warning("%s: retry %d of %d in %.1f s: %s", what, attempt + 1,
                        policy.attempts - 1, wait, bounded(exc))  # fmt: skip
            sleep(wait)
    raise AssertionError("unreachable: attempts >= 1")  # pragma: no cover
